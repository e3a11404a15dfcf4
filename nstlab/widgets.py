"""Instructor demos: each a class that caches features once, with a pure ``update(**values) -> View``
method (a figure and its numbers; tested in pytest) and a thin ``widget()`` wrapper that returns an
``ipywidgets.interactive`` whose controls call ``update``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator
from torch import Tensor
from tqdm.auto import tqdm

from . import artifacts, decoders, images, receptive, stats, transforms
from .backbones import Backbone, load_backbone
from .budget import budget
from .optimize import stylize
from .validation import (
    Fraction,
    ImageSide,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    checked,
    output_type,
)

__all__ = [
    "View",
    "interactive_view",
    "ShrinkageDemo",
    "precompute_layer_frames",
    "LayerChoiceDemo",
    "AdaINDemo",
    "WCTDemo",
    "CheckerboardDemo",
    "FastTransferDemo",
]

# ----------------------------------------------------------------------------------------------------
# Shared pieces: the View every update returns, and the ipywidgets wrapper
# ----------------------------------------------------------------------------------------------------


@output_type
@dataclass
class View:
    """What one ``update`` returns: a matplotlib ``figure`` and the ``numbers`` it shows (name -> float).

    Figures are made with ``matplotlib.figure.Figure`` (not pyplot), so they are never shown twice by
    the inline backend and need no ``plt.close``. In a notebook, a cell ending in a View shows the
    figure (``_repr_png_``); print ``view.numbers`` (rounded) for the values.
    """

    figure: Figure
    numbers: dict[str, float] = field(default_factory=dict)

    @checked
    def png(self, dpi: float | None = None) -> bytes:
        """The figure rendered as PNG bytes (what a notebook displays)."""
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=dpi)
        return buf.getvalue()

    def _repr_png_(self) -> bytes:
        return self.png()


def _ipywidgets() -> Any:
    """The ``ipywidgets`` module, imported lazily: its import takes most of a second and only the
    ``widget()`` wrappers need it (every ``update`` works without it)."""
    import ipywidgets  # lazy: slow to import, needed only to build controls

    return ipywidgets


@checked
def interactive_view(update: Callable[..., View], **controls: Any):
    """Wrap ``update(**values) -> View`` into an ``ipywidgets.interactive`` that shows the figure.

    ``controls`` are what ``ipywidgets.interactive`` accepts: widgets (``FloatSlider(...)``), tuples
    ``(min, max, step)``, lists of options, or ``ipywidgets.fixed(value)``. Every change of a control
    calls ``update`` with all current values and displays the returned View in the widget's output area;
    ``w.result`` is that View and ``w.kwargs`` the values used. The controls are ``w.children[:-1]``
    (in the order given), the output area ``w.children[-1]``.
    """
    ipywidgets = _ipywidgets()
    from IPython.display import display  # lazy, with ipywidgets: only a shown widget needs it

    def show(**values: Any) -> View:
        view = update(**values)
        display(view)
        return view

    return ipywidgets.interactive(show, **controls)


# ----------------------------------------------------------------------------------------------------
# Small shared helpers (features, plotting)
# ----------------------------------------------------------------------------------------------------


def _feature_map(backbone: str | Backbone, source: images.ImageSource, layer: str, size: int) -> Tensor:
    """Features (1, C, H, W) of one image at one layer, float32 on the CPU, computed without gradient."""
    net = backbone if isinstance(backbone, Backbone) else load_backbone(backbone)
    device = next(net.parameters()).device
    img = images.load(source, size=size).to(device)
    with torch.no_grad():
        return net.features(img, [layer])[layer].float().cpu()


def _as_map(F: Tensor, name: str) -> Tensor:
    """A (C, N) matrix or a (1, C, H, W) map as a (1, C, H, W) CPU map (a matrix becomes (1, C, 1, N));
    float64 stays float64, other floats become float32."""
    if not isinstance(F, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(F).__name__}")
    if F.ndim == 2:
        F = F[None, :, None, :]
    if F.ndim != 4 or F.shape[0] != 1:
        raise ValueError(
            f"{name} must be a (C, N) feature matrix or one (1, C, H, W) feature map, got {tuple(F.shape)}"
        )
    if not F.is_floating_point():
        raise TypeError(f"{name} must be a float tensor, got {F.dtype}")
    return F.detach().cpu() if F.dtype == torch.float64 else F.detach().float().cpu()


def _check_decode(decode: Callable[[Tensor], Tensor] | None) -> None:
    if decode is not None and not callable(decode):
        raise TypeError(
            f"decode must be a callable features -> image (1, 3, H, W), got {type(decode).__name__}"
        )


def _decoded(decode: Callable[[Tensor], Tensor], features: Tensor) -> np.ndarray:
    """Run the decoder without gradient and return the picture as an (H, W, 3) array for imshow."""
    with torch.no_grad():
        img = decode(features)
    return images.to_numpy(img.float().cpu().clamp(0, 1))


def _quiet_axes(ax: Axes, n_x: int = 3) -> None:
    """Few ticks: tick labels are most of matplotlib's drawing time, and the sliders must stay fast."""
    ax.set_yticks([])
    ax.xaxis.set_major_locator(MaxNLocator(n_x))
    ax.tick_params(labelsize=8)


def _image_axes(ax: Axes, title: str) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)


def _blank(ax: Axes, text: str) -> None:
    _image_axes(ax, "")
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=8, wrap=True, transform=ax.transAxes)


def _robust_clim(M: np.ndarray) -> tuple[float, float]:
    """A symmetric colour range at the 98th percentile of |M|, so a few large entries do not wash out
    the rest of a covariance image."""
    m = float(np.percentile(np.abs(M), 98)) or float(np.abs(M).max()) or 1.0
    return -m, m


def _freeze_layout(fig: Figure) -> None:
    """Run the constrained layout once and keep those axes positions: re-running it on every redraw of a
    reused figure costs more than drawing the figure itself."""
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
        fig.set_layout_engine("none")


EIG_FLOOR = 1e-12  # eigenvalues are drawn on a log10 axis clipped here (a singular G has exact zeros)


def _eigvalsh(M: Tensor) -> np.ndarray:
    """Eigenvalues of a symmetric matrix in descending order (float64 numpy)."""
    return np.linalg.eigvalsh(M.to(torch.float64).numpy())[::-1].copy()


def _condition_number(eigenvalues: np.ndarray) -> float:
    """lam_max / lam_min of a PSD matrix; eigenvalues at or below rounding count as 0 (then inf)."""
    lam_max = float(eigenvalues.max())
    lam_min = max(float(eigenvalues.min()), 0.0)
    if lam_max <= 0 or lam_min <= lam_max * len(eigenvalues) * np.finfo(np.float64).eps:
        return float("inf")
    return lam_max / lam_min


# ----------------------------------------------------------------------------------------------------
# Shrinkage of the Gram estimate
# ----------------------------------------------------------------------------------------------------


class ShrinkageDemo:
    """Shrinkage of a Gram estimate from few positions: G_lam = (1 - lam) G + lam T (Ledoit & Wolf 2004).

    ``features`` is a (C, N) feature matrix or a (1, C, H, W) feature map; use few positions (N comparable
    to C) to see the point: G = (1/N) F F^T (``stats.gram(F, "n")``, the uncentred second moment; with
    ``centered=True`` the covariance ``stats.covariance(F)``) is then noisy and badly conditioned, and
    shrinking toward T (``target``: ``"scaled_identity"`` (tr(G)/C) I, the Ledoit-Wolf target, or
    ``"identity"``) trades a little bias for much less variance. ``true_cov`` (C, C), when known (synthetic
    features, or the full image's Gram when the features are a small crop of it), is the reference S: the
    second moment the estimate should approach (the covariance when ``centered=True``); it gives the
    squared error ||G_lam - S||_F^2 of each lam.
    """

    @checked
    def __init__(
        self,
        features: Tensor,
        true_cov: Tensor | None = None,
        target: str = "scaled_identity",
        centered: bool = False,
    ):
        F = _as_map(features, "features")
        self.F = F[0].flatten(1).to(torch.float64)  # (C, N)
        C, N = self.F.shape
        if N < 2:
            raise ValueError(f"features need at least 2 positions, got N = {N}")
        if target not in stats.SHRINK_TARGETS:
            raise ValueError(f"unknown target {target!r}; choose one of {stats.SHRINK_TARGETS}")
        self.target, self.centered = target, centered
        self.gram = stats.covariance(self.F) if centered else stats.gram(self.F, "n")
        self.true_cov = None
        if true_cov is not None:
            if tuple(true_cov.shape) != (C, C):
                raise ValueError(
                    f"true_cov must be ({C}, {C}) to match the features, got {tuple(true_cov.shape)}"
                )
            self.true_cov = true_cov.detach().to(torch.float64).cpu()
        self.ledoit_wolf_lambda = float(stats.ledoit_wolf(self.F, assume_centered=not centered))
        self._gram_eig = _eigvalsh(self.gram)
        self._true_eig = None if self.true_cov is None else _eigvalsh(self.true_cov)

    @checked
    def estimate(self, lam: Fraction) -> Tensor:
        """The shrunk estimate (1 - lam) G + lam T, (C, C) float64 (``stats.shrink``)."""
        return stats.shrink(self.gram, lam, self.target)

    @checked
    def update(self, lam: Fraction) -> View:
        """Images of G, G_lam (and the reference S), their eigenvalue spectra; numbers: ``lam``,
        ``condition_number`` (of G_lam; inf shown as the largest float when G_lam is singular),
        ``condition_number_gram``, ``ledoit_wolf_lambda``, and with a reference ``mse`` =
        ||G_lam - S||_F^2 and ``mse_gram`` (lam = 0)."""
        G_lam = self.estimate(lam)
        eig = _eigvalsh(G_lam)
        numbers = {
            "lam": float(lam),
            "condition_number": _finite(_condition_number(eig)),
            "condition_number_gram": _finite(_condition_number(self._gram_eig)),
            "ledoit_wolf_lambda": self.ledoit_wolf_lambda,
        }
        if self.true_cov is not None:
            numbers["mse"] = float((G_lam - self.true_cov).pow(2).sum())
            numbers["mse_gram"] = float((self.gram - self.true_cov).pow(2).sum())
        panels = 3 if self.true_cov is None else 4
        fig = Figure(figsize=(2.7 * panels, 2.8), dpi=80, layout="constrained")
        axes = fig.subplots(1, panels)
        mats = [(self.gram, f"G (N = {self.F.shape[1]})"), (G_lam, f"shrunk, lam = {lam:.2f}")]
        if self.true_cov is not None:
            mats.append((self.true_cov, "reference S"))
        clim = _robust_clim(self.gram.numpy())  # a few large diagonal entries would wash out the rest
        for ax, (M, title) in zip(axes, mats, strict=False):
            ax.imshow(M.numpy(), cmap="RdBu_r", vmin=clim[0], vmax=clim[1], interpolation="nearest")
            _image_axes(ax, title)
        ax = axes[-1]
        k = np.arange(1, len(eig) + 1)
        # log10 on a linear axis: log-axis tick labels go through mathtext, slow to draw
        ax.plot(k, np.log10(np.clip(self._gram_eig, EIG_FLOOR, None)), label="G", color="0.5")
        ax.plot(
            k,
            np.log10(np.clip(eig, EIG_FLOOR, None)),
            label=f"shrunk, cond {numbers['condition_number']:.3g}",
        )
        ax.set_ylabel("log10 eigenvalue", fontsize=8)
        if self._true_eig is not None:
            ax.plot(k, np.log10(np.clip(self._true_eig, EIG_FLOOR, None)), "k--", label="reference S")
        ax.set_xlabel("eigenvalue index", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.legend(fontsize=7)
        title = f"Ledoit-Wolf lam = {self.ledoit_wolf_lambda:.2f}"
        if "mse" in numbers:
            title += f", MSE {numbers['mse']:.3g}"
        ax.set_title(title, fontsize=9)
        return View(fig, numbers)

    @checked
    def widget(self):
        """A lam slider in [0, 1], starting at the Ledoit-Wolf estimate."""
        ipywidgets = _ipywidgets()
        start = round(self.ledoit_wolf_lambda, 2)
        slider = ipywidgets.FloatSlider(value=start, min=0.0, max=1.0, step=0.01, description="lam")
        return interactive_view(self.update, lam=slider)


def _finite(x: float) -> float:
    """inf (a singular matrix's condition number) as the largest float, so numbers stay finite."""
    return x if np.isfinite(x) else float(np.finfo(np.float64).max)


# ----------------------------------------------------------------------------------------------------
# Style layers and receptive fields
# ----------------------------------------------------------------------------------------------------

DEFAULT_LAYER_SETS: dict[str, tuple[str, ...]] = {
    "relu1_1": ("relu1_1",),
    "up to relu2_1": ("relu1_1", "relu2_1"),
    "up to relu3_1": ("relu1_1", "relu2_1", "relu3_1"),
    "up to relu4_1": ("relu1_1", "relu2_1", "relu3_1", "relu4_1"),
    "up to relu5_1": ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
}


@checked
def precompute_layer_frames(
    content: images.ImageSource | None,
    style: images.ImageSource,
    layer_sets: Mapping[str, Sequence[str]] | None = None,
    size: ImageSide | None = None,
    steps: PositiveInt | None = None,
    seed: NonNegativeInt = 0,
    backbone: str | Backbone = "vgg16-hed",
    **stylize_kwargs: Any,
) -> dict[str, Tensor]:
    """One stylization per style-layer set (``optimize.stylize``), for :class:`LayerChoiceDemo`.

    ``size`` and ``steps`` default to the budget's ``small_size`` and ``small_steps``; one tqdm bar counts
    the sets. Returns {set name: image (1, 3, H, W)}.
    """
    sets = dict(DEFAULT_LAYER_SETS if layer_sets is None else layer_sets)
    if not sets:
        raise ValueError("layer_sets is empty; give {name: [style layers]}")
    b = budget()
    size = b.small_size if size is None else size
    steps = b.small_steps if steps is None else steps
    frames = {}
    for name, layers in tqdm(sets.items(), desc="layer sets", total=len(sets)):
        result = stylize(
            content,
            style,
            backbone=backbone,
            size=size,
            steps=steps,
            style_layers=list(layers),
            seed=seed,
            progress=False,
            **stylize_kwargs,
        )
        frames[name] = result.image.detach().cpu()
    return frames


class LayerChoiceDemo:
    """Which style layers: their receptive fields, the effective scales and the stylized picture.

    S_eff = sum_l a_l r_l / sum_l a_l over the style layers, C_eff the same over ``content_layers`` and
    R = S_eff / C_eff (``nstlab.receptive``; equal weights). ``frames`` maps set names to stylized images
    (from :func:`precompute_layer_frames`); ``content`` and ``style`` (images) are shown beside them with
    squares of side S_eff and C_eff drawn to scale. ``layer_sets`` maps names to style layers (default
    :data:`DEFAULT_LAYER_SETS`, shallow to deep).
    """

    @checked
    def __init__(
        self,
        backbone: str | Backbone = "vgg16-hed",
        frames: Mapping[str, Tensor] | None = None,
        content: images.ImageSource | None = None,
        style: images.ImageSource | None = None,
        layer_sets: Mapping[str, Sequence[str]] | None = None,
        content_layers: Sequence[str] = ("relu4_2",),
    ):
        self.backbone = backbone
        self.layer_sets = {
            k: tuple(v) for k, v in (DEFAULT_LAYER_SETS if layer_sets is None else layer_sets).items()
        }
        if not self.layer_sets:
            raise ValueError("layer_sets is empty; give {name: [style layers]}")
        self.content_layers = tuple(content_layers)
        self.fields = receptive.receptive_fields(backbone)
        for layers in [*self.layer_sets.values(), self.content_layers]:
            unknown = [n for n in layers if n not in self.fields]
            if unknown or not layers:
                raise ValueError(
                    f"unknown or empty layer list {list(layers)}; valid names: {', '.join(self.fields)}"
                )
        self.frames = {k: images.check_image(v).detach().cpu() for k, v in (frames or {}).items()}
        unknown_frames = sorted(set(self.frames) - set(self.layer_sets))
        if unknown_frames:
            raise ValueError(
                f"frames for unknown layer sets {unknown_frames}; layer sets: {list(self.layer_sets)}"
            )
        size = max(max(f.shape[-2:]) for f in self.frames.values()) if self.frames else budget().small_size
        self.content = None if content is None else images.load(content, size=size)
        self.style = None if style is None else images.load(style, size=size)

    @checked
    def scales(self, layer_set: str) -> dict[str, float]:
        """S_eff, C_eff and R for one layer set (``receptive.effective_scale`` and ``scale_ratio``)."""
        if layer_set not in self.layer_sets:
            raise ValueError(f"unknown layer set {layer_set!r}; choose one of {list(self.layer_sets)}")
        layers = self.layer_sets[layer_set]
        return {
            "S_eff": receptive.effective_scale(layers, self.backbone),
            "C_eff": receptive.effective_scale(self.content_layers, self.backbone),
            "R": receptive.scale_ratio(layers, self.content_layers, self.backbone),
            "n_layers": float(len(layers)),
        }

    @checked
    def update(self, layer_set: str) -> View:
        """Bar chart of the receptive fields of the chosen layers, the content and the stylized frame with
        squares of side S_eff (style) and C_eff (content).

        Numbers: ``S_eff``, ``C_eff``, ``R``, ``n_layers``."""
        numbers = self.scales(layer_set)
        layers = self.layer_sets[layer_set]
        pictures = [(self.content, "content"), (self.frames.get(layer_set), f"style layers: {layer_set}")]
        fig = Figure(figsize=(10, 3), dpi=80, layout="constrained")
        axes = fig.subplots(1, 3, width_ratios=[1.2, 1, 1])
        ax = axes[0]
        names = [*layers, *self.content_layers]
        sizes = [self.fields[n].size for n in names]
        colors = ["tab:orange"] * len(layers) + ["tab:blue"] * len(self.content_layers)
        ax.barh(range(len(names)), sizes, color=colors)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.invert_yaxis()
        ax.axvline(numbers["S_eff"], color="tab:orange", ls="--", label=f"S_eff = {numbers['S_eff']:.0f} px")
        ax.axvline(numbers["C_eff"], color="tab:blue", ls=":", label=f"C_eff = {numbers['C_eff']:.0f} px")
        ax.set_xlabel("receptive field (input pixels)", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.legend(fontsize=7, loc="lower right")
        ax.set_title(f"R = S_eff / C_eff = {numbers['R']:.2f}", fontsize=9)
        for ax, (img, title) in zip(axes[1:], pictures, strict=True):
            if img is None:
                hint = "no content given" if title == "content" else "no frame\n(precompute_layer_frames)"
                _blank(ax, hint)
                continue
            ax.imshow(images.to_numpy(img))
            _image_axes(ax, title)
            for side, color in ((numbers["S_eff"], "tab:orange"), (numbers["C_eff"], "tab:blue")):
                ax.add_patch(Rectangle((2, 2), side, side, fill=False, ec=color, lw=1.5))
        return View(fig, numbers)

    @checked
    def widget(self):
        """A dropdown over the layer sets."""
        ipywidgets = _ipywidgets()
        names = list(self.layer_sets)
        menu = ipywidgets.Dropdown(options=names, value=names[-1], description="style layers")
        return interactive_view(self.update, layer_set=menu)


# ----------------------------------------------------------------------------------------------------
# AdaIN
# ----------------------------------------------------------------------------------------------------


@dataclass
class _Pair:
    """Content and style features (1, C, H, W) of one layer, the optional decoder and a label for titles."""

    content: Tensor
    style: Tensor
    decode: Callable[[Tensor], Tensor] | None
    label: str

    def __post_init__(self) -> None:
        _check_decode(self.decode)
        C_c, C_s = self.content.shape[1], self.style.shape[1]
        if C_c != C_s:
            raise ValueError(f"content has C = {C_c} channels, style C = {C_s}; use one layer")


class _FeaturePairDemo:
    """Base of the demos that move one content's features toward one style's (AdaIN, WCT).

    The content and style images are encoded once (``backbone`` up to ``layer`` at ``size`` px), or
    :meth:`from_features` takes given feature maps. ``decode`` (features (1, C, H, W) -> image
    (1, 3, H, W)) adds the decoded picture. A subclass's ``_setup(pair, **options)`` caches what its
    ``update`` needs; ``options`` are the subclass's own (see its docstring).
    """

    def __init__(
        self,
        content: images.ImageSource,
        style: images.ImageSource,
        backbone: str | Backbone = "vgg16-hed",
        layer: str = "relu3_1",
        size: ImageSide = 256,
        decode: Callable[[Tensor], Tensor] | None = None,
        **options: Any,
    ):
        fc, fs = (_feature_map(backbone, x, layer, size) for x in (content, style))
        self._setup(_Pair(fc, fs, decode, layer), **options)

    @classmethod
    def from_features(
        cls,
        content_features: Tensor,
        style_features: Tensor,
        decode: Callable[[Tensor], Tensor] | None = None,
        **options: Any,
    ) -> Any:
        """The demo on given feature maps (1, C, H, W) or matrices (C, N) instead of images (for WCT, N < C
        shows the singular case)."""
        demo = cls.__new__(cls)
        fc, fs = _as_map(content_features, "content_features"), _as_map(style_features, "style_features")
        demo._setup(_Pair(fc, fs, decode, "features"), **options)
        return demo

    def _setup(self, pair: _Pair, **options: Any) -> None:
        raise NotImplementedError

    def _start(self, pair: _Pair) -> tuple[Tensor, Tensor]:
        """Keep the pair (the first step of every ``_setup``); returns (content, style) features."""
        self.content, self.style, self.decode, self.label = pair.content, pair.style, pair.decode, pair.label
        self._canvas: dict[str, Any] | None = None
        return pair.content, pair.style

    def _new_canvas(self) -> dict[str, Any]:
        raise NotImplementedError

    def _canvas_for(self, reuse: bool) -> dict[str, Any]:
        """The figure to draw on: with ``reuse`` the previous reuse call's (what the widget does)."""
        canvas = self._canvas if reuse and self._canvas is not None else self._new_canvas()
        if reuse:
            self._canvas = canvas
        return canvas

    def _view(self, canvas: dict[str, Any], numbers: dict[str, float], reuse: bool) -> View:
        if reuse:
            _freeze_layout(canvas["fig"])
        return View(canvas["fig"], numbers)

    def _add_picture_axes(self, canvas: dict[str, Any], ax: Axes) -> None:
        canvas["picture_axes"], canvas["picture"] = ax, None
        _image_axes(ax, "decoded output")

    def _show_decoded(self, canvas: dict[str, Any], features: Tensor) -> None:
        """Decode ``features`` into the picture panel (a new image only when the size changed)."""
        picture = _decoded(self.decode, features)
        if canvas["picture"] is None or canvas["picture"].get_array().shape != picture.shape:
            canvas["picture"] = canvas["picture_axes"].imshow(picture)
        else:
            canvas["picture"].set_data(picture)


class AdaINDemo(_FeaturePairDemo):
    """AdaIN on real features, t = alpha AdaIN(c, s) + (1 - alpha) c (Huang & Belongie 2017), per channel.

    The content and style images are encoded once (``backbone`` up to ``layer`` at ``size`` px); each
    ``update(alpha)`` only runs ``transforms.adain`` and the statistics. Because t_c is affine in c_c with
    slope a_c = alpha sigma_s / sigma_c + 1 - alpha, its mean and std are the alpha-blends of the content's
    and the style's, and its entropy changes by exactly log a_c (log(sigma_s / sigma_c) at alpha = 1).
    ``decode`` (features (1, C, H, W) -> image (1, 3, H, W)) adds the decoded picture, e.g.
    ``decoders.feature_decoder(layer)``, the shipped reconstruction decoder of the layer. Use
    :meth:`from_features` for given feature maps.
    """

    N_ENTROPY_CHANNELS = 16
    BINS = 60

    def _setup(self, pair: _Pair, channels: Sequence[int] | None = None) -> None:
        """``channels``: the channels whose histograms are shown (default: the most widened, a typical
        and the most narrowed of the informative channels)."""
        fc, fs = self._start(pair)
        mu_c, sd_c = stats.mean_std(fc, eps=0.0)
        mu_s, sd_s = stats.mean_std(fs, eps=0.0)
        self.mu_c, self.sd_c, self.mu_s, self.sd_s = mu_c[0], sd_c[0], mu_s[0], sd_s[0]
        # AdaIN's eps (1e-5) matters only for channels with a variance near eps: constant content channels
        # (dead ReLUs, which map to the style mean) and near-constant style channels. The checks use the
        # informative channels, whose std exceeds 100 sqrt(eps) on both sides.
        floor = 100 * transforms.ADAIN_EPS**0.5
        self.dead_channels = int((self.sd_c <= 1e-6 * float(self.sd_c.max().clamp_min(1e-30))).sum())
        self.live = torch.nonzero((self.sd_c > floor) & (self.sd_s > floor)).flatten()
        if len(self.live) == 0:
            raise ValueError(
                f"no channel has a std above {floor:.3g} in both content and style: nothing to show; use "
                "another image or layer"
            )
        log_ratio = (self.sd_s[self.live] / self.sd_c[self.live]).log()
        if channels is None:
            order = torch.argsort(log_ratio)
            n = len(order)
            picks = [order[(9 * n) // 10], order[n // 2], order[n // 10]]  # widened, typical, narrowed
            channels = [int(self.live[int(i)]) for i in picks]
        self.channels = [int(c) for c in channels]
        bad = [c for c in self.channels if not 0 <= c < fc.shape[1]]
        if bad:
            raise ValueError(f"channels {bad} out of range 0..{fc.shape[1] - 1}")
        step = max(1, len(self.live) // self.N_ENTROPY_CHANNELS)
        self.entropy_channels = self.live[::step][: self.N_ENTROPY_CHANNELS]
        M = fc[0].flatten(1)
        self._content_entropy = stats.entropy(M[self.entropy_channels]).to(torch.float64)
        self._content_rows = M[self.channels].numpy()
        self._style_rows = fs[0].flatten(1)[self.channels].numpy()

    @checked
    def transfer(self, alpha: Fraction) -> Tensor:
        """t = alpha AdaIN(c, s) + (1 - alpha) c, (1, C, H, W) (``transforms.adain``)."""
        return transforms.adain(self.content, self.style, alpha=alpha)

    @checked
    def update(self, alpha: Fraction, *, reuse: bool = False) -> View:
        """Histograms of the chosen channels (content, style, output), entropy change measured vs exact.

        Numbers: ``alpha``; ``mean_error`` and ``std_error``, the largest |mean(t_c) - (alpha mu_s +
        (1 - alpha) mu_c)| and relative |std(t_c) - (alpha sigma_s + (1 - alpha) sigma_c)| / target over
        the informative channels (std above 100 sqrt(eps) in content and style, ``self.live``; the
        others are dominated by AdaIN's eps); ``entropy_change`` (mean over 16 channels of the
        measured H(t_c) - H(c_c), ``stats.entropy``), ``entropy_change_exact`` (mean log a_c) and
        ``entropy_error`` (largest |measured - exact|); ``log_sigma_ratio`` (mean log(sigma_s / sigma_c)
        over the informative channels); ``dead_channels`` (constant on the content). ``reuse=True``
        redraws the figure of the previous reuse call instead of making a new one (what the widget does).
        """
        t = self.transfer(alpha)
        mu_t, sd_t = (x[0] for x in stats.mean_std(t, eps=0.0))
        live = self.live
        mean_target = alpha * self.mu_s + (1 - alpha) * self.mu_c
        std_target = alpha * self.sd_s + (1 - alpha) * self.sd_c
        mean_error = float((mu_t - mean_target)[live].abs().max())
        std_error = float(((sd_t - std_target)[live].abs() / std_target[live].clamp_min(1e-12)).max())
        Mt = t[0].flatten(1)
        ch = self.entropy_channels
        measured = stats.entropy(Mt[ch]).to(torch.float64) - self._content_entropy
        eps = (
            transforms.ADAIN_EPS
        )  # the eps of transforms.adain; slope alpha sqrt(var_s + eps) / sqrt(var_c + eps) + 1 - alpha
        slope = alpha * ((self.sd_s[ch] ** 2 + eps) / (self.sd_c[ch] ** 2 + eps)).sqrt() + (1 - alpha)
        exact = slope.to(torch.float64).log()
        numbers = {
            "alpha": float(alpha),
            "mean_error": mean_error,
            "std_error": std_error,
            "entropy_change": float(measured.mean()),
            "entropy_change_exact": float(exact.mean()),
            "entropy_error": float((measured - exact).abs().max()),
            "log_sigma_ratio": float((self.sd_s[live] / self.sd_c[live]).log().mean()),
            "dead_channels": float(self.dead_channels),
        }
        canvas = self._canvas_for(reuse)
        self._paint(canvas, alpha, Mt[self.channels].numpy(), measured.numpy(), exact.numpy(), t)
        return self._view(canvas, numbers, reuse)

    def _new_canvas(self) -> dict[str, Any]:
        n = len(self.channels)
        panels = n + 1 + (self.decode is not None)
        fig = Figure(figsize=(2.5 * panels, 2.6), dpi=80, layout="constrained")
        axes = list(fig.subplots(1, panels))
        canvas: dict[str, Any] = {"fig": fig, "hist_axes": axes[:n], "stairs": []}
        for ax, c in zip(axes[:n], self.channels, strict=True):
            canvas["stairs"].append(
                [
                    ax.stairs([0], [0, 1], label=lab, color=col, fill=fill, alpha=a)
                    for lab, col, fill, a in (
                        ("content", "tab:blue", True, 0.35),
                        ("style", "tab:orange", True, 0.35),
                        ("output", "black", False, 1.0),
                    )
                ]
            )
            _quiet_axes(ax)
            ax.set_title(f"channel {c}", fontsize=9)
        canvas["hist_axes"][0].legend(fontsize=7)
        ax = axes[n]
        canvas["scatter"] = ax.plot([], [], "o", ms=3, color="tab:green")[0]
        canvas["diag"] = ax.plot([], [], "k--", lw=0.8)[0]
        ax.set_xlabel("exact log a_c", fontsize=8)
        ax.set_ylabel("measured dH", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(3))
        ax.yaxis.set_major_locator(MaxNLocator(3))
        canvas["entropy_axes"] = ax
        if self.decode is not None:
            self._add_picture_axes(canvas, axes[n + 1])
        return canvas

    def _paint(
        self,
        canvas: dict[str, Any],
        alpha: float,
        out_rows: np.ndarray,
        measured: np.ndarray,
        exact: np.ndarray,
        t: Tensor,
    ) -> None:
        for k, (ax, stairs) in enumerate(zip(canvas["hist_axes"], canvas["stairs"], strict=True)):
            rows = (self._content_rows[k], self._style_rows[k], out_rows[k])
            lo = min(float(r.min()) for r in rows)
            hi = max(float(r.max()) for r in rows)
            edges = np.linspace(lo, hi + 1e-9 * max(1.0, abs(hi)), self.BINS + 1)
            counts = [np.histogram(r, edges)[0] / r.size for r in rows]
            for s, h in zip(stairs, counts, strict=True):
                s.set_data(h, edges)
            # a ReLU spike at 0 would flatten everything else: scale to the second-highest bin
            top = max(float(np.sort(h)[-2]) if h.size > 1 else float(h.max()) for h in counts)
            ax.set_xlim(lo, hi)
            ax.set_ylim(0, 1.15 * top if top > 0 else 1)
        ax = canvas["entropy_axes"]
        canvas["scatter"].set_data(exact, measured)
        lo, hi = float(min(exact.min(), measured.min())), float(max(exact.max(), measured.max()))
        pad = 0.05 * (hi - lo) + 1e-3
        canvas["diag"].set_data([lo - pad, hi + pad], [lo - pad, hi + pad])
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_title(f"entropy change, alpha = {alpha:.2f}", fontsize=9)
        if self.decode is not None:
            self._show_decoded(canvas, t)

    @checked
    def widget(self):
        """An alpha slider in [0, 1]."""
        ipywidgets = _ipywidgets()
        slider = ipywidgets.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.05, description="alpha")
        return interactive_view(partial(self.update, reuse=True), alpha=slider)


# ----------------------------------------------------------------------------------------------------
# WCT
# ----------------------------------------------------------------------------------------------------


class WCTDemo(_FeaturePairDemo):
    """Whitening and coloring (Li et al. 2017) on real features, with the regularizer eps of the text.

    z = E diag(m / sqrt(lam + eps)) E^T (c - mu_c) (whitening), out = (P S_s P)^{1/2} z + mu_s (coloring),
    result alpha out + (1 - alpha) c: the same map as ``transforms.wct(c, s, alpha, eps, rank_tol)``. The
    eigendecomposition of the content covariance and the coloring matrix do not depend on eps or alpha, so
    they are computed once; each ``update`` only forms the whitening matrix for eps and applies it.
    ``decode`` (features -> image) adds the decoded picture, e.g. ``decoders.feature_decoder(layer)`` (the
    shipped reconstruction decoder of the layer); :meth:`from_features` takes feature maps.
    """

    SHOW_CHANNELS = 48  # the images show this top-left block of the C x C covariances; numbers use all

    def _setup(self, pair: _Pair, rank_tol: float | None = None) -> None:
        """``rank_tol``: the rank truncation of :func:`nstlab.transforms.wct` (None: numerical rank)."""
        fc, fs = self._start(pair)
        if fc[0, 0].numel() < 2 or fs[0, 0].numel() < 2:
            raise ValueError("content and style need at least 2 positions each for a covariance")
        self.rank_tol = rank_tol
        Mc = fc.flatten(2)  # (1, C, N)
        self.mu_c, S_c = stats.moments64(Mc)
        self.mu_s, self.S_s = stats.moments64(fs.flatten(2))
        self.S_c = S_c
        self.lam, self.E = stats.sym_eig(S_c)  # descending, float64
        self.keep = transforms.kept_directions(self.lam, rank_tol, Mc.shape[-1], Mc.dtype)
        self.coloring = transforms.coloring_matrix(self.E, self.keep, self.S_s)  # (P S_s P)^{1/2}
        self.centered = Mc.to(torch.float64) - self.mu_c  # (1, C, N)
        keep = self.keep.to(torch.float64)
        self.projector = (self.E * keep.unsqueeze(-2)) @ self.E.transpose(-1, -2)

    @checked
    def whitening_matrix(self, eps: NonNegativeFloat) -> Tensor:
        """W = E diag(m / sqrt(lam + eps)) E^T, (1, C, C) float64 (m: the kept eigen-directions)."""
        if not eps >= 0:
            raise ValueError(f"eps must be >= 0, got {eps!r}")
        if eps == 0 and bool((self.keep & (self.lam <= 0)).any()):
            raise ValueError(
                "the content covariance is singular and eps = 0: pass eps > 0 or keep rank truncation"
            )
        w = torch.where(
            self.keep, (self.lam.clamp_min(0) + eps).clamp_min(1e-300).rsqrt(), torch.zeros_like(self.lam)
        )
        return (self.E * w.unsqueeze(-2)) @ self.E.transpose(-1, -2)

    @checked
    def transfer(self, eps: NonNegativeFloat, alpha: Fraction = 1.0) -> tuple[Tensor, Tensor]:
        """(whitened z, result alpha out + (1 - alpha) c), both (1, C, H, W) in the content's dtype."""
        z = self.whitening_matrix(eps) @ self.centered
        out = self.coloring @ z + self.mu_s
        result = alpha * out + (1 - alpha) * (self.centered + self.mu_c)
        shape = self.content.shape
        return z.to(self.content.dtype).reshape(shape), result.to(self.content.dtype).reshape(shape)

    @checked
    def update(self, eps: NonNegativeFloat, alpha: Fraction = 1.0, *, reuse: bool = False) -> View:
        """Covariance images (content, whitened, output, style) and the content spectrum with eps.

        Numbers: ``eps``, ``alpha``; ``whiten_error`` = ||cov(z) - P||_F / ||P||_F (P the projector on the
        kept directions; P = I at full rank); ``identity_error`` = ||cov(z) - I||_F / ||I||_F;
        ``color_error`` = ||cov(out) - cov(s)||_F / ||cov(s)||_F of the output at this alpha; cov(z) =
        W S_c W^T and cov(out) = B S_c B^T with B = alpha (P S_s P)^{1/2} W + (1 - alpha) I (exact for these
        linear maps, and C x C work only: the slider never touches the N positions unless ``decode``);
        ``condition_number`` (lam_max + eps) / (lam_min + eps) of the regularized content covariance and
        ``condition_number_kept`` over the kept eigenvalues; ``rank`` (kept directions).
        ``reuse=True`` redraws the previous reuse call's figure (what the widget does).
        """
        W = self.whitening_matrix(eps)[0]
        S_c = self.S_c[0]
        C = S_c.shape[-1]
        eye = torch.eye(C, dtype=torch.float64)
        B = alpha * (self.coloring[0] @ W) + (1 - alpha) * eye  # result - mean = B (c - mu_c)
        cov_z = W @ S_c @ W.T  # covariance of a linear map of the centred content: exact
        cov_out = B @ S_c @ B.T
        P = self.projector[0]
        S_s = self.S_s[0]
        lam = self.lam[0].clamp_min(0)
        kept = lam[self.keep[0]]
        numbers = {
            "eps": float(eps),
            "alpha": float(alpha),
            "whiten_error": float((cov_z - P).norm() / P.norm().clamp_min(1e-300)),
            "identity_error": float((cov_z - eye).norm() / eye.norm()),
            "color_error": float((cov_out - S_s).norm() / S_s.norm().clamp_min(1e-300)),
            "condition_number": _finite(
                float((lam.max() + eps) / (lam.min() + eps)) if eps > 0 else _condition_number(lam.numpy())
            ),
            "condition_number_kept": _finite(float((kept.max() + eps) / (kept.min() + eps)))
            if len(kept)
            else 1.0,
            "rank": float(self.keep.sum()),
        }
        canvas = self._canvas_for(reuse)
        result = self.transfer(eps, alpha)[1] if self.decode is not None else None
        self._paint(canvas, eps, alpha, cov_z.numpy(), cov_out.numpy(), result)
        return self._view(canvas, numbers, reuse)

    def _new_canvas(self) -> dict[str, Any]:
        panels = 5 + (self.decode is not None)
        fig = Figure(figsize=(2.3 * panels, 2.6), dpi=80, layout="constrained")
        axes = list(fig.subplots(1, panels))
        k = self.SHOW_CHANNELS
        S_c, S_s = self.S_c[0, :k, :k].numpy(), self.S_s[0, :k, :k].numpy()
        clim = _robust_clim(S_s)
        canvas: dict[str, Any] = {"fig": fig}
        block = f"[:{S_c.shape[0]}, :{S_c.shape[0]}]"
        axes[0].imshow(S_c, cmap="RdBu_r", vmin=_robust_clim(S_c)[0], vmax=_robust_clim(S_c)[1])
        _image_axes(axes[0], f"cov(content){block}")
        canvas["z"] = axes[1].imshow(
            np.zeros_like(S_c), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest"
        )
        _image_axes(axes[1], "cov(whitened)")
        canvas["out"] = axes[2].imshow(np.zeros_like(S_s), cmap="RdBu_r", vmin=clim[0], vmax=clim[1])
        _image_axes(axes[2], "cov(output)")
        canvas["out_axes"] = axes[2]
        axes[3].imshow(S_s, cmap="RdBu_r", vmin=clim[0], vmax=clim[1])
        _image_axes(axes[3], "cov(style)")
        ax = axes[4]
        lam = self.lam[0].clamp_min(0).numpy()
        floor = max(float(lam.max()) * 1e-12, 1e-30)
        # log10 on a linear axis: log-axis tick labels go through mathtext, slow to redraw on every move
        ax.plot(np.arange(1, len(lam) + 1), np.log10(np.clip(lam, floor, None)), color="tab:blue", lw=1)
        canvas["eps_line"] = ax.axhline(0.0, color="tab:red", ls="--", lw=1, label="eps")
        ax.set_ylabel("log10 eigenvalue", fontsize=8)
        ax.yaxis.set_major_locator(MaxNLocator(4))
        ax.legend(fontsize=7, loc="lower left")
        ax.set_xlabel("content eigenvalue index", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(3))
        canvas["spectrum_axes"] = ax
        if self.decode is not None:
            self._add_picture_axes(canvas, axes[5])
        return canvas

    def _paint(
        self,
        canvas: dict[str, Any],
        eps: float,
        alpha: float,
        cov_z: np.ndarray,
        cov_out: np.ndarray,
        result: Tensor | None,
    ) -> None:
        k = self.SHOW_CHANNELS
        canvas["z"].set_data(cov_z[:k, :k])
        canvas["out"].set_data(cov_out[:k, :k])
        canvas["out_axes"].set_title(f"cov(output), alpha = {alpha:.2f}", fontsize=9)
        canvas["eps_line"].set_ydata([np.log10(eps), np.log10(eps)] if eps > 0 else [np.nan, np.nan])
        canvas["spectrum_axes"].set_title(f"eps = {eps:.1e}", fontsize=9)
        if result is not None:
            self._show_decoded(canvas, result)

    @checked
    def widget(self):
        """An eps slider on a log scale (1e-6 .. 10) and an alpha slider."""
        ipywidgets = _ipywidgets()
        eps = ipywidgets.FloatLogSlider(value=1e-5, base=10, min=-6, max=1, step=0.25, description="eps")
        alpha = ipywidgets.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.05, description="alpha")
        return interactive_view(partial(self.update, reuse=True), eps=eps, alpha=alpha)


# ----------------------------------------------------------------------------------------------------
# Checkerboard artifacts
# ----------------------------------------------------------------------------------------------------


class CheckerboardDemo:
    """Transposed convolution vs resize-convolution on a flat input (Odena et al. 2016), via
    ``nstlab.artifacts``: with kernel size k and stride s, output pixel j gets ceil((k - j mod s) / s) taps,
    a pattern of period s (frequency 1/s) unless s divides k. ``size`` is the output length per axis (about);
    ``kernel`` is ``"ones"`` (the overlap count itself) or ``"random"`` (seeded).
    """

    @checked
    def __init__(self, size: ImageSide = 64, kernel: str = "ones", seed: NonNegativeInt = 0):
        if not isinstance(size, int) or size < 16:
            raise ValueError(f"size must be an integer >= 16 pixels, got {size!r}")
        if kernel not in artifacts.KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}; choose one of {artifacts.KERNELS}")
        self.size, self.kernel, self.seed = size, kernel, seed

    @checked
    def update(self, kernel_size: PositiveInt, stride: PositiveInt) -> View:
        """The 2-D overlap pattern, 1-D profiles of transposed and resize-convolution, the spectrum of the
        transposed output with 1/s marked, the 2-D resize-convolution output.

        Numbers: ``dominant_frequency`` of the 1-D transposed output's interior (cycles/pixel; 0 when
        flat), ``inverse_stride`` 1/s, ``checkerboard_strength`` (share of AC power at multiples of 1/s,
        2-D transposed output) and ``resize_strength`` (the same for resize-convolution, 0: flat),
        ``overlap_spread`` (max - min) / mean of the interior overlap counts (0 = even overlap).
        """
        k, s = int(kernel_size), int(stride)
        n_in = max(2, self.size // s)
        one = artifacts.compare_upsampling(k, s, ndim=1, kernel=self.kernel, n_in=n_in, seed=self.seed)
        two = artifacts.compare_upsampling(k, s, ndim=2, kernel=self.kernel, n_in=n_in, seed=self.seed)
        inner_overlap = artifacts.interior(one["overlap"].to(torch.float64), k, s)
        inner = artifacts.interior(one["transposed"], k, s)
        numbers = {
            "kernel_size": float(k),
            "stride": float(s),
            "dominant_frequency": float(one["transposed_frequency"]),
            "inverse_stride": 1.0 / s,
            "checkerboard_strength": float(two["transposed_strength"]),
            "resize_strength": float(two["resize_strength"]),
            "overlap_spread": float((inner_overlap.max() - inner_overlap.min()) / inner_overlap.mean()),
        }
        fig = Figure(figsize=(11, 2.8), dpi=80, layout="constrained")
        axes = fig.subplots(1, 4)
        # pictures: a crop of a few periods, each output divided by its mean (relative intensity)
        crop = min(two["overlap"].shape[0], 6 * s + 2 * k)
        overlap2 = two["transposed"][:crop, :crop].numpy()
        resize2 = two["resize"][:crop, :crop].numpy()
        overlap2, resize2 = overlap2 / overlap2.mean(), resize2 / resize2.mean()
        lo, hi = min(overlap2.min(), resize2.min()), max(overlap2.max(), resize2.max())
        lo, hi = (lo - 0.5, hi + 0.5) if hi - lo < 1e-9 else (lo, hi)
        axes[0].imshow(overlap2, cmap="magma", vmin=lo, vmax=hi, interpolation="nearest")
        _image_axes(axes[0], f"transposed conv, k = {k}, s = {s}")
        ax = axes[1]
        t1, r1 = one["transposed"].numpy(), one["resize"].numpy()
        ax.step(np.arange(len(t1)), t1 / t1.mean(), where="mid", label="transposed")
        ax.step(np.arange(len(r1)), r1 / r1.mean(), where="mid", label="resize-conv")
        ax.set_xlim(0, min(len(t1), 4 * s + 3 * k))
        ax.set_ylim(0, 1.35 * max(float((t1 / t1.mean()).max()), 1.0))
        ax.tick_params(labelsize=7)
        ax.set_title("1-D output / its mean, flat input", fontsize=9)
        ax.legend(fontsize=7, loc="upper right", ncols=2)
        ax = axes[2]
        freqs, mag = artifacts.spectrum(inner)
        ax.plot(freqs.numpy(), mag.numpy(), color="tab:blue", lw=1)
        if s > 1:
            ax.axvline(1.0 / s, color="tab:red", ls="--", lw=1, label="1/s")
            ax.legend(fontsize=7)
        for h in range(2, s // 2 + 1):
            ax.axvline(h / s, color="tab:red", ls=":", lw=0.8)
        ax.set_xlim(0, 0.5)
        ax.set_xlabel("cycles / pixel", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_title(f"spectrum, peak {numbers['dominant_frequency']:.3g}", fontsize=9)
        axes[3].imshow(resize2, cmap="magma", vmin=lo, vmax=hi, interpolation="nearest")
        _image_axes(axes[3], "resize-convolution")
        return View(fig, numbers)

    @checked
    def widget(self):
        """Sliders kernel_size 1..8 and stride 1..4."""
        ipywidgets = _ipywidgets()
        k = ipywidgets.IntSlider(value=3, min=1, max=8, description="kernel_size")
        s = ipywidgets.IntSlider(value=2, min=1, max=4, description="stride")
        return interactive_view(self.update, kernel_size=k, stride=s)


# --- fast feed-forward transfer (decoders) ------------------------------------------------------


class FastTransferDemo:
    """Fast feed-forward style transfer (:mod:`nstlab.decoders`), live.

    out = g(alpha sum_k w_k T(f(c), f(s_k)) + (1 - alpha) f(c)), T = AdaIN or WCT (Huang & Belongie 2017,
    sec. 7: content-style trade-off and style interpolation), at every level of the coarse-to-fine cascade
    of shipped reconstruction decoders (:func:`nstlab.decoders.cascade_transfer`), or at the one layer of
    ``decoder`` when one is given. The encoder runs once per image and resolution at construction; the
    per-style targets of the first level are computed once per method; a slider move is then a weighted
    sum of cached feature maps and one decoder pass, plus, for the cascade, one encoder, transform and
    decoder pass per finer level. ``size`` is the long side of the full picture, ``preview`` that of the
    quick one shown with ``preview=True`` (for a slider that is still moving). One or two styles; with
    two, ``mix`` is the weight of the second (w = (1 - mix, mix)).
    """

    @checked
    def __init__(
        self,
        content: images.ImageSource,
        style: images.ImageSource | Sequence[images.ImageSource],
        decoder: decoders.Decoder | None = None,
        size: ImageSide = 256,
        preview: ImageSide = 128,
    ):
        styles = list(style) if isinstance(style, list | tuple) else [style]
        if not 1 <= len(styles) <= 2:
            raise ValueError(f"FastTransferDemo takes one or two styles, got {len(styles)}")
        self.levels = decoders.CASCADE if decoder is None else (decoder.layer,)
        self.decoders = (
            [decoders.shipped_decoder("resize", layer, "cpu", kind="reconstruct") for layer in self.levels]
            if decoder is None
            else [decoder]
        )
        self.decoder = self.decoders[0]
        device = next(self.decoder.parameters()).device
        self.n_styles, self._targets, self._canvases = len(styles), {}, {}
        self.content, self.styles, self.features, self.style_features = {}, {}, {}, {}
        net = load_backbone("vgg16-hed", device=device)
        for res in dict.fromkeys((size, preview)):
            c = images.load(content, size=res).to(device)
            s = [images.load(x, size=res).to(device) for x in styles]
            self.content[res], self.styles[res] = c, s
            with torch.no_grad():
                self.style_features[res] = [net.features(x, self.levels) for x in s]
            first = self.levels[0]
            self.features[res] = (decoders.encode(c, first), [f[first] for f in self.style_features[res]])
        self.size, self.preview = size, preview

    @checked
    def targets(self, method: str, res: int) -> list[Tensor]:
        """T(f(c), f(s_k)) at alpha = 1 for every style at the first level (cached per method and size)."""
        if (method, res) not in self._targets:
            fc, fs = self.features[res]
            self._targets[method, res] = [decoders.style_target(fc, f, method) for f in fs]
        return self._targets[method, res]

    @checked
    def picture(
        self, alpha: Fraction = 1.0, method: str = "adain", mix: Fraction = 0.0, preview: bool = False
    ) -> Tensor:
        """The stylized image (1, 3, H, W) for these slider values, from the cached features."""
        return self._transfer(alpha, method, mix, preview)[1]

    @checked
    def style_weights(self, mix: Fraction) -> list[float]:
        """w = (1 - mix, mix) for two styles, (1,) for one (where mix must be 0)."""
        if self.n_styles == 1 and mix != 0:
            raise ValueError("mix (the weight of a second style) needs two styles")
        return [1.0] if self.n_styles == 1 else [1.0 - mix, mix]

    def _transfer(self, alpha: float, method: str, mix: float, preview: bool) -> tuple[Tensor, Tensor]:
        """(t, picture): the blended first-level features and the picture at the preview or the full size."""
        res = self.preview if preview else self.size
        weights, size = self.style_weights(mix), tuple(self.content[res].shape[-2:])
        t = decoders.blend(self.features[res][0], self.targets(method, res), alpha, weights)
        out = decoders.decode(t, self.decoder, size)
        for layer, decoder in zip(self.levels[1:], self.decoders[1:], strict=True):
            fs = [f[layer] for f in self.style_features[res]]
            out = decoders.level_transfer(out, fs, decoder, method, alpha, weights)
        return t, out

    @checked
    def update(
        self,
        alpha: Fraction = 1.0,
        method: str = "adain",
        mix: Fraction = 0.0,
        preview: bool = False,
        *,
        reuse: bool = False,
    ) -> View:
        """Figure: content, style(s), result. Numbers: alpha, mix, and the relative feature change
        ||t - f(c)|| / ||f(c)|| that the decoder turns into the picture. ``reuse=True`` redraws the
        previous reuse call's figure of the same size (only the pictures and titles change; what the
        widget does)."""
        res = self.preview if preview else self.size
        fc = self.features[res][0]
        t, out = self._transfer(alpha, method, mix, preview)
        numbers = {
            "alpha": float(alpha),
            "mix": float(mix),
            "relative_feature_change": float((t - fc).norm() / fc.norm()),
        }
        canvas = self._canvases.get(res) if reuse else None
        if canvas is None:
            canvas = self._new_canvas(res)
            if reuse:
                self._canvases[res] = canvas
        canvas["output"].set_data(images.to_numpy(out))
        canvas["axes"][-1].set_title(
            f"{method}, alpha = {alpha:.2f}" + (" (preview)" if preview else ""), fontsize=9
        )
        for k, w in enumerate(self.style_weights(mix)):
            canvas["axes"][1 + k].set_title(f"style {k + 1} (w = {w:.2f})", fontsize=9)
        if reuse:
            _freeze_layout(canvas["fig"])
        return View(canvas["fig"], numbers)

    def _new_canvas(self, res: int) -> dict[str, Any]:
        panels = 2 + self.n_styles
        fig = Figure(figsize=(2.4 * panels, 2.5), dpi=80, layout="constrained")
        axes = list(fig.subplots(1, panels))
        axes[0].imshow(images.to_numpy(self.content[res]))
        _image_axes(axes[0], "content")
        for k, s in enumerate(self.styles[res]):
            axes[1 + k].imshow(images.to_numpy(s))
            _image_axes(axes[1 + k], f"style {k + 1}")
        output = axes[-1].imshow(images.to_numpy(self.content[res]))
        _image_axes(axes[-1], "")
        return {"fig": fig, "axes": axes, "output": output}

    @checked
    def widget(self):
        """Sliders alpha and (two styles) mix, a method menu and a preview switch (the small size while
        you drag, then turn it off for the full picture)."""
        ipywidgets = _ipywidgets()
        controls: dict[str, Any] = {
            "alpha": ipywidgets.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.05, description="alpha"),
            "method": ipywidgets.Dropdown(options=["adain", "wct"], value="adain", description="method"),
            "mix": (
                ipywidgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="style 2")
                if self.n_styles == 2
                else ipywidgets.fixed(0.0)
            ),
            "preview": ipywidgets.Checkbox(value=False, description=f"preview ({self.preview} px)"),
        }
        return interactive_view(partial(self.update, reuse=True), **controls)
