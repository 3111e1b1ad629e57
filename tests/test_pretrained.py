"""The course's reference GAN: trained in chunks that continue exactly, judged, packed small, loaded in one call."""
import json

import pytest
import torch

from gan_lib import pretrained
from gan_lib.checkpoint import Checkpoint
from gan_lib.config import ModelConfig, TrainConfig
from gan_lib.errors import GanLibError
from gan_lib.networks import build_discriminator, build_generator
from gan_lib.pretrained import build
from conftest import write_image

WOOF = ["n02086240", "n02087394", "n02088364", "n02089973", "n02093754", "n02096294", "n02099601", "n02105641",
        "n02111889", "n02115641"]  # ImageWoof's ten breeds; n02111889 is the Samoyed
TINY = dict(g_width=4, d_width=4, latent_dim=8, batch_size=6, num_fixed=9)


@pytest.fixture
def woof(tmp_path):
    """A stand-in for ImageWoof: ten breed folders of ten small noisy pictures each."""
    g = torch.Generator().manual_seed(0)
    for wnid in WOOF:
        for i in range(10):
            colour = tuple(torch.randint(0, 256, (3,), generator=g).tolist())
            write_image(tmp_path / "woof" / wnid / f"{wnid}_{i}.jpg", size=(72, 64), color=colour)
    return tmp_path / "woof"


def test_photos_hold_out_the_samoyed_and_every_tenth_photo(woof):
    train, held = build.course_photos(woof)
    assert "Samoyed" not in train.class_names and len(train.class_names) == 9
    assert len(train) == 81 and len(held) == 9 and train.resolution == 64
    with pytest.raises(GanLibError, match="Samoyed"):
        build.course_photos(woof / WOOF[0])  # a folder without the breeds


@pytest.mark.slow
def test_trained_in_chunks_judged_packed_and_loaded(woof, tmp_path, monkeypatch):
    run, packed = tmp_path / "run", tmp_path / "pkg" / "course_gan.pt"
    first = build.train(woof, minutes=0.01, out=run, **TINY)
    assert first.config.model.resolution == 64 and first.config.model.num_classes == 9
    second = build.train(woof, minutes=first.seconds / 60 + 0.01, out=run)  # the next session continues the run
    assert second.step > first.step and second.config.model.g_width == 4
    assert [s["from_step"] for s in map(json.loads, (run / "sessions.jsonl").read_text().splitlines())] == [0, first.step]

    scores = build.export(woof, run, packed, grid=tmp_path / "grid.png", samples=18)
    for key in ("fd", "kid", "swd", "dogs", "breed_among", "breed_among_label_ignored", "nn_fake_median"):
        assert key in scores
    assert (tmp_path / "grid.png").is_file()
    public = json.loads(packed.with_suffix(".json").read_text())
    assert public["held_out_breed"] == "Samoyed" and public["step"] == second.step and "G" not in public

    gan = pretrained.load(packed)
    ckpt = Checkpoint.load(run / "checkpoint.pt")
    assert gan.class_names == ckpt.class_names and gan.step == ckpt.step and gan.scores == scores
    assert not gan.G.training and not gan.D.training
    for name, value in gan.D.state_dict().items():  # D in half precision: float32 weights to 3 digits
        assert torch.allclose(value.float(), ckpt.D[name].float(), rtol=1e-3, atol=1e-4), name
    images = gan.sample(4, breed="beagle", seed=1)
    assert images.shape == (4, 3, 64, 64) and images.dtype == torch.uint8
    assert torch.equal(images, gan.sample(4, breed="beagle", seed=1))
    with pytest.raises(GanLibError, match="unknown breed"):
        gan.sample(1, breed="Samoyed")  # the breed it never saw

    # The command line samples from it by the name "course".
    from gan_lib.cli import main

    monkeypatch.setattr(pretrained, "PACKED", packed)
    assert main(["sample", "course", "--breed", "beagle", "--n", "4", "--seed", "1", "--out", str(tmp_path / "b.png")]) == 0
    assert (tmp_path / "b.png").is_file()


@pytest.mark.slow
def test_a_second_stage_starts_from_a_packed_gan_and_counts_both_stages(woof, tmp_path):
    one, two, packed = tmp_path / "one", tmp_path / "two", tmp_path / "one.pt"
    first = build.train(woof, minutes=0.01, out=one, **TINY)
    build.export(woof, one, packed, grid=None, samples=18)
    stage1 = pretrained.load(packed)
    photos, _ = build.course_photos(woof)
    fresh = build.start_from(stage1, photos, minutes=1, r1_gamma=0.1)
    for mine, theirs in ((fresh.G, stage1.G), (fresh.ema, stage1.G), (fresh.D, stage1.D)):
        for (name, a), b in zip(mine.state_dict().items(), theirs.state_dict().values()):
            assert torch.equal(a, b), name  # stage 2 starts from stage 1's weights, not random ones
    assert fresh.config.r1_gamma == 0.1 and fresh.config.model.g_width == 4  # its recipe, with the change

    # The command line's second stage: --init and recipe changes; the same command again continues it.
    command = ["train", "--data", str(woof), "--run", str(two), "--init", str(packed), "--r1", "0.1",
               "--diffaugment", "color"]
    build.main(command + ["--minutes", "0.01"])
    started = Checkpoint.load(two / "checkpoint.pt")
    assert (started.config.r1_gamma, started.config.diffaugment, started.config.model.g_width) == (0.1, "color", 4)
    build.main(command + ["--minutes", str(started.seconds / 60 + 0.01)])
    second = Checkpoint.load(two / "checkpoint.pt")
    assert second.step > started.step > 0
    with pytest.raises(GanLibError, match=r"already holds a run.*diffaugment='color,cutout' \(the run has 'color'\)"):
        build.main(command[:-1] + ["color,cutout", "--minutes", "1"])  # a run's recipe cannot change halfway
    with pytest.raises(GanLibError, match="started from random weights"):
        build.train(woof, minutes=1, out=one, init=packed)  # nor can its start
    with pytest.raises(GanLibError, match="no such file"):
        build.train(woof, minutes=1, out=tmp_path / "three", init=tmp_path / "typo.pt")

    build.export(woof, two, tmp_path / "two.pt", grid=None, samples=18)
    gan = pretrained.load(tmp_path / "two.pt")
    assert [s["step"] for s in gan.stages] == [first.step, second.step] and gan.step == first.step + second.step
    assert [(s["config"]["r1_gamma"], s["config"]["diffaugment"]) for s in gan.stages] == [(0.0, ""), (0.1, "color")]
    assert gan.minutes == pytest.approx((first.seconds + second.seconds) / 60)
    assert stage1.stages == gan.stages[:1]  # a file packed in one stage describes that stage


def test_a_file_packed_before_stages_were_recorded_loads_as_one_stage(tmp_path):
    config = TrainConfig(steps=1, model=ModelConfig(resolution=64, g_width=4, d_width=4, latent_dim=8, num_classes=2))
    G, D = build_generator(config.model), build_discriminator(config.model)
    torch.save({"format": pretrained.FORMAT, "version": pretrained.VERSION, "config": config.to_dict(),
                "class_names": ["beagle", "dingo"], "held_out_breed": "Samoyed", "G": G.state_dict(),
                "D": D.state_dict(), "step": 7, "seconds": 60.0, "scores": {}, "trained_on": ["a CPU"]},
               tmp_path / "old.pt")
    gan = pretrained.load(tmp_path / "old.pt")
    assert gan.stages == [{"step": 7, "seconds": 60.0, "config": json.loads(json.dumps(config.to_dict())),
                           "trained_on": ["a CPU"]}]


def test_a_missing_or_damaged_file_says_what_to_do(tmp_path):
    with pytest.raises(GanLibError, match="reinstall the course"):
        pretrained.load(tmp_path / "nothing.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a model")
    with pytest.raises(GanLibError, match="damaged"):
        pretrained.load(tmp_path / "bad.pt")
    torch.save({"format": "something else"}, tmp_path / "other.pt")
    with pytest.raises(GanLibError, match="not a course GAN"):
        pretrained.load(tmp_path / "other.pt")


def test_the_shipped_gan_is_in_the_package_small_and_judged():
    """The file `pip install` brings: made by build.py export, under 16 MB, its card and scores beside it."""
    path = pretrained.PACKED
    assert path.is_file(), "gan_lib/pretrained/course_gan.pt is missing: run python -m gan_lib.pretrained.build export"
    assert path.stat().st_size <= 16 * 2**20
    gan = pretrained.load()
    assert gan.held_out_breed == "Samoyed" and "Samoyed" not in gan.class_names and len(gan.class_names) == 9
    assert gan.config.model.resolution == 64 and gan.config.model.num_classes == 9
    assert gan.minutes >= 120  # the "at least two hours of training in total"
    assert sum(s["step"] for s in gan.stages) == gan.step and gan.stages[-1]["config"] == json.loads(
        json.dumps(gan.config.to_dict()))  # its stages add up, and its recipe is the last stage's
    assert sum(s["seconds"] for s in gan.stages) / 60 == pytest.approx(gan.minutes)
    public = json.loads(path.with_suffix(".json").read_text())
    assert public["step"] == gan.step and public["scores"] == gan.scores and public["trained_on"] == gan.trained_on
    for key in ("fd", "kid", "swd", "dogs", "dogs_heldout", "breed_among", "breed_among_label_ignored",
                "nn_fake_median", "nn_heldout_median"):
        assert isinstance(gan.scores[key], float) and gan.scores[key] == gan.scores[key], key  # measured, not NaN
    images = gan.sample(9, seed=0)
    assert images.shape == (9, 3, 64, 64) and images.dtype == torch.uint8
    assert images.float().std() > 20  # a trained G draws varied pictures, not a flat grey
