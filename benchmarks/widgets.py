"""Benchmark of the instructor widgets (nstlab.widgets): how long one slider move takes with cached features.

Run from the repository root:  .venv/bin/python benchmarks/widgets.py [--size 256] [--repeat 9]
Prints a markdown table for benchmarks/README.md. Goal (DESIGN.md, budgets): statistics and plots of the
AdaIN and WCT sliders under 150 ms at 256 px.

A slider move in Jupyter costs ``update(...)`` (statistics, then drawing into the reused figure; what
``widget()`` calls) plus rendering that figure to PNG for the browser; both are timed. Each demo's slider
runs through a list of values (a real drag), the median and best over ``--repeat`` moves are reported,
after one warm-up move. The one-time setup (encoding content and style) is shown separately.
OMP_WAIT_POLICY=PASSIVE is set before torch is imported (see benchmarks/stats.py for why).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("MPLBACKEND", "Agg")

import argparse
import itertools
import platform
import statistics
import time
from collections.abc import Callable

import torch

from nstlab import backbones, widgets

THREADS = 2


def moves(step: Callable[[dict], widgets.View], values: list[dict], repeat: int) -> dict[str, float]:
    """Median and best ms of update and of PNG rendering over ``repeat`` slider moves (after a warm-up)."""
    cycle = itertools.cycle(values)
    step(next(cycle)).png()
    upd, png = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        view = step(next(cycle))
        t1 = time.perf_counter()
        view.png()
        t2 = time.perf_counter()
        upd.append(t1 - t0)
        png.append(t2 - t1)
    total = [a + b for a, b in zip(upd, png, strict=True)]
    ms = 1000.0
    return {
        "update": statistics.median(upd) * ms,
        "png": statistics.median(png) * ms,
        "total": statistics.median(total) * ms,
        "best": min(total) * ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="long side of content and style, pixels")
    parser.add_argument("--repeat", type=int, default=9, help="slider moves timed per demo")
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    net = backbones.load_backbone("vgg16-hed", device="cpu")
    rows = []

    t0 = time.perf_counter()
    adain = widgets.AdaINDemo("chelsea", "strokes", backbone=net, layer="relu3_1", size=args.size)
    setup = time.perf_counter() - t0
    alphas = [{"alpha": a / 10} for a in range(11)]
    r = moves(lambda v: adain.update(**v, reuse=True), alphas, args.repeat)
    c, n = adain.content.shape[1], adain.content[0, 0].numel()
    rows.append(("AdaINDemo alpha", f"relu3_1, C={c}, N={n}", setup, r))

    t0 = time.perf_counter()
    wct = widgets.WCTDemo("chelsea", "strokes", backbone=net, layer="relu3_1", size=args.size)
    setup = time.perf_counter() - t0
    eps_alpha = [
        {"eps": 10.0**e, "alpha": a} for e, a in zip(range(-6, 2), (1.0, 0.9, 0.8, 0.7) * 2, strict=True)
    ]
    r = moves(lambda v: wct.update(**v, reuse=True), eps_alpha, args.repeat)
    c, n = wct.content.shape[1], wct.content[0, 0].numel()
    rows.append(("WCTDemo eps, alpha", f"relu3_1, C={c}, N={n}", setup, r))

    t0 = time.perf_counter()
    shrink = widgets.ShrinkageDemo(torch.randn(64, 96, generator=torch.Generator().manual_seed(0)))
    setup = time.perf_counter() - t0
    r = moves(lambda v: shrink.update(**v), [{"lam": x / 10} for x in range(11)], args.repeat)
    rows.append(("ShrinkageDemo lam", "C=64, N=96 (new figure)", setup, r))

    t0 = time.perf_counter()
    board = widgets.CheckerboardDemo(size=64)
    setup = time.perf_counter() - t0
    ks = [{"kernel_size": k, "stride": s} for k in (3, 4, 5) for s in (1, 2, 3)]
    r = moves(lambda v: board.update(**v), ks, args.repeat)
    rows.append(("CheckerboardDemo k, s", "64 px (new figure)", setup, r))

    t0 = time.perf_counter()
    layers = widgets.LayerChoiceDemo(net, content="chelsea", style="strokes")
    setup = time.perf_counter() - t0
    r = moves(lambda v: layers.update(**v), [{"layer_set": s} for s in layers.layer_sets], args.repeat)
    rows.append(("LayerChoiceDemo set", "no frames (new figure)", setup, r))

    print(
        f"torch {torch.__version__}, {THREADS} threads, {platform.processor() or platform.machine()}, "
        f"load average {os.getloadavg()[0]:.1f}, size {args.size} px, {args.repeat} moves per demo\n"
    )
    print(
        "| demo, control | features | setup s | update ms (median) | PNG ms (median) | "
        "move ms (median) | move ms (best) |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, feats, setup, r in rows:
        print(
            f"| {name} | {feats} | {setup:.2f} | {r['update']:.0f} | {r['png']:.0f} | "
            f"{r['total']:.0f} | {r['best']:.0f} |"
        )


if __name__ == "__main__":
    main()
