"""Metric sanity checks on small synthetic sets (and a few real photos when GAN_DATA is set)."""

from __future__ import annotations

import io
from pathlib import Path
from unittest import mock

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms.functional import gaussian_blur

from gan_lib import distances, features, metrics
from gan_lib.data import load_images
from gan_lib.errors import GanLibError
from http_server import FileServer, closed_port_url

SWD_FAST = dict(descriptors_per_image=32, dir_repeats=2)  # fewer patches: same checks, faster


def colour_fields(n: int, seed: int, res: int = 64, base: int = 6) -> torch.Tensor:
    """Smooth random colour fields: low-res noise upsampled bicubically, uint8 N x 3 x res x res."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, base, base, generator=g)
    return (F.interpolate(low, size=(res, res), mode="bicubic", align_corners=False).clamp(0, 1) * 255).round().byte()


def blurred(images: torch.Tensor, sigma: float = 2.0) -> torch.Tensor:
    return gaussian_blur(images, kernel_size=9, sigma=sigma)


def noisy(images: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (images.float() + sigma * torch.randn(images.shape, generator=g)).clamp(0, 255).round().byte()


def photos(root: Path, n: int, res: int = 64) -> torch.Tensor:
    """n real dog photos from root (round-robin over class folders), centre-cropped to res."""
    from PIL import Image
    from torchvision.transforms.functional import center_crop, pil_to_tensor, resize

    folders = sorted(p for p in Path(root).iterdir() if p.is_dir())
    per_class = [sorted(f for f in d.iterdir() if f.suffix.lower() in (".jpg", ".jpeg", ".png")) for d in folders]
    files = [per_class[i % len(folders)][i // len(folders)] for i in range(n)]
    images = [resize(pil_to_tensor(Image.open(f).convert("RGB")), res, antialias=True) for f in files]
    return torch.stack([center_crop(x, res) for x in images])


class CountingExtractor(nn.Module):
    """A cheap named extractor (per-channel means and stds of a 4x4 pooling) that counts its calls."""

    name = "counting-test"

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        pooled = F.adaptive_avg_pool2d(x.float() / 255, 4).flatten(1)
        return torch.cat([pooled, x.float().std(dim=(2, 3)) / 255], dim=1)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: on a shared 2-core machine two threads thrash (eigvals 1 s -> 20+ s)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def effnet() -> nn.Module:
    return metrics.efficientnet_extractor()


@pytest.fixture(scope="module")
def feats(effnet: nn.Module) -> dict[str, torch.Tensor]:
    """EfficientNet features of a set, its blurred copy, and a set with finer detail (another distribution)."""
    base = colour_fields(16, seed=0)
    sets = {"base": base, "blurred": blurred(base), "other": colour_fields(16, seed=1, base=24)}
    return {k: metrics.extract_features(v, effnet) for k, v in sets.items()}


# ----------------------------------------------------------------------------- FD / KID / MiFID


def test_efficientnet_features_and_label(effnet: nn.Module) -> None:
    for res in (32, 128):
        out = metrics.extract_features(colour_fields(2, seed=3, res=res), effnet)
        assert out.shape == (2, 1280) and out.dtype == torch.float32 and torch.isfinite(out).all()
    assert "not comparable to published FIDs" in metrics.extractor_label(effnet)
    assert "EfficientNet-Lite0" in metrics.format_results({"fd": 1.0}, effnet)


def test_fd_self_is_zero_and_blur_is_larger(feats: dict[str, torch.Tensor]) -> None:
    same = metrics.frechet_distance(feats["base"], feats["base"])
    blur = metrics.frechet_distance(feats["blurred"], feats["base"])
    assert abs(same) < 1e-3
    assert blur > 1.0 and blur > 1000 * abs(same)


def test_kid_self_near_zero_different_set_positive(feats: dict[str, torch.Tensor]) -> None:
    same, _ = metrics.kernel_inception_distance(feats["base"], feats["base"])
    other, std = metrics.kernel_inception_distance(feats["other"], feats["base"])
    blur, _ = metrics.kernel_inception_distance(feats["blurred"], feats["base"])
    # the unbiased estimate of a set against itself is slightly negative, O(1/n): ~0 relative to a real gap
    assert abs(same) < 0.2 * other and other > 0.05 and std >= 0
    assert blur > same
    assert metrics.kernel_inception_distance(feats["other"], feats["base"], seed=1)[0] == pytest.approx(other, rel=0.2)


def test_mifid_positive_for_different_set(feats: dict[str, torch.Tensor]) -> None:
    assert metrics.mifid(feats["base"], feats["base"]) == 0.0
    assert metrics.mifid(feats["other"], feats["base"]) > 1.0


def test_features_need_extractor_for_images() -> None:
    images = colour_fields(4, seed=0)
    with pytest.raises(GanLibError, match="extractor"):
        metrics.frechet_distance(images, images)
    with pytest.raises(GanLibError, match="uint8"):
        metrics.extract_features(images.float(), CountingExtractor())


# ImageWoof class folders -> ImageNet-1k class index
IMAGEWOOF_CLASSES = {
    "n02086240": 155, "n02087394": 159, "n02088364": 162, "n02089973": 167, "n02093754": 182,
    "n02096294": 193, "n02099601": 207, "n02105641": 229, "n02111889": 258, "n02115641": 273,
}  # fmt: skip


def test_efficientnet_recognises_the_breeds(effnet: nn.Module, real_dir: Path) -> None:
    """The extractor's features must still classify real photos (checks resizing, normalisation and weights)."""
    images = photos(real_dir, 30, res=128)
    folders = sorted(p.name for p in real_dir.iterdir() if p.is_dir())
    if folders != sorted(IMAGEWOOF_CLASSES):
        pytest.skip("GAN_DATA is not ImageWoof (class folders named by wnid)")
    labels = torch.tensor([IMAGEWOOF_CLASSES[folders[i % 10]] for i in range(30)])
    logits = effnet.net._fc(metrics.extract_features(images, effnet))  # the classifier head on our pooled features
    # right preprocessing: 22/30 top-1, mean log p(label) -1.28; ImageNet mean/std instead: 18/30, -1.67
    assert (logits.argmax(1) == labels).sum() >= 20
    assert logits.log_softmax(1).gather(1, labels[:, None]).mean() > -1.5


# ----------------------------------------------------------------------------- precision and recall


def two_clusters(n: int, d: int, seed: int, shift: float = 10.0) -> torch.Tensor:
    """n points of N(0, I) in d dimensions, then n points of N(shift, I): two well-separated clusters."""
    g = torch.Generator().manual_seed(seed)
    return torch.cat([torch.randn(n, d, generator=g), torch.randn(n, d, generator=g) + shift])


def test_precision_recall_identical_sets() -> None:
    real = two_clusters(100, 4, seed=0)
    assert metrics.precision_recall(real, real) == (1.0, 1.0)
    assert metrics.precision_recall(real, real, k=1) == (1.0, 1.0)


def test_precision_recall_one_of_two_clusters_and_far_away() -> None:
    real = two_clusters(250, 4, seed=0)
    one_cluster = two_clusters(125, 4, seed=1)[:125]  # a fresh sample of the first cluster only
    precision, recall = metrics.precision_recall(one_cluster, real)
    # measured: precision 0.90 (a few fakes fall in the tails, outside the 3-NN balls), recall 0.46 (0.5 at most)
    assert precision > 0.85 and 0.4 < recall < 0.55
    far = two_clusters(125, 4, seed=2)[:125] + 50.0
    precision, recall = metrics.precision_recall(far, real)
    assert precision < 0.05 and recall < 0.05


def test_precision_recall_chunks_agree_with_brute_force() -> None:
    g = torch.Generator().manual_seed(0)
    fake, real = torch.randn(70, 3, generator=g), torch.randn(90, 3, generator=g) * 1.5
    k = 3

    def inside(queries: torch.Tensor, points: torch.Tensor) -> float:
        radii = torch.cdist(points, points).kthvalue(k + 1, dim=1).values  # k + 1: the point itself is first
        return (torch.cdist(queries, points) <= radii).any(dim=1).float().mean().item()

    expected = (inside(fake, real), inside(real, fake))
    assert 0.2 < expected[0] < 1.0 and 0.2 < expected[1] < 1.0  # neither trivial nor empty
    assert metrics.precision_recall(fake, real, k=k, chunk_size=16) == pytest.approx(expected)
    assert metrics.precision_recall(fake, real, k=k) == pytest.approx(expected)


def test_precision_recall_bad_k_and_images() -> None:
    a = two_clusters(3, 2, seed=0)
    with pytest.raises(GanLibError, match="k must be between 1 and 5"):
        metrics.precision_recall(a, a, k=6)
    with pytest.raises(GanLibError, match="extractor"):
        metrics.precision_recall(colour_fields(4, seed=0), colour_fields(4, seed=1))


def test_evaluate_precision_recall(tmp_path: Path) -> None:
    ext = CountingExtractor()
    real, fake = colour_fields(12, seed=0), colour_fields(12, seed=1, base=24)
    same = metrics.evaluate(real, real, extractor=ext, metrics=("pr",), cache_dir=tmp_path)
    assert same == {"precision": 1.0, "recall": 1.0}
    other = metrics.evaluate(fake, real, extractor=ext, metrics=("pr", "fd"), cache_dir=tmp_path)
    assert (other["precision"], other["recall"]) == metrics.precision_recall(fake, real, ext, cache_dir=tmp_path)
    assert "Precision / recall (counting-test, k=3): " in metrics.format_results(other, ext)


# ----------------------------------------------------------------------------- dog-o-meter


def test_dog_report_from_logits() -> None:
    names = metrics.imagenet_classes()
    assert len(names) == 1000 and len(metrics.DOG_CLASSES) == 118
    assert names[151] == "Chihuahua" and names[207] == "golden retriever" and names[269] == "timber wolf"
    logits = torch.zeros(4, 1000)
    for row, cls in enumerate([207, 0, 151, 207]):  # golden retriever, tench, Chihuahua, golden retriever
        logits[row, cls] = 5.0
    report = metrics.dog_report(logits)
    assert report.dog_share == 0.75 and report.num_images == 4
    assert list(report.breeds.items()) == [("golden retriever", 2), ("Chihuahua", 1)]
    assert report.summary() == "75% called a dog; top breeds: golden retriever 50%, Chihuahua 25%"
    assert report.summary(top=1) == "75% called a dog; top breeds: golden retriever 50%"
    assert metrics.dog_report(torch.zeros(2, 1000)).summary() == "0% called a dog"  # class 0: a tench


def test_classifier_head_matches_the_network(effnet: nn.Module) -> None:
    images = colour_fields(2, seed=0)
    x = (features._resize(images, 224) - 127.0) / 128.0
    with torch.no_grad():
        expected = effnet.net(x)  # EfficientNet's own forward: features, pooling, (eval) dropout, classifier
    torch.testing.assert_close(effnet.classify(metrics.extract_features(images, effnet)), expected,
                               atol=1e-4, rtol=1e-4)


def test_dog_o_meter_real_photos_and_noise(effnet: nn.Module, real_dir: Path, real_data, tmp_path: Path) -> None:
    # 64 px: 3 photos of each breed. Measured: 25 of 30 (83%) called a dog; ImageWoof's dingo class is
    # ImageNet 273, a wild dog outside the breeds 151..268.
    photos_64 = load_images(real_dir, 64, max_per_class=3, cache_dir=tmp_path, progress=False).images
    at_64 = metrics.dog_o_meter(photos_64, extractor=effnet)
    assert at_64.dog_share > 0.6
    assert sum(at_64.breeds.values()) == round(at_64.dog_share * len(photos_64))
    assert all(isinstance(name, str) and name in metrics.imagenet_classes()[151:269] for name in at_64.breeds)
    counts = list(at_64.breeds.values())
    assert counts == sorted(counts, reverse=True)
    assert at_64.summary().startswith(f"{at_64.dog_share:.0%} called a dog; top breeds: ")
    # 32 px (the real_data fixture), 6 per breed, upsampled to 224 inside: measured 70% (60 photos; 73-85% for
    # other random sets of 60). Blurry, but still mostly dogs.
    at_32 = metrics.dog_o_meter(real_data.images[::10], extractor=effnet)
    assert len(real_data.images[::10]) == 60 and at_32.dog_share > 0.5
    # uniform noise: measured 0 of 20
    noise = torch.randint(0, 256, (20, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    assert metrics.dog_o_meter(noise, extractor=effnet).dog_share < 0.2


def test_evaluate_dogs_reuses_the_features(effnet: nn.Module, real_dir: Path, tmp_path: Path) -> None:
    photos_64 = load_images(real_dir, 64, max_per_class=1, cache_dir=tmp_path, progress=False).images
    report = metrics.dog_o_meter(photos_64, extractor=effnet)
    with mock.patch.object(distances, "dog_o_meter", side_effect=AssertionError("features extracted twice")):
        results = metrics.evaluate(photos_64, photos_64, extractor=effnet, metrics=("pr", "dogs"), cache_dir=tmp_path)
    assert results["dog_share"] == report.dog_share and (results["precision"], results["recall"]) == (1.0, 1.0)
    breeds = [k.removeprefix("breed: ") for k in results if k.startswith("breed: ")]
    assert breeds == list(report.breeds)[:5]
    assert f"Dog-o-meter (EfficientNet-Lite0's ImageNet classifier): {report.summary()}" in metrics.format_results(
        results, effnet)


def test_dog_o_meter_bad_input() -> None:
    with pytest.raises(GanLibError, match="uint8"):
        metrics.dog_o_meter(torch.rand(2, 3, 32, 32))
    with pytest.raises(GanLibError, match="EfficientNet"):
        metrics.dog_o_meter(colour_fields(2, seed=0), extractor=CountingExtractor())
    with pytest.raises(GanLibError, match="no images"):
        metrics.dog_o_meter(colour_fields(2, seed=0)[:0], extractor=CountingExtractor())


# ----------------------------------------------------------------------------- SWD


def test_laplacian_pyramid_reconstructs() -> None:
    x = colour_fields(2, seed=0, res=64).float()
    pyramid = metrics.laplacian_pyramid(x, 3)
    assert [p.shape[-1] for p in pyramid] == [64, 32, 16]
    rebuilt = pyramid[-1]
    for level in reversed(pyramid[:-1]):
        rebuilt = level + distances._pyr_up(rebuilt, level.shape[-2:])
    torch.testing.assert_close(rebuilt, x, atol=1e-3, rtol=0)


def test_swd_self_zero_blur_larger_and_seeded() -> None:
    a = colour_fields(32, seed=0)
    same = metrics.sliced_wasserstein(a, a, **SWD_FAST)
    blur = metrics.sliced_wasserstein(blurred(a), a, **SWD_FAST)
    assert set(same) == {"swd_64", "swd_32", "swd_16", "swd"}
    assert same["swd"] == pytest.approx(0.0, abs=1e-6)
    assert blur["swd"] > 5.0
    assert blur["swd"] == pytest.approx(sum(blur[k] for k in ("swd_64", "swd_32", "swd_16")) / 3)
    assert metrics.sliced_wasserstein(blurred(a), a, **SWD_FAST) == blur  # deterministic
    assert metrics.sliced_wasserstein(blurred(a), a, seed=1, **SWD_FAST)["swd"] != blur["swd"]


def test_swd_orders_noise_levels() -> None:
    a = colour_fields(32, seed=0)
    scores = [metrics.sliced_wasserstein(noisy(a, s, seed=1), a, **SWD_FAST)["swd"] for s in (2, 8, 24, 64)]
    assert scores == sorted(scores) and scores[0] < scores[-1] / 3


def test_swd_unequal_set_sizes() -> None:
    out = metrics.sliced_wasserstein(colour_fields(20, seed=0, res=32), colour_fields(12, seed=1, res=32), **SWD_FAST)
    assert set(out) == {"swd_32", "swd_16", "swd"} and out["swd"] > 0


# ----------------------------------------------------------------------------- nearest neighbours


def test_nearest_neighbour_finds_exact_copy() -> None:
    train = colour_fields(40, seed=0)
    perm = torch.randperm(40, generator=torch.Generator().manual_seed(0))
    shuffled = train[perm]
    fake = torch.cat([train[7:8], colour_fields(5, seed=9)])
    idx, dist = metrics.nearest_neighbours(fake, shuffled, chunk_size=6)  # several chunks each way
    assert perm[idx[0]] == 7 and dist[0] == 0.0
    assert (dist[1:] > 1.0).all()
    # brute force agrees on the others
    full = torch.cdist(fake.flatten(1).double() / 255, shuffled.flatten(1).double() / 255)
    assert torch.equal(idx, full.argmin(1))
    torch.testing.assert_close(dist.double(), full.min(1).values, atol=1e-3, rtol=1e-4)

    pairs = metrics.nearest_neighbour_pairs(fake, shuffled, k=3)
    assert len(pairs) == 3 and torch.equal(pairs[0][0], pairs[0][1]) and pairs[0][2] == 0.0
    assert [p[2] for p in pairs] == sorted(p[2] for p in pairs)


def test_nearest_neighbour_in_feature_space(tmp_path: Path) -> None:
    train = colour_fields(20, seed=0)
    fake = torch.cat([train[[3, 11]], colour_fields(2, seed=5)])
    idx, dist = metrics.nearest_neighbours(fake, train, extractor=CountingExtractor(), cache_dir=tmp_path)
    assert idx[:2].tolist() == [3, 11] and (dist[:2] < 1e-5).all() and (dist[2:] > 1e-3).all()


# ----------------------------------------------------------------------------- cache + evaluate


def test_real_features_cached_on_disk(tmp_path: Path) -> None:
    ext = CountingExtractor()
    real = colour_fields(10, seed=0)
    first = metrics.real_features(real, ext, cache_dir=tmp_path, batch_size=4)
    assert ext.calls == 3
    second = metrics.real_features(real, ext, cache_dir=tmp_path, batch_size=4)
    assert ext.calls == 3 and torch.equal(first, second)  # cache hit: no extractor call
    assert len(list((tmp_path / "cache" / "features").glob("counting-test-*-10.pt"))) == 1
    changed = real.clone()
    changed[0, 0, 0, 0] ^= 1
    metrics.real_features(changed, ext, cache_dir=tmp_path, batch_size=4)
    assert ext.calls == 6  # other images, other fingerprint: recomputed


def test_evaluate_reuses_real_statistics(tmp_path: Path) -> None:
    ext = CountingExtractor()
    real, fake = colour_fields(12, seed=0), colour_fields(12, seed=1, base=24)
    first = metrics.evaluate(fake, real, extractor=ext, metrics=("fd", "kid", "mifid", "swd"), cache_dir=tmp_path)
    calls = ext.calls
    second = metrics.evaluate(fake, real, extractor=ext, metrics=("fd", "kid", "mifid", "swd"), cache_dir=tmp_path)
    assert ext.calls == calls + 1  # only the fake batch again
    assert first == second
    assert {"fd", "kid", "kid_std", "mifid", "swd", "swd_64", "swd_32", "swd_16"} <= set(first)
    assert all(v > 0 for k, v in first.items() if not k.startswith("kid"))
    text = metrics.format_results(first, ext)
    assert "FD (counting-test)" in text and "SWD" in text and "KID" in text
    with pytest.raises(GanLibError, match="Unknown metric"):
        metrics.evaluate(fake, real, extractor=ext, metrics=("fid2",))


def test_evaluate_real_photos(effnet: nn.Module, real_dir: Path, tmp_path: Path) -> None:
    real = photos(real_dir, 12)
    same = metrics.evaluate(real, real, extractor=effnet, cache_dir=tmp_path)
    blur = metrics.evaluate(blurred(real), real, extractor=effnet, cache_dir=tmp_path)
    assert abs(same["fd"]) < 1e-2 and abs(same["swd"]) < 1e-6
    assert blur["fd"] > 1.0 and blur["swd"] > 5.0 and blur["kid"] > 0.0 > same["kid"]
    assert "not comparable to published FIDs" in metrics.format_results(blur, effnet)


# ----------------------------------------------------------------------------- Inception download path


@pytest.fixture(scope="module")
def weights_server():
    """Serve a randomly initialised torch-fidelity Inception state_dict (original .pth layout) on 127.0.0.1."""
    import torch_fidelity.feature_extractor_inceptionv3 as fe

    # build the architecture without any download and without loading weights
    with mock.patch.object(fe, "load_state_dict_from_url", return_value=None), mock.patch.object(
        fe.FeatureExtractorInceptionV3, "load_state_dict"
    ):
        model = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    for m in model.modules():  # He init keeps activations O(1) through the ~50 random layers (default init: ~1e-8)
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    with FileServer({metrics.INCEPTION_FILE: buffer.getvalue()}) as server:
        yield server, model.state_dict()


def test_inception_downloaded_once_and_computes_fid(weights_server, tmp_path: Path, monkeypatch) -> None:
    server, state = weights_server
    monkeypatch.setenv("GAN_WEIGHTS_URL", server.url)
    ext = metrics.inception_extractor(cache_dir=tmp_path)
    assert server.requests == [(f"/{metrics.INCEPTION_FILE}", None)]
    assert (tmp_path / "weights" / metrics.INCEPTION_FILE).is_file()
    torch.testing.assert_close(ext.net.Conv2d_1a_3x3.conv.weight, state["Conv2d_1a_3x3.conv.weight"])
    again = metrics.inception_extractor(cache_dir=tmp_path)
    assert len(server.requests) == 1  # served from the cache: no second request
    a = colour_fields(3, seed=0, res=32)
    fa, fb = metrics.extract_features(a, again), metrics.extract_features(blurred(a, sigma=3), again)
    assert fa.shape == (3, 2048) and torch.isfinite(fa).all() and fa.std() > 1e-3
    assert metrics.frechet_distance(fb, fa) > 1e-3
    assert metrics.extractor_label(ext) == "FID (Inception-v3)"


def test_inception_offline_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GAN_WEIGHTS_URL", closed_port_url())
    with pytest.raises(GanLibError, match="GAN_WEIGHTS_URL") as err:
        metrics.inception_extractor(cache_dir=tmp_path)
    message = str(err.value)
    assert "\n" not in message and "Inception" in message and "efficientnet" in message
    assert not (tmp_path / "weights" / metrics.INCEPTION_FILE).exists()


def test_cli_evaluate_prints_labelled_metrics(tmp_path: Path, capsys) -> None:
    from PIL import Image

    from gan_lib.cli import main

    def write(folder: Path, images: torch.Tensor) -> None:
        folder.mkdir(parents=True)
        for i, img in enumerate(images):
            Image.fromarray(img.permute(1, 2, 0).numpy()).save(folder / f"{i}.png")

    write(tmp_path / "fakes", colour_fields(8, seed=1, res=32, base=24))
    write(tmp_path / "real" / "a", colour_fields(5, seed=2, res=32))
    write(tmp_path / "real" / "b", colour_fields(5, seed=3, res=32))
    argv = ["evaluate", "--fakes", str(tmp_path / "fakes"), "--data", str(tmp_path / "real"), "--n", "8"]
    assert main([*argv, "--metrics", "fd,swd", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "8 generated vs 8 real images at 32px" in out
    assert "FD (EfficientNet-Lite0), not comparable to published FIDs:" in out and "SWD" in out
    assert main([*argv, "--metrics", "fid"]) == 2
    assert "Unknown metric" in capsys.readouterr().err


def test_mifid_punishes_copying_even_part_of_the_training_set() -> None:
    gen = torch.Generator().manual_seed(0)
    train = torch.randn(400, 32, generator=gen)
    copies = train[:200]  # a "generator" that returns half of the training photos
    new = torch.randn(200, 32, generator=gen)  # a generator that makes new images from the same distribution
    assert metrics.memorisation_distance(copies, train) == pytest.approx(0.0, abs=1e-6)
    assert metrics.memorisation_distance(new, train) == 1.0  # not below the threshold: no penalty
    fd_copies, fd_new = metrics.frechet_distance(copies, train), metrics.frechet_distance(new, train)
    assert metrics.mifid(new, train) == pytest.approx(fd_new)
    assert metrics.mifid(copies, train) > 1e6 * fd_copies  # divided by a memorisation term near 0


def test_imagenet_class_names_the_breeds() -> None:
    assert metrics.imagenet_class("golden retriever") == 207
    assert metrics.imagenet_class("samoyed") == metrics.imagenet_class("Samoyed") == 258
    with pytest.raises(GanLibError, match="not an ImageNet class"):
        metrics.imagenet_class("labradoodle")


def test_breed_match_counts_the_asked_breed() -> None:
    names = ["Samoyed", "beagle"]
    samoyed, beagle, cat = 258, 162, 281
    logits = torch.zeros(4, 1000)
    logits[0, samoyed] = 5  # asked Samoyed: named Samoyed
    logits[1, beagle], logits[1, samoyed] = 2, 1  # asked Samoyed: named beagle
    logits[2, cat], logits[2, beagle] = 9, 3  # asked beagle: named a cat, but beagle > Samoyed
    logits[3, beagle] = 4  # asked beagle: named beagle
    match = metrics.breed_match(logits, torch.tensor([0, 0, 1, 1]), names)
    assert match.named == [0.5, 0.5] and match.among == [0.5, 1.0]
    assert "average" in match.summary() and "Samoyed" in match.summary()
    unasked = metrics.breed_match(logits, None, names)  # an unconditional model: shares over all images
    assert unasked.named == [0.25, 0.5] and unasked.among == [0.25, 0.75]
    assert "always 1 / breeds" in unasked.summary() and "always" not in match.summary()
    with pytest.raises(GanLibError, match="no image was asked to be 'beagle'"):
        metrics.breed_match(logits, torch.zeros(4, dtype=torch.long), names)


def test_checkerboard_strength_sees_the_two_pixel_pattern_and_only_it() -> None:
    signs = 1 - 2 * ((torch.arange(16)[:, None] + torch.arange(16)) % 2)  # +1/-1 every other pixel
    board = (127.5 + 0.5 * 127.5 * signs).round().to(torch.uint8).expand(4, 3, 16, 16)  # amplitude 0.5
    stripes = (127.5 + 0.5 * 127.5 * (1 - 2 * (torch.arange(16) % 2))).round().to(torch.uint8).expand(4, 3, 16, 16)
    assert metrics.checkerboard_strength(board) == pytest.approx(0.5, abs=0.01)
    assert metrics.checkerboard_strength(torch.full((4, 3, 16, 16), 200, dtype=torch.uint8)) == 0.0
    assert metrics.checkerboard_strength(stripes) == pytest.approx(0.0, abs=1e-6)  # a 2-pixel stripe is not a board
    smooth = colour_fields(8, seed=0, res=32)
    assert metrics.checkerboard_strength(smooth) < 0.01
    with pytest.raises(GanLibError, match="uint8"):
        metrics.checkerboard_strength(torch.zeros(2, 3, 16, 16))
