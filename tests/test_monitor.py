"""The training monitor: alerts fire on a synthetic D win and a synthetic collapse, stay quiet on a
healthy run, and the live quality number stays within its time budget."""
from types import SimpleNamespace

import pytest
import torch

from gan_lib.callbacks import TrainingMonitor, diversity


class FakeRun:
    """The parts of a Trainer the monitor reads, with a scripted history and scripted samples."""

    def __init__(self, d_real: float, d_fake: float, samples: torch.Tensor, photos: torch.Tensor) -> None:
        self.step, self.seconds, self.history = 0, 0.0, []
        self.d_real, self.d_fake, self.samples, self._photos = d_real, d_fake, samples, photos
        self.config = SimpleNamespace(model=SimpleNamespace(latent_dim=8, num_classes=0))

    def advance(self, monitor: TrainingMonitor, steps: int, log_every: int = 10) -> None:
        if self.step == 0:
            monitor.before_fit(self)  # as Trainer.fit does before the first step
        for _ in range(steps):
            self.step += 1
            self.seconds += 0.05  # 50 ms steps, as on a CPU: a quality check now and then, within 5%
            if self.step % log_every == 0:
                self.history.append({"step": self.step, "d_real": self.d_real, "d_fake": self.d_fake})
            monitor(self)

    def sample_fixed(self) -> torch.Tensor:
        return self.samples

    def sample(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.samples[torch.arange(len(z)) % len(self.samples)]

    def photos(self, n: int) -> torch.Tensor:
        return self._photos[:n]


def photos(n: int = 64, seed: int = 0) -> torch.Tensor:
    """Varied 'photos': smooth random colour fields, uint8."""
    low = torch.rand(n, 3, 4, 4, generator=torch.Generator().manual_seed(seed))
    return (torch.nn.functional.interpolate(low, size=32, mode="bilinear") * 255).to(torch.uint8)


def as_float(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 127.5 - 1


def test_d_winning_is_said_once_with_a_fix():
    said = []
    run = FakeRun(0.97, 0.02, as_float(photos(seed=1)), photos())
    monitor = TrainingMonitor(say=said.append, warmup=10**9, quality_samples=16)
    run.advance(monitor, 400)
    assert [a.kind for a in monitor.alerts] == ["D is winning"]  # once per episode, not at every check
    alert = monitor.alerts[0]  # the evidence names the steps it averaged, never more than have happened
    first, last = map(int, alert.evidence.rsplit("over steps ", 1)[1].split("-"))
    assert 1 <= first < last == alert.step and last - first < monitor.window
    assert "D(x) 0.97, D(G(z)) 0.02" in said[0] and "spectral norm" in said[0]
    run.d_real, run.d_fake = 0.6, 0.4  # the game recovers ...
    run.advance(monitor, 400)
    run.d_real, run.d_fake = 0.99, 0.01  # ... and D wins again: a new alert
    run.advance(monitor, 400)
    assert [a.kind for a in monitor.alerts] == ["D is winning", "D is winning"]


def test_collapse_is_noticed_and_diverse_samples_are_not():
    one_dog = as_float(photos(1, seed=5)).expand(64, -1, -1, -1) + 0.01 * torch.randn(64, 3, 32, 32)
    collapsed = FakeRun(0.7, 0.3, one_dog, photos())
    monitor = TrainingMonitor(warmup=100, quality_samples=32)
    collapsed.advance(monitor, 300)
    assert [a.kind for a in monitor.alerts] == ["possible mode collapse"]
    assert "as diverse as the photos" in monitor.alerts[0].evidence

    healthy = FakeRun(0.65, 0.35, as_float(photos(seed=9)), photos())
    quiet = TrainingMonitor(warmup=100, quality_samples=32)
    healthy.advance(quiet, 600)
    assert quiet.alerts == []
    swd = [r["swd"] for r in healthy.history if "swd" in r]
    assert swd and all(s > 0 for s in swd)  # the live quality number lands in the history


def test_quality_checks_stay_within_the_time_budget():
    run = FakeRun(0.6, 0.4, as_float(photos(seed=2)), photos())
    monitor = TrainingMonitor(warmup=0, budget=0.05, quality_samples=32)
    monitor.before_fit(run)

    def fast_steps(n: int) -> None:  # 10 ms training steps: the quality check must be rare
        for _ in range(n):
            run.step += 1
            run.seconds += 0.01
            run.history.append({"step": run.step, "d_real": 0.6, "d_fake": 0.4})
            monitor(run)

    fast_steps(2000)
    checks = sum("swd" in r for r in run.history)
    assert 1 <= checks < 200
    assert monitor._seconds <= 0.05 * run.seconds + 1.0  # at most one check over the budget


def test_diversity_of_identical_images_is_zero():
    x = torch.rand(1, 3, 32, 32).expand(8, -1, -1, -1)
    assert diversity(x) == pytest.approx(0.0, abs=1e-5)
    assert diversity(torch.rand(8, 3, 32, 32)) > 1.0
