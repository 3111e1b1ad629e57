"""Standing on a trained GAN: fine-tune the course's GAN on a breed it never saw (notebook 09).

A GAN trained for hours already draws fur, eyes, ears and grass; a new breed only asks it to change
what it draws, not to learn drawing. Two tricks keep a few minutes and a few hundred photos from
going wrong:

- **FreezeD** (Mo et al. 2020): D's first blocks, which detect edges and textures that every dog
  photo has, keep their trained weights (`models.freeze_blocks`); only D's later blocks learn.
- **DiffAugment** (Zhao et al. 2020): D sees photos and fakes through the same random colour
  change, shift and cutout, so a few hundred photos are not learned by heart within minutes.

The course's GAN is conditional: the new breed takes over the slot of one of its nine breeds, the
one whose drawings are already closest to the new photos (`closest_breeds`).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from .config import TrainConfig, recommended_config
from .data import ImageData, class_name, load_images
from .distances import sliced_wasserstein
from .errors import GanLibError
from .features import EfficientNetExtractor
from .pretrained import CourseGAN
from .training import Trainer
from .verdicts import dog_report, imagenet_class, imagenet_classes, imagenet_logits

# What fine-tuning changes in the course GAN's recipe: 2 of the 64 px D's 4 blocks stay as trained, D sees
# augmented images, and the budget is 10 minutes (its own training budget would otherwise carry over).
FINE_TUNE = {"freeze_d": 2, "diffaugment": "color,translation,cutout", "minutes": 10.0, "steps": None}


def breed_photos(folder: str | Path, breed: str, resolution: int = 64, max_photos: int | None = None) -> ImageData:
    """The photos of one breed from a class-folder dataset (only that folder is decoded)."""
    folders = [d for d in sorted(Path(folder).expanduser().iterdir()) if d.is_dir()] if Path(folder).is_dir() else []
    matches = [d for d in folders if class_name(d.name).lower() == breed.lower()]
    if not matches:
        raise GanLibError(f"{folder} has no folder of {breed!r} photos; it has: "
                          f"{', '.join(class_name(d.name) for d in folders) or 'no class folders'}")
    return load_images(matches[0], resolution, max_per_class=max_photos)


@torch.no_grad()
def closest_breeds(gan: CourseGAN, photos: ImageData, n: int = 200, seed: int = 0) -> dict[str, float]:
    """Each known breed's SWD to `photos` (n samples of it against as many photos), closest first."""
    distances = {breed: sliced_wasserstein(gan.sample(n, breed, seed=seed), photos.images[:n], seed=seed)["swd"]
                 for breed in gan.class_names}
    return dict(sorted(distances.items(), key=lambda item: item[1]))


def fine_tuner(gan: CourseGAN, photos: ImageData, slot: str, **changes) -> Trainer:
    """A Trainer that starts from the course's G (EMA) and D and teaches breed `slot`'s label the new photos.

    The recipe is the course GAN's own, with FreezeD, DiffAugment and 10 minutes (`FINE_TUNE`); `changes`
    are TrainConfig fields (another budget such as minutes=5 or steps=500, or freeze_d=0 to compare).
    Taught in notebook 09.
    """
    if slot not in gan.class_names:
        raise GanLibError(f"{slot!r} is not one of the course GAN's breeds: {', '.join(gan.class_names)}")
    if photos.resolution != gan.config.model.resolution:
        raise GanLibError(f"the photos are {photos.resolution}px; the course's GAN draws "
                          f"{gan.config.model.resolution}px: load them with load_images(folder, {gan.config.model.resolution})")
    k = gan.class_names.index(slot)
    names = list(gan.class_names)
    names[k] = photos.class_names[0] if len(photos.class_names) == 1 else "new breed"  # the slot's new meaning
    relabelled = ImageData(photos.images, torch.full_like(photos.labels, k), names)
    config = TrainConfig.from_dict(gan.config.to_dict() | FINE_TUNE | changes)
    trainer = gan.copy_into(Trainer(config, relabelled))
    trainer.fixed_labels = torch.full_like(trainer.fixed_labels, k)  # the dashboard shows the new breed only
    return trainer


def from_scratch(gan: CourseGAN, photos: ImageData, **changes) -> Trainer:
    """The fair rival of `fine_tuner`: the same photos, networks and DiffAugment, from random weights.

    The course GAN's sizes (resolution, widths, noise, batch) on any device, with the device's recommended
    recipe; unconditional, as the photos are one breed. `changes` are TrainConfig fields (the budget).
    Taught in notebook 09.
    """
    model = gan.config.model
    same = dict(resolution=model.resolution, g_width=model.g_width, d_width=model.d_width,
                latent_dim=model.latent_dim, batch_size=gan.config.batch_size)
    return Trainer(recommended_config(**({"diffaugment": FINE_TUNE["diffaugment"]} | same | changes)), photos)


@torch.no_grad()
def breed_scores(images: Tensor, held_out: Tensor, breed: str,
                 extractor: EfficientNetExtractor | None = None) -> dict[str, float]:
    """Dog-o-meter, how often the ImageNet classifier names `breed`, and SWD to held-out photos of it."""
    report = dog_report(imagenet_logits(images, extractor=extractor))
    named = report.breed_shares().get(imagenet_classes()[imagenet_class(breed)], 0.0)  # ImageNet's spelling
    return {"dogs": report.dog_share, "named": named,
            "swd": sliced_wasserstein(images, held_out)["swd"]}
