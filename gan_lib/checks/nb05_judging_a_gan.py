"""Checks for notebooks/05_judging_a_gan.ipynb: `check_frechet_distance`, `check_kid_mmd`."""
from __future__ import annotations

import math
import numbers
from typing import Any, Callable

import torch
from torch import Tensor

from ._plumbing import _NotYet, _a_python_float, _callable, _check, _known_mistake, _name, _require, _run


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
        out = _run(fn, *inputs, hints=hints)
        got = _one_number(out, "frechet_distance", many)
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
    _a_python_float(out, _name(fn))  # every value right: now the type
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
        out = _run(fn, *inputs, hints=hints)
        value = _one_number(out, "kid_mmd", many)
        _require(torch.equal(inputs[0], p) and torch.equal(inputs[1], q), "your function changed its inputs.",
                 "compute new tensors (x @ y.T / d + 1), no in-place operations (add_, pow_) on x or y.")
        computed, mistakes = _mmd_mistakes(p, q)
        expected = computed if by_hand is None else by_hand
        _require(not math.isnan(value), f"{what} you get nan.", "look for a division by zero: n * (n - 1) pairs.")
        if not math.isclose(value, expected, rel_tol=1e-4, abs_tol=1e-5):
            raise _NotYet(f"{what} you get {value:.4f}, expected {expected:.4f}.",
                          _known_mistake(value, mistakes) or "mean of k over pairs i != j within x, plus the same "
                          "within y, minus 2 * mean of k over all (x_i, y_j), with k(a, b) = (a.b / d + 1) ** 3.")
    _a_python_float(out, _name(fn))  # every value right: now the type
    within_a, within_b, across = _kernel_means(a, b, diagonal=True)
    biased = within_a + within_b - 2 * across
    return (f"the unbiased MMD^2 with KID's cubic kernel: two samples of one Gaussian give {value:.4f}, about 0 "
            f"(the biased estimate: {biased:.4f}).")
