"""`python -m gan_lib train` under torchrun: 2 CPU processes (gloo) match one process with the same global batch."""
import json
import os
import subprocess
import sys

import pytest

from gan_lib.cli import main

# No BatchNorm (its statistics would be per process) and no random augmentation, so that two
# processes with 4 images each compute exactly what one process computes with 8.
ARGS = ["--max-per-class", "2", "--batch-size", "8", "--g-width", "8", "--d-width", "8", "--g-norm", "none",
        "--d-norm", "spectral", "--ema", "0", "--no-amp", "--log-every", "1", "--sample-every", "100",
        "--checkpoint-every", "100", "--seed", "3"]


def records(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_two_processes_match_one_and_resume_with_another_count(real_dir, tmp_path):
    single, double = tmp_path / "single", tmp_path / "double"
    assert main(["train", "--data", str(real_dir), "--out", str(single), "--steps", "4", *ARGS]) == 0

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                        "-m", "gan_lib", "train", "--data", str(real_dir), "--out", str(double), "--steps", "4", *ARGS],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "x 2 |" in r.stdout and r.stdout.count("done: step 4") == 1  # only rank 0 reports

    one, two = records(single), records(double)
    assert [x["step"] for x in two] == [1, 2, 3, 4]  # written once, by rank 0
    for a, b in zip(one, two):
        for key in ("loss_d", "loss_g", "d_real", "d_fake"):
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-6), (a["step"], key)
    assert sorted(p.name for p in double.iterdir()) == ["checkpoint.pt", "config.json", "metrics.jsonl", "samples"]

    # A checkpoint written by 2 processes continues in 1.
    assert main(["train", "--data", str(real_dir), "--out", str(double), "--steps", "6", "--resume", *ARGS]) == 0
    assert [x["step"] for x in records(double)] == [1, 2, 3, 4, 5, 6]


def test_uneven_batch_is_a_clear_error():
    from gan_lib.distributed import local_slice
    from gan_lib.errors import GanLibError
    import torch

    with pytest.raises(GanLibError, match="divisible"):
        local_slice(torch.zeros(7), 0, 2)
    assert local_slice(torch.arange(8), 1, 2).tolist() == [4, 5, 6, 7]
