"""Image-optimization style transfer (Gatys, Ecker & Bethge 2016, "Image Style Transfer Using
Convolutional Neural Networks", CVPR).

Find the image x that minimizes

    L(x) = alpha * sum_{l in L_c} b_l L_content^l(x, c) + beta * sum_{l in L_s} a_l L_style^l(x, s)
           + gamma * TV(x)

by L-BFGS (as Gatys et al.) or Adam over the pixels, starting from the content image or from noise.
Each layer's loss is divided by its value for an all-zero feature map (for the Gram loss:
||G(s)||_F^2; for the content loss: 1/2 ||F(c)||^2 per entry), so the layer weights a_l, b_l (which
sum to 1) and the defaults of alpha, beta, gamma mean the same on every backbone and layer.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as nnf
from torch import Tensor
from tqdm.auto import tqdm

from . import color, images, losses, masks, stats
from .backbones import Backbone, layer_weights, load_backbone
from .budget import budget
from .masks import as_mask

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYERS = ("relu4_2",)
DEFAULT_STYLE_WEIGHT = 1e2
DEFAULT_TV_WEIGHT = 1.0


@dataclass
class StylizeResult:
    """The optimized ``image`` (1, 3, H, W) in [0, 1] and the loss ``history`` (one dict per step)."""

    image: Tensor
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0

    def losses(self, key: str = "total") -> list[float]:
        """One loss term over the steps: ``total``, ``content``, ``style`` or ``tv``."""
        return [h[key] for h in self.history]

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


def _normalized(layers: Sequence[str] | Mapping[str, float]) -> dict[str, float]:
    """Layer weights scaled to sum to 1 (a_l / sum a_l)."""
    weights = layer_weights(layers)
    total = sum(weights.values())
    return {n: w / total for n, w in weights.items()}


class Objective:
    """The weighted, per-layer normalized loss of one content/style pair on one backbone.

    Targets are computed once; calling the objective on an image returns (total, terms).

    Spatial control (Gatys et al. 2017, sec. 4; see :mod:`nstlab.masks`): ``style`` may be a list of style
    images with ``style_masks`` one (1, 1, H, W) mask each at the generated image's size. Region r then
    contributes w_r * sum_l a_l ||G_r^l(x) - G^l(s_r)||^2 / ||G^l(s_r)||^2 with the guided Gram matrix
    G_r^l of the masked features and w_r the region's share of the masked area (the w_r sum to 1, so one
    all-ones mask is the plain loss and a protected region does not weaken the style elsewhere).
    Positions outside every mask carry no style loss.
    """

    def __init__(
        self,
        backbone: Backbone,
        content: Tensor | None,
        style: Tensor | Sequence[Tensor] | None,
        content_layers: Mapping[str, float],
        style_layers: Mapping[str, float],
        content_weight: float,
        style_weight: float,
        tv_weight: float,
        style_loss: str | losses.StyleLoss = "gram",
        style_masks: Sequence[Tensor] | None = None,
    ):
        styles = [] if style is None else [style] if isinstance(style, Tensor) else list(style)
        if style_masks is None and len(styles) > 1:
            raise ValueError(f"{len(styles)} styles need one mask each (style_masks=[...])")
        if style_masks is not None and len(style_masks) != len(styles):
            raise ValueError(f"got {len(styles)} style image(s) but {len(style_masks)} mask(s): one each")
        self.backbone, self.tv_weight = backbone, tv_weight
        self.content_weight = content_weight if content is not None else 0.0
        self.style_weight = style_weight if styles else 0.0
        self.content_layers = content_layers if self.content_weight else {}
        self.style_layers = style_layers if self.style_weight else {}
        self.layers = backbone.check_layers([*self.content_layers, *self.style_layers] or ["conv1_1"])
        self.style_loss = losses.get_style_loss(style_loss)
        self.style_targets: dict[str, Any] = {}
        self.style_scales: dict[str, Tensor] = {}
        self.regions: list[_Region] = []
        self._set_content(content)
        with torch.no_grad():
            Fs = [backbone.features(s, self.style_layers) for s in styles] if self.style_layers else []
            if style_masks is None and Fs:
                self.style_targets = {n: self.style_loss.prepare(F) for n, F in Fs[0].items()}
                # each layer's loss for an all-zero feature map: the scale it is divided by
                self.style_scales = {
                    n: self.style_loss.compare(torch.zeros_like(Fs[0][n]), t) + 1e-12
                    for n, t in self.style_targets.items()
                }
            elif style_masks is not None and Fs:
                self._set_regions(Fs, style_masks)

    def _set_content(self, content: Tensor | None) -> None:
        with torch.no_grad():
            Fc = self.backbone.features(content, self.content_layers) if self.content_layers else {}
        self.content_targets = Fc
        self.content_scales = {n: losses.content_loss(torch.zeros_like(F), F) + 1e-12 for n, F in Fc.items()}

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
            scales = {n: G.pow(2).sum() + 1e-12 for n, G in targets.items()}
            self.regions.append(_Region(float(m.mean()) / covered, layer_masks, targets, scales))

    def with_content(self, content: Tensor) -> Objective:
        """The same objective (style targets shared, not recomputed) for another content image of the
        same size, e.g. the next frame of a video."""
        other = copy.copy(self)
        other._set_content(content)
        return other

    def __call__(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        feats = self.backbone.features(x, self.layers)
        content = sum(
            (
                b * losses.content_loss(feats[n], self.content_targets[n]) / self.content_scales[n]
                for n, b in self.content_layers.items()
            ),
            x.new_zeros(()),
        )
        style = sum(
            (
                a * self.style_loss.compare(feats[n], self.style_targets[n]) / self.style_scales[n]
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
        terms = {
            "content": self.content_weight * content,
            "style": self.style_weight * style,
            "tv": self.tv_weight * tv,
        }
        return terms["content"] + terms["style"] + terms["tv"], terms


@dataclass
class _Region:
    """One masked style: area weight, {layer: mask}, {layer: style Gram}, {layer: normalizing scale}."""

    weight: float
    masks: dict[str, Tensor]
    targets: dict[str, Tensor]
    scales: dict[str, Tensor]


def _initial_image(init: str | Tensor, like: Tensor, content: Tensor | None, seed: int) -> Tensor:
    if isinstance(init, Tensor):
        init = images.check_image(init, "init").detach().clone().to(like)
        (h, w), (H, W) = init.shape[-2:], like.shape[-2:]
        if (h, w) != (H, W):
            if abs(h / w - H / W) > 0.02 * H / W:
                raise ValueError(f"init is {h}x{w} (HxW) but the image is {H}x{W}; give an init of its shape")
            init = nnf.interpolate(init, size=(H, W), mode="bilinear", align_corners=False).clamp(0, 1)
        return init
    if init == "content" and content is not None:
        return content.detach().clone()
    if init in ("noise", "content"):
        g = torch.Generator().manual_seed(seed)
        return torch.rand(like.shape, generator=g).to(like)
    raise ValueError(f"unknown init={init!r}; use 'content', 'noise' or an image tensor")


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


def _make_optimizer(name: str, x: Tensor, lr: float | None) -> torch.optim.Optimizer:
    if name == "lbfgs":
        return torch.optim.LBFGS([x], lr=lr or 1.0, max_iter=1, history_size=50)
    if name == "adam":
        return torch.optim.Adam([x], lr=lr or 0.02)
    raise ValueError(f"unknown optimizer={name!r}; use 'lbfgs' or 'adam'")


def stylize(
    content: images.ImageSource | None,
    style: images.ImageSource | Sequence[images.ImageSource] | None,
    *,
    backbone: str | Backbone = "vgg16-hed",
    size: int | None = None,
    style_size: int | None = None,
    steps: int | Sequence[int] | None = None,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    content_layers: Sequence[str] | Mapping[str, float] = CONTENT_LAYERS,
    style_layers: Sequence[str] | Mapping[str, float] = STYLE_LAYERS,
    style_weight: float = DEFAULT_STYLE_WEIGHT,
    content_weight: float = 1.0,
    tv_weight: float = DEFAULT_TV_WEIGHT,
    style_loss: str | losses.StyleLoss = "gram",
    init: str | Tensor = "content",
    seed: int = 0,
    progress: bool = True,
    callback: Callable[[int, Tensor, dict[str, float]], Any] | None = None,
    callback_every: int = 10,
    preserve_color: str | None = None,
    masks: Sequence[Tensor | np.ndarray] | None = None,
    protect: Tensor | np.ndarray | None = None,
    pyramid: Sequence[int] | None = None,
) -> StylizeResult:
    """Stylize ``content`` with ``style`` by optimizing the pixels (Gatys et al. 2016).

    Images are anything :func:`nstlab.images.load` accepts (a sample name, path, URL or tensor).
    ``content=None`` synthesizes a texture from the style alone (init noise); ``style=None``
    reconstructs the content from its features. ``size`` is the long side of the result (default:
    the budget's), ``style_size`` that of the style image (default ``size``); the two may differ in
    size and aspect. ``steps`` counts optimizer iterations (one L-BFGS iteration is one
    forward/backward pass). Layer arguments take names or ``{name: weight}``. ``callback(step, image,
    terms)`` receives intermediate images every ``callback_every`` steps.

    Controls (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style Transfer"):

    - ``preserve_color="luminance"``: transfer on the luminance only and keep the content's colours (YIQ);
      ``"histogram"``: move the style's colours to the content's (mean and covariance) before the
      transfer. See :mod:`nstlab.color`. Intermediate images of ``callback`` are gray for "luminance".
    - ``masks``: with a list of styles, one mask (H, W) each in [0, 1] (any resolution of the content's
      aspect): region r gets style r through guided Gram matrices (:mod:`nstlab.masks`). With one style, a
      one-element list limits the style to that region.
    - ``protect``: a mask (H, W) of a region to keep as in the content: no style loss is measured there
      (the masks above are multiplied by 1 - protect) and its pixels are held at the content's
      (x = p c + (1 - p) x_free), because the style loss of the free region would otherwise reach into
      it through the receptive fields of deep layers.
    - ``pyramid=(128, 256, 512)``: optimize coarse to fine, each level starting from the previous
      result upsampled (bilinear); the last entry is the output size (``size`` must then be None or
      equal). The style is loaded at ``style_size`` scaled by the same factor as the content, so the
      texture's scale relative to the picture stays the same. ``steps`` is an int (every level) or one
      count per level. The history runs on across levels and records each level's ``size``.

    Each history record also holds ``seconds`` since the start (for time-to-quality measurements).
    """
    if content is None and style is None:
        raise ValueError("give a content image, a style image or both")
    styles = [] if style is None else list(style) if isinstance(style, list | tuple) else [style]
    if content is None and (masks is not None or protect is not None or preserve_color is not None):
        raise ValueError("masks, protect and preserve_color need a content image")
    color.check_mode(preserve_color)
    if len(styles) > 1 and masks is None:
        raise ValueError(f"{len(styles)} styles need one mask each: pass masks=[one (H, W) mask per style]")
    if masks is not None and len(masks) != len(styles):
        raise ValueError(f"got {len(styles)} style image(s) but {len(masks)} mask(s): one mask per style")
    b = budget()
    levels = _pyramid_levels(pyramid, size, b.size)
    level_steps = _level_steps(b.steps if steps is None else steps, len(levels))
    net = backbone if isinstance(backbone, Backbone) else load_backbone(backbone)
    dev = next(net.parameters()).device
    result = StylizeResult(torch.empty(0))
    x: Tensor | None = None
    c_img: Tensor | None = None
    for level, level_size in enumerate(levels):
        c_img = images.load(content, size=level_size).to(dev) if content is not None else None
        s_size = round((style_size or levels[-1]) * level_size / levels[-1])
        s_imgs = [images.load(s, size=s_size).to(dev) for s in styles]
        c_in, s_in = c_img, s_imgs
        if preserve_color is not None:
            c_in = color.inputs(c_img, s_imgs[0], preserve_color)[0]
            s_in = color.styles_in(c_img, s_imgs, preserve_color)
        shape = tuple((c_img if c_img is not None else s_imgs[0]).shape[-2:])
        keep = as_mask(protect, shape, "protect").to(dev) if protect is not None else None
        region_masks = _region_masks(masks, keep, shape, dev) if styles else None
        objective = Objective(
            net,
            c_in,
            s_in or None,
            _normalized(content_layers),
            _normalized(style_layers),
            content_weight,
            style_weight,
            tv_weight,
            style_loss,
            region_masks,
        )
        if x is None:
            x0 = _initial_image(init, c_in if c_in is not None else s_in[0], c_in, seed)
        else:
            x0 = _upsample_level(x, c_in, shape)
        compose = None if keep is None else _composer(keep, c_in)
        run = _optimize(
            x0,
            objective,
            level_steps[level],
            optimizer,
            lr,
            progress,
            callback,
            callback_every,
            compose=compose,
            step_offset=len(result.history),
            seconds_offset=result.seconds,
        )
        for record in run.history:
            record["size"] = float(level_size)
        x = run.image
        result = StylizeResult(x, result.history + run.history, result.seconds + run.seconds)
    if preserve_color is not None and c_img is not None:
        result.image = color.output(result.image, c_img, preserve_color)
    return result


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
    if not levels or any(not isinstance(s, int) or s < 16 for s in levels) or levels != sorted(set(levels)):
        raise ValueError(f"pyramid must be increasing sizes (>= 16 px) like (128, 256, 512); got {pyramid!r}")
    if size is not None and size != levels[-1]:
        raise ValueError(f"size={size} disagrees with the pyramid's last level {levels[-1]}; pass only one")
    return levels


def _level_steps(steps: int | Sequence[int], n_levels: int) -> list[int]:
    counts = [steps] * n_levels if isinstance(steps, int) else list(steps)
    if len(counts) != n_levels or any(not isinstance(s, int) or s < 1 for s in counts):
        raise ValueError(
            f"steps must be a positive integer or one positive integer per pyramid level ({n_levels}), "
            f"got {steps!r}"
        )
    return counts


def _region_masks(
    region: Sequence[Tensor | np.ndarray] | None,
    keep: Tensor | None,
    shape: tuple[int, ...],
    dev: torch.device,
) -> list[Tensor] | None:
    """The style masks at the image size, each multiplied by 1 - protect; None when there are none."""
    if region is None and keep is None:
        return None
    ones = [torch.ones(1, 1, *shape, device=dev)]
    ms = ones if region is None else [as_mask(m, shape, f"masks[{i}]").to(dev) for i, m in enumerate(region)]
    return ms if keep is None else [m * (1 - keep) for m in ms]


def _composer(keep: Tensor, content: Tensor) -> Callable[[Tensor], Tensor]:
    """x -> p c + (1 - p) x: the protected pixels held at the content's."""
    return lambda x: keep * content + (1 - keep) * x


def _optimize(
    x: Tensor,
    objective: Callable[[Tensor], tuple[Tensor, dict[str, Tensor]]],
    steps: int,
    optimizer: str,
    lr: float | None,
    progress: bool,
    callback: Callable[[int, Tensor, dict[str, float]], Any] | None,
    callback_every: int,
    compose: Callable[[Tensor], Tensor] | None = None,
    step_offset: int = 0,
    seconds_offset: float = 0.0,
) -> StylizeResult:
    """Minimize ``objective(compose(x))`` over the pixels of ``x``, clamped to [0, 1] after every step.

    ``compose`` (default identity) maps the free pixels to the image (e.g. holding a protected region);
    the result and the callback's images are ``compose(x)``. Steps are numbered from ``step_offset + 1``
    and times from ``seconds_offset`` (for runs that continue one another, as a pyramid's levels).
    """
    view = compose or (lambda t: t)
    x = x.detach().clone().requires_grad_(True)
    opt = _make_optimizer(optimizer, x, lr)
    history: list[dict[str, float]] = []
    terms_now: dict[str, Tensor] = {}

    def closure() -> Tensor:
        opt.zero_grad(set_to_none=True)
        total, terms = objective(view(x))
        total.backward()
        terms_now.update(terms, total=total)
        return total

    start = time.perf_counter()
    with tqdm(total=steps, disable=not progress, desc="stylize", leave=False) as bar:
        for local in range(1, steps + 1):
            step = step_offset + local
            before = x.detach().clone()
            opt.step(closure)
            with torch.no_grad():
                x.clamp_(0, 1)
            _record_projected_step(opt, x, before)
            record = {"step": step, **{k: float(v.detach()) for k, v in terms_now.items()}}
            if not all(math.isfinite(v) for v in record.values()):
                raise FloatingPointError(f"the loss became NaN/inf at step {step}; lower lr or the weights")
            record["seconds"] = seconds_offset + time.perf_counter() - start
            history.append(record)
            bar.set_postfix({k: f"{v:.3g}" for k, v in record.items() if k in ("style", "content")})
            bar.update()
            if callback is not None and (step % callback_every == 0 or local == steps):
                with torch.no_grad():
                    callback(step, view(x).detach().clone(), record)
    with torch.no_grad():
        image = view(x).detach()
    return StylizeResult(image, history, time.perf_counter() - start)


def invert(
    targets: Mapping[str, Tensor],
    shape: tuple[int, int],
    *,
    backbone: str | Backbone = "vgg16-hed",
    steps: int | None = None,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    tv_weight: float = DEFAULT_TV_WEIGHT,
    init: str | Tensor = "noise",
    seed: int = 0,
    progress: bool = True,
    callback: Callable[[int, Tensor, dict[str, float]], Any] | None = None,
    callback_every: int = 10,
) -> StylizeResult:
    """Invert feature maps into a picture (Mahendran & Vedaldi 2015, "Understanding Deep Image
    Representations by Inverting Them"): find the (1, 3, H, W) image x, ``shape`` = (H, W), that minimizes

        sum_l  b_l * ||F_l(x) - T_l||^2 / ||T_l||^2  +  gamma * TV(x)

    for given targets ``{layer: T_l}`` (e.g. an AdaIN or WCT output), b_l = 1/len(targets). The
    targets' spatial size must be what the backbone gives for an (H, W) image. The result's
    ``history`` reports the feature term as ``content``.
    """
    net = backbone if isinstance(backbone, Backbone) else load_backbone(backbone)
    layers = net.check_layers(list(targets))
    steps = budget().steps if steps is None else steps
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    dev = next(net.parameters()).device
    like = torch.zeros(1, 3, *shape, device=dev)
    with torch.no_grad():
        expected = {n: F.shape for n, F in net.features(like, layers).items()}
    for n, T in targets.items():
        if T.shape != expected[n]:
            raise ValueError(
                f"target {n} has shape {tuple(T.shape)}, but a {shape} image gives "
                f"{tuple(expected[n])} at {n}; pass the shape of the image the target came from"
            )
        if not torch.isfinite(T).all():
            raise ValueError(f"target {n} contains NaN or inf")
    weight = 1.0 / len(targets)
    scales = {n: T.detach().pow(2).sum() + 1e-12 for n, T in targets.items()}

    def objective(x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        feats = net.features(x, layers)
        match = sum(weight * (feats[n] - T.detach()).pow(2).sum() / scales[n] for n, T in targets.items())
        tv = tv_weight * losses.total_variation(x) if tv_weight else x.new_zeros(())
        return match + tv, {"content": match, "style": x.new_zeros(()), "tv": tv}

    x0 = _initial_image(init, like, None, seed)
    return _optimize(x0, objective, steps, optimizer, lr, progress, callback, callback_every)
