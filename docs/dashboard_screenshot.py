"""Take the README's dashboard picture from a real run: notebook 04 in full mode, in JupyterLab, in Chromium.

    GAN_DATA=../shared/data/imagewoof-128/train python docs/dashboard_screenshot.py --keep /tmp/run04

It opens a copy of notebooks/ in JupyterLab (headless Chromium, driven as tests/test_browser.py
does), runs all of notebook 04 as a student would (a 15-minute training run on a CPU), waits for the
dashboard to say "Done" and saves its screenshot as docs/dashboard.png. With --keep it also saves the
executed notebook and its run folder there, to read every figure and printout of the full lesson.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from test_browser import (ALL_RAN, CHROMIUM, CHROMIUM_ARGS, DASHBOARD_STATE, KERNEL_IDLE,  # noqa: E402
                          OUTPUT_LINES, RUN_ALL, JupyterLabServer)

NOTEBOOK = "04_adversarial_loop.ipynb"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=REPO / "docs" / "dashboard.png")
    p.add_argument("--keep", type=Path, help="save the executed notebook and its runs/ folder here")
    p.add_argument("--timeout-minutes", type=float, default=40)
    args = p.parse_args()
    if not os.environ.get("GAN_DATA"):
        sys.exit("set GAN_DATA to the folder of dog photos")
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="dashboard-"))
    root = work / "root"
    shutil.copytree(REPO / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns("runs", ".ipynb_checkpoints"))
    env = {k: v for k, v in os.environ.items() if k not in ("GAN_QUICK", "GAN_LIB_DASHBOARD")}  # the full lesson
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    server = JupyterLabServer(root, work, env)
    start = time.monotonic()
    try:
        server.wait_until_up(timeout=60)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(server.url(f"notebooks/{NOTEBOOK}"), wait_until="domcontentloaded", timeout=120_000)
            page.wait_for_function(KERNEL_IDLE, timeout=120_000, polling=500)
            page.evaluate(RUN_ALL)
            timeout_ms = args.timeout_minutes * 60_000
            page.wait_for_function("() => document.querySelector('.gan-dashboard-stop') !== null",
                                   timeout=timeout_ms, polling=1000)
            page.wait_for_function("() => document.querySelector('.gan-dashboard-stop').textContent.trim() !== 'Stop'",
                                   timeout=timeout_ms, polling=2000)
            state = page.evaluate(DASHBOARD_STATE)
            print(f"training ended after {(time.monotonic() - start) / 60:.1f} min: {state['status']}", flush=True)
            page.wait_for_function(ALL_RAN, timeout=timeout_ms, polling=2000)
            dashboard = page.locator(".gan-dashboard").first
            dashboard.scroll_into_view_if_needed()
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_bytes(dashboard.screenshot(animations="disabled"))
            print(f"wrote {args.out}; longest text output: {page.evaluate(OUTPUT_LINES)}")
            if args.keep:
                page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
                time.sleep(5)
                page.screenshot(path=str(work / "page.png"), full_page=True)
                args.keep.mkdir(parents=True, exist_ok=True)
                shutil.copytree(root / "notebooks", args.keep, dirs_exist_ok=True)
                shutil.copy(work / "page.png", args.keep / "page.png")
                print(f"kept the executed notebook in {args.keep}")
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
