"""The FastGAN-style light generator: one conv per doubling, and skip-layer excitation (g_arch="fastgan")."""
from __future__ import annotations

import json

import pytest
import torch

from gan_lib.cli import main
from gan_lib.config import ModelConfig, TrainConfig
from gan_lib.errors import GanLibError
from gan_lib.fastgan import LightGenerator, SkipExcitation
from gan_lib.latent import principal_directions
from gan_lib.losses import NONSATURATING
from gan_lib.models import Discriminator, sample_noise
from gan_lib.networks import build_generator
from gan_lib.sampling import load_generator
from gan_lib.training import Trainer, generator_step


def light(resolution: int = 32, **changes) -> LightGenerator:
    torch.manual_seed(0)
    G = build_generator(ModelConfig(resolution=resolution, g_width=8, latent_dim=16, g_arch="fastgan", **changes))
    assert isinstance(G, LightGenerator)
    return G


@pytest.mark.parametrize("resolution, excited", [(32, ["3"]), (64, ["3", "4"]), (128, ["3", "4", "5"])])
def test_images_in_range_and_every_map_from_32px_up_is_excited(resolution, excited):
    G = light(resolution)
    x = G(sample_noise(3, 16))
    assert x.shape == (3, 3, resolution, resolution) and x.abs().max() <= 1
    assert list(G.excite) == excited  # map j (0 = 4x4) is gated by map j - 3, 8x smaller


def test_skip_excitation_rescales_each_channel_by_a_gate_between_0_and_1():
    sle = SkipExcitation(c_small=8, c_big=4)
    small, big = torch.randn(2, 8, 8, 8), torch.randn(2, 4, 32, 32) + 3
    ratio = sle(small, big) / big
    # One factor per image and channel, the same at every pixel, strictly inside (0, 1).
    assert torch.allclose(ratio, ratio[:, :, :1, :1].expand_as(ratio), atol=1e-6)
    assert ((ratio > 0) & (ratio < 1)).all()
    # The gates depend on the small map: another layout, other gates.
    assert not torch.allclose(sle(small.flip(0), big), sle(small, big))


def test_the_early_map_reaches_the_image_through_the_excitation():
    G = light(64)
    G(sample_noise(4, 16)).square().mean().backward()
    for name, sle in G.excite.items():
        grads = [p.grad for p in sle.parameters()]
        assert all(g is not None and g.abs().sum() > 0 for g in grads), f"excitation {name} got no gradient"


def test_conditional_needs_labels_and_labels_change_the_image():
    G = light(32, num_classes=3).eval()
    z = sample_noise(2, 16, generator=torch.Generator().manual_seed(1))
    with pytest.raises(GanLibError, match="pass labels"):
        G(z)
    assert not torch.allclose(G(z, torch.tensor([0, 0])), G(z, torch.tensor([1, 1])))


def test_generator_steps_lower_its_loss_against_a_fixed_discriminator():
    G = light(32)
    torch.manual_seed(0)
    D = Discriminator(ModelConfig(resolution=32, d_width=8))
    opt = torch.optim.Adam(G.parameters(), 2e-3, betas=(0.5, 0.999))
    z = sample_noise(32, 16, generator=torch.Generator().manual_seed(2))
    losses = [generator_step(G, D, opt, z, loss=NONSATURATING)["loss_g"].item() for _ in range(15)]
    assert losses[-1] < 0.8 * losses[0], losses


def test_trains_resumes_exactly_and_loads_back_as_a_light_generator(tiny_folder, tmp_path):
    from gan_lib.data import load_images

    data = load_images(tiny_folder, 32, cache_dir=tmp_path / "cache", progress=False)
    config = TrainConfig(model=ModelConfig(resolution=32, g_width=8, d_width=8, g_arch="fastgan"), steps=4,
                         batch_size=4, log_every=1, seed=0)
    whole = Trainer(config, data).fit(progress=False)
    half = Trainer(TrainConfig.from_dict(config.to_dict() | {"steps": 2}), data).fit(progress=False)
    half.save(tmp_path / "ckpt.pt")
    resumed = Trainer.resume(tmp_path / "ckpt.pt", data, steps=4).fit(progress=False)
    for a, b in zip(whole.G.state_dict().values(), resumed.G.state_dict().values()):
        assert torch.equal(a, b)
    assert whole.history[-1]["loss_d"] == resumed.history[-1]["loss_d"]
    resumed.save(tmp_path / "done.pt")
    G = load_generator(tmp_path / "done.pt")
    z = sample_noise(5, config.model.latent_dim)
    assert isinstance(G, LightGenerator) and torch.allclose(G(z), resumed.sample(z), atol=1e-5)


def test_command_line_option(tiny_folder, tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--data", str(tiny_folder), "--out", str(out), "--g-arch", "fastgan", "--steps", "2",
                 "--batch-size", "4", "--g-width", "8", "--d-width", "8", "--device", "cpu"]) == 0
    assert json.loads((out / "config.json").read_text())["model"]["g_arch"] == "fastgan"
    assert main(["sample", str(out / "checkpoint.pt"), "--n", "4", "--out", str(tmp_path / "grid.png")]) == 0


def test_unknown_architecture_and_ganspace_say_what_they_support():
    with pytest.raises(GanLibError, match="g_arch must be one of dcgan, fastgan"):
        ModelConfig(g_arch="stylegan")
    with pytest.raises(GanLibError, match="DCGAN generator"):
        principal_directions(light(32), k=2, n=8)
