"""The two networks a ModelConfig names: `g_arch` picks the generator, `d_arch` the discriminator."""
from __future__ import annotations

from torch import nn

from .config import ModelConfig
from .fastgan import LightGenerator
from .models import Discriminator, Generator
from .projected import ProjectedDiscriminator


def build_generator(cfg: ModelConfig) -> nn.Module:
    """DCGAN's generator (gan_lib/models.py), or the FastGAN-style light one (gan_lib/fastgan.py)."""
    return LightGenerator(cfg) if cfg.g_arch == "fastgan" else Generator(cfg)


def build_discriminator(cfg: ModelConfig) -> nn.Module:
    """DCGAN's discriminator, or one that judges a frozen pretrained network's features (gan_lib/projected.py)."""
    return ProjectedDiscriminator(cfg) if cfg.d_arch == "projected" else Discriminator(cfg)
