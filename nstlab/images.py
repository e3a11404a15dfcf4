"""Images in and out: load (path, URL or sample name), resize, save and show.

Every image in the library is a float tensor of shape (1, 3, H, W) with values in [0, 1] (RGB).
Grayscale images are repeated to three channels, RGBA images composited on white, palette and CMYK
images converted, and the EXIF orientation of photos honoured.
"""

from __future__ import annotations

import io
import math
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as nnf
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError
from torch import Tensor

ImageSource = str | Path | Image.Image | np.ndarray | Tensor


# --------------------------------------------------------------------------------------------------
# Samples: skimage's bundled photos and textures, and seeded procedural style images


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def get() -> np.ndarray:
        import skimage.data

        return getattr(skimage.data, name)()

    return get


PHOTOS = {
    "astronaut": _skimage("astronaut"),
    "chelsea": _skimage("chelsea"),
    "coffee": _skimage("coffee"),
    "rocket": _skimage("rocket"),
    "hubble": _skimage("hubble_deep_field"),
    "immunohistochemistry": _skimage("immunohistochemistry"),
    "retina": _skimage("retina"),
    "camera": _skimage("camera"),
    "coins": _skimage("coins"),
}
TEXTURES = {"brick": _skimage("brick"), "grass": _skimage("grass"), "gravel": _skimage("gravel")}


def _palette(rng: np.random.Generator, colours: Sequence[str]) -> list[tuple[int, int, int]]:
    rgb = [tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in colours]
    rng.shuffle(rgb)
    return rgb


def strokes(size: int = 512, seed: int = 0) -> np.ndarray:
    """Thick oriented brush strokes in a warm/cool palette, following a smooth flow field."""
    rng = np.random.default_rng(seed)
    pal = _palette(rng, ["#e63946", "#f1c453", "#1d3557", "#457b9d", "#f77f00", "#2a9d8f", "#fefae0"])
    img = Image.new("RGB", (size, size), pal[0])
    draw = ImageDraw.Draw(img)
    for _ in range(int(1.6 * size)):
        x, y = rng.uniform(0, size, 2)
        angle = math.sin(x / size * 3 * math.pi) + math.cos(y / size * 2 * math.pi) + rng.normal(0, 0.15)
        length = rng.uniform(0.04, 0.12) * size
        dx, dy = length * math.cos(angle), length * math.sin(angle)
        width = int(rng.uniform(0.008, 0.025) * size) + 1
        draw.line([(x - dx, y - dy), (x + dx, y + dy)], fill=pal[rng.integers(len(pal))], width=width)
    return np.asarray(img)


def mosaic(size: int = 512, seed: int = 0, n_cells: int = 90) -> np.ndarray:
    """Stained glass: Voronoi cells in saturated colours with dark lead lines between them."""
    rng = np.random.default_rng(seed)
    colours = ["#d00000", "#ffba08", "#3f88c5", "#032b43", "#136f63", "#e85d04", "#9d4edd"]
    pal = np.array(_palette(rng, colours))
    centres = rng.uniform(0, size, (n_cells, 2))
    yy, xx = np.mgrid[0:size, 0:size]
    d = (xx[..., None] - centres[:, 0]) ** 2 + (yy[..., None] - centres[:, 1]) ** 2
    order = np.argsort(d, axis=-1)
    nearest, second = order[..., 0], order[..., 1]
    d1 = np.take_along_axis(d, nearest[..., None], -1)[..., 0]
    d2 = np.take_along_axis(d, second[..., None], -1)[..., 0]
    out = pal[rng.integers(len(pal), size=n_cells)][nearest].astype(np.float64)
    out *= 0.8 + 0.2 * rng.uniform(size=(size, size, 1))
    edge = (np.sqrt(d2) - np.sqrt(d1)) < 0.012 * size
    out[edge] = (20, 16, 12)
    return out.clip(0, 255).astype(np.uint8)


def waves(size: int = 512, seed: int = 0) -> np.ndarray:
    """Great-wave bands: curling blue and white crests drawn as many thin parallel strokes."""
    rng = np.random.default_rng(seed)
    blues = [(8, 28, 66), (20, 70, 130), (60, 120, 180), (235, 240, 230), (160, 200, 220)]
    img = Image.new("RGB", (size, size), (240, 228, 200))
    draw = ImageDraw.Draw(img)
    t = np.linspace(0, 1, 200)
    for k in range(int(0.5 * size)):
        y0 = rng.uniform(-0.1, 1.1) * size
        amp, freq, phase = rng.uniform(0.02, 0.08) * size, rng.uniform(2, 6), rng.uniform(0, 2 * math.pi)
        ys = y0 + amp * np.sin(2 * math.pi * freq * t + phase) + 0.05 * size * np.sin(9 * math.pi * t + k)
        pts = list(zip((t * size).tolist(), ys.tolist(), strict=True))
        draw.line(pts, fill=blues[rng.integers(len(blues))], width=int(rng.uniform(2, 7) * size / 512) + 1)
    return np.asarray(img)


def swirl(size: int = 512, seed: int = 0) -> np.ndarray:
    """Starry-night swirls: short yellow, blue and white dashes along concentric vortex flow."""
    rng = np.random.default_rng(seed)
    pal = [(13, 27, 96), (34, 76, 160), (92, 140, 210), (250, 214, 80), (255, 248, 210), (22, 44, 40)]
    img = Image.new("RGB", (size, size), pal[0])
    draw = ImageDraw.Draw(img)
    centres = rng.uniform(0.15, 0.85, (4, 2)) * size
    for _ in range(int(3 * size)):
        x, y = rng.uniform(0, size, 2)
        c = centres[np.argmin(((centres - (x, y)) ** 2).sum(1))]
        r = math.hypot(x - c[0], y - c[1]) + 1e-6
        tx, ty = -(y - c[1]) / r, (x - c[0]) / r
        length = rng.uniform(0.015, 0.04) * size
        colour = pal[3] if r < 0.08 * size else pal[rng.integers(len(pal))]
        draw.line(
            [(x - tx * length, y - ty * length), (x + tx * length, y + ty * length)],
            fill=colour,
            width=int(rng.uniform(0.005, 0.012) * size) + 1,
        )
    return np.asarray(img)


STYLES = {"strokes": strokes, "mosaic": mosaic, "waves": waves, "swirl": swirl}


def sample_names() -> list[str]:
    """All sample names accepted by :func:`load`: photos, textures and procedural styles."""
    return [*PHOTOS, *TEXTURES, *STYLES]


def sample(name: str, seed: int = 0) -> np.ndarray:
    """A sample image as an (H, W[, C]) uint8 array; procedural styles are generated with ``seed``."""
    if name in STYLES:
        return STYLES[name](seed=seed)
    if name in PHOTOS:
        return PHOTOS[name]()
    if name in TEXTURES:
        return TEXTURES[name]()
    raise ValueError(f"unknown sample {name!r}; known samples: {', '.join(sample_names())}")


# --------------------------------------------------------------------------------------------------
# Conversion


def _pil_to_rgb(im: Image.Image) -> Image.Image:
    """Honour EXIF orientation; gray, palette and CMYK to RGB; RGBA composited on white."""
    im = ImageOps.exif_transpose(im)
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")


def to_tensor(x: np.ndarray | Image.Image) -> Tensor:
    """An image array (H, W), (H, W, 3) or (H, W, 4) or a PIL image to a (1, 3, H, W) tensor in [0, 1]."""
    if isinstance(x, Image.Image):
        x = np.asarray(_pil_to_rgb(x))
    x = np.asarray(x)
    if x.dtype == bool:
        x = x.astype(np.float32)
    elif np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.float32) / np.iinfo(x.dtype).max
    x = x.astype(np.float32)
    if x.ndim == 2:
        x = np.repeat(x[..., None], 3, axis=-1)
    if x.ndim != 3 or x.shape[-1] not in (1, 3, 4):
        raise ValueError(f"expected an image array (H, W), (H, W, 3) or (H, W, 4), got shape {x.shape}")
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    elif x.shape[-1] == 4:
        alpha = x[..., 3:]
        x = x[..., :3] * alpha + (1 - alpha)
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise ValueError("image values must be finite and in [0, 1] (floats) or integers (0..max of dtype)")
    return torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].contiguous()


def check_image(img: Tensor, name: str = "image") -> Tensor:
    """Validate a (1, 3, H, W) float image in [0, 1]; return it. Clear errors for the usual mistakes."""
    if not isinstance(img, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor (1, 3, H, W); use nstlab.images.load(...) to get one")
    if img.ndim == 3:
        raise ValueError(f"{name} has shape {tuple(img.shape)}; add the batch axis with img[None]")
    if img.ndim != 4 or img.shape[1] != 3:
        hint = " (grayscale or RGBA? load it with nstlab.images.load, which converts to RGB)"
        raise ValueError(f"{name} must have shape (B, 3, H, W), got {tuple(img.shape)}{hint}")
    if not img.is_floating_point():
        raise TypeError(f"{name} must be a float tensor in [0, 1], got {img.dtype}; divide by 255")
    if not torch.isfinite(img).all():
        raise ValueError(f"{name} contains NaN or inf")
    return img


def _read_url(url: str, timeout: float) -> Image.Image:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (user-given URL)
            data = r.read()
    except (urllib.error.URLError, TimeoutError, ValueError, OSError) as e:
        raise ValueError(
            f"could not download the image at {url}: {e}. Check the address and your connection, or "
            "download the file yourself and pass its path"
        ) from e
    return Image.open(io.BytesIO(data))


def _open(source: str | Path, timeout: float) -> Image.Image:
    text = str(source)
    if text.startswith(("http://", "https://")):
        im = _read_url(text, timeout)
    else:
        path = Path(text).expanduser()
        if not path.exists():
            raise FileNotFoundError(
                f"no image file at {path}, and {text!r} is not a sample name or a URL; "
                f"samples: {', '.join(sample_names())}"
            )
        try:
            im = Image.open(path)
        except UnidentifiedImageError as e:
            raise ValueError(
                f"cannot read {path} as an image (not a format Pillow knows: PNG, JPEG, BMP, TIFF, WebP ...)"
            ) from e
    try:
        im.load()
    except OSError as e:
        raise ValueError(f"cannot decode the image {text}: {e} (truncated or corrupt file?)") from e
    return im


def load(
    source: ImageSource,
    size: int | None = None,
    max_size: int | None = None,
    seed: int = 0,
    timeout: float = 10.0,
) -> Tensor:
    """Load an image as a (1, 3, H, W) float tensor in [0, 1].

    ``source``: a sample name (see :func:`sample_names`), a file path, an http(s) URL, a PIL image,
    an array or a tensor. ``size`` resizes the long side to that many pixels. ``max_size`` (default:
    the budget's, see :mod:`nstlab.budget`) downscales larger images with a warning, so a 6000 px phone
    photo does not exhaust memory.
    """
    if isinstance(source, Tensor):
        img = check_image(source if source.ndim == 4 else source[None], "image").float()
    elif isinstance(source, np.ndarray | Image.Image):
        img = to_tensor(source)
    elif isinstance(source, str) and source in sample_names():
        img = to_tensor(sample(source, seed=seed))
    elif isinstance(source, str | Path):
        img = to_tensor(_open(source, timeout))
    else:
        raise TypeError(f"cannot load an image from {type(source).__name__}")
    if size is not None:
        img = resize(img, size)
    return limit_size(img, max_size)


def limit_size(img: Tensor, max_size: int | None = None) -> Tensor:
    """Downscale (with a warning) an image whose long side exceeds ``max_size`` (default: the budget's)."""
    if max_size is None:
        from .budget import budget

        max_size = budget().max_size
    if max(img.shape[-2:]) > max_size:
        warnings.warn(
            f"image of {img.shape[-1]}x{img.shape[-2]} px exceeds the budget's {max_size} px long side; "
            f"downscaling to {max_size} (raise NSTLAB_BUDGET or pass a smaller size)",
            stacklevel=2,
        )
        img = resize(img, max_size)
    return img


def resize(img: Tensor, size: int) -> Tensor:
    """Resize so the long side is ``size`` pixels, keeping the aspect ratio (antialiased bilinear)."""
    if not isinstance(size, int | np.integer) or size <= 0:
        raise ValueError(f"size must be a positive number of pixels, got {size!r}")
    h, w = img.shape[-2:]
    scale = size / max(h, w)
    new = (max(1, round(h * scale)), max(1, round(w * scale)))
    if new == (h, w):
        return img
    out = nnf.interpolate(img, size=new, mode="bilinear", align_corners=False, antialias=scale < 1)
    return out.clamp(0, 1)


def to_numpy(img: Tensor) -> np.ndarray:
    """A (1, 3, H, W) tensor to an (H, W, 3) float array in [0, 1] for plotting."""
    return check_image(img).detach()[0].clamp(0, 1).permute(1, 2, 0).cpu().float().numpy()


def save(img: Tensor, path: str | Path) -> Path:
    """Save a (1, 3, H, W) image as PNG/JPEG (by the suffix); creates the folder. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((to_numpy(img) * 255).round().astype(np.uint8)).save(path)
    return path


def show(
    images: Tensor | Sequence[Tensor],
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
    size: float = 3.0,
    suptitle: str | None = None,
):
    """Show images in a grid with titles; returns the matplotlib Figure."""
    import matplotlib.pyplot as plt

    if isinstance(images, Tensor):
        images = [images[i : i + 1] for i in range(images.shape[0])] if images.ndim == 4 else [images]
    images = list(images)
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(images)} images but {len(titles)} titles")
    ncols = ncols or min(len(images), 4)
    nrows = math.ceil(len(images) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(images):
            ax.imshow(to_numpy(images[k]))
            if titles is not None:
                ax.set_title(titles[k], fontsize=10)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig
