"""The recipe students would otherwise copy: the PyTorch DCGAN tutorial, re-implemented faithfully.

nz=100, ngf=ndf=64, 64x64 images, batch 128 (the benchmarks pass their own batch size), BCELoss
on a Sigmoid output, Adam lr 2e-4 with beta1 0.5, N(0, 0.02) init, data through
torchvision's ImageFolder + Resize + CenterCrop + Normalize, decoded from JPEG every epoch.
Used only as the baseline of the benchmarks; the course's own code is in gan_lib/.
"""
from __future__ import annotations

import torch
import torchvision.transforms as T
from torch import nn
from torchvision.datasets import ImageFolder

NZ, NGF, NDF = 100, 64, 64


def weights_init(m: nn.Module) -> None:
    """The tutorial's init: conv weights N(0, 0.02), BatchNorm weights N(1, 0.02), biases 0."""
    name = type(m).__name__
    if "Conv" in name:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def generator() -> nn.Module:
    """z (N, 100, 1, 1) -> image (N, 3, 64, 64)."""
    g = nn.Sequential(
        nn.ConvTranspose2d(NZ, NGF * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(NGF * 8), nn.ReLU(True),
        nn.ConvTranspose2d(NGF * 8, NGF * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF * 4), nn.ReLU(True),
        nn.ConvTranspose2d(NGF * 4, NGF * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF * 2), nn.ReLU(True),
        nn.ConvTranspose2d(NGF * 2, NGF, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF), nn.ReLU(True),
        nn.ConvTranspose2d(NGF, 3, 4, 2, 1, bias=False), nn.Tanh(),
    )
    g.apply(weights_init)
    return g


def discriminator() -> nn.Module:
    """image (N, 3, 64, 64) -> probability of real (N, 1, 1, 1)."""
    d = nn.Sequential(
        nn.Conv2d(3, NDF, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF, NDF * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF * 2, NDF * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 4), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF * 4, NDF * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 8), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid(),
    )
    d.apply(weights_init)
    return d


def image_folder(root: str, size: int = 64) -> ImageFolder:
    """The tutorial's dataset: decode, resize, centre-crop and normalise every photo on every epoch."""
    return ImageFolder(root, transform=T.Compose([
        T.Resize(size), T.CenterCrop(size), T.ToTensor(), T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]))


class ReferenceDCGAN:
    """Networks, optimisers and the tutorial's training iteration."""

    def __init__(self, channels_last: bool = False, seed: int = 0, device: torch.device | str = "cpu") -> None:
        torch.manual_seed(seed)
        self.device = torch.device(device)
        self.G, self.D = generator().to(self.device), discriminator().to(self.device)
        self.channels_last = channels_last
        if channels_last:
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.criterion = nn.BCELoss()

    def step(self, real: torch.Tensor) -> tuple[float, float]:
        """One tutorial iteration: D on real and on fake (detached), then G through D with label real."""
        real = real.to(self.device)
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        b = real.shape[0]
        ones, zeros = torch.ones(b, device=self.device), torch.zeros(b, device=self.device)
        self.D.zero_grad()
        err_real = self.criterion(self.D(real).view(-1), ones)
        err_real.backward()
        fake = self.G(torch.randn(b, NZ, 1, 1, device=self.device))
        err_fake = self.criterion(self.D(fake.detach()).view(-1), zeros)
        err_fake.backward()
        self.opt_d.step()
        self.G.zero_grad()
        err_g = self.criterion(self.D(fake).view(-1), ones)
        err_g.backward()
        self.opt_g.step()
        return (err_real + err_fake).item(), err_g.item()

    @torch.no_grad()
    def sample(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] (on the CPU) from noise (N, 100), with G in train mode as the tutorial samples it."""
        return self.G(z.view(-1, NZ, 1, 1).to(self.device)).cpu()
