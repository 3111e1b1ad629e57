"""Differentiable augmentation (DiffAugment, Zhao et al. 2020), done on batched tensors.

The same random augmentation family is applied to real and generated images before the
discriminator sees them, so D cannot simply memorise the few thousand training photos, and the
generator still gets gradients through the (differentiable) augmentation.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .errors import GanLibError

POLICIES = ("color", "translation", "cutout")


def _where(generator: torch.Generator | None, like: Tensor) -> torch.device:
    """Random numbers are drawn where the generator lives (or with the images when there is none)."""
    return generator.device if generator is not None else like.device


def _rand(n: int, generator: torch.Generator | None, like: Tensor) -> Tensor:
    """n uniform numbers in [0, 1), shaped to broadcast over an image batch."""
    return torch.rand(n, 1, 1, 1, generator=generator, device=_where(generator, like)).to(like.device, like.dtype)


def _randint(low: int, high: int, n: int, generator: torch.Generator | None, like: Tensor) -> Tensor:
    """n integers in [low, high), shaped to broadcast over (n, h, w)."""
    return torch.randint(low, high, (n, 1, 1), generator=generator, device=_where(generator, like)).to(like.device)


def color(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Random brightness (+-0.5), saturation (x0..2) and contrast (x0.5..1.5) per image."""
    n = x.shape[0]
    x = x + (_rand(n, generator, x) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(n, generator, x) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(n, generator, x) + 0.5) + mean


def translation(x: Tensor, ratio: float = 0.125, generator: torch.Generator | None = None) -> Tensor:
    """Shift each image by up to `ratio` of its size, filling the gap with zeros (grey in [-1, 1])."""
    n, _, h, w = x.shape
    max_dy, max_dx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = _randint(-max_dy, max_dy + 1, n, generator, x)
    dx = _randint(-max_dx, max_dx + 1, n, generator, x)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    # Index into a zero-padded copy: pixel (i, j) of the output reads (i + dy, j + dx) of the input.
    rows = (rows + dy).clamp(-1, h) + 1
    cols = (cols + dx).clamp(-1, w) + 1
    padded = F.pad(x, (1, 1, 1, 1))
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def cutout(x: Tensor, ratio: float = 0.5, generator: torch.Generator | None = None) -> Tensor:
    """Zero a random square of `ratio` times the image size in each image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    # The square's top-left corner may hang over the border, as in the paper, so edges get cut too.
    top = _randint(-(ch // 2), h - ch // 2 + 1, n, generator, x)
    left = _randint(-(cw // 2), w - cw // 2 + 1, n, generator, x)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def check_policy(policy: str) -> list[str]:
    """The names in a comma-separated policy such as "color,translation"; a clear error for unknown ones."""
    names = [p.strip() for p in policy.split(",") if p.strip()]
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise GanLibError(f"unknown DiffAugment policy {unknown[0]!r}; choose from {', '.join(POLICIES)}")
    return names


def diff_augment(x: Tensor, policy: str = "color,translation,cutout",
                 generator: torch.Generator | None = None) -> Tensor:
    """Apply the comma-separated augmentation `policy` (any of color, translation, cutout) to a batch."""
    for name in check_policy(policy):
        x = {"color": color, "translation": translation, "cutout": cutout}[name](x, generator=generator)
    return x


class InstanceNoise(nn.Module):
    """D seen through Gaussian noise added to every image (Sønderby et al. 2017), fading as training goes on.

    Early on, photos and fakes barely overlap and D separates them perfectly; blurring both with noise
    makes them overlap, so D's verdicts (and G's gradients) stay informative. `sigma` is the
    noise's standard deviation (a Trainer lowers it linearly to 0 over the run: training.InstanceNoiseSchedule).
    """

    def __init__(self, D: nn.Module, sigma: float, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.D, self.sigma, self.generator = D, sigma, generator

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.sigma > 0:
            noise = torch.randn(x.shape, generator=self.generator, device=_where(self.generator, x))
            x = x + self.sigma * noise.to(x.device, x.dtype)
        return self.D(x, labels)


class Augmented(nn.Module):
    """D seen through DiffAugment: every image, real or generated, is augmented before D judges it.

    The training steps never need to know: the Trainer hands them `Augmented(D, policy)` instead of D.
    """

    def __init__(self, D: nn.Module, policy: str, generator: torch.Generator | None = None) -> None:
        super().__init__()
        check_policy(policy)  # an unknown policy fails now, not mid-run
        self.D, self.policy, self.generator = D, policy, generator

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.D(diff_augment(x, self.policy, self.generator), labels)
