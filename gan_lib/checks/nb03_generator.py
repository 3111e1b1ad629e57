"""Checks for notebooks/03_generator.ipynb: `check_generator_64`, `check_interpolate`, `check_generator_loss`."""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor, nn

from ._plumbing import (_PATH_HINTS, _NotYet, _callable, _check, _checked_g_loss, _g_loss_mistakes, _last_op,
                        _module_copy, _path_shape_hint, _require, _run, _tensor)


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
    for latent_dim, steps in ((100, 7), (16, 2)):
        z1, z2 = torch.randn(latent_dim), torch.randn(latent_dim)
        out = _run(fn, z1, z2, steps, hints=_PATH_HINTS)
        _require(not isinstance(out, (list, tuple)), f"interpolate returned a {type(out).__name__}, not a tensor.",
                 "torch.stack(rows) turns a list of (latent_dim,) vectors into one (steps, latent_dim) tensor.")
        out = _tensor(out, "interpolate")
        if tuple(out.shape) != (steps, latent_dim):
            raise _NotYet(f"for steps={steps} and vectors of length {latent_dim} the shape is {tuple(out.shape)}, "
                          f"expected ({steps}, {latent_dim}).",
                          _path_shape_hint(tuple(out.shape), steps, latent_dim,
                                           "broadcast (1 - t) * z1 + t * z2 with t of shape (steps, 1)",
                                           "(1 - t) * z1 + t * z2"))
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
