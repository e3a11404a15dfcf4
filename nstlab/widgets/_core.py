"""What the demos share: the ``View`` an ``update`` returns, the ``interactive_view`` wrapper, and
feature and plotting helpers."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import Tensor

from .. import images
from ..backbones import Backbone, load_backbone
from ..validation import (
    checked,
    output_type,
)

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


def load_ipywidgets() -> Any:
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
    ipywidgets = load_ipywidgets()
    from IPython.display import display  # lazy, with ipywidgets: only a shown widget needs it

    def show(**values: Any) -> View:
        view = update(**values)
        display(view)
        return view

    return ipywidgets.interactive(show, **controls)


# ----------------------------------------------------------------------------------------------------
# Small shared helpers (features, plotting)
# ----------------------------------------------------------------------------------------------------


def feature_map(backbone: str | Backbone, source: images.ImageSource, layer: str, size: int) -> Tensor:
    """Features (1, C, H, W) of one image at one layer, float32 on the CPU, computed without gradient."""
    net = backbone if isinstance(backbone, Backbone) else load_backbone(backbone)
    device = next(net.parameters()).device
    img = images.load(source, size=size).to(device)
    with torch.no_grad():
        return net.features(img, [layer])[layer].float().cpu()


def as_map(F: Tensor, name: str) -> Tensor:
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


def check_decode(decode: Callable[[Tensor], Tensor] | None) -> None:
    if decode is not None and not callable(decode):
        raise TypeError(
            f"decode must be a callable features -> image (1, 3, H, W), got {type(decode).__name__}"
        )


def decoded(decode: Callable[[Tensor], Tensor], features: Tensor) -> np.ndarray:
    """Run the decoder without gradient and return the picture as an (H, W, 3) array for imshow."""
    with torch.no_grad():
        img = decode(features)
    return images.to_numpy(img.float().cpu().clamp(0, 1))


def quiet_axes(ax: Axes, n_x: int = 3) -> None:
    """Few ticks: tick labels are most of matplotlib's drawing time, and the sliders must stay fast."""
    ax.set_yticks([])
    ax.xaxis.set_major_locator(MaxNLocator(n_x))
    ax.tick_params(labelsize=8)


def image_axes(ax: Axes, title: str) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)


def blank(ax: Axes, text: str) -> None:
    image_axes(ax, "")
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=8, wrap=True, transform=ax.transAxes)


def robust_clim(M: np.ndarray) -> tuple[float, float]:
    """A symmetric colour range at the 98th percentile of |M|, so a few large entries do not wash out
    the rest of a covariance image."""
    m = float(np.percentile(np.abs(M), 98)) or float(np.abs(M).max()) or 1.0
    return -m, m


def freeze_layout(fig: Figure) -> None:
    """Run the constrained layout once and keep those axes positions: re-running it on every redraw of a
    reused figure costs more than drawing the figure itself."""
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
        fig.set_layout_engine("none")


EIG_FLOOR = 1e-12  # eigenvalues are drawn on a log10 axis clipped here (a singular G has exact zeros)


def eigvalsh(M: Tensor) -> np.ndarray:
    """Eigenvalues of a symmetric matrix in descending order (float64 numpy)."""
    return np.linalg.eigvalsh(M.to(torch.float64).numpy())[::-1].copy()


def condition_number(eigenvalues: np.ndarray) -> float:
    """lam_max / lam_min of a PSD matrix; eigenvalues at or below rounding count as 0 (then inf)."""
    lam_max = float(eigenvalues.max())
    lam_min = max(float(eigenvalues.min()), 0.0)
    if lam_max <= 0 or lam_min <= lam_max * len(eigenvalues) * np.finfo(np.float64).eps:
        return float("inf")
    return lam_max / lam_min


def finite(x: float) -> float:
    """inf (a singular matrix's condition number) as the largest float, so numbers stay finite."""
    return x if np.isfinite(x) else float(np.finfo(np.float64).max)
