"""Fine-tuning the course's GAN on a new breed: FreezeD counts blocks, the Trainer freezes before its optimiser,
the fine-tuner starts from the trained weights on the borrowed label, and the judges score one breed."""
import pytest
import torch
from torch import nn

from gan_lib import transfer
from gan_lib.config import ModelConfig, TrainConfig, recommended_config
from gan_lib.data import ImageData, load_images
from gan_lib.errors import GanLibError
from gan_lib.models import Discriminator, d_blocks, freeze_blocks
from gan_lib.networks import build_discriminator, build_generator
from gan_lib.pretrained import CourseGAN
from gan_lib.training import Trainer
from conftest import write_image

BREEDS = ["Shih-Tzu", "Rhodesian ridgeback", "beagle", "English foxhound", "Border terrier",
          "Australian terrier", "golden retriever", "Old English sheepdog", "dingo"]  # the course GAN's nine
TINY = dict(g_width=4, d_width=4, latent_dim=8)


def tiny_gan(seed: int = 0) -> CourseGAN:
    """A stand-in for the course's GAN: its shape (64 px, nine breeds), tiny widths, random weights."""
    config = recommended_config("cpu", resolution=64, num_classes=9, steps=None, minutes=150, batch_size=6,
                                num_fixed=9, **TINY)
    torch.manual_seed(seed)
    G, D = build_generator(config.model).eval(), build_discriminator(config.model).eval()
    return CourseGAN(config, list(BREEDS), "Samoyed", G, D, step=1000, minutes=120.0, scores={}, trained_on=["test"])


def samoyeds(n: int = 12) -> ImageData:
    g = torch.Generator().manual_seed(3)
    return ImageData(torch.randint(150, 256, (n, 3, 64, 64), dtype=torch.uint8, generator=g),
                     torch.zeros(n, dtype=torch.long), ["Samoyed"])


def frozen_names(D: nn.Module) -> set[str]:
    return {name for name, p in D.named_parameters() if not p.requires_grad}


def test_freeze_blocks_counts_convolution_blocks_not_layers():
    D = Discriminator(ModelConfig(resolution=64, d_width=4, num_classes=3))
    assert [type(block[0]) for block in d_blocks(D)] == [nn.Conv2d] * 4  # 64 -> 32 -> 16 -> 8 -> 4
    count = freeze_blocks(D, 2)
    # Block 0 is conv + LeakyReLU (no BatchNorm on the first block, as in DCGAN); block 1 is conv + BN + LeakyReLU.
    assert frozen_names(D) == {"features.0.weight", "features.2.weight", "features.3.weight", "features.3.bias"}
    assert count == sum(p.numel() for p in D.parameters() if not p.requires_grad)
    assert freeze_blocks(Discriminator(ModelConfig(resolution=32, d_width=4)), 0) == 0
    with pytest.raises(GanLibError, match="has 3 blocks: freeze 0 to 3"):
        freeze_blocks(Discriminator(ModelConfig(resolution=32, d_width=4)), 4)
    with pytest.raises(GanLibError, match="no DCGAN blocks"):
        freeze_blocks(nn.Linear(3, 1), 1)


def test_freeze_d_is_checked_in_the_config():
    with pytest.raises(GanLibError, match="freeze_d"):
        TrainConfig(freeze_d=-1)
    with pytest.raises(GanLibError, match="d_arch='dcgan'"):
        TrainConfig(model=ModelConfig(d_arch="projected"), freeze_d=1)


def test_a_trainer_with_freeze_d_never_moves_those_blocks_and_resumes_bit_for_bit(tiny_folder, tmp_path):
    data = load_images(tiny_folder, 32, cache_dir=tmp_path / "c", progress=False)
    config = lambda steps: TrainConfig(model=ModelConfig(**TINY), steps=steps, batch_size=4, log_every=1,  # noqa: E731
                                       num_fixed=4, freeze_d=2, diffaugment="color,translation,cutout")
    straight = Trainer(config(6), data)
    held = [p for group in straight.opt_d.param_groups for p in group["params"]]
    assert {id(p) for p in held} == {id(p) for p in straight.D.parameters() if p.requires_grad}
    start = {k: v.clone() for k, v in straight.D.state_dict().items()}
    straight.fit(progress=False)
    after = straight.D.state_dict()
    for name in frozen_names(straight.D):
        assert torch.equal(after[name], start[name]), name
    assert not torch.equal(after["classify.weight"], start["classify.weight"])

    first = Trainer(config(3), data)
    first.fit(progress=False)
    resumed = Trainer.resume(first.save(tmp_path / "ckpt.pt"), data, steps=6)
    assert frozen_names(resumed.D) == frozen_names(straight.D)
    resumed.fit(progress=False)
    for (name, x), y in zip(straight.D.state_dict().items(), resumed.D.state_dict().values()):
        assert torch.equal(x, y), name
    for (name, x), y in zip(straight.G.state_dict().items(), resumed.G.state_dict().values()):
        assert torch.equal(x, y), name


def test_an_optimiser_that_holds_frozen_weights_cannot_load_into_a_trainers():
    """What check_d_optimizer tells students: Adam's saved state is per parameter list."""
    D = Discriminator(ModelConfig(resolution=32, d_width=4))
    everything = torch.optim.Adam(D.parameters())
    freeze_blocks(D, 1)
    learning = torch.optim.Adam([p for p in D.parameters() if p.requires_grad])
    with pytest.raises(ValueError, match="size"):
        learning.load_state_dict(everything.state_dict())


def test_fine_tuner_starts_from_the_trained_networks_on_the_borrowed_label():
    gan, photos = tiny_gan(), samoyeds()
    trainer = transfer.fine_tuner(gan, photos, "golden retriever", minutes=5)
    k = BREEDS.index("golden retriever")
    c = trainer.config
    assert c.freeze_d == transfer.FINE_TUNE["freeze_d"] and c.diffaugment == transfer.FINE_TUNE["diffaugment"]
    assert c.minutes == 5 and c.steps is None and c.model == gan.config.model
    default = transfer.fine_tuner(gan, photos, "beagle").config  # not the course GAN's own hours
    assert default.minutes == 10 and default.steps is None
    assert transfer.fine_tuner(gan, photos, "beagle", steps=7).config.steps == 7
    for mine, theirs in ((trainer.G, gan.G), (trainer.ema, gan.G), (trainer.D, gan.D)):
        for (name, x), y in zip(mine.state_dict().items(), theirs.state_dict().values()):
            assert torch.equal(x, y), name
    assert trainer.class_names[k] == "Samoyed" and trainer.class_names[:k] == BREEDS[:k]
    assert torch.equal(trainer.fixed_labels, torch.full((9,), k))
    labels = next(trainer.batches)[1]
    assert (labels == k).all()  # every photo is the borrowed label

    trainer = transfer.fine_tuner(gan, photos, "beagle", steps=2)
    trainer.fit(progress=False)
    for name in frozen_names(trainer.D):  # D's first blocks are still the course GAN's
        assert torch.equal(trainer.D.state_dict()[name], gan.D.state_dict()[name]), name
    assert any(not torch.equal(x, y) for x, y in zip(trainer.G.parameters(), gan.G.parameters()))  # G learned


def test_from_scratch_has_the_course_gans_sizes_and_augmentation_but_random_weights():
    gan, photos = tiny_gan(), samoyeds()
    trainer = transfer.from_scratch(gan, photos, minutes=3, seed=4)
    c, course = trainer.config, gan.config
    assert (c.model.resolution, c.model.g_width, c.model.d_width, c.model.latent_dim, c.batch_size) == \
        (64, 4, 4, 8, 6)  # the course GAN's, not the device's recommended widths or batch
    assert c.model.num_classes == 0 and c.freeze_d == 0  # one breed: nothing to condition on, nothing to freeze
    assert c.diffaugment == transfer.FINE_TUNE["diffaugment"] and (c.minutes, c.seed) == (3, 4)
    assert c.lr_g == course.lr_g and c.loss == course.loss
    assert not torch.equal(trainer.D.features[0].weight, gan.D.features[0].weight)  # random, not the course's
    assert transfer.from_scratch(gan, photos, steps=5).config.steps == 5
    assert transfer.from_scratch(gan, photos, diffaugment="").config.diffaugment == ""  # the control without it


def test_fine_tuner_errors_teach():
    gan = tiny_gan()
    with pytest.raises(GanLibError, match="not one of the course GAN's breeds"):
        transfer.fine_tuner(gan, samoyeds(), "Samoyed", steps=1)
    small = ImageData(torch.zeros(4, 3, 32, 32, dtype=torch.uint8), torch.zeros(4, dtype=torch.long), ["Samoyed"])
    with pytest.raises(GanLibError, match="load_images\\(folder, 64\\)"):
        transfer.fine_tuner(gan, small, "beagle", steps=1)


def test_closest_breeds_ranks_every_breed_and_finds_its_own_drawings():
    gan = tiny_gan()
    own = ImageData(gan.sample(16, "dingo", seed=5), torch.zeros(16, dtype=torch.long), ["dingo"])
    distances = transfer.closest_breeds(gan, own, n=16, seed=5)
    assert sorted(distances) == sorted(BREEDS)
    assert list(distances.values()) == sorted(distances.values())
    assert next(iter(distances)) == "dingo" and distances["dingo"] == 0.0  # the very same images


def test_breed_photos_decodes_only_that_breed(tmp_path):
    for wnid, colour in (("n02111889", (250, 250, 250)), ("n02088364", (120, 80, 20))):  # Samoyed, beagle
        for i in range(3):
            write_image(tmp_path / "woof" / wnid / f"{i}.jpg", size=(70, 64), color=colour)
    photos = transfer.breed_photos(tmp_path / "woof", "samoyed", 64)
    assert photos.class_names == ["Samoyed"] and len(photos) == 3 and photos.resolution == 64
    assert photos.images.float().mean() > 200
    with pytest.raises(GanLibError, match="no folder of 'poodle' photos; it has: Samoyed, beagle|beagle, Samoyed"):
        transfer.breed_photos(tmp_path / "woof", "poodle")


def test_breed_scores_read_the_classifiers_verdicts(monkeypatch):
    from gan_lib.verdicts import imagenet_class

    samoyed, beagle = imagenet_class("Samoyed"), imagenet_class("beagle")
    top = torch.tensor([samoyed, samoyed, beagle, 0])  # two Samoyeds, a beagle, a tench (not a dog)
    monkeypatch.setattr(transfer, "imagenet_logits",
                        lambda images, extractor=None: torch.nn.functional.one_hot(top, 1000).float())
    images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    scores = transfer.breed_scores(images, images, "samoyed")
    assert scores["dogs"] == 0.75 and scores["named"] == 0.5 and scores["swd"] == 0.0


def test_samples_use_batchnorm_statistics_of_the_breed_it_was_tuned_on():
    """A G fine-tuned on one label recalibrates its BatchNorm on that label, not on all nine."""
    import copy

    from gan_lib.models import recalibrate_batchnorm

    gan = tiny_gan()
    trainer = transfer.fine_tuner(gan, samoyeds(), "dingo", steps=1)
    with torch.no_grad():  # make the breeds' embeddings very different, so mixing them shows in the statistics
        trainer.ema.embed.weight.copy_(torch.linspace(-20, 20, 9).view(-1, 1).expand_as(trainer.ema.embed.weight))
    k = BREEDS.index("dingo")
    own = recalibrate_batchnorm(copy.deepcopy(trainer.ema), labels=torch.tensor([k]))
    mixed = recalibrate_batchnorm(copy.deepcopy(trainer.ema))
    trainer.sample(torch.zeros(2, 8), torch.full((2,), k))
    norm = lambda G: next(m for m in G.modules() if isinstance(m, nn.BatchNorm2d))  # noqa: E731
    assert torch.equal(norm(trainer.ema).running_mean, norm(own).running_mean)
    assert not torch.allclose(norm(own).running_mean, norm(mixed).running_mean)
