"""Content pictures for training the reconstruction decoders: the desktop wallpapers of five Debian
packages, written as RGB PNGs of at most 512 px for ``nstlab train-decoder --content-dir``.

    python benchmarks/wallpapers.py runs/wallpapers2     # needs apt-get (Debian) and dpkg

Debian's package registry is reachable where hubs are not, and its wallpaper packages hold photographs
(flowers, grass, leaves, a forest, mountains, boats at sunset, a bird on a tree, a fig in a red bowl,
paint brushes) and flat colour artwork with sharp edges: 73 pictures of a kind the bundled samples lack.
The script downloads the packages (``apt-get download``, no install), unpacks each (``dpkg -x``) and
takes ``mate/nature/*``, the pictures directly in ``/usr/share/backgrounds`` (ukui, lomiri) and the
largest light image of each Plasma wallpaper. Their licences (the packages' copyright files):
ukui-wallpapers CC-BY-SA-3.0, mate-backgrounds and plasma-workspace-wallpapers GPL-2+, the lomiri
photographs CC-BY-4.0, CC-BY-SA-3.0/4.0 and CC0-1.0. The pictures are training data only: never
committed, never shipped. (The 54 pictures of the first three packages, the pool of the earlier
decoders, keep their names and bytes.)"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

# package -> the prefix of its pictures' names
PACKAGES = {
    "mate-backgrounds": "mate",
    "ukui-wallpapers": "ukui",
    "plasma-workspace-wallpapers": "plasma",
    "lomiri-wallpapers-16.04": "lomiri",
    "lomiri-wallpapers-20.04": "lomiri",
}
MAX_SIDE = 512


def unpack(packages: list[str], folder: Path) -> Path:
    """Download the .deb files of ``packages`` into ``folder`` and unpack each into ``root/<package>``;
    returns ``root``."""
    subprocess.run(["apt-get", "download", *packages], cwd=folder, check=True)
    root = folder / "root"
    for package in packages:
        (deb,) = folder.glob(f"{package}_*.deb")
        (root / package).mkdir(parents=True)
        subprocess.run(["dpkg", "-x", str(deb), str(root / package)], check=True)
    return root


def package_files(share: Path) -> list[tuple[str, Path]]:
    """(name, path) of the pictures chosen in one unpacked ``usr/share``: ``backgrounds/mate/nature/*.jpg``,
    every .jpg and .png directly in ``backgrounds`` and the largest light image of each Plasma wallpaper."""
    nature = sorted((share / "backgrounds" / "mate" / "nature").glob("*.jpg"))
    flat = [p for p in sorted((share / "backgrounds").glob("*")) if p.suffix in (".jpg", ".png")]
    picks = [(p.stem, p) for p in nature + flat]
    for wallpaper in sorted((share / "wallpapers").glob("*")):
        sizes = sorted((wallpaper / "contents" / "images").glob("*"), key=lambda p: p.stat().st_size)
        if sizes:
            picks.append((wallpaper.name, sizes[-1]))
    return picks


def wallpaper_files(root: Path) -> dict[str, Path]:
    """The chosen pictures of :data:`PACKAGES`, unpacked in ``root/<package>``, by output name
    (``<prefix>-<name>``), in a fixed order (a package missing from ``root`` gives none)."""
    return {
        f"{prefix}-{name}": path
        for package, prefix in PACKAGES.items()
        for name, path in package_files(root / package / "usr" / "share")
    }


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
        picks = wallpaper_files(unpack(list(PACKAGES), Path(tmp)))
        write_pictures(picks, args.out)
    print(f"{len(picks)} pictures in {args.out}")


if __name__ == "__main__":
    main()
