"""The two networks a ModelConfig names (`g_arch` picks the generator, `d_arch` the discriminator), and growing them."""
from __future__ import annotations

from torch import nn

from .config import ModelConfig
from .errors import GanLibError
from .fastgan import LightGenerator
from .models import Discriminator, Generator
from .projected import ProjectedDiscriminator


def build_generator(cfg: ModelConfig) -> nn.Module:
    """DCGAN's generator (gan_lib/models.py), or the FastGAN-style light one (gan_lib/fastgan.py)."""
    return LightGenerator(cfg) if cfg.g_arch == "fastgan" else Generator(cfg)


def build_discriminator(cfg: ModelConfig) -> nn.Module:
    """DCGAN's discriminator, or one that judges a frozen pretrained network's features (gan_lib/projected.py)."""
    return ProjectedDiscriminator(cfg) if cfg.d_arch == "projected" else Discriminator(cfg)


_STATEFUL = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d, nn.Embedding)


def grow(small: nn.Module, big: nn.Module) -> int:
    """Copy a trained lower-resolution network's weights into a higher-resolution one; returns the layers copied.

    The layers that work at the same sizes in both keep what they learned: a generator's from its
    input (noise, 4x4, 8x8, ...), a discriminator's from its output (logit, 4x4, 8x8, ...), up to the
    first layer whose kind or shape differs. The new high-resolution layers keep their fresh init.
    For a 32 px network of width w and a 64 px one of width w/2 that is everything but the RGB layers.
    """
    if type(small) is not type(big):
        raise GanLibError(f"can only grow a network into one of its own kind, not {type(small).__name__} "
                          f"into {type(big).__name__}")
    pairs = zip([m for m in small.modules() if isinstance(m, _STATEFUL)],
                [m for m in big.modules() if isinstance(m, _STATEFUL)])
    if not isinstance(small, (Generator, LightGenerator)):  # a D shares its low-resolution end: align from the logit
        pairs = zip(*(reversed([m for m in net.modules() if isinstance(m, _STATEFUL)]) for net in (small, big)))
    copied = 0
    for a, b in pairs:
        sa, sb = a.state_dict(), b.state_dict()
        if type(a) is not type(b) or sa.keys() != sb.keys() or any(sa[k].shape != sb[k].shape for k in sa):
            break
        b.load_state_dict(sa)
        copied += 1
    if not copied:
        raise GanLibError("no layer of the small network fits the big one: a network twice the resolution needs half "
                          "the width to share its layers (e.g. 32 px at width 32 grows into 64 px at width 16)")
    return copied
