"""Intuition figures drawn by code.

Small pictures of one idea each, computed with the library's own functions (never downloaded), so a
chapter can show the idea beside the math. Every function draws one figure and returns a
:class:`CodeFigure`, a ``matplotlib.figure.Figure`` made without pyplot: a notebook cell that ends with
the call shows it once, and nothing needs closing.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from typing import Annotated

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse, Rectangle
from torch import Tensor

from . import receptive, transforms
from .layers import CONVS_PER_BLOCK, WIDTHS, vgg_layers
from .optimize import CONTENT_LAYERS, STYLE_LAYERS
from .validation import ImageTensor, NonNegativeInt, Range, checked

__all__ = [
    "CodeFigure",
    "wct_ellipses",
    "wct_rank_one",
    "receptive_field_schematic",
    "nst_pipeline",
    "distillation",
]

Points = Annotated[int, Range(3, meaning="points of a 2-D cloud: a covariance needs several")]


class CodeFigure(Figure):
    """A matplotlib Figure that shows itself as a PNG in a notebook (``_repr_png_``), also before pyplot's
    inline backend is loaded, and never twice (it is not registered with pyplot)."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png")
        return buf.getvalue()


# ----------------------------------------------------------------------------------------------------
# WCT in two dimensions (chapter 06)
# ----------------------------------------------------------------------------------------------------


def _rotation(degrees: float) -> Tensor:
    t = math.radians(degrees)
    return torch.tensor([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]], dtype=torch.float64)


def _cloud(std: tuple[float, float], degrees: float, mean: tuple[float, float], n: int, seed: int) -> Tensor:
    """(2, n) points whose sample mean and population covariance are exactly mean and R diag(std^2) R^T."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(2, n, generator=gen, dtype=torch.float64)
    X = X - X.mean(1, keepdim=True)
    lam, E = torch.linalg.eigh(X @ X.T / n)
    white = (E * lam.rsqrt()) @ E.T @ X  # sample covariance exactly I
    R = _rotation(degrees)
    return R @ (torch.tensor(std, dtype=torch.float64)[:, None] * white) + torch.tensor(mean)[:, None]


def _covariance_ellipse(ax: Axes, X: Tensor, color: str, label: str, arrows: bool = True) -> None:
    """The 2-sigma ellipse of the population covariance of X (2, n), with its principal axes sqrt(lam) e."""
    mu = X.mean(1)
    D = X - mu[:, None]
    lam, E = torch.linalg.eigh(D @ D.T / X.shape[1])
    angle = math.degrees(math.atan2(float(E[1, 1]), float(E[0, 1])))
    width, height = 4 * float(lam[1].clamp_min(0).sqrt()), 4 * float(lam[0].clamp_min(0).sqrt())
    ax.add_patch(Ellipse(mu.tolist(), width, height, angle=angle, fill=False, color=color, lw=2, label=label))
    if arrows:
        for k in range(2):
            v = float(lam[k].clamp_min(0).sqrt()) * E[:, k]
            ax.annotate(
                "", xy=(mu + v).tolist(), xytext=mu.tolist(), arrowprops=dict(arrowstyle="->", color=color)
            )


@checked
def wct_ellipses(n: Points = 300, seed: NonNegativeInt = 0) -> Figure:
    """WCT in two channels: the content cloud (an ellipse), whitened into a circle, coloured into the style's
    ellipse.

    Content x ~ covariance Sigma_c (long axis at 30 degrees), style covariance Sigma_s (long axis at -45
    degrees, another mean). Whitening z = Sigma_c^{-1/2} (x - mu_c) (:func:`nstlab.transforms.whiten`)
    makes the cloud round, cov(z) = I; coloring Sigma_s^{1/2} z + mu_s (:func:`nstlab.transforms.coloring`)
    gives it the style's mean and covariance. Each point keeps its colour (its angle in the whitened
    plane) in all three panels: the map moves every point, but the arrangement of the points survives.
    Ellipses are 2-sigma contours; arrows the principal axes sqrt(lambda) e.
    """
    content = _cloud((2.0, 0.6), 30.0, (2.0, 1.0), n, seed)
    style = _cloud((1.6, 0.45), -45.0, (-1.5, -0.5), n, seed + 1)
    z = transforms.whiten(content, eps=0.0)
    out = transforms.coloring(z, style)
    hue = (torch.atan2(z[1], z[0]).numpy() / (2 * np.pi)) % 1.0
    fig = CodeFigure(figsize=(12, 4.2), layout="constrained")
    axes = fig.subplots(1, 3)
    panels = [
        (content, "content features $x$", "tab:blue", r"cov$(x) = \Sigma_c$"),
        (z, r"whitened $z = \Sigma_c^{-1/2}(x - \mu_c)$", "black", r"cov$(z) = I$"),
        (out, r"colored $\Sigma_s^{1/2} z + \mu_s$", "tab:red", r"cov $= \Sigma_s$"),
    ]
    for ax, (X, title, color, label) in zip(axes, panels, strict=True):
        if X is out:
            ax.scatter(*style.numpy(), s=6, color="0.8", label="style features")
        ax.scatter(*X.numpy(), s=8, c=hue, cmap="hsv")
        _covariance_ellipse(ax, X, color, label)
        ax.set_title(title, fontsize=10)
        ax.set_aspect("equal")
        ax.axhline(0, color="0.85", lw=0.6, zorder=0)
        ax.axvline(0, color="0.85", lw=0.6, zorder=0)
        ax.legend(loc="upper left", fontsize=8)
    lim = 1.1 * max(float(X.abs().quantile(0.99)) for X in (content, style, out, z))
    for ax in axes:
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xlabel="channel 1", ylabel="channel 2")
    fig.suptitle(
        "WCT in two channels: whiten (ellipse -> circle), then color (circle -> the style's ellipse)"
    )
    return fig


def _segment(ax: Axes, X: Tensor, color: str, label: str) -> None:
    """The 2-sigma extent of a rank-one (or any) cloud X (2, n) along its principal axis, as a thick line."""
    mu = X.mean(1)
    D = X - mu[:, None]
    lam, E = torch.linalg.eigh(D @ D.T / X.shape[1])
    v = 2 * float(lam[1].clamp_min(0).sqrt()) * E[:, 1]
    ends = torch.stack([mu - v, mu + v]).numpy()
    ax.plot(ends[:, 0], ends[:, 1], color=color, lw=4, alpha=0.8, solid_capstyle="round", label=label)


@checked
def wct_rank_one(n: Points = 200, seed: NonNegativeInt = 0) -> Figure:
    """WCT with a content of rank one in two channels: where each coloring puts the output's variance.

    The content varies along one line only (k = 1 kept direction, as when N < C); the style is a full
    ellipse. Its best rank-one approximation (Eckart-Young) is the segment along the style's long axis.
    Panels, each with the style's 2-sigma ellipse and the output (points and its 2-sigma segment):
    ``subspace="content"`` (the library's default: the output stays on the content's line, with the style's
    variance along that line, P S_s P), ``"style"`` (Li et al.'s code: the style's full square root, which
    turns the line toward the style's long axis but not onto it) and ``"aligned"`` (rotated onto the long
    axis first: the Eckart-Young optimum). Titles give the relative Frobenius error of the output
    covariance to the style's.
    """
    gen = torch.Generator().manual_seed(seed)
    t = torch.randn(n, generator=gen, dtype=torch.float64)
    direction = torch.tensor(
        [math.cos(math.radians(15.0)), math.sin(math.radians(15.0))], dtype=torch.float64
    )
    content = 1.5 * direction[:, None] * (t - t.mean()) / t.std(correction=0) + torch.tensor([[-2.0], [1.5]])
    style = _cloud((1.8, 0.5), 70.0, (1.5, -0.5), n, seed + 1)
    S_s = style - style.mean(1, keepdim=True)
    S_s = S_s @ S_s.T / n
    fig = CodeFigure(figsize=(13, 3.8), layout="constrained")
    axes = fig.subplots(1, 4)
    axes[0].scatter(*content.numpy(), s=8, color="tab:blue", label="content (rank 1)")
    axes[0].scatter(*style.numpy(), s=6, color="0.8", label="style")
    _covariance_ellipse(axes[0], style, "tab:red", "style 2-sigma", arrows=False)
    axes[0].set_title("content on a line, style an ellipse", fontsize=10)
    names = {
        "content": "content subspace (default)",
        "style": "Li et al.'s code",
        "aligned": "aligned (Eckart-Young)",
    }
    for ax, (subspace, title) in zip(axes[1:], names.items(), strict=True):
        out = transforms.wct(content, style, eps=0.0, subspace=subspace)
        D = out - out.mean(1, keepdim=True)
        error = float((D @ D.T / n - S_s).norm() / S_s.norm())
        ax.scatter(*style.numpy(), s=6, color="0.85")
        _covariance_ellipse(ax, style, "tab:red", "style 2-sigma", arrows=False)
        ax.scatter(*out.numpy(), s=8, color="black")
        _segment(ax, out, "tab:green", "output 2-sigma")
        ax.set_title(f"{title}\nerror to Sigma_s {error:.2f}", fontsize=10)
    lim = 1.1 * max(float(X.abs().quantile(0.995)) for X in (content, style))
    for ax in axes:
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")
        ax.legend(loc="lower left", fontsize=7)
    fig.suptitle(
        "N < C in two channels: the output has rank 1; the coloring decides along which line and how long"
    )
    return fig


# ----------------------------------------------------------------------------------------------------
# Receptive fields (chapter 04)
# ----------------------------------------------------------------------------------------------------


def _cone_units(kinds: list[str], top_unit: int) -> list[set[int]]:
    """Indices of the units of each level (input first) that reach unit ``top_unit`` of the last level.

    A unit u of a layer with kernel k, stride s and padding p reads units s u - p ... s u - p + k - 1 of the
    level below (:data:`nstlab.receptive.KERNEL_STRIDE_PAD`).
    """
    cone = [{top_unit}]
    for kind in reversed(kinds):
        k, s, p = receptive.KERNEL_STRIDE_PAD[kind]
        cone.append({s * u - p + i for u in cone[-1] for i in range(k)})
    return cone[::-1]


def _draw_cone(ax: Axes, names: list[str], kinds: list[str], fields: dict) -> None:
    """Rows of units (input at the bottom) at their input positions; the cone of the top unit in colour."""
    centre = fields[names[-1]]
    top_unit = 0
    while min(_cone_units(kinds, top_unit)[0]) < 1:  # away from the border: no padding in the picture
        top_unit += 1
    cone = _cone_units(kinds, top_unit)
    rows = [("input", 1, 0.0)] + [(n, fields[n].jump, fields[n].start) for n in names]
    left = centre.start + top_unit * centre.jump - centre.size / 2 - 2
    right = left + centre.size + 4
    for level, ((name, jump, start), reached) in enumerate(zip(rows, cone, strict=True)):
        xs = [start + u * jump for u in range(-2, int(right / jump) + 3)]
        xs = [x for x in xs if left <= x <= right]
        ax.scatter(xs, [level] * len(xs), s=18, color="0.8", zorder=2)
        hit = [start + u * jump for u in sorted(reached)]
        ax.scatter(hit, [level] * len(hit), s=30, color="tab:orange", zorder=3)
        label = "input pixels" if level == 0 else f"{name}: r = {fields[name].size}, j = {jump}"
        ax.text(right + 1, level, label, va="center", fontsize=9)
        if level:
            below = rows[level - 1]
            k, s, p = receptive.KERNEL_STRIDE_PAD[kinds[level - 1]]
            for u in reached:
                for i in range(k):
                    x0 = below[2] + (s * u - p + i) * below[1]
                    ax.plot([x0, start + u * jump], [level - 1, level], color="tab:orange", lw=0.6, alpha=0.6)
    lo, hi = min(cone[0]) - 0.5, max(cone[0]) + 0.5
    ax.annotate("", xy=(lo, -0.55), xytext=(hi, -0.55), arrowprops=dict(arrowstyle="<->", color="k"))
    ax.text((lo + hi) / 2, -0.95, f"r = {len(cone[0])} px", ha="center", fontsize=9)
    ax.set(xlim=(left - 1, right + 16), ylim=(-1.3, len(rows) - 0.4), yticks=[], xlabel="input position (px)")
    ax.set_xticks([t for t in ax.get_xticks() if left <= t <= right])
    ax.set_title("one unit's field, layer by layer (ReLUs: k = 1, left out)", fontsize=10)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)


@checked
def receptive_field_schematic(
    image: ImageTensor | None = None,
    cone_layers: tuple[str, ...] = ("conv1_1", "conv1_2", "pool1", "conv2_1", "conv2_2"),
    square_layers: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
    backbone: str = "vgg16",
) -> Figure:
    """How a receptive field grows: r_l = r_{l-1} + (k_l - 1) j_{l-1}, j_l = j_{l-1} s_l (Araujo et al. 2019).

    Left: a 1-D cross-section through ``cone_layers``, each row a layer's units at the input positions of
    their centres (``start + u j``, :func:`nstlab.receptive.receptive_fields`); in colour the units that
    reach one unit of the top layer, down to the input pixels it sees. A 3-wide kernel adds k - 1 = 2
    units of the layer below, which are j_{l-1} pixels apart, so after each pooling the field grows
    twice as fast. Right: the fields r_l of ``square_layers`` as squares to scale, centred on ``image``
    (a (1, 3, H, W) tensor in [0, 1]; a blank square of the largest field when None).
    """
    fields = receptive.receptive_fields(backbone)
    table = {name: kind for name, kind, *_ in vgg_layers(backbone)}
    for arg, chosen in (("cone_layers", cone_layers), ("square_layers", square_layers)):
        unknown = [n for n in chosen if n not in table]
        if unknown or not chosen:
            raise ValueError(
                f"{arg}: {'unknown layers ' + str(unknown) if unknown else 'no layer given'}; "
                f"{backbone} has {', '.join(table)}"
            )
    names = [n for n in cone_layers if table[n] != "relu"]
    fig = CodeFigure(figsize=(12, 4.4), layout="constrained")
    ax_cone, ax_img = fig.subplots(1, 2, width_ratios=[1.5, 1])
    _draw_cone(ax_cone, names, [table[n] for n in names], fields)
    if image is not None:
        H, W = image.shape[-2:]
        ax_img.imshow(image[0].permute(1, 2, 0).clamp(0, 1).cpu().numpy())
    else:
        H = W = fields[square_layers[-1]].size + 8
        ax_img.imshow(np.full((H, W, 3), 0.95))
    colors = ["tab:red", "tab:orange", "tab:green", "tab:blue", "tab:purple", "tab:brown"]
    for i, name in enumerate(square_layers):
        color = colors[i % len(colors)]
        r = fields[name].size
        ax_img.add_patch(
            Rectangle(
                (W / 2 - r / 2, H / 2 - r / 2), r, r, fill=False, ec=color, lw=1.8, label=f"{name}: {r} px"
            )
        )
    ax_img.set(xlim=(-0.5, W - 0.5), ylim=(H - 0.5, -0.5), xticks=[], yticks=[])
    ax_img.legend(loc="upper left", fontsize=8, bbox_to_anchor=(1.0, 1.0))
    ax_img.set_title(f"fields to scale on a {W} x {H} px image", fontsize=10)
    return fig


# ----------------------------------------------------------------------------------------------------
# The NST pipeline (chapters 00 and 03)
# ----------------------------------------------------------------------------------------------------

_PIPELINE_LAYER = re.compile(r"^(?:conv|relu)(\d)_(\d)$")
_PIPELINE_COLORS = {"content": "tab:blue", "style": "tab:red", "tv": "tab:green", "gradient": "tab:purple"}
_PIPELINE_XY = {"content": (13.0, 6.6), "style": (13.0, 2.6), "tv": (1.0, 1.7), "total": (16.4, 4.6)}


def _pipeline_slot(name: str) -> tuple[int, int]:
    """(block, convolution) of a VGG16 layer ``conv{b}_{i}`` or ``relu{b}_{i}``; ValueError otherwise."""
    m = _PIPELINE_LAYER.match(name)
    block, conv = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    if not 1 <= block <= len(WIDTHS) or not 1 <= conv <= CONVS_PER_BLOCK["vgg16"][block - 1]:
        raise ValueError(f"the pipeline figure marks VGG16 conv/relu layers such as 'relu4_2', got {name!r}")
    return block, conv


def _pipeline_image(
    ax: Axes, img: Tensor | None, box: tuple[float, float, float, float], letter: str
) -> None:
    """An image (1, 3, H, W) in [0, 1] drawn into ``box`` = (x, y, width, height) in data units; a grey
    square with ``letter`` when there is none."""
    inset = ax.inset_axes(box, transform=ax.transData)
    if img is None:
        inset.imshow(np.full((8, 8, 3), 0.88), vmin=0, vmax=1)
        inset.text(3.5, 3.5, letter, ha="center", va="center", fontsize=16, style="italic")
    else:
        inset.imshow(img.detach()[0].permute(1, 2, 0).clamp(0, 1).cpu().numpy())
    inset.set_xticks([])
    inset.set_yticks([])


def _pipeline_arrow(
    ax: Axes, start: tuple[float, float], end: tuple[float, float], color: str = "0.3"
) -> None:
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="-|>", color=color, lw=1.3))


def _pipeline_route(ax: Axes, points: Sequence[tuple[float, float]], color: str) -> None:
    """A polyline through ``points`` with an arrowhead on its last segment."""
    xs, ys = zip(*points[:-1], strict=True)
    ax.plot(xs, ys, color=color, lw=1.3, solid_capstyle="butt")
    _pipeline_arrow(ax, points[-2], points[-1], color)


def _pipeline_box(ax: Axes, xy: tuple[float, float], text: str, color: str, size: float = 8.5) -> None:
    box = dict(boxstyle="round,pad=0.4", fc="white", ec=color, lw=1.5)
    ax.text(*xy, text, ha="center", va="center", fontsize=size, bbox=box)


def _pipeline_vgg16(ax: Axes, x: float, y: float) -> dict[tuple[int, int], tuple[float, float, float]]:
    """VGG16's 13 convolutions as slabs, block by block, each block lower than the last (2x2 pooling
    halves the feature map); returns {(block, conv): (x centre, bottom, top)} of every slab."""
    slabs = {}
    for b, (n, width) in enumerate(zip(CONVS_PER_BLOCK["vgg16"], WIDTHS, strict=True), start=1):
        height, start = 3.0 * 0.8 ** (b - 1), x
        for i in range(1, n + 1):
            ax.add_patch(Rectangle((x, y - height / 2), 0.3, height, fc="0.85", ec="0.45", lw=0.8))
            slabs[(b, i)] = (x + 0.15, y - height / 2, y + height / 2)
            x += 0.4
        label = f"conv{b}\n{width} ch"
        ax.text((start + x - 0.1) / 2, y + 1.75, label, ha="center", va="bottom", fontsize=6.5, color="0.3")
        x += 0.35  # the pooling between blocks
    ax.text(7.0, 2.55, "VGG16, frozen weights", ha="center", fontsize=8, color="0.3")
    return slabs


def _pipeline_inputs(ax: Axes, content: Tensor | None, style: Tensor | None, x: Tensor | None) -> None:
    """The three images, the preprocessing arrow and the targets computed once from c and s."""
    blue, red = _PIPELINE_COLORS["content"], _PIPELINE_COLORS["style"]
    _pipeline_image(ax, x, (0.2, 3.8, 1.6, 1.6), "x")
    _pipeline_image(ax, content, (2.5, 7.3, 1.4, 1.4), "c")
    _pipeline_image(ax, style, (2.5, 0.75, 1.4, 1.4), "s")
    ax.text(1.0, 3.65, "image x\n(the pixels are\nthe variables)", ha="center", va="top", fontsize=8)
    ax.text(3.2, 8.8, "content c", ha="center", va="bottom", fontsize=8)
    ax.text(3.2, 0.65, "style s", ha="center", va="top", fontsize=8)
    _pipeline_arrow(ax, (1.85, 4.6), (4.45, 4.6))
    preprocess = "preprocess\n(RGB to BGR, ×255,\nminus the mean pixel)"
    ax.text(3.15, 4.72, preprocess, ha="center", va="bottom", fontsize=6.5)
    _pipeline_arrow(ax, (3.95, 8.0), (6.5, 8.0), blue)
    _pipeline_arrow(ax, (3.95, 1.45), (6.0, 1.45), red)


def _pipeline_losses(
    ax: Axes, slabs: dict, content_layers: Sequence[str], style_layers: Sequence[str]
) -> None:
    """Targets, the three loss terms, their sum, and the arrows from the layers that feed them."""
    blue, red, green = (_PIPELINE_COLORS[k] for k in ("content", "style", "tv"))
    (cx, cy), (sx, sy), (tx, ty) = (_PIPELINE_XY[k] for k in ("content", "style", "total"))
    shown = ", ".join(style_layers) if len(style_layers) <= 2 else f"{style_layers[0]} … {style_layers[-1]}"
    _pipeline_box(
        ax, (8.3, 8.0), f"target F(c) at {', '.join(content_layers)}\n(once, no gradient)", blue, 7.5
    )
    _pipeline_box(ax, (8.3, 1.45), f"targets G(s) at {shown}\n(once, no gradient)", red, 7.5)
    _pipeline_box(
        ax, (cx, cy), "content loss\n$\\Vert F(x) - F(c)\\Vert^2 \\;/\\; \\Vert F(c)\\Vert^2$", blue
    )
    style_formula = "$\\sum_l w_l \\Vert G_l(x) - G_l(s)\\Vert_F^2 \\;/\\; \\Vert G_l(s)\\Vert_F^2$"
    _pipeline_box(ax, (sx, sy), f"style loss\n{style_formula}\n$G_l = F_l F_l^\\top / N_l$", red)
    _pipeline_box(ax, _PIPELINE_XY["tv"], "TV(x)\nneighbour\ndifferences²", green, 7.5)
    _pipeline_box(
        ax, (tx, ty), "$L(x) =$\n$\\alpha\\,$content\n$+\\ \\beta\\,$style\n$+\\ \\gamma\\,$TV", "black", 9
    )
    for name in content_layers:
        xc, _, top = slabs[_pipeline_slot(name)]
        ax.plot([xc], [top], "o", color=blue, ms=6)
        ax.text(xc - 0.1, top + 0.08, name, ha="right", va="bottom", fontsize=6.5, color=blue)
        _pipeline_arrow(ax, (xc, top + 0.05), (cx - 1.6, cy - 0.2), blue)
    for name in style_layers:
        xc, bottom, _ = slabs[_pipeline_slot(name)]
        ax.plot([xc], [bottom], "o", color=red, ms=6)
        ax.text(xc - 0.05, bottom - 0.1, name, ha="right", va="top", fontsize=6.5, color=red)
        _pipeline_arrow(ax, (xc, bottom - 0.05), (sx - 1.75, sy + 0.2), red)
    _pipeline_arrow(ax, (9.6, 8.0), (cx, cy + 0.45), blue)
    _pipeline_arrow(ax, (10.1, 1.45), (sx, sy - 0.65), red)
    _pipeline_arrow(ax, (cx + 1.5, cy), (tx - 0.5, ty + 0.5), blue)
    _pipeline_arrow(ax, (sx + 1.8, sy), (tx - 0.5, ty - 0.5), red)


def _pipeline_loops(ax: Axes) -> None:
    """TV from the pixels to the sum (bottom), and the update from the sum back to the pixels (top)."""
    green, purple = _PIPELINE_COLORS["tv"], _PIPELINE_COLORS["gradient"]
    tx, ty = _PIPELINE_XY["total"]
    _pipeline_arrow(ax, (1.0, 3.0), (1.0, 2.2), green)
    _pipeline_route(ax, [(1.0, 1.2), (1.0, 0.2), (tx, 0.2), (tx, ty - 0.95)], green)
    _pipeline_route(ax, [(tx, ty + 0.95), (tx, 9.75), (1.0, 9.75), (1.0, 5.4)], purple)
    update = "gradient ∂L/∂x by backpropagation  →  L-BFGS step on the pixels  →  clamp x to [0, 1]; repeat"
    ax.text(8.7, 9.85, update, ha="center", va="bottom", fontsize=8.5, color=purple)


@checked
def nst_pipeline(
    content: ImageTensor | None = None,
    style: ImageTensor | None = None,
    result: ImageTensor | None = None,
    content_layers: Sequence[str] = CONTENT_LAYERS,
    style_layers: Sequence[str] = STYLE_LAYERS,
) -> Figure:
    """The method of Gatys, Ecker & Bethge (2016, "Image Style Transfer Using Convolutional Neural
    Networks", CVPR): which losses are computed where, and what is optimized.

    The image x (the content photo at the start; ``result`` if given) runs through VGG16 after the
    backbone's preprocessing. The content loss compares its features with those of the content image at
    ``content_layers`` (blue), the style loss its Gram matrices with those of the style image at
    ``style_layers`` (red), the total-variation loss looks at its pixels directly (green). The targets
    F(c) and G(s) are computed once, without gradient. The weighted sum L(x) is differentiated with
    respect to the pixels of x, which L-BFGS updates and clamps to [0, 1] (purple); the network's weights
    never change. Images are (1, 3, H, W) in [0, 1]; grey squares stand in for missing ones. Layers are
    VGG16 ``conv``/``relu`` names (a ValueError names any other).
    """
    for name in (*content_layers, *style_layers):
        _pipeline_slot(name)
    fig = CodeFigure(figsize=(13, 6.4), layout="constrained")
    ax = fig.subplots()
    ax.set(xlim=(0, 18), ylim=(0, 10.2))
    ax.set_axis_off()
    _pipeline_inputs(ax, content, style, result if result is not None else content)
    slabs = _pipeline_vgg16(ax, 4.5, 4.6)
    _pipeline_losses(ax, slabs, list(content_layers), list(style_layers))
    _pipeline_loops(ax)
    return fig


# ----------------------------------------------------------------------------------------------------
# What the distilled student learns (chapter 10)
# ----------------------------------------------------------------------------------------------------


@checked
def distillation(img: ImageTensor, channels: Annotated[int, Range(1, 6)] = 2) -> CodeFigure:
    """The teacher's feature maps beside the student's, mapped by the trained linear embedding W_l
    (:mod:`nstlab.distill`): per level (rows), for the teacher's ``channels`` channels of largest variance
    on ``img``, F_l(img) and (W_l E_l(img)), drawn on the same colour scale. The row titles give the channel
    counts and R^2 = 1 - ||F - W E||^2 / ||F - mean F||^2 of the trained W over all channels."""
    from .backbones import load_backbone
    from .decoders import shipped_student

    student, teacher = shipped_student("cpu"), load_backbone("vgg16-hed", device="cpu")
    levels = list(student.levels)
    img = img.to("cpu")
    with torch.no_grad():
        f_t, f_s = teacher.features(img, levels), student.encoder.features(img, levels)
    fig = CodeFigure(figsize=(2.3 * (2 * channels + 1), 2.4 * len(levels)), layout="constrained")
    axes = fig.subplots(len(levels), 2 * channels + 1, squeeze=False)
    for row, k in zip(axes, levels, strict=True):
        with torch.no_grad():
            mapped = student.embeddings[k](f_s[k])[0]
        target = f_t[k][0]
        r2 = 1 - float(
            (target - mapped).pow(2).sum() / (target - target.mean((1, 2), keepdim=True)).pow(2).sum()
        )
        row[0].imshow(img[0].permute(1, 2, 0).clamp(0, 1).numpy())
        row[0].set_title(
            f"{k}: {f_s[k].shape[1]} -> {target.shape[0]} channels\nR\u00b2 = {r2:.2f}", fontsize=9
        )
        for j, ch in enumerate(target.flatten(1).var(1).argsort(descending=True)[:channels].tolist()):
            hi = float(target[ch].max())
            for col, (pic, who) in enumerate(((target[ch], "teacher F"), (mapped[ch], "student W E"))):
                ax = row[1 + 2 * j + col]
                ax.imshow(pic.numpy(), cmap="magma", vmin=0, vmax=hi)
                ax.set_title(f"{who}, channel {ch}", fontsize=9)
        for ax in row:
            ax.set_axis_off()
    return fig
