"""Reference solutions that are teaching copies of library functions ("Same as gan_lib....") give its numbers."""
import copy

import pytest
import torch
from torch.testing import assert_close

from gan_lib import data, distances, losses, sampling, solutions, training
from gan_lib.models import Discriminator, Generator, ModelConfig, sample_noise


def logits(seed: int, n: int) -> torch.Tensor:
    return 3 * torch.randn(n, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("shape", [(1, 3, 4, 4), (5, 3, 8, 6)])
def test_normalize_is_to_float(shape):
    x = torch.randint(0, 256, shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    x.view(-1)[:2] = torch.tensor([0, 255], dtype=torch.uint8)
    assert_close(solutions.normalize(x), data.to_float(x))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flip_is_random_flip(seed):
    images = torch.randn(64, 3, 4, 5)
    ours = solutions.flip(images, torch.Generator().manual_seed(seed))
    assert not torch.equal(ours, images) and not torch.equal(ours, images.flip(-1))  # some, not all, mirrored
    assert torch.equal(ours, data.random_flip(images, torch.Generator().manual_seed(seed)))


@pytest.mark.parametrize("n_real, n_fake", [(1, 1), (7, 7), (16, 5)])
def test_d_losses_are_the_libraries(n_real, n_fake):
    r, f = logits(n_real, n_real), logits(100 + n_fake, n_fake)
    assert_close(solutions.discriminator_loss(r, f), losses.bce_d_loss(r, f))
    for smoothing in (0.0, 0.1, 0.3):
        assert_close(solutions.smoothed_d_loss(r, f, smoothing), losses.bce_d_loss(r, f, real_label=1 - smoothing))
    assert_close(solutions.smoothed_d_loss(r, f), losses.bce_d_loss(r, f, real_label=0.9))  # the default smoothing
    assert_close(solutions.hinge_d_loss(r, f), losses.hinge_d_loss(r, f))


@pytest.mark.parametrize("n", [1, 9])
def test_g_losses_are_the_libraries(n):
    f = logits(n, n)
    assert_close(solutions.generator_loss(f), losses.nonsaturating_g_loss(f))
    assert_close(solutions.hinge_g_loss(f), losses.hinge_g_loss(f))


def adam(model: torch.nn.Module) -> torch.optim.Adam:
    return torch.optim.Adam(model.parameters(), lr=2e-4, betas=(0.5, 0.999))


def assert_same_models(a: torch.nn.Module, b: torch.nn.Module) -> None:
    """Same weights and buffers, and the same gradients left behind (None where the library leaves none)."""
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert_close(x, y, msg=name)
    for (name, x), (_, y) in zip(a.named_parameters(), b.named_parameters()):
        assert (x.grad is None) == (y.grad is None), name
        if x.grad is not None:
            assert_close(x.grad, y.grad, msg=name)


def test_training_steps_are_the_libraries():
    torch.manual_seed(0)
    cfg = ModelConfig(latent_dim=16, g_width=8, d_width=8)  # 32x32, BatchNorm in both
    G, D = Generator(cfg), Discriminator(cfg)
    G_lib, D_lib = copy.deepcopy(G), copy.deepcopy(D)
    opt_g, opt_d, opt_g_lib, opt_d_lib = adam(G), adam(D), adam(G_lib), adam(D_lib)
    for step in range(2):  # the second step also uses Adam's moments from the first
        real, z = torch.rand(6, 3, 32, 32) * 2 - 1, torch.randn(6, cfg.latent_dim)
        loss_d = solutions.discriminator_step(G, D, opt_d, real, z)
        stats = training.discriminator_step(G_lib, D_lib, opt_d_lib, real, z)
        assert loss_d == pytest.approx(stats["loss_d"].item(), rel=1e-6)
        assert_same_models(D, D_lib)
        loss_g = solutions.generator_step(G, D, opt_g, z)
        stats = training.generator_step(G_lib, D_lib, opt_g_lib, z)
        assert loss_g == pytest.approx(stats["loss_g"].item(), rel=1e-6)
        assert_same_models(G, G_lib)
        assert_same_models(D, D_lib)
        assert all(p.requires_grad for p in D.parameters())


def features(seed: int, n: int, d: int, shift: float) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    mix = torch.randn(d, d, generator=gen) / d ** 0.5  # correlated features
    return torch.randn(n, d, generator=gen, dtype=torch.float64) @ mix.double() + shift


@pytest.mark.parametrize("n_fake, n_real, d", [(40, 60, 4), (30, 30, 8)])
def test_frechet_distance_is_the_libraries(n_fake, n_real, d):
    fake, real = features(0, n_fake, d, 0.5), features(1, n_real, d, 0.0)
    # The library fits the Gaussians itself, in float64 from float32 features.
    fake, real = fake.float().double(), real.float().double()
    ours = solutions.frechet_distance(fake.mean(0), torch.cov(fake.T), real.mean(0), torch.cov(real.T))
    assert ours > 0.1
    assert ours == pytest.approx(distances.frechet_distance(fake.float(), real.float()), rel=1e-6)


@pytest.mark.parametrize("n, d", [(20, 4), (50, 16)])
def test_kid_mmd_is_one_subset_of_the_libraries_kid(n, d):
    fake, real = features(2, n, d, 0.3).float(), features(3, n, d, 0.0).float()
    # One subset of all n features: a permutation of each set, which leaves the MMD as it is.
    kid, _ = distances.kernel_inception_distance(fake, real, subsets=1, subset_size=n)
    ours = solutions.kid_mmd(fake, real)
    assert abs(ours) > 1e-3
    assert ours == pytest.approx(kid, rel=1e-4)


@pytest.mark.parametrize("threshold", [0.5, 1.0, 2.5])
def test_truncated_noise_is_sample_noise(threshold):
    ours = solutions.truncated_noise(100, 8, threshold, torch.Generator().manual_seed(3))
    lib = sample_noise(100, 8, truncation=threshold, generator=torch.Generator().manual_seed(3))
    assert ours.abs().max() <= threshold
    assert torch.equal(ours, lib)


@pytest.mark.parametrize("case", ["random", "long", "parallel", "opposite-ish", "two steps"])
def test_slerp_is_samplings(case):
    gen = torch.Generator().manual_seed(4)
    z1, z2 = torch.randn(16, generator=gen), torch.randn(16, generator=gen)
    steps = 2 if case == "two steps" else 7
    if case == "long":
        z1, z2 = 5 * z1, 0.5 * z2
    elif case == "parallel":
        z2 = 2 * z1
    elif case == "opposite-ish":
        z2 = -z1 + 0.01 * z2
    assert_close(solutions.slerp(z1, z2, steps), sampling.slerp(z1, z2, steps))


@pytest.mark.parametrize("resolution, k", [(64, 2), (32, 3), (64, 0)])
def test_freeze_first_is_freeze_blocks(resolution, k):
    from gan_lib.models import freeze_blocks

    ours, theirs = (Discriminator(ModelConfig(resolution=resolution, d_width=4, num_classes=2)) for _ in range(2))
    assert solutions.freeze_first(ours, k) is ours
    freeze_blocks(theirs, k)
    assert [p.requires_grad for p in ours.parameters()] == [p.requires_grad for p in theirs.parameters()]


def test_d_optimizer_holds_what_the_trainer_holds(tiny_folder, tmp_path):
    from gan_lib.config import TrainConfig
    from gan_lib.data import load_images

    data = load_images(tiny_folder, 32, cache_dir=tmp_path / "c", progress=False)
    trainer = training.Trainer(TrainConfig(model=ModelConfig(g_width=4, d_width=4), steps=1, batch_size=4,
                                                freeze_d=2), data)
    ours = solutions.d_optimizer(trainer.D, trainer.config.lr_d)
    ours.load_state_dict(trainer.opt_d.state_dict())  # the same parameter list: a Trainer's state fits
    assert [p for g in ours.param_groups for p in g["params"]] == [p for g in trainer.opt_d.param_groups for p in g["params"]]
