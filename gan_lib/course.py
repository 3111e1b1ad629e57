"""The course's home on the web, named in one place: `[project.urls] Repository` in pyproject.toml.

Two things copy that URL because they cannot read pyproject: each notebook's first code cell (the setup
cell, which installs gan_lib on Colab before gan_lib exists) and README.md's "Open in Colab" badges.
This module builds both from the setting, and a teacher who forks the course changes all three at once:

    python -m gan_lib.course set-repo https://github.com/OWNER/REPO
    python -m gan_lib.course check      # exits 1 naming every copy that disagrees with pyproject.toml
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import GanLibError

if TYPE_CHECKING:  # nbformat comes with Jupyter; gan_lib imports it only when it reads a notebook
    from nbformat import NotebookNode

CHECKOUT = Path(__file__).resolve().parent.parent  # the course's checkout (pyproject.toml, README.md, notebooks/)
BRANCH = "main"  # the branch Colab opens the notebooks from
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/([\w.-]+/[\w.-]+)/blob/[\w.-]+/notebooks/([\w.-]+)")
GITHUB = re.compile(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?")

SETUP_CELL = '''\
# Setup: install gan_lib when it is missing (e.g. on Colab). A fork sets its URL with: python -m gan_lib.course set-repo
import importlib.util, os, subprocess, sys
COURSE_REPO = os.environ.get("GAN_COURSE_REPO", "{url}")
if importlib.util.find_spec("gan_lib") is None:
    print(f"installing gan_lib from {{COURSE_REPO}} (a minute or two)")
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"gan_lib[offline-metrics] @ git+{{COURSE_REPO}}"],
                         capture_output=True, text=True, env={{**os.environ, "GIT_TERMINAL_PROMPT": "0"}})
    if pip.returncode != 0:
        why = [s.strip() for s in pip.stderr.splitlines() if s.strip().startswith(("fatal:", "ERROR:"))] or ["pip failed"]
        raise SystemExit(f"could not install the course from {{COURSE_REPO}}: set os.environ['GAN_COURSE_REPO'] to the "
                         f"course's git URL (e.g. https://github.com/OWNER/REPO) and run this cell again ({{why[0]}})")'''


# ---------------------------------------------------------------- what the setting makes


def github_path(url: str) -> str:
    """'OWNER/REPO' of a GitHub URL; a GanLibError for any other URL (Colab opens notebooks from GitHub only)."""
    match = GITHUB.fullmatch(url.strip())
    if not match:
        raise GanLibError(f"{url!r} is not a GitHub repository URL such as https://github.com/OWNER/REPO "
                          f"(Colab opens notebooks from GitHub)")
    return f"{match[1]}/{match[2]}"


def setup_cell(url: str) -> str:
    """The source of every notebook's first code cell for the course at `url`."""
    return SETUP_CELL.format(url=url)


def colab_link(url: str, notebook: str) -> str:
    """The address that opens notebooks/`notebook` of the course at `url` in Colab."""
    return f"https://colab.research.google.com/github/{github_path(url)}/blob/{BRANCH}/notebooks/{notebook}"


def badge(url: str, notebook: str) -> str:
    """The README's "Open in Colab" badge (markdown) for one notebook."""
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_link(url, notebook)})"


# ---------------------------------------------------------------- reading the checkout


def repo_url(root: Path = CHECKOUT) -> str:
    """The course's repository URL: pyproject.toml's [project.urls] Repository."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: pytest's dependency of the same parser
        import tomli as tomllib
    path = Path(root) / "pyproject.toml"
    if not path.is_file():
        raise GanLibError(f"{path} does not exist: run this in a checkout of the course, or pass --root")
    url = tomllib.loads(path.read_text()).get("project", {}).get("urls", {}).get("Repository")
    if not url:
        raise GanLibError(f'{path} has no [project.urls] Repository = "https://github.com/OWNER/REPO"')
    return url


def notebooks(root: Path = CHECKOUT) -> list[Path]:
    """The course's notebooks, in order: notebooks/NN_name.ipynb."""
    return sorted((Path(root) / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def read_notebook(path: Path) -> NotebookNode:
    """The notebook at `path` as an nbformat v4 NotebookNode."""
    import nbformat

    return nbformat.read(path, as_version=4)


def setup_cell_of(notebook: NotebookNode, path: Path) -> NotebookNode:
    """The notebook's first code cell: its setup cell."""
    cell = next((c for c in notebook.cells if c.cell_type == "code"), None)
    if cell is None:
        raise GanLibError(f"{path} has no code cell, so no setup cell")
    return cell


# ---------------------------------------------------------------- set-repo and check


def set_repo(url: str, root: Path = CHECKOUT) -> list[Path]:
    """Name `url` as the course's repository in pyproject.toml, the setup cells and the README; the files changed."""
    import nbformat

    github_path(url)  # refuse a URL Colab cannot open before writing anything
    root = Path(root)
    changed = [p for p in (_set_pyproject(root / "pyproject.toml", url), _set_badges(root / "README.md", url)) if p]
    for path in notebooks(root):
        notebook = read_notebook(path)
        cell = setup_cell_of(notebook, path)
        if cell.source != setup_cell(url):
            cell.source = setup_cell(url)
            nbformat.write(notebook, path)
            changed.append(path)
    return changed


def _set_pyproject(path: Path, url: str) -> Path | None:
    """Rewrite the Repository line of pyproject.toml's [project.urls]; the path if it changed."""
    text = path.read_text()
    section = re.search(r"^\[project\.urls\]\n(?:(?!\[).*\n?)*", text, re.MULTILINE)
    line = re.compile(r'^(Repository\s*=\s*)".*"', re.MULTILINE)
    if not section or not line.search(section[0]):
        raise GanLibError(f'{path} has no [project.urls] Repository = "..." line to rewrite')
    new_section = line.sub(lambda m: f'{m[1]}"{url}"', section[0], count=1)
    return _write_if_changed(path, text, text[: section.start()] + new_section + text[section.end():])


def _set_badges(path: Path, url: str) -> Path | None:
    """Point every Colab link in the README at the course at `url`; the path if it changed."""
    text = path.read_text()
    new = COLAB_LINK.sub(lambda m: colab_link(url, m[2]), text)
    return _write_if_changed(path, text, new)


def _write_if_changed(path: Path, old: str, new: str) -> Path | None:
    """Write `new` to `path` unless it equals `old`; the path if written."""
    if new == old:
        return None
    path.write_text(new)
    return path


def disagreements(root: Path = CHECKOUT) -> list[str]:
    """One line for every copy of the course's URL that disagrees with pyproject.toml (none: all agree)."""
    root = Path(root)
    url = repo_url(root)
    github_path(url)
    problems = []
    for path in notebooks(root):
        source = setup_cell_of(read_notebook(path), path).source
        named = re.search(r'"GAN_COURSE_REPO", "([^"]*)"', source)
        if source != setup_cell(url):
            what = f"names {named[1]}" if named and named[1] != url else "differs from gan_lib.course.setup_cell"
            problems.append(f"{path.relative_to(root)}: the setup cell {what} (pyproject.toml: {url})")
    readme = (root / "README.md").read_text()
    for path in notebooks(root):
        if badge(url, path.name) not in readme:
            problems.append(f"README.md: no Open-in-Colab badge for notebooks/{path.name} at {github_path(url)}")
    names = {p.name for p in notebooks(root)}
    for match in COLAB_LINK.finditer(readme):
        if match[0] != colab_link(url, match[2]) or match[2] not in names:
            problems.append(f"README.md: a Colab link opens {match[1]}/notebooks/{match[2]} (pyproject.toml: "
                            f"{github_path(url)}, branch {BRANCH})")
    return problems


def main(argv: list[str] | None = None) -> int:
    """`python -m gan_lib.course set-repo URL` or `check`; 0 when all agree, 1 naming what disagrees, 2 on bad input."""
    parser = argparse.ArgumentParser(prog="python -m gan_lib.course", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=CHECKOUT, help="the course's checkout (default: %(default)s)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("set-repo", help="name URL in pyproject.toml, the setup cells and the README badges") \
        .add_argument("url", help="the course's GitHub URL, e.g. https://github.com/OWNER/REPO")
    commands.add_parser("check", help="exit 1 naming every copy of the URL that disagrees with pyproject.toml")
    args = parser.parse_args(argv)
    try:
        if args.command == "set-repo":
            for path in set_repo(args.url, args.root):
                print(f"rewrote {path}")
        problems = disagreements(args.root)
    except GanLibError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print("to make them agree: python -m gan_lib.course set-repo URL", file=sys.stderr)
    if not problems:
        print(f"the setup cells and README badges agree with pyproject.toml: {repo_url(args.root)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
