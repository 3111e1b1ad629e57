"""The course in a Colab-like environment (tests/colab_env.py): Colab's Python and Jupyter stack.

As a Colab student does it: the notebooks are run from a folder outside the repository, with
GAN_HOME unset, and their own first cell installs the course from a git URL (a bare clone of this
repository's HEAD stands in for the public one, so commit before running this locally). Every
notebook must run in quick mode through a kernel of that environment, the caches must land where a
pip-installed course puts them (~/.cache/gan_lib), and no package of Colab's list may change version.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import colab_env
from test_browser import _in_ci as in_ci  # $CI set: a missing tool fails instead of skipping

pytestmark = [pytest.mark.colab, pytest.mark.slow]
NOTEBOOKS = sorted((colab_env.REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def colab_python() -> Path:
    """The Colab-like environment's Python, without gan_lib (so the first cell installs it)."""
    if not colab_env.runtime_list().is_file():
        reason = f"Colab's runtime list {colab_env.runtime_list()} is missing (set GAN_COLAB_RUNTIME)"
        pytest.fail(reason, pytrace=False) if in_ci() else pytest.skip(reason)
    python = colab_env.build()
    subprocess.run([str(python), "-m", "pip", "uninstall", "--quiet", "--yes", "gan_lib"], capture_output=True)
    return python


def course_remote(tmp: Path) -> str:
    """A bare clone of this repository's HEAD, as a git URL pip can install from."""
    bare = tmp / "dog-gan-course.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(colab_env.REPO), str(bare)], check=True)
    return f"file://{bare}"


def colab_environ(python: Path, home: Path, repo_url: str, photos: Path) -> dict[str, str]:
    """The notebook's environment on "Colab": its Python first on PATH (Jupyter finds its commands and the
    kernel's `python` there), no GAN_HOME, a fresh home folder, quick mode."""
    env = {k: v for k, v in os.environ.items() if k not in ("GAN_HOME", "PYTHONPATH", "VIRTUAL_ENV")}
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and not (Path(p) / "activate").exists()]
    env |= {"PATH": os.pathsep.join([str(python.parent), *path]), "HOME": str(home), "GAN_COURSE_REPO": repo_url,
            "GAN_QUICK": "1", "GAN_DATA": str(photos), "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            "JUPYTER_PLATFORM_DIRS": "1"}
    return env


def run_notebook(python: Path, notebook: Path, env: dict[str, str]) -> float:
    """Execute one notebook with nbconvert in the Colab-like environment; its running time in seconds."""
    # The kernel spec starts "python" and nbconvert is found on PATH: both must be the Colab-like environment's.
    for command in ("python", "jupyter-nbconvert"):
        assert Path(shutil.which(command, path=env["PATH"])).parent == python.parent, command
    start = time.perf_counter()
    r = subprocess.run([str(python), "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
                        "--ExecutePreprocessor.timeout=900", "--ExecutePreprocessor.kernel_name=python3",
                        notebook.name], cwd=notebook.parent, env=env, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, f"{notebook.name} failed in the Colab-like environment:\n{r.stderr[-4000:]}"
    return time.perf_counter() - start


def test_notebooks_install_the_course_and_run_in_colabs_environment(colab_python, real_dir, tmp_path):
    pins = colab_env.pinned(colab_env.runtime_list())
    before = colab_env.installed_versions(colab_python, list(pins))
    assert before == pins, "the Colab-like environment does not hold Colab's versions"

    content = tmp_path / "content"  # Colab's working folder, nowhere near the repository
    content.mkdir()
    for nb in NOTEBOOKS:
        shutil.copy(nb, content / nb.name)
    env = colab_environ(colab_python, tmp_path / "home", course_remote(tmp_path), real_dir)
    times = {nb.name: run_notebook(colab_python, content / nb.name, env) for nb in NOTEBOOKS}
    print("\nColab-like run, seconds per notebook: " + ", ".join(f"{k[:2]} {v:.0f}" for k, v in times.items())
          + f"; {sum(times.values()):.0f} in all")

    assert colab_env.installed_versions(colab_python, ["gan-lib"])["gan-lib"], "the first cell did not install gan_lib"
    after = colab_env.installed_versions(colab_python, list(pins))
    changed = {k: (before[k], after[k]) for k in pins if after[k] != before[k]}
    assert not changed, f"installing the course changed Colab's packages: {changed}"
    assert (tmp_path / "home" / ".cache" / "gan_lib" / "cache").is_dir(), "caches did not go to ~/.cache/gan_lib"
