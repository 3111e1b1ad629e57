"""Distances between two sets of images: sample quality and memorisation.

Fréchet distance, KID and MiFID (the torchmetrics formulas), improved precision and recall (all on
extractor features, see features.py), the extractor-free sliced Wasserstein distance (SWD) on
Laplacian-pyramid patches, nearest neighbours for the memorisation check, and `evaluate` /
`format_results`, which run and report any of them (and the dog-o-meter of verdicts.py) in one call.
One statistic of a single set sits with them because it is compared between sets: `checkerboard_strength`.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .data import to_float
from .errors import GanLibError
from .features import (EfficientNetExtractor, Extractor, _check_images, extract_features, extractor_label,
                       get_extractor, real_features)
from .verdicts import _dog_summary, dog_o_meter, dog_report

METRICS = ("fd", "kid", "mifid", "swd", "pr", "dogs")
FEATURE_METRICS = ("fd", "kid", "mifid", "pr")  # the metrics computed on extractor features


# ----------------------------------------------------------------------------- feature pairs


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

    Taught in notebook 05.
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


# ----------------------------------------------------------------------------- sliced Wasserstein (ProGAN)
#
# SWD (Karras et al. 2018, "Progressive growing of GANs", appendix D; Rabin et al. 2011) compares the
# distributions of small local patches of the two image sets, one scale at a time:
#   1. each image -> Laplacian pyramid: band-pass levels L_k = G_k - up(G_{k+1}), G_{k+1} = down(blur(G_k));
#   2. per level, random 7x7 patches -> descriptors of 7*7*3 numbers, normalised per colour channel;
#   3. SW_1(A, B) = E_u W_1(u.A, u.B) over unit directions u: each direction reduces the descriptors to
#      numbers, and the 1-d Wasserstein distance of two equal-size samples is the mean gap between their
#      sorted values (sorting is the 1-d optimal transport plan);
#   4. reported x 1e3 per level ("swd_<res>"), and the mean over levels ("swd").

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
        down = _blur(current)[:, :, ::2, ::2]  # G_{k+1} = blur(G_k), every other pixel
        pyramid.append(current - _pyr_up(down, current.shape[-2:]))  # L_k = G_k - up(G_{k+1}): this scale's detail
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
    d = (d - d.mean(dim=(0, 1))) / d.std(dim=(0, 1)).clamp_min(1e-8)  # (x - mu_c) / sigma_c, per channel c
    return d.reshape(len(desc), -1)


def _sorted_rows(x: Tensor) -> Tensor:
    """Sort each row; on the CPU via numpy, whose sort is ~10x faster than torch's there."""
    return torch.from_numpy(np.sort(x.numpy(), axis=1)) if x.device.type == "cpu" else x.sort(dim=1).values


def _swd(a: Tensor, b: Tensor, dirs_per_repeat: int, repeats: int, gen: torch.Generator) -> float:
    """Mean over random unit directions u of W1(u.a, u.b), with 1-d W1 = mean |sorted - sorted|."""
    total = 0.0
    for _ in range(repeats):  # repeats keep the projection matrix small
        dirs = torch.randn(a.shape[1], dirs_per_repeat, generator=gen)  # u ~ N(0, I): no preferred direction
        dirs /= dirs.norm(dim=0, keepdim=True)  # u / |u|: uniform on the unit sphere
        # u.x for every descriptor x, sorted: 1-d optimal transport pairs the i-th smallest with the i-th smallest
        pa, pb = _sorted_rows(dirs.T @ a.T), _sorted_rows(dirs.T @ b.T)  # directions x descriptors
        total += (pa - pb).abs().mean().item()  # mean over u and i of |u.a_(i) - u.b_(i)|: W1 averaged over u
    return total / repeats  # SW1 ~ E_u W1(u.a, u.b): the average over all dirs_per_repeat x repeats directions


def _check_swd_inputs(fake: Tensor, real: Tensor, patch_size: int, min_resolution: int) -> None:
    """Raise a GanLibError unless both are uint8 image sets of one resolution, large enough for the patches."""
    _check_images(fake, "fake images")
    _check_images(real, "real images")
    if fake.shape[-2:] != real.shape[-2:]:
        raise GanLibError(f"SWD needs equal resolutions, got {tuple(fake.shape[-2:])} and {tuple(real.shape[-2:])}")
    h, w = fake.shape[-2:]
    if min(h, w) < max(min_resolution, patch_size):
        raise GanLibError(f"SWD needs images of at least {max(min_resolution, patch_size)} px, got {h}x{w}")


def _image_subset(count: int, n: int, gen: torch.Generator) -> Tensor:
    """Indices of n of the count images: a random choice when there are more, else the first n."""
    return torch.randperm(count, generator=gen)[:n] if count > n else torch.arange(n)


def _patch_corners(
    sizes: list[tuple[int, int]], n: int, per_image: int, patch_size: int, gen: torch.Generator
) -> list[tuple[Tensor, Tensor]]:
    """Per level, random top-left corners (ys, xs), each n x per_image, of patches that fit in that level."""
    return [
        (
            torch.randint(0, lh - patch_size + 1, (n, per_image), generator=gen),
            torch.randint(0, lw - patch_size + 1, (n, per_image), generator=gen),
        )
        for lh, lw in sizes
    ]


def _patch_descriptors(
    images: Tensor, idx: Tensor, corners: list[tuple[Tensor, Tensor]], patch_size: int, chunk_size: int
) -> list[Tensor]:
    """Per pyramid level, the normalised patch descriptors of images[idx] at the corners: (n * P) x (S * S * C)."""
    per_level: list[list[Tensor]] = [[] for _ in corners]
    for i in range(0, len(idx), chunk_size):  # chunks keep the float pyramids small
        pyramid = laplacian_pyramid(images[idx[i : i + chunk_size]], len(corners))
        for k, (level, (ys, xs)) in enumerate(zip(pyramid, corners)):
            per_level[k].append(_patches(level, ys[i : i + chunk_size], xs[i : i + chunk_size], patch_size))
    return [_normalise(torch.cat(d), images.shape[1]) for d in per_level]


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
    _check_swd_inputs(fake, real, patch_size, min_resolution)
    h, w = fake.shape[-2:]
    levels = 1 + int(math.log2(min(h, w) / min_resolution))  # halve while the coarsest level keeps min_resolution
    gen = torch.Generator().manual_seed(seed)
    # n images a side, equal on both (sorted projections are compared elementwise), at most max_descriptors patches
    n = min(len(fake), len(real), max(1, max_descriptors // descriptors_per_image))
    fake_idx, real_idx = _image_subset(len(fake), n, gen), _image_subset(len(real), n, gen)
    sizes = [((h - 1) // 2**k + 1, (w - 1) // 2**k + 1) for k in range(levels)]  # level k: ceil(h / 2^k)
    # the same patch positions for both sets, so identical sets give exactly 0
    corners = _patch_corners(sizes, n, descriptors_per_image, patch_size, gen)
    fake_desc = _patch_descriptors(fake, fake_idx, corners, patch_size, chunk_size)
    real_desc = _patch_descriptors(real, real_idx, corners, patch_size, chunk_size)
    out = {  # swd_<res> = 1e3 * SW1(fake descriptors, real descriptors) at that level (ProGAN's scale)
        f"swd_{lh}": 1e3 * _swd(a, b, dirs_per_repeat, dir_repeats, gen)
        for (lh, _), a, b in zip(sizes, fake_desc, real_desc)
    }
    out["swd"] = sum(out.values()) / levels  # swd = mean over the pyramid levels
    return out


# ----------------------------------------------------------------------------- checkerboard artefacts


def checkerboard_strength(images: Tensor) -> float:
    """Strength of the pattern that repeats every 2 pixels: |mean of image x (+1/-1 checkerboard)|, averaged.

    Smooth images give about 0; a one-pixel checkerboard of amplitude a (on the [-1, 1] scale) gives a.
    Compare it with the photos' own value.
    Taught in notebook 06.
    """
    _check_images(images, "images")
    x = to_float(images)  # [-1, 1], the scale G draws on
    h, w = x.shape[-2:]
    signs = 1.0 - 2.0 * ((torch.arange(h)[:, None] + torch.arange(w)) % 2)  # +1 -1 +1 ... / -1 +1 -1 ...
    return (x * signs).mean(dim=(-2, -1)).abs().mean().item()  # per image and channel, then averaged


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
