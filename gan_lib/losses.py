"""GAN losses, each written from the discriminator's logits.

Notation: r = D(x) logits on real images, f = D(G(z)) logits on generated images,
sigma = sigmoid, softplus(t) = log(1 + e^t). Every loss is averaged over the batch.
The discriminator minimises `d_loss(r, f)`; the generator minimises `g_loss(f, r)`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def bce_d_loss(r: Tensor, f: Tensor) -> Tensor:
    """-log sigma(r) - log(1 - sigma(f)) = softplus(-r) + softplus(f): punish calling reals fake AND fakes real."""
    return F.binary_cross_entropy_with_logits(r, torch.ones_like(r)) + \
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
        raise ValueError("the relativistic loss needs the real logits r in the generator step")
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


def r1_penalty(real_logits: Tensor, real: Tensor) -> Tensor:
    """R1 (Mescheder 2018): 1/2 ||grad_x D(x)||^2 on real images (`real` must require grad)."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return 0.5 * grad.flatten(1).pow(2).sum(dim=1).mean()


@dataclass(frozen=True)
class GanLoss:
    """A named pair of discriminator and generator losses."""

    name: str
    d_loss: Callable[[Tensor, Tensor], Tensor]
    g_loss: Callable[..., Tensor]
    needs_real_in_g: bool = False  # relativistic losses compare fakes with reals in the G step too
    gradient_penalty: bool = False  # WGAN-GP adds `gradient_penalty` to the critic loss


LOSSES: dict[str, GanLoss] = {
    "nonsaturating": GanLoss("nonsaturating", bce_d_loss, nonsaturating_g_loss),
    "minimax": GanLoss("minimax", bce_d_loss, minimax_g_loss),
    "lsgan": GanLoss("lsgan", lsgan_d_loss, lsgan_g_loss),
    "hinge": GanLoss("hinge", hinge_d_loss, hinge_g_loss),
    "ralsgan": GanLoss("ralsgan", ralsgan_d_loss, ralsgan_g_loss, needs_real_in_g=True),
    "wgan-gp": GanLoss("wgan-gp", wgan_d_loss, wgan_g_loss, gradient_penalty=True),
}


def get_loss(name: str) -> GanLoss:
    """Look a loss up by name, with a helpful error listing the valid names."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}") from None
