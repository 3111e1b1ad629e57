"""The plumbing every notebook's checks share: running an answer without a traceback
(`_run`, `_check`, `Verdict`), the type and shape guards, and the helpers used by more than one
notebook (the BCE and generator-loss mistake tables, the tiny GAN, the Adam step helpers).
"""
from __future__ import annotations

import copy
import functools
import math
import numbers
from typing import Any, Callable

import torch
from torch import Tensor, nn
from torch.optim.optimizer import register_optimizer_step_pre_hook

from ..models import Discriminator, Generator, ModelConfig


class _NotYet(Exception):
    """Stops a check at the first problem; `_check` prints it as '❌ Not yet: ... Hint: ...'."""

    def __init__(self, problem: str, hint: str) -> None:
        super().__init__(problem)
        self.problem, self.hint = problem, hint


class _NotAnswered(Exception):
    """The answer is still the stub: it is None, returned None or raised NotImplementedError."""


# Error messages PyTorch gives for common mistakes, and what usually fixes them.
_ERROR_HINTS = {
    "between 0 and 1": "F.binary_cross_entropy wants probabilities, but these are logits: use "
                       "F.binary_cross_entropy_with_logits, which applies the sigmoid itself.",
    "can't be cast to the desired output type Byte": "uint8 tensors can't hold fractions: convert with .float() "
                                                      "first (in place maths would also change the input).",
    "could not infer output dtype": "True/False values can't be averaged directly: convert them with .float() first.",
    "mat1 and mat2 shapes cannot be multiplied": "a Linear layer got the wrong number of inputs: its in_features must "
                                                 "equal channels x height x width of what comes in (print x.shape).",
    "Expected 3D (unbatched) or 4D (batched) input": "a conv layer got a flat (N, features) tensor: reshape it "
                                                     "to (N, C, 4, 4) first, e.g. with nn.Unflatten(1, (C, 4, 4)).",
    "does not require grad": "the loss has no gradient: don't compute it under torch.no_grad(), from .detach()ed "
                             "tensors or with .item().",
    "is invalid for input of size": "don't hard-code the batch size in view/reshape: x.flatten(1) or "
                                    "nn.Flatten() keeps whatever batch size comes in.",
    "backward through the graph a second time": "every step needs its own forward pass: don't reuse images or "
                                                "logits computed in another step.",
    "modified by an inplace operation": "an optimiser step changed weights that a later backward() still needed: "
                                        "add up the whole loss, call backward() once, then step once.",
    "must be the same as input size": "the labels must have the logits' shape: make them with "
                                      "torch.ones_like(logits) / torch.zeros_like(logits).",
    "that is different to the input size": "the labels must have the logits' shape: make them with "
                                           "torch.ones_like(logits) / torch.zeros_like(logits).",
    "can't be cast to the desired output type Long": "the labels must be floats: torch.ones_like(logits), "
                                                     "not integer labels (dtype=torch.long).",
    "running_mean should contain": "each BatchNorm2d(n) needs n = the number of channels of the layer just before it.",
}
_STUB_HINT = "write your answer where it says YOUR CODE HERE, run that cell, then run this check again."


def _name(answer: Any) -> str:
    if isinstance(answer, nn.Module):
        return "your model"
    name = getattr(answer, "__name__", "")
    return f"{name}()" if name and name != "<lambda>" else "your answer"


def _run(fn: Callable, *args: Any, hints: dict[str, str] | None = None) -> Any:
    """Call the student's code, turning stubs and exceptions into messages (never a traceback).

    hints: extra {text in the error message: hint} for mistakes typical of this exercise (tried first).
    """
    try:
        out = fn(*args)
    except NotImplementedError:
        raise _NotAnswered(f"{_name(fn)} raised NotImplementedError") from None
    except Exception as e:  # anything the student's code raises becomes a hint, not a crash
        # The first line, without PyTorch's own "Hint: ..." (ours follows).
        message = (str(e).strip().splitlines() or [""])[0].split(" Hint:")[0][:300].rstrip(".")
        known = [*(hints or {}).items(), *_ERROR_HINTS.items()]
        hint = next((h for text, h in known if text in str(e)), "run your code on a small example and read the error.")
        raise _NotYet(f"{_name(fn)} raised {type(e).__name__}: {message}.", hint) from None
    if out is None:
        raise _NotAnswered(f"{_name(fn)} returned None")
    return out


def _require(condition: Any, problem: str, hint: str) -> None:
    if not condition:
        raise _NotYet(problem, hint)


class Verdict:
    """A check's result: true when the answer passed. Shows nothing in a notebook, as the check already printed why."""

    def __init__(self, passed: bool) -> None:
        self.passed = passed

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"Verdict(passed={self.passed})"

    def _ipython_display_(self) -> None:
        pass  # no stray "True" / "False" under the check's own message


def _check(body: Callable[[Any], str]) -> Callable[[Any], Verdict]:
    """Turn a check body (raises _NotYet, returns a success message) into a never-raising check."""

    @functools.wraps(body)
    def check(answer: Any) -> Verdict:
        threads = torch.get_num_threads()
        try:
            if answer is None:
                raise _NotAnswered("the answer is None")
            # The inputs are tiny: one thread is fastest, and on a busy machine far faster than several.
            torch.set_num_threads(1)
            # Seeded and isolated: the same result every run, and the notebook's random state is untouched.
            with torch.random.fork_rng(devices=[]), torch.enable_grad():
                torch.manual_seed(0)
                message = body(answer)
        except _NotAnswered as e:
            print(f"✏️ Not answered yet ({e}). Hint: {_STUB_HINT}")
            return Verdict(False)
        except _NotYet as e:
            print(f"❌ Not yet: {e.problem} Hint: {e.hint}")
            return Verdict(False)
        except Exception as e:  # a surprise inside the check itself: still report, never crash the notebook
            print(f"❌ Not yet: the check could not handle your answer ({type(e).__name__}: {e}). "
                  f"Hint: compare what your answer returns with what the exercise asks for.")
            return Verdict(False)
        finally:
            torch.set_num_threads(threads)
        print(f"✅ Correct: {message}")
        return Verdict(True)

    return check


def _callable(answer: Any) -> Callable:
    _require(callable(answer), f"got a {type(answer).__name__}, not a function.",
             "pass the function itself, without calling it: e.g. check_normalize(normalize).")
    return answer


def _tensor(out: Any, what: str) -> Tensor:
    _require(isinstance(out, Tensor), f"{what} returned a {type(out).__name__}, not a torch.Tensor.",
             "build the result with torch operations and return the tensor.")
    return out


def _module_copy(model: Any, call: str) -> nn.Module:
    """A private CPU copy of the student's model, so checking it changes nothing in the notebook."""
    if isinstance(model, type) and issubclass(model, nn.Module):
        raise _NotYet("got a class, not a model.",
                      f"pass an instance: {call} returns e.g. MyModel() or nn.Sequential(...).")
    if callable(model) and not isinstance(model, nn.Module):
        raise _NotYet("got a function, not a model.", f"call it and pass the model it returns: {call}.")
    _require(isinstance(model, nn.Module), f"got a {type(model).__name__}, not an nn.Module.",
             "return a torch.nn model, e.g. nn.Sequential(...).")
    return copy.deepcopy(model).cpu()


def _scalar(out: Any, what: str) -> Tensor:
    """A loss must be a one-number tensor that autograd can differentiate."""
    _require(not isinstance(out, numbers.Number), f"{what} returned a Python {type(out).__name__}, not a tensor.",
             "return the loss tensor itself (no .item() or float()), so that loss.backward() works.")
    _tensor(out, what)
    _require(out.numel() == 1, f"{what} returned shape {tuple(out.shape)}, not a single number.",
             "average over the batch: .mean() (or the loss function's default reduction='mean').")
    _require(out.grad_fn is not None, f"{what} returned a number that autograd can't differentiate.",
             "keep everything a tensor: no .item(), float(), torch.tensor(...) or torch.no_grad() inside the loss.")
    return out


def _number(value: Any, what: str) -> float:
    """A step's loss: a one-number tensor, a Python number, or gan_lib's dict of step statistics."""
    if isinstance(value, dict):  # like gan_lib's steps: {"loss_d": ..., "d_real": ...}
        losses = [v for k, v in value.items() if str(k).startswith("loss")]
        _require(len(losses) == 1, f"{what} returned a dict without one 'loss_...' entry.",
                 "return the loss itself (loss.item()), or a dict with it under 'loss_d' / 'loss_g'.")
        value = losses[0]
    if isinstance(value, Tensor) and value.numel() == 1:
        return value.item()
    _require(isinstance(value, numbers.Real) and not isinstance(value, bool),
             f"{what} returned a {type(value).__name__}, not the loss.", "return loss.item() (or the loss tensor).")
    return float(value)


def _a_python_float(out: Any, what: str) -> None:
    """One rule for every exercise that asks for a number: a right value in a tensor is named, then refused."""
    _require(not isinstance(out, Tensor), f"{what} returned a tensor (of the right value).",
             "the exercise asks for a Python float: call .item() on it.")


def _known_mistake(got: float, mistakes: list[tuple[float, str]]) -> str | None:
    """The hint of the first known wrong answer whose value equals `got`."""
    return next((hint for value, hint in mistakes if math.isclose(got, value, rel_tol=1e-4, abs_tol=1e-6)), None)


def _last_op(t: Tensor) -> str:
    """Autograd's name for the last computation that produced `t`, looking past reshapes ('' if unknown)."""
    fn = t.grad_fn
    reshapes = ("View", "UnsafeView", "Reshape", "Squeeze", "Unsqueeze", "Clone", "Select", "Slice",
                "Expand", "Permute", "Transpose", "AsStrided", "ToCopy")
    while fn is not None and fn.name().startswith(reshapes) and fn.next_functions:
        fn = fn.next_functions[0][0]
    return fn.name() if fn is not None else ""


def _sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def _bce_mistakes(r: list[float], f: list[float]) -> tuple[float, list[tuple[float, str]]]:
    """The discriminator's BCE loss for real logits r and fake logits f, with the usual wrong versions."""
    real_term = _mean([-math.log(_sigmoid(x)) for x in r])  # label 1: -log sigma(r)
    fake_term = _mean([-math.log(1 - _sigmoid(x)) for x in f])  # label 0: -log(1 - sigma(f))
    mistakes = [
        (real_term, "only the real images are in your loss: add the fake term, BCE(fake_logits, zeros)."),
        (fake_term, "only the fake images are in your loss: add the real term, BCE(real_logits, ones)."),
        (_mean([-math.log(1 - _sigmoid(x)) for x in r]) + _mean([-math.log(_sigmoid(x)) for x in f]),
         "the labels are swapped (or real and fake are): real images get label 1 (torch.ones_like), "
         "fakes get 0 (torch.zeros_like)."),
        (real_term + _mean([-math.log(_sigmoid(x)) for x in f]),
         "both batches got label 1: the fakes need label 0 (torch.zeros_like(fake_logits))."),
        (_mean([-math.log(1 - _sigmoid(x)) for x in r]) + fake_term,
         "both batches got label 0: the real images need label 1 (torch.ones_like(real_logits))."),
        (_mean([-math.log(_sigmoid(_sigmoid(x))) for x in r])
         + _mean([-math.log(1 - _sigmoid(_sigmoid(x))) for x in f]),
         "the sigmoid is applied twice: *_with_logits losses apply it themselves, so pass the raw logits."),
        (len(r) * real_term + len(f) * fake_term, "average over the batch (mean), don't sum."),
        (-(real_term + fake_term), "check the sign: BCE is -log(probability of the right label), a positive number."),
        (real_term - fake_term, "the fake term is subtracted: both BCE terms are positive losses, add them."),
        (fake_term - real_term, "the real term is subtracted: both BCE terms are positive losses, add them."),
        (_mean([max(0.0, 1 - x) for x in r]) + _mean([max(0.0, 1 + x) for x in f]),
         "that is the hinge loss; this exercise uses BCE: F.binary_cross_entropy_with_logits."),
    ]
    return real_term + fake_term, mistakes


def _g_loss_mistakes(f: list[float]) -> tuple[float, list[tuple[float, str]]]:
    """The non-saturating generator loss for fake logits f, with the usual wrong versions."""
    saturating = _mean([math.log(1 - _sigmoid(x)) for x in f])
    mistakes = [
        (saturating, "that is the saturating loss log(1 - D(G(z))): when D confidently rejects the fakes "
                     "(early in training) its gradient vanishes. Minimise -log D(G(z)) instead: BCE with label 1."),
        (-saturating, "that is D's loss on fakes (label 0): G wants D to say 'real', so use label 1 "
                      "(torch.ones_like)."),
        (_mean([-math.log(_sigmoid(_sigmoid(x))) for x in f]),
         "the sigmoid is applied twice: *_with_logits losses apply it themselves, so pass the raw logits."),
        (_mean([math.log(_sigmoid(x)) for x in f]), "check the sign: minimise -log sigma(f), a positive number."),
        (sum(-math.log(_sigmoid(x)) for x in f), "average over the batch (mean), don't sum."),
        (_mean([-x for x in f]), "that is the WGAN / hinge generator loss -mean(f); here use the non-saturating "
                                 "BCE loss -log sigmoid(f), with label 1."),
        (_mean([-_sigmoid(x) for x in f]), "take the log: the loss is -log sigmoid(f), not -sigmoid(f)."),
        (_mean([(x - 1) ** 2 for x in f]), "that is a squared error (LSGAN); here use BCE with label 1: "
                                           "F.binary_cross_entropy_with_logits."),
    ]
    return _mean([-math.log(_sigmoid(x)) for x in f]), mistakes


def _tiny_gan() -> tuple[nn.Module, nn.Module]:
    """Small gan_lib models (32x32, width 8) with fixed weights, fast enough for a check."""
    torch.manual_seed(0)
    # No normalisation in D: each image's logit doesn't depend on the rest of the batch, so real and
    # fake images may go through D separately or together.
    cfg = ModelConfig(latent_dim=16, g_width=8, d_width=8, d_norm="none")
    G, D = Generator(cfg), Discriminator(cfg)
    # A livelier D than the DCGAN init: logits of order 1, fakes rejected (about -1) as early in
    # training, so the usual wrong losses give clearly different values.
    with torch.no_grad():
        for m in D.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, a=0.2)
        D.classify.bias.fill_(-1.0)
    return G, D


def _linear_input_hint(shapes: list[tuple[nn.Module, tuple, tuple | None]]) -> str | None:
    """Why D's final Linear layer got the wrong number of features, from the shapes its layers saw."""
    linear, given, out = shapes[-1] if shapes else (None, (), None)  # the layer that failed
    if not isinstance(linear, nn.Linear) or out is not None:
        return None
    if len(given) > 2:
        return f"the Linear layer got a {len(given)}-D input of shape {given}: put nn.Flatten() before it."
    convs = [(m, shape, out) for m, shape, out in shapes if isinstance(m, nn.Conv2d) and out is not None]
    for m, shape, out in convs:
        if tuple(m.stride) == (2, 2) and out[-1] != shape[-1] // 2:
            return (f"a stride-2 Conv2d turned {shape[-1]}x{shape[-1]} maps into {out[-1]}x{out[-1]}: use "
                    f"kernel_size=4, stride=2, padding=1, which halves the size exactly.")
    if convs and convs[-1][2][-1] != 4:
        size = convs[-1][2][-1]
        return (f"the last feature maps are {size}x{size}, not 4x4: four stride-2 convolutions take "
                f"64 -> 32 -> 16 -> 8 -> 4.")
    return (f"the Linear layer gets {given[-1]} features but has in_features={linear.in_features}: "
            f"use nn.Linear({given[-1]}, 1) (channels x 4 x 4).")


_LR = 2e-4  # the course's learning rate; Adam's first step moves each weight by about this much


def _adam(model: nn.Module) -> torch.optim.Adam:
    return torch.optim.Adam(model.parameters(), lr=_LR, betas=(0.5, 0.999))


def _weights(model: nn.Module) -> list[Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def _same(model: nn.Module, weights: list[Tensor]) -> bool:
    return all(torch.equal(p, w) for p, w in zip(model.parameters(), weights))


def _same_step(model: nn.Module, reference: nn.Module) -> bool:
    """Did `model` take the reference's step? Equal weights, up to a tenth of one step (rounding)."""
    return all(torch.allclose(p, q, rtol=0, atol=0.1 * _LR) for p, q in zip(model.parameters(), reference.parameters()))


def _leftover_grads(model: nn.Module) -> list[Tensor]:
    """Gradients left in `model` by an earlier backward(), as in a training loop: they catch a missing zero_grad()."""
    grads = [torch.randn_like(p) for p in model.parameters()]
    for p, g in zip(model.parameters(), grads):
        p.grad = g.clone()
    return grads


def _step_without_zero_grad(model: nn.Module, grads: list[Tensor], loss: Callable[[nn.Module], Tensor]) -> nn.Module:
    """A copy of `model` after one Adam step on loss(copy) whose gradients add to the leftover `grads`."""
    model = copy.deepcopy(model)
    for p, g in zip(model.parameters(), grads):
        p.grad = g.clone()
    opt = _adam(model)
    loss(model).backward()
    opt.step()
    return model


def _bce_logits(logits: Tensor, label: float) -> Tensor:
    return nn.functional.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


def _run_step(fn: Callable, *args: Any, hints: dict[str, str] | None = None) -> tuple[Any, list[torch.optim.Optimizer]]:
    """Run a training-step answer, recording every optimiser whose .step() it calls."""
    stepped: list[torch.optim.Optimizer] = []
    handle = register_optimizer_step_pre_hook(lambda opt, *_: stepped.append(opt))
    try:
        out = _run(fn, *args, hints=hints)
    finally:
        handle.remove()
    return out, stepped


def _checked_g_loss(fn: Callable[[Tensor], Tensor], name: str,
                    mistakes_of: Callable[[list[float]], tuple[float, list[tuple[float, str]]]],
                    fallback: str, detach_hint: str, abs_tol: float = 0.0) -> float:
    """A generator loss on fixed fake logits: its value against the reference (naming a known mistake),
    and a gradient that pushes every fake logit up. Returns the loss."""
    f_values = [0.5, -2.0, 1.5, -0.3]
    f = torch.tensor(f_values, requires_grad=True)
    out = _scalar(_run(fn, f), name)
    expected, mistakes = mistakes_of(f_values)
    got = out.item()
    if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=abs_tol):
        raise _NotYet(f"for fake logits {f_values} your loss is {got:.4f}, expected {expected:.4f}.",
                      _known_mistake(got, mistakes) or fallback)
    out.backward()
    _require(f.grad is not None and (f.grad < 0).all(), "the gradient does not push every fake logit up.",
             detach_hint)
    return got


# A path of `steps` points from z1 to z2, vectors of shape (latent_dim,): interpolate (03) and slerp (08).
_ONE_DIMENSION = ("z1 and z2 have shape (latent_dim,), one dimension, not (1, latent_dim): use z1.shape[-1], "
                  "or let broadcasting do the work.")
_PATH_HINTS = {"must match the size of tensor": "t must be shaped (steps, 1) so it broadcasts over latent_dim: "
                                                "t = torch.linspace(0, 1, steps).view(-1, 1).",
               "Dimension out of range": _ONE_DIMENSION,  # z1.size(1)
               "tuple index out of range": _ONE_DIMENSION}  # z1.shape[1]


def _path_shape_hint(shape: tuple, steps: int, latent_dim: int, broadcast: str, formula: str) -> str:
    """Why a path from z1 to z2 has this shape, not (steps, latent_dim).

    broadcast: how to get rows without torch.stack; formula: an expression that broadcasts to (steps, latent_dim).
    """
    return {
        (steps - 1, latent_dim): "one row short: torch.linspace(0, 1, steps) gives steps points, both ends included.",
        (steps + 1, latent_dim): "one row too many: torch.linspace(0, 1, steps) gives steps points, "
                                 "both ends included.",
        (steps * latent_dim,): f"torch.cat joins the vectors end to end: torch.stack(rows) puts them in rows, "
                               f"or {broadcast}.",
        (steps, 1, latent_dim): "one dimension too many: t of shape (steps, 1) times z of shape (latent_dim,) "
                                "already gives (steps, latent_dim).",
        (latent_dim, steps): "rows and columns are swapped: each row is one vector, so t is shaped (steps, 1) "
                             "and z1, z2 stay (latent_dim,).",
    }.get(shape, "z1 and z2 have shape (latent_dim,); t = torch.linspace(0, 1, steps).view(-1, 1) has shape "
                 f"(steps, 1), so {formula} broadcasts to (steps, latent_dim).")
