"""The gallery: the shipped pictures match their json, one figure's command reproduces its recorded
settings and the sign of its effect at a tiny size, and the spectral yardstick meets its closed forms."""

from __future__ import annotations

import hashlib
import json
import math
import shlex
from pathlib import Path

import nbformat
import pytest
import torch
from PIL import Image

from nstlab import cli, gallery, transforms

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "solutions" / "chapters"


def test_every_chapter_has_a_figure_and_shows_it_beside_its_experiment():
    by_chapter: dict[str, list[str]] = {}
    for name, fig in gallery.FIGURES.items():
        by_chapter.setdefault(fig.chapter, []).append(name)
    assert sorted(by_chapter) == [f"{k:02d}" for k in range(1, 12)]
    for chapter, names in by_chapter.items():
        (source,) = CHAPTERS.glob(f"{chapter}_*.ipynb")
        code = "\n".join(c.source for c in nbformat.read(source, 4).cells if c.cell_type == "code")
        for name in names:
            assert f'gallery.show("{name}")' in code, f"{source.name} does not show the figure {name}"


@pytest.mark.parametrize("name", list(gallery.FIGURES))
def test_shipped_picture_matches_its_json(name):
    entry = gallery.record(name)
    fig = gallery.FIGURES[name]
    picture = gallery.GALLERY / entry["picture"]["file"]
    assert hashlib.sha256(picture.read_bytes()).hexdigest() == entry["picture"]["sha256"]
    with Image.open(picture) as img:
        assert img.format == "JPEG"
        assert img.size == (entry["picture"]["width"], entry["picture"]["height"])
    assert entry["code"] == gallery._code(fig), f"{name} was made by older code: run `{entry['command']}`"
    assert entry["caption"] == fig.caption.format(**entry["numbers"])  # the caption's numbers are the json's
    assert entry["effect"] == entry["numbers"][fig.effect] and entry["holds"] == (entry["effect"] > 0)
    assert entry["inputs"] == dict(fig.inputs) and entry["claim"] == fig.claim
    settings = gallery.Config(**entry["settings"])
    assert entry["command"] == gallery.command(name, settings)


def test_the_gallery_is_compressed_and_small():
    pictures = sorted(gallery.GALLERY.glob("*.jpg"))
    assert {p.stem for p in pictures} == set(gallery.FIGURES)
    assert sum(p.stat().st_size for p in pictures) < 15e6


@pytest.mark.parametrize("name", ["wct_eps", "checkerboard", "adain_moments"])
def test_a_figure_command_reruns_at_a_tiny_size_with_the_recorded_settings_and_sign(name, tmp_path):
    recorded = gallery.record(name)
    argv = shlex.split(recorded["command"])[1:]
    argv[argv.index("--size") + 1] = "64"
    argv[argv.index("--steps") + 1] = "2"
    assert cli.main([*argv, "--out", str(tmp_path)]) == 0
    again = json.loads((tmp_path / f"{name}.json").read_text())
    for key in ("name", "chapter", "claim", "inputs", "code"):
        assert again[key] == recorded[key]
    assert again["settings"] == {**recorded["settings"], "size": 64, "steps": 2}
    assert set(again["numbers"]) == set(recorded["numbers"])
    assert again["holds"] == recorded["holds"]
    assert (tmp_path / again["picture"]["file"]).exists()


def test_an_optimization_figure_reruns_at_a_tiny_size_with_the_recorded_settings(tmp_path):
    # two syntheses of 2 steps at 48 px: too short for the effect, long enough for the record
    recorded = gallery.record("gram_texture")
    entry = gallery.make(
        "gram_texture", gallery.Config(size=48, steps=2, seed=recorded["settings"]["seed"]), tmp_path
    )
    assert entry["code"] == recorded["code"] and entry["inputs"] == recorded["inputs"]
    assert set(entry["numbers"]) == set(recorded["numbers"])
    assert entry["picture"]["width"] > 0 and (tmp_path / "gram_texture.jpg").exists()


def test_make_all_resumes_and_remakes_only_what_changed(tmp_path, monkeypatch):
    calls = []
    fig = gallery.FIGURES["checkerboard"]
    monkeypatch.setitem(
        gallery.FIGURES,
        "checkerboard",
        gallery.Figure(**{**fig.__dict__, "maker": lambda f, c: calls.append(c) or fig.maker(f, c)}),
    )
    tiny = gallery.Config(size=64, steps=1)
    gallery.make_all(tiny, ["checkerboard"], out=tmp_path)
    gallery.make_all(tiny, ["checkerboard"], out=tmp_path)  # made with these settings: skipped
    assert len(calls) == 1
    gallery.make_all(gallery.Config(size=64, steps=1, seed=1), ["checkerboard"], out=tmp_path)
    (tmp_path / "checkerboard.jpg").write_bytes(b"not the recorded picture")
    gallery.make_all(gallery.Config(size=64, steps=1, seed=1), ["checkerboard"], out=tmp_path)
    assert len(calls) == 3


def test_unknown_figure_and_missing_record_are_named(tmp_path, capsys):
    assert cli.main(["gallery", "--only", "nope"]) == 1
    assert "unknown gallery figure" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="nstlab gallery --only shrinkage"):
        gallery.record("shrinkage", tmp_path)


def test_yardsticks_are_zero_for_an_image_against_itself():
    img = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(0))
    assert gallery._palette_distance(img, img) == pytest.approx(0.0, abs=1e-9)
    assert gallery._texture_distance(img, img) == pytest.approx(0.0, abs=1e-9)
    assert gallery._palette_distance(img, img.flip(-1)) == pytest.approx(0.0, abs=1e-9)  # colours only
    # a shift t of every colour: W2^2 = (theta . t)^2 per direction, |t|^2 / 3 on average over directions
    assert gallery._palette_distance(img, img + 0.1) == pytest.approx(0.1, rel=0.2)


def test_null_eigenvalues_are_rounding_noise_of_the_dtype():
    # 40 positions for 64 channels: 25 exact zero eigenvalues, seen as rounding noise of each dtype
    F = torch.randn(1, 64, 5, 8, generator=torch.Generator().manual_seed(0)).abs() * 10
    null32, null64 = gallery._null_eigenvalues(F, torch.float32), gallery._null_eigenvalues(F, torch.float64)
    assert 1e-12 < null32 < 1e-5 and null64 < 1e-13


def test_naive_float32_wct_agrees_with_the_library_on_a_full_rank_covariance():
    gen = torch.Generator().manual_seed(0)
    fc, fs = torch.randn(1, 8, 16, 16, generator=gen), torch.randn(1, 8, 16, 16, generator=gen) * 2 + 1
    naive = gallery._wct_float32(fc, fs, eps=1e-10)
    assert torch.allclose(naive, transforms.wct(fc, fs, eps=1e-10), atol=1e-4)


def _sinusoid(period: int, size: int = 128, axis: int = -1) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64)
    wave = torch.cos(2 * math.pi * x / period)
    g = wave[None, :].expand(size, size) if axis == -1 else wave[:, None].expand(size, size)
    return g.expand(1, 3, size, size).clone()


@pytest.mark.parametrize("period", [32, 64, 128])
def test_coarse_power_of_a_long_wave_is_one(period):
    assert gallery.coarse_power(_sinusoid(period), period=16) == pytest.approx(1.0)


@pytest.mark.parametrize("period", [2, 4, 8, 16])
def test_coarse_power_of_a_short_wave_is_zero(period):
    # frequency 1/period >= 1/16 is not below 1/16: no power counted
    assert gallery.coarse_power(_sinusoid(period, axis=0), period=16) == pytest.approx(0.0, abs=1e-12)


def test_coarse_power_splits_a_sum_of_waves_by_their_powers():
    # amplitudes 1 and 2: powers 1 and 4, so the long wave holds 1/5 of the power
    img = _sinusoid(64) + 2 * _sinusoid(4)
    assert gallery.coarse_power(img, period=16) == pytest.approx(0.2)


def test_coarse_power_of_a_constant_image_is_an_error():
    with pytest.raises(ValueError, match="constant"):
        gallery.coarse_power(torch.full((1, 3, 32, 32), 0.5))
