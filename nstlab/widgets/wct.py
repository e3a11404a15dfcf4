"""Whitening and coloring: the regularizer eps and the trade-off alpha (chapter 06)."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import Tensor

from .. import stats, transforms
from ..validation import (
    Fraction,
    NonNegativeFloat,
    checked,
)
from ._core import View, condition_number, finite, image_axes, interactive_view, load_ipywidgets, robust_clim
from ._pairs import FeaturePairDemo, Pair

# ----------------------------------------------------------------------------------------------------
# WCT
# ----------------------------------------------------------------------------------------------------


class WCTDemo(FeaturePairDemo):
    """Whitening and coloring (Li et al. 2017) on real features, with the regularizer eps of the text.

    z = E diag(m / sqrt(lam + eps)) E^T (c - mu_c) (whitening), out = (P S_s P)^{1/2} z + mu_s (coloring),
    result alpha out + (1 - alpha) c: the same map as ``transforms.wct(c, s, alpha, eps, rank_tol)``. The
    eigendecomposition of the content covariance and the coloring matrix do not depend on eps or alpha, so
    they are computed once; each ``update`` only forms the whitening matrix for eps and applies it.
    ``decode`` (features -> image) adds the decoded picture, e.g. ``decoders.feature_decoder(layer)`` (the
    shipped reconstruction decoder of the layer); :meth:`from_features` takes feature maps.
    """

    SHOW_CHANNELS = 48  # the images show this top-left block of the C x C covariances; numbers use all

    def _setup(self, pair: Pair, rank_tol: float | None = None) -> None:
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
            "condition_number": finite(
                float((lam.max() + eps) / (lam.min() + eps)) if eps > 0 else condition_number(lam.numpy())
            ),
            "condition_number_kept": finite(float((kept.max() + eps) / (kept.min() + eps)))
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
        clim = robust_clim(S_s)
        canvas: dict[str, Any] = {"fig": fig}
        block = f"[:{S_c.shape[0]}, :{S_c.shape[0]}]"
        axes[0].imshow(S_c, cmap="RdBu_r", vmin=robust_clim(S_c)[0], vmax=robust_clim(S_c)[1])
        image_axes(axes[0], f"cov(content){block}")
        canvas["z"] = axes[1].imshow(
            np.zeros_like(S_c), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest"
        )
        image_axes(axes[1], "cov(whitened)")
        canvas["out"] = axes[2].imshow(np.zeros_like(S_s), cmap="RdBu_r", vmin=clim[0], vmax=clim[1])
        image_axes(axes[2], "cov(output)")
        canvas["out_axes"] = axes[2]
        axes[3].imshow(S_s, cmap="RdBu_r", vmin=clim[0], vmax=clim[1])
        image_axes(axes[3], "cov(style)")
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
        ipywidgets = load_ipywidgets()
        eps = ipywidgets.FloatLogSlider(value=1e-5, base=10, min=-6, max=1, step=0.25, description="eps")
        alpha = ipywidgets.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.05, description="alpha")
        return interactive_view(partial(self.update, reuse=True), eps=eps, alpha=alpha)
