"""pytest plugin (loaded from pyproject.toml): no notebook cell may print more than a screenful.

nbval runs every cell of every notebook; after each cell this counts the lines of text the cell
showed (printed text, and a value shown as text; pictures and widgets count as nothing) and fails
the cell when a student would have to scroll past a wall of numbers.
"""
from __future__ import annotations

from typing import Any

import pytest

SCREENFUL = 40  # lines of text


def text_lines(outputs: list[Any]) -> int:
    """Lines of text that a cell's outputs (nbformat dicts) show."""
    lines = 0
    for out in outputs:
        if out.get("output_type") == "stream":
            lines += len(str(out.get("text", "")).splitlines())
        elif out.get("output_type") in ("execute_result", "display_data"):
            data = out.get("data", {})
            if not any(key.startswith("image/") or "widget" in key or key == "text/html" for key in data):
                lines += len(str(data.get("text/plain", "")).splitlines())
        elif out.get("output_type") == "error":
            lines += len(out.get("traceback", []))
    return lines


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    result = yield
    outputs = getattr(item, "test_outputs", None)  # set by nbval for each notebook cell it ran
    if outputs is not None and text_lines(outputs) > SCREENFUL:
        pytest.fail(f"this cell printed {text_lines(outputs)} lines of text, more than a screenful "
                    f"({SCREENFUL}): show a picture or a summary instead", pytrace=False)
    return result
