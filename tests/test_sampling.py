"""Sampling: a checkpoint samples exactly as its training run did; slerp keeps noise vectors long."""
import torch

from gan_lib.config import ModelConfig, TrainConfig
from gan_lib.data import load_images, to_uint8
from gan_lib.models import sample_noise
from gan_lib.sampling import generate, generate_images, load_generator, slerp
from gan_lib.training import Trainer


def test_a_checkpoint_samples_exactly_like_its_training_run(tiny_folder, tmp_path):
    data = load_images(tiny_folder, 32, cache_dir=tmp_path / "c", progress=False)
    config = TrainConfig(model=ModelConfig(g_width=8, d_width=8, latent_dim=16), steps=5, batch_size=8,
                         num_fixed=8, seed=3)
    trainer = Trainer(config, data)
    trainer.fit(progress=False)
    path = trainer.save(tmp_path / "run" / "checkpoint.pt")
    z = sample_noise(64, 16, generator=torch.Generator().manual_seed(0))
    in_training = trainer.sample(z)
    from_checkpoint = generate(load_generator(path), z)
    torch.testing.assert_close(from_checkpoint, in_training)  # the same images, so the same statistics
    assert in_training.std() > 0.05  # not a grey image
    # The command line's path (sample, evaluate) draws the same images from the same noise.
    images = generate_images(path, 64, seed=0)
    assert torch.equal(images, to_uint8(generate(load_generator(path), sample_noise(
        64, 16, generator=torch.Generator().manual_seed(0)))))
    # The same images up to float rounding, which can tip a pixel by one level (seen with 1 thread).
    assert (images.int() - to_uint8(in_training).int()).abs().max() <= 1


def test_slerp_keeps_the_length_a_straight_line_loses():
    rng = torch.Generator().manual_seed(0)
    z1, z2 = sample_noise(1, 100, generator=rng), sample_noise(1, 100, generator=rng)
    path = slerp(z1, z2, 9)
    assert path.shape == (9, 100)
    torch.testing.assert_close(path[0], z1[0])
    torch.testing.assert_close(path[-1], z2[0])
    norms = path.norm(dim=1)
    assert norms.min() > 0.95 * min(z1.norm(), z2.norm())  # stays on the shell where training noise lives
    straight = torch.lerp(z1, z2, torch.linspace(0, 1, 9).view(-1, 1))
    assert straight.norm(dim=1)[4] < 0.8 * norms[4]  # the line's middle is much shorter: about 1/sqrt(2)
    same = slerp(z1, z1, 3)  # no angle: no division by zero
    assert torch.isfinite(same).all() and torch.allclose(same, z1.expand(3, -1))
