"""Classifier verdicts: what EfficientNet-Lite0's ImageNet-1k classifier says about images.

The dog-o-meter (`dog_o_meter`, `DogReport`: how many images it calls a dog, and which breeds) and
`breed_match` (does it name the breed a conditional G was asked for?), both from `imagenet_logits`.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass

import torch
from torch import Tensor

from .errors import GanLibError
from .features import EfficientNetExtractor, _check_images, extract_features, get_extractor


# ----------------------------------------------------------------------------- dog-o-meter

DOG_CLASSES = range(151, 269)  # ImageNet-1k classes 151 (Chihuahua) .. 268 (Mexican hairless): the 118 dog breeds


@functools.lru_cache(maxsize=1)
def imagenet_classes() -> list[str]:
    """The 1000 ImageNet-1k class names, from torchvision's bundled metadata (no download)."""
    from torchvision.models import ResNet50_Weights

    return list(ResNet50_Weights.IMAGENET1K_V1.meta["categories"])


def _dog_summary(dog_share: float, breed_shares: dict[str, float], top: int) -> str:
    """'72% called a dog; top breeds: golden retriever 20%, ...' (breed shares are of all images)."""
    text = f"{dog_share:.0%} called a dog"
    breeds = ", ".join(f"{name} {share:.0%}" for name, share in list(breed_shares.items())[:top])
    return f"{text}; top breeds: {breeds}" if breeds else text


@dataclass
class DogReport:
    """What an ImageNet classifier says about a set of images: how many are dogs, and which breeds."""

    dog_share: float  # share of images whose top-1 ImageNet class is a dog breed
    breeds: dict[str, int]  # top-1 breed -> count, over the images called a dog, most common first
    num_images: int

    def breed_shares(self) -> dict[str, float]:
        """Breed -> share of all images, most common first."""
        return {name: count / self.num_images for name, count in self.breeds.items()}

    def summary(self, top: int = 5) -> str:
        """One readable line: '72% called a dog; top breeds: golden retriever 20%, ...'."""
        return _dog_summary(self.dog_share, self.breed_shares(), top)


def dog_report(logits: Tensor) -> DogReport:
    """A DogReport from ImageNet-1k logits (N x 1000), one row per image."""
    top1 = logits.argmax(dim=1).tolist()
    dogs = [c for c in top1 if c in DOG_CLASSES]
    names = imagenet_classes()
    breeds = {names[c]: n for c, n in Counter(dogs).most_common()}
    return DogReport(dog_share=len(dogs) / len(top1), breeds=breeds, num_images=len(top1))


def imagenet_logits(images: Tensor, batch_size: int = 64, extractor: EfficientNetExtractor | None = None) -> Tensor:
    """EfficientNet-Lite0's ImageNet-1k logits (N x 1000, on the CPU) for uint8 images.

    extractor: an EfficientNetExtractor already loaded (e.g. on a GPU); default: the process's shared one.
    """
    _check_images(images, "images")
    if len(images) == 0:
        raise GanLibError("The ImageNet classifier got no images; pass at least one")
    ext = extractor if extractor is not None else get_extractor("efficientnet")
    if not isinstance(ext, EfficientNetExtractor):
        raise GanLibError("The dog-o-meter needs the EfficientNet-Lite0 extractor (efficientnet_extractor()), "
                          f"got {type(ext).__name__}")
    # the classifier head on the extractor's pooled features: the same preprocessing, weights loaded once
    return ext.classify(extract_features(images, ext, batch_size))


def dog_o_meter(images: Tensor, batch_size: int = 64, extractor: EfficientNetExtractor | None = None) -> DogReport:
    """Share of images that EfficientNet-Lite0's ImageNet classifier calls a dog (top-1 class 151..268), and breeds."""
    if isinstance(images, Tensor) and images.ndim == 4 and len(images) == 0:
        raise GanLibError("The dog-o-meter got no images; pass at least one")
    return dog_report(imagenet_logits(images, batch_size, extractor))


def imagenet_class(name: str) -> int:
    """The ImageNet-1k index of a class name, any case: 'golden retriever' -> 207."""
    lower = [c.lower() for c in imagenet_classes()]
    if name.lower() not in lower:
        raise GanLibError(f"{name!r} is not an ImageNet class name, so the classifier cannot judge it "
                          "(ImageWoof's breeds are, e.g. 'Samoyed', 'beagle', 'golden retriever')")
    return lower.index(name.lower())


@dataclass
class BreedMatch:
    """How often the ImageNet classifier names the breed that each image was asked to be, per breed."""

    class_names: list[str]
    named: list[float]  # share whose top-1 class of all 1000 is the asked breed
    among: list[float]  # share whose highest logit among these breeds is the asked one (chance: 1 / breeds)
    unasked: bool = False  # from a model that cannot be asked: its `among` shares add up to 1

    def summary(self) -> str:
        """One line per breed, and the average."""
        width = max(len(n) for n in self.class_names) + 2
        lines = [f"{'breed':<{width}}{'named (of 1000)':>16}{f'top of these {len(self.class_names)}':>18}"]
        lines += [f"{n:<{width}}{a:>16.0%}{b:>18.0%}" for n, a, b in zip(self.class_names, self.named, self.among)]
        lines.append(f"{'average':<{width}}{sum(self.named) / len(self.named):>16.0%}"
                     f"{sum(self.among) / len(self.among):>18.0%}"
                     + ("  (always 1 / breeds: compare breed by breed)" if self.unasked else ""))
        return "\n".join(lines)


def breed_match(logits: Tensor, asked: Tensor | None, class_names: list[str]) -> BreedMatch:
    """Per breed, how often the classifier names the asked-for breed, from ImageNet logits (`imagenet_logits`).

    asked: each image's breed index into class_names. None (an unconditional model, which cannot be
    asked): the shares of all images named each breed, i.e. what asking such a model would give.
    """
    idx = torch.tensor([imagenet_class(n) for n in class_names])
    top1 = logits.argmax(dim=1)
    top_among = logits[:, idx].argmax(dim=1)  # which of these breeds the classifier prefers
    named, among = [], []
    for k in range(len(class_names)):
        rows = torch.ones(len(logits), dtype=torch.bool) if asked is None else asked.cpu() == k
        if not rows.any():
            raise GanLibError(f"no image was asked to be {class_names[k]!r}: give every breed some images")
        named.append((top1[rows] == idx[k]).float().mean().item())
        among.append((top_among[rows] == k).float().mean().item())
    return BreedMatch(list(class_names), named, among, unasked=asked is None)

