"""Course runs: every chapter and exercise set executed (their copies feed the site) and the exercise sets
graded by nbgrader. Minutes, not seconds: they run only when selected (``pytest -m course tests/course``,
``make test-course``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
