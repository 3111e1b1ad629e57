import pytest
import torch

from gan_lib.errors import GanLibError
from gan_lib.losses import LOSSES, get_loss
from gan_lib.models import Discriminator, Generator, ModelConfig, sample_noise
from gan_lib.callbacks import SaveProgress
from gan_lib.checkpoint import Checkpoint
from gan_lib.config import TrainConfig
from gan_lib.sampling import load_generator
from gan_lib.training import Trainer, TrainingDiverged, discriminator_step, generator_step, update_ema

SMALL = dict(g_width=8, d_width=8, latent_dim=16)


def snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def parameters_changed(before, model):
    return [k for k, _ in model.named_parameters() if not torch.equal(before[k], model.state_dict()[k])]


def models(**kw):
    torch.manual_seed(0)
    cfg = ModelConfig(**SMALL, **kw)
    G, D = Generator(cfg), Discriminator(cfg)
    return cfg, G, D, torch.optim.Adam(G.parameters(), 1e-3), torch.optim.Adam(D.parameters(), 1e-3)


@pytest.mark.parametrize("loss", list(LOSSES))
def test_d_step_changes_only_d_and_g_step_changes_only_g(loss):
    cfg, G, D, opt_g, opt_d = models(d_norm="spectral")
    real = torch.rand(8, 3, 32, 32) * 2 - 1
    g0, d0 = snapshot(G), snapshot(D)
    stats = discriminator_step(G, D, opt_d, real, sample_noise(8, cfg.latent_dim), loss=get_loss(loss, r1_gamma=0.1))
    assert parameters_changed(d0, D), "the D step must train D"
    assert parameters_changed(g0, G) == [], "the D step must not change G's weights"
    assert set(stats) == {"loss_d", "d_real", "d_fake"}

    g0, d0 = snapshot(G), snapshot(D)
    d_grads = [p.grad.clone() for p in D.parameters()]
    stats = generator_step(G, D, opt_g, sample_noise(8, cfg.latent_dim), loss=get_loss(loss), real=real)
    assert parameters_changed(g0, G), "the G step must train G"
    assert parameters_changed(d0, D) == [], "the G step must not change D's weights"
    assert all(torch.equal(g, p.grad) for g, p in zip(d_grads, D.parameters())), \
        "no gradients are even computed for D's weights"
    assert all(p.requires_grad for p in D.parameters()), "D is unfrozen again afterwards"
    assert set(stats) == {"loss_g"}


def test_generator_gradient_flows_through_the_discriminator():
    cfg, G, D, opt_g, _ = models()
    # Zero the discriminator: its verdict no longer depends on the image, so G gets no gradient at all.
    with torch.no_grad():
        for p in D.parameters():
            p.zero_()
    generator_step(G, D, opt_g, sample_noise(4, cfg.latent_dim))
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in G.parameters())


def test_conditional_steps():
    cfg, G, D, opt_g, opt_d = models(num_classes=3)
    labels = torch.tensor([0, 1, 2, 1])
    discriminator_step(G, D, opt_d, torch.zeros(4, 3, 32, 32), sample_noise(4, 16), labels, get_loss("hinge"))
    D.zero_grad(set_to_none=True)
    generator_step(G, D, opt_g, sample_noise(4, 16), labels, get_loss("hinge"))
    assert D.embed.weight.grad is None  # frozen in the G step
    assert G.embed.weight.grad.abs().sum() > 0


def test_ema_moves_towards_the_model():
    _, G, _, _, _ = models()
    ema = Generator(G.cfg)
    ema.load_state_dict(G.state_dict())
    with torch.no_grad():
        for p in G.parameters():
            p.add_(1.0)
    before = next(ema.parameters()).clone()
    update_ema(ema, G, decay=0.9)
    assert torch.allclose(next(ema.parameters()), before + 0.1, atol=1e-6)


def small_config(**kw) -> TrainConfig:
    defaults = dict(model=ModelConfig(**SMALL), steps=8, batch_size=8, log_every=1, num_fixed=4,
                    diffaugment="color,translation,cutout")
    return TrainConfig(**(defaults | kw))


def test_checkpoint_resumes_bit_for_bit(tiny_folder, tmp_path):
    from gan_lib.data import load_images

    data = load_images(tiny_folder, 32, cache_dir=tmp_path / "c", progress=False)
    straight = Trainer(small_config(), data)
    straight.fit(progress=False)

    first = Trainer(small_config(steps=4), data)
    first.fit(progress=False)
    path = first.save(tmp_path / "ckpt.pt")
    assert not list(tmp_path.glob("*.tmp"))  # written atomically
    resumed = Trainer.resume(path, data, steps=8)
    assert resumed.step == 4
    resumed.fit(progress=False)

    key = lambda h: [(r["step"], r["loss_d"], r["loss_g"], r["d_real"], r["d_fake"]) for r in h]  # noqa: E731
    assert key(resumed.history) == key(straight.history)
    for a, b in [(straight.G, resumed.G), (straight.D, resumed.D), (straight.ema, resumed.ema)]:
        for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(x, y), name
    assert torch.equal(straight.sample_fixed(), resumed.sample_fixed())


def test_damaged_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(GanLibError, match="damaged"):
        Checkpoint.load(tmp_path / "bad.pt")
    with pytest.raises(GanLibError, match="not found"):
        Checkpoint.load(tmp_path / "missing.pt")


def test_nan_stops_training_with_a_diagnosis(tiny_folder, tmp_path, monkeypatch):
    from gan_lib.data import load_images

    data = load_images(tiny_folder, 32, cache_dir=tmp_path / "c", progress=False)
    trainer = Trainer(small_config(steps=20, lr_d=1e-3), data)
    real_step = trainer.train_step

    def poisoned():
        stats = real_step()
        if trainer.step == 3:
            stats["loss_d"] = torch.full_like(stats["loss_d"], float("nan"))
        return stats

    monkeypatch.setattr(trainer, "train_step", poisoned)
    with pytest.raises(TrainingDiverged, match=r"diverged at step 3: loss_d became NaN.*lower the learning rates"):
        trainer.fit(progress=False)
    assert len(trainer.history) == 2  # the bad record is not kept


def test_callbacks_can_stop_and_time_budget_stops(tiny_folder, tmp_path):
    from gan_lib.data import load_images

    data = load_images(tiny_folder, 32, cache_dir=tmp_path / "c", progress=False)
    trainer = Trainer(small_config(steps=50), data)
    seen = []

    def stop_at_three(t):
        seen.append(t.step)
        if t.step == 3:
            t.request_stop()

    trainer.fit(callbacks=[stop_at_three], progress=False)
    assert seen == [1, 2, 3] and trainer.step == 3
    assert trainer.stop_reason == "stopped"
    trainer = Trainer(small_config(steps=50, minutes=1e-9), data)
    trainer.fit(progress=False)
    assert trainer.step == 1 and trainer.stop_reason == "time"


def test_history_records_and_fixed_samples(tiny_folder, tmp_path):
    from gan_lib.data import load_images

    data = load_images(tiny_folder, 32, cache_dir=tmp_path / "c", progress=False)
    trainer = Trainer(small_config(steps=6, log_every=3, model=ModelConfig(**SMALL, num_classes=2)), data)
    trainer.fit(progress=False)
    assert [r["step"] for r in trainer.history] == [3, 6]
    assert set(trainer.history[0]) == {"step", "loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d",
                                       "grad_norm_g", "seconds"}
    samples = trainer.sample_fixed()
    assert samples.shape == (4, 3, 32, 32) and samples.device.type == "cpu"
    assert torch.equal(samples, trainer.sample_fixed())  # fixed noise, eval mode: repeatable


def test_save_progress_writes_run_folder(tiny_folder, tmp_path):
    import json

    from gan_lib.data import load_images

    data = load_images(tiny_folder, 32, cache_dir=tmp_path / "c", progress=False)
    trainer = Trainer(small_config(steps=4, log_every=2), data)
    saver = SaveProgress(tmp_path / "run", sample_every=2, checkpoint_every=4)
    trainer.fit(callbacks=[saver], progress=False)  # fit calls saver.finish at the end
    run = tmp_path / "run"
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_000002.png", "step_000004.png"]
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]
    G = load_generator(run / "checkpoint.pt")
    assert torch.equal(G.state_dict()["project.weight"], trainer.ema.state_dict()["project.weight"].cpu())


@pytest.mark.slow
def test_real_photos_d_learns_and_g_improves(real_data):
    """A short run on real dogs: D tells real from fake, and G's samples move towards the real set."""
    from gan_lib.data import to_uint8
    from gan_lib.metrics import sliced_wasserstein

    config = TrainConfig(model=ModelConfig(g_width=32, d_width=32), steps=300, batch_size=32, log_every=10,
                         ema_decay=0.0, num_fixed=256, seed=0)
    trainer = Trainer(config, real_data)
    real = real_data.images[:256]
    swd_start = sliced_wasserstein(to_uint8(trainer.sample_fixed()), real)["swd"]
    # D alone against the untrained G: it should win quickly.
    d_alone = [discriminator_step(trainer.G, trainer.D, trainer.opt_d, next(trainer.batches)[0], trainer._noise(32))
               for _ in range(10)]
    assert d_alone[-1]["d_real"] > 0.7 and d_alone[-1]["d_fake"] < 0.3
    trainer.fit(progress=False)
    swd_end = sliced_wasserstein(to_uint8(trainer.sample_fixed()), real)["swd"]
    assert swd_end < 0.75 * swd_start, (swd_start, swd_end)
    last = trainer.history[-5:]
    assert sum(r["d_real"] for r in last) / 5 > sum(r["d_fake"] for r in last) / 5


def test_interrupt_is_a_clean_stop_and_callbacks_finish(tiny_folder, tmp_path):
    import asyncio

    from gan_lib.data import load_images

    data = load_images(tiny_folder, 32, cache_dir=tmp_path / "c", progress=False)
    events = []

    class Callback:
        def __call__(self, t):
            events.append(t.step)
            if t.step == 2:
                raise KeyboardInterrupt  # what Ctrl-C or the notebook's interrupt button raises

        def finish(self, t):
            events.append(("finish", t.step))

    trainer = Trainer(small_config(steps=10), data)
    trainer.fit(callbacks=[Callback()], progress=False)
    assert trainer.interrupted and trainer.step == 2 and events == [1, 2, ("finish", 2)]
    # The async version (for notebooks) runs the same loop and can continue where fit stopped.
    events.clear()
    asyncio.run(trainer.fit_async(callbacks=[lambda t: events.append(t.step)], progress=False))
    assert not trainer.interrupted and trainer.step == 10 and events == list(range(3, 11))


def test_ctrl_c_finishes_the_step_then_stops(tiny_folder, tmp_path):
    import os
    import signal

    from gan_lib.data import load_images

    data = load_images(tiny_folder, 32, cache_dir=tmp_path / "c", progress=False)
    trainer = Trainer(small_config(steps=10), data)

    def press_ctrl_c(t):
        if t.step == 2:
            os.kill(os.getpid(), signal.SIGINT)

    trainer.fit(callbacks=[press_ctrl_c], progress=False)
    assert trainer.interrupted and trainer.step == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


def test_resume_on_other_data_and_mismatched_settings_are_clear_errors(tiny_folder, tmp_path):
    from gan_lib.data import load_images

    data = load_images(tiny_folder, 32, cache_dir=tmp_path / "c", progress=False)
    path = Trainer(small_config(steps=2), data).save(tmp_path / "ckpt.pt")
    fewer = load_images(tiny_folder, 32, max_per_class=4, cache_dir=tmp_path / "c", progress=False)
    with pytest.raises(GanLibError, match="same --data"):
        Trainer.resume(path, fewer)
    with pytest.raises(GanLibError, match="images are 32px but the model is for 64px"):
        Trainer(small_config(model=ModelConfig(**SMALL, resolution=64)), data)
    with pytest.raises(GanLibError, match="BatchNorm"):
        Trainer(small_config(loss="wgan-gp"), data)
    with pytest.raises(GanLibError, match="DiffAugment policy"):
        Trainer(small_config(diffaugment="colour"), data)


def test_diverged_weights_are_never_saved(tiny_folder, tmp_path):
    from gan_lib.data import load_images

    data = load_images(tiny_folder, 32, cache_dir=tmp_path / "c", progress=False)
    trainer = Trainer(small_config(steps=1), data)
    good = trainer.save(tmp_path / "ckpt.pt").read_bytes()
    with torch.no_grad():
        next(trainer.D.parameters()).fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="not saving"):
        trainer.save(tmp_path / "ckpt.pt")
    assert (tmp_path / "ckpt.pt").read_bytes() == good


def test_resume_on_another_kind_of_device_keeps_the_weights(tiny_folder, tmp_path, capsys):
    from gan_lib.data import load_images

    data = load_images(tiny_folder, 32, cache_dir=tmp_path / "c", progress=False)
    trainer = Trainer(small_config(steps=2), data)
    trainer.fit(progress=False)
    ckpt = trainer.checkpoint()
    # As if trained on another kind of device, whose generator state cannot seed this one's.
    ckpt.rng_device = "cuda" if trainer.device.type == "cpu" else "cpu"
    ckpt.save(tmp_path / "gpu.pt")
    resumed = Trainer.resume(tmp_path / "gpu.pt", data, steps=3)
    assert "the weights resume exactly, the random noise does not" in capsys.readouterr().out
    assert all(torch.equal(a, b) for a, b in zip(trainer.G.state_dict().values(), resumed.G.state_dict().values()))
    resumed.fit(progress=False)
    assert resumed.step == 3


def test_judge_measures_d_as_trained_and_leaves_its_statistics_alone():
    from gan_lib.training import judge

    cfg, G, D, _, opt_d = models()
    real = torch.rand(16, 3, 32, 32) * 0.5 + 0.5  # bright "photos"
    for _ in range(30):
        discriminator_step(G, D, opt_d, real, sample_noise(16, cfg.latent_dim))
    buffers = {k: v.clone() for k, v in D.state_dict().items() if "running" in k}
    with torch.no_grad():
        fake = G(sample_noise(16, cfg.latent_dim))
    D.eval()  # judge ignores the mode D is in: it always measures as in training
    p_real, p_fake = judge(D, real), judge(D, fake)
    assert not D.training
    assert p_real.shape == (16,) and p_real.min() > 0.9 and p_fake.max() < 0.1  # D won, as its steps said
    assert all(torch.equal(v, D.state_dict()[k]) for k, v in buffers.items())


def test_fit_returns_the_trainer_with_a_one_line_summary(tiny_folder, tmp_path):
    """A notebook cell ending in `await trainer.fit_async(...)` shows one line, not thousands of records."""
    from gan_lib.data import load_images

    data = load_images(tiny_folder, 32, cache_dir=tmp_path / "c", progress=False)
    trainer = Trainer(small_config(steps=3, log_every=1), data)
    assert trainer.fit(progress=False) is trainer
    assert repr(trainer).startswith("Trainer(step=3, ") and repr(trainer).endswith("stopped by: steps)")
    assert len(trainer.history) == 3 and "\n" not in repr(trainer)


def test_label_smoothing_and_instance_noise_are_switches_of_a_run(tiny_folder, tmp_path):
    from gan_lib.augment import InstanceNoise
    from gan_lib.data import load_images

    data = load_images(tiny_folder, 32, cache_dir=tmp_path / "c", progress=False)
    trainer = Trainer(small_config(steps=4, label_smoothing=0.1, instance_noise=0.2, diffaugment=""), data)
    assert len(trainer.noise_layers) == 2  # D as the D step and as the G step see it
    assert all(isinstance(layer, InstanceNoise) and layer.sigma == pytest.approx(0.2) for layer in trainer.noise_layers)
    seen = []
    trainer.fit(callbacks=[lambda t: seen.append(tuple(layer.sigma for layer in t.noise_layers))], progress=False)
    # Before each of the 4 steps the schedule lowered it linearly, towards 0 at the end of the run.
    assert [a for a, b in seen if a == b] == pytest.approx([0.2, 0.15, 0.1, 0.05])
    assert trainer.loss.d_loss(torch.tensor([10.0]), torch.tensor([-10.0])) > 0.3  # 0.9 targets: no loss near 0
    with pytest.raises(GanLibError, match="instance_noise"):
        small_config(instance_noise=-1.0)


def test_conditional_generator_draws_the_class_it_is_asked_for():
    """A few hundred steps on two classes of clearly different colour: asked for class k, G draws colours
    closer to class k's images than to the other class's. A G that ignored the label draws the same images
    for both, so one of the two comparisons would fail. (Real breeds differ too little in mean colour for
    a test this short; notebook 07 measures real breeds with the ImageNet classifier.)"""
    from gan_lib.data import ImageData

    rng = torch.Generator().manual_seed(0)
    colours = torch.tensor([[200.0, 70.0, 40.0], [40.0, 90.0, 200.0]])  # reddish, bluish
    labels = torch.arange(128) % 2
    images = (colours[labels].view(-1, 3, 1, 1) + 40 * torch.randn(128, 3, 32, 32, generator=rng)).clamp(0, 255)
    data = ImageData(images.to(torch.uint8), labels, ["red", "blue"])
    config = TrainConfig(model=ModelConfig(g_width=16, d_width=16, num_classes=2), steps=200, batch_size=32,
                         log_every=50, seed=0, amp=False)  # float32 everywhere: the same test on every CPU
    trainer = Trainer(config, data)
    trainer.fit(progress=False)
    z = sample_noise(64, config.model.latent_dim, generator=torch.Generator().manual_seed(1))
    drawn = [(trainer.sample(z, torch.full((64,), k)) + 1).mul(127.5).mean(dim=(0, 2, 3)) for k in range(2)]
    for k in range(2):
        own, other = ((drawn[k] - colours[j]).norm().item() for j in (k, 1 - k))
        assert own < other, (k, drawn[k].tolist())
    # and the label moves the colour a good part of the way between the two classes
    assert (drawn[0] - drawn[1]).norm() > 0.25 * (colours[0] - colours[1]).norm(), [d.tolist() for d in drawn]


class Moments:
    """A callback that writes down every moment it is called at, into a shared log."""

    def __init__(self, name: str, log: list, order: int = 0) -> None:
        self.name, self.log, self.order = name, log, order

    def before_fit(self, trainer):
        self.log.append((self.name, "before_fit", trainer.step))

    def before_step(self, trainer):
        self.log.append((self.name, "before_step", trainer.step))

    def __call__(self, trainer):
        self.log.append((self.name, "after_step", trainer.step))

    def finish(self, trainer):
        self.log.append((self.name, "finish", trainer.step))


def test_callbacks_are_called_at_their_moments_in_their_order(tiny_folder, tmp_path):
    from gan_lib.data import load_images

    data = load_images(tiny_folder, 32, cache_dir=tmp_path / "c", progress=False)
    log = []
    late, early = Moments("late", log, order=5), Moments("early", log, order=-5)
    Trainer(small_config(steps=2), data).fit(callbacks=[late, early, Moments("plain", log)], progress=False)
    order = ["early", "plain", "late"]  # sorted by `order`, whatever the list's order
    expected = [(n, "before_fit", 0) for n in order]
    for step in (0, 1):
        expected += [(n, "before_step", step) for n in order] + [(n, "after_step", step + 1) for n in order]
    assert log == expected + [(n, "finish", 2) for n in order]
    with pytest.raises(GanLibError, match="not a callback"):
        Trainer(small_config(steps=1), data).fit(callbacks=["print"], progress=False)


def test_the_saver_writes_the_monitors_quality_number_whatever_the_list_order(tiny_folder, tmp_path):
    import json

    from gan_lib.callbacks import TrainingMonitor
    from gan_lib.data import load_images

    data = load_images(tiny_folder, 32, cache_dir=tmp_path / "c", progress=False)
    saver = SaveProgress(tmp_path / "run", sample_every=2, checkpoint_every=2)
    monitor = TrainingMonitor(warmup=0, quality_samples=8, budget=float("inf"))  # a quality number every time
    Trainer(small_config(steps=2), data).fit(callbacks=[saver, monitor], progress=False)  # saver listed first
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all("swd" in r for r in records)  # the monitor ran before the saver wrote each record
