"""benchmarks/wallpapers.py: which pictures of the unpacked Debian packages it takes, and how it writes them
(a fake unpacked tree; the download itself needs apt-get and is not run here)."""

import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "wallpapers.py"


def _script():
    spec = importlib.util.spec_from_file_location("wallpapers", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _picture(path: Path, size: tuple[int, int], mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(str(path)))
    channels = len(mode)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8), mode).save(path)


def test_picks_nature_flat_backgrounds_and_the_largest_image_of_each_plasma_wallpaper(tmp_path):
    share = tmp_path / "mate-backgrounds" / "usr" / "share"
    _picture(share / "backgrounds" / "mate" / "nature" / "Dune.jpg", (64, 40))
    _picture(share / "backgrounds" / "mate" / "abstract" / "Silk.png", (64, 40))  # not nature: left out
    share = tmp_path / "ukui-wallpapers" / "usr" / "share"
    _picture(share / "backgrounds" / "calla.png", (64, 40))
    (share / "backgrounds" / "ukui.xml").write_text("<xml/>")  # not a picture: left out
    _picture(tmp_path / "lomiri-wallpapers-16.04" / "usr" / "share" / "backgrounds" / "Bridge.jpg", (64, 40))
    share = tmp_path / "plasma-workspace-wallpapers" / "usr" / "share"
    images = share / "wallpapers" / "Kite" / "contents" / "images"
    _picture(images / "640x480.jpg", (64, 48))
    _picture(images / "1920x1080.png", (192, 108))
    _picture(share / "wallpapers" / "Kite" / "contents" / "images_dark" / "5120x2880.png", (256, 144))
    picks = _script().wallpaper_files(tmp_path)  # lomiri-wallpapers-20.04 is missing: nothing from it
    assert list(picks) == ["mate-Dune", "ukui-calla", "plasma-Kite", "lomiri-Bridge"]  # packages' order
    assert picks["plasma-Kite"] == images / "1920x1080.png"


def test_writes_rgb_pngs_no_larger_than_max_side(tmp_path):
    _picture(tmp_path / "wide.png", (300, 120), mode="RGBA")
    _picture(tmp_path / "small.jpg", (40, 30))
    picks = {"wide": tmp_path / "wide.png", "small": tmp_path / "small.jpg"}
    _script().write_pictures(picks, tmp_path / "out", 100)
    wide, small = Image.open(tmp_path / "out" / "wide.png"), Image.open(tmp_path / "out" / "small.png")
    assert (wide.mode, wide.size) == ("RGB", (100, 40))  # alpha dropped, long side 300 -> 100, aspect kept
    assert small.size == (40, 30)  # smaller pictures are not enlarged
