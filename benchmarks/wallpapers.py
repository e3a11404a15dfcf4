"""Content pictures for training the reconstruction decoders: the desktop wallpapers of three Debian
packages, written as RGB PNGs of at most 512 px for ``nstlab train-decoder --content-dir``.

    python benchmarks/wallpapers.py runs/wallpapers     # needs apt-get (Debian) and dpkg

Debian's package registry is reachable where hubs are not, and its wallpaper packages hold photographs
(flowers, grass, leaves, a forest, boats at sunset, a pier) and flat colour artwork with sharp edges: 54
pictures of a kind the bundled samples lack. The script downloads the packages (``apt-get download``, no
install), unpacks them (``dpkg -x``) and takes ``mate/nature/*``, the ukui pictures in
``/usr/share/backgrounds`` and the largest light image of each Plasma wallpaper. Their licences (the
packages' copyright files): ukui-wallpapers CC-BY-SA-3.0, mate-backgrounds and plasma-workspace-wallpapers
GPL-2+. The pictures are training data only: never committed, never shipped.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

PACKAGES = ("mate-backgrounds", "ukui-wallpapers", "plasma-workspace-wallpapers")
MAX_SIDE = 512


def unpack(packages: tuple[str, ...], folder: Path) -> Path:
    """Download and unpack the .deb files of ``packages`` into ``folder``; returns the unpacked root."""
    subprocess.run(["apt-get", "download", *packages], cwd=folder, check=True)
    root = folder / "root"
    for deb in sorted(folder.glob("*.deb")):
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    return root


def wallpaper_files(root: Path) -> dict[str, Path]:
    """The chosen pictures by output name, in a fixed order."""
    share = root / "usr" / "share"
    picks = {f"mate-{p.stem}": p for p in sorted((share / "backgrounds" / "mate" / "nature").glob("*.jpg"))}
    for p in sorted((share / "backgrounds").glob("*")):
        if p.suffix in (".jpg", ".png"):
            picks[f"ukui-{p.stem}"] = p
    for wallpaper in sorted((share / "wallpapers").iterdir()):
        sizes = sorted((wallpaper / "contents" / "images").glob("*"), key=lambda p: p.stat().st_size)
        if sizes:
            picks[f"plasma-{wallpaper.name}"] = sizes[-1]
    return picks


def write_pictures(picks: dict[str, Path], out: Path, max_side: int = MAX_SIDE) -> None:
    """Each picture as RGB (alpha dropped), long side at most ``max_side`` (Lanczos), as ``out/name.png``."""
    out.mkdir(parents=True, exist_ok=True)
    for name, path in picks.items():
        img = Image.open(path).convert("RGB")
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        img.save(out / f"{name}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for the PNGs (pass it as --content-dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        picks = wallpaper_files(unpack(PACKAGES, Path(tmp)))
        write_pictures(picks, args.out)
    print(f"{len(picks)} pictures in {args.out}")


if __name__ == "__main__":
    main()
