"""Shared test settings: CI budget, two threads, a non-interactive matplotlib, seeds."""

import os

os.environ.setdefault("NSTLAB_BUDGET", "ci")
# spin-waiting OpenMP threads make runs on shared cores 10-100x slower (benchmarks/README.md, statistics)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(2)


# Slow suites that run only when selected by their marker: `pytest -m course` (make test-course) executes
# the notebooks, `pytest -m browser` (make test-browser) drives Chromium.
OPT_IN = {"course": "make test-course", "browser": "make test-browser"}


def pytest_collection_modifyitems(config, items):
    chosen = config.option.markexpr or ""
    for marker, target in OPT_IN.items():
        if marker in chosen:
            continue
        skip = pytest.mark.skip(reason=f"{marker} test: select it with -m {marker} ({target})")
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def hed():
    """The real vgg16-hed backbone; `make test` fetches its weights first.

    Outside CI a missing download skips these tests with the command to run; in CI it fails.
    """
    from nstlab import backbones, weights

    try:
        return backbones.load_backbone("vgg16-hed", device="cpu")
    except weights.WeightsError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"vgg16-hed weights not fetched: run `nstlab weights fetch` ({e})")
