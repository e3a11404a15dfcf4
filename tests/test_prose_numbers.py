"""Every number in the prose that retells the chapters is accounted for, so that the prose cannot drift.

The source digest, the glossary, the answers to the chapter questions and the summaries of chapters and
exercise sets retell what the chapters compute. A measured number that a chapter prints is not restated
there: the prose says what the measurement shows and names the chapter section that makes it. A number
the prose does state is listed below, for its file, as one of

- ``DERIVED``: an input the sentence sets, or arithmetic and closed forms shown beside it on the page
  (``0.25 V + 0.25 \\cdot 4V = 1.25 V``), which a reader checks by hand;
- the name of the test in ``tests/test_text_claims.py`` that recomputes it from the library.

A decimal number or a percentage added to these files without a listing fails, as does a listing whose
number is no longer there or whose test does not exist (CONTRIBUTING.md, "Adding a claim to the prose").
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import test_text_claims

ROOT = Path(__file__).resolve().parents[1]
DERIVED = "derived on the page"
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?%|(?<![\w.])\d+\.\d+(?![\w.])")

_COLORINGS = "test_order_of_the_four_colorings_and_its_gaps"
_SEFF = "test_seff_is_a_weighted_mean_not_the_largest_constrained_scale"
_CHECKERBOARD = "test_checkerboard_power_at_a_quarter_is_twice_that_at_a_half"
_MEMORY = "test_style_layer_feature_maps_outweigh_their_gram_matrices"

PINNED: dict[str, dict[str, str]] = {
    "notebooks/source_digest.md": {
        "45.8": _SEFF,  # S_eff = 229/5 of Gatys' layers
        "0.60": _SEFF,  # R = 45.8/76
        "1.25": _CHECKERBOARD,
        "1.75": _CHECKERBOARD,
        "0.5": _CHECKERBOARD,
        "0.25": _CHECKERBOARD,
        "30.5": _MEMORY,
        "2.33": _MEMORY,
    },
    "notebooks/glossary.md": {"1.2": DERIVED},  # the Rosenbrock start (-1.2, 1)
    "solutions/answers/02_shrinkage.md": {k: DERIVED for k in ("0.2", "0.4", "0.5", "0.25", "1.25")},
    "solutions/answers/04_layers_and_receptive_fields.md": {
        "45.8": _SEFF,
        "52%": DERIVED,  # 132 / 256
        "18%": DERIVED,  # 45.8 / 256
        "13%": DERIVED,  # 132 / 1024
        "4.5%": DERIVED,  # 45.8 / 1024
    },
    "solutions/answers/05_adain_and_entropy.md": {
        k: DERIVED for k in ("0.8", "0.2", "1.10", "0.22", "80%", "20%")
    },
    "solutions/answers/06_wct.md": {"2.5": DERIVED, "0.5": DERIVED},
    "solutions/answers/08_memory_block_gram.md": {"2.33": _MEMORY, "4.7": _MEMORY},
    "solutions/answers/09_checkerboard.md": {k: DERIVED for k in ("0.25", "0.5", "0.75", "1.25")},
    "solutions/answers/10_fast_feedforward.md": {k: DERIVED for k in ("2.1", "1.5", "2.7", "5.3")},
    "solutions/answers/11_applications.md": {"0.01": DERIVED},  # the assert's tolerance
}


def _summaries(path: Path) -> str:
    """The summary cells of a chapter or an exercise set."""
    nb = nbformat.read(path, as_version=4)
    return "\n".join(
        c.source for c in nb.cells if c.cell_type == "markdown" and c.source.lstrip().startswith("## Summary")
    )


def prose_files() -> dict[str, str]:
    """Every file whose prose retells the chapters, with the text that is checked."""
    texts = {
        f"notebooks/{name}": (ROOT / "notebooks" / name).read_text()
        for name in ("source_digest.md", "glossary.md")
    }
    texts |= {
        f"solutions/answers/{p.name}": p.read_text()
        for p in sorted((ROOT / "solutions/answers").glob("*.md"))
    }
    for folder in ("notebooks", "solutions"):
        for path in sorted((ROOT / folder).glob("[0-9][0-9]_*.ipynb")):
            texts[f"{folder}/{path.name} (summary)"] = _summaries(path)
    return texts


def numbers_in(text: str) -> set[str]:
    """The decimal numbers and percentages of a text, outside links (``arXiv:1603.07285``, URLs)."""
    text = re.sub(r"arXiv:\s*\d+\.\d+|\]\([^)]*\)|https?://\S+", "", text)
    return {re.sub(r"\s", "", m.group()) for m in NUMBER.finditer(text)}


@pytest.mark.parametrize(("name", "text"), sorted(prose_files().items()))
def test_every_number_in_the_prose_is_derived_or_pinned(name, text):
    listed = PINNED.get(name, {})
    unlisted = sorted(numbers_in(text) - set(listed))
    assert not unlisted, (
        f"{name} states {unlisted}, listed nowhere in tests/test_prose_numbers.py: name the chapter section "
        "that measures it instead, or list it as DERIVED (an input, or arithmetic shown on the page) or with "
        "the test of tests/test_text_claims.py that recomputes it"
    )


def test_every_listing_is_still_in_its_file_and_names_a_real_test():
    texts = prose_files()
    for name, listed in PINNED.items():
        assert name in texts, f"{name} is listed but is not a prose file"
        gone = sorted(set(listed) - numbers_in(texts[name]))
        assert not gone, f"{name} no longer states {gone}: remove them from PINNED"
        for number, pin in listed.items():
            assert pin == DERIVED or callable(getattr(test_text_claims, pin, None)), (
                f"{name}: {number} is pinned by {pin}, which is not a test in tests/test_text_claims.py"
            )


def test_the_check_finds_a_restated_measurement():
    """The check itself: a measured number in a sentence is found, a link target and an arXiv id are not."""
    text = "the error is 62.3 at lambda = 0 (22 % less), see [x](a.ipynb#s1.2) and arXiv:1603.07285"
    assert numbers_in(text) == {"62.3", "22%"}
