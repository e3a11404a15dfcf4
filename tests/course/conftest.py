"""Course runs: the exercise sets graded by nbgrader (nbval runs the notebooks themselves, in
``make test-course``). Minutes, not seconds: they run only when selected (``pytest -m course tests/course``,
``make test-course``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
