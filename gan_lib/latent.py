"""What is in the noise: directions in G's latent space, found without labels.

- `principal_directions`: GANSpace (Härkönen et al. 2020). PCA of G's early activations over many
  noise vectors finds the ways G's images vary most; a linear regression carries each principal
  axis back into z, where it becomes a direction to move along.
- `attribute_direction`: latent arithmetic. The mean z of the images that score highest on some
  measurable property minus the mean z of those that score lowest.
- `move`: push noise vectors along directions by amounts in standard deviations.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .errors import GanLibError
from .models import Generator, sample_noise
from .networks import FadeInGenerator


@dataclass
class Directions:
    """Unit-length directions in latent space (k x latent_dim), strongest first, with their share of variance."""

    vectors: Tensor
    explained: Tensor  # share of the early activations' variance along each direction's principal axis

    def __len__(self) -> int:
        return len(self.vectors)


@torch.no_grad()
def early_activations(G: Generator, z: Tensor, labels: Tensor | None = None) -> Tensor:
    """G's activations after its first upsampling block (e.g. 64 x 8 x 8 at width 32), flattened: N x D."""
    device = next(G.parameters()).device
    h = G.start(z.to(device), labels.to(device) if labels is not None else None)
    # The first block is [upsample, norm, ReLU]; later blocks add detail, this one sets the layout.
    return G.blocks[:3](h).flatten(1).float().cpu()


@torch.no_grad()
def principal_directions(G: Generator, k: int = 8, n: int = 2000, labels: Tensor | None = None,
                         seed: int = 0) -> Directions:
    """The k latent directions along which G's early activations vary most (GANSpace), in eval mode.

    labels: for a conditional G, the breed of each of the n samples (default: all breeds in turn).
    Each breed's mean activation is removed first, so the directions describe how dogs vary within a
    breed: the breed itself is an input of its own, which no direction in z can reach.
    A principal axis has no sign of its own (PCA finds +v and -v alike), so each direction is pointed the
    way that makes G's images lighter on average: -3 is always the darker end.
    """
    if isinstance(G, FadeInGenerator):  # grown from a smaller G: its first blocks are the same either way
        G = G.net
    if not isinstance(G, Generator):
        raise GanLibError("principal_directions reads the DCGAN generator's first block (gan_lib.models.Generator, "
                          f"e.g. from load_generator); got {type(G).__name__}")
    if not 1 <= k < n:
        raise GanLibError(f"need 1 <= k < n (directions < samples), got k={k}, n={n}")
    was_training = G.training
    G.eval()  # BatchNorm's running statistics: the directions describe the G that draws the pictures
    try:
        z = sample_noise(n, G.cfg.latent_dim, generator=torch.Generator().manual_seed(seed))
        if G.embed is not None and labels is None:
            labels = torch.arange(n) % G.cfg.num_classes
        y = early_activations(G, z, labels)
    finally:
        G.train(was_training)
    groups = labels.cpu() if G.embed is not None else torch.zeros(n, dtype=torch.long)
    for g in groups.unique():
        y[groups == g] -= y[groups == g].mean(dim=0)
    # PCA of the centred activations: the top k principal axes by a randomised SVD (seeded, and
    # without touching the global random state), which stays cheap when D is 16,384 at 64x64.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        u, s, _ = torch.pca_lowrank(y, q=min(k + 10, *y.shape), center=False, niter=4)
    coords = u[:, :k] * s[:k]  # each sample's position along the first k axes: n x k
    # Regress z on those coordinates (z ~ coords @ U): row j of U is the z-direction that moves axis j.
    directions = torch.linalg.lstsq(coords, z).solution  # k x latent_dim
    explained = s[:k] ** 2 / y.pow(2).sum()
    directions = directions / directions.norm(dim=1, keepdim=True)
    return Directions(directions * _lighter_sign(G, z[:64], None if labels is None else labels[:64], directions),
                      explained)


@torch.no_grad()
def _lighter_sign(G: Generator, z: Tensor, labels: Tensor | None, directions: Tensor, amount: float = 3.0) -> Tensor:
    """+1 or -1 per direction (k x 1): the sign under which moving `amount` along it makes G's images lighter."""
    device = next(G.parameters()).device
    was_training = G.training
    G.eval()
    try:
        lab = labels.to(device) if labels is not None else None
        brightness = lambda zs: G(zs.to(device), lab).float().mean().item()  # noqa: E731
        signs = [1.0 if brightness(z + amount * v) >= brightness(z - amount * v) else -1.0 for v in directions]
    finally:
        G.train(was_training)
    return torch.tensor(signs).view(-1, 1)


def attribute_direction(z: Tensor, scores: Tensor, share: float = 0.1) -> Tensor:
    """Mean z of the top `share` of scores minus mean z of the bottom `share`: the direction that raises the score."""
    if len(z) != len(scores):
        raise GanLibError(f"one score per noise vector: got {len(scores)} scores for {len(z)} vectors")
    m = int(len(z) * share)
    if m < 1 or 2 * m > len(z):
        raise GanLibError(f"share must pick at least one vector and at most half: {share} of {len(z)}")
    order = scores.argsort()
    return z[order[-m:]].mean(dim=0) - z[order[:m]].mean(dim=0)


def move(z: Tensor, directions: Tensor, amounts: Tensor | list[float]) -> Tensor:
    """z (N x latent_dim, or one vector) moved `amounts[j]` units along unit direction j, for every j."""
    amounts = torch.as_tensor(amounts, dtype=z.dtype, device=z.device)
    if directions.ndim != 2 or len(amounts) != len(directions):
        raise GanLibError(f"one amount per direction: got {len(amounts)} amounts for {len(directions)} directions")
    return z + amounts @ directions.to(z)

