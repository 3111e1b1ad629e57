"""Dog photos in, training batches out.

A folder with one sub-folder of images per class (e.g. breed) is decoded ONCE: every image is
converted to RGB, cropped to a square (the centre, or each dog's bounding box for Stanford Dogs),
resized with antialiasing and stored in a uint8 tensor cache file. Later loads read that file in
well under a second. Training batches are then sliced from the tensor, converted to floats in
[-1, 1] and flipped on the fly: no image decoding in the training loop.
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor
from tqdm.auto import tqdm

from .boxes import annotation_path, read_voc_boxes, square_box
from .config import RESOLUTIONS, check_choice
from .errors import GanLibError
from .files import save_atomically

CACHE_VERSION = 1  # bump when the decoding below changes, so old caches are rebuilt
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}

# ImageNet ids of the ten ImageWoof breeds, so class folders named by id read as breeds.
WNID_BREEDS = {
    "n02086240": "Shih-Tzu", "n02087394": "Rhodesian ridgeback", "n02088364": "beagle",
    "n02089973": "English foxhound", "n02093754": "Border terrier", "n02096294": "Australian terrier",
    "n02099601": "golden retriever", "n02105641": "Old English sheepdog", "n02111889": "Samoyed",
    "n02115641": "dingo",
}

HOW_TO_GET_DATA = ("set GAN_DATA (or pass --data) to a folder with one sub-folder of dog photos per breed, "
                   "or run `python -m gan_lib download imagewoof`")


@dataclass
class ImageData:
    """Decoded images as one uint8 tensor (N x 3 x H x W) with integer labels and class names."""

    images: Tensor
    labels: Tensor
    class_names: list[str]

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def resolution(self) -> int:
        return self.images.shape[-1]

    def subset(self, index: Tensor | slice) -> "ImageData":
        """The images (and labels) at `index`, sharing the class names."""
        return ImageData(self.images[index], self.labels[index], self.class_names)

    def select_classes(self, names: Sequence[str]) -> "ImageData":
        """Only the images of these classes (by name, any case), relabelled 0..len(names)-1 in this order."""
        lower = [n.lower() for n in self.class_names]
        unknown = [n for n in names if n.lower() not in lower]
        if unknown or not names:
            raise GanLibError(f"unknown class {', '.join(map(repr, unknown)) or '(none given)'}; "
                              f"this data has: {', '.join(self.class_names)}")
        old = torch.tensor([lower.index(n.lower()) for n in names])
        keep = (self.labels.view(-1, 1) == old.view(1, -1))  # N x K: image i belongs to chosen class k
        rows = keep.any(dim=1)
        return ImageData(self.images[rows], keep[rows].int().argmax(dim=1), [self.class_names[i] for i in old])


def hold_out(data: ImageData, every: int = 10) -> tuple[ImageData, ImageData]:
    """(training, held-out): every `every`-th photo of each class (in file order) held out for judging."""
    position = torch.zeros_like(data.labels)
    for label in data.labels.unique():
        idx = (data.labels == label).nonzero().squeeze(1)
        position[idx] = torch.arange(len(idx))
    held = position % every == 0
    return data.subset(~held), data.subset(held)


def default_data_root() -> Path:
    """Where datasets and caches live: $GAN_HOME, else the repository's data/ folder in a source checkout,
    else (a pip-installed course, e.g. on Colab) ~/.cache/gan_lib."""
    if os.environ.get("GAN_HOME"):
        return Path(os.environ["GAN_HOME"])
    repo = Path(__file__).resolve().parent.parent  # site-packages when pip-installed: no pyproject.toml there
    return repo / "data" if (repo / "pyproject.toml").is_file() and (repo / "data").is_dir() else \
        Path.home() / ".cache" / "gan_lib"


def class_name(folder_name: str) -> str:
    """Readable breed name of a class folder: ImageWoof wnids map to breeds, 'n02085620-Chihuahua' -> 'Chihuahua'."""
    if folder_name in WNID_BREEDS:
        return WNID_BREEDS[folder_name]
    wnid, sep, rest = folder_name.partition("-")
    if sep and wnid.startswith("n") and wnid[1:].isdigit():
        return rest.replace("_", " ")
    return folder_name


def list_images(folder: Path | str) -> tuple[list[Path], list[int], list[str]]:
    """Files under `folder` (one sub-folder per class, or images directly) with labels and class names."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise GanLibError(f"Image folder {folder} does not exist: {HOW_TO_GET_DATA}.")
    visible = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    class_dirs = [p for p in visible if p.is_dir()]
    if not class_dirs:  # a flat folder of images is one class
        class_dirs = [folder]
    paths, labels = [], []
    for label, class_dir in enumerate(class_dirs):
        for p in sorted(class_dir.iterdir()):
            if p.is_file() and not p.name.startswith("."):
                paths.append(p)
                labels.append(label)
    if not paths:
        raise GanLibError(f"No images found in {folder}: {HOW_TO_GET_DATA}.")
    return paths, labels, [class_name(d.name) for d in class_dirs]


def to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL image (grayscale, palette, RGBA, CMYK, 16-bit) as 8-bit RGB; transparency becomes white."""
    img = ImageOps.exif_transpose(img)
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA"):
        background = Image.new("RGB", img.size, (255, 255, 255))
        background.paste(img.convert("RGBA"), mask=img.convert("RGBA").getchannel("A"))
        return background
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        img = img.point(lambda v: v / 256).convert("L")  # 16-bit grayscale -> 8-bit
    return img.convert("RGB")


def center_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The largest centred square inside a width x height image, as (left, top, right, bottom)."""
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def decode_image(path: Path, resolution: int, annotation: Path | None = None) -> list[Tensor]:
    """Decode one file into square uint8 crops (3 x R x R): the centre, or one per annotated dog."""
    with Image.open(path) as img:
        # JPEG draft mode decodes at a reduced scale directly (much faster), still >= 2x the target.
        img.draft("RGB", (resolution * 2, resolution * 2))
        img = to_rgb(img)
        img.load()
    w, h = img.size
    boxes = [square_box(b, w, h) for b in read_voc_boxes(annotation)] if annotation else []
    crops = []
    for box in boxes or [center_box(w, h)]:
        crop = img.crop(box).resize((resolution, resolution), Image.Resampling.LANCZOS, reducing_gap=3.0)
        crops.append(torch.frombuffer(bytearray(crop.tobytes()), dtype=torch.uint8)
                     .view(resolution, resolution, 3).permute(2, 0, 1).clone())
    return crops


def _cache_key(paths: list[Path], resolution: int, annotations: Path | None) -> str:
    """A hash of everything the cache depends on: the files (names, sizes, times) and the settings."""
    h = hashlib.sha256(f"v{CACHE_VERSION}|{resolution}|{annotations}".encode())
    for p in paths:
        st = p.stat()
        h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _first_per_class(paths: list[Path], labels: list[int], max_per_class: int) -> tuple[list[Path], list[int]]:
    """Only the first max_per_class files of each class, in their order."""
    seen: dict[int, int] = {}
    keep = []
    for i, y in enumerate(labels):
        seen[y] = seen.get(y, 0) + 1
        if seen[y] <= max_per_class:
            keep.append(i)
    return [paths[i] for i in keep], [labels[i] for i in keep]


def _read_cache(cache_file: Path) -> ImageData | None:
    """The images decoded earlier into cache_file; None when there is no such file or it cannot be read."""
    if not cache_file.exists():
        return None
    try:
        cached = torch.load(cache_file, weights_only=True)
        return ImageData(cached["images"], cached["labels"], list(cached["class_names"]))
    except Exception:  # a damaged cache is only a cache: rebuild it
        print(f"note: the image cache {cache_file.name} is unreadable; rebuilding it")
        return None


def _decode_or_reason(path: Path, resolution: int, annotations: Path | None) -> list[Tensor] | str:
    """The crops of one image, or why it could not be read."""
    ann = annotation_path(path, annotations) if annotations else None
    try:
        return decode_image(path, resolution, ann if ann and ann.exists() else None)
    except Exception as e:  # corrupt, truncated, not an image at all, or a broken annotation file
        return unreadable_reason(e, path)


def _decode_all(paths: list[Path], labels: list[int], resolution: int, annotations: Path | None,
                progress: bool, workers: int | None) -> tuple[list[Tensor], list[int], list[tuple[Path, str]]]:
    """Decode the files in threads: (every crop, each crop's label, (path, reason) of each unreadable file)."""
    images, out_labels, skipped = [], [], []
    with ThreadPoolExecutor(workers or min(8, os.cpu_count() or 1)) as pool:
        results = pool.map(lambda path: _decode_or_reason(path, resolution, annotations), paths)
        for i, crops in enumerate(tqdm(results, total=len(paths), desc=f"decoding images at {resolution}px",
                                       disable=not progress, unit="img")):
            if isinstance(crops, str):
                skipped.append((paths[i], crops))
                continue
            images.extend(crops)
            out_labels.extend([labels[i]] * len(crops))
    return images, out_labels, skipped


def load_images(folder: Path | str, resolution: int = 32, annotations: Path | str | None = None,
                max_per_class: int | None = None, cache_dir: Path | str | None = None,
                progress: bool = True, workers: int | None = None) -> ImageData:
    """Load a class-folder dataset as uint8 tensors, decoding once and caching the result.

    annotations: a Stanford-Dogs style `Annotation/` folder; each dog's box becomes a crop.
    max_per_class: keep only the first N files of each class (quick runs, tests).
    """
    check_choice("resolution", resolution, RESOLUTIONS)
    paths, labels, names = list_images(folder)
    if max_per_class is not None:
        paths, labels = _first_per_class(paths, labels, max_per_class)
    annotations = Path(annotations) if annotations else None
    cache_dir = Path(cache_dir) if cache_dir else default_data_root() / "cache"
    cache_file = cache_dir / f"{Path(folder).name}-{resolution}px-{_cache_key(paths, resolution, annotations)}.pt"
    cached = _read_cache(cache_file)
    if cached is not None:
        return cached
    images, out_labels, skipped = _decode_all(paths, labels, resolution, annotations, progress, workers)
    if skipped:
        print(skipped_report(skipped, len(paths)))
    if not images:
        raise GanLibError(f"None of the {len(paths)} files in {folder} could be read as an image: {HOW_TO_GET_DATA}.")
    data = ImageData(torch.stack(images), torch.tensor(out_labels, dtype=torch.int64), names)
    save_atomically({"images": data.images, "labels": data.labels, "class_names": names}, cache_file)
    return data


def unreadable_reason(error: Exception, path: Path) -> str:
    """Why a file could not be decoded, in a few plain words."""
    if isinstance(error, UnidentifiedImageError):
        return "not an image (or a format Pillow cannot read)"
    message = " ".join(str(error).replace(str(path), path.name).split())
    if "truncated" in message.lower():
        return "truncated or corrupt image data"
    return message[:100] if isinstance(error, GanLibError) else f"{type(error).__name__}: {message[:80]}"


def skipped_report(skipped: list[tuple[Path, str]], total: int, show: int = 5) -> str:
    """Plain lines naming the files that could not be read (the first few) and why."""
    lines = [f"note: skipped {len(skipped)} of {total:,} files that are not readable images:"]
    lines += [f"  {path.parent.name}/{path.name}: {reason}" for path, reason in skipped[:show]]
    if len(skipped) > show:
        lines.append(f"  ... and {len(skipped) - show} more")
    return "\n".join(lines)


def to_float(images: Tensor) -> Tensor:
    """uint8 [0, 255] -> float [-1, 1], the range of the generator's tanh.

    Taught in notebook 01.
    """
    return images.float().div_(127.5).sub_(1.0)


def to_uint8(images: Tensor) -> Tensor:
    """float [-1, 1] -> uint8 [0, 255] (values outside the range are clipped)."""
    return images.detach().float().add(1.0).mul(127.5).round_().clamp_(0, 255).to(torch.uint8)


def flip_where(images: Tensor, mirror: Tensor) -> Tensor:
    """Mirror the images whose entry in the boolean vector `mirror` is True, left to right."""
    return torch.where(mirror.view(-1, 1, 1, 1), images.flip(-1), images)  # -1: the width axis


def random_flip(images: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Mirror a random half of the batch left-right: a dog facing left is still a dog.

    Taught in notebook 01.
    """
    where = generator.device if generator is not None else images.device
    mirror = torch.rand(images.shape[0], generator=generator, device=where) < 0.5  # one coin per image
    return flip_where(images, mirror.to(images.device))


class Batches:
    """Shuffled mini-batches of (float images in [-1, 1], labels), epoch after epoch, without a DataLoader.

    The whole uint8 tensor can live on the GPU, so a batch is one index operation. Each epoch's
    order and flips are drawn once on the CPU and copied to the device once, so a GPU never waits
    for the CPU between batches. The generator, order and position are saved in checkpoints so a
    resumed run sees the same batches.
    """

    def __init__(self, data: ImageData, batch_size: int, flip: bool = True, device: torch.device | str = "cpu",
                 seed: int = 0) -> None:
        if len(data) < batch_size:
            raise GanLibError(f"only {len(data)} images for a batch size of {batch_size}: use more images "
                              f"or a smaller --batch-size")
        self.images = data.images.to(device)
        self.labels = data.labels.to(device)
        self.batch_size, self.flip, self.device = batch_size, flip, torch.device(device)
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch, self.position = 0, 0
        self._new_epoch()

    def _new_epoch(self) -> None:
        self.order = torch.randperm(len(self.images), generator=self.generator)
        self.flips = torch.rand(len(self.images), generator=self.generator) < 0.5
        self._to_device()

    def _to_device(self) -> None:
        self._order_on_device, self._flips_on_device = self.order.to(self.device), self.flips.to(self.device)

    def __iter__(self) -> "Batches":
        return self

    def __next__(self) -> tuple[Tensor, Tensor]:
        if self.position + self.batch_size > len(self.order):  # drop the ragged end, reshuffle
            self.epoch, self.position = self.epoch + 1, 0
            self._new_epoch()
        batch = slice(self.position, self.position + self.batch_size)
        index = self._order_on_device[batch]
        self.position += self.batch_size
        images = to_float(self.images[index])
        if self.flip:  # mirror about half the batch: a dog facing left is still a dog
            images = flip_where(images, self._flips_on_device[batch])
        return images, self.labels[index]

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position, "order": self.order, "flips": self.flips,
                "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.position, self.order = state["epoch"], state["position"], state["order"]
        self.generator.set_state(state["generator"])
        self.flips = state["flips"] if "flips" in state else torch.rand(len(self.order), generator=self.generator) < 0.5
        self._to_device()
