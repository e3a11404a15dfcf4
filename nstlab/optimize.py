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

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor
from tqdm.auto import tqdm

from . import images, losses
from .backbones import Backbone, layer_weights, load_backbone
from .budget import budget

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
    """

    def __init__(
        self,
        backbone: Backbone,
        content: Tensor | None,
        style: Tensor | None,
        content_layers: Mapping[str, float],
        style_layers: Mapping[str, float],
        content_weight: float,
        style_weight: float,
        tv_weight: float,
        style_loss: str | losses.StyleLoss = "gram",
    ):
        self.backbone, self.tv_weight = backbone, tv_weight
        self.content_weight = content_weight if content is not None else 0.0
        self.style_weight = style_weight if style is not None else 0.0
        self.content_layers = content_layers if self.content_weight else {}
        self.style_layers = style_layers if self.style_weight else {}
        self.layers = backbone.check_layers([*self.content_layers, *self.style_layers] or ["conv1_1"])
        self.style_loss = losses.get_style_loss(style_loss)
        with torch.no_grad():
            Fc = backbone.features(content, self.content_layers) if self.content_layers else {}
            Fs = backbone.features(style, self.style_layers) if self.style_layers else {}
            self.content_targets = Fc
            self.style_targets = {n: self.style_loss.prepare(F) for n, F in Fs.items()}
            # each layer's loss for an all-zero feature map: the scale it is divided by
            self.content_scales = {
                n: losses.content_loss(torch.zeros_like(F), F) + 1e-12 for n, F in Fc.items()
            }
            self.style_scales = {
                n: self.style_loss.compare(torch.zeros_like(Fs[n]), t) + 1e-12
                for n, t in self.style_targets.items()
            }

    def __call__(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        feats = self.backbone.features(x, self.layers)
        content = sum(
            (b * losses.content_loss(feats[n], self.content_targets[n]) / self.content_scales[n]
             for n, b in self.content_layers.items()),
            x.new_zeros(()),
        )
        style = sum(
            (a * self.style_loss.compare(feats[n], self.style_targets[n]) / self.style_scales[n]
             for n, a in self.style_layers.items()),
            x.new_zeros(()),
        )
        tv = losses.total_variation(x) if self.tv_weight else x.new_zeros(())
        terms = {
            "content": self.content_weight * content,
            "style": self.style_weight * style,
            "tv": self.tv_weight * tv,
        }
        return terms["content"] + terms["style"] + terms["tv"], terms


def _initial_image(init: str | Tensor, like: Tensor, content: Tensor | None, seed: int) -> Tensor:
    if isinstance(init, Tensor):
        return images.check_image(init, "init").detach().clone().to(like)
    if init == "content" and content is not None:
        return content.detach().clone()
    if init in ("noise", "content"):
        g = torch.Generator().manual_seed(seed)
        return torch.rand(like.shape, generator=g).to(like)
    raise ValueError(f"unknown init={init!r}; use 'content', 'noise' or an image tensor")


def _make_optimizer(name: str, x: Tensor, lr: float | None) -> torch.optim.Optimizer:
    if name == "lbfgs":
        return torch.optim.LBFGS([x], lr=lr or 1.0, max_iter=1, history_size=50)
    if name == "adam":
        return torch.optim.Adam([x], lr=lr or 0.02)
    raise ValueError(f"unknown optimizer={name!r}; use 'lbfgs' or 'adam'")


def stylize(
    content: images.ImageSource | None,
    style: images.ImageSource | None,
    *,
    backbone: str | Backbone = "vgg16-hed",
    size: int | None = None,
    style_size: int | None = None,
    steps: int | None = None,
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
) -> StylizeResult:
    """Stylize ``content`` with ``style`` by optimizing the pixels (Gatys et al. 2016).

    Images are anything :func:`nstlab.images.load` accepts (a sample name, path, URL or tensor).
    ``content=None`` synthesizes a texture from the style alone (init noise); ``style=None``
    reconstructs the content from its features. ``size`` is the long side of the result (default:
    the budget's), ``style_size`` that of the style image (default ``size``); the two may differ in
    size and aspect. ``steps`` counts optimizer iterations (one L-BFGS iteration is one
    forward/backward pass). Layer arguments take names or ``{name: weight}``. ``callback(step, image,
    terms)`` receives intermediate images every ``callback_every`` steps.
    """
    if content is None and style is None:
        raise ValueError("give a content image, a style image or both")
    b = budget()
    size = b.size if size is None else size
    steps = b.steps if steps is None else steps
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    net = backbone if isinstance(backbone, Backbone) else load_backbone(backbone)
    dev = next(net.parameters()).device
    c_img = images.load(content, size=size).to(dev) if content is not None else None
    s_img = images.load(style, size=style_size or size).to(dev) if style is not None else None
    objective = Objective(
        net, c_img, s_img, _normalized(content_layers), _normalized(style_layers),
        content_weight, style_weight, tv_weight, style_loss,
    )
    x = _initial_image(init, c_img if c_img is not None else s_img, c_img, seed)
    return _optimize(x, objective, steps, optimizer, lr, progress, callback, callback_every)


def _optimize(
    x: Tensor,
    objective: Callable[[Tensor], tuple[Tensor, dict[str, Tensor]]],
    steps: int,
    optimizer: str,
    lr: float | None,
    progress: bool,
    callback: Callable[[int, Tensor, dict[str, float]], Any] | None,
    callback_every: int,
) -> StylizeResult:
    """Minimize ``objective(x)`` over the pixels of ``x``, clamped to [0, 1] after every step."""
    x = x.detach().clone().requires_grad_(True)
    opt = _make_optimizer(optimizer, x, lr)
    history: list[dict[str, float]] = []
    terms_now: dict[str, Tensor] = {}

    def closure() -> Tensor:
        opt.zero_grad(set_to_none=True)
        total, terms = objective(x)
        total.backward()
        terms_now.update(terms, total=total)
        return total

    start = time.perf_counter()
    with tqdm(total=steps, disable=not progress, desc="stylize", leave=False) as bar:
        for step in range(1, steps + 1):
            opt.step(closure)
            with torch.no_grad():
                x.clamp_(0, 1)
            record = {"step": step, **{k: float(v.detach()) for k, v in terms_now.items()}}
            if not all(math.isfinite(v) for v in record.values()):
                raise FloatingPointError(f"the loss became NaN/inf at step {step}; lower lr or the weights")
            history.append(record)
            bar.set_postfix({k: f"{v:.3g}" for k, v in record.items() if k in ("style", "content")})
            bar.update()
            if callback is not None and (step % callback_every == 0 or step == steps):
                callback(step, x.detach().clone(), record)
    return StylizeResult(x.detach(), history, time.perf_counter() - start)


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
            raise ValueError(f"target {n} has shape {tuple(T.shape)}, but a {shape} image gives "
                             f"{tuple(expected[n])} at {n}; pass the shape of the image the target came from")
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
