import pytest
import torch

from gan_lib.errors import GanLibError
from gan_lib.models import (Discriminator, Generator, ModelConfig, count_parameters, init_dcgan_weights,
                            sample_noise, summary)


def small(**kw) -> ModelConfig:
    return ModelConfig(g_width=8, d_width=8, latent_dim=16, **kw)


@pytest.mark.parametrize("resolution", [32, 64, 128])
@pytest.mark.parametrize("upsample", ["transpose", "resize"])
@pytest.mark.parametrize("d_norm", ["batch", "spectral", "none"])
@pytest.mark.parametrize("num_classes", [0, 5])
def test_shapes_for_every_option(resolution, upsample, d_norm, num_classes):
    cfg = small(resolution=resolution, upsample=upsample, d_norm=d_norm, num_classes=num_classes,
                g_norm="none" if d_norm == "none" else "batch")
    G, D = Generator(cfg), Discriminator(cfg)
    labels = torch.tensor([0, 4, 2]) if num_classes else None
    images = G(sample_noise(3, cfg.latent_dim), labels)
    assert images.shape == (3, 3, resolution, resolution)
    assert images.min() >= -1 and images.max() <= 1  # tanh output, same range as the data
    logits = D(images, labels)
    assert logits.shape == (3,)


def test_channels_last_gives_same_output():
    cfg = small()
    G = Generator(cfg).eval()
    z = sample_noise(2, cfg.latent_dim, generator=torch.Generator().manual_seed(0))
    ref = G(z)
    G.to(memory_format=torch.channels_last)
    assert torch.allclose(G(z), ref, atol=1e-5)


def test_conditional_models_need_labels():
    cfg = small(num_classes=3)
    with pytest.raises(GanLibError, match="labels"):
        Generator(cfg)(sample_noise(2, cfg.latent_dim))
    with pytest.raises(GanLibError, match="labels"):
        Discriminator(cfg)(torch.zeros(2, 3, 32, 32))


def test_class_label_changes_the_output():
    cfg = small(num_classes=3)
    G = Generator(cfg).eval()
    z = sample_noise(1, cfg.latent_dim).repeat(2, 1)
    a, b = G(z, torch.tensor([0, 1]))
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("bad", [dict(resolution=48), dict(d_norm="layer"), dict(g_norm="spectral"),
                                 dict(upsample="pixelshuffle")])
def test_invalid_config_is_rejected(bad):
    with pytest.raises(GanLibError, match="must be one of"):
        ModelConfig(**bad)


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    G, D = Generator(ModelConfig()), Discriminator(ModelConfig(d_norm="spectral"))
    conv = G.blocks[0].weight
    assert abs(conv.std().item() - 0.02) < 0.002 and abs(conv.mean().item()) < 0.002
    bn = G.blocks[1]
    assert abs(bn.weight.mean().item() - 1.0) < 0.01 and bn.bias.abs().max() == 0
    sn_weight = D.features[0].parametrizations.weight.original
    assert abs(sn_weight.std().item() - 0.02) < 0.003
    with torch.no_grad():
        G.blocks[0].weight.fill_(1.0)
    init_dcgan_weights(G)
    assert G.blocks[0].weight.std() > 0.01


def test_summary_traces_every_layer(capsys):
    cfg = small(resolution=64)
    rows = summary(Generator(cfg), sample_noise(2, cfg.latent_dim))
    names = [r[0] for r in rows]
    assert names[:2] == ["project", "reshape"]
    shapes = [r[2] for r in rows]
    assert shapes[1] == (2, 8 * 8, 4, 4)  # g_width * 2**(blocks - 1) channels at 4x4
    assert shapes[-1] == (2, 3, 64, 64)
    assert rows[-1][1] == "Tanh"
    assert sum(r[3] for r in rows) == count_parameters(Generator(cfg))
    printed = capsys.readouterr().out
    assert "[2, 3, 64, 64]" in printed and "total" in printed

    rows = summary(Discriminator(small(d_norm="spectral")), torch.zeros(2, 3, 32, 32), show=False)
    assert rows[0][1] == "Conv2d+SN" and rows[0][2] == (2, 8, 16, 16)
    assert rows[-1][0] == "classify" and rows[-1][2] == (2, 1)


def test_sample_noise_seeded_and_truncated():
    a = sample_noise(100, 16, generator=torch.Generator().manual_seed(3))
    b = sample_noise(100, 16, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    t = sample_noise(500, 16, truncation=0.5, generator=torch.Generator().manual_seed(3))
    assert t.abs().max() <= 0.5
    assert t.std() > 0.2  # redrawn, not clamped to a constant
    with pytest.raises(GanLibError, match="truncation"):
        sample_noise(2, 4, truncation=0)


def test_recalibrated_batchnorm_matches_batch_statistics():
    from gan_lib.models import recalibrate_batchnorm

    torch.manual_seed(0)
    G = Generator(small())
    z = sample_noise(256, 16, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        for m in G.modules():  # statistics that belong to some other network, as in an EMA copy
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_var.fill_(50.0)
        grey = G.eval()(z)
        batch_stats = G.train()(z)
        G.eval()
        recalibrate_batchnorm(G)
        fixed = G(z)
    assert grey.std() < 0.5 * batch_stats.std()  # wrong statistics wash the images out
    assert abs(fixed.std() - batch_stats.std()) < 0.1 * batch_stats.std()
    assert not G.training
    with torch.no_grad():
        assert torch.equal(recalibrate_batchnorm(G)(z), fixed)  # seeded: the same every time
