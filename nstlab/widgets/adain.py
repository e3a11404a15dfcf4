"""AdaIN on one layer: histograms, entropy and the content-style trade-off (chapter 05)."""

from __future__ import annotations

from collections.abc import Sequence
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
    checked,
)
from ._core import View, interactive_view, load_ipywidgets, quiet_axes
from ._pairs import FeaturePairDemo, Pair


class AdaINDemo(FeaturePairDemo):
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

    def _setup(self, pair: Pair, channels: Sequence[int] | None = None) -> None:
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
            quiet_axes(ax)
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
        ipywidgets = load_ipywidgets()
        slider = ipywidgets.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.05, description="alpha")
        return interactive_view(partial(self.update, reuse=True), alpha=slider)
