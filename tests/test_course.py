"""The course's repository URL is named once (pyproject.toml) and its copies agree: setup cells, README badges."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from gan_lib import course

REPO = Path(__file__).resolve().parent.parent
FORK = "https://github.com/a-teacher/woof-course"


def run(*args: str, root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gan_lib.course", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=120)


def copy_of_the_course(tmp: Path) -> Path:
    """pyproject.toml, README.md and the notebooks, copied to a folder of their own."""
    root = tmp / "course"
    (root / "notebooks").mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, root / name)
    for notebook in course.notebooks(REPO):
        shutil.copy(notebook, root / "notebooks" / notebook.name)
    return root


def setup_source(notebook: Path) -> str:
    return next(c for c in nbformat.read(notebook, 4).cells if c.cell_type == "code").source


def test_the_repository_names_its_url_once_and_the_copies_agree():
    url = course.repo_url(REPO)
    assert course.github_path(url)  # a GitHub URL, so Colab can open the notebooks
    assert len(course.notebooks(REPO)) == 9
    for notebook in course.notebooks(REPO):
        assert setup_source(notebook) == course.setup_cell(url), f"{notebook.name}: run set-repo"
        readme = (REPO / "README.md").read_text()
        assert course.badge(url, notebook.name) in readme
    assert course.disagreements(REPO) == []


def test_the_setup_cell_is_short_and_installs_the_offline_metrics():
    cell = course.setup_cell(FORK)
    assert len(cell.splitlines()) <= 12
    assert f'"GAN_COURSE_REPO", "{FORK}"' in cell
    assert "gan_lib[offline-metrics] @ git+" in cell
    compile(cell, "setup cell", "exec")


def test_set_repo_rewrites_the_setting_the_cells_and_the_badges(tmp_path):
    root = copy_of_the_course(tmp_path)
    before = {p.name: nbformat.read(p, 4) for p in course.notebooks(root)}

    r = run("set-repo", FORK, root=root)

    assert r.returncode == 0, r.stderr
    assert course.repo_url(root) == FORK
    readme = (root / "README.md").read_text()
    assert "gan-course/dog-gan-course" not in readme.replace(course.repo_url(REPO), "")  # every Colab link moved
    for notebook in course.notebooks(root):
        assert course.badge(FORK, notebook.name) in readme
        after = nbformat.read(notebook, 4)
        setup = next(i for i, c in enumerate(after.cells) if c.cell_type == "code")
        assert after.cells[setup].source == course.setup_cell(FORK)
        old = before[notebook.name]
        old.cells[setup].source = course.setup_cell(FORK)
        assert after == old, f"{notebook.name}: set-repo changed more than the setup cell"
    assert run("check", root=root).returncode == 0


def test_check_names_what_disagrees(tmp_path):
    root = copy_of_the_course(tmp_path)
    assert run("check", root=root).returncode == 0
    notebook = root / "notebooks" / "03_generator.ipynb"
    nb = nbformat.read(notebook, 4)
    next(c for c in nb.cells if c.cell_type == "code").source = course.setup_cell(FORK)
    nbformat.write(nb, notebook)
    readme = root / "README.md"
    readme.write_text(readme.read_text().replace(course.colab_link(course.repo_url(REPO), "05_judging_a_gan.ipynb"),
                                                 course.colab_link(FORK, "05_judging_a_gan.ipynb")))

    r = run("check", root=root)

    assert r.returncode == 1
    assert f"notebooks/03_generator.ipynb: the setup cell names {FORK}" in r.stderr
    assert "README.md: no Open-in-Colab badge for notebooks/05_judging_a_gan.ipynb" in r.stderr
    assert "a-teacher/woof-course/notebooks/05_judging_a_gan.ipynb" in r.stderr
    assert "01_data" not in r.stderr and "Traceback" not in r.stderr


def test_set_repo_refuses_a_url_colab_cannot_open_and_writes_nothing(tmp_path):
    root = copy_of_the_course(tmp_path)
    pyproject = (root / "pyproject.toml").read_text()
    r = run("set-repo", "https://gitlab.com/a-teacher/woof-course", root=root)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert (root / "pyproject.toml").read_text() == pyproject
    assert course.disagreements(root) == []


def test_a_failed_install_ends_in_one_line_saying_what_to_set(tmp_path):
    """The setup cell with gan_lib "missing" and GAN_COURSE_REPO pointing nowhere: one line, no traceback."""
    missing = f"file://{tmp_path}/no-such-course.git"
    pretend = ("import importlib.util\n_find = importlib.util.find_spec\n"
               "importlib.util.find_spec = lambda name, *a: None if name == 'gan_lib' else _find(name, *a)\n")
    env = {**os.environ, "GAN_COURSE_REPO": missing, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    r = subprocess.run([sys.executable, "-c", pretend + course.setup_cell(course.repo_url(REPO))],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1
    assert "Traceback" not in r.stdout + r.stderr
    (line,) = r.stderr.strip().splitlines()  # the output's last line, and the only one on stderr
    assert line.startswith(f"could not install the course from {missing}: set os.environ['GAN_COURSE_REPO'] to")
    assert line.endswith(")") and "pip failed" not in line  # pip's or git's own reason, in brackets
