"""Checks for notebooks/06_when_gans_fail.ipynb: `check_smoothed_d_loss`, `check_hinge_d_loss`,
`check_hinge_g_loss`, `check_looks_collapsed`.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import Tensor

from ._plumbing import (_NotYet, _callable, _check, _checked_g_loss, _known_mistake, _mean, _require, _run, _scalar,
                        _sigmoid)


def _bce_term(logits: list[float], label: float) -> float:
    """BCE of logits against one target label, averaged: -(t log sigma(x) + (1 - t) log(1 - sigma(x)))."""
    return _mean([-(label * math.log(_sigmoid(x)) + (1 - label) * math.log(1 - _sigmoid(x))) for x in logits])


def _smoothed_mistakes(r: list[float], f: list[float], s: float) -> tuple[float, list[tuple[float, str]]]:
    """D's BCE loss with one-sided label smoothing (target 1 - s for photos), with the usual wrong versions."""
    real, fake = _bce_term(r, 1 - s), _bce_term(f, 0.0)
    mistakes = [
        (_bce_term(r, 1 - s) + _bce_term(f, s),
         "the smoothing is applied to the fakes too: it is one-sided, only the photos' target becomes "
         "1 - smoothing; the fakes keep the target 0 (torch.zeros_like)."),
        (_bce_term(r, 1.0) + _bce_term(f, s),
         "the smoothing went on the fakes: it belongs on the photos' target (1 - smoothing), fakes keep 0."),
        (_bce_term(r, 1.0) + fake,
         "no smoothing yet: the photos' target is 1 - smoothing, e.g. torch.full_like(real_logits, 1 - smoothing)."),
        (_bce_term(r, s) + fake, "the photos' target is 1 - smoothing (0.9), not smoothing (0.1)."),
        ((1 - s) * _bce_term(r, 1.0) + fake,
         "smooth the label, not the loss: BCE(real_logits, target 1 - smoothing) is not (1 - smoothing) x BCE(.., 1)."),
        (-(real + fake), "wrong sign: BCE is -log(probability of the target), a positive number; don't negate it."),
        (len(r) * real + len(f) * fake, "average over the batch (mean), don't sum."),
        (_bce_term(r, 0.0) + _bce_term(f, 1 - s),
         "the labels are swapped: the photos get the target 1 - smoothing, the fakes get 0."),
        (real - fake, "the fake term is subtracted: both BCE terms are positive losses, add them."),
        (_bce_term([_sigmoid(x) for x in r], 1 - s) + _bce_term([_sigmoid(x) for x in f], 0.0),
         "the sigmoid is applied twice: *_with_logits losses apply it themselves, so pass the raw logits."),
    ]
    return real + fake, mistakes


@_check
def check_smoothed_d_loss(fn: Callable[..., Tensor]) -> str:
    """smoothed_d_loss(real_logits, fake_logits, smoothing=0.1): BCE, target 1 - smoothing for photos, 0 for fakes."""
    fn = _callable(fn)
    r_values, f_values = [2.0, -1.0, 0.5, 3.0], [0.5, -2.0, 1.5, -0.3]
    hints = {"positional argument": "take the smoothing as a third parameter, with its default: "
                                    "def smoothed_d_loss(real_logits, fake_logits, smoothing=0.1).",
             "must be the same as input size": "the targets must have the logits' shape: "
                                               "torch.full_like(real_logits, 1 - smoothing)."}
    got = 0.0
    for smoothing, args in ((0.1, ()), (0.2, (0.2,))):
        r, f = torch.tensor(r_values, requires_grad=True), torch.tensor(f_values, requires_grad=True)
        out = _scalar(_run(fn, r, f, *args, hints=hints), "smoothed_d_loss")
        expected, mistakes = _smoothed_mistakes(r_values, f_values, smoothing)
        got = out.item()
        if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-6):
            call = "smoothed_d_loss(real_logits, fake_logits)" + (f", smoothing={smoothing}" if args else "")
            hint = _known_mistake(got, mistakes)
            ignored = math.isclose(got, _smoothed_mistakes(r_values, f_values, 0.1)[0], rel_tol=1e-4)
            if hint is None and args and ignored:
                hint = "use the smoothing argument: the photos' target is 1 - smoothing, not a fixed 0.9."
            raise _NotYet(f"for real logits {r_values} and fake logits {f_values}, {call} gives {got:.4f}, "
                          f"expected {expected:.4f}.",
                          hint or "BCE(real_logits, target 1 - smoothing) + BCE(fake_logits, target 0), each averaged: "
                                  "F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, "
                                  "1 - smoothing)) + ...")
        out.backward()
        _require(r.grad is not None and r.grad.abs().sum() > 0 and f.grad is not None and f.grad.abs().sum() > 0,
                 "no gradient reaches the logits.", "don't .detach() the logits: D learns through this loss.")
    return (f"one-sided label smoothing: photos aim at 1 - smoothing, fakes at 0 (loss {got:.4f} with "
            f"smoothing=0.2).")


def _hinge_d_mistakes(r: list[float], f: list[float]) -> tuple[float, list[tuple[float, str]]]:
    """The hinge loss of D, mean(relu(1 - r)) + mean(relu(1 + f)), with the usual wrong versions."""
    relu = lambda t: max(0.0, t)  # noqa: E731
    real, fake = _mean([relu(1 - x) for x in r]), _mean([relu(1 + x) for x in f])
    mistakes = [
        (_mean([1 - x for x in r]) + _mean([1 + x for x in f]),
         "the relu is missing: max(0, 1 - r) stops rewarding D once a photo's logit is beyond the margin 1 "
         "(F.relu(1 - real_logits))."),
        (relu(1 - _mean(r)) + relu(1 + _mean(f)),
         "apply the relu to each logit, then average: F.relu(1 - real_logits).mean(), not F.relu(1 - mean)."),
        (_mean([relu(1 + x) for x in r]) + _mean([relu(1 - x) for x in f]),
         "wrong signs: photos should get logits above +1, fakes below -1: relu(1 - r) + relu(1 + f)."),
        (-(real + fake), "wrong sign: the hinge terms are positive losses that D minimises; don't negate them."),
        (len(r) * real + len(f) * fake, "average over the batch (mean), don't sum."),
        (_mean([relu(-x) for x in r]) + _mean([relu(x) for x in f]),
         "the margin is missing: relu(1 - r) + relu(1 + f), with the 1s."),
        (real, "only the photos are in your loss: add the fakes' term, F.relu(1 + fake_logits).mean()."),
        (fake, "only the fakes are in your loss: add the photos' term, F.relu(1 - real_logits).mean()."),
        (real - fake, "the fakes' term is subtracted: both hinge terms are losses, add them."),
        (_mean([math.log(1 + math.exp(-x)) for x in r]) + _mean([math.log(1 + math.exp(x)) for x in f]),
         "that is the BCE loss; the hinge loss is relu(1 - r) + relu(1 + f)."),
    ]
    return real + fake, mistakes


@_check
def check_hinge_d_loss(fn: Callable[[Tensor, Tensor], Tensor]) -> str:
    """hinge_d_loss(real_logits, fake_logits): mean(relu(1 - r)) + mean(relu(1 + f))."""
    fn = _callable(fn)
    r_values, f_values = [2.0, -1.0, 0.5, 3.0], [0.5, -2.0, 1.5, -0.3]
    r, f = torch.tensor(r_values, requires_grad=True), torch.tensor(f_values, requires_grad=True)
    out = _scalar(_run(fn, r, f), "hinge_d_loss")
    expected, mistakes = _hinge_d_mistakes(r_values, f_values)
    got = out.item()
    if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-6):
        raise _NotYet(f"for real logits {r_values} and fake logits {f_values} your loss is {got:.4f}, "
                      f"expected {expected:.4f}.",
                      _known_mistake(got, mistakes)
                      or "F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean().")
    out.backward()
    # Logits beyond the margin (a photo at 2 or 3, a fake at -2) get no gradient; the others do.
    want_r, want_f = torch.tensor([0.0, -0.25, -0.25, 0.0]), torch.tensor([0.25, 0.0, 0.25, 0.25])
    _require(r.grad is not None and f.grad is not None, "no gradient reaches the logits.",
             "don't .detach() the logits: D learns through this loss.")
    _require(torch.allclose(r.grad, want_r) and torch.allclose(f.grad, want_f),
             f"the gradients are {r.grad.tolist()} (photos) and {f.grad.tolist()} (fakes), expected "
             f"{want_r.tolist()} and {want_f.tolist()}.",
             "logits beyond the margin must get no gradient: relu on each logit, then the mean.")
    return (f"the hinge loss (loss {got:.4f}): photos beyond +1 and fakes below -1 no longer push D, "
            f"so it stops short of total confidence.")


def _hinge_g_mistakes(f: list[float]) -> tuple[float, list[tuple[float, str]]]:
    """The hinge generator loss -mean(f), with the usual wrong versions."""
    mistakes = [
        (_mean(f), "wrong sign: G wants D's logits on its fakes to go UP, so it minimises -mean(fake_logits)."),
        (_mean([max(0.0, 1 - x) for x in f]),
         "no relu for G: its hinge loss is simply -mean(fake_logits); the relu and the margin are D's."),
        (_mean([max(0.0, 1 + x) for x in f]), "that is D's term for the fakes; G minimises -mean(fake_logits)."),
        (-sum(f), "average over the batch (mean), don't sum."),
        (_mean([math.log(1 + math.exp(-x)) for x in f]),
         "that is the non-saturating BCE loss; the hinge generator loss is -mean(fake_logits)."),
    ]
    return -_mean(f), mistakes


@_check
def check_hinge_g_loss(fn: Callable[[Tensor], Tensor]) -> str:
    """hinge_g_loss(fake_logits): -mean(f)."""
    got = _checked_g_loss(_callable(fn), "hinge_g_loss", _hinge_g_mistakes, "-fake_logits.mean().",
                          "don't .detach() the logits, and no relu: every fake should be pushed towards 'real'.",
                          abs_tol=1e-6)
    return f"-mean(f) (loss {got:.4f}): every fake is pushed towards 'real' with the same force, never saturating."


def _collapse_cases() -> list[tuple[str, Tensor, Tensor, float, bool]]:
    """(what, samples, photos, ratio, expected) for the collapse detector, floats in [-1, 1]."""
    gen = torch.Generator().manual_seed(0)
    photos = torch.rand(24, 3, 32, 32, generator=gen) * 2 - 1
    shuffled = photos[torch.randperm(len(photos), generator=gen)]
    one_dog = photos[:1].expand(24, -1, -1, -1) + 0.01 * torch.randn(24, 3, 32, 32, generator=gen)
    faint = photos * 0.01  # diverse, but every pixel close to grey: absolute distances are tiny
    return [
        ("24 near-copies of one image (ratio=0.5)", one_dog, photos, 0.5, True),
        ("samples as diverse as the photos (ratio=0.5)", shuffled, photos, 0.5, False),
        ("samples 70% as diverse as the photos, ratio=0.5", 0.7 * shuffled, photos, 0.5, False),
        ("samples 70% as diverse as the photos, ratio=0.8", 0.7 * shuffled, photos, 0.8, True),
        ("faint (low-contrast) samples as diverse as equally faint photos (ratio=0.5)",
         faint[torch.randperm(len(faint), generator=gen)], faint, 0.5, False),
    ]


@_check
def check_looks_collapsed(fn: Callable[[Tensor, Tensor, float], Any]) -> str:
    """looks_collapsed(samples, photos, ratio=0.5): True when diversity(samples) < ratio * diversity(photos), a bool."""
    fn = _callable(fn)
    from ..callbacks import diversity  # the dashboard's measure (imported here: callbacks pulls in plotting)

    hints = {"positional argument": "take the ratio as a third parameter, with its default: "
                                    "def looks_collapsed(samples, photos, ratio=0.5)."}
    cases = _collapse_cases()
    answers = []
    for what, samples, photos, ratio, expected in cases:
        inputs = (samples.clone(), photos.clone())
        out = _run(fn, *inputs, ratio, hints=hints)
        _require(torch.equal(inputs[0], samples) and torch.equal(inputs[1], photos),
                 "your function changed its inputs.", "compute new tensors; no in-place operations on the images.")
        if isinstance(out, Tensor):
            raise _NotYet(f"looks_collapsed returned a tensor ({out.dtype}, shape {tuple(out.shape)}), not a bool.",
                          "return a Python bool: bool(...) or .item() of a one-element tensor; diversity() from "
                          "gan_lib.callbacks already gives plain floats.")
        _require(isinstance(out, bool) or type(out).__name__ == "bool_",
                 f"looks_collapsed returned a {type(out).__name__} ({out!r}), not True or False.",
                 "return the comparison itself: diversity(samples) / diversity(photos) < ratio.")
        answers.append(bool(out))
    expected = [case[4] for case in cases]
    if answers != expected:
        # What the typical wrong versions answer on the same cases
        wrong = [
            (lambda s, p, r: diversity(s) / diversity(p) > r,
             "the comparison is the wrong way round: collapsed means the samples are LESS diverse, "
             "diversity(samples) / diversity(photos) < ratio."),
            (lambda s, p, r: diversity(p) / diversity(s) < r,
             "the ratio is upside down: divide the samples' diversity by the photos', "
             "diversity(samples) / diversity(photos) < ratio."),
            (lambda s, p, r: diversity(s) / diversity(p) < 0.5,
             "use the ratio argument instead of a fixed 0.5."),
            (lambda s, p, r: diversity(s) < r,
             "compare with the photos: diversity(samples) / diversity(photos) < ratio (diversity alone depends on "
             "contrast and image size)."),
        ]
        hint = next((h for rule, h in wrong if [rule(c[1], c[2], c[3]) for c in cases] == answers), None)
        first = next(i for i, (a, e) in enumerate(zip(answers, expected)) if a != e)
        raise _NotYet(f"for {cases[first][0]} your answer is {answers[first]}, expected {expected[first]}.",
                      hint or "measure both with diversity() from gan_lib.callbacks and compare: "
                              "diversity(samples) / diversity(photos) < ratio.")
    again = _run(fn, cases[0][1].clone(), cases[0][2].clone(), hints=hints)  # the default ratio
    _require(bool(again), "looks_collapsed(samples, photos) without a ratio missed the collapse.",
             "the default is ratio=0.5.")
    return "flags near-copies, passes samples as diverse as the photos, and follows the ratio you give it."
