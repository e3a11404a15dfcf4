"""Style transfer for video without flicker (Ruder, Dosovitskiy & Brox 2016, "Artistic Style Transfer for
Videos", GCPR).

Stylizing each frame on its own gives a sequence that flickers: small changes between frames move the
optimization to a different local minimum, so strokes jump around. Ruder et al. tie each frame to the
previous stylized one, moved along with the scene:

1. Optical flow w_t from frame t back to frame t-1 (here TV-L1, Zach, Pock & Bischof 2007, by
   ``skimage.registration.optical_flow_tvl1``): frame_t(r) ~ frame_{t-1}(r + w_t(r)).
2. Backward warping: omega_t(r) = x_{t-1}(r + w_t(r)), the previous stylized frame moved to frame t
   (bilinear sampling).
3. Occlusions by forward-backward consistency: with the flow w^_t from t-1 to t sampled at r + w_t(r),
   a pixel is disoccluded or badly matched where |w + w^|^2 > 0.01 (|w|^2 + |w^|^2) + 0.5,
   and on motion boundaries where |grad w^|^2 > 0.01 |w^|^2 + 0.002; the weights c_t are 0 there and
   where r + w_t(r) leaves the frame, 1 elsewhere.
4. Temporal loss L_temporal(x_t) = (1/D) sum_k c_k (x_k - omega_k)^2 (D = 3 H W) added to the Gatys
   objective with weight ``temporal_weight``, and the optimization of frame t starts from omega_t
   (the content frame where c = 0).

The flicker measure is the same comparison on the results: mean over t of the mean absolute difference
|x_t - omega_t| over the non-occluded pixels (values in [0, 1], lower is steadier).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Unpack

import numpy as np
import torch
import torch.nn.functional as nnf
from PIL import Image
from torch import Tensor
from tqdm.auto import tqdm

from . import color, images
from .budget import budget
from .optimize import Objective, Settings, SettingsOptions, resolve_settings, run
from .validation import (
    ImageSide,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    check_fields,
    check_same_shape,
    checked,
    output_type,
)

__all__ = [
    "pan_zoom_frames",
    "load_frames",
    "save_gif",
    "optical_flow",
    "warp",
    "consistency_mask",
    "Motion",
    "frame_motion",
    "flicker",
    "temporal_loss",
    "VideoResult",
    "stylize_video",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_TEMPORAL_WEIGHT = 5e2

# ----------------------------------------------------------------------------------------------------
# Frames
# ----------------------------------------------------------------------------------------------------


def _smoothstep(t: float) -> float:
    """3 t^2 - 2 t^3: starts and stops gently (zero velocity at both ends)."""
    return t * t * (3 - 2 * t)


@checked
def pan_zoom_frames(
    source: images.ImageSource = "chelsea",
    n_frames: PositiveInt = 8,
    size: ImageSide = 96,
    zoom: tuple[PositiveFloat, PositiveFloat] = (1.0, 1.3),
    pan: tuple[tuple[float, float], tuple[float, float]] = ((0.0, -0.12), (0.05, 0.12)),
    crop: PositiveFloat = 0.7,
) -> list[Tensor]:
    """A camera move over a still image: ``n_frames`` frames (1, 3, H, W) with long side ``size``.

    Frame k shows the window of ``crop``/zoom of the picture's width and height centred at the pan
    offset (dy, dx), as fractions of the half-size; zoom and pan move from their first to their second
    value along a smoothstep. The window must stay inside the picture: |offset| + crop/zoom <= 1.
    """
    if n_frames < 2:
        raise ValueError(f"a video needs at least 2 frames, got n_frames={n_frames}")
    src = images.load(source, size=int(2.5 * size))
    h, w = src.shape[-2:]
    H, W = max(1, round(size * h / max(h, w))), max(1, round(size * w / max(h, w)))
    frames = []
    for k in range(n_frames):
        s = _smoothstep(k / (n_frames - 1))
        z = zoom[0] + (zoom[1] - zoom[0]) * s
        dy, dx = (p0 + (p1 - p0) * s for p0, p1 in zip(pan[0], pan[1], strict=True))
        half = crop / z
        if abs(dy) + half > 1 + 1e-6 or abs(dx) + half > 1 + 1e-6:
            raise ValueError(
                f"frame {k} leaves the picture (offset ({dy:.2f}, {dx:.2f}), half-size {half:.2f}); "
                "use a smaller crop or pan"
            )
        theta = torch.tensor([[[half, 0.0, dx], [0.0, half, dy]]], dtype=src.dtype)
        grid = nnf.affine_grid(theta, [1, 3, H, W], align_corners=False)
        frames.append(nnf.grid_sample(src, grid, mode="bilinear", align_corners=False).clamp(0, 1))
    return frames


@checked
def load_frames(folder: str | Path, size: ImageSide | None = None) -> list[Tensor]:
    """The image files of a folder in name order as frames (1, 3, H, W), long side ``size``; all frames
    must have the same size."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder of frames at {folder}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) < 2:
        raise ValueError(f"{folder} holds {len(files)} image file(s) ({', '.join(IMAGE_SUFFIXES)}); need 2+")
    frames = [images.load(p, size=size, max_size=budget().max_size) for p in files]
    shapes = {tuple(f.shape) for f in frames}
    if len(shapes) > 1:
        raise ValueError(f"the frames in {folder} differ in size {sorted(shapes)}; pass size=... to resize")
    return frames


@checked
def save_gif(frames: Sequence[Tensor], path: str | Path, fps: PositiveFloat = 8.0) -> Path:
    """Write frames (1, 3, H, W) as a looping animated GIF (Pillow); returns the path."""
    path = images.check_output_path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"path must end in .gif, got {path.name!r}")
    for k, f in enumerate(frames):
        check_same_shape(f, frames[0], (f"frames[{k}]", "frames[0]"))
    path.parent.mkdir(parents=True, exist_ok=True)
    pics = [Image.fromarray((images.to_numpy(f) * 255).round().astype(np.uint8)) for f in frames]
    pics[0].save(path, save_all=True, append_images=pics[1:], duration=round(1000 / fps), loop=0)
    return path


# ----------------------------------------------------------------------------------------------------
# Optical flow, warping, occlusions
# ----------------------------------------------------------------------------------------------------


def _gray(img: Tensor) -> np.ndarray:
    """The Rec. 601 luminance (:func:`nstlab.color.luminance`) of one frame as an (H, W) float64 array."""
    return color.luminance(img)[0, 0].detach().cpu().double().numpy()


@checked
def optical_flow(reference: Tensor, moving: Tensor) -> Tensor:
    """TV-L1 optical flow (1, 2, H, W), channels (dy, dx) in pixels, with reference(r) ~ moving(r + w(r)).

    Computed on the luminance by ``skimage.registration.optical_flow_tvl1`` (Zach et al. 2007;
    Wedel et al. 2009). ``warp(moving, w)`` then lines ``moving`` up with ``reference``.
    """
    from skimage.registration import optical_flow_tvl1

    if reference.shape != moving.shape:
        raise ValueError(f"frames differ in shape: {tuple(reference.shape)} vs {tuple(moving.shape)}")
    flow = optical_flow_tvl1(_gray(reference), _gray(moving))
    return torch.from_numpy(flow.astype(np.float32))[None].to(reference.device)


def _sampling_grid(flow: Tensor) -> Tensor:
    """grid_sample's normalized (x, y) grid for the positions r + w(r) (align_corners=False)."""
    _, _, H, W = flow.shape
    yy, xx = torch.meshgrid(
        torch.arange(H, dtype=flow.dtype, device=flow.device),
        torch.arange(W, dtype=flow.dtype, device=flow.device),
        indexing="ij",
    )
    y, x = yy + flow[:, 0], xx + flow[:, 1]
    return torch.stack([(2 * x + 1) / W - 1, (2 * y + 1) / H - 1], dim=-1)


@checked
def warp(img: Tensor, flow: Tensor) -> Tensor:
    """Backward warping: out(r) = img(r + w(r)), bilinear, border values outside the frame."""
    if img.shape[-2:] != flow.shape[-2:] or flow.shape[1] != 2:
        raise ValueError(f"flow {tuple(flow.shape)} must be (1, 2, H, W) for an image {tuple(img.shape)}")
    grid = _sampling_grid(flow.to(img))
    return nnf.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _inside(flow: Tensor) -> Tensor:
    grid = _sampling_grid(flow)
    return ((grid.abs() <= 1).all(-1)).to(flow.dtype)[:, None]


@checked
def consistency_mask(flow_back: Tensor, flow_fwd: Tensor) -> Tensor:
    """Ruder et al. 2016's weights c (1, 1, H, W): 1 where the backward flow w (t -> t-1) and the forward
    flow w^ (t-1 -> t), sampled at r + w(r), cancel, 0 at disocclusions, motion boundaries and where
    r + w(r) leaves the frame (see the module docstring for the thresholds)."""
    fwd_at = warp(flow_fwd, flow_back)
    sum_sq = (flow_back + fwd_at).pow(2).sum(1, keepdim=True)
    mag = flow_back.pow(2).sum(1, keepdim=True) + fwd_at.pow(2).sum(1, keepdim=True)
    consistent = sum_sq <= 0.01 * mag + 0.5
    dy = torch.zeros_like(fwd_at)
    dx = torch.zeros_like(fwd_at)
    dy[..., 1:, :] = fwd_at[..., 1:, :] - fwd_at[..., :-1, :]
    dx[..., :, 1:] = fwd_at[..., :, 1:] - fwd_at[..., :, :-1]
    grad_sq = (dy.pow(2) + dx.pow(2)).sum(1, keepdim=True)
    boundary = grad_sq > 0.01 * fwd_at.pow(2).sum(1, keepdim=True) + 0.002
    return (consistent & ~boundary).to(flow_back.dtype) * _inside(flow_back)


@dataclass
class Motion:
    """Flow from frame t back to t-1 (1, 2, H, W) and the weights c (1, 1, H, W) of pixels it explains."""

    flow: Tensor
    mask: Tensor

    def __post_init__(self) -> None:
        check_fields(self)
        if self.flow.ndim != 4 or self.flow.shape[1] != 2:
            raise ValueError(f"flow must be (1, 2, H, W), got shape {tuple(self.flow.shape)}")
        if self.mask.ndim != 4 or self.mask.shape[1] != 1 or self.mask.shape[-2:] != self.flow.shape[-2:]:
            raise ValueError(
                f"mask must be (1, 1, H, W) at the flow's size {tuple(self.flow.shape[-2:])}, got "
                f"{tuple(self.mask.shape)}"
            )


@checked
def frame_motion(frames: Sequence[Tensor], progress: bool = False) -> list[Motion]:
    """Motion between consecutive frames: element t-1 describes frame t -> t-1, for t = 1 .. T-1."""
    out = []
    for t in tqdm(range(1, len(frames)), disable=not progress, desc="optical flow", leave=False):
        back = optical_flow(frames[t], frames[t - 1])
        fwd = optical_flow(frames[t - 1], frames[t])
        out.append(Motion(back, consistency_mask(back, fwd)))
    return out


@checked
def flicker(stylized: Sequence[Tensor], motion: Sequence[Motion]) -> float:
    """Mean over t of sum_r c |x_t - warp(x_{t-1}, w_t)| / (3 sum_r c): the average change of a pixel
    that the camera motion does not explain (0 = perfectly steady; values in [0, 1])."""
    if len(stylized) < 2:
        raise ValueError(
            f"stylized has {len(stylized)} frame(s); flicker compares consecutive frames: give >= 2"
        )
    if len(motion) != len(stylized) - 1:
        raise ValueError(f"{len(stylized)} frames need {len(stylized) - 1} motions, got {len(motion)}")
    values = []
    for t, m in enumerate(motion, start=1):
        diff = (stylized[t] - warp(stylized[t - 1], m.flow)).abs() * m.mask
        values.append(float(diff.sum() / (3 * m.mask.sum().clamp_min(1))))
    return float(np.mean(values))


@checked
def temporal_loss(x: Tensor, warped: Tensor, mask: Tensor) -> Tensor:
    """L_temporal = (1/D) sum_k c_k (x_k - omega_k)^2, D = 3 H W (Ruder et al. 2016, eq. 7)."""
    check_same_shape(x, warped, ("x", "warped"))
    if mask.ndim != 4 or mask.shape[0] not in (1, x.shape[0]) or mask.shape[-2:] != x.shape[-2:]:
        raise ValueError(
            f"mask must be (1, 1, H, W) at x's size {tuple(x.shape[-2:])}, got {tuple(mask.shape)}"
        )
    return ((x - warped).pow(2) * mask).mean()


# ----------------------------------------------------------------------------------------------------
# Stylizing a sequence
# ----------------------------------------------------------------------------------------------------


class _Temporal:
    """The Gatys objective plus temporal_weight * L_temporal against a fixed warped previous frame."""

    def __init__(self, base: Objective, warped: Tensor, mask: Tensor, weight: float):
        self.base, self.warped, self.mask, self.weight = base, warped.detach(), mask, weight

    def __call__(self, x: Tensor, step: int = 0) -> tuple[Tensor, dict[str, Tensor]]:
        total, terms = self.base(x, step)
        temporal = self.weight * temporal_loss(x, self.warped, self.mask)
        return total + temporal, {**terms, "temporal": temporal}


@output_type
@dataclass
class VideoResult:
    """Stylized ``frames``, the ``motion`` between the content frames, per-frame loss ``histories``,
    ``seconds`` per frame and the ``flicker`` of the result (see :func:`flicker`)."""

    frames: list[Tensor]
    motion: list[Motion]
    histories: list[list[dict[str, float]]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    flicker: float = 0.0

    @property
    def seconds_per_frame(self) -> float:
        return float(np.mean(self.seconds))


@checked
def stylize_video(
    frames: Sequence[Tensor],
    style: images.ImageSource,
    *,
    temporal_weight: NonNegativeFloat = DEFAULT_TEMPORAL_WEIGHT,
    motion: Sequence[Motion] | None = None,
    style_size: ImageSide | None = None,
    first_steps: PositiveInt | None = None,
    settings: Settings | None = None,
    **options: Unpack[SettingsOptions],
) -> VideoResult:
    """Stylize a sequence of frames (1, 3, H, W) with Gatys' objective (``optimize.Objective`` and
    ``optimize.run``, as ``optimize.stylize``).

    ``temporal_weight=0``: every frame on its own, starting from its content (per-frame transfer).
    ``temporal_weight > 0``: Ruder et al. 2016: frame t >= 1 starts from the previous stylized frame
    warped by the optical flow (the content where occluded) and its objective adds
    temporal_weight * L_temporal. ``options`` are the shared :class:`~nstlab.optimize.Settings`
    (backbone, layers, weights, optimizer, ...): ``steps`` per frame (default: the budget's small_steps),
    ``first_steps`` for frame 0 (default ``steps``); ``progress`` shows a bar over the frames. ``motion``
    (from :func:`frame_motion`) is computed if not given, so two runs on the same frames can share it.
    The style is loaded with long side ``style_size`` (default: the frames' long side).
    """
    s = resolve_settings(settings, options)
    frames = [images.check_image(f, f"frames[{i}]") for i, f in enumerate(frames)]
    if len(frames) < 2 or len({tuple(f.shape) for f in frames}) != 1:
        raise ValueError("need >= 2 frames, all of the same shape (1, 3, H, W)")
    if not temporal_weight >= 0 or temporal_weight == float("inf"):
        raise ValueError(f"temporal_weight must be a finite number >= 0, got {temporal_weight}")
    steps = budget().small_steps if s.steps is None else s.steps
    net = s.network()
    dev = next(net.parameters()).device
    frames = [f.to(dev) for f in frames]
    motion = list(motion) if motion is not None else frame_motion(frames, s.progress)
    size = style_size or max(frames[0].shape[-2:])
    s_img = images.load(style, size=size, max_size=budget().max_size).to(dev)
    base = Objective(net, content=frames[0], style=s_img, **s.objective_options())
    loop = {**s.run_options(), "progress": False}
    result = VideoResult([], motion)
    for t in tqdm(range(len(frames)), disable=not s.progress, desc="frames"):
        objective, x0 = base.with_content(frames[t]), frames[t]
        if t > 0 and temporal_weight > 0:
            m = motion[t - 1]
            warped = warp(result.frames[-1], m.flow.to(dev)).clamp(0, 1)
            mask = m.mask.to(dev)
            objective = _Temporal(objective, warped, mask, temporal_weight)
            x0 = mask * warped + (1 - mask) * frames[t]
        start = time.perf_counter()
        frame_run = run(x0, objective, (first_steps or steps) if t == 0 else steps, **loop)
        result.seconds.append(time.perf_counter() - start)
        result.frames.append(frame_run.image)
        result.histories.append(frame_run.history)
    result.flicker = flicker(result.frames, motion)
    return result
