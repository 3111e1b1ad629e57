"""GAN losses, each written from the discriminator's logits.

Notation: r = D(x) logits on real images, f = D(G(z)) logits on generated images,
sigma = sigmoid, softplus(t) = log(1 + e^t). Every loss is averaged over the batch.
The discriminator minimises `d_loss(r, f)` (plus `penalty(...)` where the loss has a regulariser);
the generator minimises `g_loss(f, r)`.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from .errors import GanLibError


def bce_d_loss(r: Tensor, f: Tensor, real_label: float = 1.0) -> Tensor:
    """-log sigma(r) - log(1 - sigma(f)) = softplus(-r) + softplus(f): punish calling reals fake AND fakes real.

    real_label < 1 is one-sided label smoothing (Salimans et al. 2016): D aims at 0.9, say, for photos,
    so it never grows arbitrarily confident and keeps giving G useful gradients.

    Taught in notebook 02.
    """
    return F.binary_cross_entropy_with_logits(r, torch.full_like(r, real_label)) + \
        F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))


def minimax_g_loss(f: Tensor, r: Tensor | None = None) -> Tensor:
    """Saturating minimax (Goodfellow 2014): G minimises log(1 - sigma(f)) = -softplus(f)."""
    return -F.softplus(f).mean()


def nonsaturating_g_loss(f: Tensor, r: Tensor | None = None) -> Tensor:
    """Non-saturating: G minimises -log sigma(f) = softplus(-f), i.e. BCE with the label 'real'."""
    return F.binary_cross_entropy_with_logits(f, torch.ones_like(f))


def lsgan_d_loss(r: Tensor, f: Tensor) -> Tensor:
    """Least squares (Mao 2017): 1/2 (r - 1)^2 + 1/2 f^2."""
    return 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f ** 2).mean()


def lsgan_g_loss(f: Tensor, r: Tensor | None = None) -> Tensor:
    """Least squares: 1/2 (f - 1)^2."""
    return 0.5 * ((f - 1) ** 2).mean()


def hinge_d_loss(r: Tensor, f: Tensor) -> Tensor:
    """Hinge (Lim & Ye 2017): max(0, 1 - r) + max(0, 1 + f)."""
    return F.relu(1 - r).mean() + F.relu(1 + f).mean()


def hinge_g_loss(f: Tensor, r: Tensor | None = None) -> Tensor:
    """Hinge generator loss: -f."""
    return -f.mean()


def ralsgan_d_loss(r: Tensor, f: Tensor) -> Tensor:
    """Relativistic average LSGAN (Jolicoeur-Martineau 2019): (r - mean f - 1)^2 + (f - mean r + 1)^2, halved."""
    return 0.5 * (((r - f.mean() - 1) ** 2).mean() + ((f - r.mean() + 1) ** 2).mean())


def ralsgan_g_loss(f: Tensor, r: Tensor | None = None) -> Tensor:
    """RaLSGAN generator loss: (f - mean r - 1)^2 + (r - mean f + 1)^2, halved; needs real logits r."""
    if r is None:
        raise GanLibError("the relativistic loss needs the real logits r in the generator step")
    return 0.5 * (((f - r.mean() - 1) ** 2).mean() + ((r - f.mean() + 1) ** 2).mean())


def wgan_d_loss(r: Tensor, f: Tensor) -> Tensor:
    """Wasserstein critic (Arjovsky 2017): f - r; pair it with `gradient_penalty` (Gulrajani 2017)."""
    return f.mean() - r.mean()


def wgan_g_loss(f: Tensor, r: Tensor | None = None) -> Tensor:
    """Wasserstein generator loss: -f."""
    return -f.mean()


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                     generator: torch.Generator | None = None) -> Tensor:
    """WGAN-GP: (||grad_x D(x_hat)||_2 - 1)^2 at random points x_hat between real and fake images."""
    eps = torch.rand(real.shape[0], 1, 1, 1, generator=generator).to(real.device, real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def r1_penalty(critic: Callable[[Tensor], Tensor], real: Tensor) -> Tensor:
    """R1 (Mescheder 2018): 1/2 ||grad_x D(x)||^2 on real images."""
    real = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(real).sum(), real, create_graph=True)
    return 0.5 * grad.flatten(1).pow(2).sum(dim=1).mean()


@dataclass(frozen=True)
class GanLoss:
    """A named pair of discriminator and generator losses, and the regularisers D's loss carries."""

    name: str
    d_loss: Callable[[Tensor, Tensor], Tensor]
    g_loss: Callable[..., Tensor]
    needs_real_in_g: bool = False  # relativistic losses compare fakes with reals in the G step too
    gp_weight: float = 0.0  # weight of WGAN-GP's gradient penalty (set for "wgan-gp")
    r1_gamma: float = 0.0  # weight of the R1 penalty on real images (0: off)

    def penalty(self, D: Callable[..., Tensor], real: Tensor, fake: Tensor,
                labels: Tensor | None = None) -> Tensor | float:
        """What this loss adds to D's loss besides the verdicts: 0 for the plain losses,
        the gradient penalty for WGAN-GP, R1 when r1_gamma > 0."""
        total: Tensor | float = 0.0
        if self.gp_weight > 0:
            total = total + self.gp_weight * gradient_penalty(lambda x: D(x, labels), real, fake)
        if self.r1_gamma > 0:
            total = total + self.r1_gamma * r1_penalty(lambda x: D(x, labels), real)
        return total


LOSSES: dict[str, GanLoss] = {
    "nonsaturating": GanLoss("nonsaturating", bce_d_loss, nonsaturating_g_loss),
    "minimax": GanLoss("minimax", bce_d_loss, minimax_g_loss),
    "lsgan": GanLoss("lsgan", lsgan_d_loss, lsgan_g_loss),
    "hinge": GanLoss("hinge", hinge_d_loss, hinge_g_loss),
    "ralsgan": GanLoss("ralsgan", ralsgan_d_loss, ralsgan_g_loss, needs_real_in_g=True),
    "wgan-gp": GanLoss("wgan-gp", wgan_d_loss, wgan_g_loss, gp_weight=10.0),
}
NONSATURATING = LOSSES["nonsaturating"]  # the default of the two training steps


def get_loss(name: str, r1_gamma: float = 0.0, gp_weight: float | None = None,
             label_smoothing: float = 0.0) -> GanLoss:
    """Look a loss up by name (a helpful error lists the valid names), with its regulariser weights."""
    try:
        loss = LOSSES[name]
    except KeyError:
        raise GanLibError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}") from None
    if gp_weight is not None and loss.gp_weight > 0:
        loss = replace(loss, gp_weight=gp_weight)
    if label_smoothing:
        if loss.d_loss is not bce_d_loss:
            raise GanLibError(f"label smoothing changes the BCE labels: use it with the nonsaturating or minimax "
                              f"loss, not {name}")
        if not 0 < label_smoothing < 0.5:
            raise GanLibError(f"label_smoothing must be between 0 and 0.5 (e.g. 0.1), got {label_smoothing}")
        loss = replace(loss, d_loss=functools.partial(bce_d_loss, real_label=1.0 - label_smoothing))
    return replace(loss, r1_gamma=r1_gamma) if r1_gamma else loss
