"""Checks for notebooks/02_discriminator.ipynb: `check_discriminator_loss`, `check_discriminator_64`,
`check_accuracy`.
"""
from __future__ import annotations

import math
import numbers
from typing import Callable

import torch
from torch import Tensor, nn

from ._plumbing import (_NotYet, _a_python_float, _bce_mistakes, _callable, _check, _known_mistake, _last_op, _linear_input_hint,
                        _module_copy, _name, _number, _require, _run, _scalar, _tensor)


@_check
def check_discriminator_loss(fn: Callable[[Tensor, Tensor], Tensor]) -> str:
    """discriminator_loss(real_logits, fake_logits): BCE with label 1 for real and 0 for fake, from logits."""
    fn = _callable(fn)
    r_values, f_values = [2.0, -1.0, 0.5, 3.0], [0.5, -2.0, 1.5, -0.3]
    r, f = torch.tensor(r_values, requires_grad=True), torch.tensor(f_values, requires_grad=True)
    out = _run(fn, r, f)
    if isinstance(out, (tuple, list)):
        raise _NotYet(f"discriminator_loss returned {len(out)} values, not one loss.",
                      "add the two terms and return one tensor: real_loss + fake_loss.")
    out = _scalar(out, "discriminator_loss")
    expected, mistakes = _bce_mistakes(r_values, f_values)
    got = out.item()
    averaged = math.isclose(got, expected / 2, rel_tol=1e-4)  # the mean over both batches together: also fine
    if not (averaged or math.isclose(got, expected, rel_tol=1e-4)):
        hint = _known_mistake(got, mistakes) or (
            "BCE with label 1 for real and 0 for fake, each averaged, then added: "
            "F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)) + ...")
        raise _NotYet(f"for real logits {r_values} and fake logits {f_values} your loss is {got:.4f}, "
                      f"expected {expected:.4f}.", hint)
    out.sum().backward()
    _require(r.grad is not None and r.grad.abs().sum() > 0, "no gradient reaches the real logits.",
             "don't .detach() the logits: D learns through this loss.")
    _require(f.grad is not None and f.grad.abs().sum() > 0, "no gradient reaches the fake logits.",
             "don't .detach() the logits: D learns through this loss.")
    note = " (you averaged the two terms; the course adds them: same direction, half the size)" if averaged else ""
    return f"BCE from logits, real labelled 1 and fake 0 (loss {got:.4f}){note}."


@_check
def check_discriminator_64(model: nn.Module) -> str:
    """A model (N, 3, 64, 64) -> (N,) or (N, 1) logits: >= 3 stride-2 Conv2d, a final Linear, no sigmoid."""
    D = _module_copy(model, "discriminator_64()")
    x = torch.rand(5, 3, 64, 64) * 2 - 1
    ran: list[nn.Module] = []  # the conv and linear layers, in the order they finish
    shapes: list[tuple[nn.Module, tuple, tuple | None]] = []  # (layer, input shape, output shape) as they start

    def started(m: nn.Module, args: tuple) -> None:
        shapes.append((m, tuple(args[0].shape), None))

    def finished(m: nn.Module, args: tuple, out: Tensor) -> None:
        ran.append(m)
        shapes.append((m, shapes.pop()[1], tuple(out.shape)))  # conv and linear layers don't nest

    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    hooks = [h for m in layers for h in (m.register_forward_pre_hook(started), m.register_forward_hook(finished))]
    layer_hints = {"channels, but got": "the first Conv2d takes 3 channels (RGB), each next one the out_channels "
                                        "of the layer before it."}
    try:
        out = _tensor(_run(D.train(), x, hints=layer_hints), "your discriminator")
    except _NotYet as e:
        if "mat1 and mat2" in e.problem:
            e.hint = _linear_input_hint(shapes) or e.hint
        raise
    finally:
        for h in hooks:
            h.remove()
    if tuple(out.shape) not in ((5,), (5, 1)):
        hint = ("the last layer should have a single output: nn.Linear(in_features, 1)." if out.dim() == 2 else
                "flatten the 4x4 feature maps and finish with nn.Linear(channels * 4 * 4, 1).")
        raise _NotYet(f"5 images gave an output of shape {tuple(out.shape)}, expected (5,) or (5, 1).", hint)
    strided = [m for m in ran if isinstance(m, nn.Conv2d) and tuple(m.stride) == (2, 2)]
    _require(len(strided) >= 3, f"found {len(strided)} Conv2d layer(s) with stride 2; at least 3 are needed.",
             "each nn.Conv2d(c_in, c_out, kernel_size=4, stride=2, padding=1) halves the size: "
             "64 -> 32 -> 16 -> 8 -> 4.")
    _require(ran and isinstance(ran[-1], nn.Linear),
             f"the last layer with weights is {type(ran[-1]).__name__ if ran else 'missing'}, not nn.Linear.",
             "after the convolutions: nn.Flatten(), then nn.Linear(channels * 4 * 4, 1).")
    last = _last_op(out).rstrip("0123456789")  # e.g. LeakyReluBackward1 for the in-place version
    _require(last not in ("SigmoidBackward", "TanhBackward"), "the output goes through a sigmoid (or tanh) at the end.",
             "return raw logits: the loss (binary_cross_entropy_with_logits) applies the sigmoid itself.")
    _require(last not in ("SoftmaxBackward", "LogSoftmaxBackward"), "the output goes through a softmax at the end.",
             "a softmax over one output is always 1 (log: 0): return the raw logit of the final Linear layer.")
    _require(last not in ("ReluBackward", "LeakyReluBackward"), "the output goes through a (Leaky)ReLU at the end.",
             "no activation after the final Linear layer: a ReLU cuts off the negative logits, D's 'fake' verdicts.")
    _require(torch.isfinite(out).all(), "the output contains NaN or inf.", "check the layers for divisions or logs.")
    one_image = {"mat1 and mat2 shapes": "it works for 5 images but not for 1: don't hard-code the batch size "
                                         "(x.flatten(1) or nn.Flatten() keep it)."}
    with torch.no_grad():
        one = _tensor(_run(D.eval(), x[:1], hints=one_image), "your discriminator")
    _require(tuple(one.shape) in ((1,), (1, 1)), f"1 image (eval mode) gave shape {tuple(one.shape)}.",
             "don't hard-code the batch size: nn.Flatten() or x.flatten(1) keep it.")
    return f"one logit per 64x64 image, from {len(strided)} stride-2 convolutions and a final Linear layer."


@_check
def check_accuracy(fn: Callable[[Tensor, Tensor], float]) -> str:
    """accuracy(real_logits, fake_logits): fraction of right verdicts (real > 0, fake < 0) over both batches."""
    fn = _callable(fn)
    # Chosen so that each usual mistake gives its own value: 5 of 6 real logits are > 0 (all of those > 0.5),
    # 4 of 6 fake logits are < 0 (and the other two < 0.5).
    real = torch.tensor([2.0, 0.8, 1.5, -1.0, 3.0, 0.6])
    fake = torch.tensor([-2.0, 0.2, -0.5, 0.4, -1.2, -0.1])
    out = _run(fn, real, fake)
    is_tensor = isinstance(out, Tensor)
    if is_tensor and out.numel() != 1:
        raise _NotYet(f"{_name(fn)} returned a tensor of shape {tuple(out.shape)}.",
                      "count the right verdicts of both batches, divide by the number of images, "
                      "return a Python float.")
    _require(isinstance(out, (Tensor, numbers.Real)) and not isinstance(out, bool),
             f"{_name(fn)} returned a {type(out).__name__}, not a number.", "return the fraction as a Python float.")
    got = _number(out, "accuracy")
    mistakes = [
        (3 / 12, "real and fake are swapped: a real image is right when its logit is > 0, a fake when it is < 0."),
        (5 / 12, "the real images are right when their logit is > 0, not < 0."),
        (7 / 12, "the fakes are right when their logit is < 0, not > 0."),
        (5 / 6, "only the real images are counted: count right verdicts on both batches."),
        (4 / 6, "only the fake images are counted: count right verdicts on both batches."),
        (11 / 12, "the threshold for logits is 0 (sigmoid(0) = 0.5): compare logits with 0, "
                  "or probabilities with 0.5."),
        (6 / 12, "probabilities are always > 0: compare sigmoid(logits) with 0.5, or the logits themselves with 0."),
        (9, "that is the number of right verdicts: divide by the number of images (12 here)."),
        (9 / 6, "divide by the number of images in both batches (12 here), not in one."),
        (5 + 4 / 12, "mind the brackets: ((real_logits > 0).sum() + (fake_logits < 0).sum()) / 12 "
                     "divides both counts."),
        (75, "return a fraction between 0 and 1, not a percentage."),
        (0, "that is integer division (//): use / to get a fraction."),
    ]
    if not math.isclose(got, 9 / 12, rel_tol=1e-6):
        raise _NotYet(f"got {got:.4f}, expected 0.7500 (9 of 12 verdicts right).",
                      _known_mistake(got, mistakes) or "((real_logits > 0).sum() + (fake_logits < 0).sum()) / "
                                                       "(number of real + fake images), as a float.")
    _a_python_float(out, _name(fn))
    return "9 of 12 verdicts right: 0.7500."
