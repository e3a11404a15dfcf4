"""The gallery: each effect the chapters measure at a small budget, converged and beside its control.

A chapter's live experiment runs at the ``ci`` or ``laptop`` budget (small pictures, few steps), where
several effects of the text are too faint to see. Each :class:`Figure` here shows one claim at a size and
step count where the optimization has converged, next to its control: the same content and style with
one knob changed. ``nstlab gallery`` (``make gallery``) makes them all, resumably, and writes for each
``gallery/<name>.jpg`` and ``gallery/<name>.json``: the command, inputs, settings, seed, seconds, the
measured numbers the caption shows, the signed ``effect`` (> 0: the claim holds as stated) and the
picture's size and SHA-256. :func:`show` displays a figure with its caption filled from its json, so no
caption number is typed by hand.

Yardsticks that the optimization did not use: the Gram distance in a seeded random network
(:func:`nstlab.decoders.random_net_grams`), the content SSIM, spectra of the picture
(:mod:`nstlab.receptive`, :mod:`nstlab.artifacts`), the chroma statistics of :mod:`nstlab.color`.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import itertools
import json
import time
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import torch
from PIL import Image
from torch import Tensor
from tqdm.auto import tqdm

from . import artifacts, backbones, color, decoders, images, losses, optimize, receptive, stats, transforms
from .layers import WIDTHS
from .validation import NonNegativeInt, PositiveInt, check_fields, checked

__all__ = [
    "GALLERY",
    "FIGURES",
    "Config",
    "Figure",
    "Made",
    "coarse_power",
    "periodic_share",
    "make",
    "make_all",
    "record",
    "caption",
    "show",
]

GALLERY = Path(__file__).resolve().parent.parent / "gallery"
"""The folder of the shipped pictures and their json: ``gallery/`` in the course checkout."""
JPEG_QUALITY = 85


@dataclass(frozen=True)
class Config:
    """The settings every figure shares: the content's long side, the optimization steps, the seed."""

    size: PositiveInt = 256
    steps: PositiveInt = 200
    seed: NonNegativeInt = 0

    def __post_init__(self) -> None:
        check_fields(self)


class Made(NamedTuple):
    """What a figure's maker returns: the panels (1, 3, H, W) in [0, 1], their titles, the numbers."""

    panels: list[Tensor]
    titles: list[str]
    numbers: dict[str, float]


@dataclass(frozen=True)
class Figure:
    """One claim of the text, shown converged beside its control.

    ``caption`` is a format string over the figure's ``numbers``; ``effect`` names the number whose sign
    says whether the claim holds (> 0) on this figure; ``inputs`` are the images it uses."""

    name: str
    chapter: str
    claim: str
    inputs: Mapping[str, str]
    caption: str
    effect: str
    maker: Callable[[Figure, Config], Made]

    def __post_init__(self) -> None:
        check_fields(self)


# ----------------------------------------------------------------------------------------------------
# Yardsticks
# ----------------------------------------------------------------------------------------------------


@checked
def coarse_power(img: Tensor, period: PositiveInt = 16) -> float:
    """Fraction of the gray image's AC power at wavelengths longer than ``period`` pixels,
    sum_{0 < |f| < 1/period} P(f) / sum_{f != 0} P(f), with P the power spectrum of the gray image (mean
    over colours) minus its mean: near 0 for pixel-scale noise, near 1 for structures larger than
    ``period``. (``img`` (1, C, H, W); any real values, e.g. a difference of two pictures.)"""
    g = img.detach()[0].mean(0).double().cpu()
    power = torch.fft.fft2(g - g.mean()).abs().pow(2)
    fy = torch.fft.fftfreq(g.shape[0], dtype=torch.float64)[:, None]
    fx = torch.fft.fftfreq(g.shape[1], dtype=torch.float64)[None, :]
    f = torch.hypot(fy, fx)
    total = float(power.sum())
    if total <= 1e-20 * g.numel():
        raise ValueError("the image is constant: it has no spectrum to split")
    return float(power[(f > 0) & (f < 1 / period)].sum()) / total


def _texture_distance(x: Tensor, style: Tensor) -> float:
    """Relative Gram distance of ``x`` to ``style`` in the seeded random network (0: the same Gram
    matrices)."""
    gs = decoders.random_net_grams(style)
    return decoders.gram_distance(decoders.random_net_grams(x), gs)


def _palette_distance(x: Tensor, y: Tensor, directions: int = 64) -> float:
    """Sliced W2 between the pixel colours of ``x`` and ``y`` (RGB points, 64 fixed directions)."""
    X, Y = x[0].flatten(1).double(), y[0].flatten(1).double()
    return float(losses.sliced_w2(X, Y, n_projections=directions, seed=0).sqrt())


def _stylize(content: Any, style: Any, cfg: Config, **options: Any) -> Tensor:
    options.setdefault("steps", cfg.steps)
    return optimize.stylize(content, style, size=cfg.size, seed=cfg.seed, progress=True, **options).image


def _synthesize(style: Tensor, cfg: Config, **options: Any) -> Tensor:
    return _stylize(None, style, cfg, init="noise", **options)


def _load(name: str, size: int) -> Tensor:
    return images.load(name, size=size)


# ----------------------------------------------------------------------------------------------------
# The figures, one per claim (the chapter that measures it first)
# ----------------------------------------------------------------------------------------------------


def _gram_texture(fig: Figure, cfg: Config) -> Made:
    style = _load(fig.inputs["style"], cfg.size)
    means = _synthesize(style, cfg, style_loss="mmd_linear")
    gram = _synthesize(style, cfg, style_loss="gram")
    numbers = {"d_means": _texture_distance(means, style), "d_gram": _texture_distance(gram, style)}
    numbers["effect"] = numbers["d_means"] - numbers["d_gram"]
    titles = ["style", "control: channel means only", "Gram matrices"]
    return Made([style, means, gram], titles, numbers)


def _shrunk_gram(lam: float) -> losses.StyleLoss:
    """The Gram loss against the shrunk target (1 - lam) G + lam (tr G / C) I."""
    return losses.StyleLoss(
        f"gram_shrunk_{lam}",
        lambda Fs: stats.shrink(stats.gram(Fs), lam, target="scaled_identity"),
        losses.gram_loss,
    )


def _vgg_style_loss(img: Tensor, style: Tensor) -> float:
    """Gatys' normalized Gram style loss of ``img`` against ``style`` at the five style layers (the
    yardstick of chapter 02: what the optimization matches, against the style we wanted)."""
    net = backbones.load_backbone("vgg16-hed")
    yardstick = optimize.Objective(
        net, style=style, style_layers=optimize.STYLE_LAYERS, style_weight=1.0, tv_weight=0.0
    )
    with torch.no_grad():
        return float(yardstick(img)[1]["style"])


def _shrinkage(fig: Figure, cfg: Config) -> Made:
    full = _load(fig.inputs["style"], 2 * cfg.size)
    side = max(16, round(48 * cfg.size / 256))
    top, left = (full.shape[-2] - side) // 2, (full.shape[-1] - side) // 2
    swatch = full[..., top : top + side, left : left + side]
    content = _load(fig.inputs["content"], cfg.size)
    runs = {
        "full style image": (full, "gram"),
        "swatch, raw Gram": (swatch, "gram"),
        "swatch, lambda 0.5": (swatch, _shrunk_gram(0.5)),
        "swatch, lambda 0.9": (swatch, _shrunk_gram(0.9)),
    }
    out = {
        k: _stylize(content, s, cfg, style_loss=loss, style_size=max(s.shape[-2:]))
        for k, (s, loss) in runs.items()
    }
    numbers = {"swatch_px": side}
    for key, img in zip(("full", "raw", "half", "strong"), out.values(), strict=True):
        numbers[f"vgg_{key}"] = _vgg_style_loss(img, full)
        numbers[f"style_{key}"] = decoders.style_distance(img, content, full)
        numbers[f"ssim_{key}"] = decoders.content_ssim(img, content)
        numbers[f"colour_{key}"] = float(img[0].std(dim=0).mean())
    # holds only when both yardsticks find lambda = 0.5 closer to the whole style than the raw swatch
    numbers["effect"] = min(
        numbers["vgg_raw"] / numbers["vgg_half"] - 1, numbers["style_raw"] / numbers["style_half"] - 1
    )
    return Made([full, swatch, *out.values()], ["style", f"{side} px swatch", *out], numbers)


def _style_weight(fig: Figure, cfg: Config) -> Made:
    content, style = _load(fig.inputs["content"], cfg.size), _load(fig.inputs["style"], cfg.size)
    factors = {"tiny": 0.001, "low": 0.03, "default": 1.0, "high": 30.0}
    beta = optimize.DEFAULT_STYLE_WEIGHT
    floors_off = {"luminance_floor": None, "edge_floor": None}  # Gatys' objective (chapter 03)
    out = [_stylize(content, style, cfg, style_weight=f * beta, **floors_off) for f in factors.values()]
    numbers: dict[str, float] = {}
    for f, img in zip(factors, out, strict=True):
        numbers[f"style_{f}"] = decoders.style_distance(img, content, style)
        numbers[f"ssim_{f}"] = decoders.content_ssim(img, content)
    # holds when more style weight gives more style and less of the photo's structure, step by step
    numbers["effect"] = min(
        min(numbers[f"style_{a}"] - numbers[f"style_{b}"], numbers[f"ssim_{a}"] - numbers[f"ssim_{b}"])
        for a, b in itertools.pairwise(factors)
    )
    titles = [f"style weight x {f:g}" + (" (default)" if f == 1 else "") for f in factors.values()]
    return Made([content, style, *out], ["content", "style", *titles], numbers)


def _layer_sweep(fig: Figure, cfg: Config) -> Made:
    from .widgets import DEFAULT_LAYER_SETS

    style = _load(fig.inputs["style"], cfg.size)
    out, numbers = {}, {}
    for name, layers in DEFAULT_LAYER_SETS.items():
        out[name] = _synthesize(style, cfg, style_layers=list(layers))
        key = layers[-1]
        numbers[f"s_eff_{key}"] = receptive.effective_scale(list(layers), backbone="vgg16")
        numbers[f"coarse_{key}"] = coarse_power(out[name])
        numbers[f"wavelength_{key}"] = receptive.texture_wavelength(out[name])
    numbers["coarse_style"] = coarse_power(style)
    numbers["effect"] = numbers["coarse_relu5_1"] - numbers["coarse_relu1_1"]
    titles = ["style"] + [f"style layers {name}" for name in out]
    return Made([style, *out.values()], titles, numbers)


RATIO_CHOICES = {  # (style layers, content layers)
    "shallow style over relu4_2": (("relu1_1", "relu2_1"), ("relu4_2",)),
    "Gatys' layers": (optimize.STYLE_LAYERS, optimize.CONTENT_LAYERS),
    "deep style over relu2_2": (("relu3_1", "relu4_1", "relu5_1"), ("relu2_2",)),
}


def _content_style_ratio(fig: Figure, cfg: Config) -> Made:
    content, style = _load(fig.inputs["content"], cfg.size), _load(fig.inputs["style"], cfg.size)
    out, numbers = [], {}
    for key, (s_layers, c_layers) in zip(("shallow", "gatys", "deep"), RATIO_CHOICES.values(), strict=True):
        img = _stylize(content, style, cfg, style_layers=list(s_layers), content_layers=list(c_layers))
        out.append(img)
        numbers[f"R_{key}"] = receptive.scale_ratio(list(s_layers), list(c_layers), backbone="vgg16")
        numbers[f"coarse_{key}"] = coarse_power(img - content)  # the texture the style added
        numbers[f"ssim_{key}"] = decoders.content_ssim(img, content)
    numbers["effect"] = numbers["coarse_deep"] - numbers["coarse_shallow"]
    keys = ("shallow", "gatys", "deep")
    titles = [f"{name}\nR = {numbers[f'R_{k}']:.2f}" for name, k in zip(RATIO_CHOICES, keys, strict=True)]
    return Made([content, style, *out], ["content", "style", *titles], numbers)


def _contrast(img: Tensor) -> float:
    return float(color.luminance(img).std())


def _adain_moments(fig: Figure, cfg: Config) -> Made:
    content, style = _load(fig.inputs["content"], cfg.size), _load(fig.inputs["style"], cfg.size)
    decoder = decoders.shipped_decoder()
    fc, fs = decoders.encode(content, decoder.layer), decoders.encode(style, decoder.layer)
    mu_c, sd_c = stats.mean_std(fc[0].flatten(1))
    mu_s, sd_s = stats.mean_std(fs[0].flatten(1))
    targets = {
        "means only (std of the content)": transforms.adain_to_moments(fc, mu_s, sd_c),
        "stds only (mean of the content)": transforms.adain_to_moments(fc, mu_c, sd_s),
        "AdaIN: means and stds": transforms.adain(fc, fs),
    }
    targets = {"decoded content (no transfer)": fc, **targets}
    out = {k: decoders.decode(t, decoder, size=tuple(content.shape[-2:])) for k, t in targets.items()}
    mean_rgb = lambda x: x[0].flatten(1).mean(1)  # noqa: E731
    numbers = {}
    for key, img in zip(("content", "means", "stds", "adain"), out.values(), strict=True):
        numbers[f"colour_{key}"] = float((mean_rgb(img) - mean_rgb(style)).norm())
        numbers[f"contrast_{key}"] = abs(_contrast(img) - _contrast(style))
    # at once: AdaIN brings the colour that the stds alone miss and the contrast that the means alone miss
    numbers["effect"] = min(
        numbers["colour_stds"] - numbers["colour_adain"],
        numbers["contrast_means"] - numbers["contrast_adain"],
    )
    return Made([content, style, *out.values()], ["content", "style", *out], numbers)


WCT_EPS = {"tiny": 1e-10, "small": 1e-5}
SINGULAR_SIDE = 60  # px: relu3_1 then has 10 x 15 = 150 positions for C = 256 channels (singular)


def _wct_float32(fc: Tensor, fs: Tensor, eps: float) -> Tensor:
    """The naive WCT: covariances, eigh and the map in float32, whitening with (lam + eps)^(-1/2) on every
    direction (no truncation). (:func:`nstlab.transforms.wct` computes in float64.)"""
    Mc, Ms = fc[0].flatten(1), fs[0].flatten(1)
    mu_c, mu_s = Mc.mean(1, keepdim=True), Ms.mean(1, keepdim=True)
    Xc, Xs = Mc - mu_c, Ms - mu_s
    lam_c, E_c = torch.linalg.eigh(Xc @ Xc.T / Xc.shape[1])
    lam_s, E_s = torch.linalg.eigh(Xs @ Xs.T / Xs.shape[1])
    whiten = E_c @ torch.diag((lam_c.clamp(min=0) + eps).rsqrt()) @ E_c.T
    colour = E_s @ torch.diag(lam_s.clamp(min=0).sqrt()) @ E_s.T
    return (colour @ whiten @ Xc + mu_s).reshape(fc.shape)


def _null_eigenvalues(features: Tensor, dtype: torch.dtype) -> float:
    """The largest |eigenvalue| of the covariance on its N - 1 < C null directions, relative to the
    largest eigenvalue, computed in ``dtype``: 0 in exact arithmetic, the rounding noise otherwise."""
    M = features[0].flatten(1).to(dtype)
    X = M - M.mean(1, keepdim=True)
    lam = torch.linalg.eigvalsh(X @ X.T / X.shape[1])  # ascending
    null = lam[: X.shape[0] - (X.shape[1] - 1)]
    return float(null.abs().max() / lam[-1])


def _wct_eps(fig: Figure, cfg: Config) -> Made:
    content = _load(fig.inputs["content"], SINGULAR_SIDE)
    style = _load(fig.inputs["style"], cfg.size)
    decoder = decoders.shipped_decoder(kind="reconstruct")
    fc, fs = decoders.encode(content, decoder.layer), decoders.encode(style, decoder.layer)
    targets = {f"float32, eps = {eps:g}": (key, _wct_float32(fc, fs, eps)) for key, eps in WCT_EPS.items()}
    targets["float64 (the library), eps = 1e-10"] = ("float64", transforms.wct(fc, fs, eps=1e-10, rank_tol=0))
    out, numbers = [], {"positions": fc.shape[-2] * fc.shape[-1], "channels": fc.shape[1]}
    for name, dtype in (("null_float32", torch.float32), ("null_float64", torch.float64)):
        numbers[name] = _null_eigenvalues(fc, dtype)
    for key, t in targets.values():
        out.append(decoders.decode(t, decoder, size=tuple(content.shape[-2:])))
        numbers[f"peak_{key}"] = float(t.abs().max() / fs.abs().max())
        numbers[f"ssim_{key}"] = decoders.content_ssim(out[-1], content)
    numbers["effect"] = numbers["ssim_small"] - numbers["ssim_tiny"]
    panels = [_enlarge(x, cfg.size) for x in (content, *out)]
    return Made([panels[0], style, *panels[1:]], ["content", "style", *targets], numbers)


def _enlarge(img: Tensor, size: int) -> Tensor:
    """``img`` scaled (nearest) so that its long side is about ``size``: small pictures shown as they are."""
    factor = max(1, round(size / max(img.shape[-2:])))
    return torch.nn.functional.interpolate(img, scale_factor=factor, mode="nearest")


def _ot_vs_gram(fig: Figure, cfg: Config) -> Made:
    style = _load(fig.inputs["style"], cfg.size)
    gram = _synthesize(style, cfg, style_loss="gram")
    ot = _synthesize(style, cfg, style_loss="sliced_w2")
    numbers = {
        "palette_gram": _palette_distance(gram, style),
        "palette_ot": _palette_distance(ot, style),
        "d_gram": _texture_distance(gram, style),
        "d_ot": _texture_distance(ot, style),
    }
    numbers["effect"] = numbers["palette_gram"] - numbers["palette_ot"]
    return Made([style, gram, ot], ["style", "Gram loss", "sliced W2 loss"], numbers)


def _block_gram_loss(block: int) -> losses.StyleLoss:
    return losses.StyleLoss(
        f"block_gram_{block}", lambda Fs: stats.block_diag_gram(Fs, block), losses.block_gram_loss
    )


def _block_gram(fig: Figure, cfg: Config) -> Made:
    content, style = _load(fig.inputs["content"], cfg.size), _load(fig.inputs["style"], cfg.size)
    runs = {
        "B = 1 (mean squares only)": _block_gram_loss(1),
        "B = 64": _block_gram_loss(64),
        "full Gram": "gram",
    }
    out = {k: _stylize(content, style, cfg, style_loss=loss) for k, loss in runs.items()}
    numbers = {}
    for key, img in zip(("b1", "b64", "full"), out.values(), strict=True):
        numbers[f"style_{key}"] = decoders.style_distance(img, content, style)
    numbers["memory_b64"] = sum(stats.gram_memory_bytes(C, block_size=64) for C in _style_channels())
    numbers["memory_full"] = sum(stats.gram_memory_bytes(C) for C in _style_channels())
    # holds when both block-diagonal losses leave the picture farther from the style than the full one
    numbers["effect"] = min(numbers["style_b1"], numbers["style_b64"]) - numbers["style_full"]
    return Made([content, style, *out.values()], ["content", "style", *out], numbers)


def _style_channels() -> list[int]:
    """C_l of the style layers (relu{b}_1 has WIDTHS[b - 1] channels)."""
    return [WIDTHS[int(name[4]) - 1] for name in optimize.STYLE_LAYERS]


def _zoom(img: Tensor, side: int, factor: int = 4) -> Tensor:
    """The ``side`` x ``side`` crop at the top right corner (the photos' background, where a pattern
    shows plainest), enlarged ``factor`` times (nearest)."""
    crop = img[..., :side, img.shape[-1] - side :]
    return _enlarge(crop, factor * side)


@checked
def periodic_share(img: Tensor, period: PositiveInt) -> float:
    """Share of the luminance's AC power at the bins of period ``period``, (1/p, 0), (0, 1/p) and (1/p, 1/p)
    (signs included), of the Hann-windowed spectrum (:func:`nstlab.artifacts.spectrum`): the stamp of a
    stride-2 upsampling sits at period 2, of two stacked ones also at period 4. 0 for a flat picture."""
    (fy, fx), mag = artifacts.spectrum(artifacts.hann_windowed(artifacts.luminance_signal(img)))
    power = mag.pow(2)
    ay, ax = fy.abs()[:, None], fx.abs()[None, :]
    f = 1 / period
    bins = ((ay == f) & (ax == f)) | ((ay == f) & (ax == 0)) | ((ay == 0) & (ax == f))
    ac = float(power.sum() - power[(ay == 0) & (ax == 0)].sum())
    return float(power[bins].sum()) / ac if ac > 0 else 0.0


def _checkerboard(fig: Figure, cfg: Config) -> Made:
    content, style = _load(fig.inputs["content"], cfg.size), _load(fig.inputs["style"], cfg.size)
    out, numbers = {}, {}
    for variant in ("transposed", "resize"):
        decoder = decoders.shipped_decoder(variant)
        out[variant] = decoders.stylize_fast(content, style, decoder=decoder)
    for key, img in (*out.items(), ("content", content)):
        for period in (2, 4):
            numbers[f"share{period}_{key}"] = 100 * periodic_share(img, period)  # percent
    numbers["effect"] = min(numbers[f"share{p}_transposed"] - 2 * numbers[f"share{p}_resize"] for p in (2, 4))
    side = max(8, cfg.size // 8)
    panels = [out["transposed"], _zoom(out["transposed"], side), out["resize"], _zoom(out["resize"], side)]
    for p in (2, 4):
        numbers[f"ratio{p}"] = numbers[f"share{p}_transposed"] / numbers[f"share{p}_resize"]
    zoom = "top right corner x 4"
    titles = ["transposed convolutions", zoom, "resize, then convolve", zoom]
    return Made(panels, titles, numbers)


def _fast_vs_gatys(fig: Figure, cfg: Config) -> Made:
    content, style = _load(fig.inputs["content"], cfg.size), _load(fig.inputs["style"], cfg.size)
    out, numbers = {}, {}
    teacher = "vgg16-hed"  # the cascade on vgg16-hed; chapter 10 sets the distilled one beside it
    decoders.stylize_fast(content, style, encoder=teacher)  # loads the networks once, outside the timing
    for key, method in (("adain", "adain"), ("wct", "wct")):
        start = time.perf_counter()
        out[f"cascade, {method.upper()}"] = decoders.stylize_fast(
            content, style, method=method, encoder=teacher
        )
        numbers[f"seconds_{key}"] = time.perf_counter() - start
    start = time.perf_counter()
    out[f"stylize, {cfg.steps} L-BFGS steps"] = _stylize(content, style, cfg)
    numbers["seconds_gatys"] = time.perf_counter() - start
    for key, img in zip(("adain", "wct", "gatys"), out.values(), strict=True):
        numbers[f"style_{key}"] = decoders.style_distance(img, content, style)
        numbers[f"ssim_{key}"] = decoders.content_ssim(img, content)
    # about a second against minutes
    slowest = max(numbers["seconds_adain"], numbers["seconds_wct"])
    numbers["effect"] = min(2 - slowest, numbers["seconds_gatys"] / 60 - 1)
    return Made([content, style, *out.values()], ["content", "style", *out], numbers)


def _colour_preservation(fig: Figure, cfg: Config) -> Made:
    content, style = _load(fig.inputs["content"], cfg.size), _load(fig.inputs["style"], cfg.size)
    plain = _stylize(content, style, cfg)
    kept = _stylize(content, style, cfg, preserve_color="luminance")
    chroma = color.chroma_stats(content)
    numbers = {
        "chroma_plain": float((color.chroma_stats(plain) - chroma).norm()),
        "chroma_luminance": float((color.chroma_stats(kept) - chroma).norm()),
        "chroma_style": float((color.chroma_stats(style) - chroma).norm()),
        "ssim_plain": decoders.content_ssim(plain, content),
        "ssim_luminance": decoders.content_ssim(kept, content),
    }
    # the gray style the method transfers: the style's luminance with the content's mean and std
    gray_style = color.match_luminance(style, content)
    gray = [color.luminance_image(kept), color.luminance_image(content), gray_style]
    numbers["style_luminance"] = decoders.style_distance(*gray)  # the texture arrived in the luminance
    # the colours kept (the photo's by construction, up to the clamp) and the style's texture still there
    kept_colours = numbers["chroma_plain"] - numbers["chroma_luminance"]
    numbers["effect"] = min(kept_colours, 1 - numbers["style_luminance"])
    titles = ["content", "style", "style transfer", "luminance only (colours kept)"]
    return Made([content, style, plain, kept], titles, numbers)


FIGURES: dict[str, Figure] = {
    f.name: f
    for f in (
        Figure(
            "gram_texture",
            "01",
            "The Gram matrices of the style layers describe a texture: matching them makes one.",
            {"style": "strokes"},
            "Texture synthesis from noise, matching the style's channel means only (the linear-kernel MMD) "
            "or its Gram matrices (the degree-2 polynomial kernel) at Gatys' five layers. Relative Gram "
            "distance to the style in a random network: {d_means:.2f} (means only), {d_gram:.2f} (Gram).",
            "effect",
            _gram_texture,
        ),
        Figure(
            "shrinkage",
            "02",
            "Shrinkage of the Gram target helps when the style image is small.",
            {"content": "chelsea", "style": "strokes"},
            "Stylized with the whole style image, then with a {swatch_px:.0f} px swatch of it: its raw Gram "
            "matrices, and shrunk toward (tr G / C) I with lambda = 0.5 and 0.9. Gram style loss against the "
            "whole style image (chapter 02's yardstick; the whole-image run optimized it): {vgg_full:.3g} "
            "whole image, {vgg_raw:.3g} raw, "
            "{vgg_half:.3g} lambda 0.5, {vgg_strong:.3g} lambda 0.9. Random-net style distance to the "
            "whole style image (1 = as far as the photo): {style_full:.2f}, {style_raw:.2f}, "
            "{style_half:.2f}, {style_strong:.2f}. Content SSIM: {ssim_full:.2f}, "
            "{ssim_raw:.2f}, {ssim_half:.2f}, {ssim_strong:.2f}. Colourfulness (mean RGB spread): "
            "{colour_full:.3f}, {colour_raw:.3f}, {colour_half:.3f}, {colour_strong:.3f}.",
            "effect",
            _shrinkage,
        ),
        Figure(
            "style_weight",
            "03",
            "The style weight trades the photo's structure for the style's texture.",
            {"content": "chelsea", "style": "strokes"},
            "Gatys' objective (stylize with the floors off) with the style weight at 0.001, 0.03, 1 and 30 "
            "times the default. Random-net "
            "style distance (1 = as far as the photo): {style_tiny:.2f}, {style_low:.2f}, "
            "{style_default:.2f}, {style_high:.2f}; content SSIM: {ssim_tiny:.2f}, {ssim_low:.2f}, "
            "{ssim_default:.2f}, {ssim_high:.2f}.",
            "effect",
            _style_weight,
        ),
        Figure(
            "layer_sweep",
            "04",
            "Deeper style layers give larger, more abstract texture; shallow ones fine, local texture.",
            {"style": "swirl"},
            "Texture synthesis from noise with the style layers from relu1_1 alone to all five (S_eff "
            "{s_eff_relu1_1:.0f}, {s_eff_relu2_1:.0f}, {s_eff_relu3_1:.0f}, {s_eff_relu4_1:.0f}, "
            "{s_eff_relu5_1:.0f} px). Share of the power at wavelengths above 16 px: {coarse_relu1_1:.2f}, "
            "{coarse_relu2_1:.2f}, {coarse_relu3_1:.2f}, {coarse_relu4_1:.2f}, {coarse_relu5_1:.2f} (the "
            "style: {coarse_style:.2f}). Mean wavelength: {wavelength_relu1_1:.1f}, "
            "{wavelength_relu2_1:.1f}, {wavelength_relu3_1:.1f}, {wavelength_relu4_1:.1f}, "
            "{wavelength_relu5_1:.1f} px.",
            "effect",
            _layer_sweep,
        ),
        Figure(
            "scale_ratio",
            "04",
            "R = S_eff / C_eff >> 1 paints small content structures with large style texture.",
            {"content": "chelsea", "style": "strokes"},
            "Three choices of layers, R = {R_shallow:.2f}, {R_gatys:.2f} and {R_deep:.2f}. Share of the "
            "added texture's (stylized minus photo) power at wavelengths above 16 px: {coarse_shallow:.2f}, "
            "{coarse_gatys:.2f}, {coarse_deep:.2f}; content SSIM {ssim_shallow:.2f}, {ssim_gatys:.2f}, "
            "{ssim_deep:.2f}.",
            "effect",
            _content_style_ratio,
        ),
        Figure(
            "adain_moments",
            "05",
            "AdaIN carries the style's colour and contrast at once.",
            {"content": "chelsea", "style": "waves"},
            "relu3_1 features decoded by the shipped decoder as they are, after moving only their channel "
            "means, only their stds, or both (AdaIN). Distance of the mean colour to the style's: decoded "
            "content {colour_content:.3f}, means only {colour_means:.3f}, stds only {colour_stds:.3f}, AdaIN "
            "{colour_adain:.3f}. "
            "Difference of the luminance std from the style's: {contrast_content:.3f}, {contrast_means:.3f}, "
            "{contrast_stds:.3f}, {contrast_adain:.3f}.",
            "effect",
            _adain_moments,
        ),
        Figure(
            "wct_eps",
            "06",
            "WCT with a tiny epsilon blows up the rounding noise in the content's null directions (float32); "
            "regularization tames it.",
            {"content": "chelsea", "style": "waves"},
            "WCT at relu3_1 of a 60 px photo ({positions:.0f} positions for {channels:.0f} channels: a "
            "singular covariance, whose null eigenvalues come out at up to {null_float32:.1e} of the "
            "largest in float32 and {null_float64:.1e} in float64), whitening every direction, decoded by "
            "the shipped reconstruction decoder (pictures enlarged). Largest |feature| over the style's: "
            "{peak_tiny:.2f} (float32, eps 1e-10), {peak_small:.2f} (float32, eps 1e-5), {peak_float64:.2f} "
            "(float64, eps 1e-10). Content SSIM: {ssim_tiny:.2f}, {ssim_small:.2f}, {ssim_float64:.2f}.",
            "effect",
            _wct_eps,
        ),
        Figure(
            "ot_vs_gram",
            "07",
            "An OT loss matches the style's feature distribution, where the Gram matrix matches two moments "
            "and can mix the style's colours into ones it never had.",
            {"style": "mosaic"},
            "Texture synthesis from noise with the Gram loss or the sliced W2 loss at the same layers. "
            "Sliced W2 between the pixel colours and the style's (neither loss compares pixels, but relu1_1, "
            "nearly a linear map of the colours, is one of the matched layers): "
            "{palette_gram:.3f} (Gram), {palette_ot:.3f} (sliced W2). Random-net Gram distance: "
            "{d_gram:.2f}, {d_ot:.2f}.",
            "effect",
            _ot_vs_gram,
        ),
        Figure(
            "block_gram",
            "08",
            "The block-diagonal Gram matrix saves memory and loses the correlations between blocks.",
            {"content": "chelsea", "style": "strokes"},
            "Style loss on the diagonal blocks of the Gram matrices (B = 1: each channel's mean square; "
            "B = 64) or on the whole matrices. Random-net style distance: {style_b1:.3f}, {style_b64:.3f}, "
            "{style_full:.3f}. "
            "Memory of the five targets: {memory_b64:.0f} bytes with B = 64, {memory_full:.0f} full.",
            "effect",
            _block_gram,
        ),
        Figure(
            "checkerboard",
            "09",
            "Transposed convolutions leave checkerboards; resize-then-convolve does not.",
            {"content": "chelsea", "style": "strokes"},
            "The same AdaIN features at relu3_1 decoded by the two shipped decoders that differ only in "
            "their upsampling (two stride-2 steps). Share of the luminance's power at period 2 and period 4: "
            "{share2_transposed:.3f}% and {share4_transposed:.3f}% transposed, {share2_resize:.3f}% and "
            "{share4_resize:.3f}% resize ({ratio2:.0f} and {ratio4:.0f} times less; the photo: "
            "{share2_content:.3f}% and {share4_content:.3f}%).",
            "effect",
            _checkerboard,
        ),
        Figure(
            "fast_vs_gatys",
            "10",
            "A feed-forward transfer takes about a second where the optimization takes minutes.",
            {"content": "astronaut", "style": "swirl"},
            "The coarse-to-fine cascade of decoders (AdaIN, WCT) beside the optimization (stylize at its "
            "defaults). Seconds on this machine: "
            "{seconds_adain:.2f}, {seconds_wct:.2f}, {seconds_gatys:.0f}. Random-net style distance: "
            "{style_adain:.3f}, {style_wct:.3f}, {style_gatys:.3f}; content SSIM {ssim_adain:.2f}, "
            "{ssim_wct:.2f}, {ssim_gatys:.2f}.",
            "effect",
            _fast_vs_gatys,
        ),
        Figure(
            "colour_preservation",
            "11",
            "Transferring on the luminance alone keeps the photo's colours.",
            {"content": "chelsea", "style": "swirl"},
            "stylize at its defaults on RGB, and on the luminance with the content's chrominance put back. "
            "Random-net style distance of the luminance-only result's gray picture to the gray style it was "
            "given (the style's luminance with the photo's mean and std): "
            "{style_luminance:.2f} (1 = as far as the photo's). Distance "
            "of the chroma statistics (mean and std of I and Q) from the photo's: {chroma_plain:.3f} plain, "
            "{chroma_luminance:.3f} luminance only (the style's own: {chroma_style:.3f}); content SSIM "
            "{ssim_plain:.2f}, {ssim_luminance:.2f}.",
            "effect",
            _colour_preservation,
        ),
    )
}


"""The gallery's figures by name, in chapter order: one per claim, at least one per chapter 01-11."""


# ----------------------------------------------------------------------------------------------------
# Making, recording and showing
# ----------------------------------------------------------------------------------------------------


def _draw(made: Made, path: Path) -> tuple[int, int]:
    """The panels side by side with their titles, written as a JPEG; returns (width, height) in px."""
    from matplotlib.figure import Figure as MplFigure

    n = len(made.panels)
    ncols = min(n, 6)
    nrows = -(-n // ncols)
    fig = MplFigure(figsize=(2.6 * ncols, 2.9 * nrows), dpi=100)
    for k in range(nrows * ncols):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        ax.axis("off")
        if k < n:
            ax.imshow(images.to_numpy(made.panels[k].clamp(0, 1)))
            ax.set_title(made.titles[k], fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    picture = Image.open(buf).convert("RGB")
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return picture.size


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _names(code: types.CodeType) -> set[str]:
    """The global names a code object uses, nested functions and comprehensions included."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _code(fig: Figure) -> str:
    """A fingerprint of what makes ``fig``: its inputs, its maker's source and that of every function and
    constant of this module the maker reaches. A changed maker or helper makes the figure again on the
    next run; a changed caption only rewrites the json."""
    parts, seen, todo = [repr(sorted(fig.inputs.items()))], set(), [fig.maker]
    while todo:
        fn = todo.pop()
        if fn in seen:
            continue
        seen.add(fn)
        parts.append(inspect.getsource(fn))
        for name in sorted(_names(fn.__code__)):
            obj = globals().get(name)
            if inspect.isfunction(obj) and obj.__module__ == __name__:
                todo.append(obj)
            elif name.isupper() and isinstance(obj, (dict, tuple, int, float, str)):
                parts.append(f"{name} = {obj!r}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def command(name: str, cfg: Config) -> str:
    """The shell command that makes figure ``name`` with ``cfg``."""
    return f"nstlab gallery --only {name} --size {cfg.size} --steps {cfg.steps} --seed {cfg.seed}"


@checked
def make(name: str, cfg: Config | None = None, out: str | Path = GALLERY) -> dict[str, Any]:
    """Make figure ``name`` (see :data:`FIGURES`) and write ``<out>/<name>.jpg`` and ``<name>.json``;
    returns the json's record."""
    if name not in FIGURES:
        raise ValueError(f"unknown gallery figure {name!r}; choose one of {sorted(FIGURES)}")
    cfg = cfg or Config()
    fig, out = FIGURES[name], Path(out)
    torch.manual_seed(cfg.seed)
    start = time.perf_counter()
    made = fig.maker(fig, cfg)
    seconds = time.perf_counter() - start
    picture = out / f"{name}.jpg"
    width, height = _draw(made, picture)
    numbers = {k: float(v) for k, v in made.numbers.items()}
    entry = {
        "name": name,
        "chapter": fig.chapter,
        "claim": fig.claim,
        "command": command(name, cfg),
        "inputs": dict(fig.inputs),
        "settings": asdict(cfg),
        "code": _code(fig),
        "seconds": round(seconds, 1),
        "numbers": numbers,
        "effect": numbers[fig.effect],
        "holds": numbers[fig.effect] > 0,
        "caption": fig.caption.format(**numbers),
        "picture": {"file": picture.name, "width": width, "height": height, "sha256": _sha256(picture)},
    }
    (out / f"{name}.json").write_text(json.dumps(entry, indent=1) + "\n")
    return entry


@checked
def record(name: str, out: str | Path = GALLERY) -> dict[str, Any]:
    """The json record of figure ``name`` (a clear error when it has not been made)."""
    path = Path(out) / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"no gallery record {path}; make it with `{command(name, Config())}`")
    return json.loads(path.read_text())


def _is_current(name: str, cfg: Config, out: Path) -> bool:
    """Whether figure ``name`` was made with ``cfg`` by its current code, and its picture is the one its
    json names."""
    try:
        entry = record(name, out)
    except FileNotFoundError:
        return False
    picture = out / entry["picture"]["file"]
    return (
        entry["settings"] == asdict(cfg)
        and entry.get("code") == _code(FIGURES[name])
        and picture.exists()
        and _sha256(picture) == entry["picture"]["sha256"]
    )


@checked
def make_all(
    cfg: Config | None = None,
    names: Sequence[str] | None = None,
    out: str | Path = GALLERY,
    force: bool = False,
) -> list[dict[str, Any]]:
    """Make the figures ``names`` (default all), skipping those already made with the same settings
    unless ``force``: an interrupted run resumes where it stopped."""
    cfg, out = cfg or Config(), Path(out)
    names = list(FIGURES) if names is None else list(names)
    entries = []
    bar = tqdm(names, desc="gallery", unit="figure")
    for name in bar:
        bar.set_postfix_str(name)
        current = not force and _is_current(name, cfg, out)
        entries.append(_with_current_caption(name, out) if current else make(name, cfg, out))
    return entries


def _with_current_caption(name: str, out: Path) -> dict[str, Any]:
    """The json of a figure that is up to date, its caption re-rendered from the current text."""
    entry = record(name, out)
    fig = FIGURES[name]
    text = fig.caption.format(**entry["numbers"])
    if (entry["caption"], entry["claim"]) != (text, fig.claim):
        entry["caption"], entry["claim"] = text, fig.claim
        (out / f"{name}.json").write_text(json.dumps(entry, indent=1) + "\n")
    return entry


@checked
def caption(name: str, out: str | Path = GALLERY) -> str:
    """The caption of figure ``name``: its claim, what it shows with the measured numbers, whether the
    claim holds on it, and the command that made it (all from its json)."""
    entry = record(name, out)
    s = entry["settings"]
    verdict = (
        "The claim holds on this figure." if entry["holds"] else "The claim does NOT hold on this figure."
    )
    return (
        f"{entry['claim']} {entry['caption']} {verdict} ({s['size']} px, {s['steps']} steps, seed "
        f"{s['seed']}, {entry['seconds']:.0f} s; `{entry['command']}`)"
    )


@checked
def show(name: str, out: str | Path = GALLERY) -> Any:
    """Display gallery figure ``name`` with its caption (in a notebook: the picture, then the caption)."""
    from IPython.display import Image as IPImage
    from IPython.display import Markdown, display

    entry = record(name, out)
    display(IPImage(filename=str(Path(out) / entry["picture"]["file"])))
    display(Markdown(f"*Gallery, converged:* {caption(name, out)}"))
