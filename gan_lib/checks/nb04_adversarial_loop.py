"""Checks for notebooks/04_adversarial_loop.ipynb: `check_discriminator_step`, `check_generator_step`."""
from __future__ import annotations

import copy
import math
from typing import Callable

import torch

from ._plumbing import (_adam, _bce_logits, _bce_mistakes, _callable, _check, _g_loss_mistakes, _known_mistake,
                        _leftover_grads, _number, _require, _run_step, _same, _same_step, _step_without_zero_grad,
                        _tiny_gan, _weights)


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
    from ..training import discriminator_step  # late import: training pulls in the whole trainer

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
    from ..training import generator_step  # late import: training pulls in the whole trainer

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
