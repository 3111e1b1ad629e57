"""Reference solutions — try the exercises first!

One answer per notebook exercise, named like the exercise; `gan_lib.checks` has the matching
check, e.g. `check_normalize(normalize)`. Many are teaching copies of a library function (their
docstrings say "Same as gan_lib...."); tests/test_solutions.py checks that they give its numbers.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .models import init_dcgan_weights

# --- 01 data ------------------------------------------------------------------------------------


def normalize(images: Tensor) -> Tensor:
    """Same as gan_lib.data.to_float: uint8 [0, 255] -> float [-1, 1], the range of the generator's tanh."""
    # .float() makes a new tensor, so the caller's images stay as they were. 0 -> -1, 255 -> 1.
    return images.float() / 127.5 - 1.0


def flip(images: Tensor, generator: torch.Generator) -> Tensor:
    """Same as gan_lib.data.random_flip: mirror each image left-right with probability 1/2."""
    # One coin per image, shaped (N, 1, 1, 1) so it broadcasts over channels, height and width.
    mirror = torch.rand(images.shape[0], generator=generator) < 0.5
    return torch.where(mirror.view(-1, 1, 1, 1), images.flip(-1), images)  # -1: the width axis


# --- 02 discriminator ---------------------------------------------------------------------------


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Same as gan_lib.losses.bce_d_loss: BCE that punishes both mistakes: calling a real photo fake, and calling
    a fake real."""
    # The *_with_logits version applies the sigmoid itself, in a numerically stable way.
    real_loss = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))  # real = 1
    fake_loss = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))  # fake = 0
    return real_loss + fake_loss


def accuracy(real_logits: Tensor, fake_logits: Tensor) -> float:
    """Fraction of right verdicts over both batches: real logits > 0, fake logits < 0."""
    right = (real_logits > 0).sum() + (fake_logits < 0).sum()
    return right.item() / (len(real_logits) + len(fake_logits))


def discriminator_64() -> nn.Module:
    """64x64 image -> one logit: four stride-2 convolutions (64 -> 32 -> 16 -> 8 -> 4), then Linear."""
    model = nn.Sequential(
        # No BatchNorm in the first block: D sees the raw colour statistics (DCGAN).
        nn.Conv2d(3, 64, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.2),  # 32x32
        nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),  # 16x16
        nn.Conv2d(128, 256, 4, 2, 1, bias=False), nn.BatchNorm2d(256), nn.LeakyReLU(0.2),  # 8x8
        nn.Conv2d(256, 512, 4, 2, 1, bias=False), nn.BatchNorm2d(512), nn.LeakyReLU(0.2),  # 4x4
        nn.Flatten(),
        nn.Linear(512 * 4 * 4, 1),  # no sigmoid: the loss takes logits
    )
    init_dcgan_weights(model)
    return model


# --- 03 generator -------------------------------------------------------------------------------


def generator_64() -> nn.Module:
    """Noise (N, 100) -> image (N, 3, 64, 64) in [-1, 1]: 4x4 maps doubled four times."""
    model = nn.Sequential(
        nn.Linear(100, 512 * 4 * 4, bias=False),
        nn.Unflatten(1, (512, 4, 4)),  # a vector becomes 512 maps of 4x4
        nn.BatchNorm2d(512), nn.ReLU(),
        nn.ConvTranspose2d(512, 256, kernel_size=4, stride=2, padding=1, bias=False),  # 8x8
        nn.BatchNorm2d(256), nn.ReLU(),
        nn.ConvTranspose2d(256, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(),  # 16x16
        nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),  # 32x32
        nn.ConvTranspose2d(64, 3, 4, 2, 1),  # 64x64, RGB
        nn.Tanh(),  # pixels in [-1, 1], like the normalised photos
    )
    init_dcgan_weights(model)
    return model


def interpolate(z1: Tensor, z2: Tensor, steps: int) -> Tensor:
    """`steps` points on the straight line from z1 to z2 (both included), as (steps, latent_dim)."""
    t = torch.linspace(0, 1, steps, device=z1.device).view(-1, 1)  # (steps, 1): 0 at z1, 1 at z2
    return (1 - t) * z1 + t * z2  # broadcasts to (steps, latent_dim)


def generator_loss(fake_logits: Tensor) -> Tensor:
    """Same as gan_lib.losses.nonsaturating_g_loss: non-saturating loss -log sigmoid(D(G(z))): BCE with the label
    'real'."""
    # G wants D to call its images real (label 1). Unlike log(1 - D(G(z))), this keeps a strong
    # gradient when D confidently rejects the fakes, which is exactly the situation early in training.
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


# --- 04 adversarial loop ------------------------------------------------------------------------


def discriminator_step(G: nn.Module, D: nn.Module, opt_d: torch.optim.Optimizer, real: Tensor, z: Tensor) -> float:
    """Same as gan_lib.training.discriminator_step with its default loss (which returns the loss as "loss_d" of a
    dict): one update of D: real photos are labelled 1, generated images 0."""
    with torch.no_grad():  # this step trains D only: no graph (and no gradients) back into G
        fake = G(z)
    loss = discriminator_loss(D(real), D(fake))
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()  # opt_d holds D's parameters only
    return loss.item()


def generator_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, z: Tensor) -> float:
    """Same as gan_lib.training.generator_step with its default loss (which returns the loss as "loss_g" of a
    dict): one update of G: change G so that D calls its images real."""
    # D is the judge here: gradients flow *through* it into G, but D's own weights need none.
    D.requires_grad_(False)
    loss = generator_loss(D(G(z)))
    opt_g.zero_grad()
    loss.backward()
    opt_g.step()  # opt_g holds G's parameters only, so D's weights stay as they are
    D.requires_grad_(True)  # D learns again in its next step
    return loss.item()


# --- 05 judging a GAN ---------------------------------------------------------------------------


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> float:
    """Fréchet distance of two Gaussians: ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)).

    Same as gan_lib.distances.frechet_distance, which takes the features themselves and fits the Gaussians.
    """
    mean_term = (mu1 - mu2).pow(2).sum()  # squared distance between the means
    # Tr((S1 S2)^(1/2)) is the sum of the square roots of the eigenvalues of S1 S2. Those equal the
    # eigenvalues of sqrt(S1) S2 sqrt(S1), which is symmetric, so eigvalsh gives them as real numbers.
    evals, evecs = torch.linalg.eigh(sigma1)
    sqrt1 = evecs @ torch.diag(evals.clamp(min=0).sqrt()) @ evecs.T  # the matrix square root of S1
    middle = torch.linalg.eigvalsh(sqrt1 @ sigma2 @ sqrt1)
    trace_sqrt = middle.clamp(min=0).sqrt().sum()  # rounding can make a zero eigenvalue slightly negative
    return (mean_term + torch.trace(sigma1) + torch.trace(sigma2) - 2 * trace_sqrt).item()


def kid_mmd(x: Tensor, y: Tensor) -> float:
    """Unbiased MMD^2 between feature sets x (n, d) and y (m, d) with KID's kernel k(a, b) = (a.b / d + 1)^3.

    Same as one subset of gan_lib.distances.kernel_inception_distance (torchmetrics' KID), which averages
    this over random subsets.
    """
    d = x.shape[1]
    k_xx = (x @ x.T / d + 1) ** 3  # k for every pair within x
    k_yy = (y @ y.T / d + 1) ** 3
    k_xy = (x @ y.T / d + 1) ** 3  # every (x, y) pair
    n, m = len(x), len(y)
    # Unbiased: leave out k(a, a), each sample compared with itself; n (n - 1) pairs remain.
    within_x = (k_xx.sum() - k_xx.diagonal().sum()) / (n * (n - 1))
    within_y = (k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return (within_x + within_y - 2 * k_xy.mean()).item()


# --- 06 when GANs fail --------------------------------------------------------------------------


def smoothed_d_loss(real_logits: Tensor, fake_logits: Tensor, smoothing: float = 0.1) -> Tensor:
    """Same as gan_lib.losses.bce_d_loss(real_logits, fake_logits, real_label=1 - smoothing): D's BCE loss with
    one-sided label smoothing: photos aim at 1 - smoothing (0.9), fakes still at 0."""
    # Only the photos' target moves: smoothing the fakes' target too would reward D for calling fakes a bit real.
    real_loss = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, 1 - smoothing))
    fake_loss = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real_loss + fake_loss


def hinge_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Same as gan_lib.losses.hinge_d_loss: hinge loss of D: push photos' logits above +1 and fakes' below -1,
    and no further."""
    # relu: a logit already beyond its margin costs nothing and gets no gradient.
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def hinge_g_loss(fake_logits: Tensor) -> Tensor:
    """Same as gan_lib.losses.hinge_g_loss: hinge loss of G: raise D's logits on the fakes (no relu, so the push
    never fades)."""
    return -fake_logits.mean()


def looks_collapsed(samples: Tensor, photos: Tensor, ratio: float = 0.5) -> bool:
    """True when the samples are less than `ratio` as diverse as the photos (both floats in [-1, 1])."""
    from .callbacks import diversity  # mean distance between two images of a batch

    return diversity(samples) / diversity(photos) < ratio  # floats, so this is a plain bool


# --- 07 conditional GANs ------------------------------------------------------------------------


def projection_logit(h: Tensor, labels: Tensor, classify: nn.Linear, embed: nn.Embedding) -> Tensor:
    """The projection discriminator's logit (Miyato & Koyama, 2018): classify(h) + <embed(label), h>, shape (N,)."""
    # squeeze(1), not squeeze(): (N, 1) -> (N,), even for a batch of one image. Adding (N, 1) to (N,) would
    # broadcast into an N x N matrix.
    unconditional = classify(h).squeeze(1)  # "does this look like a real dog?"
    # "Does it look like the breed it claims?": the dot product of each image's features with its own class's
    # learned vector, summed over the features (dim=1). embed(labels) picks one row per image, so no N x
    # num_classes matrix of every class is made. No sigmoid: D returns logits.
    return unconditional + (embed(labels) * h).sum(dim=1)


def one_hot_input(z: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    """G's input for one-hot conditioning: z, then the breed as one-hot columns, (N, latent_dim + num_classes)."""
    # num_classes fixes the width: without it, F.one_hot makes only as many columns as the batch's largest label + 1.
    # F.one_hot gives integers: convert to z's float type. Side by side (dim=1), z first, as G's first layer expects.
    return torch.cat([z, F.one_hot(labels, num_classes).to(z.dtype)], dim=1)


# --- 08 latent space ----------------------------------------------------------------------------


def slerp(z1: Tensor, z2: Tensor, steps: int) -> Tensor:
    """Same as gan_lib.sampling.slerp: `steps` points on the arc from z1 to z2 (both included), as
    (steps, latent_dim): spherical interpolation."""
    t = torch.linspace(0, 1, steps, device=z1.device).view(-1, 1)  # (steps, 1): 0 at z1, 1 at z2
    # The angle between the two directions: arccos of the unit vectors' dot product (the vectors themselves
    # would give no cosine at all). Clamped, because rounding can push it just above 1, where arccos is nan.
    omega = torch.arccos(torch.dot(z1 / z1.norm(), z2 / z2.norm()).clamp(-1.0, 1.0))
    if omega < 1e-4:  # (nearly) the same direction: sin(omega) ~ 0 would divide 0 by 0, and the arc IS the line
        return (1 - t) * z1 + t * z2
    # Unlike the straight line, whose middle is shorter than any noise G was trained on, the arc keeps the
    # vectors about as long as z1 and z2.
    return (torch.sin((1 - t) * omega) * z1 + torch.sin(t * omega) * z2) / torch.sin(omega)


def truncated_noise(n: int, latent_dim: int, threshold: float, generator: torch.Generator) -> Tensor:
    """Same as gan_lib.models.sample_noise(n, latent_dim, truncation=threshold, generator=generator): N(0, I)
    noise (n, latent_dim) whose entries beyond ±threshold are redrawn: the truncation trick."""
    z = torch.randn(n, latent_dim, generator=generator)  # every draw from `generator`: same seed, same noise
    outside = z.abs() > threshold  # entry by entry, not the vector's length
    # Redraw only those entries, from the same normal distribution; a redraw can land outside again, so loop.
    # (Clamping instead would pile all that noise onto ±threshold, values G hardly ever saw.)
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()), generator=generator)
        outside = z.abs() > threshold
    return z


# --- 09 standing on a trained GAN ---------------------------------------------------------------


def freeze_first(D: nn.Module, k: int) -> nn.Module:
    """Same as gan_lib.models.freeze_blocks: D's first k blocks stop learning (FreezeD); returns D."""
    # A block starts at each convolution; D.features[:k] would count BatchNorm and LeakyReLU layers too.
    blocks: list[list[nn.Module]] = []
    for layer in D.features:
        if isinstance(layer, nn.Conv2d):
            blocks.append([])
        blocks[-1].append(layer)
    for block in blocks[:k]:
        for layer in block:
            layer.requires_grad_(False)  # every weight of the block: the convolution's and the BatchNorm's
    return D  # not D.eval(): that changes BatchNorm's behaviour and freezes nothing


def d_optimizer(D: nn.Module, lr: float) -> torch.optim.Adam:
    """Adam over exactly the weights of D that still learn (what Trainer builds after freezing)."""
    # Missing a learning weight: it gets gradients and never moves. Holding a frozen one: the optimiser's state
    # no longer lines up with one made after freezing, so a checkpoint of it would not load there.
    return torch.optim.Adam([p for p in D.parameters() if p.requires_grad], lr=lr, betas=(0.5, 0.999))
