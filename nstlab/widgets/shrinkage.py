"""Shrinkage of the Gram estimate (chapter 02)."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from .. import stats
from ..validation import (
    Fraction,
    checked,
)
from ._core import (
    EIG_FLOOR,
    View,
    as_map,
    condition_number,
    eigvalsh,
    finite,
    image_axes,
    interactive_view,
    load_ipywidgets,
    robust_clim,
)

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
        F = as_map(features, "features")
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
        self._gram_eig = eigvalsh(self.gram)
        self._true_eig = None if self.true_cov is None else eigvalsh(self.true_cov)

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
        eig = eigvalsh(G_lam)
        numbers = {
            "lam": float(lam),
            "condition_number": finite(condition_number(eig)),
            "condition_number_gram": finite(condition_number(self._gram_eig)),
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
        clim = robust_clim(self.gram.numpy())  # a few large diagonal entries would wash out the rest
        for ax, (M, title) in zip(axes, mats, strict=False):
            ax.imshow(M.numpy(), cmap="RdBu_r", vmin=clim[0], vmax=clim[1], interpolation="nearest")
            image_axes(ax, title)
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
        ipywidgets = load_ipywidgets()
        start = round(self.ledoit_wolf_lambda, 2)
        slider = ipywidgets.FloatSlider(value=start, min=0.0, max=1.0, step=0.01, description="lam")
        return interactive_view(self.update, lam=slider)
