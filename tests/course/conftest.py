"""Course runs: every chapter and exercise set executed (their copies feed the site) and the exercise sets
graded by nbgrader. Minutes, not seconds: they run only when selected (``pytest -m course tests/course``,
``make test-course``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))


def pytest_collection_modifyitems(config, items):
    if "course" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="course run: select it with -m course (make test-course)")
    for item in items:
        if "course" in item.keywords:
            item.add_marker(skip)
