"""The package as Colab installs it (`pip install git+...`, a wheel, not this editable checkout)."""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_contains_every_module(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                        "-q", "-w", str(tmp_path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = tmp_path.glob("gan_lib-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in (REPO / "gan_lib").rglob("*.py"):  # subpackages (checks/, pretrained/) included
        assert module.relative_to(REPO).as_posix() in names
    for data in (REPO / "gan_lib" / "pretrained").glob("course_gan.*"):  # the course's GAN, once it is built
        assert data.relative_to(REPO).as_posix() in names
