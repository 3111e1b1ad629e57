"""Every benchmark script still starts: its imports resolve and its options parse (`--help`).

The benchmarks train for minutes, so the suite never runs them; this catches the cheap breakage (a
renamed gan_lib function, an import left behind) before someone loses a session to it.
"""
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(p for p in BENCHMARKS.glob("*.py") if '__name__ == "__main__"' in p.read_text())


def test_the_scripts_are_found():
    assert {"throughput.py", "fine_tune.py", "truncation.py", "pretrained_d.py"} <= {p.name for p in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_benchmark_script_starts(script: Path):
    done = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout
