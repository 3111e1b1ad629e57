"""The two networks a ModelConfig names (`g_arch` picks the generator, `d_arch` the discriminator), and growing them."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm
from torch.nn.utils.parametrize import type_before_parametrizations as kind  # a spectral-norm Conv2d is a Conv2d

from .config import ModelConfig
from .errors import GanLibError
from .fastgan import LightGenerator
from .models import Discriminator, Generator, _up_layer, init_dcgan_weights
from .projected import ProjectedDiscriminator


def build_generator(cfg: ModelConfig) -> nn.Module:
    """DCGAN's generator (gan_lib/models.py), or the FastGAN-style light one (gan_lib/fastgan.py)."""
    if cfg.grown_from:
        return FadeInGenerator(cfg)
    return LightGenerator(cfg) if cfg.g_arch == "fastgan" else Generator(cfg)


def build_discriminator(cfg: ModelConfig) -> nn.Module:
    """DCGAN's discriminator, or one that judges a frozen pretrained network's features (gan_lib/projected.py)."""
    if cfg.grown_from:
        return FadeInDiscriminator(cfg)
    return ProjectedDiscriminator(cfg) if cfg.d_arch == "projected" else Discriminator(cfg)


# --- growing: train small and fast first, then continue at twice the resolution -----------------
#
# ProGAN (Karras et al. 2018) grows both networks one resolution at a time, and blends each new
# resolution in: while `alpha` goes from 0 to 1 the generator's image moves from the old RGB layer's
# (upsampled) to the new layers', and the discriminator's view from the old RGB input layer's (on the
# image downsampled) to the new layers'. So growing starts from what the small GAN already makes,
# instead of from fresh RGB layers that first undo it.

class FadeIn(nn.Module):
    """A full DCGAN network (`net`) beside the small network's RGB layer (`old_rgb`), blended by `alpha`.

    Each kind names, in `rgb_layer(small)`, the small network's layer that `old_rgb` starts from (`grow`).
    """

    def __init__(self, cfg: ModelConfig, net: nn.Module, old_rgb: nn.Module) -> None:
        super().__init__()
        self.cfg, self.net, self.old_rgb = cfg, net, old_rgb
        init_dcgan_weights(self.old_rgb)
        self.register_buffer("alpha", torch.zeros(()))  # a buffer: checkpoints keep how far the fade has got

    @property
    def embed(self) -> nn.Module | None:
        return self.net.embed


class FadeInGenerator(FadeIn):
    """A DCGAN generator grown from one of half its resolution, whose old RGB layer fades out as `alpha` -> 1."""

    def __init__(self, cfg: ModelConfig) -> None:
        # The small generator's last layer: the res/4 map (2 x g_width channels) -> RGB at half resolution.
        super().__init__(cfg, Generator(cfg), _up_layer(2 * cfg.g_width, 3, cfg.upsample))
        # New: the last two upsampling blocks ([up, norm, ReLU] and [up, tanh]); the rest was the small G's.
        self.keep = len(self.net.blocks) - 5

    @staticmethod
    def rgb_layer(small: nn.Module) -> nn.Module:
        """The small generator's last layer (before its tanh)."""
        return small.blocks[-2]

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        h = self.net.blocks[:self.keep](self.net.start(z, labels))
        new = self.net.blocks[self.keep:](h)
        old = F.interpolate(torch.tanh(self.old_rgb(h)), scale_factor=2, mode="nearest")
        return torch.lerp(old, new, self.alpha)


class FadeInDiscriminator(FadeIn):
    """A DCGAN discriminator grown from one of half its resolution, whose old RGB input layer fades out as `alpha` -> 1."""

    def __init__(self, cfg: ModelConfig) -> None:
        sn = spectral_norm if cfg.d_norm == "spectral" else (lambda m: m)
        # The small discriminator's first conv: RGB at half resolution -> the map the new layers make.
        super().__init__(cfg, Discriminator(cfg),
                         sn(nn.Conv2d(3, 2 * cfg.d_width, kernel_size=4, stride=2, padding=1, bias=False)))
        # The new layers are the first two blocks (each ends in a LeakyReLU); the rest was the small D's.
        self.new = [i for i, m in enumerate(self.net.features) if isinstance(m, nn.LeakyReLU)][1] + 1
        self._register_load_state_dict_pre_hook(_old_rgb_names)


    @staticmethod
    def rgb_layer(small: nn.Module) -> nn.Module:
        """The small discriminator's first conv."""
        return small.features[0]

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        new = self.net.features[:self.new](x)
        old = F.leaky_relu(self.old_rgb(F.avg_pool2d(x, 2)), 0.2)
        return self.net.verdict(self.net.features[self.new:](torch.lerp(old, new, self.alpha)), labels)


def _old_rgb_names(state: dict, prefix: str, *args: object) -> None:
    """Checkpoints from before 2026-12 kept D's old RGB layer as a Sequential (conv, LeakyReLU): old_rgb.0.*"""
    for key in [k for k in state if k.startswith(prefix + "old_rgb.0.")]:
        state[key.replace("old_rgb.0.", "old_rgb.", 1)] = state.pop(key)


def set_fade_in(alpha: float, *nets: nn.Module | None) -> None:
    """Set how far grown networks have blended in their new layers (0: the small networks' output, 1: the new)."""
    for net in nets:
        if isinstance(net, FadeIn):
            net.alpha.fill_(alpha)


_STATEFUL = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d, nn.Embedding)


def grow(small: nn.Module, big: nn.Module) -> int:
    """Copy a trained lower-resolution network's weights into a higher-resolution one; returns the layers copied.

    The layers that work at the same sizes in both keep what they learned: a generator's from its
    input (noise, 4x4, 8x8, ...), a discriminator's from its output (logit, 4x4, 8x8, ...), up to the
    first layer whose kind or shape differs. The new high-resolution layers keep their fresh init.
    For a 32 px network of width w and a 64 px one of width w/2 that is everything but the RGB layers.
    Into a fade-in network (`ModelConfig.grown_from`) the small one's RGB layer is copied too, into the
    branch that fades out, so training at the new size starts from the small GAN's pictures.
    """
    if isinstance(small, FadeIn):  # itself grown (e.g. 32 -> 64, now 64 -> 128): its full network
        small = small.net
    faded = big if isinstance(big, FadeIn) else None
    if faded is not None:  # grow into the full network, then hand the small one's RGB layer to the fading branch
        big = faded.net
    if type(small) is not type(big):
        raise GanLibError(f"can only grow a network into one of its own kind, not {type(small).__name__} "
                          f"into {type(big).__name__}")
    small_layers, big_layers = ([m for m in net.modules() if isinstance(m, _STATEFUL)] for net in (small, big))
    if not isinstance(small, (Generator, LightGenerator)):  # a D shares its low-resolution end: align from the logit
        small_layers, big_layers = small_layers[::-1], big_layers[::-1]
    copied = 0
    for a, b in zip(small_layers, big_layers):
        sa, sb = a.state_dict(), b.state_dict()
        if kind(a) is not kind(b) or sa.keys() != sb.keys() or any(sa[k].shape != sb[k].shape for k in sa):
            break
        b.load_state_dict(sa)
        copied += 1
    if not copied:
        raise GanLibError("no layer of the small network fits the big one: a network twice the resolution needs half "
                          "the width to share its layers (e.g. 32 px at width 32 grows into 64 px at width 16)")
    if faded is not None:
        # Fading in starts from the small GAN's pictures only if all of it but its RGB layer carried over.
        if copied != len(small_layers) - 1:
            raise GanLibError(f"only {copied} of the {len(small_layers) - 1} layers of the {small.cfg.resolution}px "
                              f"network fit the {big.cfg.resolution}px one: grow with the small run's settings (norms, "
                              "upsampling, noise size, breeds) at half its width")
        faded.old_rgb.load_state_dict(faded.rgb_layer(small).state_dict())
        copied += 1
    return copied
