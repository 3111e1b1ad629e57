"""A Colab-like Python environment: Colab's published versions of the packages the course touches.

Built from Colab's own list (copied to ../shared/colab/; `$GAN_COLAB_RUNTIME` names another file):
Python 3.13 where this machine has it, then every `name==version` line of the list, so the Jupyter
stack (ipywidgets 7.7.1, ipykernel 6.17.1, IPython 7.34, notebook 6.5.7, ...) is Colab's. Two
differences, said where they matter: torch and torchvision are PyPI's builds of Colab's versions
(Colab's are CUDA 12.8 builds from PyTorch's own index, which this machine cannot reach), and
Colab's own kernel gateway (a git URL) is left out. The course itself is *not* installed here: the
notebooks' first cell installs it, as on Colab.

The environment lives in `<repo>/.colab-env/` and is reused while the list is unchanged; pip's cache
makes a rebuild cheap. `python tests/colab_env.py` builds it and prints its Python.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ENV = REPO / ".colab-env"
DEFAULT_LIST = REPO.parent / "shared" / "colab" / "colab-gpu-runtime-2026-08.txt"
LEFT_OUT = {"jupyter-kernel-gateway", "torchaudio"}  # Colab's own gateway (a git URL); audio is not used


def runtime_list() -> Path:
    """The file of Colab's published versions."""
    return Path(os.environ.get("GAN_COLAB_RUNTIME", DEFAULT_LIST))


def normalise(name: str) -> str:
    """A package name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(path: Path) -> dict[str, str]:
    """name -> version for every `name==version` line (local suffixes such as +cu128 dropped)."""
    pins = {}
    for line in path.read_text().splitlines():
        m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)==([^\s+;#]+)(\+\S+)?\s*", line)
        if m and normalise(m[1]) not in LEFT_OUT:
            pins[normalise(m[1])] = m[2]
    return pins


def python313() -> str:
    """Colab's Python (3.13) if this machine has it, else the Python running the tests."""
    for candidate in (shutil.which("python3.13"), "/root/.pyenv/versions/3.13.0/bin/python3.13"):
        if candidate and Path(candidate).exists():
            try:
                subprocess.run([candidate, "--version"], check=True, capture_output=True)
                return candidate
            except (OSError, subprocess.CalledProcessError):
                continue
    return sys.executable


def env_python() -> Path:
    return ENV / "bin" / "python"


def installed_versions(python: Path | str, names: list[str]) -> dict[str, str | None]:
    """The version of each package in the environment of `python` (None when it is missing)."""
    code = ("import json, sys, importlib.metadata as m\n"
            "def v(n):\n    try: return m.version(n)\n    except m.PackageNotFoundError: return None\n"
            "print(json.dumps({n: v(n) for n in sys.argv[1:]}))")
    out = subprocess.run([str(python), "-c", code, *names], check=True, capture_output=True, text=True).stdout
    return {normalise(k): (v.split("+")[0] if v else None) for k, v in json.loads(out).items()}


def build(log=print) -> Path:
    """The Colab-like environment's Python, built (or reused when the list has not changed)."""
    listing = runtime_list()
    pins = pinned(listing)
    stamp = hashlib.sha256(json.dumps(pins, sort_keys=True).encode()).hexdigest()[:16]
    marker = ENV / "colab-list.sha"
    if env_python().exists() and marker.exists() and marker.read_text() == stamp:
        return env_python()
    shutil.rmtree(ENV, ignore_errors=True)
    base = python313()
    log(f"building the Colab-like environment in {ENV} with {base} from {listing.name}")
    subprocess.run([base, "-m", "venv", str(ENV)], check=True)
    pip = [str(env_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    for args in (["--upgrade", "pip"], [f"{name}=={version}" for name, version in sorted(pins.items())]):
        r = subprocess.run(pip + args, capture_output=True, text=True)
        if r.returncode:
            errors = [line for line in r.stderr.splitlines() if not line.startswith("WARNING: Location")]
            raise RuntimeError("building the Colab-like environment failed:\n" + "\n".join(errors[-30:]))
    marker.write_text(stamp)
    return env_python()


if __name__ == "__main__":
    print(build())
