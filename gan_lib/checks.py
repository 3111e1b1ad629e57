"""Checks for the notebook exercises: `check_x(answer)` prints ✅ or ❌ with a hint, and returns True/False.

Every check runs your answer on small, seeded inputs and compares it with values worked out
independently (plain `math`, or the tested `gan_lib` code). A check never raises: an unfinished
answer (returns None, raises NotImplementedError) is reported as "not answered yet", and an
exception from your code is reported with its type and message, so the notebook keeps running.
The reference answers are in `gan_lib/solutions.py`; try first!
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
from torch.overrides import TorchFunctionMode

from .models import Discriminator, Generator, ModelConfig

# --- plumbing shared by all checks --------------------------------------------------------------


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


# --- 01 data ------------------------------------------------------------------------------------


@_check
def check_normalize(fn: Callable[[Tensor], Tensor]) -> str:
    """normalize(uint8 images N x 3 x H x W) -> float images in [-1, 1]: 0 -> -1, 255 -> 1, input unchanged."""
    fn = _callable(fn)
    x = torch.randint(0, 256, (2, 3, 4, 5), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    x[0, 0, 0, :2] = torch.tensor([0, 255], dtype=torch.uint8)  # make sure both ends are there
    original = x.clone()
    out = _tensor(_run(fn, x), "normalize")
    _require(torch.equal(x, original), "the input tensor was changed.",
             "convert first (images.float() makes a new tensor), then do the maths on the copy.")
    _require(out.is_floating_point(), f"the result has dtype {out.dtype}, not a float type.",
             "uint8 can't hold values like -0.5: convert with .float() before dividing.")
    _require(out.shape == x.shape, f"the shape changed from {tuple(x.shape)} to {tuple(out.shape)}.",
             "normalising changes values only: don't reshape, permute or select.")
    expected = x.double() / 127.5 - 1
    if not torch.allclose(out.double(), expected, atol=2e-3):
        xd = x.double()
        mistakes = [
            (xd / 255, "that is [0, 1]; the generator's tanh outputs [-1, 1]: multiply by 2 and subtract 1."),
            (xd / 127.5, "almost: now subtract 1, so 0 maps to -1 and 255 to 1."),
            (xd / 255 - 1, "that is [-1, 0]: divide by 127.5 (not 255) before subtracting 1."),
            (1 - xd / 127.5, "the range is reversed: 0 must become -1 and 255 must become 1."),
            (xd / 127.5 + 1, "subtract 1, don't add it: 0 must become -1."),
            ((xd - 127.5) / 255, "that is [-0.5, 0.5]: divide by 127.5 (half of 255), not by 255."),
            (xd - 127.5, "that is [-127.5, 127.5]: now divide by 127.5."),
            ((xd - xd.mean()) / xd.std(), "that standardises with this batch's mean and std: map the fixed range "
                                          "instead, 0 -> -1 and 255 -> 1."),
        ]
        hint = next((h for m, h in mistakes if torch.allclose(out.double(), m, atol=2e-3)), None)
        low, high = out[0, 0, 0, 0].item(), out[0, 0, 0, 1].item()
        if hint is None and abs(low + 1) < 2e-3 and abs(high - 1) < 0.05:  # e.g. / 128 - 1: 255 -> 0.992
            hint = "almost: divide by exactly 127.5 (half of 255), not 127 or 128, so that 255 lands on 1."
        raise _NotYet(f"0 became {low:.3f} and 255 became {high:.3f} (expected -1 and 1).",
                      hint or "map linearly so that 0 -> -1 and 255 -> 1: images.float() / 127.5 - 1.")
    return "uint8 [0, 255] -> float [-1, 1], and the input is left as it was."


@_check
def check_flip(fn: Callable[[Tensor, torch.Generator], Tensor]) -> str:
    """flip(images, generator): each image unchanged or mirrored left-right, about half of them, reproducibly."""
    fn = _callable(fn)
    x = torch.randn(256, 3, 4, 6, generator=torch.Generator().manual_seed(0))  # no image equals its mirror
    hints = {"must match the size of tensor": "make the per-image choice shape (N, 1, 1, 1), e.g. "
                                              "mask.view(-1, 1, 1, 1), to broadcast over channels, height and width."}
    out = _tensor(_run(fn, x.clone(), torch.Generator().manual_seed(1), hints=hints), "flip")
    _require(out.shape == x.shape, f"the shape changed from {tuple(x.shape)} to {tuple(out.shape)}.",
             "return a batch of the same shape: torch.where(mask.view(-1, 1, 1, 1), images.flip(-1), images).")
    _require(out.dtype == x.dtype, f"the dtype changed from {x.dtype} to {out.dtype}.", "don't convert the images.")

    def per_image(y: Tensor, result: Tensor = out) -> Tensor:  # which images of `result` equal those of y
        return (result == y).flatten(1).all(dim=1)

    unchanged, mirrored = per_image(x), per_image(x.flip(-1))
    _require((unchanged | mirrored).all() or not ((out == x) | (out == x.flip(-1))).all(),
             f"{int((~(unchanged | mirrored)).sum())} of 256 images are only partly mirrored.",
             "toss one coin per image, not per pixel, channel or row: torch.rand(N, generator=generator) < 0.5, "
             "shaped (N, 1, 1, 1) for torch.where.")
    if not (unchanged | mirrored).all():
        wrong = [(x.flip(-2), "flip(-2) turns dogs upside down: mirror left-right with flip(-1), the width axis."),
                 (x.flip(1), "flip(1) reverses the colour channels: mirror left-right with flip(-1), the width axis."),
                 (x.flip(0), "flip(0) reverses the order of the batch: mirror each image with flip(-1).")]
        hint = next((h for y, h in wrong if (per_image(y) & ~unchanged).any()),
                    "each output image must be exactly its input image, or that image mirrored: images.flip(-1).")
        raise _NotYet(f"{int((~(unchanged | mirrored)).sum())} of 256 images are neither unchanged nor mirrored "
                      f"left-right.", hint)
    share = mirrored.float().mean().item()
    if share in (0, 1):  # one coin for the whole batch mirrors all images or none, depending on the seed
        shares = {share} | {per_image(x.flip(-1), _tensor(_run(fn, x.clone(), torch.Generator().manual_seed(seed),
                                                                hints=hints), "flip")).float().mean().item()
                            for seed in range(2, 8)}
        _require(shares != {0, 1}, "depending on the seed, all images were mirrored or none.",
                 "that is one coin for the whole batch: toss one per image, torch.rand(N, generator=generator) < 0.5.")
    _require(share > 0, "no image was mirrored.",
             "compute the flipped batch images.flip(-1) and use it for a random half.")
    _require(share < 1, "every image was mirrored.",
             "flip each image with probability 1/2, one random number per image: "
             "torch.rand(N, generator=generator) < 0.5.")
    _require(0.35 <= share <= 0.65, f"{share:.0%} of the images were mirrored, not about half.",
             "flip each image with probability 1/2: torch.rand(N, generator=generator) < 0.5.")
    again = _tensor(_run(fn, x.clone(), torch.Generator().manual_seed(1), hints=hints), "flip")
    _require(torch.equal(again, out), "two calls with identically seeded generators gave different results.",
             "draw the random numbers from the `generator` argument: torch.rand(N, generator=generator).")
    other = _tensor(_run(fn, x.clone(), torch.Generator().manual_seed(2), hints=hints), "flip")
    _require(not torch.equal(other, out), "a differently seeded generator mirrored the very same images.",
             "the choice must be random: torch.rand(N, generator=generator) < 0.5, not a fixed pattern.")
    one = _tensor(_run(fn, x[:1].clone(), torch.Generator().manual_seed(0), hints=hints), "flip")
    _require(one.shape == x[:1].shape, f"a batch of 1 image came back with shape {tuple(one.shape)}.",
             "avoid .squeeze(); reshape the choice with .view(-1, 1, 1, 1).")
    return f"each image is kept or mirrored ({share:.0%} mirrored here), reproducibly from the generator."


# --- 02 discriminator ---------------------------------------------------------------------------


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
    _require(not is_tensor, f"{_name(fn)} returned a tensor (of the right value).",
             "return a Python float: call .item() on it.")
    return "9 of 12 verdicts right: 0.7500."


# --- 03 generator -------------------------------------------------------------------------------


@_check
def check_generator_64(model: nn.Module) -> str:
    """A model noise (N, 100) -> images (N, 3, 64, 64) in [-1, 1], ending with Tanh, with upsampling layers."""
    G = _module_copy(model, "generator_64()")
    z = torch.randn(5, 100)
    # A DCGAN written for z of shape (N, 100, 1, 1) fails on (N, 100) noise.
    hints = {"Expected 3D (unbatched) or 4D (batched) input":
             "the noise is (N, 100): start with nn.Linear(100, C * 4 * 4) and nn.Unflatten(1, (C, 4, 4)).",
             "(5x100 and": "the noise has 100 numbers: the first layer is nn.Linear(100, C * 4 * 4).",
             "don't multiply up to the size": "nn.Unflatten(1, (C, 4, 4)) needs exactly C * 4 * 4 features: "
                                              "the Linear layer before it is nn.Linear(100, C * 4 * 4).",
             "channels, but got": "each layer's in_channels must equal the out_channels of the layer before it "
                                  "(after nn.Unflatten(1, (C, 4, 4)): C)."}
    out = _tensor(_run(G.train(), z, hints=hints), "your generator")
    if tuple(out.shape) != (5, 3, 64, 64):
        size = out.shape[-1] if out.dim() == 4 else 0
        doublings = round(math.log2(size / 4)) if size >= 4 else None  # from 4x4
        four_doublings = ": 4 -> 8 -> 16 -> 32 -> 64 takes four doublings."
        if out.dim() != 4:
            hint = "start at 4x4 (Linear + Unflatten), double the size four times, end with 3 channels."
        elif doublings is None or 4 * 2 ** doublings != size:
            hint = (f"the images are {size} pixels wide: nn.ConvTranspose2d(c_in, c_out, kernel_size=4, stride=2, "
                    f"padding=1) doubles the size exactly (other kernel or padding values don't).")
        elif doublings < 4:
            hint = ("add one more upsampling block" if doublings == 3 else
                    f"add {4 - doublings} more upsampling blocks") + four_doublings
        elif doublings > 4:
            hint = ("one upsampling block too many" if doublings == 5 else
                    f"{doublings - 4} upsampling blocks too many") + four_doublings
        elif out.shape[1] != 3:
            hint = "the last layer must output 3 channels (RGB)."
        else:
            hint = "start at 4x4 (Linear + Unflatten), double the size four times, end with 3 channels."
        raise _NotYet(f"5 noise vectors gave images of shape {tuple(out.shape)}, expected (5, 3, 64, 64).", hint)
    _require(torch.isfinite(out).all(), "the images contain NaN or inf.", "check the layers for divisions or logs.")
    ends_with_tanh = _last_op(out) == "TanhBackward0" if out.grad_fn is not None else out.abs().max() <= 1
    _require(ends_with_tanh and out.abs().max() <= 1, "the output does not end with a tanh.",
             "nn.Sigmoid gives [0, 1], but the photos are normalised to [-1, 1]: finish with nn.Tanh() instead."
             if _last_op(out) == "SigmoidBackward0" else
             "finish with nn.Tanh(), so pixels land in [-1, 1] like the normalised photos.")
    _require(any(isinstance(m, (nn.ConvTranspose2d, nn.Upsample)) for m in G.modules()),
             "no upsampling layer found.", "double the size with nn.ConvTranspose2d(c_in, c_out, 4, 2, 1) "
                                           "(or nn.Upsample(scale_factor=2) + nn.Conv2d).")
    _require(not torch.allclose(out[0], out[1]), "different noise vectors gave the same image.",
             "the noise must reach the output: start the model with the noise, e.g. nn.Linear(100, ...).")
    with torch.no_grad():
        one = _tensor(_run(G.eval(), z[:1]), "your generator")
    _require(tuple(one.shape) == (1, 3, 64, 64), f"in eval mode, 1 noise vector gave shape {tuple(one.shape)}.",
             "don't hard-code the batch size: nn.Unflatten(1, (C, 4, 4)) keeps it.")
    return "noise (N, 100) -> images (N, 3, 64, 64) in [-1, 1], in train and eval mode."


@_check
def check_interpolate(fn: Callable[[Tensor, Tensor, int], Tensor]) -> str:
    """interpolate(z1, z2, steps) with vectors of shape (latent_dim,): (steps, latent_dim), z1 to z2 inclusive."""
    fn = _callable(fn)
    one_dimension = ("z1 and z2 have shape (latent_dim,), one dimension, not (1, latent_dim): use z1.shape[-1], "
                     "or let broadcasting do the work.")
    hints = {"must match the size of tensor": "t must be shaped (steps, 1) so it broadcasts over latent_dim: "
                                              "t = torch.linspace(0, 1, steps).view(-1, 1).",
             "Dimension out of range": one_dimension,  # z1.size(1)
             "tuple index out of range": one_dimension}  # z1.shape[1]
    for latent_dim, steps in ((100, 7), (16, 2)):
        z1, z2 = torch.randn(latent_dim), torch.randn(latent_dim)
        out = _run(fn, z1, z2, steps, hints=hints)
        _require(not isinstance(out, (list, tuple)), f"interpolate returned a {type(out).__name__}, not a tensor.",
                 "torch.stack(rows) turns a list of (latent_dim,) vectors into one (steps, latent_dim) tensor.")
        out = _tensor(out, "interpolate")
        if tuple(out.shape) != (steps, latent_dim):
            shape_hints = {
                (steps - 1, latent_dim): "one row short: torch.linspace(0, 1, steps) gives steps points, "
                                         "both ends included.",
                (steps + 1, latent_dim): "one row too many: torch.linspace(0, 1, steps) gives steps points, "
                                         "both ends included.",
                (steps * latent_dim,): "torch.cat joins the vectors end to end: torch.stack(rows) puts them "
                                       "in rows, or broadcast (1 - t) * z1 + t * z2 with t of shape (steps, 1).",
                (steps, 1, latent_dim): "one dimension too many: t of shape (steps, 1) times z of shape "
                                        "(latent_dim,) already gives (steps, latent_dim).",
                (latent_dim, steps): "rows and columns are swapped: each row is one vector, so t is shaped (steps, 1) "
                                      "and z1, z2 stay (latent_dim,).",
            }
            raise _NotYet(f"for steps={steps} and vectors of length {latent_dim} the shape is {tuple(out.shape)}, "
                          f"expected ({steps}, {latent_dim}).",
                          shape_hints.get(tuple(out.shape), "z1 and z2 have shape (latent_dim,); t = "
                                          "torch.linspace(0, 1, steps).view(-1, 1) has shape (steps, 1), so "
                                          "(1 - t) * z1 + t * z2 broadcasts to (steps, latent_dim)."))
        t = torch.linspace(0, 1, steps).view(-1, 1)
        expected = (1 - t) * z1 + t * z2
        out = out.float()
        if not torch.allclose(out, expected, atol=1e-5):
            i = torch.arange(steps).view(-1, 1)
            wrong = [((1 - i / steps) * z1 + i / steps * z2,
                      "the last row must be z2 itself: torch.linspace(0, 1, steps) includes both ends, "
                      "torch.arange(steps) / steps stops short of 1."),
                     ((1 - (i + 1) / steps) * z1 + (i + 1) / steps * z2,
                      "the first row must be z1 itself (t = 0): torch.linspace(0, 1, steps) includes both ends."),
                     (t * z1 + (1 - t) * z2, "you go from z2 to z1: row 0 must be z1, the last row z2."),
                     (z1 + t * (z1 - z2), "the direction is z2 - z1 (towards z2): z1 + t * (z2 - z1)."),
                     (z1 + t * (z2 + z1), "check the sign: z1 + t * (z2 - z1), a minus between z2 and z1."),
                     (z1 + t * z2, "z1 must fade out while z2 fades in: (1 - t) * z1 + t * z2."),
                     (t * z2, "z1 is missing: (1 - t) * z1 + t * z2.")]
            hint = next((h for w, h in wrong if torch.allclose(out, w, atol=1e-5)), None)
            if hint is None and torch.allclose(out[0], z1, atol=1e-5) and torch.allclose(out[-1], z2, atol=1e-5):
                hint = "the ends are right but the path is not a straight line with equal steps: (1 - t) * z1 + t * z2."
            raise _NotYet(f"for steps={steps} the rows are not evenly spaced points from z1 to z2.",
                          hint or "row i is (1 - t) * z1 + t * z2 with t = i / (steps - 1), "
                                  "i.e. t = torch.linspace(0, 1, steps).")
    return "a straight line from z1 to z2 in equal steps, both ends included."


@_check
def check_generator_loss(fn: Callable[[Tensor], Tensor]) -> str:
    """generator_loss(fake_logits): the non-saturating loss -log sigmoid(f), averaged (BCE with label 'real')."""
    got = _checked_g_loss(_callable(fn), "generator_loss", _g_loss_mistakes,
                          "-log sigmoid(f) averaged: "
                          "F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits)).",
                          "don't .detach() the logits: G learns through this loss.")
    return f"the non-saturating loss -log sigmoid(f), averaged (loss {got:.4f})."


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


# --- 04 adversarial loop ------------------------------------------------------------------------


@_check
def check_discriminator_step(fn: Callable) -> str:
    """discriminator_step(G, D, opt_d, real, z): one Adam update of D on the BCE loss; G untouched, no grads in G."""
    fn = _callable(fn)
    G, D = _tiny_gan()
    opt_d = _adam(D)
    real = torch.rand(8, 3, 32, 32) * 2 - 1
    z = torch.randn(8, G.cfg.latent_dim)
    # The reference: the same step by gan_lib's tested code, on copies.
    G_ref, D_ref = copy.deepcopy(G), copy.deepcopy(D)
    with torch.no_grad():
        fake = copy.deepcopy(G)(z)
        r_values, f_values = D_ref(real).tolist(), D_ref(fake).tolist()
    expected, mistakes = _bce_mistakes(r_values, f_values)
    from .training import discriminator_step  # late import: training pulls in the whole trainer

    discriminator_step(G_ref, D_ref, _adam(D_ref), real, z)
    leftover = _leftover_grads(D)  # as after the previous G step's backward through D
    D_acc = _step_without_zero_grad(D, leftover, lambda d: _bce_logits(d(real), 1.0) + _bce_logits(d(fake), 0.0))
    g_before, d_before = _weights(G), _weights(D)

    hints = {"does not require grad": "only G(z) goes under torch.no_grad() (or .detach()): compute D(real), "
                                      "D(fake) and the loss outside it, so that D gets gradients."}
    out, stepped = _run_step(fn, G, D, opt_d, real, z, hints=hints)
    got = _number(out, "discriminator_step")
    _require(_same(G, g_before), "G's weights changed in the discriminator step.",
             "the D step updates D only: call opt_d.step(), which holds D's parameters, and nothing else.")
    _require(all(p.grad is None for p in G.parameters()), "G's parameters received gradients.",
             "make the fakes without a graph back into G: `with torch.no_grad(): fake = G(z)` "
             "(or G(z).detach()). Otherwise backward() works on G for nothing, and the grads pile up for the G step.")
    _require(all(p.requires_grad for p in G.parameters()), "G's parameters no longer require grad after your step.",
             "use torch.no_grad() for the fakes instead of G.requires_grad_(False), or switch it back on.")
    _require(all(o is opt_d for o in stepped), "your step called .step() on an optimiser other than opt_d.",
             "use the opt_d argument, and only that one.")
    _require(stepped, "opt_d.step() was never called.", "opt_d.zero_grad(); loss.backward(); opt_d.step().")
    _require(len(stepped) == 1, f"opt_d.step() was called {len(stepped)} times.",
             "step once: backpropagate the whole loss (real and fake terms), then call opt_d.step() once.")
    _require(not _same(D, d_before), "D's weights did not change.",
             "in this order: opt_d.zero_grad(), loss.backward(), opt_d.step(): a step before backward() (or "
             "right after zero_grad()) has no gradients to use.")
    averaged = math.isclose(got, expected / 2, rel_tol=1e-4)
    _require(averaged or math.isclose(got, expected, rel_tol=1e-4),
             f"the returned loss is {got:.4f}, expected {expected:.4f}.",
             _known_mistake(got, mistakes) or "return the BCE loss of D(real) with label 1 plus D(G(z)) with label 0.")
    _require(_same_step(D, D_ref) or not _same_step(D, D_acc), "D's step also used gradients left from before.",
             "call opt_d.zero_grad() before loss.backward(): otherwise the new gradients add up with old ones "
             "(like those the G step leaves in D).")
    _require(_same_step(D, D_ref), "D's weights differ from those after one Adam step on that loss.",
             "exactly once, on the loss you return: opt_d.zero_grad(), loss.backward(), opt_d.step().")
    return f"D took one step on the BCE loss ({got:.4f}); G was not touched and got no gradients."


@_check
def check_generator_step(fn: Callable) -> str:
    """generator_step(G, D, opt_g, z): one Adam update of G on the non-saturating loss; D bit-identical."""
    fn = _callable(fn)
    G, D = _tiny_gan()
    opt_g = _adam(G)
    z = torch.randn(8, G.cfg.latent_dim)
    # The reference: the same step by gan_lib's tested code, on copies.
    G_ref, D_ref = copy.deepcopy(G), copy.deepcopy(D)
    with torch.no_grad():
        f_values = D_ref(G_ref(z)).tolist()
    expected, mistakes = _g_loss_mistakes(f_values)
    from .training import generator_step  # late import: training pulls in the whole trainer

    generator_step(G_ref, D_ref, _adam(G_ref), z)
    leftover = _leftover_grads(G)  # as after the previous G step
    D_copy = copy.deepcopy(D)
    G_acc = _step_without_zero_grad(G, leftover, lambda g: _bce_logits(D_copy(g(z)), 1.0))
    g_before, d_before = _weights(G), _weights(D)

    hints = {"does not require grad": "no torch.no_grad() or .detach() in the G step: the gradient must flow "
                                      "from D's verdict back through D into G."}
    out, stepped = _run_step(fn, G, D, opt_g, z, hints=hints)
    got = _number(out, "generator_step")
    _require(_same(D, d_before), "D's weights changed in the generator step.",
             "only opt_g.step() may run here: opt_g holds G's parameters only. Don't step opt_d or an "
             "optimiser over both models.")
    _require(all(o is opt_g for o in stepped), "your step called .step() on an optimiser other than opt_g (opt_d?).",
             "the G step changes G only: call opt_g.step() and nothing else.")
    _require(all(p.requires_grad for p in D.parameters()), "D's parameters no longer require grad after your step.",
             "if you freeze D with D.requires_grad_(False), switch it back on (D.requires_grad_(True)) at the "
             "end, or D stops learning.")
    _require(stepped, "opt_g.step() was never called.", "opt_g.zero_grad(); loss.backward(); opt_g.step().")
    _require(len(stepped) == 1, f"opt_g.step() was called {len(stepped)} times.",
             "step once: loss.backward(), then opt_g.step() once.")
    no_grads = all(p.grad is None or not p.grad.any() for p in G.parameters())
    _require(not _same(G, g_before), "G's weights did not change.",
             "no gradient reached G: don't detach the fakes (no G(z).detach() or torch.no_grad()), the gradient "
             "has to flow from D's verdict back through D into G." if no_grads else
             "in this order: opt_g.zero_grad(), loss.backward(), opt_g.step(): a step before backward() (or "
             "right after zero_grad()) has no gradients to use.")
    _require(math.isclose(got, expected, rel_tol=1e-4), f"the returned loss is {got:.4f}, expected {expected:.4f}.",
             _known_mistake(got, mistakes) or "the non-saturating loss: BCE of D(G(z)) with label 1 ('real'), "
                                               "on the z you are given (don't draw new noise).")
    with torch.no_grad():
        before, after = torch.tensor(f_values).mean().item(), D(G(z)).mean().item()
    _require(after > before, f"D's verdict on G(z) fell ({before:.4f} -> {after:.4f}).",
             "G should move towards what D calls real: minimise the loss with label 1, don't maximise it.")
    _require(_same_step(G, G_ref) or not _same_step(G, G_acc), "G's step also used gradients left from before.",
             "call opt_g.zero_grad() before loss.backward(): otherwise the new gradients add up with those of "
             "the previous G step.")
    _require(_same_step(G, G_ref), "G's weights differ from those after one Adam step on that loss.",
             "exactly once, on the loss you return: opt_g.zero_grad(), loss.backward(), opt_g.step().")
    tip = "" if all(p.grad is None for p in D.parameters()) else \
        " Tip: D's weights received gradients too; fine as long as your D step starts with opt_d.zero_grad()."
    return f"G took one step that makes D more likely to call its images real (loss {got:.4f}); D is unchanged.{tip}"


# --- 05 judging a GAN ---------------------------------------------------------------------------


def _one_number(out: Any, what: str, many_hint: str) -> float:
    """A real one-number answer (Python/NumPy number or one-element tensor) as a float."""
    complex_hint = ("the distance is a real number: eigenvalues of a product come back as complex numbers, so take "
                    "the real part (.real) of the square roots before adding them up.")
    if isinstance(out, Tensor):
        _require(not out.is_complex(), f"{what} returned a complex tensor.", complex_hint)
        _require(out.numel() == 1, f"{what} returned a tensor of shape {tuple(out.shape)}, not one number.", many_hint)
        return out.item()
    _require(isinstance(out, numbers.Real) or not isinstance(out, numbers.Complex),
             f"{what} returned a complex number ({out}).", complex_hint)
    _require(isinstance(out, numbers.Real) and not isinstance(out, bool),
             f"{what} returned a {type(out).__name__}, not a number.", "return one number: a float or a 0-d tensor.")
    return float(out)


def _matrix_sqrt(s: Tensor) -> Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix."""
    evals, evecs = torch.linalg.eigh(s)
    return evecs @ torch.diag(evals.clamp(min=0).sqrt()) @ evecs.T


def _frechet_mistakes(mu1: Tensor, s1: Tensor, mu2: Tensor, s2: Tensor) -> tuple[float, list[tuple[float, str]]]:
    """The Fréchet distance of N(mu1, s1) and N(mu2, s2) (float64), with the usual wrong versions."""
    mean2 = (mu1 - mu2).pow(2).sum().item()
    traces = (s1.trace() + s2.trace()).item()
    # Tr((S1 S2)^(1/2)): the eigenvalues of S1 S2 are real and >= 0 (those of sqrt(S1) S2 sqrt(S1)),
    # but eigvals of the non-symmetric product returns them as complex numbers.
    root = torch.linalg.eigvals(s1 @ s2).sqrt().real.sum().item()
    mistakes = [
        (traces - 2 * root, "the mean term is missing: add ||mu1 - mu2||^2 = ((mu1 - mu2) ** 2).sum()."),
        (math.sqrt(mean2) + traces - 2 * root, "square the distance between the means: ||mu1 - mu2||^2 = "
                                               "((mu1 - mu2) ** 2).sum(), without a square root."),
        (mean2 + traces - root, "the factor 2 is missing: ... - 2 * Tr((S1 S2)^(1/2))."),
        (mean2 + traces + 2 * root, "check the sign: Tr(S1 + S2 - 2 (S1 S2)^(1/2)) subtracts the root term."),
        (mean2 + traces - 2 * torch.sqrt(s1 @ s2).trace().item(),
         "torch.sqrt(S1 @ S2) takes the square root of each entry; the formula needs the matrix square root. Its "
         "trace is the sum of the square roots of the eigenvalues of S1 @ S2: "
         "torch.linalg.eigvals(sigma1 @ sigma2).sqrt().real.sum()."),
        (mean2 + traces - 2 * torch.sqrt(s1 * s2).trace().item(),
         "S1 * S2 multiplies entry by entry: (S1 S2)^(1/2) is the matrix square root of the matrix product "
         "S1 @ S2."),
        (mean2 + traces - 2 * (_matrix_sqrt(s1) @ _matrix_sqrt(s2)).trace().item(),
         "(S1 S2)^(1/2) is the square root of the product, not the product of the square roots sqrt(S1) sqrt(S2) "
         "(they agree only when S1 and S2 commute, e.g. diagonal ones): torch.linalg.eigvals(sigma1 @ sigma2)"
         ".sqrt().real.sum() is its trace."),
        (mean2 + traces - 2 * torch.linalg.eigvalsh(s1 @ s2).sqrt().sum().item(),
         "torch.linalg.eigvalsh is for symmetric matrices, and S1 @ S2 is not symmetric (it reads one triangle "
         "only): use torch.linalg.eigvals(sigma1 @ sigma2).sqrt().real.sum()."),
        (mean2 + traces - 2 * math.sqrt((s1 @ s2).trace().item()),
         "that is the square root of the trace; the formula needs the trace of the matrix square root: the sum "
         "of the square roots of the eigenvalues of S1 @ S2."),
        (mean2 + (s1 - s2).pow(2).sum().item(),
         "sigma1 and sigma2 are covariances (in 1-D the variances s^2), not standard deviations: use "
         "Tr(S1 + S2 - 2 (S1 S2)^(1/2)), which in 1-D is (s1 - s2)^2."),
    ]
    return mean2 + traces - 2 * root, mistakes


def _covariance(d: int, gen: torch.Generator) -> Tensor:
    a = torch.randn(d, d, generator=gen, dtype=torch.float64)
    return a @ a.T / d + 0.1 * torch.eye(d, dtype=torch.float64)


@_check
def check_frechet_distance(fn: Callable[[Tensor, Tensor, Tensor, Tensor], Any]) -> str:
    """frechet_distance(mu1, sigma1, mu2, sigma2): ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)), one real number."""
    fn = _callable(fn)
    f64 = dict(dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    # (what, mu1, sigma1, mu2, sigma2, expected worked out by hand or None); float64, like real feature statistics
    cases = [
        # 1-D: N(1, 2^2) and N(-2, 0.5^2): (1 + 2)^2 + (2 - 0.5)^2 = 11.25
        ("for two 1-D Gaussians N(1, 2^2) and N(-2, 0.5^2)", torch.tensor([1.0], **f64),
         torch.tensor([[4.0]], **f64), torch.tensor([-2.0], **f64), torch.tensor([[0.25]], **f64), 11.25),
        # diagonal: sum over the axes of (m - m')^2 + (s - s')^2 = (1 + 0 + 4) + (1 + 1 + 4) = 11
        ("for diagonal covariances diag(1, 4, 9) and diag(4, 1, 1)", torch.tensor([0.0, 1.0, 2.0], **f64),
         torch.diag(torch.tensor([1.0, 4.0, 9.0], **f64)), torch.tensor([1.0, 1.0, 0.0], **f64),
         torch.diag(torch.tensor([4.0, 1.0, 1.0], **f64)), 11.0),
        # 2 x 2: Tr(M^(1/2)) = sqrt(Tr M + 2 sqrt(det M)); M = S1 S2 = [[3, 5], [3, 7]], det M = det S1 det S2 = 6
        ("for S1 = [[2, 1], [1, 2]], S2 = [[1, 1], [1, 3]] (full covariances)", torch.tensor([0.0, 2.0], **f64),
         torch.tensor([[2.0, 1.0], [1.0, 2.0]], **f64), torch.tensor([0.0, 0.0], **f64),
         torch.tensor([[1.0, 1.0], [1.0, 3.0]], **f64), 4 + (4 + 4) - 2 * math.sqrt(10 + 2 * math.sqrt(6))),
        ("for random 6-D full covariances", torch.randn(6, generator=gen, **f64), _covariance(6, gen),
         torch.randn(6, generator=gen, **f64), _covariance(6, gen), None),
    ]
    many = "add everything up to one number: the mean term is ((mu1 - mu2) ** 2).sum(), the rest traces."
    same_dtype = "keep all tensors in the inputs' dtype (float64): e.g. torch.eye(d, dtype=sigma1.dtype), no .float()."
    hints = {"expected scalar type": same_dtype, "same dtype": same_dtype}
    for what, mu1, s1, mu2, s2, by_hand in cases:
        inputs = [t.clone() for t in (mu1, s1, mu2, s2)]
        got = _one_number(_run(fn, *inputs, hints=hints), "frechet_distance", many)
        _require(all(torch.equal(a, b) for a, b in zip(inputs, (mu1, s1, mu2, s2))),
                 "your function changed its inputs.",
                 "compute new tensors (a + b, a @ b), no in-place operations (add_, sqrt_) on mu or sigma.")
        computed, mistakes = _frechet_mistakes(mu1, s1, mu2, s2)
        expected = computed if by_hand is None else by_hand
        _require(not math.isnan(got), f"{what} you get nan.",
                 "a square root of a negative number: torch.sqrt(S1 @ S2) takes the root of each entry (some are "
                 "negative); the formula needs the matrix square root, whose trace is the sum of the square roots "
                 "of the eigenvalues: torch.linalg.eigvals(sigma1 @ sigma2).sqrt().real.sum().")
        if not math.isclose(got, expected, rel_tol=1e-5, abs_tol=1e-8):
            raise _NotYet(f"{what} you get {got:.4f}, expected {expected:.4f}.",
                          _known_mistake(got, mistakes) or "||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2)), "
                                                           "the last trace being the sum of the square roots of the "
                                                           "eigenvalues of S1 @ S2.")
    return "||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)), right in 1-D and for diagonal and full covariances."


def _mmd_by_hand(x: list[list[float]], y: list[list[float]]) -> float:
    """The unbiased MMD^2 with KID's kernel, written out in plain Python loops (for tiny examples)."""
    d = len(x[0])

    def k(a: list[float], b: list[float]) -> float:
        return (sum(p * q for p, q in zip(a, b)) / d + 1) ** 3

    def within(s: list[list[float]]) -> float:  # distinct pairs only
        return sum(k(s[i], s[j]) for i in range(len(s)) for j in range(len(s)) if i != j) / (len(s) * (len(s) - 1))

    return within(x) + within(y) - 2 * sum(k(a, b) for a in x for b in y) / (len(x) * len(y))


def _kernel_means(x: Tensor, y: Tensor, degree: int = 3, scale: float | None = None,
                  diagonal: bool = False) -> tuple[float, float, float]:
    """Means of k(a, b) = (a.b / scale + 1)^degree within x, within y (distinct pairs unless `diagonal`) and across."""
    x, y = x.double(), y.double()
    scale = scale or x.shape[1]

    def within(s: Tensor) -> float:
        k = (s @ s.T / scale + 1) ** degree
        n = len(s)
        return (k.mean() if diagonal else (k.sum() - k.diagonal().sum()) / (n * (n - 1))).item()

    return within(x), within(y), ((x @ y.T / scale + 1) ** degree).mean().item()


def _mmd_mistakes(x: Tensor, y: Tensor) -> tuple[float, list[tuple[float, str]]]:
    """The unbiased MMD^2 with KID's kernel (float64), with the usual wrong versions."""
    n, m = len(x), len(y)

    def mmd(**kernel: Any) -> float:
        xx, yy, xy = _kernel_means(x, y, **kernel)
        return xx + yy - 2 * xy

    xx, yy, xy = _kernel_means(x, y)
    mistakes = [
        (mmd(diagonal=True),
         "k(a, a) is in your within-set means: that is the biased estimate (positive even for two samples of one "
         "distribution). Leave out the diagonal: (K.sum() - K.diagonal().sum()) / (n * (n - 1))."),
        (xx * (n - 1) / n + yy * (m - 1) / m - 2 * xy,
         "you left out the diagonal but still divide by n * n: n samples have n * (n - 1) distinct pairs."),
        (xx + yy - xy, "the factor 2 is missing: ... - 2 * mean of k(x_i, y_j)."),
        (2 * xy - xx - yy, "check the sign: the within-set means are added, the cross term subtracted."),
        (xx + yy + 2 * xy, "check the sign: the cross term is subtracted, - 2 * mean of k(x_i, y_j)."),
        (mmd(degree=2), "KID's kernel is cubic: (a.b / d + 1) ** 3, not ** 2."),
        (mmd(degree=1), "KID's kernel is cubic: (a.b / d + 1) ** 3; without the power it is a linear kernel."),
        (mmd(scale=1), "divide the dot product by d, the feature dimension: (a.b / d + 1) ** 3 with d = x.shape[1]."),
        (mmd(scale=n), "d is the feature dimension x.shape[1], not the number of samples len(x)."),
    ]
    # the cross term without the pairs (x_i, y_i): those are no special pairs, keep them all
    k_xy = (x.double() @ y.double().T / x.shape[1] + 1) ** 3
    off_diagonal = (k_xy.sum() - k_xy.diagonal().sum()).item()
    for pairs in (n * m - min(n, m), n * (n - 1), m * (m - 1)):
        mistakes.append((xx + yy - 2 * off_diagonal / pairs, "the cross term uses all n * m pairs (x_i, y_j), "
                                                             "i == j included: only the within-set means leave out "
                                                             "the diagonal."))
    return xx + yy - 2 * xy, mistakes


@_check
def check_kid_mmd(fn: Callable[[Tensor, Tensor], Any]) -> str:
    """kid_mmd(x, y): unbiased MMD^2 of feature sets (n, d) and (m, d) with the kernel k(a, b) = (a.b / d + 1)^3."""
    fn = _callable(fn)
    # A small example: d = 2, n = 4, m = 3 (different sizes, so n and m must not be mixed up)
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 2.0]])
    y = torch.tensor([[0.0, 0.0], [2.0, 1.0], [1.0, -1.0]])
    # two samples of one Gaussian (float32, as features come): the unbiased estimate is about 0
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(300, 16, generator=gen), torch.randn(300, 16, generator=gen)
    many = "add the three means up to one number: mean_xx + mean_yy - 2 * mean_xy."
    hints = {"mat1 and mat2 shapes": "x is (n, d) and y is (m, d): the dot products of all pairs are x @ y.T, (n, m)."}
    value = 0.0
    cases = [("for x of 4 and y of 3 points in 2-D", x, y, _mmd_by_hand(x.tolist(), y.tolist())),
             ("for two samples of one 16-D Gaussian (300 points each)", a, b, None)]
    for what, p, q, by_hand in cases:
        inputs = (p.clone(), q.clone())
        value = _one_number(_run(fn, *inputs, hints=hints), "kid_mmd", many)
        _require(torch.equal(inputs[0], p) and torch.equal(inputs[1], q), "your function changed its inputs.",
                 "compute new tensors (x @ y.T / d + 1), no in-place operations (add_, pow_) on x or y.")
        computed, mistakes = _mmd_mistakes(p, q)
        expected = computed if by_hand is None else by_hand
        _require(not math.isnan(value), f"{what} you get nan.", "look for a division by zero: n * (n - 1) pairs.")
        if not math.isclose(value, expected, rel_tol=1e-4, abs_tol=1e-5):
            raise _NotYet(f"{what} you get {value:.4f}, expected {expected:.4f}.",
                          _known_mistake(value, mistakes) or "mean of k over pairs i != j within x, plus the same "
                          "within y, minus 2 * mean of k over all (x_i, y_j), with k(a, b) = (a.b / d + 1) ** 3.")
    within_a, within_b, across = _kernel_means(a, b, diagonal=True)
    biased = within_a + within_b - 2 * across
    return (f"the unbiased MMD^2 with KID's cubic kernel: two samples of one Gaussian give {value:.4f}, about 0 "
            f"(the biased estimate: {biased:.4f}).")


# --- 06 when GANs fail --------------------------------------------------------------------------


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
    from .callbacks import diversity  # the dashboard's measure (imported here: callbacks pulls in plotting)

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


# --- 07 conditional GANs ------------------------------------------------------------------------


def _tensor_mistake(got: Tensor, mistakes: list[tuple[Tensor, str]]) -> str | None:
    """The hint of the first known wrong answer with the shape and (float64) values of `got`."""
    return next((hint for value, hint in mistakes
                 if value.shape == got.shape and torch.allclose(got, value, rtol=1e-4, atol=1e-5)), None)


def _rounded(t: Tensor) -> list[float]:
    """A vector's values to three decimals, for a message."""
    return [round(x, 3) for x in t.tolist()]


# (N, F, num_classes, labels): D's features h are N x F.
_PROJECTION_CASES = (
    (5, 8, 3, [2, 0, 1, 2, 0]),
    (1, 6, 4, [3]),  # one image: .squeeze() without a dim drops the batch dimension too
    (4, 7, 4, [2, 0, 3, 2]),  # N = num_classes: embed.weight has embed(labels)'s shape, only the values tell
    (6, 6, 6, [1, 3, 0, 3, 2, 5]),  # N = F = num_classes: answers that don't broadcast elsewhere run here
)

_PROJECTION_SUM = ("the projection is one number per image, the dot product of its features with its claimed "
                   "class's vector: (embed(labels) * h).sum(dim=1).")
_PROJECTION_HINTS = {
    "mat1 and mat2 shapes cannot be multiplied": "no matrix product: " + _PROJECTION_SUM,
    "1D tensors expected": "torch.dot takes two vectors, not batches: " + _PROJECTION_SUM,
    "'indices'": "embed takes the labels as they are, integer class indices: embed(labels).",
    "index out of range in self": "the labels already run from 0 to num_classes - 1, the rows of embed: "
                                  "embed(labels), unchanged.",
    "must match the size of tensor": "both terms are one number per image, shape (N,): classify(h).squeeze(1), "
                                     "and (embed(labels) * h).sum(dim=1), each image's product summed over its "
                                     "features (dim=1). Print the shapes of your pieces.",
}
_PROJECTION_SIGMOID = ("D returns logits, not probabilities: no sigmoid (the loss applies it, as "
                       "F.binary_cross_entropy_with_logits does).")


def _projection_inputs(n: int, f: int, k: int, labels: list[int], seed: int
                       ) -> tuple[Tensor, Tensor, nn.Linear, nn.Embedding]:
    """D's features h (N x F, recording their gradient), the claimed classes, and the layers classify and embed."""
    gen = torch.Generator().manual_seed(seed)
    classify, embed = nn.Linear(f, 1), nn.Embedding(k, f)
    with torch.no_grad():  # fixed weights: both terms of order 1, so every typical mistake gives other values
        classify.weight.copy_(torch.randn(1, f, generator=gen) / math.sqrt(f))
        classify.bias.fill_(0.5)
        embed.weight.copy_(torch.randn(k, f, generator=gen) / math.sqrt(f))
    return torch.randn(n, f, generator=gen).requires_grad_(), torch.tensor(labels), classify, embed


def _projection_mistakes(h: Tensor, labels: Tensor, classify: nn.Linear, embed: nn.Embedding
                         ) -> tuple[Tensor, list[tuple[Tensor, str]]]:
    """The projection discriminator's logits (float64, shape (N,)), with the usual wrong versions."""
    h, w, b, table = (t.detach().double() for t in (h, classify.weight, classify.bias, embed.weight))
    (n, f), k = h.shape, len(table)
    column = h @ w.T + b  # classify(h): (N, 1)
    c, e = column.squeeze(1), table[labels]  # e = embed(labels): each image's claimed class's vector
    p = (e * h).sum(1)
    as_numbers = ("labels are class indices, not amounts (breed 2 is not twice breed 1): look up each image's "
                  "class vector, embed(labels), then (embed(labels) * h).sum(dim=1).")
    claimed_only = ("each image is judged for its claimed class only, so pick that class's vector with "
                    "embed(labels), then (embed(labels) * h).sum(dim=1).")
    every_class = "that is a logit for every class (all of embed.weight): " + claimed_only
    mistakes = [
        ((c + p).unsqueeze(1), "one logit per image, shape (N,), not (N, 1): classify(h) has shape (N, 1), "
                               "so squeeze it, classify(h).squeeze(1)."),
        (p, "the unconditional term is missing: add classify(h).squeeze(1), the logit an ordinary D gives."),
        (c, "the projection term is missing: add (embed(labels) * h).sum(dim=1), how well each image's features "
            "agree with the vector of the class it claims."),
        (c + e.sum(1), "the projection multiplies the class vector with the features: (embed(labels) * h).sum(dim=1); "
                       "embed(labels).sum(dim=1) alone ignores the image."),
        (c + labels * h.sum(1), as_numbers),
        (c + labels, as_numbers),
        (c + p / f, f"that is the mean over the features, {f} (F) times too small: the projection is a dot product, "
                    f"(embed(labels) * h).sum(dim=1)."),
        (torch.sigmoid(c + p), _PROJECTION_SIGMOID),
        (c + h @ table.sum(0), "that adds up the projections on all classes: " + claimed_only),
        (column + h @ table.T, every_class),
        (table @ h.T + c, every_class),
    ]
    if n > 1:  # for one image, the same 1 x 1 as the missing squeeze above
        mistakes.insert(1, (column + p, "classify(h) has shape (N, 1): adding the projection, shape (N,), broadcasts "
                                        "into an N x N matrix. Squeeze it first: classify(h).squeeze(1) + "
                                        "(embed(labels) * h).sum(dim=1)."))
    if n == f or n == 1:
        mistakes.append((c + (e * h).sum(0), "sum over the features, dim=1, to get one number per image; "
                                             "dim=0 sums over the batch."))
    if n == f:
        mistakes += [(c + h @ labels.double(), as_numbers),
                     (c + e * h, "sum the product over the features: " + _PROJECTION_SUM)]
    if n == k:
        mistakes += [(c + (table * h).sum(1), "embed.weight lists the classes in order (row i is class i), not the "
                                              "images' classes: embed(labels) picks each image's claimed class."),
                     (c + h @ table.T, every_class)]
    return c + p, mistakes


def _projection_shape_hint(shape: tuple, n: int, f: int, k: int) -> str:
    shapes = [
        ((), "for one image the result has no dimension left: .squeeze() without a dim drops every dimension of "
             "size 1, the batch's too when N = 1. Use .squeeze(1)."),
        ((n, 1), "one logit per image, shape (N,), not (N, 1): classify(h) has shape (N, 1), so squeeze it, "
                 "classify(h).squeeze(1)."),
        ((n, k), "that is a logit for every class (an N x num_classes matrix): each image is judged for its claimed "
                 "class only: (embed(labels) * h).sum(dim=1)."),
        ((k, n), "that is a logit for every class (a num_classes x N matrix): each image is judged for its claimed "
                 "class only: (embed(labels) * h).sum(dim=1)."),
        ((n, n), "classify(h) has shape (N, 1): adding something of shape (N,) to it broadcasts into an N x N "
                 "matrix. Squeeze it first: classify(h).squeeze(1)."),
        ((n, f), "sum the product over the features: " + _PROJECTION_SUM),
        ((f,), "you summed over the batch (dim=0): sum each image's product over its features, dim=1."),
    ]
    return next((hint for s, hint in shapes if s == shape),
                "one logit per image, shape (N,): classify(h).squeeze(1) + (embed(labels) * h).sum(dim=1).")


def _projection_diagnosis(fn: Callable) -> str | None:
    """Why an answer fails to broadcast: run it where N = F = num_classes, where most mistakes run, and name it."""
    h, labels, classify, embed = _projection_inputs(*_PROJECTION_CASES[-1], seed=len(_PROJECTION_CASES) - 1)
    try:
        out = fn(h, labels, classify, embed)
    except Exception:
        return None
    if not isinstance(out, Tensor):
        return None
    return _tensor_mistake(out.detach().double(), _projection_mistakes(h, labels, classify, embed)[1])


def _projection_grads(h: Tensor, labels: Tensor, classify: nn.Linear, embed: nn.Embedding,
                      pull: Tensor) -> tuple[Tensor, ...]:
    """The gradients of sum(pull * logits) for h, classify's weight and bias, and embed's weight (float64)."""
    leaves = [t.detach().double().requires_grad_() for t in (h, classify.weight, classify.bias, embed.weight)]
    h, w, b, table = leaves
    logits = (h @ w.T + b).squeeze(1) + (table[labels] * h).sum(1)
    return torch.autograd.grad((pull.double() * logits).sum(), leaves)


@_check
def check_projection_logit(fn: Callable[[Tensor, Tensor, nn.Linear, nn.Embedding], Tensor]) -> str:
    """projection_logit(h, labels, classify, embed): classify(h).squeeze(1) + (embed(labels) * h).sum(dim=1)."""
    fn = _callable(fn)
    gen = torch.Generator().manual_seed(0)
    message = ""
    for seed, (n, f, k, claimed) in enumerate(_PROJECTION_CASES):
        h, labels, classify, embed = _projection_inputs(n, f, k, claimed, seed)
        try:
            out = _run(fn, h, labels.clone(), classify, embed, hints=_PROJECTION_HINTS)
        except _NotYet as e:
            if "must match the size of tensor" in e.problem:  # which mistake? Where all sizes agree, it runs
                e.hint = _projection_diagnosis(fn) or e.hint
            raise
        out = _tensor(out, "projection_logit")
        expected, mistakes = _projection_mistakes(h, labels, classify, embed)
        got = out.detach().double()
        where = f"for h of shape ({n}, {f}), {k} classes and labels {claimed}"
        if got.shape != expected.shape or not torch.allclose(got, expected, rtol=1e-4, atol=1e-5):
            hint = _tensor_mistake(got, mistakes)
            if hint is None and _last_op(out).startswith("Sigmoid"):
                hint = _PROJECTION_SIGMOID
            if got.shape != expected.shape:
                raise _NotYet(f"{where} the result has shape {tuple(out.shape)}, expected ({n},).",
                              hint or _projection_shape_hint(tuple(out.shape), n, f, k))
            raise _NotYet(f"{where} the logits are {_rounded(got)}, expected {_rounded(expected)}.",
                          hint or "the unconditional logit plus the projection: classify(h).squeeze(1) + "
                                  "(embed(labels) * h).sum(dim=1).")
        _require(out.grad_fn is not None, f"{where} the logits can't be differentiated.",
                 "D learns through these logits: no .detach(), .item(), torch.tensor(...) or torch.no_grad() inside.")
        pull = torch.randn(n, generator=gen)  # a different pull on each image's logit
        (pull * out).sum().backward()
        wants = _projection_grads(h, labels, classify, embed, pull)
        for what, tensor, want, hint in (  # h last: classify(h).detach() cuts h's gradient through classify too
            ("classify's weight", classify.weight, wants[1], "call classify(h) itself, without .detach(), "
                                                             ".data or torch.no_grad()."),
            ("classify's bias", classify.bias, wants[2], "call classify(h) itself, with its bias."),
            ("embed's class vectors", embed.weight, wants[3], "the class vectors are learned: use embed(labels), not "
                                                              "embed.weight.data or embed(labels).detach()."),
            ("h, D's features", h, wants[0], "the layers before h learn through the logit too: don't .detach() h "
                                             "(or use h.data)."),
        ):
            _require(tensor.grad is not None, f"{where} no gradient reaches {what}.", hint)
            if not torch.allclose(tensor.grad.double(), want, rtol=1e-4, atol=1e-5):
                hint = ("compute the logit from classify(h), embed(labels) and h themselves, without .data or "
                        ".detach() on any part of it.")
                if tensor is h:  # h feeds both terms: is one term's share of the gradient missing?
                    through_classify = pull.double().view(-1, 1) * classify.weight.detach().double()
                    for term, rest in (("classify(h)", want - through_classify),
                                       ("(embed(labels) * h)", through_classify)):
                        if torch.allclose(h.grad.double(), rest, atol=1e-5):
                            hint = f"only one term's gradient reaches h: use h itself in {term} too, not h.data."
                raise _NotYet(f"{where} the gradient that reaches {what} is not the projection logit's.", hint)
        if seed == 0:
            c, p = classify.weight.detach() @ h[0].detach() + classify.bias.detach(), embed.weight[labels[0]] @ h[0]
            message = (f"for image 0 of the first batch, claiming class {claimed[0]}, classify gives {c.item():.2f} "
                       f"and the projection {p.item():.2f}")
    return (f"one logit per image, the unconditional classify(h) plus the projection on the claimed class "
            f"({message}); the gradient reaches h, classify and embed.")


# (N, latent_dim, num_classes, labels)
_ONE_HOT_CASES = (
    (5, 8, 6, [1, 3, 2, 3, 1]),  # neither 0 nor the largest class 5: F.one_hot(labels) alone makes only 4 columns
    (4, 16, 10, [7, 0, 9, 3]),
    (1, 3, 2, [0]),
)

_ONE_HOT_DTYPE = ("F.one_hot gives integers (torch.long) and z is float: convert the one-hot, "
                  "F.one_hot(labels, num_classes).float() (or .to(z.dtype)), then join them.")
_ONE_HOT_HINTS = {
    "except in dimension 0": "join z and the one-hot side by side, dim=1: each row is one image's noise followed by "
                             "its breed; dim=0 (torch.cat's default) would stack them as extra rows.",
    "Class values must be non-negative": "a label became negative: classes already count from 0, so one-hot the "
                                         "labels as they are: F.one_hot(labels, num_classes).",
    "Class values must be smaller than num_classes": "the labels already run from 0 to num_classes - 1: one-hot "
                                                     "them as they are, F.one_hot(labels, num_classes).",
    "only applicable to index tensor": "F.one_hot takes the integer labels as they are: "
                                       "F.one_hot(labels, num_classes), then .float().",
    "same number of dimensions": "labels has shape (N,), one number per image: turn it into one-hot rows first, "
                                 "F.one_hot(labels, num_classes).float() of shape (N, num_classes), then join.",
    "scalar type": _ONE_HOT_DTYPE,  # older PyTorch: torch.cat refuses to mix float and long
}


def _one_hot_shape_hint(shape: tuple, n: int, d: int, k: int, top: int) -> str:
    shapes = [
        ((n, d + top), f"F.one_hot(labels) alone makes one column per class up to the largest label in the batch "
                       f"({top} here), not num_classes ({k}): pass it, F.one_hot(labels, num_classes), so every "
                       f"batch gives G the same number of inputs."),
        ((n, d + 1), "the label as a number in one column says breed 2 is 'twice' breed 1: give each breed its own "
                     "column, F.one_hot(labels, num_classes).float()."),
        ((n, d), "that is z alone: append the breed, torch.cat([z, F.one_hot(labels, num_classes).float()], dim=1)."),
        ((n, k), "that is the one-hot alone: put z in front of it, "
                 "torch.cat([z, F.one_hot(labels, num_classes).float()], dim=1)."),
        ((2 * n, d), "z and the one-hot are stacked as extra rows: join them side by side, dim=1."),
        ((n, d + k + 1), "one column too many: F.one_hot(labels, num_classes) already has num_classes columns, "
                         "classes 0 to num_classes - 1."),
        ((d + k, n), "rows and columns are swapped: one row per image, torch.cat([z, one_hot], dim=1)."),
    ]
    return next((hint for s, hint in shapes if s == shape),
                "z (N x latent_dim) and the one-hot (N x num_classes) side by side: "
                "torch.cat([z, F.one_hot(labels, num_classes).float()], dim=1).")


@_check
def check_one_hot_input(fn: Callable[[Tensor, Tensor, int], Tensor]) -> str:
    """one_hot_input(z, labels, num_classes): torch.cat([z, F.one_hot(labels, num_classes).float()], dim=1)."""
    fn = _callable(fn)
    gen = torch.Generator().manual_seed(0)
    for n, d, k, claimed in _ONE_HOT_CASES:
        z, labels = torch.randn(n, d, generator=gen), torch.tensor(claimed)
        where = f"for z of shape ({n}, {d}), labels {claimed} and num_classes={k}"
        out = _tensor(_run(fn, z.clone(), labels.clone(), k, hints=_ONE_HOT_HINTS), "one_hot_input")
        if tuple(out.shape) != (n, d + k):
            raise _NotYet(f"{where} the result has shape {tuple(out.shape)}, expected ({n}, {d + k}).",
                          _one_hot_shape_hint(tuple(out.shape), n, d, k, max(claimed) + 1))
        _require(out.is_floating_point(), f"{where} the result has dtype {out.dtype}, not a float type.",
                 "G's first layer takes floats: " + _ONE_HOT_DTYPE)
        eye = torch.eye(k, dtype=torch.float64)  # row i: the one-hot of class i
        zd, got = z.double(), out.detach().double()
        if torch.allclose(got, torch.cat([zd, eye[labels]], dim=1), rtol=1e-6, atol=1e-6):
            continue
        mistakes = [(torch.cat([eye[labels], zd], dim=1),
                     "your one-hot comes before z: put z first, torch.cat([z, one_hot], dim=1); G's first layer reads "
                     "the noise in the first latent_dim columns and the breed after them.")]
        if max(claimed) + 1 < k:
            mistakes.append((torch.cat([zd, eye[labels + 1]], dim=1),
                             "the 1 is one column too far right: it belongs at index labels[i] itself, as classes "
                             "count from 0: F.one_hot(labels, num_classes)."))
        if min(claimed) >= 1:
            mistakes.append((torch.cat([zd, eye[labels - 1]], dim=1),
                             "the 1 is one column too far left: it belongs at index labels[i] itself, as classes "
                             "count from 0: F.one_hot(labels, num_classes)."))
        hint = _tensor_mistake(got, mistakes)
        if hint is None and not torch.allclose(got[:, :d], zd, rtol=1e-6, atol=1e-6):
            hint = "the first latent_dim columns must be z itself, unchanged: torch.cat([z, one_hot], dim=1)."
        breeds = got[:, d:]
        one_hot = bool(((breeds == 0) | (breeds == 1)).all() and (breeds.sum(dim=1) == 1).all())
        if hint is None and not one_hot:
            hint = ("each row's last num_classes columns are all zeros except a single 1, at the breed's index: "
                    "F.one_hot(labels, num_classes).float().")
        if not torch.allclose(got[:, :d], zd, rtol=1e-6, atol=1e-6):
            problem = f"{where} the first {d} columns are not z."
        elif one_hot:
            problem = f"{where} the 1s of the breed columns sit at {breeds.argmax(dim=1).tolist()}, expected {claimed}."
        else:
            problem = f"{where} the breed columns are not one-hot rows: the first is {_rounded(breeds[0])}."
        raise _NotYet(problem, hint or "the 1 of row i belongs in the breed column labels[i]: "
                                       "torch.cat([z, F.one_hot(labels, num_classes).float()], dim=1).")
    return ("G's input is z followed by the breed as num_classes one-hot columns (of 6 classes, breed 3 is "
            "[0, 0, 0, 1, 0, 0]), as floats, whichever classes the batch holds.")


# --- 08 latent space ----------------------------------------------------------------------------


def _arc(z1: Tensor, z2: Tensor, t: Tensor, omega: Tensor | float) -> Tensor:
    """The points (sin((1 - t) omega) z1 + sin(t omega) z2) / sin(omega), one row per t of shape (steps, 1)."""
    omega = torch.as_tensor(omega, dtype=torch.float64)
    return (torch.sin((1 - t) * omega) * z1 + torch.sin(t * omega) * z2) / torch.sin(omega)


def _angle(z1: Tensor, z2: Tensor) -> Tensor:
    """The angle between two vectors, in radians: arccos of their unit vectors' dot product."""
    return torch.arccos(torch.dot(z1 / z1.norm(), z2 / z2.norm()).clamp(-1.0, 1.0))


def _slerp_shape_hint(shape: tuple, steps: int, latent_dim: int) -> str:
    return {
        (steps - 1, latent_dim): "one row short: torch.linspace(0, 1, steps) gives steps points, both ends included.",
        (steps + 1, latent_dim): "one row too many: torch.linspace(0, 1, steps) gives steps points, "
                                 "both ends included.",
        (steps * latent_dim,): "torch.cat joins the vectors end to end: torch.stack(rows) puts them in rows, "
                               "or let t of shape (steps, 1) broadcast against z1 and z2.",
        (steps, 1, latent_dim): "one dimension too many: t of shape (steps, 1) times z of shape (latent_dim,) "
                                "already gives (steps, latent_dim).",
        (latent_dim, steps): "rows and columns are swapped: each row is one vector, so t is shaped (steps, 1) "
                             "and z1, z2 stay (latent_dim,).",
    }.get(shape, "z1 and z2 have shape (latent_dim,); t = torch.linspace(0, 1, steps).view(-1, 1) has shape "
                 "(steps, 1), so torch.sin(t * omega) * z2 broadcasts to (steps, latent_dim).")


def _slerp_mistakes(z1: Tensor, z2: Tensor, steps: int) -> tuple[Tensor, list[tuple[Tensor, str]]]:
    """The arc from z1 to z2 (float64), with the usual wrong versions."""
    t = torch.linspace(0, 1, steps, dtype=torch.float64).view(-1, 1)
    i = torch.arange(steps, dtype=torch.float64).view(-1, 1)
    omega = _angle(z1, z2)
    expected, line = _arc(z1, z2, t, omega), (1 - t) * z1 + t * z2
    half = torch.tensor([[0.5]], dtype=torch.float64)
    line_mid, arc_mid = ((z1 + z2) / 2).norm().item(), _arc(z1, z2, half, omega).norm().item()
    mistakes = [
        (line, f"that is a straight line (lerp): its middle vectors are shorter (halfway {line_mid:.2f} long, "
               f"on the arc {arc_mid:.2f}), unlike any noise G was trained on. Walk along the arc: "
               f"(torch.sin((1 - t) * omega) * z1 + torch.sin(t * omega) * z2) / torch.sin(omega)."),
        (_arc(z1, z2, t, torch.arccos(torch.dot(z1, z2).clamp(-1, 1))),
         "the angle is wrong: arccos wants the cosine, the dot product of the unit vectors "
         "z1 / z1.norm() and z2 / z2.norm(), not of z1 and z2 themselves."),
        (_arc(z1, z2, i / steps, omega), "the last row must be z2 itself: torch.linspace(0, 1, steps) includes "
                                         "both ends, torch.arange(steps) / steps stops short of 1."),
        (_arc(z1, z2, (i + 1) / steps, omega), "the first row must be z1 itself (t = 0): torch.linspace(0, 1, steps) "
                                               "includes both ends."),
        (_arc(z1, z2, 1 - t, omega), "you go from z2 to z1: row 0 must be z1 (t = 0), the last row z2: "
                                     "torch.sin((1 - t) * omega) goes with z1."),
        (_arc(z1, z2, t, torch.rad2deg(omega)), "omega is in degrees: torch.arccos gives radians, and torch.sin "
                                                "wants radians, so don't convert it."),
        (_arc(z1, z2, t, omega) * torch.sin(omega), "divide by torch.sin(omega): without it the path starts at "
                                                    "sin(omega) * z1, shorter than z1."),
        (_arc(z1, z2, t, math.pi / 2), "that is the arc for perpendicular vectors (omega = pi / 2): use the real "
                                       "angle between z1 and z2, the arccos of the unit vectors' dot product."),
        (_arc(z1 / z1.norm(), z2 / z2.norm(), t, omega),
         "your rows are unit vectors: normalise only to measure the angle; the path itself goes from z1 to z2."),
    ]
    return expected, mistakes


@_check
def check_slerp(fn: Callable[[Tensor, Tensor, int], Tensor]) -> str:
    """slerp(z1, z2, steps) with vectors of shape (latent_dim,): (steps, latent_dim) points on the arc, both ends."""
    fn = _callable(fn)
    one_dimension = ("z1 and z2 have shape (latent_dim,), one dimension, not (1, latent_dim): use z1.shape[-1], "
                     "or let broadcasting do the work.")
    hints = {"must match the size of tensor": "t must be shaped (steps, 1) so it broadcasts over latent_dim: "
                                              "t = torch.linspace(0, 1, steps).view(-1, 1).",
             "Dimension out of range": one_dimension,
             "tuple index out of range": one_dimension,
             "1D tensors expected": "torch.dot takes two vectors of shape (latent_dim,), as z1 and z2 already are.",
             "must be Tensor, not float": "torch.sin and torch.arccos take tensors: keep omega a tensor (no .item()), "
                                          "or use math.sin and math.acos on plain numbers."}
    gen = torch.Generator().manual_seed(0)
    # Short vectors first (their own dot product is a valid cosine, so forgetting to normalise gives a
    # wrong angle rather than nan), then long ones of different lengths, then the two ends only.
    cases = ((10, 7, 0.2, 0.3), (100, 9, 1.0, 1.5), (16, 2, 0.5, 2.0))
    message = ""
    for latent_dim, steps, scale1, scale2 in cases:
        z1, z2 = scale1 * torch.randn(latent_dim, generator=gen), scale2 * torch.randn(latent_dim, generator=gen)
        inputs = (z1.clone(), z2.clone())
        out = _run(fn, *inputs, steps, hints=hints)
        _require(torch.equal(inputs[0], z1) and torch.equal(inputs[1], z2), "your function changed z1 or z2.",
                 "normalise into new tensors (u1 = z1 / z1.norm()); z1 /= z1.norm() changes the caller's vector.")
        _require(not isinstance(out, (list, tuple)), f"slerp returned a {type(out).__name__}, not a tensor.",
                 "torch.stack(rows) turns a list of (latent_dim,) vectors into one (steps, latent_dim) tensor.")
        out = _tensor(out, "slerp")
        _require(tuple(out.shape) == (steps, latent_dim),
                 f"for steps={steps} and vectors of length {latent_dim} the shape is {tuple(out.shape)}, "
                 f"expected ({steps}, {latent_dim}).", _slerp_shape_hint(tuple(out.shape), steps, latent_dim))
        a, b, got = z1.double(), z2.double(), out.detach().double()
        expected, mistakes = _slerp_mistakes(a, b, steps)
        if not torch.isfinite(got).all():
            raw = torch.dot(a, b).item()
            raise _NotYet(f"for steps={steps} and vectors of length {latent_dim} your result contains nan or inf.",
                          f"z1 and z2's own dot product is {raw:.2f}, and arccos of a number outside [-1, 1] is nan: "
                          "take the dot product of the unit vectors, z1 / z1.norm() and z2 / z2.norm()."
                          if abs(raw) > 1 else "look for arccos of a number outside [-1, 1] (normalise z1 and z2 for "
                                               "the angle), or a division by sin(omega) = 0.")
        if not torch.allclose(got, expected, rtol=1e-4, atol=1e-4):
            hint = next((h for w, h in mistakes if torch.allclose(got, w, rtol=1e-4, atol=1e-4)), None)
            ends = torch.allclose(got[0], a, atol=1e-4) and torch.allclose(got[-1], b, atol=1e-4)
            raise _NotYet(f"for steps={steps} and vectors of lengths {a.norm():.2f} and {b.norm():.2f}, the rows "
                          f"are not the points of the arc from z1 to z2.",
                          hint or ("the ends are right, but the points between them are not on the arc: "
                                   if ends else "") +
                          "row i is (sin((1 - t) * omega) * z1 + sin(t * omega) * z2) / sin(omega), with "
                          "t = torch.linspace(0, 1, steps).view(-1, 1) and omega = arccos of the unit vectors' "
                          "dot product.")
        if latent_dim == 100:
            line_mid, arc_mid = ((a + b) / 2).norm().item(), got[steps // 2].norm().item()
            message = f"halfway, the vector is {arc_mid:.2f} long, where a straight line's is {line_mid:.2f}"
    # Parallel vectors: the angle is 0 and sin(omega) = 0. With +-1 entries the unit vectors' dot product is
    # exactly 1; random ones may round just above 1, where arccos gives nan unless clamped.
    ones = torch.tensor([1.0, -1.0, -1.0, 1.0] * 4)
    for z1, steps in ((ones, 5), (torch.randn(32, generator=gen), 6)):
        z2 = 2 * z1
        out = _tensor(_run(fn, z1.clone(), z2.clone(), steps, hints=hints), "slerp")
        _require(tuple(out.shape) == (steps, len(z1)), f"for z2 = 2 * z1 the shape is {tuple(out.shape)}, "
                 f"expected ({steps}, {len(z1)}).", _slerp_shape_hint(tuple(out.shape), steps, len(z1)))
        got = out.detach().double()
        _require(torch.isfinite(got).all(), "for z2 = 2 * z1 (the same direction) your result contains nan or inf.",
                 "when z1 and z2 point the same way, omega = 0 and sin(omega) = 0, so the formula divides 0 by 0: "
                 "clamp the dot product to [-1, 1] (rounding can push it just above 1) and, when omega is tiny "
                 "(say < 1e-4), return the straight line (1 - t) * z1 + t * z2, then the very same path.")
        t = torch.linspace(0, 1, steps, dtype=torch.float64).view(-1, 1)
        _require(torch.allclose(got, (1 - t) * z1.double() + t * z2.double(), rtol=1e-4, atol=1e-4),
                 "for z2 = 2 * z1 (the same direction) the rows are not the evenly spaced points from z1 to z2.",
                 "for parallel vectors the arc is the straight line: when omega is tiny (say < 1e-4), "
                 "return (1 - t) * z1 + t * z2.")
    return f"points on the arc from z1 to z2, both ends included: {message}; parallel vectors give the straight line."


def _truncated_normal_std(t: float) -> float:
    """The standard deviation of N(0, 1) cut to [-t, t]: sqrt(1 - 2 t phi(t) / (2 Phi(t) - 1))."""
    phi = math.exp(-t * t / 2) / math.sqrt(2 * math.pi)  # the normal density at t
    inside = math.erf(t / math.sqrt(2))  # 2 Phi(t) - 1: the chance that |z| <= t
    return math.sqrt(1 - 2 * t * phi / inside)


def _ks_truncated(z: Tensor, t: float) -> float:
    """Kolmogorov-Smirnov distance of the entries to N(0, 1) cut to [-t, t]: the largest gap between the CDFs."""
    x = z.flatten().double().sort().values
    low = torch.special.ndtr(torch.tensor(-t, dtype=torch.float64))
    cdf = (torch.special.ndtr(x) - low) / math.erf(t / math.sqrt(2))
    k = torch.arange(1, len(x) + 1, dtype=torch.float64) / len(x)
    return max((k - cdf).max().item(), (cdf - (k - 1 / len(x))).max().item())


class _DrawBudget(TorchFunctionMode):
    """Stops an answer that keeps drawing random numbers (a loop that never ends) with an error, not a hang."""

    DRAWS = {"randn", "rand", "normal", "normal_", "uniform_", "randn_like", "rand_like", "randint", "random_",
             "trunc_normal_"}

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit, self.drawn = limit, 0

    def __torch_function__(self, func: Callable, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        out = func(*args, **(kwargs or {}))
        if getattr(func, "__name__", "") in self.DRAWS and isinstance(out, Tensor):
            self.drawn += out.numel()
            if self.drawn > self.limit:
                raise RuntimeError(f"it drew over {self.limit} random numbers and had still not finished")
        return out


_TRUNCATION_HINTS = {
    "positional argument": "take the four parameters in this order: "
                           "def truncated_noise(n, latent_dim, threshold, generator).",
    "random numbers and had still not finished": "your loop never ends: compare each entry, outside = z.abs() > "
                                                 "threshold (a whole vector's length, z.norm(), is about 8 for 64 "
                                                 "entries and never gets below the threshold), redraw only those "
                                                 "entries, and recompute outside after each redraw.",
    "shape mismatch": "z[outside] picks single entries, as one flat list: draw that many numbers, "
                      "torch.randn(int(outside.sum()), generator=generator).",
    "must be tuple of ints": "give torch.randn a plain int: int(outside.sum()).",
}


def _truncated_draw(fn: Callable, n: int, latent_dim: int, threshold: float, seed: int) -> Tensor:
    """The answer's noise for a freshly seeded generator, checked for shape, dtype and nan."""
    with _DrawBudget(100 * n * latent_dim):  # the reference draws about 2.6 times n * latent_dim at threshold 0.5
        out = _run(fn, n, latent_dim, threshold, torch.Generator().manual_seed(seed), hints=_TRUNCATION_HINTS)
    out = _tensor(out, "truncated_noise")
    if tuple(out.shape) != (n, latent_dim):
        raise _NotYet(f"truncated_noise({n}, {latent_dim}, ...) has shape {tuple(out.shape)}, "
                      f"expected ({n}, {latent_dim}).",
                      "rows and columns are swapped: one noise vector per row, torch.randn(n, latent_dim, "
                      "generator=generator)." if tuple(out.shape) == (latent_dim, n) else
                      "n noise vectors of latent_dim entries each: start from torch.randn(n, latent_dim, "
                      "generator=generator) and keep that shape.")
    _require(out.is_floating_point(), f"truncated_noise returned {out.dtype} numbers.",
             "the noise is floats, as torch.randn gives them.")
    _require(torch.isfinite(out).all(), "truncated_noise returned nan or inf.",
             "draw with torch.randn and only replace the entries beyond the threshold.")
    return out.detach()


@_check
def check_truncated_noise(fn: Callable[[int, int, float, torch.Generator], Tensor]) -> str:
    """truncated_noise(n, latent_dim, threshold, generator): N(0, I) noise, entries with |z| > threshold redrawn."""
    fn = _callable(fn)
    n, latent_dim = 2000, 64  # 128,000 entries: the statistics below are tight, and the check stays fast
    message = ""
    for seed, threshold in enumerate((1.0, 0.5, 3.0)):
        z = _truncated_draw(fn, n, latent_dim, threshold, seed)
        big, t = z.abs().max().item(), f"±{threshold:g}"
        _require(threshold == 1.0 or not 0.9 < big <= 1.0 + 1e-6,
                 f"for threshold={threshold:g} the entries stop at ±1.",
                 "use the threshold argument instead of a fixed 1.")
        outside = (z.abs() > threshold + 1e-6).float().mean().item()
        beyond = 1 - math.erf(threshold / math.sqrt(2))  # the share of N(0, 1) beyond the threshold
        if outside > 0:
            raise _NotYet(f"for threshold={threshold:g}, {outside:.1%} of the entries lie beyond {t}.",
                          f"as many as in plain normal noise ({beyond:.1%}): find them entry by entry, outside = "
                          f"z.abs() > threshold, and redraw them, z[outside] = torch.randn(int(outside.sum()), "
                          f"generator=generator), until none is left." if outside > 0.8 * beyond else
                          "some redrawn entries landed beyond the threshold again: redraw in a loop, "
                          "while outside.any(): ..., recomputing outside each time, until none is left.")
        edges = (z.abs() >= threshold - 1e-6).float().mean().item()
        _require(not 0.75 * beyond < edges < 1.25 * beyond,
                 f"for threshold={threshold:g}, {edges:.1%} of the entries sit exactly on {t}.",
                 "clamping piles all the noise that was beyond the threshold onto the edges, values that a normal "
                 "distribution hardly ever gives: redraw those entries instead, until none is left.")
        _require(not (z.norm(dim=1) <= threshold * (1 + 1e-4)).all(),
                 f"for threshold={threshold:g} every noise vector is at most {threshold:g} long.",
                 "the threshold is for each entry, not for a vector's length: redraw the single entries with "
                 "z.abs() > threshold, and leave the others as they are.")
        mean, std, want = z.mean().item(), z.std().item(), _truncated_normal_std(threshold)
        _require(abs(mean) < 0.02, f"for threshold={threshold:g} the entries average {mean:.3f}, not about 0.",
                 "keep the signs (no .abs()) and draw from the normal distribution centred on 0: "
                 "torch.randn(..., generator=generator).")
        if abs(std - want) > 0.02 * want:
            raise _NotYet(f"for threshold={threshold:g} the entries' standard deviation is {std:.4f}; a normal "
                          f"distribution cut at {t} has {want:.4f}.",
                          "the noise is squeezed: scaling it down (e.g. z * threshold / z.abs().max()) shrinks the "
                          "whole bell curve. Keep the normal noise as it is and redraw only the entries beyond "
                          "the threshold." if std < want else
                          "the entries are spread too evenly: a normal distribution keeps most of them near 0. "
                          "Draw with torch.randn (not torch.rand) and redraw the entries beyond the threshold.")
        gap = _ks_truncated(z, threshold)
        _require(gap < 0.008, f"for threshold={threshold:g} the entries don't follow a normal distribution cut at {t} "
                              f"(their distribution function is {gap:.3f} off).",
                 "draw with torch.randn(..., generator=generator) and redraw only the entries beyond the threshold, "
                 "from the same normal distribution, until none is left.")
        if threshold == 1.0:
            message = f"for threshold 1 the entries' std is {std:.4f} (a truncated normal's: {want:.4f})"
    first, again, other = (_truncated_draw(fn, 50, 8, 1.0, seed) for seed in (1, 1, 2))
    _require(torch.equal(first, again), "two calls with identically seeded generators gave different noise.",
             "draw all random numbers, the redraws too, from the generator argument: "
             "torch.randn(..., generator=generator).")
    _require(not torch.equal(first, other), "two differently seeded generators gave the very same noise.",
             "draw from the generator you are given, not from one you create and seed yourself.")
    return (f"normal noise whose entries beyond the threshold are redrawn until none is left: {message}, "
            f"nothing piles up on the edges, and the same seed gives the same noise.")
