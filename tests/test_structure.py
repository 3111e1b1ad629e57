"""The package's shape: modules import each other without cycles, and every module has a docstring."""
import ast
import importlib
import pkgutil
from pathlib import Path

import gan_lib

PACKAGE = Path(gan_lib.__file__).parent


def imports_of(path: Path) -> set[str]:
    """The gan_lib modules a file imports, at the top or inside functions (lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:  # from .x import y, or from . import x
                found |= {node.module} if node.module else {a.name for a in node.names}
            elif node.module and node.module.startswith("gan_lib."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("gan_lib.")}
    return found


def test_no_import_cycles():
    graph = {p.stem: imports_of(p) - {p.stem} for p in PACKAGE.glob("*.py")}
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


def test_every_module_imports_alone_and_says_what_it_is_for():
    for info in pkgutil.iter_modules([str(PACKAGE)]):
        if info.name == "__main__":  # running it is the command line
            continue
        module = importlib.import_module(f"gan_lib.{info.name}")
        assert module.__doc__ and module.__doc__.strip(), f"gan_lib.{info.name} has no docstring"


def test_metric_maths_knows_nothing_of_the_command_line():
    assert "cli" not in imports_of(PACKAGE / "metrics.py")
    assert "argparse" not in (PACKAGE / "metrics.py").read_text()


def test_screenful_rule_counts_text_but_not_pictures():
    from notebook_outputs import SCREENFUL, text_lines

    history = "\n".join(f"{{'step': {i}, 'loss_d': 1.0}}" for i in range(8000))
    assert text_lines([{"output_type": "execute_result", "data": {"text/plain": history}}]) == 8000 > SCREENFUL
    assert text_lines([{"output_type": "stream", "name": "stdout", "text": "a\nb\n"},
                       {"output_type": "display_data", "data": {"image/png": "...", "text/plain": "<Figure>"}},
                       {"output_type": "display_data",
                        "data": {"application/vnd.jupyter.widget-view+json": {}, "text/plain": "VBox()"}}]) == 2
