"""Checks for notebooks/08_latent_space.ipynb: `check_slerp`, `check_truncated_noise`."""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import Tensor
from torch.overrides import TorchFunctionMode

from ._plumbing import _PATH_HINTS, _NotYet, _callable, _check, _path_shape_hint, _require, _run, _tensor


def _arc(z1: Tensor, z2: Tensor, t: Tensor, omega: Tensor | float) -> Tensor:
    """The points (sin((1 - t) omega) z1 + sin(t omega) z2) / sin(omega), one row per t of shape (steps, 1)."""
    omega = torch.as_tensor(omega, dtype=torch.float64)
    return (torch.sin((1 - t) * omega) * z1 + torch.sin(t * omega) * z2) / torch.sin(omega)


def _angle(z1: Tensor, z2: Tensor) -> Tensor:
    """The angle between two vectors, in radians: arccos of their unit vectors' dot product."""
    return torch.arccos(torch.dot(z1 / z1.norm(), z2 / z2.norm()).clamp(-1.0, 1.0))


def _slerp_shape_hint(shape: tuple, steps: int, latent_dim: int) -> str:
    return _path_shape_hint(shape, steps, latent_dim, "let t of shape (steps, 1) broadcast against z1 and z2",
                            "torch.sin(t * omega) * z2")


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
    hints = {**_PATH_HINTS,
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
