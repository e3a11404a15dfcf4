"""Training the distilled student of the fast path (:class:`nstlab.decoders.Student`; Wang et al. 2020,
"Collaborative Distillation for Ultra-Resolution Universal Style Transfer", CVPR): a network with
vgg16-hed's shape up to ``relu3_1`` and :data:`~nstlab.decoders.STUDENT_WIDTH` of its channels, and one
reconstruction decoder per cascade level, trained together on

    L = sum_l ||g_l(E_l(x)) - x||^2  +  beta sum_l ||W_l E_l(x) - F_l(x)||^2 / ||F_l(x)||^2,

squared norms as means over entries, l over the cascade's levels, E_l the student's features, F_l the
frozen teacher's (vgg16-hed) and W_l a learned 1x1 convolution from the student's C_s channels to the
teacher's C_t: the linear embedding loss of Wang et al., here normalized per level. Wang et al. decode
W E(x) with the teacher's frozen decoder and train small decoders afterwards; here each level's decoder
is trained with the student from the start. The first term makes g_l invert E_l (the reconstruction
decoders of Li et al. 2017, "Universal Style Transfer via Feature Transforms", one per level of the
cascade); the second makes the teacher's features a linear image of the student's, so the student keeps
what the teacher encodes rather than whatever is easiest to decode.

Why a linear embedding is enough for WCT (and, for AdaIN, the means): they act on feature statistics,
and if F = W E + b then mean(F) = W mean(E) + b and cov(F) = W cov(E) W^T. WCT gives E(c) the style's
mean and covariance in the student's space, so W E(c) then has W cov(E(s)) W^T = cov(F(s)): the style
statistics of the teacher's space, reached in C_s instead of C_t dimensions, up to the part of F outside
W's range (W cov(E) W^T has rank <= C_s). AdaIN matches per-channel moments; the means carry over
exactly, but W mixes channels, so the teacher's per-channel stds are matched only approximately.

Training is resumable (the checkpoint holds the models, the optimizer and the random generator, as
:func:`nstlab.decoder_training.train_decoder`'s) and shows progress; :func:`export_student` writes a run
as fp16 weights with a json record (sha256, the exact command, the loss curve, the measured numbers).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as nnf
from torch import Tensor
from tqdm.auto import tqdm

from . import images
from ._features import check_choice
from .backbones import Backbone, load_backbone
from .decoder_training import (
    CONTENT_POOLS,
    TrainConfig,
    load_checkpoint,
    random_crops,
    random_hues,
    training_contents,
    write_loss_curve,
)
from .decoders import STUDENT_WIDTH, Student
from .validation import (
    Fraction,
    ImageSide,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    check_fields,
    checked,
)
from .weights import sha256

__all__ = [
    "DistillLosses",
    "distill_loss",
    "DistillConfig",
    "train_student",
    "embedding_r2",
    "export_student",
]

LOSS_KEYS = ("total", "embed", "pixel")


class DistillLosses(NamedTuple):
    """The weighted total and the two terms of :func:`distill_loss` (0-d tensors)."""

    total: Tensor
    embed: Tensor
    pixel: Tensor


@checked
def distill_loss(teacher: Backbone, student: Student, batch: Tensor, beta: NonNegativeFloat) -> DistillLosses:
    """L = sum_l mean (g_l(E_l(x)) - x)^2 + beta sum_l mean (W_l E_l(x) - F_l(x))^2 / mean F_l(x)^2 for a
    batch x in [0, 1] (the module docstring)."""
    levels = list(student.levels)
    with torch.no_grad():
        target = teacher.features(batch, levels)
    feats = student.encoder.features(batch, levels)
    h, w = batch.shape[-2:]
    embed = sum(
        nnf.mse_loss(student.embeddings[k](feats[k]), target[k]) / target[k].pow(2).mean() for k in levels
    )
    pixel = sum(nnf.mse_loss(student.decoders[k](feats[k])[..., :h, :w], batch) for k in levels)
    return DistillLosses(pixel + beta * embed, embed, pixel)


@dataclass
class DistillConfig:
    """Settings of a distillation run (saved in every checkpoint)."""

    width: PositiveFloat = STUDENT_WIDTH
    steps: PositiveInt = 4000
    batch_size: PositiveInt = 8
    crop: ImageSide = 96
    lr: PositiveFloat = 2e-3
    lr_decay_steps: PositiveFloat = 1000.0  # see learning_rate
    warmup_steps: PositiveInt = 50
    beta: NonNegativeFloat = 1.0  # weight of the embedding loss
    seed: NonNegativeInt = 0
    checkpoint_every: PositiveInt = 100
    content_pool: str = "colour"
    content_dir: str | None = None
    hue_jitter: Fraction = 0.3

    def __post_init__(self) -> None:
        check_fields(self)
        check_choice(self.content_pool, CONTENT_POOLS, "content pool")
        if self.crop < 16:
            raise ValueError(f"crop {self.crop} px is below the 16 px that relu3_1 needs")

    @checked
    def learning_rate(self, step: int) -> float:
        """lr_t = lr min(1, (t + 1) / warmup_steps) / (1 + t / lr_decay_steps): linear warm-up, then inverse
        decay (as :meth:`nstlab.decoder_training.TrainConfig.learning_rate`)."""
        return self.lr * min(1.0, (step + 1) / self.warmup_steps) / (1 + step / self.lr_decay_steps)


@dataclass
class _Run:
    student: Student
    opt: torch.optim.Optimizer
    gen: torch.Generator
    step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def _set_input_scales(student: Student, batch: Tensor) -> None:
    """Each decoder's input scale: 1 / the mean activation of its level on a first batch (as the teacher's
    decoders), so that every decoder starts on inputs of order 1."""
    with torch.no_grad():
        feats = student.encoder.features(batch, list(student.levels))
        for k in student.levels:
            student.decoders[k].input_scale.fill_(1 / max(float(feats[k].mean()), 1e-6))


def _save(path: Path, run: _Run, config: DistillConfig) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "model": run.student.state_dict(),
            "optimizer": run.opt.state_dict(),
            "generator": run.gen.get_state(),
            "step": run.step,
            "history": run.history,
            "config": vars(config),
            "seconds": run.seconds,
        },
        tmp,
    )
    tmp.replace(path)
    write_loss_curve(run.history, path.parent, plot=run.step >= config.steps, keys=LOSS_KEYS)


@checked
def train_student(
    out: str | Path,
    config: DistillConfig | None = None,
    resume: bool = False,
    progress: bool = True,
    contents: list[Tensor] | None = None,
) -> Path:
    """Distil the student (module docstring) with Adam on seeded random crops of the content pool
    (``config.content_pool``, :func:`nstlab.decoder_training.training_contents`; or ``contents``, for
    tests). Every ``checkpoint_every`` steps and at the end the models, the optimizer, the generator and
    the loss history go to ``out/checkpoint.pt``; ``resume=True`` continues from it exactly (with
    ``config.steps`` at or below the step reached it only records that config). Returns the checkpoint
    path."""
    config = config or DistillConfig()
    out = images.check_writable_folder(out)
    path = out / "checkpoint.pt"
    torch.manual_seed(config.seed)
    student = Student(config.width).requires_grad_(True).train()
    for k in student.levels:  # the input scales are set once, not trained
        student.decoders[k].input_scale.requires_grad_(False)
    run = _Run(student, torch.optim.Adam(student.parameters(), lr=config.lr), torch.Generator())
    run.gen.manual_seed(config.seed)
    if resume:
        ckpt = load_checkpoint(path)
        if ckpt["config"]["width"] != config.width:
            raise ValueError(f"{path} is a width {ckpt['config']['width']} run; asked for {config.width}")
        student.load_state_dict(ckpt["model"])
        run.opt.load_state_dict(ckpt["optimizer"])
        run.gen.set_state(ckpt["generator"])
        run.step, run.history, run.seconds = ckpt["step"], ckpt["history"], ckpt["seconds"]
    teacher = load_backbone("vgg16-hed", device="cpu")
    pool = (
        contents
        if contents is not None
        else training_contents(TrainConfig(content_pool=config.content_pool, content_dir=config.content_dir))
    )
    if not resume:
        _set_input_scales(student, random_crops(pool, config.batch_size, config.crop, run.gen))
    with tqdm(total=config.steps, initial=run.step, desc="distilling", disable=not progress) as bar:
        while run.step < config.steps:
            start = time.perf_counter()
            lr = config.learning_rate(run.step)
            for group in run.opt.param_groups:
                group["lr"] = lr
            batch = random_crops(pool, config.batch_size, config.crop, run.gen)
            batch = random_hues(batch, config.hue_jitter, run.gen)
            losses = distill_loss(teacher, student, batch, config.beta)
            run.opt.zero_grad(set_to_none=True)
            losses.total.backward()
            run.opt.step()
            run.step += 1
            run.seconds += time.perf_counter() - start
            values = {k: v.item() for k, v in zip(LOSS_KEYS, losses, strict=True)}
            run.history.append({"step": run.step, **values, "lr": lr, "seconds": round(run.seconds, 3)})
            bar.update(1)
            bar.set_postfix({k: f"{v:.3g}" for k, v in values.items() if k != "total"})
            if run.step % config.checkpoint_every == 0:
                _save(path, run, config)
    _save(path, run, config)  # the last step, and the config of this call (a run resumed to an earlier end)
    return path


@checked
def embedding_r2(student: Student, teacher: Backbone, img: Tensor) -> dict[str, float]:
    """Per level, the share of the teacher's feature variance that the best linear map of the student's
    features explains on ``img``: R^2 = 1 - ||F - W* E||^2 / ||F - mean F||^2, W* the least-squares fit
    (with an intercept) on that image, not the trained embedding. 1: the teacher's features are a linear
    image of the student's."""
    levels = list(student.levels)
    with torch.no_grad():
        f_t, f_s = teacher.features(img, levels), student.encoder.features(img, levels)
    r2 = {}
    for k in levels:
        y = f_t[k].double().flatten(2)[0].T  # (N, C_t)
        x = f_s[k].double().flatten(2)[0].T
        x = torch.cat([x, x.new_ones(len(x), 1)], 1)
        fit = x @ torch.linalg.lstsq(x, y).solution
        r2[k] = float(1 - (y - fit).pow(2).sum() / (y - y.mean(0)).pow(2).sum())
    return r2


@checked
def export_student(checkpoint: str | Path, dest: str | Path, command: str, **record: Any) -> Path:
    """Write a checkpoint's student as an fp16 state dict ``dest`` (.pt) and its json record: sha256, the
    command, steps, wall time, the loss curve every 10th step and any ``record`` fields."""
    ckpt = load_checkpoint(checkpoint)
    dest = Path(dest).expanduser()
    if dest.suffix != ".pt":
        raise ValueError(f"dest {dest} must be a .pt file (its .json record is written beside it)")
    torch.save({k: v.half() for k, v in ckpt["model"].items()}, dest)
    history = ckpt["history"]
    last = history[-50:]
    info = {
        "file": dest.name,
        "sha256": sha256(dest),
        "command": command,
        "steps": ckpt["step"],
        "wall_seconds": round(ckpt["seconds"], 1),
        "final_losses_mean_last_50": {k: sum(h[k] for h in last) / len(last) for k in LOSS_KEYS},
        "config": ckpt["config"],
        "loss_curve": [[h[k] for k in ("step", *LOSS_KEYS)] for h in history if h["step"] % 10 == 0],
        **record,
    }
    dest.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
    return dest
