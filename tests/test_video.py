"""Video: frames, optical flow, warping, occlusions, flicker, and the temporal loss (Ruder et al. 2016)."""

import numpy as np
import pytest
import torch
from PIL import Image

from nstlab import images, video


def _smooth(h=48, w=64, seed=0):
    """A smooth random picture (blurred noise) whose motion optical flow can recover."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 3, h // 8, w // 8, generator=g)
    return torch.nn.functional.interpolate(x, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)


def test_warp_by_a_whole_pixel_flow_is_a_shift():
    img = torch.rand(1, 3, 20, 30)
    flow = torch.zeros(1, 2, 20, 30)
    flow[:, 0], flow[:, 1] = 2.0, -3.0  # out(r) = img(r + (2, -3))
    out = video.warp(img, flow)
    torch.testing.assert_close(out[..., :-2, 3:], img[..., 2:, :-3])


def test_tvl1_flow_recovers_a_known_shift_and_the_mask_marks_what_leaves_the_frame():
    big = _smooth(60, 80)
    prev, now = big[..., 4:52, 4:68], big[..., 5:53, 6:70]  # camera moves (1, 2): now(r) = prev(r + (1, 2))
    back = video.optical_flow(now, prev)
    inner = back[..., 8:-8, 8:-8]
    assert float(inner[:, 0].median()) == pytest.approx(1.0, abs=0.25)
    assert float(inner[:, 1].median()) == pytest.approx(2.0, abs=0.25)
    mask = video.consistency_mask(back, video.optical_flow(prev, now))
    assert float(mask[..., 8:-8, 8:-8].mean()) > 0.95  # consistent inside
    assert float(mask[..., :, -1].mean()) < 0.2  # r + w(r) leaves the frame on the right edge


def test_flicker_is_zero_for_a_still_sequence_and_grows_with_noise():
    still = [_smooth()] * 3
    motion = video.frame_motion(still)
    assert video.flicker(still, motion) == pytest.approx(0.0, abs=1e-6)
    g = torch.Generator().manual_seed(1)
    noisy = [(f + 0.1 * torch.randn(f.shape, generator=g)).clamp(0, 1) for f in still]
    assert video.flicker(noisy, motion) > 0.05


def test_pan_zoom_frames_folders_and_gif(tmp_path):
    frames = video.pan_zoom_frames("coffee", n_frames=4, size=40)
    assert len(frames) == 4 and all(f.shape == frames[0].shape for f in frames)
    assert max(frames[0].shape[-2:]) == 40 and not torch.equal(frames[0], frames[-1])
    for i, f in enumerate(frames):
        images.save(f, tmp_path / f"frame_{i:03d}.png")
    loaded = video.load_frames(tmp_path)
    assert len(loaded) == 4 and torch.allclose(loaded[2], frames[2], atol=1 / 255)
    path = video.save_gif(frames, tmp_path / "out" / "clip.gif", fps=5)
    with Image.open(path) as gif:
        assert gif.n_frames == 4
    with pytest.raises(ValueError, match="need 2"):
        video.load_frames(tmp_path / "out")


@pytest.mark.slow
def test_temporal_loss_lowers_flicker_against_per_frame_transfer(hed):
    """Same frames, same steps: Ruder et al.'s temporal loss (and warped init) is steadier than per-frame."""
    frames = video.pan_zoom_frames("chelsea", n_frames=4, size=48)
    motion = video.frame_motion(frames)
    kw = dict(backbone=hed, steps=10, motion=motion, progress=False)
    per_frame = video.stylize_video(frames, "strokes", temporal_weight=0, **kw)
    temporal = video.stylize_video(frames, "strokes", **kw)
    assert temporal.flicker < 0.6 * per_frame.flicker, (temporal.flicker, per_frame.flicker)
    assert np.isclose(temporal.flicker, video.flicker(temporal.frames, motion))
    assert "temporal" in temporal.histories[1][-1] and "temporal" not in per_frame.histories[1][-1]
