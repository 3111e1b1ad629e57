"""The command line end to end: train a few steps on real photos, resume, sample, evaluate."""
import json
import subprocess
import sys

import pytest
import torch
from PIL import Image

from gan_lib.cli import main


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "gan_lib", *args], capture_output=True, text=True, env=env)


@pytest.mark.slow
def test_train_resume_sample_evaluate(real_dir, tmp_path, capsys):
    out = tmp_path / "run"
    common = ["--data", str(real_dir), "--max-per-class", "8", "--out", str(out), "--batch-size", "16",
              "--g-width", "16", "--d-width", "16", "--log-every", "2"]
    assert main(["train", *common, "--steps", "4", "--sample-every", "2", "--checkpoint-every", "2"]) == 0
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_000002.png", "step_000004.png"]
    assert Image.open(out / "samples" / "step_000004.png").size[0] > 32 * 7  # an 8-wide grid of 32 px images
    assert json.loads((out / "config.json").read_text())["model"]["g_width"] == 16

    # Training again into the same folder is refused; --resume continues the run.
    assert main(["train", *common, "--steps", "6"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["train", *common, "--steps", "6", "--resume"]) == 0
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6]

    ckpt = str(out / "checkpoint.pt")
    assert main(["sample", ckpt, "--out", str(tmp_path / "grid.png"), "--n", "16", "--truncation", "1.5"]) == 0
    assert Image.open(tmp_path / "grid.png").mode == "RGB"
    assert main(["sample", ckpt, "--out", str(tmp_path / "files"), "--n", "5", "--no-grid"]) == 0
    files = sorted((tmp_path / "files").iterdir())
    assert len(files) == 5 and Image.open(files[0]).size == (32, 32)

    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", ckpt, "--data", str(real_dir), "--max-per-class", "8",
                 "--n", "64", "--metrics", "swd"]) == 0
    assert "swd" in capsys.readouterr().out.lower()


def test_errors_are_one_line_without_traceback(tmp_path):
    env = {"PATH": "", "GAN_HOME": str(tmp_path)}
    r = run("train", "--data", str(tmp_path / "missing"), env=env)
    assert r.returncode == 2
    assert r.stderr.startswith("error: Image folder") and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = run("sample", str(tmp_path / "nothing.pt"), env=env)
    assert r.returncode == 2 and "not found" in r.stderr and "Traceback" not in r.stderr


def test_offline_download_is_a_clear_error(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"PATH": "", "GAN_HOME": str(tmp_path), "GAN_DOWNLOAD_URL": f"http://127.0.0.1:{port}"}
    r = run("train", "--dataset", "imagewoof", env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "Could not download imagewoof2-320.tgz" in r.stderr and "GAN_DATA" in r.stderr


def test_help_lists_the_commands():
    r = run("--help")
    assert r.returncode == 0
    for command in ("download", "train", "sample", "evaluate"):
        assert command in r.stdout


def test_cli_defaults_are_the_recommended_recipe():
    from gan_lib import cli
    from gan_lib.config import recommended_config

    args = cli.build_parser().parse_args(["train", "--device", "cpu"])
    assert cli.train_config(args, num_classes=10) == recommended_config("cpu")

    # With a CUDA GPU the sizes the measurements favour there; options given on the command line win.
    args = cli.build_parser().parse_args(["train", "--batch-size", "256", "--minutes", "5", "--conditional",
                                          "--device", "cuda"])  # only names the device: needs no GPU
    config = cli.train_config(args, num_classes=10)
    assert (config.model.resolution, config.model.g_width, config.model.d_width) == (64, 64, 64)
    assert (config.batch_size, config.minutes, config.steps, config.model.num_classes) == (256, 5, None, 10)
    # Left to choose, the run keeps "auto", so its checkpoint resumes on whatever the next machine has.
    assert cli.train_config(cli.build_parser().parse_args(["train"]), 10).device == "auto"


def test_run_folder_intervals_and_widths_come_from_config():
    import inspect

    from gan_lib import cli, config
    from gan_lib.callbacks import SaveProgress

    # The CLI's --sample-every/--checkpoint-every and SaveProgress's own defaults are config's numbers.
    args = cli.build_parser().parse_args(["train"])
    saver = {name: p.default for name, p in inspect.signature(SaveProgress).parameters.items()}
    assert (args.sample_every, args.checkpoint_every) == (config.SAMPLE_EVERY, config.CHECKPOINT_EVERY) == (250, 500)
    assert (saver["sample_every"], saver["checkpoint_every"]) == (args.sample_every, args.checkpoint_every)
    # ModelConfig() is the DCGAN paper's widths; the recipe halves them on a CPU and keeps them on a GPU.
    assert config.ModelConfig().g_width == config.ModelConfig().d_width == config.DCGAN_WIDTH == 64
    assert config.recommended_config("cpu").model.g_width == config.CPU_WIDTH == 32
    assert config.recommended_config("cuda").model.d_width == config.DCGAN_WIDTH


def test_bad_arguments_are_rejected_by_the_parser(capsys):
    from gan_lib.cli import build_parser

    for argv in (["sample", "x.pt", "--n", "0"], ["sample", "x.pt", "--truncation", "0"],
                 ["train", "--batch-size", "-1"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(argv)
        assert "must be" in capsys.readouterr().err


def test_not_a_checkpoint_and_bad_device(tmp_path):
    from gan_lib.errors import GanLibError
    from gan_lib.checkpoint import Checkpoint
    from gan_lib.config import pick_device

    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(GanLibError, match="not a gan_lib checkpoint"):
        Checkpoint.load(tmp_path / "other.pth")
    torch.save({"config": {}, "G": {}, "D": {}, "step": 3}, tmp_path / "old.pt")  # gan_lib 0.1's untyped dict
    with pytest.raises(GanLibError, match="older gan_lib"):
        Checkpoint.load(tmp_path / "old.pt")
    with pytest.raises(GanLibError, match="unknown device"):
        pick_device("tpu9")


def test_conditional_samples_of_one_breed(tiny_folder, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", "--data", str(tiny_folder), "--out", str(run_dir), "--conditional", "--steps", "2",
                 "--batch-size", "8", "--g-width", "8", "--d-width", "8", "--device", "cpu"]) == 0
    grid = tmp_path / "dogs.png"
    assert main(["sample", str(run_dir / "checkpoint.pt"), "--breed", "Dogs", "--n", "4", "--out", str(grid)]) == 0
    assert Image.open(grid).size[0] > 0
    assert main(["sample", str(run_dir / "checkpoint.pt"), "--breed", "poodle", "--out", str(grid)]) == 2
    assert "unknown breed 'poodle'; this checkpoint knows: cats, dogs" in capsys.readouterr().err


def test_time_budget_shows_time_based_progress(tiny_folder, tmp_path):
    import os

    env = {**os.environ, "GAN_HOME": str(tmp_path / "home")}
    r = run("train", "--data", str(tiny_folder), "--out", str(tmp_path / "run"), "--minutes", "0.02",
            "--batch-size", "8", "--g-width", "8", "--d-width", "8", "--device", "cpu", env=env)
    assert r.returncode == 0, r.stderr
    assert "1000000" not in r.stderr + r.stdout and "1,000,000" not in r.stderr + r.stdout
    assert "| 0.02 min" in r.stdout  # no step limit announced
    final = r.stderr.replace("\r", "\n").strip().splitlines()[-1]
    assert final.startswith("training 100%") and " of 1s" in final, final  # a normal end fills the bar


@pytest.mark.parametrize("option, message", [
    (["--diffaugment", "colour"], "unknown DiffAugment policy 'colour'; choose from color, translation, cutout"),
    (["--ema", "1.5"], "ema_decay must be in [0, 1)"),
    (["--loss", "wgan-gp"], "WGAN-GP needs a discriminator without BatchNorm"),
    (["--batch-size", "64"], "only 12 images for a batch size of 64"),
])
def test_bad_settings_are_one_line_errors(tiny_folder, tmp_path, capsys, option, message):
    argv = ["train", "--data", str(tiny_folder), "--out", str(tmp_path / "run"), "--steps", "1", "--device", "cpu",
            "--batch-size", "8", *option]
    assert main(argv) == 2
    err = capsys.readouterr().err
    last = err.replace("\r", "\n").strip().splitlines()[-1]  # after the decoding progress bar, if any
    assert last.startswith("error: ") and message in last and "Traceback" not in err


def test_evaluate_dogs_and_precision_recall(tiny_folder, tmp_path, capsys):
    fakes = tmp_path / "fakes"
    noise = torch.randint(0, 256, (6, 32, 32, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    for i, img in enumerate(noise):  # stand-ins for generated images: uniform noise
        fakes.mkdir(exist_ok=True)
        Image.fromarray(img.numpy()).save(fakes / f"sample_{i:05d}.png")
    argv = ["evaluate", "--fakes", str(fakes), "--data", str(tiny_folder), "--n", "6", "--device", "cpu"]
    assert main([*argv, "--metrics", "dogs,pr"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0] == "6 generated vs 6 real images at 32px"
    assert out[1].startswith("Precision / recall (EfficientNet-Lite0, k=3): ")
    assert out[2] == "Dog-o-meter (EfficientNet-Lite0's ImageNet classifier): 0% called a dog"  # noise is no dog
    assert len(out) == 3
