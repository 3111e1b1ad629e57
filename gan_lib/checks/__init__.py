"""Checks for the notebook exercises: `check_x(answer)` prints ✅ or ❌ with a hint, and returns True/False.

Every check runs your answer on small, seeded inputs and compares it with values worked out
independently (plain `math`, or the tested `gan_lib` code). A check never raises: an unfinished
answer (returns None, raises NotImplementedError) is reported as "not answered yet", and an
exception from your code is reported with its type and message, so the notebook keeps running.
An exercise that asks for a number wants a Python float: a right value left in a tensor is named as
right and then refused with the `.item()` hint (one rule, `_plumbing._a_python_float`).
The reference answers are in `gan_lib/solutions.py`; try first!

Layout: one module per notebook (`nb01_data` ... `nb09_standing_on_a_trained_gan`, named after notebooks/*.ipynb)
holds that notebook's checks and their mistake tables; `_plumbing` holds what they all share (running
an answer without a traceback, `Verdict`, type and shape guards, helpers used by several notebooks).
Everything is re-exported here, so `from gan_lib.checks import check_x` works for every check.
"""
from ._plumbing import Verdict
from .nb01_data import check_flip, check_normalize
from .nb02_discriminator import check_accuracy, check_discriminator_64, check_discriminator_loss
from .nb03_generator import check_generator_64, check_generator_loss, check_interpolate
from .nb04_adversarial_loop import check_discriminator_step, check_generator_step
from .nb05_judging_a_gan import _frechet_mistakes, _mmd_by_hand, _mmd_mistakes, check_frechet_distance, check_kid_mmd
from .nb06_when_gans_fail import check_hinge_d_loss, check_hinge_g_loss, check_looks_collapsed, check_smoothed_d_loss
from .nb07_conditional_gan import (_PROJECTION_CASES, _projection_inputs, _projection_mistakes, check_one_hot_input,
                                   check_projection_logit)
from .nb08_latent_space import _ks_truncated, _truncated_normal_std, check_slerp, check_truncated_noise
from .nb09_standing_on_a_trained_gan import check_d_optimizer, check_freeze_first

__all__ = [
    "Verdict",
    "check_normalize", "check_flip",
    "check_discriminator_loss", "check_discriminator_64", "check_accuracy",
    "check_generator_64", "check_interpolate", "check_generator_loss",
    "check_discriminator_step", "check_generator_step",
    "check_frechet_distance", "check_kid_mmd",
    "check_smoothed_d_loss", "check_hinge_d_loss", "check_hinge_g_loss", "check_looks_collapsed",
    "check_projection_logit", "check_one_hot_input",
    "check_slerp", "check_truncated_noise",
    "check_freeze_first", "check_d_optimizer",
]
# The tests also reach a few private helpers through `checks._name` (imported above for them):
# _frechet_mistakes, _mmd_by_hand, _mmd_mistakes, _PROJECTION_CASES, _projection_inputs,
# _projection_mistakes, _ks_truncated, _truncated_normal_std.
