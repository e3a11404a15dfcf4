"""Video style transfer: flicker and time per frame, per-frame transfer against Ruder et al.'s temporal loss.

    .venv/bin/python benchmarks/video.py --size 128 --frames 8 --steps 30

The frames are a smooth pan and zoom over a bundled photo (``video.pan_zoom_frames``). Both runs use the
same frames, the same optical flow and occlusion masks (TV-L1, computed once and timed separately), the
same style and the same number of L-BFGS steps per frame. Flicker is ``video.flicker``: the mean absolute
difference between each stylized frame and the previous one warped by the flow, over non-occluded pixels
(values in [0, 1]). The content frames' own flicker shows the floor set by flow and interpolation errors.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--content", default="astronaut")
    parser.add_argument("--style", default="strokes")
    parser.add_argument("--temporal-weight", type=float, default=None)
    parser.add_argument("--gif", default=None, help="folder to write both results as animated GIFs")
    args = parser.parse_args()

    import torch

    from nstlab import backbones, video

    torch.set_num_threads(args.threads)
    net = backbones.load_backbone("vgg16-hed", device="cpu")
    frames = video.pan_zoom_frames(args.content, n_frames=args.frames, size=args.size)
    start = time.perf_counter()
    motion = video.frame_motion(frames)
    flow_s = (time.perf_counter() - start) / (len(frames) - 1)
    weight = video.DEFAULT_TEMPORAL_WEIGHT if args.temporal_weight is None else args.temporal_weight
    runs = {}
    for name, w in (("per-frame", 0.0), (f"temporal loss (weight {weight:g})", weight)):
        runs[name] = video.stylize_video(
            frames,
            args.style,
            temporal_weight=w,
            motion=motion,
            backbone=net,
            steps=args.steps,
            progress=False,
        )
        if args.gif:
            video.save_gif(runs[name].frames, os.path.join(args.gif, f"{name.split()[0]}.gif"))
    h, w_ = frames[0].shape[-2:]
    print(
        f"\n{args.frames} frames of {w_}x{h} px ({args.content}, pan + zoom), style {args.style}, "
        f"{args.steps} L-BFGS steps per frame, {args.threads} threads\n"
    )
    print("| run | flicker | vs per-frame | s / frame (stylize) | s / frame (flow, both ways) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| content frames (floor) | {video.flicker(frames, motion):.4f} | - | - | - |")
    base = runs["per-frame"].flicker
    for name, r in runs.items():
        flow = f"{flow_s:.2f}" if name != "per-frame" else "-"
        print(f"| {name} | {r.flicker:.4f} | {r.flicker / base:.2f}x | {r.seconds_per_frame:.2f} | {flow} |")


if __name__ == "__main__":
    main()
