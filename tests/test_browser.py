"""Browser tests: JupyterLab in headless Chromium runs the notebooks and their widgets answer the student.

The first test runs notebook 04 and watches its live training dashboard. The second runs notebooks
07 and 08 and uses their widgets as a student would: it picks another breed in 07's breed menu and
moves the first slider of 08's latent explorer with the keyboard, then waits for the picture to change.

nbval runs notebooks in a kernel but never renders a widget, so these tests do what a student does:
start JupyterLab, open the notebook, Run All, and watch. For 04 the dashboard's fixed-noise sample
grid must change while the GAN trains a few hundred steps, and at the end the dashboard must say
training is done. In every notebook no output area may hold more than a screenful of text.
Screenshots of the quick-mode widgets are kept in each test's temporary folder; the README's
pictures of real runs come from docs/dashboard_screenshot.py and docs/widget_screenshots.py, which
reuse this file's driver.

Needs Debian's `chromium` (`apt-get install chromium`) and the `playwright` Python package, which
drives that executable (no `playwright install`: nothing is downloaded). Without them the test is
skipped with the reason, except when $CI is set: there missing tools fail the test.
"""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "04_adversarial_loop.ipynb"  # the notebook whose dashboard we watch
CHROMIUM = Path(os.environ.get("GAN_CHROMIUM", "/usr/bin/chromium"))
# Headless as root, no GPU, and no calls home to Google (this machine has no internet).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_S = 300  # the whole test: server start, page load, kernel start and the quick training run
SCREENFUL = 40  # lines of text one output area may show

pytestmark = pytest.mark.browser

# Runs in the page before JupyterLab loads: every time the dashboard's sample <img> finishes loading
# a picture, record its URL, size, a hash of its pixels and the status line shown at that moment.
RECORD_SAMPLE_FRAMES = """
window.__ganFrames = [];
document.addEventListener('load', (event) => {
  const img = event.target;
  if (!(img instanceof HTMLImageElement) || !img.classList.contains('gan-dashboard-samples')) return;
  const status = document.querySelector('.gan-dashboard-status');
  const frame = {src: img.src, width: img.naturalWidth, height: img.naturalHeight, hash: null,
                 status: status ? status.textContent : ''};
  if (img.naturalWidth > 0) {
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let hash = 2166136261;  // FNV-1a
    for (let i = 0; i < pixels.length; i++) { hash = Math.imul(hash ^ pixels[i], 16777619) >>> 0; }
    frame.hash = hash;
  }
  window.__ganFrames.push(frame);
}, true);  // load events do not bubble, so listen in the capture phase
"""

# The notebook panel's kernel, via the app object that --LabApp.expose_app_in_browser exposes.
KERNEL_IDLE = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session
                 && panel.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle' && panel.context.isReady;
}"""

# Run All, as the Run menu does. The promise settles when the cells ran or one failed.
RUN_ALL = """() => {
  window.__ganRunResult = undefined;
  window.jupyterapp.commands.execute('notebook:run-all-cells').then(
    (ok) => { window.__ganRunResult = ok; },
    (err) => { window.__ganRunResult = 'command failed: ' + err; });
}"""

DASHBOARD_OR_DONE = ("() => document.querySelector('img.gan-dashboard-samples') !== null"
                     " || window.__ganRunResult !== undefined")

# Every non-empty code cell has run and the kernel is idle. (After an expected error in a cell
# tagged raises-exception, Run All settles early but the kernel goes on with the queued cells.)
ALL_RAN = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle' && panel.content.widgets.every((cell) =>
    cell.model.type !== 'code' || !cell.model.sharedModel.getSource().trim()
    || cell.model.executionCount !== null);
}"""

# The most lines of text any code cell's output area shows (pictures and widgets count as nothing).
OUTPUT_LINES = """() => {
  let most = {lines: 0, cell: -1, start: ''};
  window.jupyterapp.shell.currentWidget.content.widgets.forEach((cell, index) => {
    if (cell.model.type !== 'code') return;
    let lines = 0;
    for (const node of cell.node.querySelectorAll('.jp-OutputArea-output')) {
      if (node.querySelector('img, canvas, .jupyter-widgets, .widget-box')) continue;
      lines += node.innerText.split('\\n').filter((line) => line.trim()).length;
    }
    if (lines > most.lines) most = {lines: lines, cell: index, start: cell.model.sharedModel.getSource().slice(0, 80)};
  });
  return most;
}"""

# What the dashboard's status label and Stop button say.
DASHBOARD_STATE = """() => ({
  status: (document.querySelector('.gan-dashboard-status') || {}).textContent || '',
  button: (document.querySelector('.gan-dashboard-stop') || {}).textContent || '',
})"""

# Error outputs, and stderr outputs that hold a traceback, of cells not tagged raises-exception.
# (JupyterLab draws error outputs as stderr too, so a failing cell shows up in both lists.)
ERRORS = """() => {
  const found = {errors: [], tracebacks: []};
  const stderr = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]';
  for (const cell of window.jupyterapp.shell.currentWidget.content.widgets) {
    if (cell.model.type !== 'code' || (cell.model.getMetadata('tags') || []).includes('raises-exception')) continue;
    for (const output of cell.model.outputs.toJSON()) {
      if (output.output_type === 'error') found.errors.push(output.ename + ': ' + output.evalue);
    }
    for (const node of cell.node.querySelectorAll(stderr)) {
      if (node.textContent.includes('Traceback')) found.tracebacks.push(node.textContent.slice(-1500));
    }
  }
  return found;
}"""


def _in_ci() -> bool:
    """True when $CI is set (to anything but 0/false/no), as CI services do."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _require_tools() -> None:
    """Skip (locally) or fail (in CI) when Chromium, Playwright or JupyterLab is missing."""
    missing = []
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    for module, package in [("playwright", "playwright"), ("jupyterlab", "jupyterlab")]:
        if importlib.util.find_spec(module) is None:
            missing.append(f"the {package} Python package (pip install -e '.[dev]')")
    if not missing:
        return
    reason = "browser test needs " + " and ".join(missing)
    if _in_ci():
        pytest.fail(reason + " ($CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterLabServer:
    """`jupyter lab` on 127.0.0.1 with a random token, its own config/runtime dirs and a log file."""

    def __init__(self, root_dir: Path, work_dir: Path, env: dict[str, str]) -> None:
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = work_dir / "jupyterlab.log"
        config_dir = work_dir / "jupyter_config"
        user_settings = {
            # Plain (non-windowed) notebook rendering keeps every output in the DOM while it scrolls.
            "notebook-extension/tracker": {"windowingMode": "none"},
            # No "get Jupyter news?" toast over the dashboard, and no update checks.
            "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        }
        for name, values in user_settings.items():
            path = config_dir / "lab" / "user-settings" / "@jupyterlab" / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        (config_dir / "jupyter_server_config.json").write_text(json.dumps({"LabApp": {
            "expose_app_in_browser": True,  # window.jupyterapp: run commands, read kernel state
            "news_url": None,  # no news toast, no fetches
            "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
            "extension_manager": "readonly",  # no PyPI queries from the extension manager
        }}))
        env = {**env, "JUPYTER_CONFIG_DIR": str(config_dir),
               "JUPYTER_RUNTIME_DIR": str(work_dir / "jupyter_runtime"),
               "JUPYTER_DATA_DIR": str(work_dir / "jupyter_data"), "IPYTHONDIR": str(work_dir / "ipython"),
               "JUPYTER_PLATFORM_DIRS": "1"}
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
                   f"--port={self.port}", "--ServerApp.port_retries=0",
                   f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root_dir}",
                   "--ServerApp.terminals_enabled=False", "--allow-root"]  # CI containers run as root
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(command, cwd=root_dir, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def api(self, path: str, method: str = "GET", timeout: float = 5) -> bytes:
        request = urllib.request.Request(f"{self.base}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()

    def wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with code {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                self.api("/api/status", timeout=2)
                return
            time.sleep(0.5)
        raise TimeoutError(f"jupyter lab did not answer on {self.base} within {timeout:.0f} s:\n{self.log_tail()}")

    def url(self, path: str) -> str:
        return f"{self.base}/lab/tree/{path}?token={self.token}"

    def log_tail(self, chars: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return "(no log)"

    def stop(self) -> None:
        """Shut down kernels and server through the API; kill whatever is left."""
        children = []
        with contextlib.suppress(Exception):
            import psutil  # installed with ipykernel; kernels run in their own session

            children = psutil.Process(self.process.pid).children(recursive=True)
        with contextlib.suppress(Exception):
            self.api("/api/shutdown", method="POST")
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        for child in children:
            with contextlib.suppress(Exception):
                child.kill()
        self._log.close()


@pytest.fixture
def jupyter_lab(tmp_path: Path, real_dir: Path):
    """JupyterLab serving a temporary copy of the notebook's folder (so nothing is saved into the repo)."""
    _require_tools()
    if not NOTEBOOK.is_file():
        pytest.fail(f"{NOTEBOOK} does not exist; the browser test runs it", pytrace=False)
    root = tmp_path / "root"
    shutil.copytree(NOTEBOOK.parent, root / NOTEBOOK.parent.name,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "runs", "outputs"))
    env = {**os.environ, "GAN_QUICK": "1", "GAN_DATA": str(real_dir),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    env.pop("GAN_LIB_DASHBOARD", None)  # the dashboard must find the notebook frontend by itself
    server = JupyterLabServer(root, tmp_path, env)
    try:
        yield server
    finally:
        server.stop()


def _diagnostics(page, server: JupyterLabServer, tmp_path: Path) -> str:
    """Last page text, recorded dashboard frames, a failure screenshot and the server log tail."""
    parts = []
    with contextlib.suppress(Exception):
        parts.append("--- page text (end) ---\n" + page.inner_text("body", timeout=5000)[-3000:])
    with contextlib.suppress(Exception):
        parts.append(f"--- Run All result: {page.evaluate('window.__ganRunResult')!r}")
    with contextlib.suppress(Exception):
        frames = page.evaluate("window.__ganFrames || []")
        parts.append("--- sample image loads ---\n" + "\n".join(
            f"{f['width']}x{f['height']} hash={f['hash']} status={f['status']!r}" for f in frames))
    with contextlib.suppress(Exception):
        shot = tmp_path / "failure.png"
        page.screenshot(path=str(shot), full_page=True)
        parts.append(f"--- screenshot: {shot}")
    parts.append("--- jupyter lab log (end) ---\n" + server.log_tail())
    return "\n".join(parts)


def test_notebook_draws_live_dashboard_in_jupyterlab(jupyter_lab: JupyterLabServer, tmp_path: Path):
    """Run All in JupyterLab: no errors, the dashboard is drawn and its sample grid changes."""
    from playwright.sync_api import sync_playwright

    start = time.monotonic()

    def left_ms() -> float:  # what remains of the overall budget, for Playwright's timeouts
        left = TIMEOUT_S - (time.monotonic() - start)
        if left <= 0:
            raise TimeoutError(f"the browser test ran out of its {TIMEOUT_S} s budget")
        return left * 1000

    jupyter_lab.wait_until_up(timeout=60)
    notebook_path = f"{NOTEBOOK.parent.name}/{NOTEBOOK.name}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            failure = None
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.add_init_script(RECORD_SAMPLE_FRAMES)
            try:
                page.goto(jupyter_lab.url(notebook_path), wait_until="domcontentloaded", timeout=left_ms())
                page.wait_for_function(KERNEL_IDLE, timeout=left_ms(), polling=500)
                page.evaluate(RUN_ALL)
                # The dashboard appears when training starts, unless an earlier cell fails first.
                page.wait_for_function(DASHBOARD_OR_DONE, timeout=left_ms(), polling=250)
                dashboard = page.locator(".gan-dashboard").first
                if dashboard.count():
                    dashboard.scroll_into_view_if_needed(timeout=left_ms())
                page.wait_for_function("window.__ganRunResult !== undefined", timeout=left_ms(), polling=500)
                errors = page.evaluate(ERRORS)
                if not (errors["errors"] or errors["tracebacks"]):
                    page.wait_for_function(ALL_RAN, timeout=left_ms(), polling=500)
                    errors = page.evaluate(ERRORS)
                frames = page.evaluate("window.__ganFrames")
                most_text, state = page.evaluate(OUTPUT_LINES), page.evaluate(DASHBOARD_STATE)

                assert not (errors["errors"] or errors["tracebacks"]), (
                    "the notebook shows errors: " + "; ".join(errors["errors"]) + "\n"
                    + "\n\n".join(errors["tracebacks"]))
                assert dashboard.count(), "no live dashboard (.gan-dashboard) was drawn in the page"
                pictures = [f for f in frames if f["width"] > 0]
                assert pictures, "the dashboard's sample image never showed a picture"
                assert len({f["src"] for f in pictures}) >= 2 and len({f["hash"] for f in pictures}) >= 2, (
                    "the sample grid never changed during training: "
                    + ", ".join(f"hash={f['hash']} ({f['status']})" for f in pictures))
                assert state["button"].strip() == "Done" and state["status"].startswith("done"), (
                    f"the end of training does not look like success: button {state['button']!r}, "
                    f"status {state['status']!r}")
                assert most_text["lines"] <= SCREENFUL, (
                    f"cell {most_text['cell']} ({most_text['start']!r}...) shows {most_text['lines']} lines of "
                    f"text, more than a screenful ({SCREENFUL})")

                dashboard.scroll_into_view_if_needed(timeout=left_ms())
                png = dashboard.screenshot(timeout=left_ms(), animations="disabled")
            except Exception as exc:  # collected while the page is still open
                failure = f"{type(exc).__name__}: {exc}\n{_diagnostics(page, jupyter_lab, tmp_path)}"
        finally:
            browser.close()
    if failure:
        pytest.fail(failure, pytrace=False)
    target = tmp_path / "dashboard.png"  # the test's artefact; the README shows a full-mode run instead
    target.write_bytes(png)
    print(f"\nbrowser test: {len(pictures)} sample grids shown, {len({f['hash'] for f in pictures})} "
          f"different, at most {most_text['lines']} lines of text in an output, {time.monotonic() - start:.0f} s; "
          f"screenshot in {target}")


# The src of a widget picture (an <img> whose blob: URL changes with every new picture).
PICTURE_SRC = "(selector) => { const img = document.querySelector(selector); return img ? img.src : null; }"
PICTURE_CHANGED = ("([selector, before]) => { const img = document.querySelector(selector);"
                   " return !!img && img.src !== before && img.naturalWidth > 0; }")


def choose_second_breed(page, left_ms) -> str:
    """Notebook 07: pick another breed in the breed menu (a <select> in ipywidgets 7 and 8); say which."""
    select = page.locator(".gan-breed-menu select").first
    select.scroll_into_view_if_needed(timeout=left_ms())
    breed = select.locator("option").all_inner_texts()[1]
    select.select_option(label=breed, timeout=left_ms())
    return f"choosing {breed.replace(chr(160), ' ')!r}"  # ipywidgets 7's labels use no-break spaces


def drag_first_direction(page, left_ms, handle: str = ".noUi-handle") -> str:
    """Notebook 08: move the first direction's slider ten steps right with the keyboard, as a student can
    (`handle`: ipywidgets 8's noUiSlider handle; ipywidgets 7 draws jQuery UI's `.ui-slider-handle`)."""
    handle = page.locator(f".gan-explorer-direction {handle}").first
    handle.scroll_into_view_if_needed(timeout=left_ms())
    handle.focus(timeout=left_ms())
    for _ in range(10):
        handle.press("ArrowRight", timeout=left_ms())
    return "moving PC1 to +1.0"


@pytest.mark.parametrize("notebook, widget, picture, interact", [
    ("07_conditional_gan.ipynb", ".gan-breed-picker", "img.gan-breed-picture", choose_second_breed),
    ("08_latent_space.ipynb", ".gan-explorer", "img.gan-explorer-picture", drag_first_direction),
])
def test_widgets_answer_the_student_in_jupyterlab(jupyter_lab: JupyterLabServer, tmp_path: Path,
                                                  notebook, widget, picture, interact):
    """Run All, then use the notebook's widget in the page: its picture must change in response."""
    from playwright.sync_api import sync_playwright

    start = time.monotonic()

    def left_ms() -> float:
        left = TIMEOUT_S - (time.monotonic() - start)
        if left <= 0:
            raise TimeoutError(f"the browser test ran out of its {TIMEOUT_S} s budget")
        return left * 1000

    jupyter_lab.wait_until_up(timeout=60)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            failure = None
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            try:
                page.goto(jupyter_lab.url(f"{NOTEBOOK.parent.name}/{notebook}"), wait_until="domcontentloaded",
                          timeout=left_ms())
                page.wait_for_function(KERNEL_IDLE, timeout=left_ms(), polling=500)
                page.evaluate(RUN_ALL)
                page.wait_for_function("window.__ganRunResult !== undefined", timeout=left_ms(), polling=500)
                errors = page.evaluate(ERRORS)
                if not (errors["errors"] or errors["tracebacks"]):
                    page.wait_for_function(ALL_RAN, timeout=left_ms(), polling=500)
                    errors = page.evaluate(ERRORS)
                assert not (errors["errors"] or errors["tracebacks"]), (
                    "the notebook shows errors: " + "; ".join(errors["errors"]) + "\n"
                    + "\n\n".join(errors["tracebacks"]))
                most_text = page.evaluate(OUTPUT_LINES)
                assert most_text["lines"] <= SCREENFUL, (
                    f"cell {most_text['cell']} ({most_text['start']!r}...) shows {most_text['lines']} lines of "
                    f"text, more than a screenful ({SCREENFUL})")
                assert page.locator(widget).count(), f"no {widget} widget was drawn in the page"
                page.wait_for_function(PICTURE_CHANGED, arg=[picture, ""], timeout=left_ms(), polling=200)
                before = page.evaluate(PICTURE_SRC, picture)
                action = interact(page, left_ms)
                # The kernel redraws after the action; wait for the new picture (or time out).
                page.wait_for_function(PICTURE_CHANGED, arg=[picture, before], timeout=min(left_ms(), 30_000),
                                       polling=200)
                png = page.locator(widget).first.screenshot(timeout=left_ms(), animations="disabled")
            except Exception as exc:
                failure = f"{type(exc).__name__}: {exc}\n{_diagnostics(page, jupyter_lab, tmp_path)}"
        finally:
            browser.close()
    if failure:
        pytest.fail(failure, pytrace=False)
    (tmp_path / "widget.png").write_bytes(png)
    print(f"\nbrowser test: {notebook}: {action} changed the picture, {time.monotonic() - start:.0f} s")
