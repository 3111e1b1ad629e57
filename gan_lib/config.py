"""Every setting in one place: the architecture, a training run, and the recipe measured best per device.

`recommended_config(device)` is the single source of the defaults: the command line, the notebooks and
the benchmarks all start from it, so they agree by construction. The numbers behind it are in
benchmarks/README.md. The dataclasses' own defaults are a different thing: `ModelConfig()` is the DCGAN
paper's architecture (widths `DCGAN_WIDTH`), which the notebooks build to look at the networks, and
`recommended_config` changes the resolution, the widths and the batch size to what measured best on the
device (half the width on a CPU). How often a run folder gets sample grids and checkpoints
(`SAMPLE_EVERY`, `CHECKPOINT_EVERY`) is defined here too, for the CLI and `callbacks.SaveProgress` alike.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from .augment import check_policy
from .errors import GanLibError
from .losses import LOSSES

RESOLUTIONS = (32, 64, 128)  # image sizes the networks are built for (4x4 doubled 3, 4 or 5 times)
G_NORMS = ("batch", "none")
D_NORMS = ("batch", "spectral", "none")
UPSAMPLES = ("transpose", "resize")
G_ARCHS = ("dcgan", "fastgan")  # fastgan: one conv per doubling plus skip-layer excitation (gan_lib/fastgan.py)
D_ARCHS = ("dcgan", "projected")  # projected: D on a frozen EfficientNet-Lite1 (gan_lib/projected.py)
DCGAN_WIDTH = 64  # the DCGAN paper's channel width (Radford et al. 2016): ModelConfig's default, and the GPU recipe's
CPU_WIDTH = DCGAN_WIDTH // 2  # the CPU recipe's: 2-3x more steps per minute, a lower FD in the same time

# A run folder (callbacks.SaveProgress, which `python -m gan_lib train` uses with --sample-every and
# --checkpoint-every) gets a fixed-noise sample grid and a checkpoint every this many generator steps.
SAMPLE_EVERY = 250
CHECKPOINT_EVERY = 500

# The run notebook 04 trains and later notebooks read (03's noise walk, for one), relative to the
# notebooks/ folder, which is where Jupyter and the tests run them.
COURSE_RUN = Path("runs") / "04_adversarial_loop"
CONDITIONAL_RUN = Path("runs") / "07_conditional"  # notebook 07's breed-conditional GAN, read by 08


def check_choice(name: str, value: Any, choices: tuple) -> None:
    """A GanLibError naming the valid choices when `value` is not one of them."""
    if value not in choices:
        raise GanLibError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")


@dataclass
class ModelConfig:
    """Architecture settings shared by the generator and discriminator.

    The defaults are the DCGAN paper's networks (widths 64) at 32x32. A training run usually starts from
    `recommended_config` instead, whose widths and resolution follow the device (32 on a CPU).
    """

    resolution: int = 32
    latent_dim: int = 100
    g_width: int = DCGAN_WIDTH  # channels of G's last upsampling block; earlier blocks double it
    d_width: int = DCGAN_WIDTH  # channels of D's first conv block; later blocks double it
    g_norm: str = "batch"
    d_norm: str = "batch"
    upsample: str = "transpose"  # "transpose" (ConvTranspose2d) or "resize" (nearest x2 + conv); DCGAN G only
    num_classes: int = 0  # > 0: condition both networks on a class label (e.g. dog breed)
    g_arch: str = "dcgan"  # "fastgan": a FastGAN-style light G with skip-layer excitation (always resizes)
    d_arch: str = "dcgan"  # "projected": D judges a frozen pretrained network's features (d_norm does not apply)
    # > 0: the networks were grown from ones at this (half) resolution, whose RGB layers stay beside
    # the new ones and fade out over TrainConfig.fade_in (networks.grow; ProGAN's fade-in)
    grown_from: int = 0

    def __post_init__(self) -> None:
        check_choice("resolution", self.resolution, RESOLUTIONS)
        check_choice("g_norm", self.g_norm, G_NORMS)
        check_choice("d_norm", self.d_norm, D_NORMS)
        check_choice("upsample", self.upsample, UPSAMPLES)
        check_choice("g_arch", self.g_arch, G_ARCHS)
        check_choice("d_arch", self.d_arch, D_ARCHS)
        if self.d_arch == "projected" and self.num_classes:
            raise GanLibError("the projected discriminator is not class-conditional: use d_arch='dcgan' with num_classes")
        if self.grown_from and (self.grown_from * 2 != self.resolution or self.grown_from not in RESOLUTIONS
                                or self.g_arch != "dcgan" or self.d_arch != "dcgan"):
            raise GanLibError(f"grown_from is the resolution of the DCGAN networks these were grown from, half of "
                              f"{self.resolution}, with g_arch and d_arch 'dcgan'; got grown_from={self.grown_from}, "
                              f"g_arch={self.g_arch!r}, d_arch={self.d_arch!r}")
        for name in ("latent_dim", "g_width", "d_width"):
            if getattr(self, name) < 1:
                raise GanLibError(f"{name} must be at least 1, got {getattr(self, name)}")

    @property
    def num_blocks(self) -> int:
        """Number of x2 resolution changes between 4x4 and the output resolution."""
        return int(math.log2(self.resolution // 4))


@dataclass
class TrainConfig:
    """Everything that defines a training run (the architecture lives in `model`).

    The defaults are a plain DCGAN run (ModelConfig's defaults, batches of 64); `recommended_config` is the
    measured recipe for a device, which the command line starts from.
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    steps: int | None = 3000  # generator updates; None: no step limit (then `minutes` must be set)
    minutes: float | None = None  # training-time budget over all sessions; stops at whichever comes first
    batch_size: int = 64
    loss: str = "nonsaturating"
    lr_g: float = 2e-4
    lr_d: float = 2e-4  # a larger lr_d than lr_g is the two time-scale update rule (TTUR)
    betas: tuple[float, float] = (0.5, 0.999)
    d_steps: int = 1  # discriminator updates per generator update
    ema_decay: float = 0.999  # 0 disables the EMA generator
    diffaugment: str = ""  # e.g. "color,translation,cutout"
    freeze_d: int = 0  # FreezeD: D's first blocks keep their (pretrained) weights; for fine-tuning (notebook 09)
    r1_gamma: float = 0.0  # weight of the R1 penalty on real images (0: off)
    gp_weight: float = 10.0  # weight of the gradient penalty (only with loss="wgan-gp")
    label_smoothing: float = 0.0  # one-sided: D's target for photos is 1 - label_smoothing (BCE losses)
    instance_noise: float = 0.0  # std of Gaussian noise on D's inputs at the start, fading to 0 over the run
    flip: bool = True
    fade_in: float = 0.5  # share of the budget over which grown networks' new layers blend in (model.grown_from)
    seed: int = 0
    device: str = "auto"  # "auto" picks cuda, then mps, then cpu
    amp: bool = True  # bfloat16 autocast on CPUs where a measurement shows it is faster (precision.amp_dtype)
    channels_last: bool = True
    log_every: int = 10
    num_fixed: int = 64  # fixed-noise samples drawn to show progress

    def __post_init__(self) -> None:
        if self.steps is None and self.minutes is None:
            raise GanLibError("give training an end: a number of steps, a time budget in minutes, or both")
        for name in ("steps", "batch_size", "d_steps", "log_every", "num_fixed"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise GanLibError(f"{name} must be at least 1, got {value}")
        if self.minutes is not None and self.minutes <= 0:
            raise GanLibError(f"minutes must be greater than 0, got {self.minutes}")
        if not 0 <= self.ema_decay < 1:
            raise GanLibError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if not 0 < self.fade_in <= 1:
            raise GanLibError(f"fade_in is a share of the training budget, in (0, 1]; got {self.fade_in}")
        check_choice("loss", self.loss, tuple(LOSSES))
        if self.instance_noise < 0:
            raise GanLibError(f"instance_noise must be 0 or more, got {self.instance_noise}")
        check_policy(self.diffaugment)
        if self.freeze_d < 0:
            raise GanLibError(f"freeze_d is a number of D's blocks, 0 or more; got {self.freeze_d}")
        if self.freeze_d and self.model.d_arch != "dcgan":
            raise GanLibError("freeze_d freezes the DCGAN discriminator's first blocks: use d_arch='dcgan'")
        if self.loss == "wgan-gp" and self.model.d_norm == "batch":
            raise GanLibError("WGAN-GP needs a discriminator without BatchNorm (its penalty is per image): "
                              "add --d-norm none or --d-norm spectral")

    def to_dict(self) -> dict:
        """Plain data (for config.json and checkpoints)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        d.pop("compile", None)  # an option that briefly existed (measured slower, removed)
        d["model"] = ModelConfig(**d["model"])
        d["betas"] = tuple(d["betas"])
        return cls(**d)


def pick_device(name: str = "auto") -> torch.device:
    """'auto' -> the best available device: CUDA GPU, Apple-silicon GPU (mps), else CPU."""
    if name != "auto":
        try:
            device = torch.device(name)
        except RuntimeError:
            raise GanLibError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise GanLibError("--device cuda was asked for, but PyTorch sees no CUDA GPU: use --device auto")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())  # under torchrun: this process's GPU
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def recommended_config(device: torch.device | str = "auto", **changes: Any) -> TrainConfig:
    """The measured best recipe for a kind of device (benchmarks/README.md), with `changes` applied.

    On a CPU: 32x32 images, half-width networks (32 channels) and batches of 64, which train 2-3x
    more steps per minute than the DCGAN widths and reach a clearly lower FD in the same time.
    On a CUDA GPU every size runs at about the same steps per second, so 64x64, the DCGAN paper's
    widths (64) and batches of 128 come for free. Both: non-saturating loss, Adam 2e-4 / beta1 0.5,
    EMA of G, flips. `changes` are TrainConfig fields, or ModelConfig fields (e.g. resolution=64).
    With device="auto" the sizes follow the device PyTorch picks here, and the run keeps "auto",
    so a checkpoint resumes on whatever device the next machine has.
    """
    kind = (pick_device() if str(device) == "auto" else torch.device(device)).type
    size, width, batch_size = (64, DCGAN_WIDTH, 128) if kind == "cuda" else (32, CPU_WIDTH, 64)
    model_changes = {k: changes.pop(k) for k in list(changes) if k in ModelConfig.__dataclass_fields__}
    unknown = set(changes) - set(TrainConfig.__dataclass_fields__)
    if unknown:
        raise GanLibError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    if changes.get("minutes") is not None and "steps" not in changes:
        changes["steps"] = None  # with a time budget alone, time decides
    model = ModelConfig(**({"resolution": size, "g_width": width, "d_width": width} | model_changes))
    return TrainConfig(**({"model": model, "batch_size": batch_size, "device": str(device)} | changes))
