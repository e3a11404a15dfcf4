"""Style layers and receptive fields: precomputed textures per layer set (chapter 04)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor
from tqdm.auto import tqdm

from .. import images, receptive
from ..backbones import Backbone
from ..budget import budget
from ..optimize import stylize
from ..validation import (
    ImageSide,
    NonNegativeInt,
    PositiveInt,
    checked,
)
from ._core import View, blank, image_axes, interactive_view, load_ipywidgets

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
                blank(ax, hint)
                continue
            ax.imshow(images.to_numpy(img))
            image_axes(ax, title)
            for side, color in ((numbers["S_eff"], "tab:orange"), (numbers["C_eff"], "tab:blue")):
                ax.add_patch(Rectangle((2, 2), side, side, fill=False, ec=color, lw=1.5))
        return View(fig, numbers)

    @checked
    def widget(self):
        """A dropdown over the layer sets."""
        ipywidgets = load_ipywidgets()
        names = list(self.layer_sets)
        menu = ipywidgets.Dropdown(options=names, value=names[-1], description="style layers")
        return interactive_view(self.update, layer_set=menu)
