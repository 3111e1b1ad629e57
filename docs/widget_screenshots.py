"""Take the README's pictures of notebook 07's breed picker and notebook 08's latent explorer, in a real browser.

    GAN_DATA=../shared/data/imagewoof-128/train python docs/widget_screenshots.py

Needs the generator that notebook 07 trains in full mode (notebooks/runs/07_conditional/checkpoint.pt).
It opens a small notebook in JupyterLab (headless Chromium, driven as tests/test_browser.py does)
that builds the two widgets exactly as notebooks 07 and 08 do, uses them (picks another breed,
moves the first direction's slider), waits for the pictures to change and saves
docs/breed_picker.png and docs/latent_explorer.png.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from test_browser import (ALL_RAN, CHROMIUM, CHROMIUM_ARGS, KERNEL_IDLE, PICTURE_CHANGED,  # noqa: E402
                          PICTURE_SRC, RUN_ALL, JupyterLabServer, choose_second_breed, drag_first_direction)

CHECKPOINT = REPO / "notebooks" / "runs" / "07_conditional" / "checkpoint.pt"
CELLS = [
    "from gan_lib.checkpoint import Checkpoint\n"
    "from gan_lib.config import CONDITIONAL_RUN\n"
    "from gan_lib.latent import principal_directions\n"
    "from gan_lib.sampling import load_generator\n"
    "from gan_lib.widgets import BreedPicker, LatentExplorer\n"
    "run = Checkpoint.load(CONDITIONAL_RUN / 'checkpoint.pt')\n"
    "G = load_generator(run)",
    "BreedPicker(G, run.class_names)",
    "LatentExplorer(G, principal_directions(G, k=6, n=5000), class_names=run.class_names)",
]
SHOTS = [(".gan-breed-picker", "img.gan-breed-picture", choose_second_breed, "breed_picker.png"),
         (".gan-explorer", "img.gan-explorer-picture", drag_first_direction, "latent_explorer.png")]


def main() -> None:
    if not CHECKPOINT.exists():
        sys.exit(f"no {CHECKPOINT}: run notebook 07 in full mode first")
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="widgets-"))
    folder = work / "root" / "notebooks"
    (folder / "runs" / "07_conditional").mkdir(parents=True)
    shutil.copy(CHECKPOINT, folder / "runs" / "07_conditional" / "checkpoint.pt")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, folder / "widgets.ipynb")  # with a kernel named, JupyterLab starts it unasked
    env = {k: v for k, v in os.environ.items() if k not in ("GAN_QUICK", "GAN_LIB_DASHBOARD")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    server = JupyterLabServer(work / "root", work, env)
    try:
        server.wait_until_up(timeout=60)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server.url("notebooks/widgets.ipynb"), wait_until="domcontentloaded", timeout=120_000)
            page.wait_for_function(KERNEL_IDLE, timeout=120_000, polling=500)
            page.evaluate(RUN_ALL)
            page.wait_for_function(ALL_RAN, timeout=300_000, polling=1000)
            for widget, picture, interact, name in SHOTS:
                page.wait_for_function(PICTURE_CHANGED, arg=[picture, ""], timeout=60_000)
                before = page.evaluate(PICTURE_SRC, picture)
                action = interact(page, lambda: 60_000)
                page.wait_for_function(PICTURE_CHANGED, arg=[picture, before], timeout=60_000)
                page.wait_for_timeout(500)  # let the new picture settle before the screenshot
                out = REPO / "docs" / name
                out.write_bytes(page.locator(widget).first.screenshot(animations="disabled"))
                print(f"wrote {out} after {action}")
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
