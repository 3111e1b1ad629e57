"""Directions in latent space: GANSpace's principal directions, latent arithmetic, moving along directions."""
from __future__ import annotations

import pytest
import torch

from gan_lib.config import ModelConfig
from gan_lib.errors import GanLibError
from gan_lib.latent import attribute_direction, early_activations, move, principal_directions
from gan_lib.models import Discriminator, Generator, sample_noise


def small_generator(**changes) -> Generator:
    torch.manual_seed(0)
    return Generator(ModelConfig(**({"resolution": 32, "g_width": 8, "latent_dim": 16} | changes)))


def test_directions_are_unit_vectors_strongest_first():
    G = small_generator()
    d = principal_directions(G, k=4, n=300)
    assert d.vectors.shape == (4, 16) and len(d) == 4
    assert torch.allclose(d.vectors.norm(dim=1), torch.ones(4), atol=1e-5)
    assert (d.explained[:-1] >= d.explained[1:]).all() and 0 < d.explained.sum() <= 1
    assert G.training  # left as it was found


@pytest.mark.parametrize("num_classes", [0, 3])
def test_every_direction_points_the_way_that_makes_the_images_lighter(num_classes):
    G = small_generator(num_classes=num_classes).eval()
    d = principal_directions(G, k=4, n=300)
    z = sample_noise(300, 16, generator=torch.Generator().manual_seed(0))[:64]  # the noise the rule looks at
    labels = torch.arange(64) % num_classes if num_classes else None
    with torch.no_grad():
        for v in d.vectors:  # +3 lighter than -3 (an untrained G barely changes: the rule must still hold)
            assert G(z + 3 * v, labels).mean() > G(z - 3 * v, labels).mean()
    G.project.weight.data.neg_()  # the same G up to signs in its first layer: PCA may flip; the rule does not
    flipped = principal_directions(G, k=4, n=300)
    with torch.no_grad():
        for v in flipped.vectors:
            assert G(z + 3 * v, labels).mean() > G(z - 3 * v, labels).mean()


def test_the_first_direction_is_the_one_that_dominates_the_activations():
    # A generator whose first layer amplifies z[5] 30x: G's early activations vary mostly with z[5],
    # so GANSpace's first direction must point along it (either sign).
    G = small_generator()
    with torch.no_grad():
        G.project.weight.mul_(0.03)
        G.project.weight[:, 5] *= 1000
    d = principal_directions(G, k=3, n=400)
    assert d.vectors[0, 5].abs() > 0.9
    assert d.explained[0] > 0.5


def test_a_conditional_generators_directions_describe_dogs_within_a_breed():
    # Breeds that differ enormously (a huge embedding) must not swamp the directions: z[5] still dominates.
    G = small_generator(num_classes=3)
    with torch.no_grad():
        G.project.weight.mul_(0.03)
        G.project.weight[:, 5] *= 100  # z[5]; columns 16.. read the breed embedding
        G.embed.weight.mul_(1000)
    d = principal_directions(G, k=2, n=300)
    assert d.vectors[0, 5].abs() > 0.9


def test_moving_along_the_first_direction_changes_the_activations_most():
    G = small_generator().eval()
    d = principal_directions(G, k=3, n=400)
    z = torch.randn(64, 16, generator=torch.Generator().manual_seed(1))
    base = early_activations(G, z)
    change = [(early_activations(G, move(z, d.vectors, [2.0 if i == j else 0.0 for i in range(3)])) - base).norm()
              for j in range(3)]
    assert change[0] > change[2]


def test_conditional_generators_and_bad_input():
    G = small_generator(num_classes=3)
    assert principal_directions(G, k=2, n=60).vectors.shape == (2, 16)
    with pytest.raises(GanLibError, match="pass labels"):
        early_activations(G, torch.randn(4, 16))
    with pytest.raises(GanLibError, match="k < n"):
        principal_directions(G, k=10, n=10)
    with pytest.raises(GanLibError, match="DCGAN generator"):
        principal_directions(Discriminator(ModelConfig(d_width=8)), k=2, n=10)


def test_attribute_direction_finds_the_coordinate_that_sets_the_score():
    z = torch.randn(2000, 16, generator=torch.Generator().manual_seed(2))
    direction = attribute_direction(z, scores=z[:, 3] - 0.1 * z[:, 7], share=0.1)
    cosine = direction[3] / direction.norm()
    assert cosine > 0.9
    with pytest.raises(GanLibError, match="one score per noise vector"):
        attribute_direction(z, z[:10, 0])
    with pytest.raises(GanLibError, match="at least one"):
        attribute_direction(z[:5], z[:5, 0], share=0.1)


def test_move_adds_each_amount_along_its_direction():
    directions = torch.eye(4)[:2]  # the first two axes
    z = torch.zeros(3, 4)
    moved = move(z, directions, [1.5, -2.0])
    assert torch.equal(moved, torch.tensor([[1.5, -2.0, 0.0, 0.0]]).expand(3, 4))
    assert torch.equal(move(torch.zeros(4), directions, [1.0, 0.0]), torch.tensor([1.0, 0.0, 0.0, 0.0]))
    with pytest.raises(GanLibError, match="one amount per direction"):
        move(z, directions, [1.0])
