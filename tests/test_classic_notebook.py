"""A browser test in Colab's widget lineage: the classic Notebook 6.5 with ipywidgets 7 runs the notebooks.

Colab's front end renders only ipywidgets 7 (Colab ships 7.7.1). tests/test_browser.py watches the
widgets in JupyterLab 4 with ipywidgets 8; this file does the same in the Colab-like environment of
tests/colab_env.py (Colab's versions: ipywidgets 7.7.1, widgetsnbextension 3.6.10, ipykernel 6.17.1,
IPython 7.34, notebook 6.5.7), whose classic Notebook draws widgets with ipywidgets 7's JavaScript,
the widget generation Colab's front end renders. The course is installed there as Colab does it: pip from a
git URL (a bare clone of this repository's HEAD, so commit first; $GAN_COURSE_REPO names another),
and no package of Colab's list may change version.

In headless Chromium it runs, in quick mode and in this order:
* notebook 04: no cell errors, the dashboard's sample picture shows and changes while the GAN
  trains, and at the end the dashboard says done (a screenshot is kept in the test's tmp folder);
* a small notebook that trains with a long budget, to see whether the dashboard's Stop button
  reaches the kernel while a cell awaits `trainer.fit_async(...)`. Under ipykernel 6 the kernel
  handles one shell message at a time, so the click may wait until the cell ends: the test accepts
  either a Stop that works during training or, when the click is not delivered, requires that
  Jupyter's own interrupt (Colab's Runtime > Interrupt execution) ends the run cleanly after the
  current step, that the next cell saves a checkpoint and that it resumes. It prints which held
  (with ipykernel 6.17.1: the click waits until the cell ends, hence notebook 04's note on Colab);
* notebook 07: another breed in the breed menu changes the picture;
* notebook 08: the first latent slider, moved with the keyboard, changes the picture.

It shares .colab-env with tests/test_colab.py, which uninstalls gan_lib when it starts: do not run
the two at the same time.

What this proves: the course's widgets render, update and answer in ipywidgets 7's classic front end
with Colab's kernel stack. What it does not: it is not Colab itself (Colab's own front end, its kernel
gateway, its GPU builds of torch and its files are not here), only the closest stand-in this machine has.

Needs Debian's chromium, the playwright package and Colab's runtime list (see colab_env.py): without
them the test is skipped with the reason, except when $CI is set: there it fails.
"""
from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import colab_env
import test_browser as lab  # the JupyterLab browser test: Chromium, frame recorder, server driver

pytestmark = [pytest.mark.browser, pytest.mark.colab]

NOTEBOOKS = colab_env.REPO / "notebooks"
STOP_NOTEBOOK = "stop_button.ipynb"  # written into the temporary copy of notebooks/
STOP_WAIT_S = 20  # how long a Stop click may take to end training before it counts as not delivered
STOP_BUDGET = 20_000  # steps of the Stop test's run: far more than it can train in its time
# Seconds each notebook may take, from opening the page to the last check (quick mode, busy CPU).
BUDGET_S = {"04_adversarial_loop.ipynb": 600, STOP_NOTEBOOK: 240, "07_conditional_gan.ipynb": 420,
            "08_latent_space.ipynb": 420}
TIMINGS: dict[str, float] = {}

# A notebook that trains far longer than the test waits, then saves and resumes (classic Notebook format).
STOP_CELLS = [
    "import os\nfrom pathlib import Path\n\n"
    "from gan_lib.callbacks import LiveDashboard\nfrom gan_lib.config import recommended_config\n"
    "from gan_lib.data import load_images\nfrom gan_lib.download import locate_photos\n"
    "from gan_lib.training import Trainer\n\n"
    f"config = recommended_config(steps={STOP_BUDGET}, resolution=32, g_width=16, d_width=16, batch_size=32)\n"
    "folder, annotations = locate_photos()\n"
    "data = load_images(folder, 32, annotations=annotations, max_per_class=20)\n"
    "trainer = Trainer(config, data)",
    "await trainer.fit_async(callbacks=[LiveDashboard(every=5)])",
    "path = trainer.save(Path('runs') / 'stop_button' / 'checkpoint.pt')\n"
    "resumed = Trainer.resume(path, data)\n"
    "print(f'ended: {trainer.stop_reason} at step {trainer.step}; resumed at step {resumed.step}')",
]

# The classic notebook's kernel is connected and idle, and ipywidgets 7's manager is listening.
KERNEL_READY = """() => {
  const nb = window.Jupyter && window.Jupyter.notebook;
  return !!nb && !!nb._fully_loaded && !!nb.kernel && nb.kernel.is_connected() && !nb.kernel_busy
         && !!nb.kernel.info_reply && !!nb.kernel.info_reply.language_info  // KERNEL_INFO reads it next
         && !!window.Jupyter.WidgetManager && window.Jupyter.WidgetManager._managers.length > 0;
}"""

# The kernel's IPython version and its Python's major.minor, from its kernel_info reply.
KERNEL_INFO = """() => { const info = window.Jupyter.notebook.kernel.info_reply;
  return [info.implementation_version, info.language_info.version.split('.').slice(0, 2).join('.')]; }"""

# Cell > Run All, as the menu does it.
RUN_ALL = "() => { window.Jupyter.notebook.execute_all_cells(); }"

# Every code cell has finished or was skipped (no '*' prompt left) and the kernel is idle.
ALL_RAN = """() => {
  const nb = window.Jupyter.notebook;
  return !nb.kernel_busy
         && nb.get_cells().every((cell) => cell.cell_type !== 'code' || cell.input_prompt_number !== '*');
}"""

# Error outputs, tracebacks on stderr, and code cells that never ran (Run All stops at an error).
ERRORS = """() => {
  const found = {errors: [], tracebacks: [], not_run: []};
  window.Jupyter.notebook.get_cells().forEach((cell, index) => {
    if (cell.cell_type !== 'code' || (cell.metadata.tags || []).includes('raises-exception')) return;
    for (const output of cell.output_area.outputs) {
      if (output.output_type === 'error') found.errors.push(output.ename + ': ' + output.evalue);
      if (output.output_type === 'stream' && output.name === 'stderr' && output.text.includes('Traceback'))
        found.tracebacks.push(output.text.slice(-1500));
    }
    if (cell.get_text().trim() && typeof cell.input_prompt_number !== 'number') found.not_run.push(index);
  });
  return found;
}"""

# The text a code cell printed (stdout), by index among all cells.
CELL_TEXT = """(index) => window.Jupyter.notebook.get_cell(index).output_area.outputs
  .filter((o) => o.output_type === 'stream').map((o) => o.text).join('')"""

STEP = re.compile(r"step ([\d,]+)")


def _require_tools() -> None:
    """Skip (locally) or fail (in CI) when Chromium, Playwright or Colab's runtime list is missing."""
    missing = []
    if not (lab.CHROMIUM.is_file() and os.access(lab.CHROMIUM, os.X_OK)):
        missing.append(f"Chromium at {lab.CHROMIUM} (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright Python package (pip install -e '.[dev]')")
    if not colab_env.runtime_list().is_file():
        missing.append(f"Colab's runtime list {colab_env.runtime_list()} (set GAN_COLAB_RUNTIME)")
    if not missing:
        return
    reason = "the classic-notebook browser test needs " + " and ".join(missing)
    if lab._in_ci():
        pytest.fail(reason + " ($CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def _gan_lib_importable(python: Path, cwd: Path) -> bool:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(python), "-c", "import gan_lib"], cwd=cwd, env=env, capture_output=True).returncode == 0


def _install_course(python: Path, tmp: Path, pins: dict[str, str]) -> str:
    """pip install the course from a git URL, as the notebooks' first cell does on Colab; the URL used.

    Colab's versions are given to pip as constraints, so a requirement that would change one of them
    fails here with pip's reason instead of quietly breaking the shared environment.
    """
    url = os.environ.get("GAN_COURSE_REPO")
    if not url:
        bare = tmp / "dog-gan-course.git"
        subprocess.run(["git", "clone", "--quiet", "--bare", str(colab_env.REPO), str(bare)], check=True)
        url = f"file://{bare}"
    constraints = tmp / "colab-constraints.txt"
    constraints.write_text("".join(f"{name}=={version}\n" for name, version in sorted(pins.items())))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    r = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-c", str(constraints), f"gan_lib[offline-metrics] @ git+{url}"],
                       cwd=tmp, env=env, capture_output=True, text=True)
    if r.returncode:
        errors = [line for line in r.stderr.splitlines() if line.strip()]
        pytest.fail(f"installing the course from git+{url} into the Colab-like environment failed "
                    "(with Colab's versions as constraints; is the working tree committed?):\n"
                    + "\n".join(errors[-20:]), pytrace=False)
    return url


def _widgets_enabled(python: Path, env: dict[str, str]) -> bool:
    """Whether the classic notebook loads ipywidgets 7's extension (widgetsnbextension) in `env`."""
    r = subprocess.run([str(python), "-m", "jupyter", "nbextension", "list"], env=env, capture_output=True,
                       text=True)
    listing = re.sub(r"\x1b\[[0-9;]*m", "", r.stdout + r.stderr)
    return re.search(r"jupyter-js-widgets/extension\s+enabled", listing) is not None


class ClassicNotebookServer(lab.JupyterLabServer):
    """The classic Notebook 6.5 server of the Colab-like environment (`python -m notebook`)."""

    def __init__(self, python: Path, root_dir: Path, work_dir: Path, env: dict[str, str]) -> None:
        self.port, self.token = lab._free_port(), secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = work_dir / "notebook.log"
        command = [str(python), "-m", "notebook", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
                   "--NotebookApp.port_retries=0", f"--NotebookApp.token={self.token}",
                   f"--notebook-dir={root_dir}", "--NotebookApp.show_banner=False",
                   "--allow-root"]  # CI containers run as root
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(command, cwd=root_dir, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def url(self, path: str) -> str:
        return f"{self.base}/notebooks/{path}?token={self.token}"

    def close_kernels(self) -> None:
        """Shut down every open notebook's kernel (one at a time keeps this small machine free)."""
        with contextlib.suppress(Exception):
            for session in json.loads(self.api("/api/sessions")):
                self.api(f"/api/sessions/{session['id']}", method="DELETE", timeout=30)


@pytest.fixture(scope="module")
def colab_python(tmp_path_factory) -> Path:
    """The Colab-like environment's Python, with the course installed from git when it is missing."""
    _require_tools()
    python = colab_env.build()
    pins = colab_env.pinned(colab_env.runtime_list())
    before = colab_env.installed_versions(python, list(pins))
    if before != pins:
        pytest.fail("the Colab-like environment does not hold Colab's versions: "
                    + str({k: (before[k], v) for k, v in pins.items() if before[k] != v}), pytrace=False)
    tmp = tmp_path_factory.mktemp("colab_install")
    if not _gan_lib_importable(python, tmp):
        url = _install_course(python, tmp, pins)
        print(f"\ninstalled gan_lib into {colab_env.ENV} from git+{url}")
        after = colab_env.installed_versions(python, list(pins))
        changed = {k: (before[k], after[k]) for k in pins if after[k] != before[k]}
        assert not changed, f"installing the course changed Colab's packages: {changed}"
        assert _gan_lib_importable(python, tmp), "gan_lib is not importable after installing it"
    return python


@pytest.fixture(scope="module")
def classic_notebook(colab_python: Path, real_dir: Path, tmp_path_factory):
    """Notebook 6.5 serving a temporary copy of notebooks/ (plus the Stop test's notebook), quick mode."""
    start = time.monotonic()
    work = tmp_path_factory.mktemp("classic")
    root = work / "content"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "runs",
                                                                   "outputs", "my_dogs"))
    stop = {"cells": [{"cell_type": "code", "execution_count": None, "id": f"stop-{i}", "metadata": {}, "outputs": [],
                       "source": source} for i, source in enumerate(STOP_CELLS)],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}
    (root / STOP_NOTEBOOK).write_text(json.dumps(stop, indent=1))
    for name in ("home", "jupyter_config", "jupyter_runtime", "jupyter_data", "ipython"):
        (work / name).mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("GAN_HOME", "PYTHONPATH", "VIRTUAL_ENV", "GAN_LIB_DASHBOARD", "MPLBACKEND")}
    env |= {"HOME": str(work / "home"), "GAN_QUICK": "1", "GAN_DATA": str(real_dir),
            "PATH": os.pathsep.join([str(colab_python.parent), env.get("PATH", "")]),
            "JUPYTER_CONFIG_DIR": str(work / "jupyter_config"), "JUPYTER_RUNTIME_DIR": str(work / "jupyter_runtime"),
            "JUPYTER_DATA_DIR": str(work / "jupyter_data"), "IPYTHONDIR": str(work / "ipython")}
    if not _widgets_enabled(colab_python, env):  # Colab's wheel enables it in sys-prefix: normally a no-op
        subprocess.run([str(colab_python), "-m", "jupyter", "nbextension", "enable", "--py", "widgetsnbextension",
                        "--sys-prefix"], env=env, check=True, capture_output=True)
        assert _widgets_enabled(colab_python, env), "widgetsnbextension could not be enabled"
    server = ClassicNotebookServer(colab_python, root, work, env)
    try:
        server.wait_until_up(timeout=60)
        server.root = root
        server.kernel = [colab_env.installed_versions(colab_python, ["ipython"])["ipython"], subprocess.run(
            [str(colab_python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True,
            text=True, check=True).stdout.strip()]
        yield server
    finally:
        server.stop()
        print(f"\nclassic notebook tests: {', '.join(f'{k[:2]} {v:.0f} s' for k, v in TIMINGS.items())}; "
              f"{time.monotonic() - start:.0f} s in all with the server")


class Page:
    """One notebook open in headless Chromium, with a time budget for every wait."""

    def __init__(self, page, server: ClassicNotebookServer, budget_s: float) -> None:
        self.page, self.server = page, server
        self.start, self.budget_s = time.monotonic(), budget_s

    def left_ms(self) -> float:
        left = self.budget_s - (time.monotonic() - self.start)
        if left <= 0:
            raise TimeoutError(f"ran out of the {self.budget_s:.0f} s budget")
        return left * 1000

    def wait(self, js: str, arg=None, polling: int = 500, timeout_ms: float | None = None) -> None:
        limit = self.left_ms() if timeout_ms is None else min(timeout_ms, self.left_ms())
        self.page.wait_for_function(js, arg=arg, timeout=limit, polling=polling)

    def open_and_run_all(self, notebook: str) -> None:
        self.page.goto(self.server.url(notebook), wait_until="domcontentloaded", timeout=self.left_ms())
        self.wait(KERNEL_READY)
        kernel = self.page.evaluate(KERNEL_INFO)  # the kernel is the Colab-like environment's, not another
        assert kernel == self.server.kernel, f"the notebook's kernel is {kernel}, not Colab's {self.server.kernel}"
        self.page.evaluate(RUN_ALL)

    def check_no_errors(self) -> None:
        errors = self.page.evaluate(ERRORS)
        assert not (errors["errors"] or errors["tracebacks"] or errors["not_run"]), (
            "the notebook shows errors: " + "; ".join(errors["errors"])
            + (f"; cells {errors['not_run']} did not run" if errors["not_run"] else "") + "\n"
            + "\n\n".join(errors["tracebacks"]))

    def state(self) -> dict[str, str]:
        return self.page.evaluate(lab.DASHBOARD_STATE)

    def diagnostics(self, tmp_path: Path) -> str:
        parts = []
        with contextlib.suppress(Exception):
            parts.append("--- page text (end) ---\n" + self.page.inner_text("#notebook", timeout=5000)[-3000:])
        with contextlib.suppress(Exception):
            frames = self.page.evaluate("window.__ganFrames || []")
            parts.append("--- sample image loads ---\n" + "\n".join(
                f"{f['width']}x{f['height']} hash={f['hash']} status={f['status']!r}" for f in frames))
        with contextlib.suppress(Exception):
            shot = tmp_path / "failure.png"
            self.page.screenshot(path=str(shot), full_page=True)
            parts.append(f"--- screenshot: {shot}")
        parts.append("--- notebook server log (end) ---\n" + self.server.log_tail())
        return "\n".join(parts)


def drive(server: ClassicNotebookServer, notebook: str, tmp_path: Path, steps) -> object:
    """Open `notebook` in Chromium (recording the dashboard's pictures) and run `steps(page)`; its result."""
    from playwright.sync_api import sync_playwright

    failure, result = None, None
    helper = None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(lab.CHROMIUM), headless=True, args=lab.CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.add_init_script(lab.RECORD_SAMPLE_FRAMES)
            helper = Page(page, server, BUDGET_S[notebook])
            try:
                result = steps(helper)
            except Exception as exc:  # collected while the page is still open
                failure = f"{type(exc).__name__}: {exc}\n{helper.diagnostics(tmp_path)}"
        finally:
            browser.close()
            server.close_kernels()
            TIMINGS[notebook] = time.monotonic() - helper.start if helper else 0.0
    if failure:
        pytest.fail(f"{notebook}: {failure}", pytrace=False)
    return result


def test_dashboard_draws_and_updates_in_classic_notebook(classic_notebook, tmp_path):
    """Notebook 04, Run All: no errors, the sample picture shows and changes, the dashboard says done."""
    def steps(nb: Page):
        nb.open_and_run_all("04_adversarial_loop.ipynb")
        nb.wait(ALL_RAN)
        nb.check_no_errors()
        frames, state = nb.page.evaluate("window.__ganFrames"), nb.state()
        pictures = [f for f in frames if f["width"] > 0]
        assert pictures, "the dashboard's sample picture (img.gan-dashboard-samples) never showed"
        assert len({f["src"] for f in pictures}) >= 2 and len({f["hash"] for f in pictures}) >= 2, (
            "the sample picture never changed during training: "
            + ", ".join(f"hash={f['hash']} ({f['status']})" for f in pictures))
        during = [f for f in pictures if not f["status"].startswith("done")]
        assert len({f["hash"] for f in during}) >= 2, "the picture changed only at the end, not while training"
        assert state["button"].strip() == "Done" and state["status"].startswith("done"), (
            f"the end of training does not look like success: button {state['button']!r}, status {state['status']!r}")
        dashboard = nb.page.locator(".gan-dashboard").first
        dashboard.scroll_into_view_if_needed(timeout=nb.left_ms())
        dashboard.screenshot(path=str(tmp_path / "dashboard.png"), timeout=nb.left_ms(), animations="disabled")
        return len(pictures), len({f["hash"] for f in pictures})

    shown, different = drive(classic_notebook, "04_adversarial_loop.ipynb", tmp_path, steps)
    print(f"\n04 in the classic notebook: {shown} sample pictures shown, {different} different, "
          f"{TIMINGS['04_adversarial_loop.ipynb']:.0f} s; screenshot {tmp_path / 'dashboard.png'}")


def _step(status: str) -> int:
    """The step count in the dashboard's status line (0 when it shows none yet)."""
    m = STEP.search(status)
    return int(m[1].replace(",", "")) if m else 0


def test_stop_button_or_interrupt_ends_training_cleanly(classic_notebook, tmp_path):
    """Click Stop while a cell awaits fit_async; if ipykernel 6 does not deliver it, interrupt instead."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    def steps(nb: Page):
        nb.open_and_run_all(STOP_NOTEBOOK)
        nb.wait("() => (window.__ganFrames || []).filter((f) => f.width > 0).length >= 2", polling=250)
        at_click = nb.state()["status"]
        nb.page.locator(".gan-dashboard-stop").first.click(timeout=nb.left_ms())
        clicked = time.monotonic()
        try:
            nb.wait("() => (document.querySelector('.gan-dashboard-status') || {}).textContent"
                    ".startsWith('stopped by the Stop button')", polling=250, timeout_ms=STOP_WAIT_S * 1000)
            delivered = True
        except PlaywrightTimeout:
            delivered = False
        waited, after_wait = time.monotonic() - clicked, nb.state()
        if not delivered:
            assert after_wait["button"].strip() == "Stop", f"the click half-arrived: {after_wait}"
            nb.page.evaluate("() => window.Jupyter.notebook.kernel.interrupt()")
        nb.wait(ALL_RAN)
        nb.check_no_errors()
        end = nb.state()
        printed = nb.page.evaluate(CELL_TEXT, 2)
        nb.page.wait_for_timeout(2000)  # a click queued behind the cells is handled now
        return delivered, at_click, waited, after_wait, end, printed, nb.state()

    delivered, at_click, waited, after_wait, end, printed, later = drive(classic_notebook, STOP_NOTEBOOK, tmp_path,
                                                                        steps)
    m = re.search(r"ended: (\w+) at step (\d+); resumed at step (\d+)", printed)
    assert m, f"the cell after training printed {printed!r}"
    reason, step, resumed = m[1], int(m[2]), int(m[3])
    checkpoint = classic_notebook.root / "runs" / "stop_button" / "checkpoint.pt"
    assert checkpoint.is_file(), f"no checkpoint at {checkpoint}"
    assert resumed == step and 0 < step < STOP_BUDGET, f"stopped at step {step}, resumed at {resumed}"
    # What notebook 04 tells Colab students (use Runtime > Interrupt execution) rests on this observation.
    assert not delivered, ("the Stop button now stops training under Colab's kernel: notebook 04's advice to use "
                           "Runtime > Interrupt execution on Colab can go")
    if not delivered:
        assert reason == "interrupted" and end["status"].startswith("interrupted"), (
            f"after the interrupt, training ended with {reason!r} and the dashboard says {end['status']!r}")
        print(f"\nStop button NOT delivered during training under ipykernel 6.17.1: at the click the dashboard "
              f"showed step {_step(at_click)}, {waited:.0f} s later step {_step(after_wait['status'])} with the "
              f"button still {after_wait['button'].strip()!r}; Jupyter's interrupt then ended the run cleanly "
              f"({end['status'][:40]!r}...), the next cell saved {checkpoint.name} at step {step} and resumed it. "
              f"After the cells, the queued click arrived: button {later['button'].strip()!r}, "
              f"status {later['status'][:30]!r}...")
    print(f"Stop test: {TIMINGS[STOP_NOTEBOOK]:.0f} s")


# The same moves as in JupyterLab; ipywidgets 7 draws its sliders with jQuery UI.
choose_second_breed = lab.choose_second_breed
move_first_direction = functools.partial(lab.drag_first_direction, handle=".ui-slider-handle")


@pytest.mark.parametrize("notebook, widget, picture, interact", [
    ("07_conditional_gan.ipynb", ".gan-breed-picker", "img.gan-breed-picture", choose_second_breed),
    ("08_latent_space.ipynb", ".gan-explorer", "img.gan-explorer-picture", move_first_direction),
])
def test_widgets_answer_in_classic_notebook(classic_notebook, tmp_path, notebook, widget, picture, interact):
    """Run All, then use the notebook's widget: its picture must change in response."""
    def steps(nb: Page):
        nb.open_and_run_all(notebook)
        nb.wait(ALL_RAN)
        nb.check_no_errors()
        assert nb.page.locator(widget).count(), f"no {widget} widget was drawn in the page"
        nb.wait(lab.PICTURE_CHANGED, arg=[picture, ""], polling=200)
        before = nb.page.evaluate(lab.PICTURE_SRC, picture)
        action = interact(nb.page, nb.left_ms)
        nb.wait(lab.PICTURE_CHANGED, arg=[picture, before], polling=200, timeout_ms=30_000)
        nb.page.locator(widget).first.screenshot(path=str(tmp_path / "widget.png"), timeout=nb.left_ms(),
                                                 animations="disabled")
        return action

    action = drive(classic_notebook, notebook, tmp_path, steps)
    print(f"\n{notebook} in the classic notebook: {action} changed the picture, {TIMINGS[notebook]:.0f} s")
