"""Checkerboard artifacts of transposed convolution (Odena et al. 2016, "Deconvolution and Checkerboard
Artifacts", Distill).

A transposed convolution with kernel size k and stride s inserts s - 1 zeros between input pixels and
convolves: output pixel j receives the kernel taps t with t = j (mod s), t < k, so the number of taps that
hit it, ceil((k - j mod s) / s) in the interior, repeats with period s. Unless k is a multiple of s this
uneven overlap turns a constant input into a pattern of frequency 1/s cycles/pixel (and its harmonics):
the checkerboard. Resize-convolution (nearest upsampling by s, then an ordinary convolution) spreads every
input pixel evenly and maps a constant to a constant.

Signals are 1-D (L,) or 2-D (H, W) float64 tensors; ``ndim`` picks 1-D or 2-D constructions (square k x k
kernels, stride s on both axes). Frequencies are in cycles/pixel, in [-1/2, 1/2]. For pictures (the output
of a decoder), :func:`luminance_signal` turns an image into such a signal and :func:`nyquist_peak` measures
the checkerboard peak at 1/2 cycles/pixel.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as nnf
from torch import Tensor

from .color import luminance
from .validation import AnyTensor, ImageTensor, NonNegativeInt, PositiveInt, checked

__all__ = [
    "transposed_conv_output",
    "zero_insertion",
    "upsample",
    "overlap_pattern",
    "resize_conv_output",
    "interior",
    "spectrum",
    "dominant_frequency",
    "checkerboard_strength",
    "compare_upsampling",
    "luminance_signal",
    "hann_windowed",
    "nyquist_peak",
]

KERNELS = ("ones", "random")
UPSAMPLING = ("transposed", "resize")


def _check_geometry(kernel_size: int, stride: int, n_in: int, ndim: int) -> None:
    if kernel_size < 1 or stride < 1:
        raise ValueError(f"kernel_size and stride must be >= 1, got k = {kernel_size}, s = {stride}")
    if ndim not in (1, 2):
        raise ValueError(f"ndim must be 1 or 2, got {ndim}")
    if n_in < 2:
        raise ValueError(f"n_in must be >= 2 input pixels per axis, got {n_in}")


def _kernel(kernel: str | Tensor, kernel_size: int, ndim: int, seed: int) -> Tensor:
    """The (1, 1, k) or (1, 1, k, k) weight: all ones, seeded standard normal, or a given tensor."""
    shape = (kernel_size,) * ndim
    if isinstance(kernel, Tensor):
        if tuple(kernel.shape) != shape:
            raise ValueError(f"kernel must have shape {shape}, got {tuple(kernel.shape)}")
        w = kernel.to(torch.float64)
    elif kernel == "ones":
        w = torch.ones(shape, dtype=torch.float64)
    elif kernel == "random":
        w = torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    else:
        raise ValueError(
            f"unknown kernel={kernel!r}; choose one of {KERNELS} or pass a tensor of shape {shape}"
        )
    return w[None, None]


def _kernel_and_constant_input(
    kernel: str | Tensor,
    kernel_size: int,
    stride: int,
    n_in: int,
    ndim: int,
    seed: int,
) -> tuple[Tensor, Tensor]:
    """The checked kernel and an all-ones input (1, 1, n_in[, n_in]) in float64."""
    _check_geometry(kernel_size, stride, n_in, ndim)
    x = torch.ones((1, 1) + (n_in,) * ndim, dtype=torch.float64)
    return _kernel(kernel, kernel_size, ndim, seed), x


def _constant_response(
    method: str,
    kernel_size: int,
    stride: int,
    n_in: int,
    ndim: int,
    kernel: str | Tensor,
    seed: int,
) -> Tensor:
    """The response of a ``"transposed"`` or ``"resize"`` upsampling layer to an all-ones input (float64)."""
    w, x = _kernel_and_constant_input(kernel, kernel_size, stride, n_in, ndim, seed)
    if method == "transposed":
        conv = nnf.conv_transpose1d if ndim == 1 else nnf.conv_transpose2d
        return conv(x, w, stride=stride)[0, 0]
    up = nnf.interpolate(x, scale_factor=stride, mode="nearest")
    up = nnf.pad(up, ((kernel_size - 1) // 2, kernel_size // 2) * ndim, mode="replicate")
    conv = nnf.conv1d if ndim == 1 else nnf.conv2d
    return conv(up, w)[0, 0]


@checked
def transposed_conv_output(
    kernel_size: PositiveInt,
    stride: PositiveInt,
    n_in: PositiveInt = 16,
    ndim: int = 1,
    kernel: str | Tensor = "ones",
    seed: NonNegativeInt = 0,
) -> Tensor:
    """Output of a transposed convolution (no padding) applied to a constant input of ones.

    Length (n_in - 1) s + k per axis. With ``kernel="ones"`` every output pixel holds the number of kernel
    taps that hit it; with a random kernel (seeded normal) output j is the sum of the taps t = j (mod s),
    which is periodic with period s even when k is a multiple of s (the overlap is then even, but the
    taps of different residues still differ unless the kernel is balanced). Returns (L,) or (L, L) float64.
    """
    return _constant_response("transposed", kernel_size, stride, n_in, ndim, kernel, seed)


@checked
def zero_insertion(signal: AnyTensor, stride: PositiveInt) -> Tensor:
    """The first step of a stride-s transposed convolution: s - 1 zeros inserted between neighbouring pixels.

    (L,) -> ((L - 1) s + 1,) and (H, W) -> ((H - 1) s + 1, (W - 1) s + 1): input pixel i lands at s i, the
    pixels in between are 0. A full convolution of the result with the kernel (zero padding k - 1 on each
    side, i.e. ``conv1d(up, flip(w), padding=k - 1)``) is the transposed convolution (Dumoulin & Visin
    2016, "A guide to convolution arithmetic for deep learning", section 4).
    """
    _check_signal(signal)
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    shape = tuple((n - 1) * stride + 1 for n in signal.shape)
    up = signal.new_zeros(shape)
    up[(slice(None, None, stride),) * signal.ndim] = signal
    return up


@checked
def upsample(x: Tensor, weight: Tensor, stride: PositiveInt, method: str = "transposed") -> Tensor:
    """Upsample feature maps (B, C_in, H, W) by ``stride`` with a learnable-style layer of weight
    (C_out, C_in, k, k), as a decoder would.

    ``"transposed"``: ``conv_transpose2d(x, weight.transpose(0, 1), stride)``, i.e. zero insertion then a
    full convolution with the kernel (output (H - 1) s + k per axis): uneven overlap when s does not divide
    k, and a period-s pattern even when it does unless the kernel's taps of each residue balance.
    ``"resize"``: nearest upsampling by s, replicate padding, then ``conv2d(., weight)`` (output H s per
    axis): every output sums all k x k taps over copies of input pixels, so a constant input stays
    constant (Odena et al. 2016). Same dtype as x.
    """
    if method not in UPSAMPLING:
        raise ValueError(f"unknown method={method!r}; choose one of {UPSAMPLING}")
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(
            f"x must be (B, C_in, H, W) and weight (C_out, C_in, k, k), got {tuple(x.shape)} and "
            f"{tuple(weight.shape)}"
        )
    if weight.shape[1] != x.shape[1] or weight.shape[2] != weight.shape[3]:
        raise ValueError(
            f"weight {tuple(weight.shape)} must be square and take C_in = {x.shape[1]} input channels"
        )
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    weight = weight.to(x)
    if method == "transposed":
        return nnf.conv_transpose2d(x, weight.transpose(0, 1), stride=stride)
    k = weight.shape[-1]
    up = nnf.interpolate(x, scale_factor=stride, mode="nearest")
    up = nnf.pad(up, ((k - 1) // 2, k // 2) * 2, mode="replicate")
    return nnf.conv2d(up, weight)


@checked
def overlap_pattern(
    kernel_size: PositiveInt, stride: PositiveInt, n_in: PositiveInt = 16, ndim: int = 1
) -> Tensor:
    """How many kernel taps of a stride-s, size-k transposed convolution hit each output pixel (int64).

    Computed as the transposed convolution of a ones input with a ones kernel. In the interior (see
    :func:`interior`) pixel j gets ceil((k - j mod s) / s) taps: [1, 2, 1, 2, ...] for k = 3, s = 2, and a
    flat k / s when s divides k. In 2-D the count is the outer product of the 1-D counts.
    """
    return transposed_conv_output(kernel_size, stride, n_in, ndim, "ones").round().to(torch.int64)


@checked
def resize_conv_output(
    kernel_size: PositiveInt,
    stride: PositiveInt,
    n_in: PositiveInt = 16,
    ndim: int = 1,
    kernel: str | Tensor = "ones",
    seed: NonNegativeInt = 0,
) -> Tensor:
    """Resize-convolution of a constant input of ones: nearest upsampling by s, then a stride-1
    convolution with a k (x k) kernel after replicate padding ((k - 1) // 2 before, k // 2 after).

    Every upsampled pixel is a copy of an input pixel and every output sums all k taps once, so a constant
    input gives the constant sum(kernel) everywhere (replicate padding keeps even the border flat): no
    checkerboard, for any k, s and kernel. Length n_in s per axis, float64.
    """
    return _constant_response("resize", kernel_size, stride, n_in, ndim, kernel, seed)


@checked
def interior(signal: AnyTensor, kernel_size: PositiveInt, stride: PositiveInt | None = None) -> Tensor:
    """Drop the k - 1 border pixels at each end of every axis, where not all input pixels contribute.

    These are the pixels whose taps reach beyond the input of a no-padding transposed convolution. With
    ``stride`` the end is also trimmed to a whole number of periods s, so that 1/s falls on an FFT bin.
    """
    _check_signal(signal)
    m = kernel_size - 1
    out = signal
    for axis in range(signal.ndim):
        length = signal.shape[axis] - 2 * m
        if stride is not None:
            length -= length % stride
        if length < 1:
            raise ValueError(
                f"signal of shape {tuple(signal.shape)} has no interior for kernel size {kernel_size}"
            )
        out = out.narrow(axis, m, length)
    return out


def _check_signal(signal: Tensor) -> None:
    if not isinstance(signal, Tensor) or signal.ndim not in (1, 2):
        shape = tuple(signal.shape) if isinstance(signal, Tensor) else type(signal).__name__
        raise ValueError(f"signal must be a 1-D (L,) or 2-D (H, W) tensor, got {shape}")
    if min(signal.shape) < 2:
        raise ValueError(f"signal of shape {tuple(signal.shape)} is too short for a spectrum (>= 2 samples)")
    if not bool(torch.isfinite(signal).all()):
        raise ValueError("signal contains NaN or inf values")


@checked
def spectrum(signal: AnyTensor) -> tuple[Tensor | tuple[Tensor, Tensor], Tensor]:
    """Magnitude of the discrete Fourier transform of the mean-removed signal, with its frequencies.

    1-D: ``(freqs, |rfft(x - mean)|)``, freqs = k / L for k = 0..L//2 (cycles/pixel). 2-D:
    ``((fy, fx), |fft2(x - mean)|)`` with fy, fx from ``torch.fft.fftfreq`` (unshifted; use
    ``torch.fft.fftshift`` to plot). The DC bin is 0 by construction.
    """
    _check_signal(signal)
    x = signal.to(torch.float64)
    x = x - x.mean()
    if x.ndim == 1:
        return torch.fft.rfftfreq(x.shape[0], dtype=torch.float64), torch.fft.rfft(x).abs()
    freqs = (
        torch.fft.fftfreq(x.shape[0], dtype=torch.float64),
        torch.fft.fftfreq(x.shape[1], dtype=torch.float64),
    )
    return freqs, torch.fft.fft2(x).abs()


def _ac_power_is_zero(x: Tensor, power: Tensor) -> bool:
    """True when the AC power (Parseval: numel * sum of squared deviations) is rounding noise of the raw
    signal x (not mean-removed): a flat signal."""
    return float(power.sum()) <= 1e-24 * (float(x.pow(2).sum()) * x.numel() + 1e-300)


@checked
def dominant_frequency(signal: AnyTensor) -> float | tuple[float, float]:
    """Frequency (cycles/pixel) of the strongest non-DC component of the mean-removed signal.

    1-D: the one-sided power spectrum (bins other than DC and Nyquist counted twice) is maximized over
    k = 1..L//2, ties to the lower frequency; 1/s for the interior of a transposed convolution with k not a
    multiple of s. 2-D: (|fy|, |fx|) of the largest bin of |fft2|^2. A flat signal gives 0 (or (0, 0)).
    Trim the signal to whole periods (:func:`interior` with ``stride``) to land exactly on 1/s.
    """
    freqs, mag = spectrum(signal)
    power = mag.pow(2)
    flat = _ac_power_is_zero(signal.to(torch.float64), power)
    if signal.ndim == 1:
        if flat or power.shape[0] < 2:
            return 0.0
        L = signal.shape[0]
        weight = torch.full_like(power, 2.0)
        weight[0] = 1.0
        if L % 2 == 0:
            weight[-1] = 1.0
        weighted = (power * weight)[1:]
        # ties (equal harmonics of a one-spike-per-period pattern) differ only by rounding: lowest wins
        k = int(torch.nonzero(weighted >= weighted.max() * (1 - 1e-9))[0]) + 1
        return float(freqs[k])
    if flat:
        return (0.0, 0.0)
    power = power.clone()
    power[0, 0] = -1.0
    iy, ix = divmod(int(torch.argmax(power)), power.shape[1])
    return (abs(float(freqs[0][iy])), abs(float(freqs[1][ix])))


@checked
def checkerboard_strength(signal: AnyTensor, stride: PositiveInt) -> float:
    """Share of the AC power at multiples of 1/s: sum_{f in Z^d / s, f != 0} |X(f)|^2 / sum_{f != 0} |X(f)|^2.

    In 1-D the bins 1/s, 2/s, ... (the checkerboard's fundamental and harmonics); in 2-D every bin whose
    frequency coordinates are both multiples of 1/s: (1/s, 0), (0, 1/s), (1/s, 1/s) and harmonics. Each
    axis is first trimmed to a multiple of s so those frequencies are exact FFT bins. 1 for a pattern of
    period s, about (s^d - 1) / L^d for white noise, 0 for a flat signal (no AC power).
    """
    _check_signal(signal)
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    x = signal.to(torch.float64)
    for axis in range(x.ndim):
        x = x.narrow(axis, 0, x.shape[axis] - x.shape[axis] % stride)
    if x.numel() == 0:
        raise ValueError(f"signal of shape {tuple(signal.shape)} is shorter than one period s = {stride}")
    power = torch.fft.fftn(x - x.mean()).abs().pow(2)
    if _ac_power_is_zero(x, power):
        return 0.0
    mask = torch.ones_like(power, dtype=torch.bool)
    for axis, length in enumerate(x.shape):
        on_grid = torch.arange(length, device=x.device) % (length // stride) == 0
        mask &= on_grid.view([-1 if a == axis else 1 for a in range(x.ndim)])
    return float(power[mask].sum() / power.sum())


@checked
def compare_upsampling(
    kernel_size: PositiveInt,
    stride: PositiveInt,
    ndim: int = 1,
    kernel: str | Tensor = "ones",
    n_in: PositiveInt = 16,
    seed: NonNegativeInt = 0,
) -> dict[str, Any]:
    """Transposed convolution versus resize-convolution on a constant input, for a widget or a table.

    Keys: ``overlap`` (:func:`overlap_pattern`), ``transposed`` and ``resize`` (the outputs), and for each of
    ``overlap``, ``transposed`` and ``resize`` the ``*_frequency`` (:func:`dominant_frequency`) and
    ``*_strength`` (:func:`checkerboard_strength`) of its interior trimmed to whole periods.
    """
    out: dict[str, Any] = {
        "overlap": overlap_pattern(kernel_size, stride, n_in, ndim),
        "transposed": transposed_conv_output(kernel_size, stride, n_in, ndim, kernel, seed),
        "resize": resize_conv_output(kernel_size, stride, n_in, ndim, kernel, seed),
    }
    for name in ("overlap", "transposed", "resize"):
        inner = interior(out[name].to(torch.float64), kernel_size, stride)
        out[f"{name}_frequency"] = dominant_frequency(inner)
        out[f"{name}_strength"] = checkerboard_strength(inner, stride)
    return out


# ----------------------------------------------------------------------------------------------------
# Checkerboards in pictures
# ----------------------------------------------------------------------------------------------------


@checked
def luminance_signal(img: ImageTensor) -> Tensor:
    """The Rec. 601 luminance (:func:`nstlab.color.luminance`) of a (1, 3, H, W) image as an (H, W)
    float64 signal, cropped to even sizes so that 1/2 cycles/pixel is an FFT bin."""
    if img.ndim != 4 or img.shape[0] != 1:
        raise ValueError(f"luminance_signal takes one image (1, 3, H, W), got shape {tuple(img.shape)}")
    y = luminance(img.detach().double())[0, 0]
    return y[: y.shape[0] // 2 * 2, : y.shape[1] // 2 * 2]


@checked
def hann_windowed(y: Tensor) -> Tensor:
    """An (H, W) signal times the separable Hann window w(n) = sin^2(pi n / L) (periodic), mean removed
    first so that the window does not turn the mean into low-frequency power."""
    _check_signal(y)
    if y.ndim != 2:
        raise ValueError(f"hann_windowed takes a 2-D (H, W) signal, got shape {tuple(y.shape)}")
    h, w = y.shape
    win = torch.outer(torch.hann_window(h, dtype=y.dtype), torch.hann_window(w, dtype=y.dtype))
    return (y - y.mean()) * win


@checked
def nyquist_peak(img: ImageTensor) -> float:
    """Checkerboard peak of an image: the mean power of its luminance spectrum at the period-2 bins
    (1/2, 0), (0, 1/2), (1/2, 1/2) cycles/pixel divided by the median power of the high-frequency band
    max(|f_y|, |f_x|) >= 3/8 around them (:func:`spectrum` of :func:`luminance_signal` times a 2-D Hann
    window, which keeps the image borders from leaking power along the axes). About 1 for a smooth
    spectrum; much larger when a stride-2 transposed convolution stamps its overlap pattern; 0 for a flat
    picture."""
    (fy, fx), mag = spectrum(hann_windowed(luminance_signal(img)))
    power = mag.pow(2)
    ay, ax = fy.abs()[:, None], fx.abs()[None, :]
    peak = ((ay == 0.5) & (ax == 0.5)) | ((ay == 0.5) & (ax == 0)) | ((ay == 0) & (ax == 0.5))
    band = (torch.maximum(ay, ax) >= 0.375) & ~peak
    peak_power, band_power = float(power[peak].mean()), float(power[band].median())
    if peak_power == 0:  # a flat picture has no period-2 pattern at all
        return 0.0
    return peak_power / max(band_power, torch.finfo(torch.float64).tiny)
