"""Seconds per optimization step of `nstlab.optimize.stylize` beside the plain recipe of the standard
PyTorch NST tutorial (Jacobson, "Neural Transfer Using PyTorch"), on the same weights, size and steps,
in the same process; and the fraction of this machine's measured convolution throughput achieved.

    python benchmarks/gatys.py [--size 256] [--steps 40] [--threads 2]

One step is one forward and backward pass (one L-BFGS function evaluation) in both.
"""

from __future__ import annotations

import argparse
import time

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


def run_tutorial(net, content_img, style_img, steps, style_weight=1e6, content_weight=1):
    model, style_losses, content_losses = tutorial_model(
        net, style_img, content_img, optimize.CONTENT_LAYERS, optimize.STYLE_LAYERS
    )
    input_img = content_img.clone().requires_grad_(True)
    model.eval()
    model.requires_grad_(False)
    optimizer = torch.optim.LBFGS([input_img])
    run = [0]
    start = time.perf_counter()
    while run[0] < steps:

        def closure():
            with torch.no_grad():
                input_img.clamp_(0, 1)
            optimizer.zero_grad()
            model(input_img)
            style_score = sum(sl.loss for sl in style_losses) * style_weight
            content_score = sum(cl.loss for cl in content_losses) * content_weight
            loss = style_score + content_score
            loss.backward()
            run[0] += 1
            return style_score + content_score

        optimizer.step(closure)
    return (time.perf_counter() - start) / run[0]


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
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    net = backbones.load_backbone("vgg16-hed", device="cpu")
    content = images.load("chelsea", size=args.size)
    # the tutorial's recipe needs content and style of one size
    style = F.interpolate(images.load("strokes", size=args.size), size=content.shape[-2:], mode="bilinear")

    peak = measured_peak()
    ours = optimize.stylize(content, style, backbone=net, steps=args.steps, size=args.size, progress=False)
    ours_step = ours.seconds / args.steps
    tutorial_step = run_tutorial(net, content, style, args.steps)
    flops = conv_flops(net, *content.shape[-2:], [*optimize.CONTENT_LAYERS, *optimize.STYLE_LAYERS])
    print(
        f"size {content.shape[-1]}x{content.shape[-2]}, {args.steps} steps, {args.threads} threads, "
        f"measured conv peak {peak:.0f} GFLOP/s, {flops / 1e9:.1f} GFLOP per step"
    )
    print("| recipe | s / step | GFLOP/s | fraction of peak |")
    print("| --- | --- | --- | --- |")
    for name, t in [("nstlab.optimize.stylize", ours_step), ("PyTorch tutorial recipe", tutorial_step)]:
        print(f"| {name} | {t:.3f} | {flops / t / 1e9:.0f} | {flops / t / 1e9 / peak:.0%} |")
    print(f"ratio tutorial / nstlab: {tutorial_step / ours_step:.2f}")


if __name__ == "__main__":
    main()
