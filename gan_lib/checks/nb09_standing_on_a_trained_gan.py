"""Checks for notebooks/09_standing_on_a_trained_gan.ipynb: `check_freeze_first`, `check_d_optimizer`."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..models import Discriminator, ModelConfig, d_blocks, freeze_blocks
from ._plumbing import _NotYet, _callable, _check, _require, _run

# (resolution, k, spectral norm): 64 px has 4 blocks, 32 px 3; spectral norm hides the conv weight one level down
_FREEZE_CASES = ((64, 2, False), (32, 1, False), (64, 4, False), (64, 0, False), (32, 2, True))


def _tiny_d(resolution: int, spectral: bool = False) -> Discriminator:
    """A small conditional DCGAN discriminator, seeded."""
    torch.manual_seed(resolution)
    return Discriminator(ModelConfig(resolution=resolution, d_width=4, num_classes=3,
                                     d_norm="spectral" if spectral else "batch"))


def _names(D: nn.Module, params: list[nn.Parameter]) -> set[str]:
    ids = {id(p) for p in params}
    return {name for name, p in D.named_parameters() if id(p) in ids}


def _short(names: set[str]) -> str:
    """A few parameter names, for a message."""
    shown = sorted(names)[:4]
    return ", ".join(shown) + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def _freeze_mistake(D: Discriminator, k: int, frozen: set[str], expected: set[str]) -> str | None:
    """The hint for a known wrong set of frozen weights."""
    blocks = d_blocks(D)
    block_params = [_names(D, [p for layer in block for p in layer.parameters()]) for block in blocks]
    entries = _names(D, [p for layer in list(D.features)[:k] for p in layer.parameters()])
    everything = {name for name, _ in D.named_parameters()}
    convs_only = _names(D, [p for block in blocks[:k] for p in block[0].parameters()])
    if not frozen and not D.training:
        return ("D.eval() freezes nothing: it only switches BatchNorm to its running statistics. Freezing is "
                "requires_grad: p.requires_grad_(False) for every weight of the first k blocks.")
    if not frozen:
        return ("nothing was frozen. torch.no_grad() only lasts inside its `with` block; set "
                "p.requires_grad_(False) for every weight of the first k blocks instead.")
    if frozen == everything:
        return ("that froze all of D, including its final linear layer and breed table: D could not learn the new "
                "breed at all. Freeze only the weights of the first k blocks.")
    if frozen == entries and entries != expected:
        return (f"D.features[:{k}] is the first {k} *layers* (conv, BatchNorm, LeakyReLU each count), not blocks. "
                "Start a new block at every nn.Conv2d and freeze the first k of those blocks.")
    if k and frozen == convs_only:
        return ("the BatchNorm layers inside those blocks have weights too (a scale and a shift): freeze every "
                "parameter of each block, not only its convolution's.")
    for m, hint in ((k + 1, "one block too many"), (k - 1, "one block too few")):
        if 0 <= m <= len(blocks) and frozen == set().union(*block_params[:m]):
            return f"{hint}: blocks count from the image side, and the first k are blocks 0 to k - 1."
    if k and frozen == set().union(*block_params[len(blocks) - k:]):
        return ("those are the *last* k blocks. FreezeD keeps the first ones, nearest the image: they detect "
                "edges and textures that every dog photo shares.")
    return None


def _freeze_where(resolution: int, k: int, spectral: bool) -> str:
    return f"for a {resolution}px D{' with spectral norm' if spectral else ''} and k={k}"


@_check
def check_freeze_first(fn: Callable[[nn.Module, int], nn.Module]) -> str:
    """freeze_first(D, k): requires_grad off for every weight of D's first k blocks (one per nn.Conv2d); returns D."""
    fn = _callable(fn)
    for resolution, k, spectral in _FREEZE_CASES:
        D = _tiny_d(resolution, spectral)
        where = _freeze_where(resolution, k, spectral)
        out = _run(fn, D, k)
        _require(out is D, f"{where} freeze_first returned {type(out).__name__}, not D.",
                 "change D in place and return D itself (as D.requires_grad_() does), not a copy.")
        frozen = {name for name, p in D.named_parameters() if not p.requires_grad}
        reference = _tiny_d(resolution, spectral)
        freeze_blocks(reference, k)
        expected = {name for name, p in reference.named_parameters() if not p.requires_grad}
        if frozen != expected:
            hint = _freeze_mistake(D, k, frozen, expected)
            wrong = frozen - expected
            missing = expected - frozen
            problem = f"{where} " + "; ".join(
                part for part in (f"these should still learn: {_short(wrong)}" if wrong else "",
                                  f"these should be frozen: {_short(missing)}" if missing else "") if part) + "."
            raise _NotYet(problem, hint or "a block is an nn.Conv2d and the layers after it up to the next "
                                           "nn.Conv2d; freeze every weight of the first k blocks, nothing else.")
        _require(D.training, f"{where} D was left in eval mode.",
                 "freezing is requires_grad alone; D.eval() also switches BatchNorm to its running statistics, "
                 "which changes how D judges. Leave D in training mode.")
    return ("the first k blocks (each an nn.Conv2d with its BatchNorm and LeakyReLU) keep their weights, every later "
            "weight learns: at 64 px with k=2, the first two convolutions and the BatchNorm after the second.")


def _d_loss(D: nn.Module) -> torch.Tensor:
    """Any loss of D's logits on a small seeded batch, to take one optimiser step with."""
    gen = torch.Generator().manual_seed(1)
    images = torch.randn(4, 3, D.cfg.resolution, D.cfg.resolution, generator=gen)
    labels = torch.tensor([0, 1, 2, 0])
    return nn.functional.softplus(-D(images, labels)).mean()


@_check
def check_d_optimizer(fn: Callable[[nn.Module, float], torch.optim.Optimizer]) -> str:
    """d_optimizer(D, lr): Adam(betas=(0.5, 0.999)) over exactly the weights of D that still learn."""
    fn = _callable(fn)
    D = _tiny_d(64)
    freeze_blocks(D, 2)
    lr = 3e-4
    opt = _run(fn, D, lr)
    _require(isinstance(opt, torch.optim.Optimizer), f"d_optimizer returned {type(opt).__name__}, not an optimiser.",
             "return the optimiser itself: torch.optim.Adam(weights, lr=lr, betas=(0.5, 0.999)).")
    _require(isinstance(opt, torch.optim.Adam), f"d_optimizer returned {type(opt).__name__}, not Adam.",
             "the course's GANs train with torch.optim.Adam(weights, lr=lr, betas=(0.5, 0.999)).")
    held = [p for group in opt.param_groups for p in group["params"]]
    learning = [p for p in D.parameters() if p.requires_grad]
    frozen = [p for p in D.parameters() if not p.requires_grad]
    missing = _names(D, learning) - _names(D, held)
    extra = _names(D, frozen) & _names(D, held)
    if missing:
        later_only = {name for name in missing if not name.startswith("features.")}
        raise _NotYet(f"{len(missing)} weights that learn are missing from your optimiser ({_short(missing)}): they get "
                      f"a gradient every step and never change, and nothing warns you.",
                      ("D.features[k:] leaves out D's final linear layer and breed table (classify, embed): "
                       if later_only == missing else "") +
                      "give Adam every weight that learns: [p for p in D.parameters() if p.requires_grad].")
    if extra:
        raise _NotYet(f"your optimiser also holds {len(extra)} frozen weights ({_short(extra)}).",
                      "they get no gradient, so Adam skips them, but the optimiser no longer says what learns, and "
                      "its saved state does not fit a Trainer's, which was made after freezing: Optimizer."
                      "load_state_dict refuses a parameter list of another size. Give Adam only "
                      "[p for p in D.parameters() if p.requires_grad].")
    for group in opt.param_groups:
        _require(abs(group["lr"] - lr) < 1e-12, f"the learning rate is {group['lr']}, expected lr={lr}.",
                 "pass the lr argument on: torch.optim.Adam(weights, lr=lr, betas=(0.5, 0.999)).")
        _require(tuple(group["betas"]) == (0.5, 0.999), f"the betas are {tuple(group['betas'])}, expected (0.5, 0.999).",
                 "GANs train with a smaller beta1 (DCGAN's 0.5): betas=(0.5, 0.999).")
    before = {name: p.detach().clone() for name, p in D.named_parameters()}
    opt.zero_grad()
    _d_loss(D).backward()
    opt.step()
    moved = {name for name, p in D.named_parameters() if not torch.equal(p.detach(), before[name])}
    _require(moved == _names(D, learning), "after one step the weights that moved are not the ones that learn.",
             "give Adam [p for p in D.parameters() if p.requires_grad], and nothing else.")
    return (f"Adam holds the {len(learning)} weight tensors that learn and none of the {len(frozen)} frozen ones; "
            f"one step moved exactly those.")
