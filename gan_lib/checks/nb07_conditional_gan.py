"""Checks for notebooks/07_conditional_gan.ipynb: `check_projection_logit`, `check_one_hot_input`."""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor, nn

from ._plumbing import _NotYet, _callable, _check, _last_op, _require, _run, _tensor


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
