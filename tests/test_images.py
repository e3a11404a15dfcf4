import http.server
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nstlab import images


def test_every_sample_loads_as_rgb_in_unit_range():
    for name in images.sample_names():
        img = images.load(name, size=64)
        assert img.shape[:2] == (1, 3) and max(img.shape[-2:]) == 64, name
        assert img.dtype == torch.float32 and 0 <= img.min() and img.max() <= 1, name


def test_gray_texture_becomes_three_equal_channels():
    img = images.load("brick", size=32)
    assert torch.equal(img[:, 0], img[:, 1]) and torch.equal(img[:, 1], img[:, 2])


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255  # red
    rgba[:2, ..., 3] = 255  # top half opaque, bottom half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    img = images.load(tmp_path / "a.png")
    assert torch.allclose(img[0, :, 0, 0], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.allclose(img[0, :, 3, 0], torch.ones(3))


def test_exif_orientation_is_honoured(tmp_path):
    arr = np.zeros((20, 40, 3), np.uint8)  # landscape, stored sideways with "rotate 90 CW" in EXIF
    arr[:, :20] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(arr).save(tmp_path / "photo.jpg", exif=exif.tobytes())
    img = images.load(tmp_path / "photo.jpg")
    assert img.shape[-2:] == (40, 20)  # displayed upright: portrait


def test_resize_keeps_aspect_and_long_side():
    img = torch.rand(1, 3, 60, 120)
    out = images.resize(img, 40)
    assert out.shape[-2:] == (20, 40)
    with pytest.raises(ValueError, match=r"size must lie in \[1, "):
        images.resize(img, 0)
    with pytest.raises(ValueError, match=r"size must lie in \[1, "):
        images.load("chelsea", size=-3)


def test_save_then_load_round_trips(tmp_path):
    img = images.load("coffee", size=48)
    path = images.save(img, tmp_path / "sub" / "out.png")
    back = images.load(path)
    assert back.shape == img.shape and (back - img).abs().max() <= 0.5 / 255 + 1e-6


def test_show_grid_has_titles():
    fig = images.show([images.load("chelsea", size=32), images.load("waves", size=32)], titles=["a", "b"])
    assert [ax.get_title() for ax in fig.axes[:2]] == ["a", "b"]
    with pytest.raises(ValueError, match="titles"):
        images.show([images.load("chelsea", size=32)], titles=["a", "b"])


def test_procedural_styles_are_seeded_colourful_and_stroky():
    for name in images.STYLES:
        a, b, c = images.sample(name, seed=1), images.sample(name, seed=1), images.sample(name, seed=2)
        assert np.array_equal(a, b) and not np.array_equal(a, c), name
        x = a.astype(np.float64)
        rg, yb = x[..., 0] - x[..., 1], 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
        # Hasler & Suesstrunk (2003) colourfulness; above ~45 is "quite colourful"
        colourfulness = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
        assert colourfulness > 45, (name, colourfulness)
        gray = x.mean(-1)
        edges = np.abs(np.diff(gray, axis=0)).mean() + np.abs(np.diff(gray, axis=1)).mean()
        assert edges > 10, (name, edges)  # many sharp edges (the bundled photos: 8 to 19, flat: 0)
        # ... and they belong to strokes, not noise: pixels two apart along a row stay correlated
        lag2 = np.corrcoef(gray[:, :-2].ravel(), gray[:, 2:].ravel())[0, 1]
        assert lag2 > 0.5, (name, lag2)


def test_missing_file_names_the_path_and_samples(tmp_path):
    with pytest.raises(FileNotFoundError, match="no image file.*samples: astronaut"):
        images.load(tmp_path / "nope.png")


def test_unreadable_format(tmp_path):
    (tmp_path / "x.png").write_text("not an image")
    with pytest.raises(ValueError, match="cannot read"):
        images.load(tmp_path / "x.png")


def test_url_that_fails_gives_a_clear_error():
    with pytest.raises(ValueError, match="could not download"):
        images.load("http://127.0.0.1:9/missing.png", timeout=2)


def test_url_that_works(tmp_path):
    images.save(images.load("chelsea", size=32), tmp_path / "cat.png")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(tmp_path), **k)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        img = images.load(f"http://127.0.0.1:{server.server_address[1]}/cat.png")
    finally:
        server.shutdown()
    assert img.shape[-1] == 32


def test_max_size_downscales_with_a_warning_and_none_means_no_limit(monkeypatch):
    monkeypatch.setenv("NSTLAB_BUDGET", "ci")  # load reads no environment: the ci limit (512) must not apply
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert max(images.load("retina").shape[-2:]) == 1411
    with pytest.warns(UserWarning, match="exceeds the 512 px"):
        img = images.load("retina", max_size=512)
    assert max(img.shape[-2:]) == 512
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        images.load("retina", size=256, max_size=512)
    with pytest.raises(ValueError, match=r"max_size must lie in \[1, "):
        images.load("chelsea", max_size=0)


def test_output_paths_are_checked_before_saving(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        images.save(torch.rand(1, 3, 4, 4), tmp_path / "file" / "out.png")
    with pytest.raises(ValueError, match="suffix"):
        images.check_output_path(tmp_path / "out.xyz")
    with pytest.raises(ValueError, match="is a folder"):
        images.check_output_path(tmp_path)
    with pytest.raises(ValueError, match="is a folder, not an image"):
        images.load(tmp_path)


def test_aspect_mismatch_uses_one_tolerance():
    assert not images.aspect_mismatch((100, 200), (50, 100))
    assert not images.aspect_mismatch((101, 200), (50, 100))  # 1% off
    assert images.aspect_mismatch((105, 200), (50, 100))  # 5% off


def test_bad_tensors_get_clear_errors():
    with pytest.raises(ValueError, match="batch axis"):
        images.check_image(torch.rand(3, 8, 8))
    with pytest.raises(ValueError, match="4 channels.*RGBA"):
        images.check_image(torch.rand(1, 4, 8, 8))
    with pytest.raises(TypeError, match="float"):
        images.check_image(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="unknown sample"):
        images.sample("monalisa")


def test_path_objects_and_strings_agree(tmp_path):
    path = images.save(images.load("rocket", size=40), tmp_path / "r.png")
    assert torch.equal(images.load(str(path)), images.load(Path(path)))


def test_shuffle_tiles_moves_whole_tiles():
    g = torch.Generator().manual_seed(0)
    img = torch.rand(2, 3, 13, 17, generator=g)
    out = images.shuffle_tiles(img, tile=4, seed=1)
    assert out.shape == (2, 3, 12, 16)
    cut = img[..., :12, :16]

    def tiles(x):  # the 12 tiles of each image as a list of (2, 3, 4, 4) blocks
        return [x[..., i : i + 4, j : j + 4] for i in range(0, 12, 4) for j in range(0, 16, 4)]

    before, after = tiles(cut), tiles(out)
    matched = [next(k for k, t in enumerate(before) if torch.equal(t, a)) for a in after]
    assert sorted(matched) == list(range(12)) and matched != list(range(12))  # a permutation, not identity
    assert torch.equal(images.shuffle_tiles(img, tile=4, seed=1), out)  # seeded
    with pytest.raises(ValueError, match="tile must be"):
        images.shuffle_tiles(img, tile=14)


def test_leaf_radii_are_the_truncated_pareto_law_of_scipy():
    from scipy import stats

    # p(r) ~ r^-3 on [4, 256]: scipy's truncpareto with b = 2 (pdf ~ x^-(b+1)), c = 256 / 4, scale 4
    law = stats.truncpareto(b=2, c=64, scale=4)
    u = np.linspace(0, 0.999, 50)
    np.testing.assert_allclose(images.leaf_radii(u, 4, 256), law.ppf(u), rtol=1e-12)
    assert images.leaf_mean_area(4, 256) == pytest.approx(law.expect(lambda r: np.pi * r**2), rel=1e-9)


def test_dead_leaves_are_seeded_flat_regions_in_many_colours():
    a, b = images.dead_leaves(128, seed=0), images.dead_leaves(128, seed=1)
    assert a.shape == (128, 128, 3) and a.dtype == np.uint8
    assert np.array_equal(a, images.dead_leaves(128, seed=0)) and not np.array_equal(a, b)
    # flat: most pixels equal their right neighbour (a disc's inside); unlike noise, which never does
    assert (a[:, 1:] == a[:, :-1]).all(-1).mean() > 0.6
    assert (images.noise(128)[:, 1:] == images.noise(128)[:, :-1]).all(-1).mean() < 0.6
    # many leaves, in colours spread over the cube (uniform RGB): every channel spans most of 0-255
    assert len(np.unique(a.reshape(-1, 3), axis=0)) > 100
    spread = np.percentile(a.reshape(-1, 3), 95, axis=0) - np.percentile(a.reshape(-1, 3), 5, axis=0)
    assert (spread > 150).all(), spread
