"""Stain (colour) normalization of medical images: the statistics-matching idea of style transfer applied to
pixels.

Slides stained in different labs, or fundus photos from different cameras, show the same structures in
different colours, and a model trained on one lab's colours fails on another's. Normalization moves a
*source* image's colour statistics to those of a *target* (reference) image and must leave the structure
alone: nuclei, vessels and their shapes are the diagnosis.

Methods, all "match the statistics of the pixels as 3-D features":

- ``"reinhard"`` (Reinhard, Ashikhmin, Gooch & Shirley 2001, "Color Transfer between Images"): in the
  decorrelated l-alpha-beta space of Ruderman et al. (log-LMS cone responses, then
  l = (L + M + S)/sqrt(3), alpha = (L + M - 2S)/sqrt(6), beta = (L - M)/sqrt(2)) each channel is moved to
  the target's mean and std: y = (sigma_t / sigma_s)(x - mu_s) + mu_t. The standard baseline of stain
  normalization in histopathology.
- ``"adain"``: the same per-channel moment matching in RGB, i.e. AdaIN on the three colour channels
  (:func:`nstlab.transforms.adain`).
- ``"wct"``: whitening and colouring of the RGB pixels: mean and full 3x3 covariance of the target
  (:func:`nstlab.transforms.wct`), so correlations between channels move too.

What changes: the colour statistics (channel means, stds, for WCT the covariances). What must not: the
structure, measured by the SSIM (Wang et al. 2004) between the luminance of the result and of the source.
Every method here maps each pixel's colour by one global function, so edges stay where they are, but a
steep map can lower local contrast or clip it at 0 and 1; SSIM sees that.
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.color import hed2rgb, rgb2hed
from skimage.metrics import structural_similarity
from torch import Tensor

from .color import luminance
from .images import check_image, to_numpy
from .transforms import adain, wct
from .validation import PositiveFloat, check_same_shape, checked

__all__ = [
    "rgb_to_lab",
    "lab_to_rgb",
    "channel_moments",
    "reinhard",
    "normalize",
    "moment_error",
    "structure_ssim",
    "restain",
    "recolor",
    "crop",
    "compare",
]

METHODS = ("reinhard", "adain", "wct")

# Reinhard et al. 2001, eq. 1 (RGB -> LMS) and eq. 4/6 (log LMS -> l alpha beta); the inverses are exact.
_RGB_TO_LMS = torch.tensor(
    [[0.3811, 0.5783, 0.0402], [0.1967, 0.7244, 0.0782], [0.0241, 0.1288, 0.8444]], dtype=torch.float64
)
_LMS_TO_LAB = torch.diag(torch.tensor([3.0, 6.0, 2.0], dtype=torch.float64).rsqrt()) @ torch.tensor(
    [[1.0, 1.0, 1.0], [1.0, 1.0, -2.0], [1.0, -1.0, 0.0]], dtype=torch.float64
)
STD_FLOOR = 1e-12  # a flat channel's std is replaced by this (no division by 0; it stays flat)
LMS_FLOOR = 1e-4  # log10 of a black pixel: LMS responses are floored here (about 1/40 of one 8-bit level)

PerChannel = tuple[PositiveFloat, PositiveFloat, PositiveFloat]  # one positive factor per channel


def _apply(matrix: Tensor, img: Tensor) -> Tensor:
    return torch.einsum("ij,bjhw->bihw", matrix.to(img), img)


@checked
def rgb_to_lab(img: Tensor) -> Tensor:
    """RGB in [0, 1] (B, 3, H, W) to Reinhard's l-alpha-beta (float64 inside, returned in img's dtype)."""
    check_image(img, "img")
    lms = _apply(_RGB_TO_LMS, img.double()).clamp_min(LMS_FLOOR)
    return _apply(_LMS_TO_LAB, lms.log10()).to(img.dtype)


@checked
def lab_to_rgb(lab: Tensor) -> Tensor:
    """Inverse of :func:`rgb_to_lab` (not clamped)."""
    check_image(lab, "lab")
    log_lms = _apply(torch.linalg.inv(_LMS_TO_LAB), lab.double())
    return _apply(torch.linalg.inv(_RGB_TO_LMS), 10**log_lms).to(lab.dtype)


@checked
def channel_moments(img: Tensor, space: str = "lab") -> tuple[Tensor, Tensor]:
    """Per-channel mean and std (population) over the pixels, each (3,) float64, in ``space``
    ("lab": Reinhard's l-alpha-beta, "rgb")."""
    x = rgb_to_lab(img) if space == "lab" else check_image(img) if space == "rgb" else None
    if x is None:
        raise ValueError(f"space must be 'lab' or 'rgb', got {space!r}")
    M = x.double().flatten(2)[0]
    return M.mean(-1), M.std(-1, correction=0)


@checked
def reinhard(source: Tensor, target: Tensor, clamp: bool = True) -> Tensor:
    """Reinhard et al. 2001 colour transfer: in l-alpha-beta, y = (sigma_t / sigma_s)(x - mu_s) + mu_t per
    channel; back to RGB, clamped to [0, 1] unless ``clamp=False``."""
    ls, lt = rgb_to_lab(source.double()), rgb_to_lab(target.double())
    mu_s, sd_s = ls.mean((-1, -2), keepdim=True), ls.std((-1, -2), keepdim=True, correction=0)
    mu_t, sd_t = lt.mean((-1, -2), keepdim=True), lt.std((-1, -2), keepdim=True, correction=0)
    out = lab_to_rgb((ls - mu_s) * sd_t / sd_s.clamp_min(STD_FLOOR) + mu_t).to(source.dtype)
    return out.clamp(0, 1) if clamp else out


@checked
def normalize(source: Tensor, target: Tensor, method: str = "reinhard", clamp: bool = True) -> Tensor:
    """The source image with the target's colour statistics by ``method`` (see the module docstring);
    clamped to [0, 1] unless ``clamp=False`` (then the moments match exactly)."""
    check_image(source, "source")
    check_image(target, "target")
    if method == "reinhard":
        return reinhard(source, target, clamp)
    if method == "adain":
        out = adain(source, target, eps=1e-10)
    elif method == "wct":
        out = wct(source, target, eps=1e-10)
    else:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    return out.clamp(0, 1) if clamp else out


@checked
def moment_error(img: Tensor, target: Tensor, space: str = "lab") -> float:
    """RMS over the 3 channels and the 2 moments of (mean, std)(img) - (mean, std)(target) in ``space``."""
    (m1, s1), (m2, s2) = channel_moments(img, space), channel_moments(target, space)
    return float(torch.cat([m1 - m2, s1 - s2]).pow(2).mean().sqrt())


@checked
def structure_ssim(img: Tensor, source: Tensor) -> float:
    """SSIM (Wang et al. 2004; ``skimage.metrics.structural_similarity``, data range 1) between the
    luminance of ``img`` and of ``source``, each standardized to mean 0, std 1 first so that a global
    brightness or contrast change (what normalization is meant to do) does not count, only structure.
    1 = same structure; a picture of something else scores near 0."""
    check_same_shape(img, source, ("img", "source"))
    a, b = (luminance(x.double())[0, 0].detach().cpu().numpy() for x in (img, source))
    a, b = ((x - x.mean()) / max(x.std(), STD_FLOOR) for x in (a, b))
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    return float(structural_similarity(a, b, data_range=hi - lo))


@checked
def restain(img: Tensor, scale: PerChannel = (1.6, 1.0, 0.5)) -> Tensor:
    """Simulate another lab's staining of an H-DAB (or H&E) slide: unmix the stains by colour
    deconvolution (Ruifrok & Johnston 2001, ``skimage.color.rgb2hed``), multiply the hematoxylin, eosin
    and DAB concentrations by ``scale`` and mix back (``hed2rgb``). Structure stays; colours change."""
    hed = rgb2hed(to_numpy(img)) * np.asarray(scale)
    return torch.from_numpy(hed2rgb(hed).clip(0, 1).astype(np.float32)).permute(2, 0, 1)[None]


@checked
def recolor(
    img: Tensor,
    gain: PerChannel = (0.8, 1.0, 1.25),
    gamma: PerChannel = (1.3, 1.0, 0.8),
) -> Tensor:
    """Simulate another camera: per RGB channel out = gain * in^gamma, clamped to [0, 1]."""
    g = torch.tensor(gain, dtype=img.dtype).view(1, 3, 1, 1)
    p = torch.tensor(gamma, dtype=img.dtype).view(1, 3, 1, 1)
    return (g * check_image(img).clamp_min(0) ** p).clamp(0, 1)


@checked
def crop(img: Tensor, top: float, left: float, size: float) -> Tensor:
    """A square crop: ``top``, ``left`` and ``size`` as fractions of the image's height / width."""
    H, W = img.shape[-2:]
    n = round(size * min(H, W))
    y, x = round(top * H), round(left * W)
    if y + n > H or x + n > W or n < 8:
        raise ValueError(f"crop ({top}, {left}, {size}) does not fit a {H}x{W} image")
    return img[..., y : y + n, x : x + n]


@checked
def compare(
    source: Tensor, target: Tensor, methods: tuple[str, ...] = METHODS, truth: Tensor | None = None
) -> dict[str, dict[str, float]]:
    """For each method: the moment error vs the target in l-alpha-beta and in RGB (what must change:
    lower is better), the structure SSIM vs the source (what must not: near 1), and, when the
    unaltered ``truth`` is known (a simulated restaining), the mean abs pixel error vs it. The row
    ``"source"`` is the unnormalized source."""
    if truth is not None:
        check_same_shape(truth, source, ("truth", "source"))
    out = {}
    for name in ("source", *methods):
        img = source if name == "source" else normalize(source, target, name)
        row = {
            "moment_err_lab": moment_error(img, target, "lab"),
            "moment_err_rgb": moment_error(img, target, "rgb"),
            "ssim_vs_source": structure_ssim(img, source),
        }
        if truth is not None:
            row["abs_err_vs_truth"] = float((img - truth).abs().mean())
        out[name] = row
    return out
