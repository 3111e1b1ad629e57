"""Writing files safely: every file gan_lib writes goes to a temporary name first, then is renamed.

A crash, Ctrl-C or full disk in the middle of a write therefore never leaves a half-written
checkpoint, cache or picture behind: readers see the old file or the new one, nothing in between.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import torch


def write_atomically(path: Path | str, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` on a temporary file next to `path`, then rename it to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)  # atomic on POSIX and Windows when both are on one file system
    finally:
        tmp.unlink(missing_ok=True)
    return path


def save_atomically(obj: object, path: Path | str) -> Path:
    """torch.save `obj` to `path` atomically."""
    return write_atomically(path, lambda tmp: torch.save(obj, tmp))


def write_bytes_atomically(path: Path | str, data: bytes) -> Path:
    """Write `data` to `path` atomically."""
    return write_atomically(path, lambda tmp: tmp.write_bytes(data))
