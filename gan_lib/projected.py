"""A discriminator that stands on a pretrained network (Projected GAN, Sauer et al. 2021), sized for a CPU.

D looks at images through a frozen ImageNet network, EfficientNet-Lite1 (the judge's metrics use
Lite0, a different network, so D cannot learn to please exactly the features it is scored in). Its
features at three scales are mixed across channels by fixed random 1x1 convolutions, and a small
trainable discriminator judges each scale; the logits are summed. Only those small heads learn.

Cost-saving choices for a CPU (measured in benchmarks/README.md): the images go in at their own
size (no upsampling to 224 px), and the frozen network is cut after the last block that is used.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from .config import ModelConfig
from .features import pretrained_efficientnet_lite
from .models import init_dcgan_weights

TAPS = (3, 6, 14)  # EfficientNet-Lite1 blocks whose outputs D reads: strides 4, 8 and 16
MIXED_CHANNELS = (64, 128, 256)  # channels after the fixed random mixing, per scale


class FrozenFeatures(nn.Module):
    """The first blocks of EfficientNet-Lite1, frozen and always in eval mode: image -> features at TAPS."""

    def __init__(self) -> None:
        super().__init__()
        net = pretrained_efficientnet_lite(1, "The projected discriminator")
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        self.blocks = nn.ModuleList(net._blocks[: max(TAPS) + 1])  # the rest is never used: not kept
        self.channels = [self.blocks[i]._bn2.num_features for i in TAPS]
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> FrozenFeatures:
        return super().train(False)  # BatchNorm keeps ImageNet's statistics

    def forward(self, x: Tensor) -> list[Tensor]:
        # Images in [-1, 1] are already what EfficientNet-Lite expects ((pixel - 127) / 128 in TF).
        h, out = self.stem(x), []
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i in TAPS:
                out.append(h)
        return out


def _head(c_in: int, size: int) -> nn.Sequential:
    """A small discriminator for one scale: strided 4x4 convs down to 2x2 (or less), then one logit per image."""
    layers: list[nn.Module] = []
    c = c_in
    while size > 2:
        layers += [spectral_norm(nn.Conv2d(c, min(2 * c, 512), 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]
        c, size = min(2 * c, 512), size // 2
    layers += [spectral_norm(nn.Conv2d(c, 1, kernel_size=size)), nn.Flatten()]
    return nn.Sequential(*layers)


class ProjectedDiscriminator(nn.Module):
    """Image -> one logit per image, judged on a frozen EfficientNet-Lite1's multi-scale features."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg  # ModelConfig has already refused d_arch="projected" with num_classes
        self.features = FrozenFeatures()
        sizes = [cfg.resolution // s for s in (4, 8, 16)]
        # Fixed random 1x1 mixing (buffers, not parameters): spreads each feature over many channels,
        # which the paper found keeps D from leaning on a few of the pretrained network's features.
        for i, (c_in, c_out) in enumerate(zip(self.features.channels, MIXED_CHANNELS)):
            g = torch.Generator().manual_seed(i)
            self.register_buffer(f"mix{i}", torch.randn(c_out, c_in, 1, 1, generator=g) / c_in ** 0.5)
        self.heads = nn.ModuleList(_head(c, s) for c, s in zip(MIXED_CHANNELS, sizes))
        init_dcgan_weights(self.heads)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        feats = self.features(x)
        logits = [head(nn.functional.conv2d(f, getattr(self, f"mix{i}").to(f.dtype)))
                  for i, (f, head) in enumerate(zip(feats, self.heads))]
        return torch.cat(logits, dim=1).sum(dim=1)
