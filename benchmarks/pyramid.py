"""Coarse-to-fine (image pyramid) against single-scale Gatys optimization: time to reach the same style
loss, and peak memory.

    .venv/bin/python benchmarks/pyramid.py --size 384 --steps 100

Every configuration runs in its own subprocess (fresh memory, ``torch.set_num_threads(threads)``) and
reports its loss history with timestamps and its peak resident memory (``ru_maxrss``). The target is the
style loss the single-scale run reaches after ``--steps`` L-BFGS steps at full size; for each pyramid the
table gives the time until its full-size level first reaches that loss (the coarse levels included), the
content loss at that moment, and the speed-up. A "baseline" process that only loads the backbone and the
images gives the memory floor.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def configs(size: int, steps: int) -> dict[str, dict]:
    half, quarter = size // 2, size // 4
    return {
        "baseline": {"pyramid": None, "steps": 0},
        f"single {size}": {"pyramid": None, "steps": steps},
        f"pyramid {half}-{size}": {"pyramid": [half, size], "steps": [steps, steps]},
        f"pyramid {quarter}-{half}-{size}": {
            "pyramid": [quarter, half, size],
            "steps": [steps, steps // 2, steps],
        },
    }


def worker(spec: dict) -> None:
    import resource

    import torch

    from nstlab import backbones, images, optimize

    torch.set_num_threads(spec["threads"])
    net = backbones.load_backbone("vgg16-hed", device="cpu")
    size = spec["size"]
    history = []
    if spec["steps"]:
        kw = dict(backbone=net, progress=False, style_size=size, seed=0)
        if spec["pyramid"] is None:
            result = optimize.stylize(spec["content"], spec["style"], size=size, steps=spec["steps"], **kw)
        else:
            result = optimize.stylize(
                spec["content"], spec["style"], pyramid=spec["pyramid"], steps=spec["steps"], **kw
            )
        history = [{k: h[k] for k in ("size", "style", "content", "seconds")} for h in result.history]
    else:
        images.load(spec["content"], size=size), images.load(spec["style"], size=size)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"history": history, "peak_mb": peak_mb}))


def run(name: str, spec: dict) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_to_reach(history: list[dict], size: int, target: float) -> tuple[float, float] | None:
    """(seconds, content loss) at the first full-size step whose style loss is <= target."""
    for h in history:
        if h["size"] == size and h["style"] <= target:
            return h["seconds"], h["content"]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--steps", type=int, default=100, help="single-scale steps (and per pyramid level)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--content", default="chelsea")
    parser.add_argument("--style", default="strokes")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    results = {}
    for name, cfg in configs(args.size, args.steps).items():
        spec = {
            **cfg,
            "size": args.size,
            "threads": args.threads,
            "content": args.content,
            "style": args.style,
        }
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results[name] = run(name, spec)
    single = results[f"single {args.size}"]
    target = single["history"][-1]["style"]
    t_single = single["history"][-1]["seconds"]
    base_mb = results["baseline"]["peak_mb"]
    print(
        f"\n{args.content} / {args.style}, {args.size} px long side, target style loss {target:.3g} "
        f"(single scale after {args.steps} steps), {args.threads} threads\n"
    )
    print(
        "| run | levels (steps) | time to target (s) | speed-up | content loss then | peak RSS (MB) | "
        "above baseline (MB) |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, cfg in configs(args.size, args.steps).items():
        if name == "baseline":
            continue
        r = results[name]
        reached = time_to_reach(r["history"], args.size, target)
        levels = cfg["pyramid"] or [args.size]
        steps = cfg["steps"] if isinstance(cfg["steps"], list) else [cfg["steps"]]
        desc = ", ".join(f"{s} px ({n})" for s, n in zip(levels, steps, strict=True))
        if name.startswith("single"):
            reached = (t_single, single["history"][-1]["content"])
        t, c = reached if reached else (float("nan"), float("nan"))
        speed = f"{t_single / t:.2f}x" if reached else "not reached"
        peak = r["peak_mb"]
        print(f"| {name} | {desc} | {t:.1f} | {speed} | {c:.3g} | {peak:.0f} | {peak - base_mb:.0f} |")
    print(f"| baseline (backbone + images loaded) | - | - | - | - | {base_mb:.0f} | 0 |")


if __name__ == "__main__":
    main()
