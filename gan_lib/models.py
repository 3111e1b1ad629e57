"""The two networks of a GAN, DCGAN style.

Generator:     noise z -> linear -> reshape to (C, 4, 4) -> upsampling blocks -> 3 channels -> tanh
Discriminator: image -> strided conv blocks (each halves H and W) -> flatten -> linear -> one logit

Both are parameterised by resolution (32, 64 or 128), width, normalisation and, for the generator,
the upsampling method. With `num_classes > 0` both are class-conditional: the generator adds a
breed embedding to its input and the discriminator uses a projection (Miyato & Koyama, 2018).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from .config import ModelConfig
from .errors import GanLibError

def init_dcgan_weights(model: nn.Module) -> None:
    """DCGAN init (Radford et al. 2016): conv/linear weights ~ N(0, 0.02), norm scales ~ N(1, 0.02)."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            # With spectral norm the trainable tensor is the un-normalised original.
            weight = m.parametrizations.weight.original if parametrize.is_parametrized(m, "weight") else m.weight
            nn.init.normal_(weight, 0.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def _up_layer(c_in: int, c_out: int, method: str) -> nn.Module:
    """Double the spatial size: a transposed conv, or nearest resize followed by a 3x3 conv."""
    if method == "transpose":
        return nn.ConvTranspose2d(c_in, c_out, kernel_size=4, stride=2, padding=1, bias=False)
    # Resize-then-conv avoids the checkerboard artefacts of uneven transposed-conv overlap.
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False))


def label_embedding(cfg: ModelConfig) -> nn.Embedding | None:
    """A generator's class embedding, one latent_dim-long vector per class (so its input doubles); None
    when the generator is not class-conditional. Used by Generator and fastgan.LightGenerator."""
    return nn.Embedding(cfg.num_classes, cfg.latent_dim) if cfg.num_classes else None


def with_labels(z: Tensor, labels: Tensor | None, embed: nn.Embedding | None) -> Tensor:
    """A generator's input: the noise `z`, followed by the embedding of `labels` when `embed` is set
    (a class-conditional generator, which refuses to run without labels).

    Taught in notebook 07.
    """
    if embed is None:
        return z
    if labels is None:
        raise GanLibError("this generator is class-conditional: pass labels (one breed index per noise vector)")
    return torch.cat([z, embed(labels)], dim=1)


class Generator(nn.Module):
    """Noise (and optionally a class label) -> image in [-1, 1].

    Taught in notebook 03.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        n = cfg.num_blocks
        channels = [cfg.g_width * 2 ** (n - 1 - i) for i in range(n)]  # e.g. 256, 128, 64 at 32x32
        self.embed = label_embedding(cfg)
        in_dim = cfg.latent_dim * (2 if self.embed is not None else 1)
        self.project = nn.Linear(in_dim, channels[0] * 4 * 4, bias=False)
        self.reshape = nn.Unflatten(1, (channels[0], 4, 4))  # a vector becomes a 4x4 feature map
        norm = (lambda c: nn.BatchNorm2d(c)) if cfg.g_norm == "batch" else (lambda c: nn.Identity())
        self.stem = nn.Sequential(norm(channels[0]), nn.ReLU(inplace=True))
        blocks: list[nn.Module] = []
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            blocks += [_up_layer(c_in, c_out, cfg.upsample), norm(c_out), nn.ReLU(inplace=True)]
        # The last upsampling step goes straight to RGB, squashed into [-1, 1] like the data.
        blocks += [_up_layer(channels[-1], 3, cfg.upsample), nn.Tanh()]
        self.blocks = nn.Sequential(*blocks)
        init_dcgan_weights(self)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.blocks(self.start(z, labels))

    def start(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """The 4x4 feature map that the upsampling blocks grow into an image."""
        return self.stem(self.reshape(self.project(with_labels(z, labels, self.embed))))


class Discriminator(nn.Module):
    """Image (and optionally a class label) -> one real/fake logit per image (no sigmoid).

    Taught in notebook 02.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        n = cfg.num_blocks
        channels = [3] + [cfg.d_width * 2 ** i for i in range(n)]  # e.g. 3, 64, 128, 256 at 32x32
        sn = spectral_norm if cfg.d_norm == "spectral" else (lambda m: m)
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:])):
            layers.append(sn(nn.Conv2d(c_in, c_out, kernel_size=4, stride=2, padding=1, bias=False)))
            # DCGAN leaves the first block un-normalised so the raw colour statistics reach D.
            if cfg.d_norm == "batch" and i > 0:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
        self.features = nn.Sequential(*layers)
        feat_dim = channels[-1] * 4 * 4
        self.classify = sn(nn.Linear(feat_dim, 1))
        self.embed = sn(nn.Embedding(cfg.num_classes, feat_dim)) if cfg.num_classes else None
        init_dcgan_weights(self)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.verdict(self.features(x), labels)

    def verdict(self, features: Tensor, labels: Tensor | None = None) -> Tensor:
        """One logit per image from its last (4x4) feature map.

        Taught in notebook 07.
        """
        h = features.flatten(1)
        logit = self.classify(h).squeeze(1)
        if self.embed is not None:
            if labels is None:
                raise GanLibError("this discriminator is class-conditional: pass labels (one breed index per image)")
            # Projection: reward features that agree with the embedding of the claimed class.
            logit = logit + (self.embed(labels) * h).sum(dim=1)
        return logit


def d_blocks(D: nn.Module) -> list[list[nn.Module]]:
    """A DCGAN discriminator's blocks, first to last: each is a Conv2d and the layers after it (BatchNorm, LeakyReLU).

    Taught in notebook 09.
    """
    if not isinstance(getattr(D, "features", None), nn.Sequential) or not isinstance(D.features[0], nn.Conv2d):
        raise GanLibError(f"{type(D).__name__} has no DCGAN blocks to freeze (d_arch='dcgan' has them)")
    blocks: list[list[nn.Module]] = []
    for layer in D.features:
        if isinstance(layer, nn.Conv2d):  # a spectral-norm Conv2d is still a Conv2d
            blocks.append([])
        blocks[-1].append(layer)
    return blocks


def freeze_blocks(D: nn.Module, k: int) -> int:
    """FreezeD (Mo et al. 2020): D's first k blocks stop learning; returns how many weights were frozen.

    Counted in blocks, not in `D.features[:k]`, whose entries also include the BatchNorm and LeakyReLU
    layers. An optimiser made afterwards must be given only the weights that still learn.
    Taught in notebook 09.
    """
    blocks = d_blocks(D)
    if not 0 <= k <= len(blocks):
        raise GanLibError(f"this D has {len(blocks)} blocks: freeze 0 to {len(blocks)} of them, not {k}")
    weights = [p for block in blocks[:k] for layer in block for p in layer.parameters()]
    for p in weights:
        p.requires_grad_(False)
    return sum(p.numel() for p in weights)


def sample_noise(n: int, latent_dim: int, truncation: float | None = None,
                 generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> Tensor:
    """Draw z ~ N(0, I) (where `generator` lives, if given); with truncation t, redraw entries with |z| > t."""
    z = torch.randn(n, latent_dim, generator=generator, device=generator.device if generator is not None else device)
    if truncation is not None:
        if truncation <= 0:
            raise GanLibError(f"truncation must be greater than 0, got {truncation}")
        mask = z.abs() > truncation
        while mask.any():
            z[mask] = torch.randn(int(mask.sum()), generator=generator, device=z.device)
            mask = z.abs() > truncation
    return z.to(device)


@torch.no_grad()
def recalibrate_batchnorm(G: nn.Module, batches: int = 8, batch_size: int = 64, seed: int = 0,
                          labels: Tensor | None = None) -> nn.Module:
    """Recompute G's BatchNorm statistics from its own outputs on fresh noise ("standing statistics").

    An EMA generator averages weights, so the statistics its BatchNorm layers saw during training
    (those of the live G) no longer match it; without this, its eval-mode samples come out grey.
    labels: for a conditional G, the breed labels of the training photos, drawn from as training drew
    them (default: every breed alike). A G fine-tuned on one breed must not be averaged over all.
    """
    norms = [m for m in G.modules() if isinstance(m, nn.BatchNorm2d)]
    if not norms:
        return G
    device = next(G.parameters()).device
    rng = torch.Generator().manual_seed(seed)  # its own generator: sampling never disturbs training RNG
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a plain average over the batches below
    G.train()
    for _ in range(batches):
        breeds = None
        if getattr(G, "embed", None) is not None:
            breeds = (torch.randint(G.cfg.num_classes, (batch_size,), generator=rng) if labels is None else
                      labels.cpu()[torch.randint(len(labels), (batch_size,), generator=rng)]).to(device)
        G(sample_noise(batch_size, G.cfg.latent_dim, generator=rng, device=device), breeds)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    return G.eval()


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def summary(model: nn.Module, *inputs: Tensor, show: bool = True) -> list[tuple[str, str, tuple[int, ...], int]]:
    """Run `inputs` through `model` and list each layer's name, type, output shape and parameter count."""
    rows: list[tuple[str, str, tuple[int, ...], int]] = []
    hooks = []
    for name, module in model.named_modules():
        # A layer is a module whose only children (if any) are its spectral-norm parametrization.
        is_layer = name and ".parametrizations" not in name and all(
            child == "parametrizations" for child, _ in module.named_children())
        if is_layer:
            def hook(mod: nn.Module, _inp: tuple, out: Tensor, name: str = name) -> None:
                kind = type(mod).__name__.replace("Parametrized", "") + ("+SN" if parametrize.is_parametrized(mod) else "")
                rows.append((name, kind, tuple(out.shape), sum(p.numel() for p in mod.parameters())))
            hooks.append(module.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    if show:
        print(f"{'layer':<14}{'type':<20}{'output shape':<22}{'params':>12}")
        for name, kind, shape, params in rows:
            print(f"{name:<14}{kind:<20}{str(list(shape)):<22}{params:>12,}")
        print(f"{'total':<56}{count_parameters(model):>12,}")
    return rows
