"""Growing a trained 32 px GAN into a 64 px one: the layers at shared sizes keep their weights."""
from __future__ import annotations

import pytest
import torch

from gan_lib.config import ModelConfig
from gan_lib.errors import GanLibError
from gan_lib.models import Discriminator, Generator, sample_noise
from gan_lib.networks import grow


def nets(resolution: int, width: int, **changes) -> tuple[Generator, Discriminator]:
    cfg = ModelConfig(resolution=resolution, g_width=width, d_width=width, latent_dim=16, **changes)
    return Generator(cfg), Discriminator(cfg)


def test_generator_keeps_everything_up_to_its_old_rgb_layer():
    torch.manual_seed(0)
    G32, _ = nets(32, 16)
    torch.manual_seed(1)
    G64, _ = nets(64, 8)
    assert grow(G32, G64) == 6  # the linear layer, its BatchNorm, and two upsampling convs with theirs
    G32.eval(), G64.eval()
    z = sample_noise(4, 16)
    with torch.no_grad():
        h32 = G32.blocks[:6](G32.stem(G32.reshape(G32.project(z))))
        h64 = G64.blocks[:6](G64.stem(G64.reshape(G64.project(z))))
    assert torch.equal(h32, h64)  # the same 16x16 maps: the layout the small G learned is kept
    assert G64(z).shape == (4, 3, 64, 64)


def test_discriminator_keeps_everything_from_its_logit_down_to_the_new_input_layers():
    torch.manual_seed(0)
    _, D32 = nets(32, 16)
    torch.manual_seed(1)
    _, D64 = nets(64, 8)
    first64 = D64.features[0].weight.clone()
    assert grow(D32, D64) == 5  # the linear layer, two convs and their BatchNorms
    assert torch.equal(D64.classify.weight, D32.classify.weight)
    assert torch.equal(D64.features[-3].weight, D32.features[-3].weight)  # the last conv (8x8 -> 4x4)
    assert torch.equal(D64.features[0].weight, first64)  # the new 64 px input layer stays as initialised
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    assert D64(x).shape == (2,)


def test_conditional_networks_keep_their_embeddings():
    torch.manual_seed(0)
    G32, D32 = nets(32, 16, num_classes=3)
    G64, D64 = nets(64, 8, num_classes=3)
    grow(G32, G64), grow(D32, D64)
    assert torch.equal(G64.embed.weight, G32.embed.weight) and torch.equal(D64.embed.weight, D32.embed.weight)


def test_networks_that_share_nothing_are_refused():
    G32, D32 = nets(32, 16)
    G64, D64 = nets(64, 16)  # same width: every layer's shape differs
    with pytest.raises(GanLibError, match="half the width"):
        grow(G32, G64)
    with pytest.raises(GanLibError, match="of its own kind"):
        grow(G32, D64)
