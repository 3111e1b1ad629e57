"""Images from a generator: in chunks, from a trained run's checkpoint, and as uint8 pictures."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from .checkpoint import Checkpoint
from .data import to_uint8
from .errors import GanLibError
from .models import recalibrate_batchnorm, sample_noise
from .networks import build_generator


@torch.no_grad()
def generate(G: nn.Module, z: Tensor, labels: Tensor | None = None, chunk: int = 256) -> Tensor:
    """G(z) in chunks of `chunk` (so any number fits in memory), as float images in [-1, 1] on the CPU."""
    device = next(G.parameters()).device
    return torch.cat([G(z[i:i + chunk].to(device), None if labels is None else labels[i:i + chunk].to(device))
                      .float().cpu() for i in range(0, len(z), chunk)])


def load_generator(checkpoint: Path | str | Checkpoint, device: torch.device | str = "cpu",
                   use_ema: bool = True) -> nn.Module:
    """The generator of a checkpoint (a path, or one already loaded), its EMA weights by default, in eval mode."""
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else Checkpoint.load(checkpoint)
    G = build_generator(ckpt.config.model)
    use_ema = use_ema and ckpt.ema is not None
    G.load_state_dict(ckpt.ema if use_ema else ckpt.G)
    G.to(device)
    # An EMA generator needs BatchNorm statistics of its own, exactly as the Trainer samples it.
    return recalibrate_batchnorm(G) if use_ema else G.eval()


def breed_labels(names: list[str], n: int, breed: str | None = None) -> Tensor:
    """Labels for n samples of a conditional model: one breed (by name) or all breeds in turn."""
    if breed is None:
        return torch.arange(n) % len(names)
    matches = [i for i, name in enumerate(names) if name.lower() == breed.lower()]
    if not matches:
        raise GanLibError(f"unknown breed {breed!r}; this checkpoint knows: {', '.join(names)}")
    return torch.full((n,), matches[0])


def generate_images(checkpoint: Path | str | Checkpoint, n: int, truncation: float | None = None, seed: int = 0,
                    breed: str | None = None, device: torch.device | str = "cpu") -> Tensor:
    """n uint8 images from a checkpoint's (EMA) generator, on the CPU."""
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else Checkpoint.load(checkpoint)
    return sample_images(load_generator(ckpt, device), ckpt.class_names, n, truncation, seed, breed)


def sample_images(G: nn.Module, class_names: list[str], n: int, truncation: float | None = None, seed: int = 0,
                  breed: str | None = None) -> Tensor:
    """n uint8 images from G (in eval mode): one breed by name, or all breeds in turn, from the seed's noise."""
    if breed is not None and not G.cfg.num_classes:
        raise GanLibError("--breed needs a conditional model (trained with --conditional)")
    labels = breed_labels(class_names, n, breed) if G.cfg.num_classes else None
    z = sample_noise(n, G.cfg.latent_dim, truncation, generator=torch.Generator().manual_seed(seed))
    return to_uint8(generate(G, z, labels))


def slerp(z1: Tensor, z2: Tensor, steps: int) -> Tensor:
    """`steps` points on the arc from z1 to z2 (both included), as (steps, latent_dim): spherical
    interpolation. Unlike a straight line, whose middle is shorter than any noise vector G was
    trained on, it keeps the vectors about as long as z1 and z2."""
    z1, z2 = z1.reshape(-1).float(), z2.reshape(-1).float()
    t = torch.linspace(0, 1, steps, device=z1.device).view(-1, 1)
    omega = torch.arccos(torch.dot(z1 / z1.norm(), z2 / z2.norm()).clamp(-1.0, 1.0))  # the angle between them
    if omega < 1e-4:  # (nearly) the same direction: the arc is a straight line
        return (1 - t) * z1 + t * z2
    return (torch.sin((1 - t) * omega) * z1 + torch.sin(t * omega) * z2) / torch.sin(omega)
