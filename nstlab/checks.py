"""Exercise checks with feedback that names the mistake.

Every ``check_<task>(student_fn)`` runs the student's function on fresh seeded random inputs, compares
the result with nstlab's reference, prints one line and returns True or False. It never raises: an
unfinished stub (``raise NotImplementedError``) prints "not implemented yet", so an exercise notebook
runs from top to bottom under nbval before any exercise is done.

When a result is wrong, the check runs the known wrong implementations of the task (transposed
product, wrong normalization, missing eps, ...) on the same inputs; if the student's output matches
one, the line names that mistake instead of only saying "wrong".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

Args = tuple[Any, ...]


def say(task: str, ok: bool, message: str) -> bool:
    """Print the one-line verdict of a check and return ``ok``."""
    print(f"{'✔' if ok else '✘'} {task}: {message}")
    return ok


def _as_array(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def difference(got: Any, expected: Any, rtol: float = 1e-4, atol: float = 1e-6) -> str | None:
    """None when ``got`` matches ``expected`` (shape, then values); otherwise what differs, in words.

    Tuples and lists are compared element by element.
    """
    if got is None and expected is not None:
        return "returned None (is a `return` missing?)"
    if isinstance(expected, tuple | list):
        if not isinstance(got, tuple | list) or len(got) != len(expected):
            return f"expected {len(expected)} results, got {type(got).__name__}"
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            problem = difference(g, e, rtol, atol)
            if problem:
                return f"result {i}: {problem}"
        return None
    try:
        g, e = _as_array(got), _as_array(expected)
    except (TypeError, ValueError):
        return f"expected a number or tensor, got {type(got).__name__}"
    if g.shape != e.shape:
        return f"wrong shape: got {g.shape}, expected {e.shape}"
    if not np.isfinite(g).all():
        return "the result contains NaN or inf"
    if not np.allclose(g, e, rtol=rtol, atol=atol):
        err = np.abs(g - e).max()
        return f"values differ from the reference (max abs error {err:.3g})"
    return None


def _clone(args: Args) -> Args:
    return tuple(a.clone() if isinstance(a, torch.Tensor) else a for a in args)


def verdict(
    task: str,
    student_fn: Callable[..., Any],
    reference: Callable[..., Any],
    cases: Sequence[Args],
    mistakes: dict[str, Callable[..., Any] | Sequence[Callable[..., Any]]] | None = None,
    rtol: float = 1e-4,
    atol: float = 1e-6,
) -> bool:
    """Run ``student_fn`` and ``reference`` on each argument tuple in ``cases``; print, return the verdict.

    ``mistakes`` maps a message naming a typical mistake to a function that makes it (or to a list of
    functions: variants of the same mistake); the first one whose output the student's matches is
    reported.
    """
    for args in cases:
        expected = reference(*_clone(args))
        try:
            got = student_fn(*_clone(args))
        except NotImplementedError:
            return say(task, False, "not implemented yet")
        except Exception as err:  # the student's code: report, never raise
            return say(task, False, f"raised {type(err).__name__}: {err}")
        problem = difference(got, expected, rtol, atol)
        if problem is None:
            continue
        for message, variants in (mistakes or {}).items():
            for wrong in variants if isinstance(variants, Sequence) else (variants,):
                try:
                    if difference(got, wrong(*_clone(args)), rtol, atol) is None:
                        return say(task, False, message)
                except Exception:  # a mistake that cannot run on these inputs is not the one made
                    continue
        return say(task, False, problem)
    return say(task, True, f"correct on {len(cases)} test case{'s' if len(cases) > 1 else ''}")


# --- sets 1-5 ----------------------------------------------------------------------------------
# Each check draws its inputs from a generator seeded per task, so two runs print the same line.


def _randn(gen: torch.Generator, *shape: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=torch.float64).to(dtype)


def _spd(gen: torch.Generator, C: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A random symmetric positive definite (C, C) matrix with a diagonal far from 1."""
    A = _randn(gen, C, 2 * C)
    return (A @ A.T / C + 0.5 * torch.eye(C, dtype=torch.float64)).to(dtype)


# Set 1: Gram matrix, block-diagonal Gram, memory ------------------------------------------------


def check_gram(student_fn: Callable[..., Any]) -> bool:
    """``gram(F)`` of a (C, N) feature matrix: G = F F^T / N, shape (C, C)."""
    from . import stats

    gen = torch.Generator().manual_seed(101)
    cases = [(_randn(gen, 3, 7),), (_randn(gen, 8, 20, dtype=torch.float32),), (_randn(gen, 16, 5),)]

    def ftf(Z: Callable[[int, int], int]) -> Callable[[torch.Tensor], torch.Tensor]:
        return lambda F: F.T @ F / Z(*F.shape)

    transposed = [ftf(lambda C, N: N), ftf(lambda C, N: 1), ftf(lambda C, N: C), ftf(lambda C, N: C * N)]

    mistakes = {
        "computed F^T F (positions x positions, shape (N, N)) instead of F F^T (channels x channels, "
        "shape (C, C))": transposed,
        "divided by C*N instead of N (the text's normalized form; this exercise uses G = F F^T / N)": (
            lambda F: stats.gram(F, "cn")
        ),
        "did not divide by N: G = F F^T / N averages over the N positions": lambda F: stats.gram(F, "none"),
        "divided by C instead of N: average over the N positions": lambda F: F @ F.T / F.shape[0],
    }
    return verdict("gram", student_fn, stats.gram, cases, mistakes)


def check_block_diag_gram(student_fn: Callable[..., Any]) -> bool:
    """``block_diag_gram(F, B)``: the C//B diagonal blocks F_k F_k^T / N of the Gram matrix, (C//B, B, B)."""
    from . import stats

    gen = torch.Generator().manual_seed(102)
    cases = [(_randn(gen, 8, 10), 4), (_randn(gen, 12, 6, dtype=torch.float32), 3), (_randn(gen, 6, 9), 2)]

    def G(F: torch.Tensor) -> torch.Tensor:
        return F @ F.T / F.shape[1]

    def strided(F: torch.Tensor, B: int) -> torch.Tensor:
        Fk = F.reshape(B, F.shape[0] // B, -1).transpose(0, 1)
        return Fk @ Fk.transpose(-1, -2) / F.shape[1]

    def blocks(F: torch.Tensor, B: int) -> torch.Tensor:
        return stats.block_diag_gram(F, B, "none")

    mistakes = {
        "returned the full (C, C) Gram matrix; keep only the C//B diagonal blocks, shape (C//B, B, B)": (
            lambda F, B: G(F)
        ),
        "took off-diagonal blocks: block k pairs channels kB..(k+1)B-1 with themselves, "
        "G[kB:(k+1)B, kB:(k+1)B]": [
            lambda F, B: G(F).reshape(F.shape[0] // B, B, F.shape[0] // B, B)[:, :, 0, :],
            lambda F, B: G(F).reshape(F.shape[0] // B, B, F.shape[0] // B, B)[0, :, :, :].transpose(0, 1),
        ],
        "wrong reshape: G.reshape(-1, B, B) cuts rows of G into pieces; slice the diagonal blocks "
        "G[kB:(k+1)B, kB:(k+1)B] (or reshape F to (C//B, B, N) first)": [
            lambda F, B: G(F).reshape(-1, B, B)[: F.shape[0] // B],
            lambda F, B: G(F).reshape(-1, B, B)[:: F.shape[0] // B + 1],
        ],
        "channels grouped with a stride (F.reshape(B, C//B, N)): a block holds B consecutive channels, "
        "F.reshape(C//B, B, N)": strided,
        "normalization: divided by B*N instead of N": lambda F, B: blocks(F, B) / (B * F.shape[1]),
        "normalization: divided by C*N instead of N": lambda F, B: blocks(F, B) / (F.shape[0] * F.shape[1]),
        "normalization: did not divide by N": blocks,
    }
    return verdict("block_diag_gram", student_fn, stats.block_diag_gram, cases, mistakes)


_DTYPE_OF_ITEMSIZE = {2: torch.float16, 4: torch.float32, 8: torch.float64}


def check_gram_memory(student_fn: Callable[..., Any]) -> bool:
    """``gram_memory(C, block_size, itemsize)``: bytes of the full Gram (block_size None) or of its blocks."""
    from . import stats

    cases = [(512, 64, 4), (256, 32, 8), (1024, 128, 2), (512, None, 4), (64, None, 8)]

    def reference(C: int, B: int | None, itemsize: int) -> int:
        return stats.gram_memory_bytes(C, B, _DTYPE_OF_ITEMSIZE[itemsize])

    mistakes = {
        "counted one block only: there are C/B blocks of B*B numbers each": lambda C, B, it: B * B * it,
        "counted the full C^2 matrix: the block form keeps C/B blocks of B^2 numbers, C*B numbers in all": (
            lambda C, B, it: C * C * it
        ),
        "counted numbers, not bytes: multiply by the bytes per number (itemsize)": (
            lambda C, B, it: reference(C, B, it) // it
        ),
        "counted bits, not bytes (1 byte = 8 bits)": lambda C, B, it: 8 * reference(C, B, it),
    }
    return verdict("gram_memory", student_fn, reference, cases, mistakes)


# Set 2: Gram distance = MMD with k(a, b) = (a.b)^2 -------------------------------------------------


def check_poly2_kernel(student_fn: Callable[..., Any]) -> bool:
    """``poly2_kernel(A, B)``: the (n, m) matrix K_ij = (a_i . b_j)^2 of the columns of A (C, n), B (C, m)."""
    gen = torch.Generator().manual_seed(114)
    cases = [
        (_randn(gen, 4, 6), _randn(gen, 4, 3)),
        (_randn(gen, 3, 5, dtype=torch.float32), _randn(gen, 3, 7, dtype=torch.float32)),
        (_randn(gen, 6, 4), 2.0 * _randn(gen, 6, 9)),
    ]
    mistakes = {
        "not squared: that is the linear kernel a.b; k(a, b) = (a.b)^2": lambda A, B: A.T @ B,
        "squared the entries before the product; square the inner products: (A^T B)^2": (
            lambda A, B: (A**2).T @ B**2
        ),
        "A B^T compares channels (C x C); the kernel compares columns (positions): A^T B, shape (n, m)": [
            lambda A, B: (A @ B.T) ** 2,
            lambda A, B: A @ B.T,
        ],
        "transposed: row i belongs to column a_i of A, column j to b_j, shape (n, m)": (
            lambda A, B: (B.T @ A) ** 2
        ),
    }
    return verdict("poly2_kernel", student_fn, lambda A, B: (A.T @ B) ** 2, cases, mistakes)


def check_mmd2_poly2(student_fn: Callable[..., Any]) -> bool:
    """``mmd2_poly2(X, Y)``: biased MMD^2 between the columns of X (C, n) and Y (C, m), k(a, b) = (a.b)^2."""
    from . import stats

    gen = torch.Generator().manual_seed(103)
    cases = [
        (_randn(gen, 4, 10), 1.5 * _randn(gen, 4, 7) + 0.5),
        (_randn(gen, 3, 6, dtype=torch.float32), 0.7 * _randn(gen, 3, 6, dtype=torch.float32) - 0.3),
        (_randn(gen, 5, 12), 1.3 * _randn(gen, 5, 9)),
    ]

    def kernel_means(X: torch.Tensor, Y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (X.T @ X) ** 2, (Y.T @ Y) ** 2, (X.T @ Y) ** 2

    def unbiased(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        Kxx, Kyy, Kxy = kernel_means(X, Y)
        n, m = X.shape[1], Y.shape[1]
        off = (Kxx.sum() - Kxx.diagonal().sum()) / (n * (n - 1)) + (Kyy.sum() - Kyy.diagonal().sum()) / (
            m * (m - 1)
        )
        return off - 2 * Kxy.mean()

    def minus_one(X: torch.Tensor, Y: torch.Tensor, cross: bool) -> torch.Tensor:
        Kxx, Kyy, Kxy = kernel_means(X, Y)
        n, m = X.shape[1], Y.shape[1]
        xy = Kxy.sum() / ((n - 1) * (m - 1)) if cross else Kxy.mean()
        return Kxx.sum() / (n * (n - 1)) + Kyy.sum() / (m * (m - 1)) - 2 * xy

    def minus_one_sq(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        Kxx, Kyy, Kxy = kernel_means(X, Y)
        n, m = X.shape[1], Y.shape[1]
        return Kxx.sum() / (n - 1) ** 2 + Kyy.sum() / (m - 1) ** 2 - 2 * Kxy.sum() / ((n - 1) * (m - 1))

    def no_two(X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        Kxx, Kyy, Kxy = kernel_means(X, Y)
        return Kxx.mean() + Kyy.mean() - Kxy.mean()

    mistakes = {
        "the unbiased estimator (diagonal terms k(x_i, x_i) left out); this exercise asks for the biased "
        "V-statistic, sums over all pairs divided by n^2, which equals the Gram distance": unbiased,
        "linear kernel k(a, b) = a.b; the kernel of the identity is its square, (a.b)^2": (
            lambda X, Y: stats.mmd2(X, Y, "linear")
        ),
        "1/(n-1) normalization: the biased estimator divides each double sum by n_x^2, n_y^2 and n_x n_y": [
            lambda X, Y: minus_one(X, Y, False),
            lambda X, Y: minus_one(X, Y, True),
            minus_one_sq,
        ],
        "the cross term needs the factor 2: MMD^2 = E k(x,x') + E k(y,y') - 2 E k(x,y)": no_two,
        "unnormalized Gram matrices: ||X X^T - Y Y^T||^2 ignores the sample sizes; the MMD averages "
        "over pairs (divide by n_x^2, n_y^2, n_x n_y)": lambda X, Y: (X @ X.T - Y @ Y.T).pow(2).sum(),
    }
    return verdict("mmd2_poly2", student_fn, lambda X, Y: stats.mmd2(X, Y, "poly2"), cases, mistakes)


# Set 3: variance of Gram entries and shrinkage ------------------------------------------------------


def check_gram_entry_variance(student_fn: Callable[..., Any]) -> bool:
    """``gram_entry_variance(F_trials)``: unbiased variance over trials (T, C, N) of G = F F^T / N."""
    gen = torch.Generator().manual_seed(104)
    cases = [
        (_randn(gen, 50, 3, 8),),
        (_randn(gen, 30, 4, 5, dtype=torch.float32),),
        (1.7 * _randn(gen, 40, 2, 20),),
    ]

    def grams(F: torch.Tensor) -> torch.Tensor:
        return F @ F.transpose(-1, -2) / F.shape[-1]

    mistakes = {
        "standard deviation instead of variance (Var is the square of the std)": [
            lambda F: grams(F).std(0),
            lambda F: grams(F).std(0, correction=0),
        ],
        "missing 1/N: G = F F^T / N (without it every entry is N times larger, its variance N^2 times)": [
            lambda F: (F @ F.transpose(-1, -2)).var(0),
            lambda F: (F @ F.transpose(-1, -2)).var(0, correction=0),
        ],
        "divided by T instead of T - 1: use the unbiased variance over trials (torch's .var default)": (
            lambda F: grams(F).var(0, correction=0)
        ),
        "divided by C*N instead of N in the Gram matrix": lambda F: (grams(F) / F.shape[1]).var(0),
    }
    return verdict("gram_entry_variance", student_fn, lambda F: grams(F).var(0), cases, mistakes)


def check_gram_entry_variance_theory(student_fn: Callable[..., Any]) -> bool:
    """``gram_entry_variance_theory(S, N)``: Isserlis' Var(G_ij) = (S_ij^2 + S_ii S_jj) / N, (C, C)."""
    from . import stats

    gen = torch.Generator().manual_seed(105)
    cases = [(_spd(gen, 3), 10), (_spd(gen, 4, torch.float32), 100), (_spd(gen, 2), 7)]

    def parts(S: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        d = S.diagonal()
        return d[:, None] * d[None, :], S**2

    mistakes = {
        "missing 1/N: G averages N independent products, so its variance is Var(f_i f_j) / N": (
            lambda S, N: sum(parts(S))
        ),
        "dropped the S_ij^2 term: Var(f_i f_j) = E[f_i^2 f_j^2] - S_ij^2 = S_ii S_jj + 2 S_ij^2 - S_ij^2": (
            lambda S, N: parts(S)[0] / N
        ),
        "used the fourth moment E[f_i^2 f_j^2] = S_ii S_jj + 2 S_ij^2; subtract (E f_i f_j)^2 = S_ij^2": (
            lambda S, N: (parts(S)[0] + 2 * parts(S)[1]) / N
        ),
        "the diagonal formula 2 S_ij^2 / N is right for i = j only; off the diagonal it is "
        "(S_ij^2 + S_ii S_jj) / N": lambda S, N: 2 * parts(S)[1] / N,
        "standard deviation instead of variance": lambda S, N: (sum(parts(S)) / N).sqrt(),
    }
    return verdict(
        "gram_entry_variance_theory", student_fn, stats.gram_entry_variance_theory, cases, mistakes
    )


def check_shrink(student_fn: Callable[..., Any]) -> bool:
    """``shrink(G, lam)``: G_lam = (1 - lam) G + lam I."""
    from . import stats

    gen = torch.Generator().manual_seed(106)
    cases = [(2.0 * _spd(gen, 4), 0.3), (_spd(gen, 6, torch.float32), 0.7), (3.0 * _spd(gen, 3), 0.1)]

    def eye(G: torch.Tensor) -> torch.Tensor:
        return torch.eye(G.shape[-1], dtype=G.dtype)

    mistakes = {
        "lambda and 1 - lambda swapped: G_lam = (1 - lam) G + lam I (lam = 0 keeps G)": (
            lambda G, lam: lam * G + (1 - lam) * eye(G)
        ),
        "target not the identity: used (tr G / C) I, Ledoit-Wolf's scaled identity; this exercise "
        "shrinks toward I": lambda G, lam: stats.shrink(G, lam, "scaled_identity"),
        "target not the identity: used diag(G); the target is I": (
            lambda G, lam: (1 - lam) * G + lam * torch.diag(G.diagonal())
        ),
        "target not the identity: added lam to every entry (a matrix of ones); the target is I": (
            lambda G, lam: (1 - lam) * G + lam * torch.ones_like(G)
        ),
        "target not the identity: (1 - lam) G alone shrinks toward 0; add lam I": (
            lambda G, lam: (1 - lam) * G
        ),
        "G needs the factor (1 - lam): G + lam I is not a convex combination": (
            lambda G, lam: G + lam * eye(G)
        ),
    }
    return verdict("shrink", student_fn, stats.shrink, cases, mistakes)


def optimal_lambda_reference(G_trials: torch.Tensor, S: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """lam* = sum_t <G_t - S, G_t - T> / sum_t ||G_t - T||_F^2, the minimizer of the mean over trials of
    ||(1 - lam) G_t + lam T - S||_F^2 = ||(G_t - S) - lam (G_t - T)||_F^2 (1-D least squares)."""
    G, S, T = G_trials.double(), S.double(), T.double()
    return ((G - S) * (G - T)).sum() / (G - T).pow(2).sum()


def check_optimal_lambda(student_fn: Callable[..., Any]) -> bool:
    """``optimal_lambda(G_trials, S, T)``: the lam minimizing mean_t ||(1 - lam) G_t + lam T - S||_F^2."""
    gen = torch.Generator().manual_seed(107)
    cases = []
    for C, N, n_trials, scaled in ((4, 6, 40, True), (3, 10, 30, False), (5, 8, 25, True)):
        S = _spd(gen, C)
        root = torch.linalg.cholesky(S)
        F = root @ _randn(gen, n_trials, C, N)
        T = (S.diagonal().mean() if scaled else 1.0) * torch.eye(C, dtype=torch.float64)
        cases.append((F @ F.transpose(-1, -2) / N, S, T))

    def swapped(G: torch.Tensor, S: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
        return 1 - optimal_lambda_reference(G, S, T)

    def identity_target(G: torch.Tensor, S: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
        return optimal_lambda_reference(G, S, torch.eye(S.shape[0], dtype=S.dtype))

    def no_cross_term(G: torch.Tensor, S: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
        a = (G - S).pow(2).sum((-1, -2)).mean()
        return a / (a + (T - S).pow(2).sum())

    mistakes = {
        "lambda and 1 - lambda swapped: lam is the weight of the target T": swapped,
        "used the identity as the target; shrink toward the given T": identity_target,
        "used the expectation a / (a + b), a = mean ||G_t - S||^2, b = ||T - S||^2, which drops the "
        "cross term; minimize the mean over these trials exactly": no_cross_term,
    }
    return verdict("optimal_lambda", student_fn, optimal_lambda_reference, cases, mistakes)


# Set 4: receptive fields -----------------------------------------------------------------------------


def receptive_field_reference(
    layers: Sequence[tuple[int, int]],
) -> tuple[list[int], list[int]]:
    """Sizes r_l = r_{l-1} + (k_l - 1) j_{l-1} and jumps j_l = j_{l-1} s_l, from r_0 = j_0 = 1."""
    return _rf_recurrence(layers)


def _rf_recurrence(
    layers: Sequence[tuple[int, int]],
    r0: int = 1,
    size_step: Callable[[int, int, int, int], int] = lambda r, j, k, s: r + (k - 1) * j,
    jump_step: Callable[[int, int], int] = lambda j, s: j * s,
    jump_first: bool = False,
) -> tuple[list[int], list[int]]:
    r, j, sizes, jumps = r0, 1, [], []
    for k, s in layers:
        if jump_first:
            j = jump_step(j, s)
        r = size_step(r, j, k, s)
        if not jump_first:
            j = jump_step(j, s)
        sizes.append(r)
        jumps.append(j)
    return sizes, jumps


def _with_jumps(wrong: Callable[..., tuple[list[int], list[int]]], **kw: Any) -> list[Callable[..., Any]]:
    """A size mistake with the jumps it computes and with correct jumps (the student may return either)."""
    return [
        lambda layers: wrong(layers, **kw),
        lambda layers: (wrong(layers, **kw)[0], _rf_recurrence(layers)[1]),
    ]


def check_receptive_fields(student_fn: Callable[..., Any]) -> bool:
    """``receptive_fields(layers)``: (sizes, jumps) per layer for a list of (kernel, stride) pairs."""
    import random

    rng = random.Random(108)
    vgg_like = [(3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (3, 1), (2, 2)]
    cases: list[Args] = [(vgg_like,)]
    for length in (6, 9):
        rest = [(rng.choice([1, 3, 5]), rng.choice([1, 2])) for _ in range(length)]
        layers = [(rng.choice([3, 5, 7]), 2), *rest]
        cases.append((layers,))

    mistakes = {
        "jump not accumulated: j_l = j_{l-1} * s_l, the product of all strides so far": [
            *_with_jumps(_rf_recurrence, jump_step=lambda j, s: s),
            *_with_jumps(
                _rf_recurrence, size_step=lambda r, j, k, s: r + (k - 1) * s, jump_step=lambda j, s: s
            ),
            *_with_jumps(_rf_recurrence, jump_step=lambda j, s: 1),
        ],
        "stride applied to the size instead of the jump: r_l = r_{l-1} + (k_l - 1) j_{l-1}, then "
        "j_l = j_{l-1} s_l": [
            *_with_jumps(_rf_recurrence, size_step=lambda r, j, k, s: (r + (k - 1) * j) * s),
            *_with_jumps(_rf_recurrence, size_step=lambda r, j, k, s: r * s + (k - 1) * j),
            *_with_jumps(
                _rf_recurrence, size_step=lambda r, j, k, s: r * s + (k - 1), jump_step=lambda j, s: 1
            ),
        ],
        "off by one at the first layer: start from r_0 = 1 (one input pixel sees itself) and j_0 = 1": [
            *_with_jumps(_rf_recurrence, r0=0),
            *_with_jumps(_rf_recurrence, size_step=lambda r, j, k, s: r + k * j),
        ],
        "jump updated before the size: r_l uses j_{l-1}, the jump of the layer below": _with_jumps(
            _rf_recurrence, jump_first=True
        ),
    }
    return verdict("receptive_fields", student_fn, receptive_field_reference, cases, mistakes)


def _vgg16_sizes() -> dict[str, int]:
    from . import receptive

    return {name: rf.size for name, rf in receptive.receptive_fields("vgg16").items()}


def _layer_cases(seed: int, n_cases: int = 3) -> list[dict[str, float]]:
    import random

    rng = random.Random(seed)
    names = [n for n in _vgg16_sizes() if n.startswith("relu")]
    return [
        {n: round(rng.uniform(0.2, 3.0), 2) for n in rng.sample(names, rng.randint(2, 5))}
        for _ in range(n_cases)
    ]


def check_effective_scale(student_fn: Callable[..., Any]) -> bool:
    """``effective_scale(weights, sizes)``: S_eff = sum_l a_l r_l / sum_l a_l over the given layers."""
    from . import receptive

    sizes = _vgg16_sizes()
    cases = [(w, dict(sizes)) for w in _layer_cases(109)]

    def weighted_sum(w: dict[str, float], r: dict[str, int]) -> float:
        return sum(a * r[n] for n, a in w.items())

    mistakes = {
        "not divided by the sum of the weights: S_eff = sum a_l r_l / sum a_l": weighted_sum,
        "unweighted mean of r_l: each layer counts with its weight a_l": (
            lambda w, r: sum(r[n] for n in w) / len(w)
        ),
        "divided by the number of layers instead of the sum of the weights": (
            lambda w, r: weighted_sum(w, r) / len(w)
        ),
    }
    return verdict(
        "effective_scale", student_fn, lambda w, r: receptive.effective_scale(w, "vgg16"), cases, mistakes
    )


def check_scale_ratio(student_fn: Callable[..., Any]) -> bool:
    """``scale_ratio(style_weights, content_weights, sizes)``: R = S_eff / C_eff."""
    from . import receptive

    sizes = _vgg16_sizes()
    style, content = _layer_cases(110), _layer_cases(111)
    cases = [(s, c, dict(sizes)) for s, c in zip(style, content, strict=True)]

    def ratio(s: dict[str, float], c: dict[str, float], r: dict[str, int]) -> float:
        return receptive.scale_ratio(s, c, "vgg16")

    mistakes = {
        "inverted: R = S_eff / C_eff (style scale over content scale)": lambda s, c, r: 1 / ratio(s, c, r),
        "difference instead of ratio: R = S_eff / C_eff": (
            lambda s, c, r: receptive.effective_scale(s, "vgg16") - receptive.effective_scale(c, "vgg16")
        ),
    }
    return verdict("scale_ratio", student_fn, ratio, cases, mistakes)


# Set 5: AdaIN and entropy ------------------------------------------------------------------------


def _adain_variant(
    content: torch.Tensor,
    style: torch.Tensor,
    eps: float = 1e-5,
    dims: tuple[int, ...] = (2, 3),
    correction: int = 0,
    eps_on_std: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """mu_c, sigma_c, mu_s, sigma_s computed over ``dims`` (the ways AdaIN gets its statistics wrong)."""

    def moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        var = x.var(dims, keepdim=True, correction=correction)
        return x.mean(dims, keepdim=True), (var.sqrt() + eps if eps_on_std else (var + eps).sqrt())

    return (*moments(content), *moments(style))


def check_adain(student_fn: Callable[..., Any]) -> bool:
    """``adain(content, style, eps)`` on (B, C, H, W) maps: sigma_s (x - mu_c) / sigma_c + mu_s per sample."""
    from . import transforms

    gen = torch.Generator().manual_seed(112)
    quiet = torch.tensor([1.0, 1e-3, 1.0]).view(1, 3, 1, 1)  # channel 1 has variance 1e-6 < eps
    cases = [
        (_randn(gen, 2, 3, 4, 5), 2.0 * _randn(gen, 2, 3, 6, 4) + 1.0, 1e-5),
        ((_randn(gen, 2, 3, 5, 4) * quiet).float(), (1.5 * _randn(gen, 2, 3, 5, 5) - 0.5).float(), 1e-5),
        (_randn(gen, 3, 4, 5, 5) * 2 + 1, 0.5 * _randn(gen, 1, 4, 7, 7) - 1.0, 1e-3),
    ]

    def wrong(form: str, **kw: Any) -> Callable[..., torch.Tensor]:
        def fn(content: torch.Tensor, style: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
            mu_c, sd_c, mu_s, sd_s = _adain_variant(content, style, **{"eps": eps, **kw})
            if form == "swap":
                return mu_s * (content - mu_c) / sd_c + sd_s
            if form == "mean":
                return content - mu_c + mu_s
            if form == "normalize":
                return (content - mu_c) / sd_c
            return sd_s * (content - mu_c) / sd_c + mu_s

        return fn

    mistakes = {
        "missing eps: sigma = sqrt(var + eps) keeps the division finite on a nearly constant channel": wrong(
            "ok", eps=0.0
        ),
        "statistics over the batch (BatchNorm-style): AdaIN normalizes each instance separately, mean and "
        "std over H and W only": [wrong("ok", dims=(0, 2, 3)), wrong("ok", dims=(0, 2, 3), correction=1)],
        "statistics over channels too (LayerNorm-style): mean and std per channel, over H and W only": wrong(
            "ok", dims=(1, 2, 3)
        ),
        "std and mean swapped: scale by sigma(s), then add mu(s)": wrong("swap"),
        "only the mean matched: also scale by sigma(s) / sigma(x)": wrong("mean"),
        "only normalized (that is instance norm): then scale by sigma(s) and add mu(s)": wrong("normalize"),
        "unbiased std (divides by N - 1): AdaIN uses the population std, x.var(..., correction=0)": wrong(
            "ok", correction=1
        ),
        "eps added to the std instead of the variance: sigma = sqrt(var + eps)": wrong("ok", eps_on_std=True),
    }
    return verdict(
        "adain", student_fn, lambda c, s, eps: transforms.adain(c, s, eps=eps), cases, mistakes, atol=1e-5
    )


def check_entropy_change(student_fn: Callable[..., Any]) -> bool:
    """``entropy_change(content, style)``: the per-channel entropy change of AdaIN, log(sigma_s / sigma_c)."""
    from . import stats

    gen = torch.Generator().manual_seed(113)
    cases = []
    for C, n_c, n_s in ((3, 200, 300), (4, 150, 120), (2, 400, 250)):
        sc = torch.rand(C, 1, generator=gen, dtype=torch.float64) * 2.5 + 0.2
        ss = torch.rand(C, 1, generator=gen, dtype=torch.float64) * 2.5 + 0.2
        cases.append((sc * _randn(gen, C, n_c) + 1.0, ss * _randn(gen, C, n_s) - 2.0))

    def sd(x: torch.Tensor, correction: int = 0) -> torch.Tensor:
        return x.std(-1, correction=correction)

    mistakes = {
        "sign flipped: AdaIN multiplies channel c by sigma_s / sigma_c, so the entropy changes by "
        "log(sigma_s / sigma_c)": lambda c, s: (sd(c) / sd(s)).log(),
        "log of the variance ratio, twice the answer: h(a X + b) = h(X) + log|a|, a = sigma_s / sigma_c": (
            lambda c, s: (sd(s) ** 2 / sd(c) ** 2).log()
        ),
        "difference of the stds; the change is the log of their ratio": lambda c, s: sd(s) - sd(c),
        "the ratio sigma_s / sigma_c without the log": lambda c, s: sd(s) / sd(c),
        "the entropy of the styled Gaussian, (1/2) log(2 pi e sigma_s^2), not the change": (
            lambda c, s: stats.gaussian_entropy(sd(s))
        ),
    }
    return verdict(
        "entropy_change",
        student_fn,
        lambda c, s: stats.adain_entropy_change(c, s).exact,
        cases,
        mistakes,
        rtol=1e-4,
        atol=1e-4,
    )


# --- sets 6-10 ---------------------------------------------------------------------------------
# Each check draws its inputs from a generator seeded per task (seeds 6xx..10xx), so two runs print the
# same line. Helpers of this part are prefixed ``_s`` to stay apart from the sets 1-5 part.


def _s_normal(gen: torch.Generator, *shape: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=torch.float64).to(dtype)


def _s_correlated(gen: torch.Generator, C: int, N: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """(C, N) features with correlated channels, a mean far from 0 and a covariance far from I."""
    A = _s_normal(gen, C, C) / C**0.5 + 0.7 * torch.eye(C, dtype=torch.float64)
    mu = 2 * _s_normal(gen, C, 1)
    return (A @ _s_normal(gen, C, N) + mu).to(dtype)


def _s_maps(gen: torch.Generator, B: int, C: int, H: int, W: int, dtype: torch.dtype, tiny: bool = False):
    """(B, C, H, W) maps with a different mean and std for every sample and channel (distinct "styles").

    ``tiny`` makes channel 0 of every sample vary by ~3e-3 (variance ~1e-5 = eps), where eps matters.
    """
    scale = torch.exp(_s_normal(gen, B, C, 1, 1))
    shift = 2 * _s_normal(gen, B, C, 1, 1)
    if tiny:  # centred near 0, so that float32 keeps its digits
        scale[:, 0], shift[:, 0] = 3e-3, 1e-3
    return (_s_normal(gen, B, C, H, W) * scale + shift).to(dtype)


def _s_stop(task: str, student_fn: Callable[..., Any], args: Args, message: str) -> bool | None:
    """Run the student's function on a singular input first: a verdict when it fails there, else None.

    A stub gives "not implemented yet"; an error or a NaN/inf result gives ``message`` (the missing
    regularization). verdict() cannot name this mistake itself: a NaN result matches no wrong function.
    """
    try:
        got = student_fn(*_clone(args))
    except NotImplementedError:
        return say(task, False, "not implemented yet")
    except Exception as err:  # the student's code: report, never raise
        return say(task, False, f"{message} (on a singular covariance it raised {type(err).__name__})")
    try:
        finite = bool(np.isfinite(_as_array(got)).all())
    except (TypeError, ValueError):
        return None  # verdict() explains a wrong type
    return None if finite else say(task, False, f"{message} (NaN or inf on a singular covariance)")


def _s_construction(task: str, student_fn: Callable[..., Any], args: Args = ()) -> Any:
    """Call a construction task; returns (X, Y) as float64 tensors, or a bool verdict when unusable."""
    try:
        pair = student_fn(*args)
    except NotImplementedError:
        return say(task, False, "not implemented yet")
    except Exception as err:  # the student's code: report, never raise
        return say(task, False, f"raised {type(err).__name__}: {err}")
    if not isinstance(pair, tuple | list) or len(pair) != 2:
        return say(task, False, "return a pair (X, Y) of (C, N) tensors")
    X, Y = (torch.as_tensor(_as_array(t)) for t in pair)
    if X.ndim != 2 or X.shape != Y.shape or X.shape[1] < 2:
        return say(
            task,
            False,
            f"X and Y must be (C, N) with the same C and N, got {tuple(X.shape)} and {tuple(Y.shape)}",
        )
    if not (torch.isfinite(X).all() and torch.isfinite(Y).all()):
        return say(task, False, "the points contain NaN or inf")
    return X, Y


# Set 6: instance norm vs batch norm --------------------------------------------------------------


def _s_norm(F: torch.Tensor, dims: tuple[int, ...], eps: float, correction: int = 0, outside: bool = False):
    mu = F.mean(dims, keepdim=True)
    var = F.var(dims, keepdim=True, correction=correction)
    return (F - mu) / (var.sqrt() + eps if outside else (var + eps).sqrt())


_IN_DIMS, _BN_DIMS = (2, 3), (0, 2, 3)


def _s_norm_cases(seed: int) -> list[Args]:
    gen = torch.Generator().manual_seed(seed)
    return [
        (_s_maps(gen, 2, 3, 4, 4, torch.float32), 1e-5),
        (_s_maps(gen, 3, 5, 3, 3, torch.float64), 1e-5),
        (_s_maps(gen, 4, 2, 5, 6, torch.float64, tiny=True), 1e-5),
        (_s_maps(gen, 2, 4, 3, 5, torch.float32, tiny=True), 1e-5),
    ]


def _s_norm_mistakes(dims: tuple[int, ...]) -> dict[str, Any]:
    return {
        "missing eps: divide by sqrt(var + eps), which stays finite on a constant channel": (
            lambda F, eps: _s_norm(F, dims, 0.0)
        ),
        "eps added outside the square root: divide by sqrt(var + eps), not std + eps": (
            lambda F, eps: _s_norm(F, dims, eps, outside=True)
        ),
        "unbiased variance (divides by N - 1, torch's default): use the population variance, "
        "var(..., correction=0) or unbiased=False": lambda F, eps: _s_norm(F, dims, eps, correction=1),
        "statistics over the channels too (layer norm): normalize every channel separately": (
            lambda F, eps: _s_norm(F, tuple(sorted({1, *dims})), eps)
        ),
    }


def check_instance_norm(student_fn: Callable[..., Any]) -> bool:
    """``instance_norm(F, eps)`` of (B, C, H, W) maps: (x - mu_bc) / sqrt(var_bc + eps), stats per sample
    and channel over positions, population variance, no affine parameters."""
    from . import transforms

    mistakes = {
        "statistics pooled over the batch (that is batch norm): instance norm uses each sample's own mean "
        "and std, over its H x W positions (dims 2, 3)": lambda F, eps: _s_norm(F, _BN_DIMS, eps),
        "statistics over the batch axis only: average over the positions H x W (dims 2, 3) of each sample": (
            lambda F, eps: _s_norm(F, (0,), eps)
        ),
        **_s_norm_mistakes(_IN_DIMS),
    }
    return verdict("instance_norm", student_fn, transforms.instance_norm, _s_norm_cases(601), mistakes)


def check_batch_norm(student_fn: Callable[..., Any]) -> bool:
    """``batch_norm(F, eps)`` of (B, C, H, W) maps (training mode): (x - mu_c) / sqrt(var_c + eps), stats of
    each channel pooled over the batch and all positions, population variance, no affine parameters."""
    from . import transforms

    mistakes = {
        "statistics per sample (that is instance norm): batch norm pools each channel over the whole "
        "batch and all positions (dims 0, 2, 3)": lambda F, eps: _s_norm(F, _IN_DIMS, eps),
        "statistics over the batch axis only, per position: pool over the positions too (dims 0, 2, 3)": (
            lambda F, eps: _s_norm(F, (0,), eps)
        ),
        **_s_norm_mistakes(_BN_DIMS),
    }
    return verdict("batch_norm", student_fn, transforms.batch_norm, _s_norm_cases(602), mistakes)


# Set 7: whitening and coloring (WCT) -------------------------------------------------------------


def _s_moments(F: torch.Tensor, center: bool = True, ddof: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (C, 1) and covariance (C, C) of a (C, N) matrix in float64 (second moment if not center)."""
    F64 = F.to(torch.float64)
    mu = F64.mean(1, keepdim=True) if center else torch.zeros_like(F64[:, :1])
    D = F64 - mu
    return mu, D @ D.T / (F.shape[1] - ddof)


def _s_matrix_fn(S: torch.Tensor, f: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """E diag(f(lam)) E^T of a symmetric matrix (float64)."""
    lam, E = torch.linalg.eigh(S)
    return (E * f(lam)) @ E.T


def _s_whiten(F, eps, f=None, center=True, center_cov=True, ddof=0, pca=False):
    """A whitening variant: f(lam) replaces 1/sqrt(lam + eps); ``pca`` skips the rotation back by E."""
    mu, S = _s_moments(F, center_cov, ddof)
    lam, E = torch.linalg.eigh(S)
    w = (f or (lambda x: (x.clamp_min(0) + eps).rsqrt()))(lam)
    Wm = (E * w).T if pca else (E * w) @ E.T
    X = F.to(torch.float64) - (mu if center else 0)
    return (Wm @ X).to(F.dtype)


def _s_color(Z, style, root=None, center=True, ddof=0, add_mean=True):
    """A coloring variant: root(S_s) replaces the symmetric square root S_s^{1/2}."""
    mu, S = _s_moments(style, center, ddof)
    R = (root or (lambda S: _s_matrix_fn(S, lambda x: x.clamp_min(0).sqrt())))(S)
    out = R @ Z.to(torch.float64) + (mu if add_mean else 0)
    return out.to(Z.dtype)


def _s_singular(gen: torch.Generator, C: int, N: int) -> torch.Tensor:
    """(C, N) content with N < C and a dead (constant) channel: a singular covariance."""
    F = _s_correlated(gen, C, N)
    F[-1] = 0.25
    return F


_NO_REGULARIZATION = "no regularization: use 1 / sqrt(lam + eps) so that zero eigenvalues (N < C) stay finite"
_NOT_CENTERED = "not centering: subtract the content mean mu_c before whitening"
_NOT_CENTERED_COV = "not centering: the covariance is of the centered features, (F - mu)(F - mu)^T / N"
_SQRT_NOT_INVERSE = (
    "sqrt instead of inverse sqrt: whitening multiplies by S_c^{-1/2} = E diag(1/sqrt(lam + eps)) E^T"
)


def _s_whiten_mistakes() -> dict[str, Any]:
    return {
        _NOT_CENTERED: lambda F, eps: _s_whiten(F, eps, center=False),
        _NOT_CENTERED_COV: [
            lambda F, eps: _s_whiten(F, eps, center=False, center_cov=False),
            lambda F, eps: _s_whiten(F, eps, center_cov=False),
        ],
        _SQRT_NOT_INVERSE: lambda F, eps: _s_whiten(F, eps, lambda x: (x.clamp_min(0) + eps).sqrt()),
        "inverse instead of inverse square root: use 1 / sqrt(lam + eps)": (
            lambda F, eps: _s_whiten(F, eps, lambda x: 1 / (x.clamp_min(0) + eps))
        ),
        _NO_REGULARIZATION: lambda F, eps: _s_whiten(F, eps, lambda x: x.rsqrt()),
        "covariance divided by N - 1: use the population covariance (divide by N)": (
            lambda F, eps: _s_whiten(F, eps, ddof=1)
        ),
        "PCA whitening (no rotation back): ZCA whitening is E diag(1/sqrt(lam + eps)) E^T (F - mu)": (
            lambda F, eps: _s_whiten(F, eps, pca=True)
        ),
    }


def check_whiten(student_fn: Callable[..., Any]) -> bool:
    """``whiten(F, eps)`` of a (C, N) matrix: z = E diag(1/sqrt(lam + eps)) E^T (F - mu), float64 inside,
    returned in F's dtype; stays finite on a singular covariance (N < C)."""
    from . import transforms

    gen = torch.Generator().manual_seed(701)
    singular = (_s_singular(gen, 12, 8), 1e-5)
    stop = _s_stop("whiten", student_fn, singular, _NO_REGULARIZATION)
    if stop is not None:
        return stop
    cases = [
        (_s_correlated(gen, 3, 40), 1e-5),
        (_s_correlated(gen, 6, 90, torch.float32), 1e-5),
        (0.03 * _s_correlated(gen, 8, 50), 1e-5),
        singular,
    ]
    reference = lambda F, eps: transforms.whiten(F, eps, rank_tol=0)  # noqa: E731
    return verdict("whiten", student_fn, reference, cases, _s_whiten_mistakes(), rtol=1e-4, atol=1e-6)


def _s_color_mistakes() -> dict[str, Any]:
    return {
        "forgot to add the style mean back: out = S_s^{1/2} z + mu_s": (
            lambda Z, s: _s_color(Z, s, add_mean=False)
        ),
        "multiplied by S_s instead of its square root S_s^{1/2}": lambda Z, s: _s_color(Z, s, lambda S: S),
        "inverse square root instead of square root: coloring multiplies by S_s^{1/2}": (
            lambda Z, s: _s_color(Z, s, lambda S: _s_matrix_fn(S, torch.rsqrt))
        ),
        "not centering the style: its covariance is of (s - mu_s), not the raw second moment": [
            lambda Z, s: _s_color(Z, s, center=False),
            lambda Z, s: (_s_color(Z, s, center=False) + s.mean(1, keepdim=True)).to(Z.dtype),
        ],
        "Cholesky factor instead of the symmetric square root E diag(sqrt(lam)) E^T (both give covariance "
        "S_s, but WCT uses the symmetric one)": lambda Z, s: _s_color(Z, s, torch.linalg.cholesky),
        "covariance divided by N - 1: use the population covariance (divide by N)": (
            lambda Z, s: _s_color(Z, s, ddof=1)
        ),
    }


def check_color(student_fn: Callable[..., Any]) -> bool:
    """``color(Z, style)``: out = S_s^{1/2} z + mu_s with the symmetric square root (float64 inside)."""
    from . import transforms

    gen = torch.Generator().manual_seed(702)
    cases = [
        (_s_normal(gen, 3, 40), _s_correlated(gen, 3, 30)),
        (_s_normal(gen, 6, 50, dtype=torch.float32), _s_correlated(gen, 6, 70, torch.float32)),
        (_s_normal(gen, 8, 60), 5 * _s_correlated(gen, 8, 45)),
    ]
    return verdict("color", student_fn, transforms.color, cases, _s_color_mistakes())


def check_wct(student_fn: Callable[..., Any]) -> bool:
    """``wct(content, style, eps)``: S_s^{1/2} S_c^{-1/2} (x - mu_c) + mu_s with eps regularization."""
    from . import transforms

    gen = torch.Generator().manual_seed(703)
    singular = (_s_singular(gen, 10, 6), _s_correlated(gen, 10, 40), 1e-5)
    stop = _s_stop("wct", student_fn, singular, _NO_REGULARIZATION)
    if stop is not None:
        return stop
    cases = [
        (_s_correlated(gen, 3, 40), _s_correlated(gen, 3, 25), 1e-5),
        (0.05 * _s_correlated(gen, 6, 80, torch.float32), _s_correlated(gen, 6, 50, torch.float32), 1e-5),
        (0.03 * _s_correlated(gen, 5, 50), 4 * _s_correlated(gen, 5, 60), 1e-5),
        singular,
    ]
    whiten_mistakes = {
        message: [lambda c, s, eps, w=w: transforms.color(w(c, eps), s, rank_tol=0) for w in variants]
        for message, wrong in _s_whiten_mistakes().items()
        for variants in [wrong if isinstance(wrong, list) else [wrong]]
    }
    whitened = lambda c, eps: transforms.whiten(c, eps, rank_tol=0)  # noqa: E731
    color_mistakes = {
        message: [lambda c, s, eps, w=w: w(whitened(c, eps), s) for w in variants]
        for message, wrong in _s_color_mistakes().items()
        for variants in [wrong if isinstance(wrong, list) else [wrong]]
    }
    reference = lambda c, s, eps: transforms.wct(c, s, eps=eps, rank_tol=0)  # noqa: E731
    return verdict("wct", student_fn, reference, cases, {**whiten_mistakes, **color_mistakes})


def _s_spectrum_matrix(gen: torch.Generator, lam: torch.Tensor, N: int) -> torch.Tensor:
    """(C, N) features whose population covariance is exactly Q diag(lam) Q^T (Q random orthogonal)."""
    C = lam.shape[0]
    Z = _s_normal(gen, C, N)
    mu, S = _s_moments(Z)
    Z = _s_matrix_fn(S, torch.rsqrt) @ (Z - mu)
    Q, _ = torch.linalg.qr(_s_normal(gen, C, C))
    return (Q * lam.sqrt()) @ Z + _s_normal(gen, C, 1)


def _s_whiten_kept(F: torch.Tensor, keep: Callable[[torch.Tensor], torch.Tensor], center: bool = True):
    mu, S = _s_moments(F)
    lam, E = torch.linalg.eigh(S)
    w = torch.where(keep(lam), lam.clamp_min(1e-300).rsqrt(), torch.zeros_like(lam))
    return ((E * w) @ E.T @ (F.to(torch.float64) - (mu if center else 0))).to(F.dtype)


def check_whiten_pca(student_fn: Callable[..., Any]) -> bool:
    """``whiten_pca(F, rank_tol)``: z = E diag(m / sqrt(lam)) E^T (F - mu), m = [lam > rank_tol * lam_max]:
    whitening on the kept principal subspace only, no eps."""
    from . import transforms

    gen = torch.Generator().manual_seed(704)
    singular = (_s_singular(gen, 12, 8), 1e-8)
    stop = _s_stop(
        "whiten_pca",
        student_fn,
        singular,
        "no truncation: drop the directions with "
        "lam <= rank_tol * lam_max (m = 0) instead of dividing by their ~0 eigenvalues",
    )
    if stop is not None:
        return stop
    spectrum = 100 * torch.logspace(0, -8, 10, dtype=torch.float64)
    cases = [
        (_s_spectrum_matrix(gen, spectrum, 200), 1e-4),
        (_s_spectrum_matrix(gen, spectrum[:7], 120).float(), 1e-3),
        (_s_correlated(gen, 5, 40), 1e-6),
        singular,
    ]
    mistakes = {
        "no truncation: drop the directions with lam <= rank_tol * lam_max (m = 0)": (
            lambda F, tol: _s_whiten_kept(F, lambda lam: lam > 0)
        ),
        "absolute threshold: compare lam with rank_tol * lam_max, relative to the largest eigenvalue": (
            lambda F, tol: _s_whiten_kept(F, lambda lam: lam > tol)
        ),
        "kept the small eigenvalues and dropped the large ones: keep lam > rank_tol * lam_max": (
            lambda F, tol: _s_whiten_kept(F, lambda lam: lam <= tol * lam.max())
        ),
        _NOT_CENTERED: lambda F, tol: _s_whiten_kept(F, lambda lam: lam > tol * lam.max(), center=False),
    }
    reference = lambda F, tol: transforms.whiten(F, eps=0.0, rank_tol=tol)  # noqa: E731
    return verdict("whiten_pca", student_fn, reference, cases, mistakes)


# Set 8: the hierarchy of style losses (mean/std, 1-D OT) -----------------------------------------


def _s_msl(X, Y, eps, var=False, ddof=0, use_mean=True, use_std=True, reduce="sum", square=True):
    """A mean/std loss variant on (C, N) matrices."""

    def sd(M):
        v = M.var(1, correction=ddof) + eps
        return v if var else v.sqrt()

    dmu, dsd = X.mean(1) - Y.mean(1), sd(X) - sd(Y)
    f = (lambda d: d.pow(2)) if square else (lambda d: d.abs())
    per_channel = use_mean * f(dmu) + use_std * f(dsd)
    return per_channel.sum() if reduce == "sum" else per_channel.mean()


def check_mean_std_loss(student_fn: Callable[..., Any]) -> bool:
    """``mean_std_loss(X, Y, eps)``: L_S = sum_c (mu_c(X) - mu_c(Y))^2 + (sigma_c(X) - sigma_c(Y))^2,
    sigma = sqrt(population variance + eps), X (C, N_x) and Y (C, N_y)."""
    from . import losses

    gen = torch.Generator().manual_seed(801)

    def pair(C, nx, ny, dtype, eps):
        return (_s_correlated(gen, C, nx, dtype), 3 * _s_correlated(gen, C, ny, dtype), eps)

    cases = [
        pair(3, 8, 8, torch.float64, 1e-5),
        pair(5, 12, 7, torch.float32, 1e-5),
        pair(4, 9, 15, torch.float64, 0.5),
    ]
    mistakes = {
        "variance instead of std: compare sigma = sqrt(var + eps)": lambda X, Y, eps: _s_msl(
            X, Y, eps, var=True
        ),
        "mean only: L_S also compares the standard deviations": (
            lambda X, Y, eps: _s_msl(X, Y, eps, use_std=False)
        ),
        "std only: L_S also compares the means": lambda X, Y, eps: _s_msl(X, Y, eps, use_mean=False),
        "missing eps: sigma = sqrt(var + eps)": lambda X, Y, eps: _s_msl(X, Y, 0.0),
        "unbiased variance (N - 1): use the population variance, var(..., correction=0)": (
            lambda X, Y, eps: _s_msl(X, Y, eps, ddof=1)
        ),
        "averaged over channels: L_S sums over the channels c": lambda X, Y, eps: _s_msl(
            X, Y, eps, reduce="mean"
        ),
        "absolute differences: L_S adds the squared differences": lambda X, Y, eps: _s_msl(
            X, Y, eps, square=False
        ),
    }
    return verdict("mean_std_loss", student_fn, losses.mean_std_loss, cases, mistakes)


def check_ot1d(student_fn: Callable[..., Any]) -> bool:
    """``ot1d(X, Y)`` with X, Y (C, N) (equal N): L_OT = sum_c (1/N) sum_i (sort(X_c)_i - sort(Y_c)_i)^2."""
    from . import losses

    gen = torch.Generator().manual_seed(802)
    cases = [
        (_s_correlated(gen, 3, 10), _s_correlated(gen, 3, 10) ** 2),
        (_s_correlated(gen, 4, 16, torch.float32), _s_normal(gen, 4, 16, dtype=torch.float32).exp()),
        (_s_correlated(gen, 2, 25), _s_correlated(gen, 2, 25).sign() * 2),
    ]

    def srt(M):
        return M.sort(-1).values

    def w2(X, Y):
        return (X - Y).pow(2).mean(-1)

    mistakes = {
        "not sorting: 1-D OT pairs the sorted values, sort(X_c)_i with sort(Y_c)_i": lambda X, Y: w2(
            X, Y
        ).sum(),
        "sorting only one side: sort both X_c and Y_c": [
            lambda X, Y: w2(srt(X), Y).sum(),
            lambda X, Y: w2(X, srt(Y)).sum(),
        ],
        "sorted one side descending: sort both in increasing order": (
            lambda X, Y: w2(srt(X), srt(Y).flip(-1)).sum()
        ),
        "sorted along the channel axis: sort each channel over its positions (axis -1)": (
            lambda X, Y: w2(X.sort(0).values, Y.sort(0).values).sum()
        ),
        "averaged over channels: L_OT sums over the channels c": lambda X, Y: w2(srt(X), srt(Y)).mean(),
        "summed over positions: W2^2 averages the N squared differences (divide by N)": (
            lambda X, Y: (srt(X) - srt(Y)).pow(2).sum()
        ),
        "took a square root: L_OT adds W2^2, not W2": [
            lambda X, Y: losses.ot1d(X, Y).sqrt(),
            lambda X, Y: w2(srt(X), srt(Y)).sqrt().sum(),
        ],
    }
    return verdict("ot1d", student_fn, losses.ot1d, cases, mistakes)


def _s_var_total(X: torch.Tensor, Y: torch.Tensor) -> float:
    """Total variance of the two clouds, the scale the construction checks measure against."""
    return float(X.var(1, correction=0).sum() + Y.var(1, correction=0).sum()) / 2 + 1e-300


def check_equal_moments_pair(student_fn: Callable[..., Any]) -> bool:
    """``equal_moments_pair()`` -> (X, Y), (C, N) each: L_S = 0 (same per-channel mean and std), L_OT > 0."""
    from . import losses

    pair = _s_construction("equal_moments_pair", student_fn)
    if isinstance(pair, bool):
        return pair
    X, Y = pair
    scale = _s_var_total(X, Y)
    ls, lot = float(losses.mean_std_loss(X, Y, eps=0.0)), float(losses.ot1d(X, Y))
    if ls > 1e-8 * scale:
        return say(
            "equal_moments_pair",
            False,
            f"L_S = {ls:.3g}, not 0: give every channel the same mean and "
            "std in X and Y (standardize each channel: subtract its mean, divide by its std)",
        )
    if lot < 1e-3 * scale:
        return say(
            "equal_moments_pair",
            False,
            f"L_OT = {lot:.3g} is ~0 too: the channels have the same 1-D "
            "distribution; give them different shapes (e.g. Gaussian vs two bumps)",
        )
    return say(
        "equal_moments_pair",
        True,
        f"L_S = 0 (up to rounding) while L_OT = {lot:.3g}: the mean/std loss is "
        "blind to the shape of the distribution, 1-D OT sees it",
    )


def check_equal_marginals_pair(student_fn: Callable[..., Any]) -> bool:
    """``equal_marginals_pair()`` -> (X, Y), (C, N) each: L_OT = 0 (the same values in every channel), but
    different correlations between channels, so the Gram matrices differ."""
    from . import losses, stats

    pair = _s_construction("equal_marginals_pair", student_fn)
    if isinstance(pair, bool):
        return pair
    X, Y = pair
    scale = _s_var_total(X, Y) + float(X.mean(1).pow(2).sum())
    lot = float(losses.ot1d(X, Y))
    gram = float((stats.gram(X) - stats.gram(Y)).pow(2).sum())
    if X.shape[0] < 2:
        return say(
            "equal_marginals_pair", False, "use at least two channels: correlations are between channels"
        )
    if lot > 1e-8 * scale:
        return say(
            "equal_marginals_pair",
            False,
            f"L_OT = {lot:.3g}, not 0: every channel of Y must hold the "
            "same values as in X (e.g. the same numbers in another order)",
        )
    if gram < 1e-3 * scale**2:
        return say(
            "equal_marginals_pair",
            False,
            f"the Gram matrices agree too (||G_X - G_Y||^2 = {gram:.3g}): "
            "pair the channels differently in Y (shuffle one channel's positions)",
        )
    return say(
        "equal_marginals_pair",
        True,
        f"L_OT = 0 (up to rounding) while ||G_X - G_Y||^2 = {gram:.3g}: per-channel "
        "OT is blind to correlations between channels, the Gram matrix sees them",
    )


# Set 9: W2 versus Gram -----------------------------------------------------------------------------


def check_equal_covariance_clouds(student_fn: Callable[..., Any]) -> bool:
    """``equal_covariance_clouds(n, seed)`` -> (X, Y), (2, n) each: equal mean and covariance (so equal Gram
    matrices) but different geometry (exact W2 > 0)."""
    from . import losses, stats

    task = "equal_covariance_clouds"
    pair = _s_construction(task, student_fn, (256, 901))
    if isinstance(pair, bool):
        return pair
    X, Y = pair
    if X.shape[1] != 256:
        return say(task, False, f"asked for n = 256 points, got {X.shape[1]}")
    scale = _s_var_total(X, Y)
    dmu = float((X.mean(1) - Y.mean(1)).pow(2).sum())
    dcov = float((stats.covariance(X) - stats.covariance(Y)).abs().max())
    if dmu > 1e-10 * scale:
        return say(task, False, f"the means differ (||mu_X - mu_Y||^2 = {dmu:.3g}): center both clouds")
    if dcov > 1e-8 * scale:
        return say(
            task,
            False,
            f"the covariances differ (max entry error {dcov:.3g}): whiten each cloud "
            "exactly, z = S^{-1/2} (x - mu) with the population covariance (divide by N)",
        )
    w2 = float(losses.exact_w2(X, Y))
    if w2 < 1e-2 * scale:
        return say(
            task,
            False,
            f"W2^2 = {w2:.3g} is ~0: the clouds have the same geometry; use two different "
            "shapes (e.g. a Gaussian blob and a ring)",
        )
    return say(task, True, f"Gram matrices equal (up to rounding) while W2^2 = {w2:.3g}")


def _s_sliced(X, Y, theta, normalize=True, sort=True, reduce="mean", root=False):
    T = theta.to(torch.float64)
    if normalize:
        T = T / T.norm(dim=1, keepdim=True)
    T = T.to(X.dtype)
    PX, PY = T @ X, T @ Y
    if sort:
        PX, PY = PX.sort(-1).values, PY.sort(-1).values
    per_direction = (PX - PY).pow(2).mean(-1)
    if root:
        per_direction = per_direction.sqrt()
    return per_direction.mean() if reduce == "mean" else per_direction.sum()


def check_sliced_w2(student_fn: Callable[..., Any]) -> bool:
    """``sliced_w2(X, Y, theta)``, X and Y (C, N), theta (L, C) directions (normalize them):
    SW2^2 = (1/L) sum_l W2^2(theta_l^T X, theta_l^T Y) with unit theta_l."""
    from . import losses

    gen = torch.Generator().manual_seed(902)

    def reference(X, Y, theta):
        T = (theta.to(torch.float64) / theta.to(torch.float64).norm(dim=1, keepdim=True)).to(X.dtype)
        return losses.ot1d(T @ X, T @ Y) / T.shape[0]

    cases = [
        (_s_correlated(gen, 2, 50), _s_correlated(gen, 2, 50) ** 2, 3 * _s_normal(gen, 8, 2)),
        (
            _s_correlated(gen, 3, 40, torch.float32),
            _s_normal(gen, 3, 40, dtype=torch.float32),
            _s_normal(gen, 16, 3),
        ),
        (
            _s_correlated(gen, 4, 30),
            _s_correlated(gen, 4, 30).exp(),
            losses.random_directions(4, 12, torch.Generator().manual_seed(9)),
        ),
    ]
    mistakes = {
        "directions not normalized to unit length: divide each theta_l by its norm": (
            lambda X, Y, t: _s_sliced(X, Y, t, normalize=False)
        ),
        "W2 instead of W2^2: do not take a square root": [
            lambda X, Y, t: _s_sliced(X, Y, t).sqrt(),
            lambda X, Y, t: _s_sliced(X, Y, t, root=True),
        ],
        "summed over directions: SW2^2 is the mean over the L directions": (
            lambda X, Y, t: _s_sliced(X, Y, t, reduce="sum")
        ),
        "not sorting the projections: 1-D OT pairs sorted values": lambda X, Y, t: _s_sliced(
            X, Y, t, sort=False
        ),
    }
    return verdict("sliced_w2", student_fn, reference, cases, mistakes)


# Set 10: checkerboard artifacts --------------------------------------------------------------------


def _s_counts(k: int, s: int, n_in: int, step: int) -> torch.Tensor:
    out = torch.zeros((n_in - 1) * step + k, dtype=torch.int64)
    for i in range(n_in):
        out[i * step : i * step + k] += 1
    return out


def check_overlap_pattern(student_fn: Callable[..., Any]) -> bool:
    """``overlap_pattern(k, s, n_in)``: how many kernel taps of a 1-D transposed convolution (kernel k,
    stride s, no padding) hit each of the (n_in - 1) s + k output pixels."""
    from . import artifacts

    cases = [(3, 2, 6), (4, 2, 5), (5, 3, 6), (2, 3, 5), (7, 4, 5), (1, 1, 4)]

    def interior_formula(k, s, n):
        j = torch.arange((n - 1) * s + k)
        return -torch.div(-(k - j % s), s, rounding_mode="floor")

    mistakes = {
        "period k instead of s: input pixel i lands at output i * s (the stride), not i * k": (
            lambda k, s, n: _s_counts(k, s, n, k)
        ),
        "interior formula at the borders: near both ends fewer input pixels contribute": interior_formula,
        "counted input pixels per output with stride 1: input pixel i covers outputs i*s .. i*s + k - 1": (
            lambda k, s, n: _s_counts(k, s, n, 1)
        ),
    }
    return verdict("overlap_pattern", student_fn, artifacts.overlap_pattern, cases, mistakes)


_S_FREQUENCY_CASES = [(3, 2), (4, 2), (5, 3), (6, 3), (5, 4), (7, 4), (8, 4), (2, 3), (3, 1), (7, 5)]


def check_artifact_frequency(student_fn: Callable[..., Any]) -> bool:
    """``artifact_frequency(k, s)``: the frequency (cycles/pixel) of the checkerboard of a transposed
    convolution with kernel k and stride s: 1/s, or 0 when s divides k (even overlap, no artifact)."""
    from . import artifacts

    def reference(k: int, s: int) -> float:
        return artifacts.dominant_frequency(artifacts.interior(artifacts.overlap_pattern(k, s, 32), k, s))

    mistakes = {
        "frequency 1/k: the pattern repeats with the stride s, frequency 1/s": lambda k, s: 1 / k,
        "period instead of frequency: the frequency is 1/s cycles/pixel": lambda k, s: (
            float(s) if k % s else 0.0
        ),
        "always 1/s: when s divides k every pixel gets k/s taps, no artifact (frequency 0)": lambda k, s: (
            1 / s
        ),
    }
    cases = [(k, s) for k, s in _S_FREQUENCY_CASES]
    return verdict("artifact_frequency", student_fn, reference, cases, mistakes, atol=1e-9)


def check_dominant_frequency(student_fn: Callable[..., Any]) -> bool:
    """``dominant_frequency(x)`` of a 1-D signal: the frequency k/L (cycles/pixel) of the largest bin of
    |rfft(x - mean(x))| for k >= 1; 0 for a constant signal."""
    from . import artifacts

    gen = torch.Generator().manual_seed(1003)
    t = torch.arange(64, dtype=torch.float64)
    cases = [
        (5 + torch.cos(2 * torch.pi * 5 * t / 64) + 0.1 * _s_normal(gen, 64),),
        (artifacts.interior(artifacts.overlap_pattern(3, 2, 40).double(), 3, 2),),
        (artifacts.interior(artifacts.overlap_pattern(7, 3, 40).double(), 7, 3),),
        (3 - 2 * torch.sin(2 * torch.pi * 12 * t[:60] / 60) + 0.2 * _s_normal(gen, 60),),
        (torch.full((48,), 2.0, dtype=torch.float64),),
    ]
    mistakes = {
        "frequency 0: remove the mean (or skip the DC bin k = 0) before taking the largest bin": (
            lambda x: 0.0
        ),
        "bin index instead of cycles/pixel: divide the index k by the length L": (
            lambda x: artifacts.dominant_frequency(x) * x.shape[0]
        ),
        "period instead of frequency: return k / L, not L / k": lambda x: 1 / artifacts.dominant_frequency(x),
    }
    return verdict("dominant_frequency", student_fn, artifacts.dominant_frequency, cases, mistakes, atol=1e-9)


def _s_resize_conv(
    x: torch.Tensor,
    kernel: torch.Tensor,
    s: int,
    upsample: str = "nearest",
    pad: str = "replicate",
    flip: bool = False,
) -> torch.Tensor:
    """Nearest upsampling by s, replicate padding ((k-1)//2, k//2), stride-1 cross-correlation (1-D)."""
    import torch.nn.functional as nnf

    k = kernel.shape[0]
    x64 = x.to(torch.float64)
    if upsample == "nearest":
        up = x64.repeat_interleave(s)
    else:  # zeros between the pixels, as a transposed convolution does
        up = torch.zeros(x64.shape[0] * s, dtype=torch.float64)
        up[::s] = x64
    w = kernel.to(torch.float64).flip(0) if flip else kernel.to(torch.float64)
    padded = nnf.pad(up[None, None], ((k - 1) // 2, k // 2), mode=pad)
    return nnf.conv1d(padded, w[None, None])[0, 0]


def check_resize_conv(student_fn: Callable[..., Any]) -> bool:
    """``resize_conv(x, kernel, s)`` of a 1-D signal: nearest upsampling by s (each pixel repeated s times),
    replicate padding ((k-1)//2 before, k//2 after), then a stride-1 cross-correlation with the kernel
    (like torch's conv1d). Output length len(x) * s. On a constant input it equals
    :func:`nstlab.artifacts.resize_conv_output`."""
    from . import artifacts

    gen = torch.Generator().manual_seed(1004)
    cases = [
        (torch.ones(8, dtype=torch.float64), _s_normal(gen, 3), 2),
        (_s_normal(gen, 10), _s_normal(gen, 4), 2),
        (_s_normal(gen, 7).exp(), _s_normal(gen, 5), 3),
        (torch.ones(6, dtype=torch.float64), _s_normal(gen, 4), 3),
    ]

    def reference(x, kernel, s):
        if bool((x == 1).all()):
            return artifacts.resize_conv_output(kernel.shape[0], s, x.shape[0], 1, kernel)
        return _s_resize_conv(x, kernel, s)

    mistakes = {
        "inserted zeros between pixels (that is the transposed convolution: the checkerboard stays); "
        "repeat every pixel s times (nearest upsampling)": lambda x, w, s: _s_resize_conv(x, w, s, "zeros"),
        "zero padding: the border dips; pad by repeating the edge pixel (replicate)": (
            lambda x, w, s: _s_resize_conv(x, w, s, pad="constant")
        ),
        "flipped kernel (np.convolve flips): use cross-correlation like torch's conv1d": (
            lambda x, w, s: _s_resize_conv(x, w, s, flip=True)
        ),
    }
    return verdict("resize_conv", student_fn, reference, cases, mistakes)
