"""Each loss against values worked out by hand with plain Python math."""
import math

import pytest
import torch

from gan_lib.errors import GanLibError
from gan_lib.losses import LOSSES, get_loss, gradient_penalty, r1_penalty

R = [2.0, -1.0]  # real logits
F_ = [0.5, -2.0]  # fake logits
sig = lambda t: 1 / (1 + math.exp(-t))  # noqa: E731
mean = lambda xs: sum(xs) / len(xs)  # noqa: E731

EXPECTED_D = {
    "nonsaturating": mean([-math.log(sig(r)) for r in R]) + mean([-math.log(1 - sig(f)) for f in F_]),
    "minimax": mean([-math.log(sig(r)) for r in R]) + mean([-math.log(1 - sig(f)) for f in F_]),
    "lsgan": 0.5 * mean([(r - 1) ** 2 for r in R]) + 0.5 * mean([f ** 2 for f in F_]),
    "hinge": mean([max(0, 1 - r) for r in R]) + mean([max(0, 1 + f) for f in F_]),
    "ralsgan": 0.5 * (mean([(r - mean(F_) - 1) ** 2 for r in R]) + mean([(f - mean(R) + 1) ** 2 for f in F_])),
    "wgan-gp": mean(F_) - mean(R),
}
EXPECTED_G = {
    "nonsaturating": mean([-math.log(sig(f)) for f in F_]),
    "minimax": mean([math.log(1 - sig(f)) for f in F_]),
    "lsgan": 0.5 * mean([(f - 1) ** 2 for f in F_]),
    "hinge": -mean(F_),
    "ralsgan": 0.5 * (mean([(f - mean(R) - 1) ** 2 for f in F_]) + mean([(r - mean(F_) + 1) ** 2 for r in R])),
    "wgan-gp": -mean(F_),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_values(name):
    loss = get_loss(name)
    r, f = torch.tensor(R), torch.tensor(F_)
    assert loss.d_loss(r, f).item() == pytest.approx(EXPECTED_D[name], rel=1e-5)
    assert loss.g_loss(f, r).item() == pytest.approx(EXPECTED_G[name], rel=1e-5)


def test_discriminator_losses_fall_as_d_gets_better():
    r, f = torch.tensor(R), torch.tensor(F_)
    for name in ("nonsaturating", "hinge", "wgan-gp"):  # LSGAN targets exactly 0 and 1 instead
        loss = get_loss(name)
        assert loss.d_loss(r + 1, f - 1) < loss.d_loss(r, f), name  # more confident and right
        assert loss.g_loss(f + 1, r) < loss.g_loss(f, r), name  # fakes look more real


def test_nonsaturating_gives_strong_gradient_when_d_rejects_fakes():
    # Early in training D(G(z)) ~ 0: log(1 - D) saturates, -log D does not.
    f = torch.tensor([-6.0], requires_grad=True)
    (g_min,) = torch.autograd.grad(get_loss("minimax").g_loss(f), f)
    (g_ns,) = torch.autograd.grad(get_loss("nonsaturating").g_loss(f), f)
    assert g_ns.abs() > 100 * g_min.abs()


def test_relativistic_generator_needs_real_logits():
    with pytest.raises(GanLibError, match="real logits"):
        get_loss("ralsgan").g_loss(torch.zeros(2))


def test_gradient_penalty_of_a_linear_critic():
    w = torch.tensor([0.5, -2.0, 1.0, 2.0]).view(1, 1, 2, 2)
    critic = lambda x: (x * w).flatten(1).sum(1)  # noqa: E731  gradient is w everywhere
    real, fake = torch.randn(5, 1, 2, 2), torch.randn(5, 1, 2, 2)
    expected = (math.sqrt(0.25 + 4 + 1 + 4) - 1) ** 2
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(expected, rel=1e-5)


def test_r1_penalty_of_a_linear_critic():
    w = torch.tensor([3.0, 4.0]).view(1, 2, 1, 1)
    critic = lambda x: (x * w).flatten(1).sum(1)  # noqa: E731  gradient is w everywhere
    assert r1_penalty(critic, torch.randn(4, 2, 1, 1)).item() == pytest.approx(0.5 * 25.0)


def test_penalties_belong_to_the_loss():
    w = torch.tensor([3.0, 4.0]).view(1, 2, 1, 1)
    critic = lambda x, labels=None: (x * w).flatten(1).sum(1)  # noqa: E731
    real, fake = torch.randn(4, 2, 1, 1), torch.randn(4, 2, 1, 1)
    assert get_loss("nonsaturating").penalty(critic, real, fake) == 0  # the plain losses add nothing
    assert get_loss("hinge", r1_gamma=2.0).penalty(critic, real, fake).item() == pytest.approx(2.0 * 12.5)
    assert get_loss("wgan-gp").penalty(critic, real, fake).item() == pytest.approx(10.0 * 16.0)  # (5 - 1)^2
    assert get_loss("wgan-gp", gp_weight=1.0).penalty(critic, real, fake).item() == pytest.approx(16.0)


def test_unknown_loss_lists_the_choices():
    with pytest.raises(GanLibError, match="hinge"):
        get_loss("vanilla")


def test_one_sided_label_smoothing():
    smooth = get_loss("nonsaturating", label_smoothing=0.1)
    r, f = torch.tensor(R), torch.tensor(F_)
    # BCE with target 0.9 for photos: -(0.9 log sigma(r) + 0.1 log(1 - sigma(r))); fakes keep label 0.
    expected = mean([-(0.9 * math.log(sig(x)) + 0.1 * math.log(1 - sig(x))) for x in R]) \
        + mean([-math.log(1 - sig(x)) for x in F_])
    assert smooth.d_loss(r, f).item() == pytest.approx(expected, rel=1e-5)
    assert smooth.g_loss(f).item() == pytest.approx(EXPECTED_G["nonsaturating"], rel=1e-5)  # G's loss is unchanged
    # A very confident D (huge real logits) is now penalised: the smoothed loss has a minimum at sigma(r) = 0.9.
    assert smooth.d_loss(torch.tensor([20.0]), torch.tensor([-20.0])) > smooth.d_loss(torch.tensor([2.2]),
                                                                                      torch.tensor([-20.0]))
    with pytest.raises(GanLibError, match="nonsaturating or minimax"):
        get_loss("hinge", label_smoothing=0.1)
    with pytest.raises(GanLibError, match="between 0 and 0.5"):
        get_loss("nonsaturating", label_smoothing=0.7)
