"""Shared fixtures: real photos from $GAN_DATA, and small synthetic image folders."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from PIL import Image

from gan_lib.data import ImageData, load_images


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Keep caches and downloads of every test out of the repository's data/ folder."""
    monkeypatch.setenv("GAN_HOME", str(tmp_path_factory.getbasetemp() / "gan_home"))


@pytest.fixture(scope="session")
def real_dir() -> Path:
    """The folder of real dog photos (one sub-folder per breed) named by $GAN_DATA."""
    path = os.environ.get("GAN_DATA")
    if not path:
        pytest.skip("GAN_DATA is not set: point it at a folder of dog photos, e.g. ../shared/data/imagewoof-128/train")
    if not Path(path).is_dir():
        pytest.fail(f"GAN_DATA={path} is not a folder")
    return Path(path)


@pytest.fixture(scope="session")
def real_data(real_dir: Path, tmp_path_factory) -> ImageData:
    """A 32x32 subset of the real photos (60 per breed), decoded once per test session."""
    return load_images(real_dir, 32, max_per_class=60, cache_dir=tmp_path_factory.mktemp("cache"), progress=False)


def write_image(path: Path, size: tuple[int, int] = (40, 30), color: tuple[int, int, int] = (200, 50, 20),
                mode: str = "RGB") -> Path:
    """Save a plain image of `size` in `mode` (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", size, color)
    if mode != "RGB":
        img = img.convert(mode)
    img.save(path)
    return path


@pytest.fixture
def tiny_folder(tmp_path: Path) -> Path:
    """Two classes of small plain-colour images."""
    root = tmp_path / "tiny"
    for i in range(6):
        write_image(root / "cats" / f"{i}.png", color=(10 * i, 100, 200))
        write_image(root / "dogs" / f"{i}.jpg", size=(50, 40), color=(200, 20 * i, 30))
    return root


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)
