"""Image-optimization style transfer (Gatys, Ecker & Bethge 2016, "Image Style Transfer Using
Convolutional Neural Networks", CVPR).

Find the image x that minimizes

    L(x) = alpha * sum_{l in L_c} b_l L_content^l(x, c) + beta * sum_{l in L_s} a_l L_style^l(x, s)
           + gamma * TV(x) + 10 beta [max(0, f_Y - rho(Y(x), Y(c)))^2 + max(0, f_E - rho(dY(x), dY(c)))^2]

by L-BFGS (as Gatys et al.) or Adam over the pixels, starting from the content image or from noise.
Each layer's loss is divided by its value for an all-zero feature map (for the Gram loss:
||G(s)||_F^2; for the content loss: 1/2 ||F(c)||^2 per entry), so the layer weights a_l, b_l (which
sum to 1) and the defaults of alpha, beta, gamma mean the same on every backbone and layer. The last
terms are floors on the correlation rho of the result's luminance Y (Rec. 601) with the content's
(f_Y = 0.6) and of their gradients dY, the edges (f_E = 0.2): zero for most styles, they stop the few
that would repaint the content's light and dark or bury its edges (measured in benchmarks/README.md,
"Defaults that keep the content"). ``luminance_floor=None, edge_floor=None`` is Gatys' objective.

Three pieces, each usable alone:

- :class:`Objective`: L(x) for one content/style pair on one backbone (targets computed once);
- :func:`run`: the optimization loop (zero the gradient, evaluate, backward, step, clamp to [0, 1]);
- :func:`stylize`, :func:`invert` (and ``video.stylize_video``): entry points that load the images,
  build the objective and call :func:`run`. What they share (backbone, layers, weights, optimizer,
  steps, progress, callbacks) is one :class:`Settings`, given as keyword arguments or as ``settings=``.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import math
import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

import numpy as np
import torch
import torch.nn.functional as nnf
from torch import Tensor
from tqdm.auto import tqdm

from . import color, images, losses, masks, stats, validation
from .backbones import BACKBONES, Backbone, load_backbone
from .budget import budget
from .layers import layer_weights
from .validation import (
    Correlation,
    ImageSide,
    ImageTensor,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    check_fields,
    checked,
    output_type,
)

__all__ = [
    "SettingsOptions",
    "StylizeResult",
    "check_weight",
    "check_steps",
    "Settings",
    "resolve_settings",
    "Objective",
    "check_optimizer",
    "make_optimizer",
    "run",
    "stylize",
    "invert",
]

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYERS = ("relu4_2",)
DEFAULT_STYLE_WEIGHT = 1e2
DEFAULT_TV_WEIGHT = 1.0
LUMINANCE_FLOOR = 0.6  # least correlation of the result's luminance with the content's (None: no floor)
EDGE_FLOOR = 0.2  # least correlation of the result's luminance gradients with the content's
FLOOR_WEIGHT = 10.0  # the floors' hinge penalty weight, in units of style_weight
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}  # the optimizers run() knows, with their default step sizes
CONVERGENCE_WINDOW = 10  # steps over which run(tol=...) measures the loss's progress
SCALE_FLOOR = 1e-12  # added to every layer's normalizing scale, so an all-zero target divides by no 0

Callback = Callable[[int, Tensor, dict[str, float]], Any]
NONNEGATIVE, COUNT = validation.checker(NonNegativeFloat), validation.checker(PositiveInt)
ObjectiveFn = Callable[..., tuple[Tensor, dict[str, Tensor]]]


@output_type
@dataclass
class StylizeResult:
    """The optimized ``image`` (1, 3, H, W) in [0, 1] and the loss ``history`` (one dict per step)."""

    image: Tensor
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0

    @checked
    def losses(self, key: str = "total") -> list[float]:
        """One loss term over the steps: ``total``, ``content``, ``style`` or ``tv``."""
        return [h[key] for h in self.history]

    @checked
    def plot_history(self, ax=None):
        """Plot the loss terms against the step on a log scale; returns the matplotlib Axes."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(5, 3))[1]
        for key in ("total", "content", "style", "tv"):
            values = self.losses(key)
            if any(v > 0 for v in values):
                ax.semilogy([h["step"] for h in self.history], values, label=key)
        ax.set(xlabel="step", ylabel="weighted loss")
        ax.legend()
        return ax


# ----------------------------------------------------------------------------------------------------
# Validation shared by the entry points
# ----------------------------------------------------------------------------------------------------


@checked
def check_weight(value: Any, name: str) -> float:
    """A loss weight as a float; raise unless it is a finite real number >= 0 (0 switches the term off)."""
    return NONNEGATIVE(value, name)


def _is_count(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 1


@checked
def check_steps(steps: Any, name: str = "steps") -> int:
    """A number of optimizer steps; raise unless it is a positive integer."""
    return COUNT(steps, name)


def _normalized(layers: Sequence[str] | Mapping[str, float], name: str) -> dict[str, float]:
    """Layer weights scaled to sum to 1 (a_l / sum a_l); errors name the argument ``name``."""
    weights = layer_weights(layers, name)
    total = sum(weights.values())
    return {n: w / total for n, w in weights.items()}


def _as_list(images_: Any) -> list:
    """None -> [], one image -> [image], a list or tuple of images -> a list."""
    if images_ is None:
        return []
    return list(images_) if isinstance(images_, list | tuple) else [images_]


# ----------------------------------------------------------------------------------------------------
# Settings shared by stylize, invert and video.stylize_video
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What the optimization entry points share; each takes these as keyword arguments (or ``settings=``).

    Objective: ``backbone`` (name or :class:`~nstlab.backbones.Backbone`), ``content_layers`` and
    ``style_layers`` (names or ``{name: weight}``; kept as ``{name: weight}`` with the weights normalized
    to sum 1), ``content_weight`` (alpha), ``style_weight`` (beta), ``tv_weight`` (gamma),
    ``luminance_floor`` and ``edge_floor`` (see :class:`Objective`; None switches one off), ``style_loss``
    (a name of ``losses.STYLE_LOSSES`` or a :class:`~nstlab.losses.StyleLoss`), ``seed`` (noise init and
    the draws of stochastic style losses). Loop (see :func:`run`): ``optimizer`` ("lbfgs" or "adam"),
    ``lr`` (None: 1.0 for L-BFGS, 0.02 for Adam), ``max_step`` (largest move of a pixel per step, None: no
    limit), ``steps`` (None: the budget's), ``progress`` (a tqdm bar), ``callback(step, image, record)``
    every ``callback_every`` steps.
    """

    backbone: str | Backbone = "vgg16-hed"
    content_layers: Sequence[str] | Mapping[str, float] = CONTENT_LAYERS
    style_layers: Sequence[str] | Mapping[str, float] = STYLE_LAYERS
    content_weight: NonNegativeFloat = 1.0
    style_weight: NonNegativeFloat = DEFAULT_STYLE_WEIGHT
    tv_weight: NonNegativeFloat = DEFAULT_TV_WEIGHT
    luminance_floor: Correlation | None = LUMINANCE_FLOOR
    edge_floor: Correlation | None = EDGE_FLOOR
    style_loss: str | losses.StyleLoss = "gram"
    seed: NonNegativeInt = 0
    optimizer: str = "lbfgs"
    lr: PositiveFloat | None = None
    max_step: PositiveFloat | None = None
    steps: PositiveInt | Sequence[int] | None = None
    progress: bool = True
    callback: Callback | None = None
    callback_every: PositiveInt = 10

    def __post_init__(self) -> None:
        check_fields(self)
        if isinstance(self.backbone, str):
            validation.check_choice(self.backbone, BACKBONES, "backbone")
        for name in ("content_layers", "style_layers"):  # kept normalized: Objective takes them as they are
            object.__setattr__(self, name, _normalized(getattr(self, name), name))
        losses.get_style_loss(self.style_loss)
        check_optimizer(self.optimizer, self.lr)

    @checked
    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed; unknown names raise a TypeError listing the valid ones."""
        valid = [f.name for f in dataclasses.fields(self)]
        unknown = sorted(set(changes) - set(valid))
        if unknown:
            hint = " (the per-style masks are now style_masks=[...])" if "masks" in unknown else ""
            raise TypeError(
                f"unknown argument(s) {unknown}{hint}; the shared settings are: {', '.join(valid)}"
            )
        return dataclasses.replace(self, **changes)

    @checked
    def network(self) -> Backbone:
        """The backbone (loaded by name, cached)."""
        return self.backbone if isinstance(self.backbone, Backbone) else load_backbone(self.backbone)

    @checked
    def objective_options(self) -> dict[str, Any]:
        """The keyword arguments of :class:`Objective` that these settings fix."""
        names = (
            "content_layers",
            "style_layers",
            "content_weight",
            "style_weight",
            "tv_weight",
            "luminance_floor",
            "edge_floor",
            "style_loss",
        )
        return {n: getattr(self, n) for n in (*names, "seed")}

    @checked
    def run_options(self) -> dict[str, Any]:
        """The keyword arguments of :func:`run` that these settings fix."""
        names = ("optimizer", "lr", "max_step", "progress", "callback", "callback_every")
        return {n: getattr(self, n) for n in names}


class SettingsOptions(TypedDict, total=False):
    """The shared :class:`Settings` as the keyword arguments of :func:`stylize`, :func:`invert` and
    :func:`nstlab.video.stylize_video` (what an editor shows for their ``**options``); each keyword is
    checked against its type here before the work starts (``tests/test_optimize.py`` keeps this list equal
    to the fields of :class:`Settings`)."""

    backbone: str | Backbone
    content_layers: Sequence[str] | Mapping[str, float]
    style_layers: Sequence[str] | Mapping[str, float]
    content_weight: NonNegativeFloat
    style_weight: NonNegativeFloat
    tv_weight: NonNegativeFloat
    luminance_floor: Correlation | None
    edge_floor: Correlation | None
    style_loss: str | losses.StyleLoss
    seed: NonNegativeInt
    optimizer: str
    lr: PositiveFloat | None
    max_step: PositiveFloat | None
    steps: PositiveInt | Sequence[int] | None
    progress: bool
    callback: Callback | None
    callback_every: PositiveInt


@checked
def resolve_settings(
    settings: Settings | None, options: Mapping[str, Any], unused: Sequence[str] = ()
) -> Settings:
    """``settings`` (default: the defaults) with the keyword ``options`` of an entry point applied; options in
    ``unused`` (settings that entry point does not use) raise a TypeError."""
    if settings is not None and not isinstance(settings, Settings):
        raise TypeError(f"settings must be an optimize.Settings, got {type(settings).__name__}")
    ignored = sorted(set(options) & set(unused))
    if ignored:
        raise TypeError(f"this function does not use {ignored}; remove them")
    return (settings or Settings()).replace(**options)


# ----------------------------------------------------------------------------------------------------
# The objective
# ----------------------------------------------------------------------------------------------------


class Objective:
    """The weighted, per-layer normalized loss of one content/style pair on one backbone.

    Targets are computed once; ``objective(x, step=0)`` returns (total, terms) with terms ``content``,
    ``style``, ``tv`` and, with a content and a style, ``luminance``: the hinge penalties
    10 beta [max(0, f_Y - rho(Y(x), Y(c)))^2 + max(0, f_E - rho(grad Y(x), grad Y(c)))^2] that keep the
    correlation of the result's luminance Y (Rec. 601) with the content's above ``luminance_floor`` f_Y and
    that of their gradients (the edges) above ``edge_floor`` f_E (:func:`nstlab.losses.correlation_floor`;
    None switches a floor off); each term already weighted. ``step`` only matters
    for stochastic style losses (sliced W2, MMD rbf, exact W2): their directions or positions come from
    ``losses.make_generator(seed, step)``, so a call is reproducible and copies agree. All arguments
    after the backbone are keywords.

    Spatial control (Gatys et al. 2017, sec. 4; see :mod:`nstlab.masks`): ``style`` may be a list of style
    images with ``style_masks`` one (1, 1, H, W) mask each at the generated image's size. Region r then
    contributes w_r * sum_l a_l ||G_r^l(x) - G^l(s_r)||^2 / ||G^l(s_r)||^2 with the guided Gram matrix
    G_r^l of the masked features and w_r the region's share of the masked area (the w_r sum to 1, so one
    all-ones mask is the plain loss and a protected region does not weaken the style elsewhere).
    Positions outside every mask carry no style loss.
    """

    @checked
    def __init__(
        self,
        backbone: Backbone | str = "vgg16-hed",
        *,
        content: ImageTensor | None = None,
        style: ImageTensor | Sequence[ImageTensor] | None = None,
        content_layers: Sequence[str] | Mapping[str, float] = CONTENT_LAYERS,
        style_layers: Sequence[str] | Mapping[str, float] = STYLE_LAYERS,
        content_weight: NonNegativeFloat = 1.0,
        style_weight: NonNegativeFloat = DEFAULT_STYLE_WEIGHT,
        tv_weight: NonNegativeFloat = DEFAULT_TV_WEIGHT,
        luminance_floor: Correlation | None = LUMINANCE_FLOOR,
        edge_floor: Correlation | None = EDGE_FLOOR,
        style_loss: str | losses.StyleLoss = "gram",
        style_masks: Sequence[Tensor] | None = None,
        seed: NonNegativeInt = 0,
    ):
        styles = _as_list(style)
        _check_mask_count(len(styles), style_masks)
        self.backbone = backbone if isinstance(backbone, Backbone) else load_backbone(backbone)
        self.content_weight = content_weight if content is not None else 0.0
        self.style_weight = style_weight if styles else 0.0
        self.tv_weight = tv_weight
        floors = (luminance_floor, edge_floor)
        self.floors = floors if content is not None and styles and floors != (None, None) else None
        self.content_layers = _normalized(content_layers, "content_layers") if self.content_weight else {}
        self.style_layers = _normalized(style_layers, "style_layers") if self.style_weight else {}
        self.backbone.check_layers(list(self.content_layers) or ["conv1_1"], "content_layers")
        self.backbone.check_layers(list(self.style_layers) or ["conv1_1"], "style_layers")
        self.layers = [*self.content_layers, *self.style_layers] or ["conv1_1"]
        self.style_loss, self.seed = losses.get_style_loss(style_loss), seed
        self.style_targets: dict[str, Any] = {}
        self.style_scales: dict[str, Tensor] = {}
        self.regions: list[_Region] = []
        self._set_content(content)
        if self.style_layers:
            self._set_styles(styles, style_masks)

    def _set_content(self, content: Tensor | None) -> None:
        with torch.no_grad():
            Fc = self.backbone.features(content, self.content_layers) if self.content_layers else {}
        self.content_targets = Fc
        self.content_luminance = color.luminance(content) if content is not None else None
        zero = {n: losses.content_loss(torch.zeros_like(F), F) for n, F in Fc.items()}
        self.content_scales = {n: z + SCALE_FLOOR for n, z in zero.items()}

    @torch.no_grad()
    def _set_styles(self, styles: list[Tensor], style_masks: Sequence[Tensor] | None) -> None:
        Fs = [self.backbone.features(s, self.style_layers) for s in styles]
        if style_masks is not None:
            self._set_regions(Fs, style_masks)
            return
        self.style_targets = {n: self.style_loss.prepare(F) for n, F in Fs[0].items()}
        # each layer's loss for an all-zero feature map: the scale it is divided by
        self.style_scales = {
            n: self.style_loss(torch.zeros_like(Fs[0][n]), t) + SCALE_FLOOR
            for n, t in self.style_targets.items()
        }

    def _set_regions(self, Fs: list[dict[str, Tensor]], style_masks: Sequence[Tensor]) -> None:
        if self.style_loss.name != "gram":
            raise ValueError(
                f"masks (spatial control) work with the Gram style loss (guided Gram matrices); got "
                f"style_loss={self.style_loss.name!r}"
            )
        names = [f"style mask {i} (of {len(style_masks)})" for i in range(len(style_masks))]
        per_region = masks.check_regions(list(style_masks), self.backbone, self.style_layers, names)
        covered = sum(float(m.mean()) for m in style_masks)
        for F, m, layer_masks in zip(Fs, style_masks, per_region, strict=True):
            targets = {n: stats.gram(f) for n, f in F.items()}
            scales = {n: G.pow(2).sum() + SCALE_FLOOR for n, G in targets.items()}
            self.regions.append(_Region(float(m.mean()) / covered, layer_masks, targets, scales))

    @checked
    def with_content(self, content: Tensor) -> Objective:
        """The same objective (style targets shared, not recomputed) for another content image of the
        same size, e.g. the next frame of a video."""
        other = copy.copy(self)
        other._set_content(content)
        return other

    def __call__(self, x: Tensor, step: int = 0) -> tuple[Tensor, dict[str, Tensor]]:
        feats = self.backbone.features(x, self.layers)
        gen = losses.make_generator(self.seed, step) if self.style_loss.stochastic else None
        content = sum(
            (
                b * losses.content_loss(feats[n], self.content_targets[n]) / self.content_scales[n]
                for n, b in self.content_layers.items()
            ),
            x.new_zeros(()),
        )
        style = sum(
            (
                a * self.style_loss(feats[n], self.style_targets[n], gen) / self.style_scales[n]
                for n, a in self.style_layers.items()
                if n in self.style_targets
            ),
            x.new_zeros(()),
        )
        for r in self.regions:
            style = style + r.weight * sum(
                a * masks.guided_gram_loss(feats[n], r.masks[n], r.targets[n]) / r.scales[n]
                for n, a in self.style_layers.items()
            )
        tv = losses.total_variation(x) if self.tv_weight else x.new_zeros(())
        terms = {"content": self.content_weight * content, "style": self.style_weight * style}
        terms["tv"] = self.tv_weight * tv
        if self.floors is not None:
            terms["luminance"] = (
                FLOOR_WEIGHT
                * self.style_weight
                * _floors_penalty(color.luminance(x), self.content_luminance, self.floors)
            )
        return sum(terms.values()), terms


def _floors_penalty(y: Tensor, y_content: Tensor, floors: tuple[float | None, float | None]) -> Tensor:
    """The two hinge penalties of :class:`Objective` on the luminances y (result) and y_content. A floor
    is off where the content has nothing to keep: a flat content has no layout (its luminance has no
    variance, so no correlation is defined) and no edges."""
    layout, edges = floors
    total = y.new_zeros(())
    if layout is not None and _varies(y_content):
        total = total + losses.correlation_floor(y, y_content, layout)
    dy_content = losses.gradients(y_content)
    if edges is not None and _varies(dy_content):
        total = total + losses.correlation_floor(losses.gradients(y), dy_content, edges)
    return total


def _varies(x: Tensor) -> bool:
    """Whether an image's values are not all equal (a correlation with it is defined)."""
    return bool(x.amax() > x.amin())


def _check_mask_count(n_styles: int, style_masks: Sequence[Any] | None) -> None:
    """Several styles need one mask each; masks need exactly one per style."""
    if style_masks is None and n_styles > 1:
        raise ValueError(
            f"{n_styles} styles need one mask each: pass style_masks=[one (H, W) mask per style]"
        )
    if style_masks is not None and len(style_masks) != n_styles:
        raise ValueError(f"got {n_styles} style image(s) but {len(style_masks)} mask(s): one mask per style")


@dataclass
class _Region:
    """One masked style: area weight, {layer: mask}, {layer: style Gram}, {layer: normalizing scale}."""

    weight: float
    masks: dict[str, Tensor]
    targets: dict[str, Tensor]
    scales: dict[str, Tensor]


# ----------------------------------------------------------------------------------------------------
# The loop
# ----------------------------------------------------------------------------------------------------


@checked
def check_optimizer(name: str, lr: PositiveFloat | None) -> None:
    """Raise unless ``name`` is one of ``DEFAULT_LR`` and ``lr`` is None or a finite number > 0."""
    if name not in DEFAULT_LR:
        raise ValueError(f"unknown optimizer={name!r}; use one of {', '.join(map(repr, DEFAULT_LR))}")
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not 0 < lr < math.inf):
        raise ValueError(f"lr must be a finite number > 0 or None (the optimizer's default), got {lr!r}")


@checked
def make_optimizer(name: str, x: Tensor, lr: PositiveFloat | None = None) -> torch.optim.Optimizer:
    """``torch.optim.LBFGS`` (one function evaluation per step, history 50) or ``torch.optim.Adam`` over x."""
    check_optimizer(name, lr)
    lr = DEFAULT_LR[name] if lr is None else lr
    if name == "lbfgs":
        return torch.optim.LBFGS([x], lr=lr, max_iter=1, history_size=50)
    return torch.optim.Adam([x], lr=lr)


def _record_projected_step(opt: torch.optim.Optimizer, x: Tensor, before: Tensor) -> None:
    """Tell L-BFGS the step it actually took after the clamp to [0, 1].

    L-BFGS builds its curvature pairs (s_k, y_k) from the step it proposed, s_k = t d; clamping moves
    the pixels elsewhere, and with the wrong s_k the inverse-Hessian estimate can turn a converging run
    into a jump to a far worse image a few steps later (seen on 160 px inversions). Storing the real step
    x_{k+1} - x_k as the direction with t = 1 keeps every pair exact (projected quasi-Newton).
    """
    if not isinstance(opt, torch.optim.LBFGS):
        return
    state = opt.state[x]
    if "d" in state:
        state["d"] = (x.detach() - before).flatten()
        state["t"] = 1.0


def _show(bar: tqdm, record: dict[str, float]) -> None:
    """Advance the progress bar, showing the main loss terms."""
    bar.set_postfix(
        {k: f"{record[k]:.3g}" for k in ("style", "content", "total") if k in record}, refresh=False
    )
    bar.update()


def _converged(history: list[dict[str, float]], tol: float) -> bool:
    """The total loss fell by less than ``tol`` (relative) over the last ``CONVERGENCE_WINDOW`` steps."""
    if len(history) <= CONVERGENCE_WINDOW:
        return False
    before, now = history[-1 - CONVERGENCE_WINDOW]["total"], history[-1]["total"]
    return before - now < tol * abs(before)


def _limit_step(x: Tensor, before: Tensor, max_step: float | None) -> None:
    """Shrink the step x - before (in place, same direction) so that no pixel moves by more than
    ``max_step``: an L-infinity trust region. None: no limit."""
    if max_step is None:
        return
    change = float((x - before).abs().max())
    if change > max_step:
        x.copy_(before + (x - before) * (max_step / change))


def _with_step(objective: ObjectiveFn) -> Callable[[Tensor, int], tuple[Tensor, dict[str, Tensor]]]:
    """``objective(x, step=k)`` if it takes a step (stochastic losses draw from it), else ``objective(x)``."""
    try:
        params = inspect.signature(objective).parameters.values()
    except (TypeError, ValueError):
        params = []
    if any(p.name == "step" or p.kind is p.VAR_KEYWORD for p in params):
        return lambda x, step: objective(x, step=step)
    return lambda x, step: objective(x)


def _checked_result(result: Any) -> tuple[Tensor, Mapping[str, Tensor]]:
    """The objective's (total, {name: term}), or a TypeError saying what it returned instead."""
    ok = isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], Mapping)
    if not ok or not isinstance(result[0], Tensor) or result[0].numel() != 1:
        raise TypeError(
            f"objective must return (total, {{name: term}}) with total a one-element tensor, got "
            f"{validation.describe(result)}; e.g. return loss, {{'loss': loss}}"
        )
    if not result[0].requires_grad:
        raise ValueError(
            "objective's total does not depend on the image (no gradient): compute it from the x it is "
            "given, not under torch.no_grad() and not from a detached copy"
        )
    return result


def _record(step: int, terms: Mapping[str, Tensor], seconds: float) -> dict[str, float]:
    record = {"step": float(step), **{k: float(v.detach()) for k, v in terms.items()}}
    if not all(math.isfinite(v) for v in record.values()):
        raise FloatingPointError(f"the loss became NaN/inf at step {step}; lower lr or the weights")
    record["step"], record["seconds"] = step, seconds
    return record


@checked
def run(
    x0: Tensor,
    objective: ObjectiveFn,
    steps: PositiveInt,
    *,
    optimizer: str = "lbfgs",
    lr: PositiveFloat | None = None,
    progress: bool = True,
    callback: Callback | None = None,
    callback_every: PositiveInt = 10,
    compose: Callable[[Tensor], Tensor] | None = None,
    step_offset: int = 0,
    seconds_offset: float = 0.0,
    max_step: PositiveFloat | None = None,
    tol: PositiveFloat | None = None,
) -> StylizeResult:
    """Minimize ``objective(compose(x))`` over the pixels x from ``x0``, clamping x to [0, 1] after each step.

    ``objective(x)`` (or ``objective(x, step=k)``) returns (total, {name: term}); every step: zero the
    gradient, evaluate, backpropagate, let the optimizer step, clamp. ``optimizer``: "lbfgs" (one function
    evaluation per step; the clamped step is what it learns from, see ``_record_projected_step``) or
    "adam"; ``lr`` None is the default of :data:`DEFAULT_LR`. ``compose`` (default identity) maps the free
    pixels to the image (e.g. holding a protected region); the result and the callback's images are
    ``compose(x)``. ``callback(step, image, record)`` runs every ``callback_every`` steps and at the last.
    Steps are numbered from ``step_offset + 1`` and times from ``seconds_offset`` (for runs that continue
    one another, as a pyramid's levels). ``max_step`` caps how far any pixel moves in one step; ``tol``
    stops early once the total loss fell by less than that fraction over the last ``CONVERGENCE_WINDOW``
    steps. Returns the image and one history record per step.
    """
    image_of, evaluate = compose or (lambda t: t), _with_step(objective)
    x = x0.detach().clone().requires_grad_(True)
    opt = make_optimizer(optimizer, x, lr)
    history: list[dict[str, float]] = []
    terms: dict[str, Tensor] = {}
    step, last, start = step_offset, step_offset + steps, time.perf_counter()

    def closure() -> Tensor:
        opt.zero_grad(set_to_none=True)
        total, parts = _checked_result(evaluate(image_of(x), step))
        total.backward()
        terms.update(parts, total=total)
        return total

    with tqdm(total=steps, disable=not progress, desc="stylize", leave=False) as bar:
        for step in range(step_offset + 1, last + 1):  # noqa: B007 (closure() reads step)
            before = x.detach().clone()
            opt.step(closure)
            with torch.no_grad():
                x.clamp_(0, 1)
                _limit_step(x, before, max_step)
            _record_projected_step(opt, x, before)
            history.append(_record(step, terms, seconds_offset + time.perf_counter() - start))
            _show(bar, history[-1])
            if callback is not None and (step % callback_every == 0 or step == last):
                callback(step, image_of(x).detach().clone(), history[-1])
            if tol is not None and _converged(history, tol):
                break
    return StylizeResult(image_of(x).detach(), history, time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------------
# Entry points
# ----------------------------------------------------------------------------------------------------


@checked
def stylize(
    content: images.ImageSource | None,
    style: images.ImageSource | Sequence[images.ImageSource] | None,
    *,
    size: ImageSide | None = None,
    style_size: ImageSide | None = None,
    init: str | Tensor = "content",
    preserve_color: str | None = None,
    style_masks: Sequence[Tensor | np.ndarray] | None = None,
    protect: Tensor | np.ndarray | None = None,
    pyramid: Sequence[int] | None = None,
    pyramid_tol: float | None = None,
    settings: Settings | None = None,
    **options: Unpack[SettingsOptions],
) -> StylizeResult:
    """Stylize ``content`` with ``style`` by optimizing the pixels (Gatys et al. 2016).

    Images are anything :func:`nstlab.images.load` accepts (a sample name, path, URL or tensor), loaded
    with the budget's ``max_size``. ``content=None`` synthesizes a texture from the style alone (init
    noise); ``style=None`` reconstructs the content from its features. ``size`` is the long side of the
    result (default: the budget's), ``style_size`` that of the style image (default ``size``). ``init``:
    "content", "noise" or an image. ``options`` are the shared :class:`Settings` (``steps``, ``optimizer``,
    ``style_weight``, ``style_layers``, ``callback``, ...; ``steps`` None: the budget's).

    Controls (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style Transfer"):

    - ``preserve_color="luminance"`` or ``"moments"``: keep the content's colours (:mod:`nstlab.color`).
    - ``style_masks``: with a list of styles, one mask (H, W) each in [0, 1] (any resolution of the
      content's aspect): region r gets style r through guided Gram matrices (:mod:`nstlab.masks`). With one
      style, a one-element list limits the style to that region.
    - ``protect``: a mask (H, W) of a region to keep as in the content: no style loss there and its pixels
      held at the content's (x = p c + (1 - p) x_free).
    - ``pyramid=(128, 256, 512)``: optimize coarse to fine, each level starting from the previous result
      upsampled plus the content's detail band; the last entry is the output size. ``steps`` is an int
      (every level) or one count per level. History records carry the level's ``size`` and ``seconds``.
      ``pyramid_tol``: levels before the last stop early once their loss flattens (``run(tol=...)``).
    """
    s = resolve_settings(settings, options)
    controls = _Controls(init, preserve_color, style_masks, protect, pyramid_tol)
    styles = _as_list(style)
    _check_stylize_inputs(content, styles, controls)
    _check_spatial_control(controls, losses.get_style_loss(s.style_loss).name)
    net, plan = s.network(), budget()
    levels = _pyramid_levels(pyramid, size, plan.size)
    level_steps = _level_steps(plan.steps if s.steps is None else s.steps, len(levels))
    result = None
    for level, steps in zip(levels, level_steps, strict=True):
        level_style_size = round((style_size or levels[-1]) * level / levels[-1])
        imgs = _load(content, styles, level, level_style_size, plan.max_size, _device(net))
        tol = controls.pyramid_tol if level != levels[-1] else None
        result = _optimize_level(imgs, result, steps, net, s, controls, tol)
    if preserve_color is not None:
        result.image = color.output(result.image, imgs.content, preserve_color)
    return result


@dataclass(frozen=True)
class _Controls:
    """The arguments of :func:`stylize` that are not shared :class:`Settings`."""

    init: str | Tensor
    preserve_color: str | None
    style_masks: Sequence[Any] | None
    protect: Any
    pyramid_tol: float | None = None


def _optimize_level(
    imgs: _Images,
    previous: StylizeResult | None,
    steps: int,
    net: Backbone,
    s: Settings,
    controls: _Controls,
    tol: float | None = None,
) -> StylizeResult:
    """One pyramid level (or the only one): build its objective and run, continuing ``previous``."""
    c_in, s_in = _color_inputs(imgs, controls.preserve_color)
    keep = _protect_mask(controls.protect, imgs.shape, imgs.device)
    region_masks = _region_masks(controls.style_masks, keep, imgs)
    objective = Objective(net, content=c_in, style=s_in, style_masks=region_masks, **s.objective_options())
    if previous is None:
        previous = StylizeResult(torch.empty(0))
        x0 = _initial_image(controls.init, c_in, s_in, s.seed)
    else:
        x0 = _upsample_level(previous.image, c_in, imgs.shape)
    compose = None if keep is None else _composer(keep, c_in)
    offsets = {"step_offset": len(previous.history), "seconds_offset": previous.seconds}
    loop = s.run_options()
    if s.callback is not None:  # callbacks see the level's size, as the history will
        loop["callback"] = lambda step, img, rec: s.callback(step, img, {**rec, "size": float(imgs.size)})
    part = run(x0, objective, steps, compose=compose, tol=tol, **offsets, **loop)
    return _continued(previous, part, imgs.size)


@dataclass
class _Images:
    """One pyramid level's content (None for a texture) and styles, on the backbone's device; ``size`` is the
    level's long side."""

    content: Tensor | None
    styles: list[Tensor]
    size: int

    @property
    def shape(self) -> tuple[int, int]:
        return tuple((self.content if self.content is not None else self.styles[0]).shape[-2:])

    @property
    def device(self) -> torch.device:
        return (self.content if self.content is not None else self.styles[0]).device


def _device(net: Backbone) -> torch.device:
    return next(net.parameters()).device


def _load(
    content: Any, styles: list, size: int, style_size: int, max_size: int, dev: torch.device
) -> _Images:
    c_img = images.load(content, size=size, max_size=max_size).to(dev) if content is not None else None
    return _Images(c_img, [images.load(s, size=style_size, max_size=max_size).to(dev) for s in styles], size)


def _color_inputs(imgs: _Images, mode: str | None) -> tuple[Tensor | None, list[Tensor]]:
    """(content, styles) as the transfer sees them for a colour preservation ``mode``."""
    if mode is None or imgs.content is None:
        return imgs.content, imgs.styles
    content = imgs.content
    return color.content_in(content, mode), [color.style_in(s, content, mode) for s in imgs.styles]


def _check_stylize_inputs(content: Any, styles: list, controls: _Controls) -> None:
    if content is None and not styles:
        raise ValueError("give a content image, a style image or both")
    named = [("content", content)] if content is not None else []
    for name, img in named + [
        (f"style[{i}]" if len(styles) > 1 else "style", s) for i, s in enumerate(styles)
    ]:
        if isinstance(img, Tensor):  # a path or sample name is checked as it loads
            images.check_image(img if img.ndim != 3 else img[None], name, unit_range=True)
    needs_content = (controls.style_masks, controls.protect, controls.preserve_color)
    if content is None and any(c is not None for c in needs_content):
        raise ValueError("style_masks, protect and preserve_color need a content image")
    color.check_mode(controls.preserve_color)
    _check_mask_count(len(styles), controls.style_masks)


def _check_spatial_control(controls: _Controls, style_loss: str) -> None:
    """Masks and ``protect`` restrict the style loss by guided Gram matrices: the Gram loss only."""
    options = (("style_masks", controls.style_masks), ("protect", controls.protect))
    names = " and ".join(n for n, v in options if v is not None)
    if names and style_loss != "gram":
        raise ValueError(
            f"{names}: spatial control works with the Gram style loss only (guided Gram matrices), got "
            f"style_loss={style_loss!r}; use style_loss='gram' or leave out {names}"
        )


def _continued(result: StylizeResult, part: StylizeResult, level_size: int) -> StylizeResult:
    """``result`` followed by ``part`` (the next pyramid level, its records marked with its size)."""
    for record in part.history:
        record["size"] = float(level_size)
    return StylizeResult(part.image, result.history + part.history, result.seconds + part.seconds)


def _initial_image(init: str | Tensor, content: Tensor | None, styles: list[Tensor], seed: int) -> Tensor:
    like = content if content is not None else styles[0]
    if isinstance(init, Tensor):
        init = images.check_image(init, "init", unit_range=True).detach().clone().to(like)
        if init.shape[-2:] != like.shape[-2:]:
            if images.aspect_mismatch(init.shape, like.shape):
                raise ValueError(
                    f"init is {tuple(init.shape[-2:])} (HxW) but the image is {tuple(like.shape[-2:])}; "
                    "give an init of its aspect ratio"
                )
            init = nnf.interpolate(init, size=like.shape[-2:], mode="bilinear", align_corners=False)
        return init.clamp(0, 1)
    if init == "content" and content is not None:
        return content.detach().clone()
    if init in ("noise", "content"):
        g = torch.Generator().manual_seed(seed)
        return torch.rand(like.shape, generator=g).to(like)
    raise ValueError(f"unknown init={init!r}; use 'content', 'noise' or an image tensor")


def _upsample_level(x: Tensor, content: Tensor | None, shape: tuple[int, ...]) -> Tensor:
    """The next level's start: the coarse result upsampled (bilinear), plus the content's detail that the
    coarse level could not hold, c - up(down(c)) (a Laplacian-pyramid band), so edges start sharp."""
    up = nnf.interpolate(x, size=shape, mode="bilinear", align_corners=False)
    if content is not None:  # the band the coarse level cannot represent
        coarse = nnf.interpolate(
            content, size=x.shape[-2:], mode="bilinear", antialias=True, align_corners=False
        )
        up = up + content - nnf.interpolate(coarse, size=shape, mode="bilinear", align_corners=False)
    return up.clamp(0, 1)


def _pyramid_levels(pyramid: Sequence[int] | None, size: int | None, default: int) -> list[int]:
    """The long sides to optimize at, coarse to fine: ``[size]`` without a pyramid."""
    if pyramid is None:
        return [default if size is None else size]
    levels = list(pyramid)
    if not levels or any(not _is_count(s) or s < 16 for s in levels) or levels != sorted(set(levels)):
        raise ValueError(f"pyramid must be increasing sizes (>= 16 px) like (128, 256, 512); got {pyramid!r}")
    if size is not None and size != levels[-1]:
        raise ValueError(f"size={size} disagrees with the pyramid's last level {levels[-1]}; pass only one")
    return levels


def _level_steps(steps: int | Sequence[int], n_levels: int) -> list[int]:
    counts = [steps] * n_levels if not isinstance(steps, Sequence) else list(steps)
    if len(counts) != n_levels or not all(_is_count(s) for s in counts):
        raise ValueError(
            f"steps must be a positive integer or one positive integer per pyramid level ({n_levels}), "
            f"got {steps!r}"
        )
    return counts


def _protect_mask(protect: Any, shape: tuple[int, int], dev: torch.device) -> Tensor | None:
    return None if protect is None else masks.as_mask(protect, shape, "protect").to(dev)


def _region_masks(
    style_masks: Sequence[Any] | None, keep: Tensor | None, imgs: _Images
) -> list[Tensor] | None:
    """The style masks at the image size, each multiplied by 1 - protect; None when there are none."""
    if (style_masks is None and keep is None) or not imgs.styles:
        return None
    ones = [torch.ones(1, 1, *imgs.shape, device=imgs.device)]
    if style_masks is not None:
        ones = [masks.as_mask(m, imgs.shape, f"style_masks[{i}]") for i, m in enumerate(style_masks)]
    ms = [m.to(imgs.device) for m in ones]
    return ms if keep is None else [m * (1 - keep) for m in ms]


def _composer(keep: Tensor, content: Tensor) -> Callable[[Tensor], Tensor]:
    """x -> p c + (1 - p) x: the protected pixels held at the content's."""
    return lambda x: keep * content + (1 - keep) * x


INVERT_UNUSED = (
    "content_layers",
    "style_layers",
    "content_weight",
    "style_weight",
    "style_loss",
    "luminance_floor",
    "edge_floor",
)


@checked
def invert(
    targets: Mapping[str, Tensor],
    shape: tuple[int, int],
    *,
    init: str | Tensor = "noise",
    settings: Settings | None = None,
    **options: Unpack[SettingsOptions],
) -> StylizeResult:
    """Invert feature maps into a picture (Mahendran & Vedaldi 2015, "Understanding Deep Image
    Representations by Inverting Them"): find the (1, 3, H, W) image x, ``shape`` = (H, W), that minimizes

        sum_l  b_l * ||F_l(x) - T_l||^2 / ||T_l||^2  +  gamma * TV(x)

    for given targets ``{layer: T_l}`` (e.g. an AdaIN or WCT output), b_l = 1/len(targets). The
    targets' spatial size must be what the backbone gives for an (H, W) image. ``init``: "noise"
    (seeded) or an image. ``options``: the :class:`Settings` of the backbone, ``tv_weight`` and the loop
    (``steps`` None: the budget's); the layer and style settings do not apply. The result's ``history``
    reports the feature term as ``content``.
    """
    s = resolve_settings(settings, options, unused=INVERT_UNUSED)
    net = s.network()
    layers = net.check_layers(list(targets), "targets")
    like = torch.zeros(1, 3, *shape, device=_device(net))
    _check_targets(net, targets, like, layers)
    weight = 1.0 / len(targets)
    scales = {n: T.detach().pow(2).sum() + SCALE_FLOOR for n, T in targets.items()}

    def objective(x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        feats = net.features(x, layers)
        match = sum(weight * (feats[n] - T.detach()).pow(2).sum() / scales[n] for n, T in targets.items())
        tv = s.tv_weight * losses.total_variation(x) if s.tv_weight else x.new_zeros(())
        return match + tv, {"content": match, "style": x.new_zeros(()), "tv": tv}

    x0 = _initial_image(init, None, [like], s.seed)
    return run(x0, objective, budget().steps if s.steps is None else s.steps, **s.run_options())


def _check_targets(net: Backbone, targets: Mapping[str, Tensor], like: Tensor, layers: list[str]) -> None:
    with torch.no_grad():
        expected = {n: F.shape for n, F in net.features(like, layers).items()}
    for n, T in targets.items():
        if not isinstance(T, Tensor) or T.shape != expected[n]:
            got = tuple(T.shape) if isinstance(T, Tensor) else type(T).__name__
            raise ValueError(
                f"target {n} has shape {got}, but a {tuple(like.shape[-2:])} image gives "
                f"{tuple(expected[n])} at {n}; pass the shape of the image the target came from"
            )
        if not torch.isfinite(T).all():
            raise ValueError(f"target {n} contains NaN or inf")
