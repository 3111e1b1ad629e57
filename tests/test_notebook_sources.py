"""What a notebook shows is a tested contract.

Notebooks display library code with `show_source(obj)` and describe it in the markdown beside the call.
For every such call this checks that the shown source still holds what the prose promises, that code
the prose quotes appears both in the prose and in the shown source, that every call is listed in
SHOWN (a new call needs an entry), and that the shown object's docstring ends with the notebooks that
teach it ("Taught in notebook 07.").
"""
from __future__ import annotations

import ast
import importlib
import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@dataclass(frozen=True)
class Promise:
    """What the prose next to a `show_source` call promises about the code it shows."""

    code: tuple[str, ...] = ()    # must appear in the shown source (the prose says it in words)
    quoted: tuple[str, ...] = ()  # must appear in the shown source AND in the prose (the prose quotes it)


# (notebook stem, the argument of show_source as written) -> promise
SHOWN: dict[tuple[str, str], Promise] = {
    # "a square ... at least the box, centred on it, kept inside the photo"
    ("01_data", "square_box"): Promise(
        code=("max(xmax - xmin, ymax - ymin)", "(xmin + xmax - side) // 2", "_clamp(", "width, height)")),
    # "0 becomes -1, 255 becomes 1", the range of `tanh`
    ("01_data", "to_float"): Promise(code=("127.5", "1.0"), quoted=("tanh",)),
    # "mirroring half of each batch ... one tensor operation on the whole batch"
    ("01_data", "random_flip"): Promise(code=("torch.rand(images.shape[0]", "< 0.5", "flip_where(")),
    # stride-2 `Conv2d`, `LeakyReLU`, `BatchNorm2d` except in the first block
    ("02_discriminator", "Discriminator"): Promise(
        code=("stride=2", "i > 0", "nn.Linear(feat_dim, 1)"), quoted=("Conv2d", "LeakyReLU", "BatchNorm2d")),
    # label 1 for real, 0 for fake, computed from logits
    ("02_discriminator", "bce_d_loss"): Promise(
        code=("torch.full_like(r, real_label)", "torch.zeros_like(f)"), quoted=("binary_cross_entropy_with_logits",)),
    # fakes with no gradient into G, D's verdicts on both batches, backpropagate, update only D
    ("02_discriminator", "discriminator_step"): Promise(
        code=("torch.no_grad()", "G(z, labels)", "D(real, labels)", "D(fake, labels)", "loss_d.backward()"),
        quoted=("opt_d",)),
    # linear layer, reshaped into 4x4 maps, upsampling blocks, tanh
    ("03_generator", "Generator"): Promise(code=("nn.Linear(", "nn.Unflatten(1, (channels[0], 4, 4))", "_up_layer(",
                                                 "nn.Tanh()")),
    ("04_adversarial_loop", "discriminator_step"): Promise(
        code=("torch.no_grad()", "D(real, labels)", "D(fake, labels)", "opt_d.step()")),
    # G makes the images, D judges them while frozen, only G is updated
    ("04_adversarial_loop", "generator_step"): Promise(
        code=("fake = G(z, labels)", "D(fake, labels)", "loss_g.backward()"),
        quoted=("with frozen(D):", "opt_g.step()")),
    # how D is frozen, and restored even if the step fails
    ("04_adversarial_loop", "frozen"): Promise(code=("yield", "p.requires_grad_(flag)"),
                                               quoted=("requires_grad_(False)", "finally")),
    # the Trainer's round: (1) Update D, (2) Update G, with the networks each step sees named, then the EMA
    ("04_adversarial_loop", "Trainer.train_step"): Promise(
        code=("discriminator_step(", "generator_step(", "update_ema("),
        quoted=("(1) Update D", "(2) Update G", "G_drawing", "D_learning", "G_learning", "D_judging")),
    # the Fréchet distance of Gaussian fits, matrix square root through symmetric eigendecompositions
    ("05_judging_a_gan", "frechet_distance"): Promise(code=("mean(dim=0)", "torch.cov(", ".trace()", ".sqrt()"),
                                                      quoted=("torch.linalg.eigh",)),
    # "multiply each image by a +1/-1 checkerboard and average": one number per image, compared with the photos'
    ("06_when_gans_fail", "checkerboard_strength"): Promise(code=("% 2", "1.0 - 2.0 *", "mean(dim=(-2, -1)).abs().mean()")),
    # the label embedding next to the noise
    ("07_conditional_gan", "with_labels"): Promise(
        code=("if labels is None",), quoted=("torch.cat([z, embed(labels)], dim=1)",)),
    # the usual logit plus the projection: the claimed breed's embedding times the features, summed
    ("07_conditional_gan", "Discriminator.verdict"): Promise(
        code=("logit + ",), quoted=("classify(h)", "(self.embed(labels) * h).sum(dim=1)")),
    # a block starts at each convolution and takes the layers after it
    ("09_standing_on_a_trained_gan", "d_blocks"): Promise(
        code=("if isinstance(layer, nn.Conv2d)", "blocks.append([])", "blocks[-1].append(layer)"),
        quoted=("D.features",)),
    # requires_grad off for every weight of the first k blocks
    ("09_standing_on_a_trained_gan", "freeze_blocks"): Promise(
        code=("blocks[:k]", "for layer in block", "p.requires_grad_(False)"), quoted=("requires_grad",)),
    # the course GAN's recipe plus FINE_TUNE, the photos relabelled as the chosen breed, trained G and D loaded
    ("09_standing_on_a_trained_gan", "fine_tuner"): Promise(
        code=("gan.config.to_dict() | FINE_TUNE", "torch.full_like(photos.labels, k)", "gan.copy_into("),
        quoted=("FINE_TUNE", "Trainer")),
    # the trained G's weights into G and its EMA copy, D's into D
    ("09_standing_on_a_trained_gan", "pretrained.CourseGAN.copy_into"): Promise(
        code=("trainer.G.load_state_dict(self.G.state_dict())", "trainer.ema.load_state_dict(self.G.state_dict())",
              "trainer.D.load_state_dict(self.D.state_dict())"), quoted=("copy_into",)),
    # the same networks (the course GAN's widths, noise size and batch), the same DiffAugment, random weights
    ("09_standing_on_a_trained_gan", "from_scratch"): Promise(
        code=("model.g_width", "model.d_width", "model.latent_dim", "batch_size=gan.config.batch_size",
              '{"diffaugment": FINE_TUNE["diffaugment"]}'), quoted=("Trainer",)),
}


@dataclass(frozen=True)
class Call:
    """One `show_source(<target>)` call in a notebook, with the markdown beside it."""

    notebook: str
    target: str
    obj: Any
    prose: str


def _parse(source: str) -> ast.Module:
    """A code cell's syntax tree (top-level `await` allowed, IPython magics and shell lines dropped)."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    return compile("\n".join(lines), "<cell>", "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def _dotted(node: ast.expr) -> str:
    """`a.b.c` for a chain of names and attributes; anything else fails the test."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    raise AssertionError(f"show_source should be given a name or attribute, not {ast.unparse(node)!r}")


def _prose_near(cells: list[Any], i: int) -> str:
    """The markdown around cell i: the run of markdown cells before it (across at most one other code
    cell, e.g. a `summary` between the prose and the source), and the markdown cell right after it."""
    before: list[str] = []
    j, skipped = i - 1, 0
    while j >= 0 and cells[j].cell_type != "markdown" and skipped < 1 and "show_source(" not in cells[j].source:
        j, skipped = j - 1, skipped + 1
    while j >= 0 and cells[j].cell_type == "markdown":
        before.insert(0, cells[j].source)
        j -= 1
    after = [cells[i + 1].source] if i + 1 < len(cells) and cells[i + 1].cell_type == "markdown" else []
    return "\n\n".join(before + after)


def _calls() -> list[Call]:
    """Every show_source call of every notebook, its target resolved through the notebook's imports."""
    calls = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        names: dict[str, Any] = {}
        trees = {i: _parse(c.source) for i, c in enumerate(cells) if c.cell_type == "code"}
        for tree in trees.values():
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gan_lib"):
                    module = importlib.import_module(node.module)
                    for alias in node.names:
                        names[alias.asname or alias.name] = (  # a name, or a submodule (from gan_lib import pretrained)
                            getattr(module, alias.name, None) or importlib.import_module(f"{node.module}.{alias.name}"))
        for i, tree in trees.items():
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "show_source":
                    assert names.get("show_source") is importlib.import_module("gan_lib.plotting").show_source, \
                        f"{path.name} calls show_source without importing it from gan_lib.plotting"
                    assert len(node.args) == 1 and not node.keywords, f"{path.name}: {ast.unparse(node)}"
                    target = _dotted(node.args[0])
                    head, *rest = target.split(".")
                    assert head in names, f"{path.name} shows {target} but does not import {head} from gan_lib"
                    obj = names[head]
                    for attr in rest:
                        obj = getattr(obj, attr)
                    calls.append(Call(path.stem, target, obj, _prose_near(cells, i)))
    return calls


CALLS = _calls()


def test_every_show_source_call_is_in_the_table():
    found = {(c.notebook, c.target) for c in CALLS}
    assert found, "no show_source calls found in notebooks/"
    missing = sorted(found - set(SHOWN))
    assert not missing, f"show_source calls without an entry in SHOWN (add what their prose promises): {missing}"
    stale = sorted(set(SHOWN) - found)
    assert not stale, f"entries in SHOWN that no notebook shows any more: {stale}"


@pytest.mark.parametrize("call", CALLS, ids=[f"{c.notebook}:{c.target}" for c in CALLS])
def test_shown_source_keeps_what_the_prose_promises(call: Call):
    promise = SHOWN.get((call.notebook, call.target))
    if promise is None:
        pytest.fail(f"{call.notebook} shows {call.target}, which has no entry in SHOWN")
    assert promise.code or promise.quoted, f"the entry for {call.notebook}:{call.target} promises nothing"
    source = inspect.getsource(call.obj)
    for snippet in promise.code + promise.quoted:
        assert snippet in source, (f"{call.notebook} shows {call.target} and its prose promises {snippet!r}, but the "
                                   f"source no longer contains it:\n{source}")
    for snippet in promise.quoted:
        assert snippet in call.prose, (f"{call.notebook}'s prose beside show_source({call.target}) should quote "
                                       f"{snippet!r}, as the shown code has it:\n{call.prose}")


def _taught_in(obj: Any) -> set[str]:
    """The notebook numbers named by the last line of obj's docstring ("Taught in notebooks 02 and 04.")."""
    doc = inspect.cleandoc(obj.__doc__ or "")  # its own docstring, not one inherited from nn.Module
    last = doc.strip().splitlines()[-1] if doc.strip() else ""
    match = re.fullmatch(r"Taught in notebooks? (\d\d(?:(?:, | and )\d\d)*)\.", last)
    assert match, (f"{obj.__qualname__}'s docstring should end with a line like 'Taught in notebook 07.', "
                   f"got {last!r}")
    return set(re.findall(r"\d\d", match.group(1)))


def test_shown_objects_say_where_they_are_taught():
    shown_in: dict[int, tuple[Any, set[str]]] = {}
    for call in CALLS:
        shown_in.setdefault(id(call.obj), (call.obj, set()))[1].add(call.notebook[:2])
    assert shown_in
    for obj, notebooks in shown_in.values():
        assert _taught_in(obj) == notebooks, (f"{obj.__qualname__} is shown in notebooks {sorted(notebooks)}; its "
                                              f"docstring says {sorted(_taught_in(obj))}")
