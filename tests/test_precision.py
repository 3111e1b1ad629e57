"""bf16 or float32 on a CPU, decided by timing both on the run's own networks and remembered per machine."""
import json

import pytest
import torch

from gan_lib import precision
from gan_lib.config import ModelConfig, recommended_config
from gan_lib.data import ImageData, hold_out
from gan_lib.precision import MixedPrecision, amp_dtype, bf16_speedup, step_seconds
from gan_lib.training import Trainer

TINY = ModelConfig(resolution=32, latent_dim=8, g_width=4, d_width=4)


@pytest.fixture(autouse=True)
def _forget(monkeypatch):
    monkeypatch.setattr(precision, "_decided", {})  # every test starts as a fresh process would


def fake_clock(monkeypatch, fp32: float, bf16: float) -> list:
    """step_seconds replaced by fixed timings; the returned list records each measurement."""
    calls = []

    def timed(model, batch_size, dtypes=(None, torch.bfloat16), steps=precision.PROBE_STEPS):
        calls.extend(dtypes)
        return [bf16 if dtype is torch.bfloat16 else fp32 for dtype in dtypes]

    monkeypatch.setattr(precision, "step_seconds", timed)
    return calls


def test_bf16_is_chosen_when_measured_faster_and_remembered(monkeypatch, tmp_path):
    calls = fake_clock(monkeypatch, fp32=0.20, bf16=0.10)
    cache = tmp_path / "precision.json"
    assert amp_dtype(torch.device("cpu"), TINY, 8, cache) is torch.bfloat16
    assert calls == [None, torch.bfloat16]
    [entry] = json.loads(cache.read_text()).values()
    assert entry == {"fp32_ms": 200.0, "bf16_ms": 100.0}

    # A new process on the same machine reads the answer instead of measuring again.
    monkeypatch.setattr(precision, "_decided", {})
    assert amp_dtype(torch.device("cpu"), TINY, 8, cache) is torch.bfloat16
    assert calls == [None, torch.bfloat16]


def test_float32_when_bf16_is_not_clearly_faster(monkeypatch, tmp_path):
    fake_clock(monkeypatch, fp32=0.11, bf16=0.10)  # 1.1x: inside timing noise
    assert amp_dtype(torch.device("cpu"), TINY, 8, tmp_path / "p.json") is None
    fake_clock(monkeypatch, fp32=0.10, bf16=0.30)  # slower (no bf16 instructions): other networks, measured anew
    assert amp_dtype(torch.device("cpu"), ModelConfig(resolution=64, g_width=4, d_width=4), 8, tmp_path / "p.json") is None


def test_the_answer_depends_on_the_networks_and_the_batch(monkeypatch, tmp_path):
    calls = fake_clock(monkeypatch, fp32=0.2, bf16=0.1)
    bf16_speedup(TINY, 8, tmp_path / "p.json")
    bf16_speedup(TINY, 16, tmp_path / "p.json")
    bf16_speedup(ModelConfig(resolution=64, latent_dim=8, g_width=4, d_width=4), 8, tmp_path / "p.json")
    assert len(calls) == 6 and len(json.loads((tmp_path / "p.json").read_text())) == 3


def test_a_damaged_cache_is_measured_again(monkeypatch, tmp_path):
    cache = tmp_path / "precision.json"
    cache.write_text("{not json")
    calls = fake_clock(monkeypatch, fp32=0.2, bf16=0.1)
    assert bf16_speedup(TINY, 8, cache) == pytest.approx(2.0)
    assert len(calls) == 2 and len(json.loads(cache.read_text())) == 1


def test_gpus_and_unknown_networks_stay_in_float32(monkeypatch):
    calls = fake_clock(monkeypatch, fp32=0.2, bf16=0.1)
    assert amp_dtype(torch.device("cuda"), TINY, 8) is None
    assert amp_dtype(torch.device("cpu")) is None  # nothing to measure
    assert calls == []


def test_measuring_really_times_both_and_leaves_the_random_numbers_alone(tmp_path):
    assert all(t > 0 for t in step_seconds(TINY, 4, steps=2))
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    assert bf16_speedup(TINY, 4, tmp_path / "p.json") > 0
    assert torch.equal(torch.rand(3), expected)


def test_the_trainer_wraps_its_networks_as_measured(monkeypatch):
    data = ImageData(torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8), torch.zeros(16, dtype=torch.long), ["dog"])
    config = recommended_config("cpu", steps=1, batch_size=8, latent_dim=8, g_width=4, d_width=4)
    fake_clock(monkeypatch, fp32=0.2, bf16=0.1)
    trainer = Trainer(config, data)
    assert trainer.amp_dtype is torch.bfloat16 and isinstance(trainer.D_learning, MixedPrecision)
    config.amp = False  # --no-amp
    assert Trainer(config, data).amp_dtype is None


def test_hold_out_keeps_every_tenth_photo_of_each_class():
    labels = torch.tensor([0] * 12 + [1] * 5)
    data = ImageData(torch.arange(17, dtype=torch.uint8).view(17, 1, 1, 1).expand(17, 3, 32, 32).clone(), labels, ["a", "b"])
    train, held = hold_out(data)
    assert held.images[:, 0, 0, 0].tolist() == [0, 10, 12]  # the 1st and 11th of class a, the 1st of b
    assert len(train) == 14 and set(train.images[:, 0, 0, 0].tolist()).isdisjoint({0, 10, 12})
