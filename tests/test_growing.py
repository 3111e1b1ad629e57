"""Growing a trained 32 px GAN into a 64 px one: the layers at shared sizes keep their weights, the new ones fade in."""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gan_lib.cli import main
from gan_lib.config import ModelConfig, TrainConfig
from gan_lib.errors import GanLibError
from gan_lib.latent import principal_directions
from gan_lib.models import Discriminator, Generator, sample_noise
from gan_lib.networks import FadeInDiscriminator, FadeInGenerator, build_discriminator, build_generator, grow, set_fade_in
from gan_lib.sampling import load_generator
from gan_lib.training import Trainer


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


# --- fade-in (ModelConfig.grown_from): the grown GAN starts from the small one's pictures ------------

def grown(**changes) -> tuple[Generator, Discriminator, nn.Module, nn.Module]:
    """A trained-looking 32 px pair (random weights, eval mode) grown into fade-in 64 px networks."""
    torch.manual_seed(0)
    G32, D32 = nets(32, 16, **changes)
    cfg = ModelConfig(resolution=64, g_width=8, d_width=8, latent_dim=16, grown_from=32, **changes)
    G, D = build_generator(cfg), build_discriminator(cfg)
    grow(G32, G), grow(D32, D)
    return G32.eval(), D32.eval(), G.eval(), D.eval()


@pytest.mark.parametrize("changes", [{}, {"upsample": "resize", "d_norm": "spectral"},
                                     {"g_norm": "none", "d_norm": "none", "num_classes": 3}])
def test_at_alpha_0_the_grown_gan_is_the_small_one_and_at_1_the_big_one(changes):
    G32, D32, G, D = grown(**changes)
    assert isinstance(G, FadeInGenerator) and isinstance(D, FadeInDiscriminator) and G.alpha == D.alpha == 0
    z, x = sample_noise(4, 16), torch.rand(4, 3, 64, 64) * 2 - 1
    labels = torch.arange(4) % 3 if changes.get("num_classes") else None
    with torch.no_grad():
        # alpha 0: G's image is the small G's, upsampled; D's verdict is the small D's on the image downsampled.
        assert torch.equal(G(z, labels), F.interpolate(G32(z, labels), scale_factor=2, mode="nearest"))
        assert torch.equal(D(x, labels), D32(F.avg_pool2d(x, 2), labels))
        set_fade_in(1.0, G, D)  # alpha 1: only the new layers count
        assert torch.allclose(G(z, labels), G.net(z, labels), atol=1e-6)
        assert torch.allclose(D(x, labels), D.net(x, labels), atol=1e-6)
        set_fade_in(0.5, G, D)  # in between: the blend of the two
        old = F.interpolate(G32(z, labels), scale_factor=2, mode="nearest")
        assert torch.allclose(G(z, labels), (old + G.net(z, labels)) / 2, atol=1e-6)


def test_while_fading_both_the_old_rgb_layers_and_the_new_layers_learn():
    _, _, G, D = grown()
    set_fade_in(0.3, G, D)
    G.train(), D.train()
    D(G(sample_noise(4, 16))).mean().backward()
    for net in (G, D):
        old = net.old_rgb
        new = net.net.blocks[-2] if isinstance(net, FadeInGenerator) else net.net.features[0]
        assert old.weight.grad.abs().sum() > 0 and new.weight.grad.abs().sum() > 0


def test_a_grown_run_fades_in_over_its_share_resumes_exactly_and_loads_back(tiny_folder, tmp_path):
    from gan_lib.data import load_images

    small_config = TrainConfig(model=ModelConfig(resolution=32, g_width=16, d_width=16, latent_dim=16), steps=3,
                               batch_size=4, seed=0)
    small = Trainer(small_config, load_images(tiny_folder, 32, cache_dir=tmp_path / "cache", progress=False))
    small.fit(progress=False)
    data = load_images(tiny_folder, 64, cache_dir=tmp_path / "cache", progress=False)
    config = TrainConfig(model=ModelConfig(resolution=64, g_width=8, d_width=8, latent_dim=16, grown_from=32),
                         steps=4, fade_in=0.5, batch_size=4, log_every=1, seed=0)
    whole = Trainer(config, data).grow_from(small)
    assert torch.equal(whole.G.old_rgb.weight, small.G.blocks[-2].weight)
    alphas = []

    def record(t: Trainer) -> None:  # after each step: the alpha that step trained with
        alphas.append(t.G.alpha.item())
        assert t.D.alpha == t.ema.alpha == t.G.alpha

    whole.fit(callbacks=[record], progress=False)
    assert alphas == [0.0, 0.5, 1.0, 1.0]  # 0 -> 1 over the first half of the 4 steps, then the new layers alone

    half = Trainer(config, data).grow_from(small)  # the same budget, so the same fade-in: stopped after 2 steps
    half.fit(callbacks=[lambda t: t.request_stop() if t.step == 2 else None], progress=False)
    assert half.step == 2
    half.save(tmp_path / "ckpt.pt")
    resumed = Trainer.resume(tmp_path / "ckpt.pt", data).fit(progress=False)
    assert resumed.step == 4 and resumed.G.alpha == 1
    for a, b in zip(whole.G.state_dict().values(), resumed.G.state_dict().values()):
        assert torch.equal(a, b)
    resumed.save(tmp_path / "done.pt")
    G = load_generator(tmp_path / "done.pt")
    z = sample_noise(5, 16)
    assert isinstance(G, FadeInGenerator) and torch.allclose(G(z), resumed.sample(z), atol=1e-5)
    assert principal_directions(G, k=2, n=20).vectors.shape == (2, 16)  # GANSpace reads the grown G too

    longer = Trainer.resume(tmp_path / "done.pt", data, steps=40)  # a longer budget: 4 steps are now 10%
    longer.fit(callbacks=[lambda t: t.request_stop()], progress=False)
    assert longer.step == 5 and longer.G.alpha == 1  # the faded-out layers do not come back


def test_a_small_run_without_an_ema_grows_one_from_its_generator(tiny_folder, tmp_path):
    from gan_lib.data import load_images

    small = Trainer(TrainConfig(model=ModelConfig(resolution=32, g_width=16, d_width=16, latent_dim=16), steps=1,
                                batch_size=4, ema_decay=0),
                    load_images(tiny_folder, 32, cache_dir=tmp_path / "cache", progress=False))
    big = Trainer(TrainConfig(model=ModelConfig(resolution=64, g_width=8, d_width=8, latent_dim=16, grown_from=32),
                              steps=1, batch_size=4), load_images(tiny_folder, 64, cache_dir=tmp_path / "cache",
                                                                  progress=False)).grow_from(small)
    assert torch.equal(big.ema.old_rgb.weight, small.G.blocks[-2].weight)
    assert torch.equal(big.ema.net.project.weight, small.G.project.weight)


def test_a_fade_in_grow_refuses_networks_that_share_only_some_layers():
    G32, D32 = nets(32, 16)
    cfg = ModelConfig(resolution=64, g_width=8, d_width=8, latent_dim=16, grown_from=32, g_norm="none", d_norm="none")
    with pytest.raises(GanLibError, match=r"only 1 of the 6 layers .* small run's settings"):
        grow(G32, build_generator(cfg))  # the noise projection fits, the first BatchNorm has no counterpart
    with pytest.raises(GanLibError, match="small run's settings"):
        grow(D32, build_discriminator(cfg))


def test_grown_from_must_be_half_the_resolution_of_dcgan_networks():
    with pytest.raises(GanLibError, match="half of 64"):
        ModelConfig(resolution=64, grown_from=16)
    with pytest.raises(GanLibError, match="g_arch and d_arch 'dcgan'"):
        ModelConfig(resolution=64, grown_from=32, g_arch="fastgan")
    with pytest.raises(GanLibError, match="fade_in"):
        TrainConfig(fade_in=0)


def test_command_line_grows_a_32px_run_into_a_64px_one(tiny_folder, tmp_path, capsys):
    common = ["--data", str(tiny_folder), "--steps", "2", "--batch-size", "4", "--device", "cpu"]
    small = tmp_path / "small"
    assert main(["train", "--out", str(small), "--g-width", "16", "--d-width", "16", "--loss", "hinge", *common]) == 0
    big = tmp_path / "big"
    assert main(["train", "--out", str(big), "--grow-from", str(small / "checkpoint.pt"), *common]) == 0
    assert "grown from the 32px run" in capsys.readouterr().out
    config = json.loads((big / "config.json").read_text())
    model = config["model"]
    assert (model["resolution"], model["g_width"], model["d_width"], model["grown_from"]) == (64, 8, 8, 32)
    assert config["loss"] == "hinge"  # the small run's recipe carries over
    assert main(["sample", str(big / "checkpoint.pt"), "--n", "4", "--out", str(tmp_path / "grid.png")]) == 0

    assert main(["train", "--out", str(big), "--resume", "--grow-from", str(small / "checkpoint.pt"), *common]) == 2
    assert "leave it out when you --resume" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "bad"), "--grow-from", str(small / "checkpoint.pt"),
                 "--resolution", "128", *common]) == 2
    assert "half of 128" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "bad"), "--grow-from", str(small / "checkpoint.pt"),
                 "--g-norm", "none", *common]) == 2
    assert "small run's settings" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "bad"), "--fade-in", "0.3", *common]) == 2
    assert "use it with --grow-from" in capsys.readouterr().err


def test_a_conditional_gan_grows_only_from_one_trained_on_the_same_breeds(tiny_folder, tmp_path):
    from gan_lib.data import load_images

    model = dict(g_width=16, d_width=16, latent_dim=16, num_classes=2)
    small = Trainer(TrainConfig(model=ModelConfig(resolution=32, **model), steps=1, batch_size=4),
                    load_images(tiny_folder, 32, cache_dir=tmp_path / "cache", progress=False))
    (tiny_folder / "dogs").rename(tiny_folder / "wolves")
    other = load_images(tiny_folder, 64, cache_dir=tmp_path / "cache", progress=False)
    big = Trainer(TrainConfig(model=ModelConfig(resolution=64, grown_from=32, **model | dict(g_width=8, d_width=8)),
                              steps=1, batch_size=4), other)
    with pytest.raises(GanLibError, match="same breeds"):
        big.grow_from(small)


def test_a_grown_discriminator_from_an_older_checkpoint_still_loads():
    """Before 2026-12 the grown D kept its old RGB layer as a Sequential (conv, LeakyReLU): keys old_rgb.0.*"""
    from gan_lib.networks import FadeInDiscriminator

    cfg = ModelConfig(resolution=64, g_width=8, d_width=8, latent_dim=16, grown_from=32)
    D = FadeInDiscriminator(cfg)
    old_style = {k.replace("old_rgb.", "old_rgb.0.", 1): v + 1 for k, v in D.state_dict().items()}
    fresh = FadeInDiscriminator(cfg)
    fresh.load_state_dict(old_style)
    assert torch.equal(fresh.old_rgb.weight, D.old_rgb.weight + 1)
