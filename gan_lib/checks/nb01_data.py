"""Checks for notebooks/01_data.ipynb: `check_normalize`, `check_flip`."""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ._plumbing import _NotYet, _callable, _check, _require, _run, _tensor


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
