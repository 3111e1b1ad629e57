"""The package's shape: modules import each other without cycles, and every module has a docstring."""
import ast
import importlib
import pkgutil
import re
from pathlib import Path

import gan_lib

PACKAGE = Path(gan_lib.__file__).parent


def imports_of(path: Path, level: int = 1) -> set[str]:
    """The gan_lib modules a file imports, at the top or inside functions (lazy imports count too).

    level: the dots of a relative import that name gan_lib's own modules: 1 for gan_lib/x.py, 2 for a file of a
    subpackage (gan_lib/checks/x.py: `from ..models import ...`). For a subpackage's own modules, pass 1 there.
    """
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == level:  # from .x import y, or from . import x
                found |= {node.module} if node.module else {a.name for a in node.names}
            elif node.module and node.module.startswith("gan_lib."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("gan_lib.")}
    return found


def assert_no_cycles(graph: dict[str, set[str]]) -> None:
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        if state.get(module) == "done":
            return
        assert state.get(module) != "visiting", "import cycle: " + " -> ".join(path + [module])
        state[module] = "visiting"
        for other in sorted(graph.get(module, ())):
            visit(other, path + [module])
        state[module] = "done"

    for module in sorted(graph):
        visit(module, [])


def test_no_import_cycles():
    # A subpackage (gan_lib/checks/, gan_lib/pretrained/) is one node: what all its files import.
    graph = {p.stem: imports_of(p) for p in PACKAGE.glob("*.py")}
    for package in (init.parent for init in PACKAGE.glob("*/__init__.py")):
        graph[package.name] = set().union(*(imports_of(p, level=2) for p in package.glob("*.py")))
        assert_no_cycles({p.stem: imports_of(p) - {p.stem} for p in package.glob("*.py")})  # inside it
    assert_no_cycles({name: found - {name} for name, found in graph.items()})


def test_every_module_imports_alone_and_says_what_it_is_for():
    for info in pkgutil.walk_packages([str(PACKAGE)], prefix="gan_lib."):  # subpackages' modules too
        if info.name == "gan_lib.__main__":  # running it is the command line
            continue
        module = importlib.import_module(info.name)
        assert module.__doc__ and module.__doc__.strip(), f"{info.name} has no docstring"


def test_metric_maths_knows_nothing_of_the_command_line():
    for name in ("metrics.py", "features.py", "distances.py", "verdicts.py"):
        assert "cli" not in imports_of(PACKAGE / name), name
        assert "argparse" not in (PACKAGE / name).read_text(), name


def test_screenful_rule_counts_text_but_not_pictures():
    from notebook_outputs import SCREENFUL, text_lines

    history = "\n".join(f"{{'step': {i}, 'loss_d': 1.0}}" for i in range(8000))
    assert text_lines([{"output_type": "execute_result", "data": {"text/plain": history}}]) == 8000 > SCREENFUL
    assert text_lines([{"output_type": "stream", "name": "stdout", "text": "a\nb\n"},
                       {"output_type": "display_data", "data": {"image/png": "...", "text/plain": "<Figure>"}},
                       {"output_type": "display_data",
                        "data": {"application/vnd.jupyter.widget-view+json": {}, "text/plain": "VBox()"}}]) == 2


ARCHITECTURE = PACKAGE.parent / "docs" / "architecture.md"


def test_the_architecture_page_maps_every_module_and_only_real_ones():
    """docs/architecture.md is the one map: every module is on it, and everything it names exists."""
    text = ARCHITECTURE.read_text()
    modules = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    named = {n for n in re.findall(r"`([\w/]+\.py)`", text) if not n.startswith("tests/")}
    assert modules - {"__init__.py"} <= named, f"not on docs/architecture.md: {sorted(modules - named - {'__init__.py'})}"
    assert named <= modules, f"docs/architecture.md names modules that do not exist: {sorted(named - modules)}"
    # Every `module.name` (in backticks or in the data-flow drawing) must exist, e.g. training.discriminator_step.
    stems = {m[:-3].replace("/__init__", "").replace("/", ".") for m in modules}
    for module, attrs in re.findall(r"\b([a-z_]+)\.((?:[A-Za-z_]\w*\.?)+)", text):
        attrs = attrs.rstrip(".")
        if module not in stems or attrs in ("py", "png", "pt", "jsonl", "md"):  # a file name, not a name in it
            continue
        obj = importlib.import_module(f"gan_lib.{module}")
        for attr in attrs.split("."):
            assert hasattr(obj, attr), f"docs/architecture.md names {module}.{attrs}, which does not exist"
            obj = getattr(obj, attr)


def test_the_readme_and_the_package_docstring_point_to_the_map_instead_of_listing_modules():
    readme = (PACKAGE.parent / "README.md").read_text()
    for text in (readme, gan_lib.__doc__):
        assert "docs/architecture.md" in text
        assert not re.search(r"gan_lib/\w+\.py` \|", text), "a module table drifts from the map: link to it instead"
