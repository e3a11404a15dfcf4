"""Benchmarks of issue 3 ("The mathematics of style"): WCT by eigh vs svd, sliced vs exact W2, Gram memory.

Run from the repository root:  .venv/bin/python benchmarks/stats.py   (a few minutes on 2 CPU cores)
Prints three markdown tables; their numbers are copied into benchmarks/README.md.

OMP_WAIT_POLICY defaults to PASSIVE here (set before torch is imported): on a machine whose 2 cores are
shared with other jobs, OpenMP threads that spin-wait for a descheduled partner made a 512 x 512 float64
eigh take 7 s instead of 60 ms (measured on the course's CI-like machine).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import platform
import statistics
import time
from collections.abc import Callable

import torch

from nstlab import losses, stats, transforms

THREADS = 2
WCT_CHANNELS = (64, 128, 256, 512)
WCT_POSITIONS = 64 * 64
W2_SIZES = (256, 1024, 4096, 16384)
EXACT_MAX = 4096  # ot.emd beyond this: a 16k x 16k float64 cost matrix is 2 GiB and hours of simplex
W2_CHANNELS = 16
GRAM_CHANNELS = (64, 128, 256, 512, 1024, 2048)
BLOCK = 64


def times(fn: Callable[[], object], repeat: int = 7) -> tuple[float, float]:
    """(best, median) wall time in seconds of ``repeat`` calls after one warm-up call.

    The best time is the one to compare (the machine is shared: other processes only ever add time).
    """
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return min(samples), statistics.median(samples)


def vgg_like(C: int, N: int, seed: int) -> torch.Tensor:
    """ReLU features with correlated channels (a random mixing matrix), float32, (1, C, 64, 64)."""
    gen = torch.Generator().manual_seed(seed)
    mix = torch.randn(C, C, generator=gen) / C**0.5
    F = (mix @ torch.randn(C, N, generator=gen) + 0.5).relu()
    return F.reshape(1, C, 64, N // 64)


def wct_table() -> list[str]:
    rows = [
        "| C | N | eigh, 2 threads: best (median) ms | svd, 2 threads: best ms | eigh, 1 thread: best ms "
        "| svd, 1 thread: best ms | one C x C float64 eigh, 1 thread, ms | rel. diff eigh vs svd map |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    print("\n".join(rows), flush=True)
    for C in WCT_CHANNELS:
        content, style = vgg_like(C, WCT_POSITIONS, 1), vgg_like(C, WCT_POSITIONS, 2)
        cells = []
        for threads in (THREADS, 1):
            torch.set_num_threads(threads)
            best, med = times(lambda c=content, s=style: transforms.wct(c, s, method="eigh"))
            cells.append(f"{1e3 * best:.1f} ({1e3 * med:.1f})" if threads == THREADS else f"{1e3 * best:.1f}")
            best_svd, _ = times(lambda c=content, s=style: transforms.wct(c, s, method="svd"))
            cells.append(f"{1e3 * best_svd:.1f}")
        S = stats.covariance(content.double())[0]
        t_one, _ = times(lambda S=S: torch.linalg.eigh(S))
        torch.set_num_threads(THREADS)
        A_eigh = transforms.wct_matrix(content, style, method="eigh").A
        A_svd = transforms.wct_matrix(content, style, method="svd").A
        diff = ((A_eigh - A_svd).abs().max() / A_eigh.abs().max()).item()
        rows.append(f"| {C} | {WCT_POSITIONS} | {' | '.join(cells)} | {1e3 * t_one:.1f} | {diff:.0e} |")
        print(rows[-1], flush=True)
    return rows


def w2_table() -> list[str]:
    rows = [
        "| n | exact W2^2 | exact (s) | sliced SW2^2, 64 dirs | sliced (ms) | MC error of 64 dirs "
        "| C SW2^2 / W2^2 |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    print("\n".join(rows), flush=True)
    losses.exact_w2(torch.randn(2, 8), torch.randn(2, 8))  # warm-up: imports POT
    for n in W2_SIZES:
        gen = torch.Generator().manual_seed(n)
        X = torch.randn(W2_CHANNELS, n, generator=gen, dtype=torch.float64)
        Y = torch.randn(W2_CHANNELS, n, generator=gen, dtype=torch.float64).pow(3) * 0.7 + 0.3
        t_sliced, _ = times(lambda X=X, Y=Y: losses.sliced_w2(X, Y, 64, seed=0), repeat=5)
        estimates = torch.tensor([losses.sliced_w2(X, Y, 64, seed=s).item() for s in range(20)])
        reference = losses.sliced_w2(X, Y, 4096, seed=1000).item()
        mc_error = (estimates - reference).pow(2).mean().sqrt().item() / reference
        sw = estimates[0].item()
        if n <= EXACT_MAX:
            start = time.perf_counter()
            w2 = losses.exact_w2(X, Y).item()
            t_exact = time.perf_counter() - start
            exact_cells = f"{w2:.4f} | {t_exact:.2f}"
            ratio = f"{W2_CHANNELS * reference / w2:.3f}"
        else:
            exact_cells, ratio = "not run | -", "-"
        rows.append(
            f"| {n} | {exact_cells} | {sw:.4f} | {1e3 * t_sliced:.1f} | {100 * mc_error:.1f} % | {ratio} |"
        )
        print(rows[-1], flush=True)
    return rows


def gram_memory_table() -> list[str]:
    rows = [
        f"| C | full Gram (KiB) | block-diagonal, B = {BLOCK} (KiB) | ratio | measured block tensor (KiB) |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    print("\n".join(rows), flush=True)
    for C in GRAM_CHANNELS:
        full = stats.gram_memory_bytes(C)
        block = stats.gram_memory_bytes(C, BLOCK)
        blocks = stats.block_diag_gram(torch.randn(C, 256), BLOCK)
        measured = blocks.numel() * blocks.element_size()
        rows.append(
            f"| {C} | {full / 1024:.0f} | {block / 1024:.0f} | {full / block:.0f} | {measured / 1024:.0f} |"
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    torch.set_num_threads(THREADS)
    cpu = platform.processor() or platform.machine()
    policy = os.environ["OMP_WAIT_POLICY"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, OMP_WAIT_POLICY={policy}, {cpu}")
    print("\nWCT (float32 features in, float64 covariances and eigendecompositions inside), 7 runs each:")
    wct_table()
    print(f"\nW2 between {W2_CHANNELS}-channel clouds (Gaussian vs cubed Gaussian), float64:")
    w2_table()
    print("\nGram memory, float32:")
    gram_memory_table()


if __name__ == "__main__":
    main()
