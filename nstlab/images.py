"""Images in and out: load (path, URL or sample name), resize, save and show.

Every image in the library is a float tensor of shape (1, 3, H, W) with values in [0, 1] (RGB).
Grayscale images are repeated to three channels, RGBA images composited on white, palette and CMYK
images converted, and the EXIF orientation of photos honoured.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
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

from .validation import (
    ImageSide,
    ImageTensor,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    TensorSpec,
    check_tensor,
    checked,
)

__all__ = [
    "strokes",
    "mosaic",
    "waves",
    "swirl",
    "bands",
    "dots",
    "checkers",
    "noise",
    "flat",
    "marble",
    "leaf_radii",
    "leaf_mean_area",
    "dead_leaves",
    "sample_names",
    "sample",
    "to_tensor",
    "check_image",
    "load",
    "limit_size",
    "aspect_mismatch",
    "resize",
    "shuffle_tiles",
    "to_numpy",
    "check_output_path",
    "check_writable_folder",
    "save",
    "show",
]

ImageSource = str | Path | Image.Image | np.ndarray | Tensor
ASPECT_TOLERANCE = 0.02  # relative difference of aspect ratios (h/w) still resized without complaint


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


@checked
def strokes(size: ImageSide = 512, seed: NonNegativeInt = 0) -> np.ndarray:
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


@checked
def mosaic(size: ImageSide = 512, seed: NonNegativeInt = 0, n_cells: PositiveInt = 90) -> np.ndarray:
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


@checked
def waves(size: ImageSide = 512, seed: NonNegativeInt = 0) -> np.ndarray:
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


@checked
def swirl(size: ImageSide = 512, seed: NonNegativeInt = 0) -> np.ndarray:
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

# --------------------------------------------------------------------------------------------------
# Patterns: the extremes a style image can be (benchmarks/quality.py tests the defaults on them)

_VIVID = ["#e63946", "#1d3557", "#f1c453", "#2a9d8f", "#fefae0", "#111111", "#f77f00", "#7b2cbf"]


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (y, x) in [0, 1)."""
    t = (np.arange(size) + 0.5) / size
    return np.meshgrid(t, t, indexing="ij")


@checked
def bands(size: ImageSide = 512, seed: NonNegativeInt = 0, period: PositiveFloat = 1 / 4) -> np.ndarray:
    """High-contrast periodic colour bands: each channel a full-range sinusoid across wavy stripes, ``period``
    of the side wide, the three a third of a period apart (a rainbow of saturated hues). Its luminance
    barely varies, so a transfer that matches it erases the content's light and dark: the style the
    luminance floor of ``optimize.Objective`` is there for."""
    rng = np.random.default_rng(seed)
    y, x = _grid(size)
    phase = 2 * np.pi * (y + 0.08 * np.sin(2 * np.pi * (2 * x + rng.uniform()))) / period
    shifts = rng.permutation(3) * 2 * np.pi / 3
    rgb = np.stack([0.5 + 0.5 * np.sin(phase + shift) for shift in shifts], axis=-1)
    return (255 * rgb).round().astype(np.uint8)


@checked
def dots(size: ImageSide = 512, seed: NonNegativeInt = 0, n: PositiveInt = 12) -> np.ndarray:
    """Polka dots: an n x n grid of jittered discs in random vivid colours on a dark ground."""
    rng = np.random.default_rng(seed)
    pal = np.array(_palette(rng, _VIVID[:5] + _VIVID[6:]))
    y, x = _grid(size)
    cy, cx = np.floor(y * n), np.floor(x * n)
    jitter = rng.uniform(-0.15, 0.15, (n, n, 2))
    colour = rng.integers(len(pal), size=(n, n))
    iy, ix = cy.astype(int), cx.astype(int)
    dy = y * n - cy - 0.5 - jitter[iy, ix, 0]
    dx = x * n - cx - 0.5 - jitter[iy, ix, 1]
    out = np.full((size, size, 3), (17, 17, 17), np.uint8)
    inside = dy**2 + dx**2 < 0.3**2
    out[inside] = pal[colour[iy, ix]][inside]
    return out


@checked
def checkers(size: ImageSide = 512, seed: NonNegativeInt = 0, n: PositiveInt = 10) -> np.ndarray:
    """A checkerboard of two contrasting colours, n squares a side, turned by a random small angle."""
    rng = np.random.default_rng(seed)
    a, b = np.array(_palette(rng, ["#111111", "#fefae0"])), np.array(_palette(rng, _VIVID[:4]))
    y, x = _grid(size)
    t = rng.uniform(-0.3, 0.3)
    u, v = np.cos(t) * x - np.sin(t) * y, np.sin(t) * x + np.cos(t) * y
    parity = (np.floor(u * n) + np.floor(v * n)).astype(int) % 2
    return np.where(parity[..., None] == 1, a[0], b[0]).astype(np.uint8)


@checked
def noise(size: ImageSide = 512, seed: NonNegativeInt = 0, grain: PositiveInt = 2) -> np.ndarray:
    """Colour noise: independent uniform RGB values in ``grain`` x ``grain`` pixel cells."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 256, size=(-(-size // grain), -(-size // grain), 3))
    return np.repeat(np.repeat(cells, grain, 0), grain, 1)[:size, :size].astype(np.uint8)


@checked
def flat(size: ImageSide = 512, seed: NonNegativeInt = 0, n_fields: PositiveInt = 3) -> np.ndarray:
    """Flat colour fields: a few large areas of one colour each with straight borders and no texture."""
    rng = np.random.default_rng(seed)
    pal = np.array(_palette(rng, _VIVID))
    y, x = _grid(size)
    edges = np.sort(rng.uniform(0.2, 0.8, n_fields - 1))
    field_index = np.searchsorted(edges, y + 0.2 * (x - 0.5))
    return pal[field_index].astype(np.uint8)


@checked
def marble(size: ImageSide = 512, seed: NonNegativeInt = 0) -> np.ndarray:
    """A photo-like texture: 1/f (fractal) noise turned into marble veins in an earthy palette; smooth
    shading over all scales, as in a photograph of stone, instead of drawn edges."""
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(size)
    radius = np.hypot(f[:, None], f[None, :])
    spectrum = (rng.normal(size=(size, size)) + 1j * rng.normal(size=(size, size))) / np.maximum(
        radius, 1 / size
    )
    field = np.fft.ifft2(spectrum).real
    field = (field - field.mean()) / field.std()
    y, x = _grid(size)
    veins = np.abs(np.sin(2 * np.pi * (2 * x + 0.6 * field)))
    light = np.clip(0.5 + 0.18 * field, 0, 1)
    base, vein = np.array([205.0, 190, 165]), np.array([70.0, 55, 50])
    img = (veins[..., None] ** 0.4 * base + (1 - veins[..., None] ** 0.4) * vein) * (
        0.6 + 0.8 * light[..., None]
    )
    return np.clip(img, 0, 255).astype(np.uint8)


def _check_radii(r_min: float, r_max: float) -> None:
    if not r_min < r_max:
        raise ValueError(f"r_min must be below r_max, got r_min={r_min!r} and r_max={r_max!r}")


@checked
def leaf_radii(u: np.ndarray, r_min: PositiveFloat, r_max: PositiveFloat) -> np.ndarray:
    """Radii with density p(r) ~ r^-3 on [r_min, r_max] from uniform ``u`` in [0, 1), by the inverse CDF
    r = (r_min^-2 - u (r_min^-2 - r_max^-2))^-1/2 (a Pareto law truncated at r_max)."""
    _check_radii(r_min, r_max)
    u = np.asarray(u, dtype=float)
    if u.size and not (u.min() >= 0 and u.max() < 1):
        raise ValueError(f"u must hold uniform draws in [0, 1), got values in [{u.min():g}, {u.max():g}]")
    return (r_min**-2 - u * (r_min**-2 - r_max**-2)) ** -0.5


@checked
def leaf_mean_area(r_min: PositiveFloat, r_max: PositiveFloat) -> float:
    """E[pi r^2] under :func:`leaf_radii`: 2 pi ln(r_max / r_min) / (r_min^-2 - r_max^-2)."""
    _check_radii(r_min, r_max)
    return 2 * math.pi * math.log(r_max / r_min) / (r_min**-2 - r_max**-2)


@checked
def dead_leaves(
    size: ImageSide = 512,
    seed: NonNegativeInt = 0,
    r_min: PositiveFloat = 4.0,
    r_max: PositiveFloat = 256.0,
    coverage: PositiveFloat = 8.0,
) -> np.ndarray:
    """The dead leaves model of natural images (Lee, Mumford & Huang 2001, "Occlusion models for natural
    images", IJCV 41): opaque discs of uniform random colour at uniform random positions, each on top of
    the earlier ones, radii r^-3 distributed (:func:`leaf_radii`; scale invariant: every octave of sizes
    covers the same share of the picture). Flat regions of every size with sharp occluding edges, the
    statistics of photographs without their content: unlimited training pictures for decoders that must
    colour flat regions (Achddou et al. 2021, "Synthetic images as a regularity prior for image restoration
    neural networks", trained denoisers on them). ``coverage``: total disc area over the picture's
    (:func:`leaf_mean_area`; at 8 about exp(-8) = 0.03 % of the ground stays bare). Drawn at twice the
    size and downscaled, so the edges are antialiased as a photo's are."""
    _check_radii(r_min, r_max)
    rng = np.random.default_rng(seed)
    n = int(coverage * size * size / leaf_mean_area(r_min, r_max))
    radius = 2 * leaf_radii(rng.uniform(size=n), r_min, r_max)
    centre = rng.uniform(0, 2 * size, (n, 2))
    colour = rng.integers(0, 256, (n, 3))
    img = Image.new("RGB", (2 * size, 2 * size), tuple(int(c) for c in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(img)
    for (x, y), r, c in zip(centre, radius, colour, strict=True):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(v) for v in c))
    return np.asarray(img.resize((size, size), Image.Resampling.BOX))


PATTERNS = {
    "bands": bands,
    "dots": dots,
    "checkers": checkers,
    "noise": noise,
    "flat": flat,
    "marble": marble,
}


@checked
def sample_names() -> list[str]:
    """All sample names accepted by :func:`load`: photos, textures, procedural styles and patterns."""
    return [*PHOTOS, *TEXTURES, *STYLES, *PATTERNS]


@checked
def sample(name: str, seed: NonNegativeInt = 0) -> np.ndarray:
    """A sample image as an (H, W[, C]) uint8 array; procedural styles and patterns use ``seed``."""
    if name in STYLES:
        return STYLES[name](seed=seed)
    if name in PATTERNS:
        return PATTERNS[name](seed=seed)
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


@checked
def to_tensor(x: np.ndarray | Image.Image) -> Tensor:
    """An image array (H, W), (H, W, 3) or (H, W, 4) or a PIL image to a (1, 3, H, W) tensor in [0, 1]."""
    if isinstance(x, Image.Image):
        x = np.asarray(_pil_to_rgb(x))
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"expected an image array of numbers (uint8, float, bool), got dtype {x.dtype}")
    if x.size == 0:
        raise ValueError(f"the image array is empty (shape {x.shape}); an image needs at least one pixel")
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
        raise ValueError(
            f"an image array of floats must be finite with values in [0, 1], got values in [{x.min():.4g}, "
            f"{x.max():.4g}]; divide 0-255 pixel values by 255 (or pass the uint8 array itself)"
        )
    return torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].contiguous()


@checked
def check_image(img: object, name: str = "image", unit_range: bool = False) -> Tensor:
    """Validate a (B, 3, H, W) float image and return it; each usual mistake (no batch axis, grayscale,
    RGBA, NaN) gets its own message naming ``name``, and with ``unit_range`` values outside [0, 1]
    (0-255 pixel values) too (``validation.ImageTensor``). Without it, a picture in another colour space
    (YIQ, l-alpha-beta) or a decoder's unclamped output passes."""
    return check_tensor(img, name, TensorSpec(image=True, unit=unit_range))


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
        if path.is_dir():
            raise ValueError(f"{path} is a folder, not an image file; give the path of one image")
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


@checked
def load(
    source: ImageSource,
    size: ImageSide | None = None,
    max_size: ImageSide | None = None,
    seed: NonNegativeInt = 0,
    timeout: PositiveFloat = 10.0,
) -> Tensor:
    """Load an image as a (1, 3, H, W) float tensor in [0, 1].

    ``source``: a sample name (see :func:`sample_names`), a file path, an http(s) URL, a PIL image,
    an array or a tensor. ``size`` resizes the long side to that many pixels. ``max_size`` downscales a
    larger result with a warning (None: no limit). ``load`` reads no environment: the entry points
    (``optimize.stylize``, the CLI, video) pass the budget's limit, ``budget().max_size``, so a 6000 px
    phone photo does not exhaust memory.
    """
    if isinstance(source, Tensor):
        img = check_image(source if source.ndim == 4 else source[None], "source", unit_range=True).float()
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


@checked
def limit_size(img: Tensor, max_size: ImageSide | None) -> Tensor:
    """Downscale (with a warning) an image whose long side exceeds ``max_size``; None: no limit."""
    if max_size is None:
        return img
    if not isinstance(max_size, int | np.integer) or isinstance(max_size, bool) or max_size <= 0:
        raise ValueError(f"max_size must be a positive number of pixels or None (no limit), got {max_size!r}")
    if max(img.shape[-2:]) > max_size:
        warnings.warn(
            f"image of {img.shape[-1]}x{img.shape[-2]} px exceeds the {max_size} px long side allowed "
            f"(max_size, the budget's limit); downscaling to {max_size} (raise NSTLAB_BUDGET or pass a "
            "smaller size)",
            stacklevel=2,
        )
        img = resize(img, max_size)
    return img


@checked
def aspect_mismatch(shape: Sequence[int], target: Sequence[int]) -> bool:
    """True when the aspect ratios h/w of ``shape`` and ``target`` (H, W) differ by more than
    ``ASPECT_TOLERANCE`` relative: a mask or start image that cannot be resized to the image unchanged."""
    for name, dims in (("shape", shape), ("target", target)):
        if len(dims) < 2 or min(tuple(dims)[-2:]) < 1:
            raise ValueError(f"{name} must end in (H, W) with H, W >= 1, got {tuple(dims)}")
    (h, w), (H, W) = tuple(shape)[-2:], tuple(target)[-2:]
    return abs(h / w - H / W) > ASPECT_TOLERANCE * H / W


@checked
def resize(img: ImageTensor, size: ImageSide) -> Tensor:
    """Resize so the long side is ``size`` pixels, keeping the aspect ratio (antialiased bilinear)."""
    h, w = img.shape[-2:]
    scale = size / max(h, w)
    new = (max(1, round(h * scale)), max(1, round(w * scale)))
    if new == (h, w):
        return img
    out = nnf.interpolate(img, size=new, mode="bilinear", align_corners=False, antialias=scale < 1)
    return out.clamp(0, 1)


@checked
def shuffle_tiles(img: Tensor, tile: PositiveInt, seed: NonNegativeInt = 0) -> Tensor:
    """The image cropped to whole ``tile`` x ``tile`` squares, the squares put in a random (seeded) order.

    Every statistic over windows smaller than a tile barely changes; windows that span tiles see a new
    arrangement. Chapter 04 uses it to tell the layers that see arrangement from those that see texture.
    """
    check_image(img)
    B, C, H, W = img.shape
    if isinstance(tile, bool) or not isinstance(tile, int) or not 1 <= tile <= min(H, W):
        raise ValueError(f"tile must be an int from 1 to the image's shorter side {min(H, W)}, got {tile!r}")
    h, w = H // tile, W // tile
    grid = img[..., : h * tile, : w * tile].reshape(B, C, h, tile, w, tile).permute(0, 2, 4, 1, 3, 5)
    order = torch.randperm(h * w, generator=torch.Generator().manual_seed(seed)).to(img.device)
    shuffled = grid.reshape(B, h * w, C, tile, tile)[:, order].reshape(B, h, w, C, tile, tile)
    return shuffled.permute(0, 3, 1, 4, 2, 5).reshape(B, C, h * tile, w * tile)


@checked
def to_numpy(img: Tensor) -> np.ndarray:
    """A (1, 3, H, W) tensor to an (H, W, 3) float array in [0, 1] for plotting."""
    return check_image(img).detach()[0].clamp(0, 1).permute(1, 2, 0).cpu().float().numpy()


@checked
def check_output_path(path: str | Path) -> Path:
    """The path an image can be saved to: a suffix Pillow writes (.png, .jpg, ...) and no existing file
    where a folder of the path must go. Raises ValueError saying which; returns the path (~ expanded)."""
    path = Path(path).expanduser()
    suffixes = {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.SAVE}
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give a file name such as {path / 'out.png'}")
    if path.suffix.lower() not in suffixes:
        raise ValueError(
            f"cannot save an image as {path.name!r}: give the file a suffix such as .png or .jpg"
        )
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise ValueError(f"cannot save to {path}: {parent} is a file, not a folder")
        if parent.is_dir():
            if not os.access(parent, os.W_OK | os.X_OK):
                raise ValueError(f"cannot save to {path}: the folder {parent} is not writable")
            break
    return path


@checked
def check_writable_folder(folder: str | Path) -> Path:
    """``folder`` (~ expanded), created if missing, after checking that a file can be written in it: a long
    run finds out before it starts, not at its end. Raises ValueError naming the folder."""
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise ValueError(f"cannot write to the folder {folder}: {e.strerror or e}") from None
    return folder


@checked
def save(img: ImageTensor, path: str | Path) -> Path:
    """Save a (1, 3, H, W) image as PNG/JPEG (by the suffix); creates the folder. Returns the path."""
    path = check_output_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((to_numpy(img) * 255).round().astype(np.uint8)).save(path)
    return path


@checked
def show(
    images: Tensor | Sequence[Tensor],
    titles: Sequence[str] | None = None,
    ncols: PositiveInt | None = None,
    size: PositiveFloat = 3.0,
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
