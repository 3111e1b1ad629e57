"""The exercise checks: reference answers pass; stubs, crashes and the typical wrong answers fail with a hint."""
import copy
import itertools
import math
import time

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gan_lib import checks, sampling, solutions
from gan_lib.models import freeze_blocks, sample_noise


def reference(name):
    """The reference answer of an exercise (models are built fresh)."""
    answer = getattr(solutions, name)
    return answer() if name.endswith("_64") else answer


FAILURE_EXERCISES = ["smoothed_d_loss", "hinge_d_loss", "hinge_g_loss", "looks_collapsed"]  # notebook 06
CONDITIONAL_EXERCISES = ["projection_logit", "one_hot_input"]  # notebook 07
LATENT_EXERCISES = ["slerp", "truncated_noise"]  # notebook 08
TRANSFER_EXERCISES = ["freeze_first", "d_optimizer"]  # notebook 09
FUNCTIONS = ["normalize", "flip", "discriminator_loss", "accuracy", "interpolate", "generator_loss",
             "discriminator_step", "generator_step", "frechet_distance", "kid_mmd",
             *FAILURE_EXERCISES, *CONDITIONAL_EXERCISES, *LATENT_EXERCISES, *TRANSFER_EXERCISES]
MODELS = ["discriminator_64", "generator_64"]
EXERCISES = FUNCTIONS + MODELS


def run(capsys, name, answer):
    """Run check_<name>(answer): (its result, what it printed)."""
    verdict = getattr(checks, f"check_{name}")(answer)
    assert isinstance(verdict, checks.Verdict)
    return bool(verdict), capsys.readouterr().out


def assert_fails(result, out, *phrases):
    assert result is False
    assert out.startswith(("❌ Not yet:", "✏️ Not answered yet")) and "Hint:" in out, out
    for phrase in phrases:
        assert phrase in out, out


@pytest.mark.parametrize("name", EXERCISES)
def test_reference_solution_passes(capsys, name):
    result, out = run(capsys, name, reference(name))
    assert result is True, out
    assert out.startswith("✅ Correct:") and out.count("\n") == 1


@pytest.mark.parametrize("name", EXERCISES)
def test_unanswered_is_reported_kindly(capsys, name):
    assert_fails(*run(capsys, name, None), "Not answered yet")


def _raise_not_implemented(*args):
    raise NotImplementedError


def _raise_value_error(*args):
    raise ValueError("boom")


class _Stub(nn.Module):
    def __init__(self, forward):
        super().__init__()
        self.layer = nn.Linear(1, 1)
        self._forward = forward

    def forward(self, x):
        return self._forward(x)


@pytest.mark.parametrize("name", EXERCISES)
def test_stubs_are_not_answered_and_crashes_are_reported(capsys, name):
    wrap = _Stub if name in MODELS else (lambda fn: fn)
    assert_fails(*run(capsys, name, wrap(lambda *args: None)), "Not answered yet", "returned None")
    assert_fails(*run(capsys, name, wrap(_raise_not_implemented)), "Not answered yet", "NotImplementedError")
    assert_fails(*run(capsys, name, wrap(_raise_value_error)), "❌ Not yet:", "raised ValueError: boom")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_a_value_instead_of_a_function(capsys, name):
    assert_fails(*run(capsys, name, 42), "not a function", "without calling it")


@pytest.mark.parametrize("name", MODELS)
def test_a_class_or_a_function_instead_of_a_model(capsys, name):
    assert_fails(*run(capsys, name, nn.Linear), "got a class", "pass an instance")
    assert_fails(*run(capsys, name, getattr(solutions, name)), "got a function", f"{name}()")
    assert_fails(*run(capsys, name, "model"), "not an nn.Module")


# --- typical wrong answers ----------------------------------------------------------------------

def _in_place_normalize(x):
    x[:, 0] = 0  # changes the caller's images
    return x.float() / 127.5 - 1


def _alternate_flip(x, generator):
    mirror = torch.arange(len(x)) % 2 == 0  # half of them, but always the same half
    return torch.where(mirror.view(-1, 1, 1, 1), x.flip(-1), x)


def _unseeded_flip(x, generator):
    return torch.where((torch.rand(len(x)) < 0.5).view(-1, 1, 1, 1), x.flip(-1), x)


def _flip_without_reshape(x, generator):
    return torch.where(torch.rand(len(x), generator=generator) < 0.5, x.flip(-1), x)


def _bce(logits, label):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


def _d_loss_sigmoid_twice(r, f):
    return _bce(torch.sigmoid(r), 1.0) + _bce(torch.sigmoid(f), 0.0)


def _d_loss_probabilities(r, f):
    return F.binary_cross_entropy(r, torch.ones_like(r)) + F.binary_cross_entropy(f, torch.zeros_like(f))


def _slerp(z1, z2, steps):
    t = torch.linspace(0, 1, steps).view(-1, 1)
    return torch.cos(t * torch.pi / 2) * z1 + torch.sin(t * torch.pi / 2) * z2


def _small_d(strided=4, head=None):
    layers, c = [], 3
    for i in range(strided):
        layers += [nn.Conv2d(c, 8 * 2 ** i, 4, 2, 1), nn.LeakyReLU(0.2)]
        c = 8 * 2 ** i
    size = 64 // 2 ** strided
    return nn.Sequential(*layers, *(head if head is not None else [nn.Flatten(), nn.Linear(c * size * size, 1)]))


class _FixedBatchD(nn.Module):
    def __init__(self):
        super().__init__()
        self.d = _small_d(head=[])
        self.linear = nn.Linear(64 * 4 * 4, 1)

    def forward(self, x):
        return self.linear(self.d(x).view(5, -1))  # only works for batches of 5


def _small_g(doublings=4, tail=None):
    layers, c = [nn.Linear(100, 32 * 4 * 4), nn.Unflatten(1, (32, 4, 4)), nn.ReLU()], 32
    for i in range(doublings - 1):
        layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1), nn.BatchNorm2d(c // 2), nn.ReLU()]
        c //= 2
    return nn.Sequential(*layers, nn.ConvTranspose2d(c, 3, 4, 2, 1), *(tail if tail is not None else [nn.Tanh()]))


def _dcgan_g_for_4d_noise():
    return nn.Sequential(nn.ConvTranspose2d(100, 16, 4, 1, 0), nn.ReLU(), nn.ConvTranspose2d(16, 8, 4, 2, 1), nn.ReLU(),
                         nn.ConvTranspose2d(8, 8, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(8, 8, 4, 2, 1), nn.ReLU(),
                         nn.ConvTranspose2d(8, 3, 4, 2, 1), nn.Tanh())


def _d_step(loss_fn, detach=True, step=True):
    def discriminator_step(G, D, opt_d, real, z):
        fake = G(z).detach() if detach else G(z)
        loss = loss_fn(D(real), D(fake))
        opt_d.zero_grad()
        loss.backward()
        if step:
            opt_d.step()
        return loss
    return discriminator_step


def _d_step_that_trains_g(G, D, opt_d, real, z):
    loss = solutions.discriminator_loss(D(real), D(G(z)))
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    torch.optim.SGD(G.parameters(), lr=0.1).step()
    return loss


def _d_step_freezing_g(G, D, opt_d, real, z):
    G.requires_grad_(False)
    return solutions.discriminator_step(G, D, opt_d, real, z)


def _d_step_stepping_twice(G, D, opt_d, real, z):
    with torch.no_grad():
        fake = G(z)
    loss = solutions.discriminator_loss(D(real), D(fake))
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    opt_d.step()  # two updates instead of one
    return loss


def _g_step(loss_fn, freeze_d=False, unfreeze=True, step_first=False):
    def generator_step(G, D, opt_g, z):
        if freeze_d:
            D.requires_grad_(False)
        loss = loss_fn(D(G(z)))
        opt_g.zero_grad()
        if step_first:  # a step before backward() has no gradients to use
            opt_g.step()
        loss.backward()
        if not step_first:
            opt_g.step()
        if freeze_d and unfreeze:
            D.requires_grad_(True)
        return loss.item()
    return generator_step


def _g_step_with_combined_optimiser(G, D, opt_g, z):
    opt = torch.optim.Adam([*G.parameters(), *D.parameters()], lr=2e-4, betas=(0.5, 0.999))
    loss = solutions.generator_loss(D(G(z)))
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


NOTEBOOK_OPT_D = torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1)  # a notebook's global opt_d


def _g_step_calling_opt_d(G, D, opt_g, z):
    loss = solutions.generator_step(G, D, opt_g, z)
    NOTEBOOK_OPT_D.step()
    return loss


def _g_step_and_g_loss_mismatch(G, D, opt_g, z):
    loss = solutions.generator_loss(D(G(z)))
    opt_g.zero_grad()
    (loss + G(z).pow(2).mean()).backward()  # trains on something else than the loss it returns
    opt_g.step()
    return loss


def _saturating(f):
    return -F.softplus(f).mean()  # log(1 - sigmoid(f))


def _flip_per_pixel(x, generator):
    return torch.where(torch.rand(x.shape, generator=generator) < 0.5, x.flip(-1), x)


def _flip_per_channel(x, generator):
    return torch.where(torch.rand(len(x), 3, 1, 1, generator=generator) < 0.5, x.flip(-1), x)


def _flip_whole_batch(x, generator):
    return x.flip(-1) if torch.rand(1, generator=generator) < 0.5 else x


def _flip_2d_mask(x, generator):
    return torch.where((torch.rand(len(x), generator=generator) < 0.5).view(-1, 1), x.flip(-1), x)


def _d_loss_label_shape(r, f):  # labels shaped (N, 1) as for a D with output (N, 1)
    return (F.binary_cross_entropy_with_logits(r, torch.ones(len(r), 1))
            + F.binary_cross_entropy_with_logits(f, torch.zeros(len(f), 1)))


def _d_loss_long_labels(r, f):
    return (F.binary_cross_entropy_with_logits(r, torch.ones_like(r, dtype=torch.long))
            + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f, dtype=torch.long)))


def _conv_d(channels=(8, 16, 32, 64), padding=1, first_in=3, norm_channels=None, linear_size=4):
    layers, c = [], first_in
    for i, out in enumerate(channels):
        layers += [nn.Conv2d(c if i else first_in, out, 4, 2, padding), nn.LeakyReLU(0.2)]
        c = out
    if norm_channels:
        layers.insert(1, nn.BatchNorm2d(norm_channels))
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * linear_size * linear_size, 1))


def _g_layers(noise=100, c=32, unflatten=(32, 4, 4), first_in=32, doublings=4, padding=1):
    layers = [nn.Linear(noise, c * 4 * 4), nn.Unflatten(1, unflatten), nn.ReLU()]
    c_in = first_in
    for i in range(doublings - 1):
        layers += [nn.ConvTranspose2d(c_in, c // 2, 4, 2, padding), nn.ReLU()]
        c_in = c = c // 2
    return nn.Sequential(*layers, nn.ConvTranspose2d(c_in, 3, 4, 2, padding), nn.Tanh())


def _interpolate_cat(z1, z2, steps):
    return torch.cat([(1 - t) * z1 + t * z2 for t in torch.linspace(0, 1, steps)])


def _interpolate_columns(z1, z2, steps):
    t = torch.linspace(0, 1, steps)
    return z1.view(-1, 1) * (1 - t) + z2.view(-1, 1) * t


def _interpolate_two_dims(z1, z2, steps):
    return z1 + torch.linspace(0, 1, steps).view(-1, 1) * (z2 - z1).view(1, z1.shape[1])


def _lerp(t_of_i):
    def interpolate(z1, z2, steps):
        t = t_of_i(torch.arange(steps), steps).view(-1, 1)
        return (1 - t) * z1 + t * z2
    return interpolate


def _d_step_without_zero_grad(G, D, opt_d, real, z):
    with torch.no_grad():
        fake = G(z)
    loss = solutions.discriminator_loss(D(real), D(fake))
    loss.backward()
    opt_d.step()
    return loss.item()


def _d_step_one_step_per_term(G, D, opt_d, real, z, fresh_logits=True):
    with torch.no_grad():
        fake = G(z)
    if not fresh_logits:  # both terms computed before the first step: the second backward() fails
        losses = [_bce(D(real), 1.0), _bce(D(fake), 0.0)]
    total = 0.0
    for i, (images, label) in enumerate([(real, 1.0), (fake, 0.0)]):
        loss = _bce(D(images), label) if fresh_logits else losses[i]
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()
        total += loss.item()
    return total


def _d_step_all_under_no_grad(G, D, opt_d, real, z):
    with torch.no_grad():
        loss = solutions.discriminator_loss(D(real), D(G(z)))
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
    return loss


def _d_step_and_d_loss_mismatch(G, D, opt_d, real, z):
    with torch.no_grad():
        fake = G(z)
    loss = solutions.discriminator_loss(D(real), D(fake))
    opt_d.zero_grad()
    (loss + D(real).pow(2).mean()).backward()  # trains on something else than the loss it returns
    opt_d.step()
    return loss


def _g_step_without_zero_grad(G, D, opt_g, z):
    loss = solutions.generator_loss(D(G(z)))
    loss.backward()
    opt_g.step()
    return loss.item()


def _g_step_detached_fakes(G, D, opt_g, z):
    loss = solutions.generator_loss(D(G(z).detach()))
    opt_g.zero_grad()
    loss.backward()
    opt_g.step()
    return loss


def _g_step_stepping_twice(G, D, opt_g, z):
    loss = solutions.generator_loss(D(G(z)))
    opt_g.zero_grad()
    loss.backward()
    opt_g.step()
    opt_g.step()
    return loss


def _g_step_with_new_noise(G, D, opt_g, z):
    return solutions.generator_step(G, D, opt_g, torch.randn_like(z))


def _matrix_sqrt(s):
    evals, evecs = torch.linalg.eigh(s)
    return evecs @ torch.diag(evals.clamp(min=0).sqrt()) @ evecs.T


def _trace_sqrt(s1, s2):
    return torch.linalg.eigvals(s1 @ s2).sqrt().real.sum()


def _fd(mean=lambda m1, m2: ((m1 - m2) ** 2).sum(), root=_trace_sqrt, factor=-2.0):
    """A Fréchet distance mean(mu1, mu2) + Tr(S1) + Tr(S2) + factor * root(S1, S2), right with the defaults."""
    def frechet_distance(mu1, sigma1, mu2, sigma2):
        return mean(mu1, mu2) + sigma1.trace() + sigma2.trace() + factor * root(sigma1, sigma2)
    return frechet_distance


def _fd_complex(mu1, sigma1, mu2, sigma2):
    root = torch.linalg.eigvals(sigma1 @ sigma2).sqrt().sum()  # complex, without .real
    return ((mu1 - mu2) ** 2).sum() + sigma1.trace() + sigma2.trace() - 2 * root


def _kid(degree=3, scale=None, biased=False, pairs_n2=False, factor=2.0, cross_off_diagonal=False):
    """An MMD^2 estimate with kernel (a.b / scale + 1)^degree, right with the defaults."""
    def kid_mmd(x, y):
        d = scale(x) if scale else x.shape[1]
        k_xx, k_yy, k_xy = [(a @ b.T / d + 1) ** degree for a, b in ((x, x), (y, y), (x, y))]

        def distinct(k):
            n, m = k.shape
            pairs = n * m if pairs_n2 else n * m - min(n, m)
            return (k.sum() - k.diagonal().sum()) / pairs

        cross = distinct(k_xy) if cross_off_diagonal else k_xy.mean()
        within = (k_xx.mean() + k_yy.mean()) if biased else distinct(k_xx) + distinct(k_yy)
        return within - factor * cross
    return kid_mmd


WRONG = [
    ("normalize", lambda x: x.float() / 255, "[0, 1]"),
    ("normalize", lambda x: x.float() / 127.5, "subtract 1"),
    ("normalize", lambda x: x // 2, "not a float type"),
    ("normalize", lambda x: x.div_(127.5), "uint8 tensors can't hold fractions"),
    ("normalize", _in_place_normalize, "input tensor was changed"),
    ("normalize", lambda x: (x.float() / 127.5 - 1)[0], "shape changed"),
    ("normalize", lambda x: 1 - x.float() / 127.5, "range is reversed"),
    ("normalize", lambda x: x.float() / 127.5 + 1, "subtract 1, don't add it"),
    ("normalize", lambda x: (x.float() - 127.5) / 255, "not by 255"),
    ("normalize", lambda x: x.float() - 127.5, "now divide by 127.5"),
    ("normalize", lambda x: x.float() / 128 - 1, "exactly 127.5"),
    ("normalize", lambda x: (x.float() - 128) / 128, "exactly 127.5"),
    ("normalize", lambda x: (x.float() - x.float().mean()) / x.float().std(), "standardises"),
    ("flip", lambda x, g: x.clone(), "no image was mirrored"),
    ("flip", lambda x, g: x.flip(-1), "every image was mirrored"),
    ("flip", lambda x, g: x.flip(-2) if torch.rand((), generator=g) < 2 else x, "upside down"),
    ("flip", lambda x, g: x.flip(0), "order of the batch"),
    ("flip", _alternate_flip, "fixed pattern"),
    ("flip", _unseeded_flip, "generator=generator"),
    ("flip", _flip_without_reshape, "(N, 1, 1, 1)"),
    ("flip", _flip_2d_mask, "(N, 1, 1, 1)"),
    ("flip", _flip_per_pixel, "one coin per image, not per pixel"),
    ("flip", _flip_per_channel, "one coin per image, not per pixel"),
    ("flip", _flip_whole_batch, "one coin for the whole batch"),
    ("discriminator_loss", lambda r, f: _bce(r, 1.0), "add the fake term"),
    ("discriminator_loss", lambda r, f: _bce(r, 0.0) + _bce(f, 1.0), "labels are swapped"),
    ("discriminator_loss", _d_loss_sigmoid_twice, "sigmoid is applied twice"),
    ("discriminator_loss", _d_loss_probabilities, "binary_cross_entropy_with_logits"),
    ("discriminator_loss", lambda r, f: (F.softplus(-r) + F.softplus(f)).sum(), "don't sum"),
    ("discriminator_loss", lambda r, f: torch.tensor(solutions.discriminator_loss(r, f).item()), "can't differentiate"),
    ("discriminator_loss", lambda r, f: solutions.discriminator_loss(r, f).item(), "no .item()"),
    ("discriminator_loss", lambda r, f: _bce(r, 1.0) + _bce(f.detach(), 0.0), "no gradient reaches the fake"),
    ("discriminator_loss", lambda r, f: F.softplus(-r) + F.softplus(f), "not a single number"),
    ("discriminator_loss", lambda r, f: _bce(f, 0.0), "add the real term"),
    ("discriminator_loss", lambda r, f: _bce(r, 1.0) + _bce(f, 1.0), "both batches got label 1"),
    ("discriminator_loss", lambda r, f: _bce(r, 0.0) + _bce(f, 0.0), "both batches got label 0"),
    ("discriminator_loss", lambda r, f: -(_bce(r, 1.0) + _bce(f, 0.0)), "check the sign"),
    ("discriminator_loss", lambda r, f: _bce(r, 1.0) - _bce(f, 0.0), "fake term is subtracted"),
    ("discriminator_loss", lambda r, f: _bce(f, 0.0) - _bce(r, 1.0), "real term is subtracted"),
    ("discriminator_loss", lambda r, f: F.relu(1 - r).mean() + F.relu(1 + f).mean(), "hinge loss"),
    ("discriminator_loss", _d_loss_label_shape, "the labels must have the logits' shape"),
    ("discriminator_loss", _d_loss_long_labels, "the labels must be floats"),
    ("discriminator_loss", lambda r, f: (_bce(r, 1.0), _bce(f, 0.0)), "real_loss + fake_loss"),
    ("accuracy", lambda r, f: ((r < 0).sum() + (f > 0).sum()).item() / 12, "swapped"),
    ("accuracy", lambda r, f: (r > 0).float().mean().item(), "only the real images"),
    ("accuracy", lambda r, f: ((r > 0).sum() + (f < 0).sum()).item(), "number of right verdicts"),
    ("accuracy", lambda r, f: ((r > 0.5).sum() + (f < 0.5).sum()).item() / 12, "threshold"),
    ("accuracy", lambda r, f: ((r > 0).sum() + (f < 0).sum()) / 12, ".item()"),
    ("accuracy", lambda r, f: torch.cat([r > 0, f < 0]).mean(), ".float()"),
    ("accuracy", lambda r, f: ((r < 0).sum() + (f > 0).sum()) / 12, "real and fake are swapped"),  # a tensor too
    ("accuracy", lambda r, f: ((r > 0).sum() + (f > 0).sum()).item() / 12, "fakes are right when their logit is < 0"),
    ("accuracy", lambda r, f: ((r < 0).sum() + (f < 0).sum()).item() / 12, "real images are right when"),
    ("accuracy", lambda r, f: (f < 0).float().mean().item(), "only the fake images"),
    ("accuracy", lambda r, f: ((torch.sigmoid(r) > 0).sum() + (torch.sigmoid(f) < 0).sum()).item() / 12,
     "probabilities are always > 0"),
    ("accuracy", lambda r, f: ((r > 0).sum() + (f < 0).sum()).item() / len(r), "not in one"),
    ("accuracy", lambda r, f: (r > 0).float().mean().item() + (f < 0).float().mean().item(), "not in one"),
    ("accuracy", lambda r, f: (r > 0).sum().item() + (f < 0).sum().item() / 12, "mind the brackets"),
    ("accuracy", lambda r, f: 100 * ((r > 0).sum() + (f < 0).sum()).item() / 12, "not a percentage"),
    ("accuracy", lambda r, f: ((r > 0).sum() + (f < 0).sum()).item() // 12, "integer division"),
    ("accuracy", lambda r, f: torch.cat([r > 0, f < 0]).float(), "tensor of shape (12,)"),
    ("discriminator_64", nn.Sequential(_small_d(), nn.Sigmoid()), "sigmoid"),
    ("discriminator_64", _small_d(strided=2), "found 2 Conv2d"),
    ("discriminator_64", _small_d(head=[nn.Conv2d(64, 1, 4)]), "flatten"),
    ("discriminator_64", _small_d(head=[nn.Flatten(), nn.Linear(64 * 16, 2)]), "single output"),
    ("discriminator_64", _small_d(head=[nn.Flatten(), nn.Linear(64, 1)]), "in_features"),
    ("discriminator_64", _small_d(head=[nn.Conv2d(64, 1, 4), nn.Flatten()]), "not nn.Linear"),
    ("discriminator_64", _FixedBatchD(), "don't hard-code the batch size"),
    ("discriminator_64", nn.Sequential(_small_d(), nn.ReLU()), "cuts off the negative logits"),
    ("discriminator_64", nn.Sequential(_small_d(), nn.LeakyReLU(0.2, inplace=True)), "no activation after the final"),
    ("discriminator_64", nn.Sequential(_small_d(), nn.Softmax(dim=1)), "softmax over one output"),
    ("discriminator_64", _small_d(head=[nn.Linear(64 * 16, 1)]), "put nn.Flatten() before it"),
    ("discriminator_64", _conv_d(padding=0), "kernel_size=4, stride=2, padding=1"),
    ("discriminator_64", _conv_d(channels=(8, 16, 32, 64, 64)), "the last feature maps are 2x2"),
    ("discriminator_64", _conv_d(first_in=1), "3 channels (RGB)"),
    ("discriminator_64", _conv_d(norm_channels=16), "BatchNorm2d(n)"),
    ("generator_64", _small_g(doublings=3), "one more upsampling"),
    ("generator_64", _small_g(tail=[]), "nn.Tanh()"),
    ("generator_64", _small_g(tail=[nn.Sigmoid()]), "nn.Tanh()"),
    ("generator_64", _dcgan_g_for_4d_noise(), "nn.Unflatten"),
    ("generator_64", nn.Sequential(nn.Linear(100, 3 * 64 * 64), nn.Unflatten(1, (3, 64, 64)), nn.Tanh()),
     "no upsampling layer"),
    ("generator_64", _small_g(doublings=2), "add 2 more upsampling blocks"),
    ("generator_64", _small_g(doublings=5), "one upsampling block too many"),
    ("generator_64", _small_g(tail=[nn.Sigmoid()]), "nn.Sigmoid gives [0, 1]"),
    ("generator_64", _g_layers(padding=0), "doubles the size exactly"),
    ("generator_64", _g_layers(noise=128), "nn.Linear(100, C * 4 * 4)"),
    ("generator_64", _g_layers(unflatten=(32, 8, 8)), "needs exactly C * 4 * 4 features"),
    ("generator_64", _g_layers(first_in=64), "in_channels must equal the out_channels"),
    ("interpolate", lambda a, b, n: torch.stack([a, b]), "shape"),
    ("interpolate", lambda a, b, n: a + (torch.arange(n) / n).view(-1, 1) * (b - a), "linspace(0, 1, steps) includes"),
    ("interpolate", lambda a, b, n: b + torch.linspace(0, 1, n).view(-1, 1) * (a - b), "from z2 to z1"),
    ("interpolate", _slerp, "not a straight line"),
    ("interpolate", lambda a, b, n: (1 - torch.linspace(0, 1, n)) * a + torch.linspace(0, 1, n) * b,
     "t must be shaped (steps, 1) so it broadcasts over latent_dim"),
    ("interpolate", lambda a, b, n: torch.lerp(a, b, torch.linspace(0, 1, n).view(1, -1)), "shaped (steps, 1)"),
    ("interpolate", _interpolate_two_dims, "not (1, latent_dim)"),
    ("interpolate", lambda a, b, n: [(1 - t) * a + t * b for t in torch.linspace(0, 1, n)], "torch.stack(rows)"),
    ("interpolate", _interpolate_cat, "torch.cat joins the vectors end to end"),
    ("interpolate", lambda a, b, n: a + torch.linspace(0, 1, n).view(-1, 1, 1) * (b - a), "one dimension too many"),
    ("interpolate", _interpolate_columns, "rows and columns are swapped"),
    ("interpolate", lambda a, b, n: a + torch.linspace(0, 1, n - 1).view(-1, 1) * (b - a), "one row short"),
    ("interpolate", lambda a, b, n: a + torch.linspace(0, 1, n + 1).view(-1, 1) * (b - a), "one row too many"),
    ("interpolate", _lerp(lambda i, n: (i + 1) / n), "the first row must be z1 itself"),
    ("interpolate", _lerp(lambda i, n: torch.linspace(0, 1, n + 1)[:-1]), "the last row must be z2 itself"),
    ("interpolate", lambda a, b, n: a + torch.linspace(0, 1, n).view(-1, 1) * (a - b), "the direction is z2 - z1"),
    ("interpolate", lambda a, b, n: a + torch.linspace(0, 1, n).view(-1, 1) * (b + a), "check the sign"),
    ("interpolate", lambda a, b, n: a + torch.linspace(0, 1, n).view(-1, 1) * b, "z1 must fade out"),
    ("generator_loss", _saturating, "saturating loss"),
    ("generator_loss", lambda f: _bce(f, 0.0), "use label 1"),
    ("generator_loss", lambda f: F.logsigmoid(f).mean(), "check the sign"),
    ("generator_loss", lambda f: _bce(torch.sigmoid(f), 1.0), "sigmoid is applied twice"),
    ("generator_loss", lambda f: F.softplus(-f).sum(), "don't sum"),
    ("generator_loss", lambda f: _bce(f.detach(), 1.0), "can't differentiate"),
    ("generator_loss", lambda f: -f.mean(), "WGAN / hinge generator loss"),
    ("generator_loss", lambda f: -torch.sigmoid(f).mean(), "take the log"),
    ("generator_loss", lambda f: ((f - 1) ** 2).mean(), "squared error (LSGAN)"),
    ("generator_loss", lambda f: F.binary_cross_entropy_with_logits(f, torch.ones(len(f), 1)), "the logits' shape"),
    ("generator_loss", lambda f: solutions.generator_loss(f).item(), "no .item()"),
    ("discriminator_step", _d_step(solutions.discriminator_loss, detach=False), "G's parameters received gradients"),
    ("discriminator_step", _d_step(lambda r, f: solutions.discriminator_loss(f, r)), "labels are swapped"),
    ("discriminator_step", _d_step(lambda r, f: _bce(r, 1.0)), "add the fake term"),
    ("discriminator_step", _d_step(solutions.discriminator_loss, step=False), "opt_d.step() was never called"),
    ("discriminator_step", _d_step(lambda r, f: -solutions.discriminator_loss(r, f)), "check the sign"),
    ("discriminator_step", _d_step_that_trains_g, "G's weights changed"),
    ("discriminator_step", _d_step_freezing_g, "no longer require grad"),
    ("discriminator_step", _d_step_stepping_twice, "opt_d.step() was called 2 times"),
    ("discriminator_step", _d_step_one_step_per_term, "opt_d.step() was called 2 times"),
    ("discriminator_step", lambda *args: _d_step_one_step_per_term(*args, fresh_logits=False), "backward() once"),
    ("discriminator_step", _d_step(solutions.discriminator_loss, step=False), "opt_d.step() was never called"),
    ("discriminator_step", _d_step_without_zero_grad, "call opt_d.zero_grad() before loss.backward()"),
    ("discriminator_step", _d_step_all_under_no_grad, "only G(z) goes under torch.no_grad()"),
    ("discriminator_step", _d_step(lambda r, f: _bce(r, 1.0) + _bce(f, 1.0)), "both batches got label 1"),
    ("discriminator_step", _d_step(_d_loss_sigmoid_twice), "sigmoid is applied twice"),
    ("discriminator_step", _d_step(lambda r, f: (F.softplus(-r) + F.softplus(f)).sum()), "don't sum"),
    ("discriminator_step", _d_step(_d_loss_label_shape), "the labels must have the logits' shape"),
    ("discriminator_step", _d_step_and_d_loss_mismatch, "differ from those after one Adam step"),
    ("generator_step", _g_step_with_combined_optimiser, "D's weights changed"),
    ("generator_step", _g_step_calling_opt_d, "other than opt_g"),
    ("generator_step", _g_step(_saturating), "saturating loss"),
    ("generator_step", _g_step(lambda f: _bce(f, 0.0)), "use label 1"),
    ("generator_step", _g_step(lambda f: _bce(f.detach(), 1.0)), "does not require grad"),
    ("generator_step", _g_step(solutions.generator_loss, step_first=True), "a step before backward()"),
    ("generator_step", _g_step(solutions.generator_loss, freeze_d=True, unfreeze=False), "no longer require grad"),
    ("generator_step", _g_step(lambda f: -f.mean()), "expected"),  # the hinge/WGAN loss: a different loss
    ("generator_step", _g_step_and_g_loss_mismatch, "differ from those after one Adam step"),
    ("generator_step", _g_step_without_zero_grad, "call opt_g.zero_grad() before loss.backward()"),
    ("generator_step", _g_step_detached_fakes, "no gradient reached G: don't detach the fakes"),
    ("generator_step", _g_step_stepping_twice, "opt_g.step() was called 2 times"),
    ("generator_step", _g_step(lambda f: _bce(torch.sigmoid(f), 1.0)), "sigmoid is applied twice"),
    ("generator_step", _g_step(lambda f: F.logsigmoid(f).mean()), "check the sign"),
    ("generator_step", _g_step(lambda f: -f.mean()), "WGAN / hinge generator loss"),
    ("generator_step", _g_step_with_new_noise, "on the z you are given"),
    ("frechet_distance", _fd(mean=lambda m1, m2: 0.0), "the mean term is missing"),
    ("frechet_distance", _fd(mean=lambda m1, m2: (m1 - m2).norm()), "without a square root"),
    ("frechet_distance", _fd(factor=-1.0), "the factor 2 is missing"),
    ("frechet_distance", _fd(factor=2.0), "check the sign"),
    ("frechet_distance", _fd(root=lambda s1, s2: torch.sqrt(s1 @ s2).trace()), "takes the square root of each entry"),
    ("frechet_distance", _fd(root=lambda s1, s2: torch.sqrt(s1 * s2).trace()), "multiplies entry by entry"),
    ("frechet_distance", _fd(root=lambda s1, s2: (_matrix_sqrt(s1) @ _matrix_sqrt(s2)).trace()),
     "not the product of the square roots"),
    ("frechet_distance", _fd(root=lambda s1, s2: (s1 @ s2).trace().sqrt()), "the square root of the trace"),
    ("frechet_distance", lambda m1, s1, m2, s2: ((m1 - m2) ** 2).sum() + ((s1 - s2) ** 2).sum(),
     "not standard deviations"),
    ("frechet_distance", _fd_complex, "complex"),
    ("frechet_distance", lambda m1, s1, m2, s2: complex(_fd_complex(m1, s1, m2, s2)), "complex number"),
    ("frechet_distance", lambda m1, s1, m2, s2: (m1 - m2) ** 2 + s1.trace() + s2.trace() - 2 * _trace_sqrt(s1, s2),
     "returned a tensor of shape (3,), not one number"),
    ("frechet_distance", _fd(root=lambda s1, s2: torch.linalg.eigvalsh(s1 @ s2).sqrt().sum()), "not symmetric"),
    ("frechet_distance", lambda m1, s1, m2, s2: float("nan"), "a square root of a negative number"),
    ("frechet_distance", lambda m1, s1, m2, s2: _fd()(m1.float(), s1.float(), m2, s2), "inputs' dtype (float64)"),
    ("kid_mmd", _kid(biased=True), "the biased estimate"),
    ("kid_mmd", _kid(pairs_n2=True), "n * (n - 1) distinct pairs"),
    ("kid_mmd", _kid(degree=2), "not ** 2"),
    ("kid_mmd", _kid(degree=1), "linear kernel"),
    ("kid_mmd", _kid(scale=lambda x: 1), "divide the dot product by d"),
    ("kid_mmd", _kid(scale=len), "not the number of samples"),
    ("kid_mmd", _kid(factor=1.0), "the factor 2 is missing"),
    ("kid_mmd", _kid(factor=-2.0), "the cross term is subtracted"),
    ("kid_mmd", lambda x, y: -_kid()(x, y), "the within-set means are added"),
    ("kid_mmd", _kid(cross_off_diagonal=True), "the cross term uses all n * m pairs"),
    ("kid_mmd", lambda x, y: (x @ y + 1) ** 3, "x @ y.T"),
    ("kid_mmd", lambda x, y: (x @ y.T / x.shape[1] + 1) ** 3, "not one number"),
]


@pytest.mark.parametrize("name, answer, phrase", WRONG, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(WRONG)])
def test_wrong_answer_fails_with_a_hint(capsys, name, answer, phrase):
    assert_fails(*run(capsys, name, answer), "❌ Not yet:", phrase)


def test_equivalent_answers_pass(capsys):
    # Averaging the two D terms (BCE over both batches at once) is also accepted, with a note.
    result, out = run(capsys, "discriminator_loss", lambda r, f: solutions.discriminator_loss(r, f) / 2)
    assert result is True and "averaged" in out
    # Real and fake through D in one batch (the averaged loss); verdicts from probabilities.
    def d_step_one_batch(G, D, opt_d, real, z):
        logits = D(torch.cat([real, G(z).detach()]))
        loss = F.binary_cross_entropy_with_logits(logits, torch.cat([torch.ones(len(real)), torch.zeros(len(z))]))
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()
        return loss
    assert run(capsys, "discriminator_step", d_step_one_batch)[0] is True
    assert run(capsys, "interpolate", lambda a, b, n: solutions.interpolate(a.double(), b.double(), n))[0] is True
    assert run(capsys, "accuracy", lambda r, f: ((torch.sigmoid(r) > 0.5).float().sum()
                                                 + (torch.sigmoid(f) < 0.5).float().sum()).item() / 12)[0] is True
    # The PyTorch DCGAN-tutorial style G step leaves D unfrozen: fine, with a tip about opt_d.zero_grad().
    result, out = run(capsys, "generator_step", _g_step(solutions.generator_loss))
    assert result is True and "Tip" in out
    # A generator that ends with functional tanh, and a discriminator whose output is (N,).
    class G(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = _small_g(tail=[])

        def forward(self, z):
            return torch.tanh(self.net(z))
    assert run(capsys, "generator_64", G())[0] is True
    assert run(capsys, "discriminator_64", nn.Sequential(_small_d(), nn.Flatten(0)))[0] is True


def _d_step_zeroing_d(G, D, opt_d, real, z):
    fake = G(z).detach()
    D.zero_grad()  # instead of opt_d.zero_grad(): the same
    loss = nn.BCEWithLogitsLoss()(torch.cat([D(real), D(fake)]), torch.cat([torch.ones(len(real)),
                                                                          torch.zeros(len(fake))]))
    loss.backward()
    opt_d.step()
    return {"loss_d": loss.detach(), "d_real": 0.5}


def _g_step_returning_dict(G, D, opt_g, z):
    opt_g.zero_grad()
    loss = -F.logsigmoid(D(G(z))).mean()
    loss.backward()
    opt_g.step()
    return {"loss_g": loss}


EQUIVALENT = [
    ("normalize", lambda x: (x.float() - 127.5) / 127.5),
    ("normalize", lambda x: x.double() * 2 / 255 - 1),
    ("flip", lambda x, g: torch.where((torch.rand(len(x), generator=g) > 0.5)[:, None, None, None], x.flip(3), x)),
    ("discriminator_loss", lambda r, f: -(F.logsigmoid(r).mean() + F.logsigmoid(-f).mean())),
    ("accuracy", lambda r, f: torch.cat([r > 0, f < 0]).float().mean().item()),
    ("accuracy", lambda r, f: float(((r > 0).sum() + (f < 0).sum()) / (len(r) + len(f)))),
    ("interpolate", lambda a, b, n: torch.stack([a + i / (n - 1) * (b - a) for i in range(n)])),
    ("interpolate", lambda a, b, n: torch.lerp(a.expand(n, -1), b.expand(n, -1), torch.linspace(0, 1, n)[:, None])),
    ("interpolate", lambda a, b, n: a + torch.linspace(0, 1, n).unsqueeze(1) * (b - a)),
    ("generator_loss", lambda f: -F.logsigmoid(f).mean()),
    ("discriminator_step", _d_step_zeroing_d),
    ("generator_step", _g_step_returning_dict),
    ("frechet_distance", lambda m1, s1, m2, s2: float(solutions.frechet_distance(m1, s1, m2, s2))),
    ("frechet_distance", lambda m1, s1, m2, s2: solutions.frechet_distance(m1, s1, m2, s2) + 1e-9),  # rounding
    ("kid_mmd", lambda x, y: solutions.kid_mmd(x.double(), y.double())),
]


@pytest.mark.parametrize("name, answer", EQUIVALENT, ids=[f"{n}-{i}" for i, (n, _) in enumerate(EQUIVALENT)])
def test_other_right_answers_pass(capsys, name, answer):
    result, out = run(capsys, name, answer)
    assert result is True, out


def test_pytorch_hint_is_not_repeated(capsys):
    answer = lambda *args: _d_step_one_step_per_term(*args, fresh_logits=False)  # noqa: E731
    result, out = run(capsys, "discriminator_step", answer)
    assert result is False and out.count("Hint:") == 1, out


def test_checks_leave_the_notebook_alone(capsys):
    model = solutions.discriminator_64()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    threads = torch.get_num_threads()

    def run_checks():
        assert checks.check_discriminator_64(model) and checks.check_flip(solutions.flip)
        assert not checks.check_flip(_raise_value_error)
        return capsys.readouterr().out

    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    first = run_checks()
    assert torch.equal(torch.rand(3), expected_next), "the notebook's random numbers are untouched"
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items()), "the model (and BN stats) too"
    assert torch.get_num_threads() == threads
    assert run_checks() == first, "same output every run (nbval compares it)"


def test_checks_work_inside_no_grad(capsys):
    with torch.no_grad():
        assert checks.check_discriminator_loss(solutions.discriminator_loss)
        assert checks.check_generator_step(solutions.generator_step)


def test_each_check_is_fast(capsys):
    torch.optim.Adam(nn.Linear(1, 1).parameters())  # the first optimiser of a process imports torch._dynamo (~1 s)
    for name in EXERCISES:
        answer = reference(name)
        start = time.perf_counter()
        assert getattr(checks, f"check_{name}")(answer)
        assert time.perf_counter() - start < 1.0, name


def test_judging_references_agree_with_torchmetrics():
    """The notebook-05 answers give the numbers of the library's (torchmetrics') FD and KID."""
    from gan_lib import metrics

    g = torch.Generator().manual_seed(0)
    f = torch.randn(200, 5, generator=g, dtype=torch.float64) @ torch.randn(5, 5, generator=g, dtype=torch.float64)
    r = torch.randn(200, 5, generator=g, dtype=torch.float64) * 1.3 + 0.5
    stats = [(x.mean(0), torch.cov(x.T)) for x in (f, r)]  # unbiased covariance, as torchmetrics
    assert solutions.frechet_distance(*stats[0], *stats[1]) == pytest.approx(metrics.frechet_distance(f, r), rel=1e-4)
    # KID over one "subset" holding every sample is exactly the unbiased MMD^2 of the whole sets
    kid, _ = metrics.kernel_inception_distance(f.float(), r.float(), subsets=1, subset_size=200)
    assert solutions.kid_mmd(f.float(), r.float()) == pytest.approx(kid, rel=1e-3)


def test_frechet_check_maths_matches_the_worked_examples():
    """The check's eigenvalue route gives the hand-worked values of its cases (1-D, diagonal, 2 x 2)."""
    t = lambda *v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    cases = [((t(1.0), t([4.0]), t(-2.0), t([0.25])), 11.25),
             ((t(0.0, 1.0, 2.0), torch.diag(t(1.0, 4.0, 9.0)), t(1.0, 1.0, 0.0), torch.diag(t(4.0, 1.0, 1.0))), 11.0),
             ((t(0.0, 2.0), t([2.0, 1.0], [1.0, 2.0]), t(0.0, 0.0), t([1.0, 1.0], [1.0, 3.0])), 4.2802)]
    for args, by_hand in cases:
        expected, mistakes = checks._frechet_mistakes(*args)
        assert expected == pytest.approx(by_hand, abs=1e-4)
        assert solutions.frechet_distance(*args) == pytest.approx(by_hand, abs=1e-4)
    # on the 2 x 2 case the right answer and every typical mistake differ, so each gets its own hint
    expected, mistakes = checks._frechet_mistakes(*cases[2][0])
    values = [expected, *(v for v, _ in mistakes)]
    assert min(abs(a - b) for a, b in itertools.combinations(values, 2)) > 1e-3


def test_kid_check_maths_agrees_and_tells_mistakes_apart():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 2.0]])  # the check's small example
    y = torch.tensor([[0.0, 0.0], [2.0, 1.0], [1.0, -1.0]])
    expected, mistakes = checks._mmd_mistakes(x, y)
    assert checks._mmd_by_hand(x.tolist(), y.tolist()) == pytest.approx(expected, rel=1e-12)
    assert solutions.kid_mmd(x, y) == pytest.approx(expected, rel=1e-6)
    values = [expected, *(v for v, _ in mistakes)]
    assert min(abs(a - b) for a, b in itertools.combinations(values, 2)) > 1e-3


# --- 06 when GANs fail --------------------------------------------------------------------------

def _target(logits, value):
    """BCE of logits against one target value, averaged."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, value))


def _smoothed_sum(r, f, smoothing=0.1):
    return (F.binary_cross_entropy_with_logits(r, torch.full_like(r, 1 - smoothing), reduction="sum")
            + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f), reduction="sum"))


def _diversity_ratio(samples, photos):
    from gan_lib.callbacks import diversity

    return diversity(samples) / diversity(photos)


WRONG_06 = [
    ("smoothed_d_loss", lambda r, f, s=0.1: -(_target(r, 1 - s) + _target(f, 0.0)), "wrong sign"),
    ("smoothed_d_loss", lambda r, f, s=0.1: _target(r, 1 - s) + _target(f, s), "applied to the fakes too"),
    ("smoothed_d_loss", lambda r, f, s=0.1: _target(r, 1.0) + _target(f, s), "the smoothing went on the fakes"),
    ("smoothed_d_loss", _smoothed_sum, "don't sum"),
    ("smoothed_d_loss", lambda r, f, s=0.1: _target(r, 1.0) + _target(f, 0.0), "no smoothing yet"),
    ("smoothed_d_loss", lambda r, f, s=0.1: _target(r, s) + _target(f, 0.0), "not smoothing (0.1)"),
    ("smoothed_d_loss", lambda r, f, s=0.1: (1 - s) * _target(r, 1.0) + _target(f, 0.0),
     "smooth the label, not the loss"),
    ("smoothed_d_loss", lambda r, f, s=0.1: _target(r, 0.9) + _target(f, 0.0), "use the smoothing argument"),
    ("smoothed_d_loss", lambda r, f, s=0.1: _target(r, 0.0) + _target(f, 1 - s), "labels are swapped"),
    ("smoothed_d_loss", lambda r, f, s=0.1: _target(torch.sigmoid(r), 1 - s) + _target(torch.sigmoid(f), 0.0),
     "sigmoid is applied twice"),
    ("smoothed_d_loss", lambda r, f: _target(r, 0.9) + _target(f, 0.0),
     "def smoothed_d_loss(real_logits, fake_logits, smoothing=0.1)"),
    ("smoothed_d_loss", lambda r, f, s=0.1: (_target(r, 1 - s) + _target(f, 0.0)).item(), "no .item()"),
    ("hinge_d_loss", lambda r, f: (1 - r).mean() + (1 + f).mean(), "the relu is missing"),
    ("hinge_d_loss", lambda r, f: -(F.relu(1 - r).mean() + F.relu(1 + f).mean()), "wrong sign"),
    ("hinge_d_loss", lambda r, f: F.relu(1 + r).mean() + F.relu(1 - f).mean(), "wrong signs"),
    ("hinge_d_loss", lambda r, f: F.relu(1 - r).sum() + F.relu(1 + f).sum(), "don't sum"),
    ("hinge_d_loss", lambda r, f: F.relu(1 - r.mean()) + F.relu(1 + f.mean()), "apply the relu to each logit"),
    ("hinge_d_loss", lambda r, f: F.relu(-r).mean() + F.relu(f).mean(), "the margin is missing"),
    ("hinge_d_loss", lambda r, f: F.relu(1 - r).mean(), "add the fakes' term"),
    ("hinge_d_loss", lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean(), "that is the BCE loss"),
    ("hinge_d_loss", lambda r, f: F.relu(1 - r) + F.relu(1 + f), "not a single number"),
    ("hinge_g_loss", lambda f: f.mean(), "wrong sign"),
    ("hinge_g_loss", lambda f: -f.sum(), "don't sum"),
    ("hinge_g_loss", lambda f: F.relu(1 - f).mean(), "no relu for G"),
    ("hinge_g_loss", lambda f: F.relu(1 + f).mean(), "D's term for the fakes"),
    ("hinge_g_loss", lambda f: F.softplus(-f).mean(), "non-saturating"),
    ("hinge_g_loss", lambda f: -f.detach().mean(), "can't differentiate"),
    ("looks_collapsed", lambda s, p, r=0.5: _diversity_ratio(s, p) > r, "wrong way round"),
    ("looks_collapsed", lambda s, p, r=0.5: 1 / _diversity_ratio(s, p) < r, "upside down"),
    ("looks_collapsed", lambda s, p, r=0.5: _diversity_ratio(s, p) < 0.5, "use the ratio argument"),
    ("looks_collapsed", lambda s, p, r=0.5: torch.tensor(_diversity_ratio(s, p) < r), "returned a tensor"),
    ("looks_collapsed", lambda s, p, r=0.5: (s.std(0).mean() / p.std(0).mean()) < r, "returned a tensor"),
    ("looks_collapsed", lambda s, p, r=0.5: _diversity_ratio(s, p), "not True or False"),
    ("looks_collapsed", lambda s, p, r: _diversity_ratio(s, p) < r, "def looks_collapsed(samples, photos, ratio=0.5)"),
]


@pytest.mark.parametrize("name, answer, phrase", WRONG_06, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(WRONG_06)])
def test_06_wrong_answer_fails_with_a_hint(capsys, name, answer, phrase):
    assert_fails(*run(capsys, name, answer), "❌ Not yet:", phrase)


EQUIVALENT_06 = [
    ("smoothed_d_loss", lambda r, f, smoothing=0.1: -((1 - smoothing) * F.logsigmoid(r)
                                                      + smoothing * F.logsigmoid(-r)).mean() - F.logsigmoid(-f).mean()),
    ("hinge_d_loss", lambda r, f: torch.clamp(1 - r, min=0).mean() + torch.clamp(1 + f, min=0).mean()),
    ("hinge_g_loss", lambda f: -torch.mean(f)),
    ("looks_collapsed", lambda s, p, r=0.5: bool(_diversity_ratio(s, p) < r)),
    ("looks_collapsed", lambda s, p, r=0.5: (s.std(0).mean() / p.std(0).mean() < r).item()),
]


@pytest.mark.parametrize("name, answer", EQUIVALENT_06, ids=[f"{n}-{i}" for i, (n, _) in enumerate(EQUIVALENT_06)])
def test_06_other_right_answers_pass(capsys, name, answer):
    result, out = run(capsys, name, answer)
    assert result is True, out


# --- 07 conditional GANs ------------------------------------------------------------------------

def _unconditional(h, classify):
    return classify(h).squeeze(1)


def _projection(h, labels, embed):
    return (embed(labels) * h).sum(dim=1)


def _projection_detached(part):
    """The right logit, with one of its pieces cut off from autograd."""
    def projection_logit(h, labels, classify, embed):
        h = h.detach() if part == "h" else h
        e = embed(labels).detach() if part == "embed" else embed(labels)
        c = classify(h).detach() if part == "classify" else classify(h)
        return c.squeeze(1) + (e * h).sum(dim=1)
    return projection_logit


def _old_torch_cat(z, labels, num_classes):
    # What torch.cat([z, F.one_hot(labels, num_classes)], dim=1) raised before PyTorch promoted dtypes in cat.
    raise RuntimeError("Expected object of scalar type Float but got scalar type Long for sequence element 1")


def _one_hot_into_buffer(z, labels, num_classes):
    out = z.new_zeros(len(z), z.shape[1] + num_classes)
    out[:, :z.shape[1]] = z
    out[torch.arange(len(z)), z.shape[1] + labels] = 1
    return out


def _one_hot_changing_z(z, labels, num_classes):
    out = torch.cat([z, F.one_hot(labels, num_classes).float()], dim=1)
    z.zero_()  # changes the caller's z, but the result is already right (not required)
    return out


WRONG_07 = [
    ("projection_logit", lambda h, l, c, e: c(h) + _projection(h, l, e).unsqueeze(1), "not (N, 1)"),
    ("projection_logit", lambda h, l, c, e: c(h) + _projection(h, l, e), "N x N"),
    ("projection_logit", lambda h, l, c, e: (c(h) + (e(l) * h).sum(dim=1, keepdim=True)).squeeze(),
     "the batch's too when N = 1"),
    ("projection_logit", lambda h, l, c, e: _projection(h, l, e), "the unconditional term is missing"),
    ("projection_logit", lambda h, l, c, e: _unconditional(h, c), "the projection term is missing"),
    ("projection_logit", lambda h, l, c, e: _unconditional(h, c) + (e(l) * h).sum(dim=0), "dim=0 sums over the batch"),
    ("projection_logit", lambda h, l, c, e: c(h) + h @ e.weight.T, "a logit for every class"),
    ("projection_logit", lambda h, l, c, e: e.weight @ h.T + _unconditional(h, c), "a logit for every class"),
    ("projection_logit", lambda h, l, c, e: _unconditional(h, c) + h @ e.weight.T, "a logit for every class"),
    ("projection_logit", lambda h, l, c, e: _unconditional(h, c) + (h @ e.weight.T).sum(dim=1), "on all classes"),
    ("projection_logit", lambda h, l, c, e: _unconditional(h, c) + (e.weight * h).sum(dim=1), "in order"),
    ("projection_logit", lambda h, l, c, e: _unconditional(h, c) + e(l).sum(dim=1), "ignores the image"),
    ("projection_logit", lambda h, l, c, e: _unconditional(h, c) + (h * l).sum(dim=1), "not twice breed 1"),
    ("projection_logit", lambda h, l, c, e: _unconditional(h, c) + (h * l.view(-1, 1)).sum(dim=1),
     "not twice breed 1"),
    ("projection_logit", lambda h, l, c, e: _unconditional(h, c) + l, "not twice breed 1"),
    ("projection_logit", lambda h, l, c, e: _unconditional(h, c) + (e(l) * h).mean(dim=1), "times too small"),
    ("projection_logit", lambda h, l, c, e: torch.sigmoid(solutions.projection_logit(h, l, c, e)), "no sigmoid"),
    ("projection_logit", lambda h, l, c, e: torch.sigmoid(c(h)).squeeze(1), "no sigmoid"),
    ("projection_logit", lambda h, l, c, e: solutions.projection_logit(h, l, c, e).detach(), "can't be differentiated"),
    ("projection_logit", _projection_detached("h"), "no gradient reaches h"),
    ("projection_logit", _projection_detached("classify"), "no gradient reaches classify"),
    ("projection_logit", _projection_detached("embed"), "no gradient reaches embed"),
    ("projection_logit", lambda h, l, c, e: _unconditional(h, c) + _projection(h.data, l, e),
     "use h itself in (embed(labels) * h) too"),
    ("projection_logit", lambda h, l, c, e: _unconditional(h.detach(), c) + _projection(h, l, e),
     "use h itself in classify(h) too"),
    ("projection_logit", lambda h, l, c, e: _unconditional(h, c) + (h @ e(l)).sum(dim=1), "no matrix product"),
    ("projection_logit", lambda h, l, c, e: solutions.projection_logit(h, l, c, e).tolist(), "not a torch.Tensor"),
    ("one_hot_input", lambda z, l, k: torch.cat([z, F.one_hot(l).float()], dim=1), "pass it, F.one_hot(labels, num"),
    ("one_hot_input", lambda z, l, k: torch.cat([z, F.one_hot(l, k).float()], dim=0), "extra rows"),
    ("one_hot_input", lambda z, l, k: torch.cat([z, F.one_hot(l, k)]), "extra rows"),
    ("one_hot_input", lambda z, l, k: torch.cat([z.long(), F.one_hot(l, k)], dim=1), "F.one_hot gives integers"),
    ("one_hot_input", _old_torch_cat, "F.one_hot gives integers"),
    ("one_hot_input", lambda z, l, k: torch.cat([F.one_hot(l, k).float(), z], dim=1), "put z first"),
    ("one_hot_input", lambda z, l, k: F.one_hot(l, k).float(), "the one-hot alone"),
    ("one_hot_input", lambda z, l, k: z, "z alone"),
    ("one_hot_input", lambda z, l, k: torch.cat([z, l.view(-1, 1).float()], dim=1), "'twice' breed 1"),
    ("one_hot_input", lambda z, l, k: torch.cat([z, l], dim=1), "one-hot rows first"),
    ("one_hot_input", lambda z, l, k: torch.cat([z, F.one_hot(l + 1, k).float()], dim=1), "too far right"),
    ("one_hot_input", lambda z, l, k: torch.cat([z, F.one_hot(l - 1, k).float()], dim=1), "too far left"),
    ("one_hot_input", lambda z, l, k: torch.cat([z, F.one_hot(l, k + 1).float()], dim=1), "one column too many"),
    ("one_hot_input", lambda z, l, k: torch.cat([z, F.one_hot(l.float(), k)], dim=1), "integer labels as they are"),
    ("one_hot_input", lambda z, l, k: torch.cat([z, 1 - F.one_hot(l, k).float()], dim=1), "a single 1"),
    ("one_hot_input", lambda z, l, k: torch.cat([F.normalize(z), F.one_hot(l, k).float()], dim=1),
     "z itself, unchanged"),
    ("one_hot_input", lambda z, l, k: solutions.one_hot_input(z, l, k).T, "rows and columns are swapped"),
]


@pytest.mark.parametrize("name, answer, phrase", WRONG_07, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(WRONG_07)])
def test_07_wrong_answer_fails_with_a_hint(capsys, name, answer, phrase):
    assert_fails(*run(capsys, name, answer), "❌ Not yet:", phrase)


EQUIVALENT_07 = [
    ("projection_logit", lambda h, l, c, e: c(h).view(-1) + torch.einsum("nf,nf->n", e(l), h)),
    ("projection_logit", lambda h, l, c, e: c(h).squeeze() + (e(l) * h).sum(dim=1)),  # broadcasting restores (1,)
    ("projection_logit", lambda h, l, c, e: (c(h) + (e(l) * h).sum(dim=1, keepdim=True)).squeeze(1)),
    ("projection_logit", lambda h, l, c, e: c(h)[:, 0] + (h @ e.weight.T).gather(1, l.view(-1, 1)).squeeze(1)),
    ("projection_logit", lambda h, l, c, e: F.linear(h, c.weight, c.bias).flatten() + (h * e.weight[l]).sum(-1)),
    ("one_hot_input", lambda z, l, k: torch.cat([z, F.one_hot(l, k)], dim=1)),  # torch.cat promotes long to float
    ("one_hot_input", lambda z, l, k: torch.cat([z, torch.eye(k)[l]], dim=1)),
    ("one_hot_input", lambda z, l, k: torch.hstack([z, torch.zeros(len(l), k).scatter_(1, l.view(-1, 1), 1.0)])),
    ("one_hot_input", _one_hot_into_buffer),
    ("one_hot_input", _one_hot_changing_z),
]


@pytest.mark.parametrize("name, answer", EQUIVALENT_07, ids=[f"{n}-{i}" for i, (n, _) in enumerate(EQUIVALENT_07)])
def test_07_other_right_answers_pass(capsys, name, answer):
    result, out = run(capsys, name, answer)
    assert result is True, out


def test_07_projection_is_what_the_discriminator_does():
    from gan_lib.models import Discriminator, ModelConfig

    torch.manual_seed(0)
    D = Discriminator(ModelConfig(resolution=32, d_width=4, d_norm="none", num_classes=3)).eval()
    x, labels = torch.randn(4, 3, 32, 32), torch.tensor([2, 0, 1, 2])
    h = D.features(x).flatten(1)
    assert torch.allclose(solutions.projection_logit(h, labels, D.classify, D.embed), D(x, labels), atol=1e-6)


def test_07_projection_mistakes_are_told_apart():
    """On every case of the check, the right logits and each typical mistake of the same shape differ clearly."""
    for seed, case in enumerate(checks._PROJECTION_CASES):
        expected, mistakes = checks._projection_mistakes(*checks._projection_inputs(*case, seed=seed))
        assert torch.allclose(expected, checks._projection_mistakes(*checks._projection_inputs(*case, seed=seed))[0])
        values = [expected, *(v for v, _ in mistakes)]
        for a, b in itertools.combinations(values, 2):
            assert a.shape != b.shape or (a - b).abs().max() > 1e-3, case


# --- 08 latent space ----------------------------------------------------------------------------

def _arc(z1, z2, steps, angle=None, t=None, divide=True):
    """Points on the arc from z1 to z2, with the pieces a student may get wrong replaceable."""
    t = torch.linspace(0, 1, steps).view(-1, 1) if t is None else t
    omega = torch.arccos(torch.dot(z1 / z1.norm(), z2 / z2.norm()).clamp(-1, 1)) if angle is None else angle(z1, z2)
    rows = torch.sin((1 - t) * omega) * z1 + torch.sin(t * omega) * z2
    return rows / torch.sin(omega) if divide else rows


def _slerp_in_place(z1, z2, steps):
    z1 /= z1.norm()  # changes the caller's vector
    z2 /= z2.norm()
    return _arc(z1, z2, steps)


def _slerp_flat_t(z1, z2, steps):
    t = torch.linspace(0, 1, steps)  # (steps,): doesn't broadcast against (latent_dim,)
    omega = torch.arccos(torch.dot(z1 / z1.norm(), z2 / z2.norm()))
    return (torch.sin((1 - t) * omega) * z1 + torch.sin(t * omega) * z2) / torch.sin(omega)


def _slerp_math(z1, z2, steps):
    """A right answer in plain Python numbers, row by row."""
    omega = math.acos(max(-1.0, min(1.0, F.cosine_similarity(z1, z2, dim=0).item())))
    ts = [i / (steps - 1) for i in range(steps)]
    if math.sin(omega) < 1e-6:
        return torch.stack([(1 - t) * z1 + t * z2 for t in ts])
    return torch.stack([(math.sin((1 - t) * omega) * z1 + math.sin(t * omega) * z2) / math.sin(omega) for t in ts])


def _clamped_noise(n, d, t, g):
    return torch.randn(n, d, generator=g).clamp(-t, t)


def _redrawn_once(n, d, t, g):
    z = torch.randn(n, d, generator=g)
    outside = z.abs() > t
    if outside.any():  # an `if` instead of `while`
        z[outside] = torch.randn(int(outside.sum()), generator=g)
    return z


def _redrawn_by_vector_length(n, d, t, g):
    z = torch.randn(n, d, generator=g)
    outside = z.norm(dim=1) > t  # whole vectors: about 8 long, never below t
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()), d, generator=g)
        outside = z.norm(dim=1) > t
    return z


def _mask_not_recomputed(n, d, t, g):
    z = torch.randn(n, d, generator=g)
    outside = z.abs() > t
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()), generator=g)  # outside never changes
    return z


def _redraw_with_full_rows(n, d, t, g):
    z = torch.randn(n, d, generator=g)
    outside = z.abs() > t
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()), d, generator=g)
        outside = z.abs() > t
    return z


def _redraws_without_generator(n, d, t, g):
    z = torch.randn(n, d, generator=g)
    outside = z.abs() > t
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()))  # the global random state
        outside = z.abs() > t
    return z


def _truncated_by_rejection(n, d, t, g):
    """A right answer that draws in bulk and keeps the entries inside, in a different order."""
    kept = torch.empty(0)
    while kept.numel() < n * d:
        x = torch.randn(n * d, generator=g)
        kept = torch.cat([kept, x[x.abs() <= t]])
    return kept[:n * d].view(n, d)


def _truncated_where(n, d, t, g):
    z = torch.randn(n, d, generator=g)
    while (z.abs() > t).any():
        z = torch.where(z.abs() > t, torch.randn(n, d, generator=g), z)
    return z


WRONG_08 = [
    ("slerp", solutions.interpolate, "middle vectors are shorter"),
    ("slerp", lambda a, b, n: _arc(a, b, n, angle=lambda x, y: torch.arccos(torch.dot(x, y))), "unit vectors"),
    ("slerp", lambda a, b, n: _arc(a, b, n, angle=lambda x, y: torch.arccos(torch.dot(x, y).clamp(-1, 1))),
     "not of z1 and z2 themselves"),
    ("slerp", lambda a, b, n: _arc(a, b, n, t=(torch.arange(n) / n).view(-1, 1)), "the last row must be z2 itself"),
    ("slerp", lambda a, b, n: _arc(a, b, n, t=torch.linspace(1, 0, n).view(-1, 1)), "from z2 to z1"),
    ("slerp", lambda a, b, n: _arc(b, a, n), "from z2 to z1"),
    ("slerp", _slerp_flat_t, "shaped (steps, 1)"),
    ("slerp", lambda a, b, n: _arc(a, b, n, angle=lambda x, y: torch.rad2deg(
        torch.arccos(torch.dot(x / x.norm(), y / y.norm()).clamp(-1, 1)))), "degrees"),
    ("slerp", lambda a, b, n: _arc(a, b, n, divide=False), "divide by torch.sin(omega)"),
    ("slerp", lambda a, b, n: _arc(a, b, n), "omega is tiny"),  # no fallback: nan for parallel vectors
    ("slerp", _slerp, "perpendicular"),
    ("slerp", lambda a, b, n: _arc(a / a.norm(), b / b.norm(), n), "normalise only to measure the angle"),
    ("slerp", _slerp_in_place, "changed z1 or z2"),
    ("slerp", lambda a, b, n: list(solutions.slerp(a, b, n)), "torch.stack(rows)"),
    ("slerp", lambda a, b, n: solutions.slerp(a, b, n).T, "rows and columns are swapped"),
    ("slerp", lambda a, b, n: solutions.slerp(a, b, n + 1), "one row too many"),
    ("truncated_noise", _clamped_noise, "clamping piles"),
    ("truncated_noise", lambda n, d, t, g: (z := torch.randn(n, d, generator=g)) * t / z.abs().max(), "squeezed"),
    ("truncated_noise", _redrawn_once, "redraw in a loop"),
    ("truncated_noise", lambda n, d, t, g: torch.randn(n, d, generator=g), "as many as in plain normal noise"),
    ("truncated_noise", _redrawn_by_vector_length, "your loop never ends"),
    ("truncated_noise", _mask_not_recomputed, "recompute outside after each redraw"),
    ("truncated_noise", lambda n, d, t, g: (z := torch.randn(n, d, generator=g)) * t / z.norm(dim=1, keepdim=True),
     "not for a vector's length"),
    ("truncated_noise", _redraw_with_full_rows, "z[outside] picks single entries"),
    ("truncated_noise", lambda n, d, t, g: solutions.truncated_noise(n, d, t, g).T, "rows and columns are swapped"),
    ("truncated_noise", lambda n, d, t, g: solutions.truncated_noise(n, d, t, g)[:, :-1], "keep that shape"),
    ("truncated_noise", lambda n, d, t, g: solutions.truncated_noise(n, d, t, None), "the redraws too"),
    ("truncated_noise", _redraws_without_generator, "the redraws too"),
    ("truncated_noise", lambda n, d, t, g: solutions.truncated_noise(n, d, t, torch.Generator().manual_seed(0)),
     "not from one you create"),
    ("truncated_noise", lambda n, d, t, g: solutions.truncated_noise(n, d, 1.0, g), "use the threshold argument"),
    ("truncated_noise", lambda n, d, t, g: solutions.truncated_noise(n, d, t, g).abs(), "keep the signs"),
    ("truncated_noise", lambda n, d, t, g: (torch.rand(n, d, generator=g) * 2 - 1) * t, "torch.rand"),
    ("truncated_noise", lambda n, d, t, g: solutions.truncated_noise(n, d, t, g).numpy(), "not a torch.Tensor"),
    ("truncated_noise", lambda n, d, t: solutions.truncated_noise(n, d, t, torch.Generator()),
     "def truncated_noise(n, latent_dim, threshold, generator)"),
]


@pytest.mark.parametrize("name, answer, phrase", WRONG_08, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(WRONG_08)])
def test_08_wrong_answer_fails_with_a_hint(capsys, name, answer, phrase):
    assert_fails(*run(capsys, name, answer), "❌ Not yet:", phrase)


EQUIVALENT_08 = [
    ("slerp", sampling.slerp),
    ("slerp", _slerp_math),
    ("slerp", lambda a, b, n: solutions.slerp(a.double(), b.double(), n)),
    ("truncated_noise", lambda n, d, t, g: sample_noise(n, d, t, generator=g)),
    ("truncated_noise", _truncated_by_rejection),
    ("truncated_noise", _truncated_where),
    ("truncated_noise", lambda n, d, t, g: nn.init.trunc_normal_(torch.empty(n, d), a=-t, b=t, generator=g)),
    ("truncated_noise", lambda n, d, t, g: solutions.truncated_noise(n, d, t, g).double()),
]


@pytest.mark.parametrize("name, answer", EQUIVALENT_08, ids=[f"{n}-{i}" for i, (n, _) in enumerate(EQUIVALENT_08)])
def test_08_other_right_answers_pass(capsys, name, answer):
    result, out = run(capsys, name, answer)
    assert result is True, out


def test_08_truncated_normal_std():
    assert checks._truncated_normal_std(1.0) == pytest.approx(0.5396, abs=1e-4)
    assert checks._truncated_normal_std(0.5) == pytest.approx(0.2838, abs=1e-4)
    assert checks._truncated_normal_std(10.0) == pytest.approx(1.0, abs=1e-6)
    z = solutions.truncated_noise(100_000, 4, 1.0, torch.Generator().manual_seed(0))
    assert z.std().item() == pytest.approx(checks._truncated_normal_std(1.0), abs=3e-3)
    assert checks._ks_truncated(z, 1.0) < 0.005


def test_08_a_loop_that_never_ends_is_stopped_and_leaves_no_mode_behind(capsys):
    start = time.perf_counter()
    assert_fails(*run(capsys, "truncated_noise", _redrawn_by_vector_length), "never ends")
    assert time.perf_counter() - start < 5.0
    assert torch.overrides._get_current_function_mode() is None


def test_a_verdict_is_truthy_and_shows_nothing_in_a_notebook(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    passed = checks.check_normalize(solutions.normalize)
    failed = checks.check_normalize(lambda x: x)
    capsys.readouterr()
    assert passed and not failed
    # A cell that ends with a check shows the check's message only, no "True" / "False" under it.
    assert InteractiveShell.instance().display_formatter.format(passed) == ({}, {})


# --- 09 standing on a trained GAN ---------------------------------------------------------------


def _freeze_layers(D, k):  # the first k entries of D.features, which counts BatchNorm and LeakyReLU too
    for layer in list(D.features)[:k]:
        layer.requires_grad_(False)
    return D


def _freeze_convs(D, k):  # only the convolutions: the BatchNorm in block 1 keeps learning
    convs = [layer for layer in D.features if isinstance(layer, nn.Conv2d)]
    for layer in convs[:k]:
        layer.requires_grad_(False)
    return D


def _freeze_last(D, k):
    blocks = []
    for layer in D.features:
        if isinstance(layer, nn.Conv2d):
            blocks.append([])
        blocks[-1].append(layer)
    for block in blocks[len(blocks) - k:]:
        for layer in block:
            layer.requires_grad_(False)
    return D


def _freeze_under_no_grad(D, k):
    with torch.no_grad():
        list(D.features)[0](torch.zeros(1, 3, 8, 8))
    return D


def _freeze_by_data(D, k):  # the same blocks, by .requires_grad = False on every parameter, in another order
    convs = [i for i, layer in enumerate(D.features) if isinstance(layer, nn.Conv2d)] + [len(D.features)]
    for layer in list(D.features)[: convs[k]]:
        for p in layer.parameters():
            p.requires_grad = False
    return D


WRONG_09 = [
    ("freeze_first", _freeze_layers, "first 2 *layers*"),
    ("freeze_first", _freeze_convs, "BatchNorm layers inside those blocks have weights too"),
    ("freeze_first", _freeze_last, "the *last* k blocks"),
    ("freeze_first", lambda D, k: D.eval(), "D.eval() freezes nothing"),
    ("freeze_first", _freeze_under_no_grad, "torch.no_grad() only lasts"),
    ("freeze_first", lambda D, k: D.requires_grad_(False), "froze all of D"),
    ("freeze_first", lambda D, k: solutions.freeze_first(D, k + 1), "one block too many"),
    ("freeze_first", lambda D, k: solutions.freeze_first(D, k).eval(), "left in eval mode"),
    ("freeze_first", lambda D, k: copy.deepcopy(solutions.freeze_first(D, k)), "not a copy"),
    ("d_optimizer", lambda D, lr: torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999)), "4 frozen weights"),
    ("d_optimizer", lambda D, lr: torch.optim.Adam(D.features[4:].parameters(), lr=lr, betas=(0.5, 0.999)),
     "final linear layer and breed table"),
    ("d_optimizer", lambda D, lr: torch.optim.Adam([p for p in D.parameters() if p.requires_grad], lr=lr),
     "betas=(0.5, 0.999)"),
    ("d_optimizer", lambda D, lr: torch.optim.Adam([p for p in D.parameters() if p.requires_grad], betas=(0.5, 0.999)),
     "pass the lr argument on"),
    ("d_optimizer", lambda D, lr: torch.optim.SGD([p for p in D.parameters() if p.requires_grad], lr=lr), "not Adam"),
    ("d_optimizer", lambda D, lr: [p for p in D.parameters() if p.requires_grad], "not an optimiser"),
]


@pytest.mark.parametrize("name, answer, phrase", WRONG_09, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(WRONG_09)])
def test_09_wrong_answer_fails_with_a_hint(capsys, name, answer, phrase):
    assert_fails(*run(capsys, name, answer), "❌ Not yet:", phrase)


EQUIVALENT_09 = [
    ("freeze_first", lambda D, k: (freeze_blocks(D, k), D)[1]),
    ("freeze_first", _freeze_by_data),
    ("d_optimizer", lambda D, lr: torch.optim.Adam(filter(lambda p: p.requires_grad, D.parameters()), lr, (0.5, 0.999))),
]


@pytest.mark.parametrize("name, answer", EQUIVALENT_09, ids=[f"{n}-{i}" for i, (n, _) in enumerate(EQUIVALENT_09)])
def test_09_other_right_answers_pass(capsys, name, answer):
    result, out = run(capsys, name, answer)
    assert result is True, out


@pytest.mark.parametrize("name", ["accuracy", "frechet_distance", "kid_mmd"])
def test_one_rule_for_numbers_a_python_float(capsys, name):
    """Every exercise that asks for a number passes a Python float and names a right value left in a tensor."""
    answer = getattr(solutions, name)

    def as_float(*args):
        value = answer(*args)
        return float(value.item() if isinstance(value, torch.Tensor) else value)

    def as_tensor(*args):
        return torch.tensor(as_float(*args), dtype=torch.float64)

    result, out = run(capsys, name, as_float)
    assert result is True, out
    assert_fails(*run(capsys, name, as_tensor), "returned a tensor (of the right value)", ".item()")
