"""Seconds per optimization step of `nstlab.optimize.stylize` beside the plain recipe of the standard
PyTorch NST tutorial (Jacobson, "Neural Transfer Using PyTorch"), on the same weights, size and steps,
in the same process; and the fraction of this machine's measured convolution throughput achieved.

    python benchmarks/gatys.py [--size 256] [--steps 30] [--rounds 3] [--threads 2]

One step is one forward and backward pass (one function evaluation) in both, with Adam and with L-BFGS
(the tutorial's loop is kept and only its optimizer swapped for Adam). The two recipes run alternately,
``--rounds`` times each, and the ratio is the median of the per-round ratios, so a change in the
machine's load between runs affects both sides.
"""

from __future__ import annotations

import argparse
import statistics
import time
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from nstlab import backbones, images, optimize


# ---- the tutorial's recipe, as published (modules inserted after the chosen layers) ------------------
def gram_matrix(x):
    a, b, c, d = x.size()
    features = x.view(a * b, c * d)
    G = torch.mm(features, features.t())
    return G.div(a * b * c * d)


class ContentLoss(nn.Module):
    def __init__(self, target):
        super().__init__()
        self.target = target.detach()

    def forward(self, x):
        self.loss = F.mse_loss(x, self.target)
        return x


class StyleLoss(nn.Module):
    def __init__(self, target_feature):
        super().__init__()
        self.target = gram_matrix(target_feature).detach()

    def forward(self, x):
        self.loss = F.mse_loss(gram_matrix(x), self.target)
        return x


class Normalization(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, img):
        return self.net.preprocess(img)


def tutorial_model(net, style_img, content_img, content_layers, style_layers):
    model = nn.Sequential(Normalization(net))
    content_losses, style_losses = [], []
    last = max(net.layer_names.index(n) for n in [*content_layers, *style_layers])
    for name in net.layer_names[: last + 1]:
        model.add_module(name, net.layers[name])
        if name in content_layers:
            cl = ContentLoss(model(content_img))
            model.add_module(f"content_loss_{name}", cl)
            content_losses.append(cl)
        if name in style_layers:
            sl = StyleLoss(model(style_img))
            model.add_module(f"style_loss_{name}", sl)
            style_losses.append(sl)
    return model, style_losses, content_losses


def run_tutorial(net, content_img, style_img, steps, optimizer="lbfgs", style_weight=1e6, content_weight=1):
    """Seconds per function evaluation of the tutorial's loop (its L-BFGS, or the same loop with Adam)."""
    model, style_losses, content_losses = tutorial_model(
        net, style_img, content_img, optimize.CONTENT_LAYERS, optimize.STYLE_LAYERS
    )
    input_img = content_img.clone().requires_grad_(True)
    model.eval()
    model.requires_grad_(False)
    opt = torch.optim.LBFGS([input_img]) if optimizer == "lbfgs" else torch.optim.Adam([input_img], lr=0.02)
    run = [0]
    start = time.perf_counter()
    while run[0] < steps:

        def closure():
            with torch.no_grad():
                input_img.clamp_(0, 1)
            opt.zero_grad()
            model(input_img)
            style_score = sum(sl.loss for sl in style_losses) * style_weight
            content_score = sum(cl.loss for cl in content_losses) * content_weight
            loss = style_score + content_score
            loss.backward()
            run[0] += 1
            return style_score + content_score

        opt.step(closure)
    return (time.perf_counter() - start) / run[0]


# The recipe's objective is content + style only; stylize's default adds total variation and the floors.
SAME_OBJECTIVE = {"tv_weight": 0.0, "luminance_floor": None, "edge_floor": None}


def run_nstlab(net, content_img, style_img, steps, optimizer="lbfgs", **objective):
    """Seconds per step of ``optimize.stylize`` (one function evaluation per step with either optimizer)."""
    size = max(content_img.shape[-2:])
    result = optimize.stylize(
        content_img,
        style_img,
        backbone=net,
        steps=steps,
        size=size,
        optimizer=optimizer,
        progress=False,
        **objective,
    )
    return result.seconds / steps


# ---- FLOPs and the machine's conv throughput -----------------------------------------------------------
def conv_flops(net, h, w, layers) -> float:
    """Multiply-adds x 2 of the convolutions up to the deepest layer, forward + input-gradient backward."""
    last = max(net.layer_names.index(n) for n in layers)
    total = 0.0
    for name in net.layer_names[: last + 1]:
        module = net.layers[name]
        if isinstance(module, nn.Conv2d):
            total += 2 * module.in_channels * module.out_channels * 9 * h * w
        elif isinstance(module, nn.MaxPool2d):
            h, w = -(-h // 2), -(-w // 2)
    return 2 * total


def measured_peak() -> float:
    """Best GFLOP/s of a 3x3 convolution forward over VGG-like shapes (the machine's conv throughput)."""
    best = 0.0
    with torch.no_grad():
        for c, s in [(64, 128), (128, 64), (256, 32), (512, 16)]:
            conv, x = nn.Conv2d(c, c, 3, padding=1), torch.rand(1, c, s, s)
            conv(x)
            n, start = 10, time.perf_counter()
            for _ in range(n):
                conv(x)
            dt = (time.perf_counter() - start) / n
            best = max(best, 2 * c * c * 9 * s * s / dt / 1e9)
    return best


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--rounds", type=int, default=3, help="alternating runs of each recipe per optimizer")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    net = backbones.load_backbone("vgg16-hed", device="cpu")
    content = images.load("chelsea", size=args.size)
    # the tutorial's recipe needs content and style of one size
    style = F.interpolate(images.load("strokes", size=args.size), size=content.shape[-2:], mode="bilinear")

    peak = measured_peak()
    flops = conv_flops(net, *content.shape[-2:], [*optimize.CONTENT_LAYERS, *optimize.STYLE_LAYERS])
    print(
        f"size {content.shape[-1]}x{content.shape[-2]}, {args.steps} steps x {args.rounds} rounds, "
        f"{args.threads} threads, measured conv peak {peak:.0f} GFLOP/s, {flops / 1e9:.1f} GFLOP per step\n"
    )
    print("| optimizer | run | s / step (median of rounds) | GFLOP/s | fraction of peak | / recipe |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    names = ("stylize, the recipe's objective", "stylize, default objective (+ TV, floors)", "the recipe")
    for opt in ("adam", "lbfgs"):
        times: dict[str, list[float]] = {name: [] for name in names}
        for r in range(args.rounds):  # rotate the order, so a change in machine load hits every recipe
            runs = [
                partial(run_nstlab, net, content, style, args.steps, opt, **SAME_OBJECTIVE),
                partial(run_nstlab, net, content, style, args.steps, opt),
                partial(run_tutorial, net, content, style, args.steps, opt),
            ]
            for k in range(3):
                i = (k + r) % 3
                times[names[i]].append(runs[i]())
        for name in names:
            step = statistics.median(times[name])
            ratio = statistics.median(o / t for o, t in zip(times[name], times[names[-1]], strict=True))
            cells = f"{step:.3f} | {flops / step / 1e9:.0f} | {flops / step / 1e9 / peak:.0%}"
            print(f"| {opt} | {name} | {cells} | {ratio:.3f} |")


if __name__ == "__main__":
    main()
