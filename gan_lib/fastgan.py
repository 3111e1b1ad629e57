"""A FastGAN-style light generator (Liu et al., ICLR 2021), sized for a CPU.

noise z -> linear -> 4x4 map -> one 3x3 conv per doubling -> full-size map -> 3x3 conv to RGB -> tanh

Two ideas from the paper, next to DCGAN's generator (gan_lib/models.py):
- each doubling is a single layer: nearest x2 resize, a 3x3 convolution, BatchNorm and a gated linear
  unit (GLU: half of the channels decide, through a sigmoid, how much of the other half passes);
- skip-layer excitation (SLE): a small early map, which sets the layout, rescales every channel of
  the map 8x larger (4x4 -> 32x32, 8x8 -> 64x64, ...), so the global structure reaches the fine
  layers in one step instead of through every block in between.
Left out for speed on a CPU: the paper's spectral norm and noise injection in G, and its
self-supervised discriminator (this generator trains against any gan_lib discriminator).
"""
from __future__ import annotations

from torch import Tensor, nn

from .config import ModelConfig
from .models import init_dcgan_weights, label_embedding, with_labels

SLE_SPAN = 3  # a map excites the one 2**3 = 8 times larger, as in the paper (8x8 -> 128x128 is its 16x)


class SkipExcitation(nn.Module):
    """Channel gates in (0, 1) for a large feature map, computed from a small one."""

    def __init__(self, c_small: int, c_big: int) -> None:
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(4), nn.Conv2d(c_small, c_big, kernel_size=4, bias=False),  # 4x4 -> one vector
            nn.SiLU(), nn.Conv2d(c_big, c_big, kernel_size=1, bias=False), nn.Sigmoid())  # SiLU = the paper's Swish

    def forward(self, small: Tensor, big: Tensor) -> Tensor:
        return big * self.gate(small)  # (N, C, 1, 1) gates broadcast over the big map's pixels


def _norm(c: int, kind: str) -> nn.Module:
    return nn.BatchNorm2d(c) if kind == "batch" else nn.Identity()


def _up_block(c_in: int, c_out: int, norm: str) -> nn.Sequential:
    """Double the size with one 3x3 conv: 2 * c_out channels, of which the GLU keeps c_out."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv2d(c_in, 2 * c_out, kernel_size=3, padding=1, bias=False),
                         _norm(2 * c_out, norm), nn.GLU(dim=1))


class LightGenerator(nn.Module):
    """Noise (and optionally a class label) -> image in [-1, 1], FastGAN style (ModelConfig.g_arch="fastgan")."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        n = cfg.num_blocks
        # Channels of the maps at 4, 8, ..., resolution: g_width at half size (as in DCGAN's G), doubling
        # towards 4x4, and half of g_width at full size, where every channel costs the most.
        channels = [max(1, cfg.g_width * 2 ** (n - i) // 2) for i in range(n + 1)]
        self.embed = label_embedding(cfg)
        in_dim = cfg.latent_dim * (2 if self.embed is not None else 1)
        self.start = nn.Sequential(nn.Linear(in_dim, 2 * channels[0] * 4 * 4, bias=False),
                                   nn.Unflatten(1, (2 * channels[0], 4, 4)), _norm(2 * channels[0], cfg.g_norm),
                                   nn.GLU(dim=1))
        self.blocks = nn.ModuleList(_up_block(a, b, cfg.g_norm) for a, b in zip(channels[:-1], channels[1:]))
        # excite[str(j)] rescales map j (counting the 4x4 map as 0) from map j - SLE_SPAN.
        self.excite = nn.ModuleDict({str(j): SkipExcitation(channels[j - SLE_SPAN], channels[j])
                                     for j in range(SLE_SPAN, n + 1)})
        self.to_rgb = nn.Sequential(nn.Conv2d(channels[-1], 3, kernel_size=3, padding=1), nn.Tanh())
        init_dcgan_weights(self)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        maps = [self.start(with_labels(z, labels, self.embed))]
        for j, block in enumerate(self.blocks, start=1):
            h = block(maps[-1])
            if str(j) in self.excite:
                h = self.excite[str(j)](maps[j - SLE_SPAN], h)
            maps.append(h)
        return self.to_rgb(maps[-1])
