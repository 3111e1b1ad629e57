import pytest
import torch

from gan_lib.errors import GanLibError
from gan_lib.augment import color, cutout, diff_augment, translation


def batch(n=8, size=16):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_policies_keep_shape_and_are_seeded():
    x = batch()
    a = diff_augment(x, "color,translation,cutout", generator=torch.Generator().manual_seed(1))
    b = diff_augment(x, "color,translation,cutout", generator=torch.Generator().manual_seed(1))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, x)


def test_translation_shifts_content_and_zero_fills():
    x = torch.arange(16.0).view(1, 1, 4, 4).repeat(64, 3, 1, 1)
    y = translation(x, ratio=0.25, generator=torch.Generator().manual_seed(0))
    assert (y == 0).any()  # shifted-in border
    for img, src in zip(y, x):  # every image is its source shifted by some (dy, dx)
        found = False
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                shifted = torch.zeros_like(src)
                ys, xs = slice(max(0, -dy), 4 - max(0, dy)), slice(max(0, -dx), 4 - max(0, dx))
                yt, xt = slice(max(0, dy), 4 - max(0, -dy)), slice(max(0, dx), 4 - max(0, -dx))
                shifted[:, ys, xs] = src[:, yt, xt]
                found |= torch.equal(shifted, img)
        assert found


def test_cutout_zeroes_about_a_quarter():
    x = torch.ones(200, 3, 16, 16)
    y = cutout(x, ratio=0.5, generator=torch.Generator().manual_seed(0))
    frac = (y == 0).float().mean().item()
    assert 0.15 < frac < 0.26  # a half-size square is 1/4 of the area, less where it hangs over the border
    assert ((y == 0) | (y == 1)).all()


def test_color_changes_each_image_differently():
    x = batch()
    y = color(x, generator=torch.Generator().manual_seed(0))
    shifts = (y - x).mean(dim=(1, 2, 3))
    assert shifts.std() > 0.05


def test_gradients_flow_through_augmentation():
    x = batch().requires_grad_(True)
    diff_augment(x, "color,translation,cutout", generator=torch.Generator().manual_seed(0)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_unknown_policy():
    with pytest.raises(GanLibError, match="policy"):
        diff_augment(batch(), "rotate")


def test_instance_noise_blurs_what_d_sees_and_fades():
    from gan_lib.augment import InstanceNoise

    seen = []
    judge = InstanceNoise(lambda x, labels=None: seen.append(x) or x.mean(), sigma=0.5,
                          generator=torch.Generator().manual_seed(0))
    x = torch.zeros(64, 3, 8, 8)
    judge(x)
    assert seen[-1].std().item() == pytest.approx(0.5, rel=0.05)  # Gaussian noise of that std
    judge.sigma = 0.0
    judge(x)
    assert torch.equal(seen[-1], x)  # faded out: D sees the images as they are
