"""Do the defaults of `nstlab.optimize.stylize` keep the content for any style? (issue 13.1)

    .venv/bin/python benchmarks/quality.py --configs before defaults --log quality.jsonl   # run the panel
    .venv/bin/python benchmarks/quality.py --report --log quality.jsonl                    # print the tables

Every style of the panel (the bundled procedural styles and textures plus the `images.PATTERNS`: bands,
dots, checkers, noise, flat colour fields, marble) is transferred onto every photo at every size with each
configuration, and two numbers are measured that do not come from the backbone being optimized:

- **content kept**: SSIM (Wang et al. 2004, "Image Quality Assessment: From Error Visibility to Structural
  Similarity"; ``skimage.metrics.structural_similarity``, 7x7 windows) between the Rec. 601 grey levels
  of the result and of the content photo. 1 = the same picture; below about 0.15 the person, the cat or
  the cup can no longer be made out.
- **style arrived**: the Gram-matrix distance to the style image in a seeded random convolutional net
  (four 3x3 conv + ReLU layers, 32-256 channels, average pooling between them; Kaiming-normal weights),
  sum over layers of ||G_l(x) - G_l(s)||_F^2 / ||G_l(s)||_F^2, divided by the same distance for the content
  photo itself. 1.0 = no style arrived, 0 = the style's statistics exactly. Random filters capture
  texture statistics well (Ustyuzhaninov et al. 2017, "What does it take to generate natural
  textures?"), and a measure in another network cannot be gamed by the optimization.

Configurations are named keyword sets of `stylize` (`CONFIGS`; "before" pins the defaults as they were
before issue 13, "defaults" is whatever the library's defaults are now). Each run also records both
measures at intermediate steps (``--checkpoints``), so one run shows whether fewer steps would give the
same conclusion. Results go to a JSON-lines log, one line per checkpoint; a rerun skips finished runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
from skimage.metrics import structural_similarity  # noqa: E402
from torch import Tensor, nn  # noqa: E402

from nstlab import color, images, losses, optimize  # noqa: E402

PHOTOS = ("astronaut", "chelsea", "coffee")
STYLES = (*images.STYLES, *images.TEXTURES, *images.PATTERNS)
SIZES = (192, 256)
SSIM_GOAL = 0.15
CONFIGS: dict[str, dict] = {
    "before": {
        "content_layers": ("relu4_2",),
        "style_weight": 1e2,
        "tv_weight": 1.0,
        "optimizer": "lbfgs",
        "lr": 1.0,
        "max_step": None,
        "luminance_floor": None,
        "edge_floor": None,
    },
    "defaults": {},
    # candidates tried while choosing the new defaults (see benchmarks/README.md)
    "relu4_2 beta=30": {"content_layers": ("relu4_2",), "style_weight": 30.0},
    "relu2_2+relu4_2": {"content_layers": ("relu2_2", "relu4_2"), "style_weight": 1e2},
    "relu3_2+relu4_2": {"content_layers": ("relu3_2", "relu4_2"), "style_weight": 1e2},
}

# ----------------------------------------------------------------------------------------------------
# The two measures
# ----------------------------------------------------------------------------------------------------

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def random_net(seed: int = 0, widths: tuple[int, ...] = (32, 64, 128, 256)) -> nn.ModuleList:
    """Conv 3x3 + ReLU blocks with Kaiming-normal weights and zero biases; 2x2 average pooling before every
    block after the first. Not VGG's weights, not trained: a yardstick independent of the optimization."""
    g = torch.Generator().manual_seed(seed)
    blocks, c_in = nn.ModuleList(), 3
    for i, c_out in enumerate(widths):
        conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        with torch.no_grad():
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * (2.0 / (9 * c_in)) ** 0.5)
            conv.bias.zero_()
        blocks.append(nn.Sequential(*([nn.AvgPool2d(2)] if i else []), conv, nn.ReLU()))
        c_in = c_out
    return blocks.requires_grad_(False).eval()


@torch.no_grad()
def grams(net: nn.ModuleList, img: Tensor) -> list[Tensor]:
    x, out = (img.cpu().float() - IMAGENET_MEAN) / IMAGENET_STD, []
    for block in net:
        x = block(x)
        F = x.flatten(2)
        out.append(F @ F.transpose(1, 2) / F.shape[-1])
    return out


def gram_distance(G: list[Tensor], Gs: list[Tensor]) -> float:
    """sum_l ||G_l - G_l(s)||_F^2 / ||G_l(s)||_F^2."""
    return float(sum((a - b).pow(2).sum() / b.pow(2).sum() for a, b in zip(G, Gs, strict=True)))


def ssim(result: Tensor, content: Tensor) -> float:
    """Grey-level (Rec. 601) SSIM of two images in [0, 1], skimage's defaults (7x7 uniform windows)."""
    grey = [color.luminance(x.cpu().float())[0, 0].double().numpy() for x in (result, content)]
    return float(structural_similarity(grey[0], grey[1], data_range=1.0))


# ----------------------------------------------------------------------------------------------------
# Runs
# ----------------------------------------------------------------------------------------------------


def run_one(
    net, judge, config: str, photo: str, style: str, size: int, steps: int, every: int, save: Path | None
) -> list[dict]:
    """One stylization with measurements at every ``every`` steps and at the end; the result goes to
    ``save/config/photo_style_size.png`` when ``save`` is given. Every step also tracks the lowest
    correlations so far of the result's luminance and luminance gradients with the content's (``min_rho``,
    ``min_rho_edges``): a run in which they never fell below the floors of ``optimize.Objective`` runs
    identically with the floors (their penalties and gradients are exactly zero), so "defaults" reuses it
    (see :func:`reuse_unchanged`)."""
    content, style_img = images.load(photo, size=size), images.load(style, size=size)
    Gs = grams(judge, style_img)
    d_content = gram_distance(grams(judge, content), Gs)
    y_content = color.luminance(content)
    rows: list[dict] = []
    lowest, start = {"min_rho": 1.0, "min_rho_edges": 1.0}, time.perf_counter()

    def measure(step: int, img: Tensor, record: dict) -> None:
        rho = floor_correlations(img, y_content)
        lowest.update({k: min(lowest[k], v) for k, v in zip(lowest, rho, strict=True)})
        if step % every and step != steps:
            return
        rows.append(
            {
                "config": config, "photo": photo, "style": style, "size": size, "step": step,
                "ssim": ssim(img, content), "style_rel": gram_distance(grams(judge, img), Gs) / d_content,
                "rho": rho[0], "rho_edges": rho[1], **lowest,
                "seconds": time.perf_counter() - start, "style_loss": record["style"],
                "content_loss": record["content"],
            }
        )  # fmt: skip

    kw = {**CONFIGS[config], "steps": steps, "callback": measure, "callback_every": 1}
    result = optimize.stylize(photo, style, backbone=net, size=size, progress=False, **kw)
    if save is not None:
        images.save(result.image, save / config.replace(" ", "_") / f"{photo}_{style}_{size}.png")
    return rows


def floor_correlations(img: Tensor, y_content: Tensor) -> tuple[float, float]:
    """The correlations the floors of ``optimize.Objective`` watch: luminance, and luminance gradients."""
    y = color.luminance(img)
    grads = losses.gradients(y), losses.gradients(y_content)
    return float(losses.correlation(y, y_content)), float(losses.correlation(*grads))


def reuse_unchanged(log: Path, steps: int) -> int:
    """Copy "before" runs whose correlations never fell below the floors to "defaults" (same computation,
    bit for bit: "defaults" differs from "before" only by the floors). Returns how many were copied."""
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.exists() else []
    finals = {
        (r["photo"], r["style"], r["size"]) for r in rows if r["config"] == "defaults" and r["step"] == steps
    }
    unchanged = [
        r
        for r in rows
        if r["config"] == "before"
        and r.get("min_rho", -1) >= optimize.LUMINANCE_FLOOR
        and r.get("min_rho_edges", -1) >= optimize.EDGE_FLOOR
        and (r["photo"], r["style"], r["size"]) not in finals
    ]
    keys = {(r["photo"], r["style"], r["size"]) for r in unchanged if r["step"] == steps}
    with log.open("a") as f:
        f.writelines(
            json.dumps({**r, "config": "defaults", "reused": True}) + "\n"
            for r in unchanged
            if (r["photo"], r["style"], r["size"]) in keys
        )
    return len(keys)


def done_runs(log: Path, steps: int) -> set[tuple]:
    if not log.exists():
        return set()
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return {(r["config"], r["photo"], r["style"], r["size"]) for r in rows if r["step"] == steps}


def run_panel(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    net = optimize.load_backbone("vgg16-hed", device="cpu")
    judge = random_net(seed=0)
    log = Path(args.log[0])
    if "defaults" in args.configs:
        print(f"reused {reuse_unchanged(log, args.steps)} unchanged runs for defaults", file=sys.stderr)
    finished = done_runs(log, args.steps)
    todo = [
        (c, p, s, z)
        for z in args.sizes
        for c in args.configs
        for p in args.photos
        for s in args.styles
        if (c, p, s, z) not in finished
    ]
    for i, (c, p, s, z) in enumerate(todo, start=1):
        rows = run_one(net, judge, c, p, s, z, args.steps, args.every, args.images and Path(args.images))
        with log.open("a") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
        last = rows[-1]
        print(
            f"[{i}/{len(todo)}] {c} | {p}/{s}@{z}: SSIM {last['ssim']:.3f}, style {last['style_rel']:.3f} "
            f"({last['seconds']:.0f} s)",
            file=sys.stderr,
            flush=True,
        )


# ----------------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------------


def load_rows(logs: list[str], step: int) -> list[dict]:
    rows = [json.loads(line) for log in logs for line in Path(log).read_text().splitlines() if line.strip()]
    return [r for r in rows if r["step"] == step]


def summary(rows: list[dict], configs: list[str]) -> list[str]:
    out = [
        "| configuration | runs | min SSIM | pairs with SSIM < 0.15 | median SSIM | median style (rel.) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in configs:
        rs = [r for r in rows if r["config"] == c]
        if not rs:
            continue
        ssims, styles = [r["ssim"] for r in rs], [r["style_rel"] for r in rs]
        worst = min(rs, key=lambda r: r["ssim"])
        low = sum(v < SSIM_GOAL for v in ssims)
        out.append(
            f"| {c} | {len(rs)} | {min(ssims):.3f} ({worst['photo']}/{worst['style']}@{worst['size']}) | "
            f"{low} | {statistics.median(ssims):.3f} | {statistics.median(styles):.3f} |"
        )
    return out


def per_style(rows: list[dict], configs: list[str], size: int) -> list[str]:
    head = " | ".join(f"{c}: SSIM min / style median" for c in configs)
    out = [f"| style ({size} px, min over photos) | {head} |", "| --- |" + " ---: |" * len(configs)]
    for s in dict.fromkeys(r["style"] for r in rows):
        cells = []
        for c in configs:
            rs = [r for r in rows if r["config"] == c and r["style"] == s and r["size"] == size]
            ok = rs and min(r["ssim"] for r in rs)
            cells.append(f"{ok:.3f} / {statistics.median(r['style_rel'] for r in rs):.3f}" if rs else "-")
        out.append(f"| {s} | " + " | ".join(cells) + " |")
    return out


def report(args: argparse.Namespace) -> None:
    rows = load_rows(args.log, args.steps)
    configs = [c for c in args.configs if any(r["config"] == c for r in rows)]
    print(f"\n{args.steps} steps; SSIM goal >= {SSIM_GOAL}; style: random-net Gram distance / content's\n")
    print("\n".join(summary(rows, configs)))
    for size in sorted({r["size"] for r in rows}):
        print()
        print("\n".join(per_style(rows, configs, size)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", nargs="+", default=["before", "defaults"], choices=list(CONFIGS))
    p.add_argument("--photos", nargs="+", default=list(PHOTOS))
    p.add_argument("--styles", nargs="+", default=list(STYLES))
    p.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    p.add_argument("--steps", type=int, default=120, help="L-BFGS steps (the laptop budget's)")
    p.add_argument("--every", type=int, default=30, help="measure every this many steps too")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument(
        "--log", nargs="+", default=["quality.jsonl"], help="JSON-lines log(s); runs append to the first"
    )
    p.add_argument("--images", default=None, help="folder for the result images (one PNG per run)")
    p.add_argument("--report", action="store_true", help="print the tables of a finished log")
    args = p.parse_args()
    report(args) if args.report else run_panel(args)


if __name__ == "__main__":
    main()
