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
from collections import Counter

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def configs(size: int, steps: int) -> dict[str, dict]:
    """Single scale against pyramids whose coarse levels get fewer, as many or more steps than the full-size
    run, or stop once their loss flattens (``pyramid_tol``); every full-size level may run ``steps``."""
    half, quarter = size // 2, size // 4
    return {
        "baseline": {"pyramid": None, "steps": 0},
        f"single {size}": {"pyramid": None, "steps": steps},
        f"pyramid {half}-{size}, coarse 30": {"pyramid": [half, size], "steps": [30, steps]},
        f"pyramid {half}-{size}, coarse {steps}": {"pyramid": [half, size], "steps": [steps, steps]},
        f"pyramid {half}-{size}, coarse {2 * steps}": {"pyramid": [half, size], "steps": [2 * steps, steps]},
        f"pyramid {half}-{size}, coarse until flat (tol 0.05)": {
            "pyramid": [half, size],
            "steps": [2 * steps, steps],
            "pyramid_tol": 0.05,
        },
        f"pyramid {quarter}-{half}-{size}, coarse {steps}-{steps}": {
            "pyramid": [quarter, half, size],
            "steps": [steps, steps, steps],
        },
    }


class _Reached(Exception):
    """Raised by the callback once the full-size level reaches the target style loss (ends the run)."""


def worker(spec: dict) -> None:
    import resource

    import torch

    from nstlab import backbones, images, optimize

    torch.set_num_threads(spec["threads"])
    net = backbones.load_backbone("vgg16-hed", device="cpu")
    size, history = spec["size"], []

    def record(step: int, img, h: dict) -> None:
        history.append(
            {"size": h.get("size", float(size)), **{k: h[k] for k in ("style", "content", "seconds")}}
        )
        if spec.get("target") is not None and history[-1]["size"] == size and h["style"] <= spec["target"]:
            raise _Reached

    if spec["steps"]:
        kw = dict(backbone=net, progress=False, style_size=size, seed=0, callback=record, callback_every=1)
        if spec["pyramid"] is None:
            kw["size"] = size
        else:
            kw.update(pyramid=spec["pyramid"], pyramid_tol=spec.get("pyramid_tol"))
        try:
            optimize.stylize(spec["content"], spec["style"], steps=spec["steps"], **kw)
        except _Reached:
            pass
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


def time_to_reach(history: list[dict], size: int, target: float) -> tuple[float, float, float] | None:
    """(seconds, content loss, work) at the first full-size step whose style loss is <= target; work counts
    steps in full-size equivalents, (level / size)^2 per step (a step's FLOPs scale with the pixels), so it
    does not depend on the machine's load as the seconds do."""
    work = 0.0
    for h in history:
        work += (h["size"] / size) ** 2
        if h["size"] == size and h["style"] <= target:
            return h["seconds"], h["content"], work
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
    parser.add_argument(
        "--skip", nargs="*", default=[], help="leave out the configurations whose name contains any of these"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    chosen = {
        name: cfg
        for name, cfg in configs(args.size, args.steps).items()
        if name in ("baseline", f"single {args.size}") or not any(word in name for word in args.skip)
    }
    results, target = {}, None
    for name, cfg in chosen.items():  # the single-scale run first sets the target
        spec = {
            **cfg,
            "size": args.size,
            "threads": args.threads,
            "content": args.content,
            "style": args.style,
        }
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results[name] = run(name, {**spec, "target": target})
        if name.startswith("single"):
            target = results[name]["history"][-1]["style"]
    single = results[f"single {args.size}"]
    t_single = single["history"][-1]["seconds"]
    base_mb = results["baseline"]["peak_mb"]
    print(
        f"\n{args.content} / {args.style}, {args.size} px long side, target style loss {target:.3g} "
        f"(single scale after {args.steps} steps), {args.threads} threads\n"
    )
    print(
        "| run | levels (steps run) | work to target (full-size steps) | speed-up by work "
        "| time to target (s) | speed-up by time | content loss then | peak RSS (MB) | above baseline (MB) |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in chosen:
        if name == "baseline":
            continue
        r = results[name]
        reached = time_to_reach(r["history"], args.size, target)
        ran = Counter(int(h["size"]) for h in r["history"])  # steps run per level (until the target)
        desc = ", ".join(f"{s} px ({n})" for s, n in ran.items())
        if name.startswith("single"):
            reached = (t_single, single["history"][-1]["content"], float(len(single["history"])))
        t, c, w = reached if reached else (float("nan"),) * 3
        w_single = float(len(single["history"]))
        speed = f"{w_single / w:.2f}x | {t:.1f} | {t_single / t:.2f}x" if reached else "not reached | - | -"
        peak = r["peak_mb"]
        print(f"| {name} | {desc} | {w:.1f} | {speed} | {c:.3g} | {peak:.0f} | {peak - base_mb:.0f} |")
    print(f"| baseline (backbone + images loaded) | - | - | - | - | - | - | {base_mb:.0f} | 0 |")


if __name__ == "__main__":
    main()
