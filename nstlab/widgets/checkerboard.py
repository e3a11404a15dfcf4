"""Transposed convolution: kernel size and stride, the checkerboard (chapter 09)."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from .. import artifacts
from ..validation import (
    ImageSide,
    NonNegativeInt,
    PositiveInt,
    checked,
)
from ._core import View, image_axes, interactive_view, load_ipywidgets

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
        image_axes(axes[0], f"transposed conv, k = {k}, s = {s}")
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
        image_axes(axes[3], "resize-convolution")
        return View(fig, numbers)

    @checked
    def widget(self):
        """Sliders kernel_size 1..8 and stride 1..4."""
        ipywidgets = load_ipywidgets()
        k = ipywidgets.IntSlider(value=3, min=1, max=8, description="kernel_size")
        s = ipywidgets.IntSlider(value=2, min=1, max=4, description="stride")
        return interactive_view(self.update, kernel_size=k, stride=s)
