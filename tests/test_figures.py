"""The intuition figures draw what their captions claim: checked on the drawn artists against closed forms
and published numbers, not only that they render."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from matplotlib.patches import Rectangle

from nstlab import figures


def _covariance(points: np.ndarray) -> np.ndarray:
    d = points - points.mean(0)
    return d.T @ d / len(points)


@pytest.mark.parametrize(
    "draw",
    [figures.wct_ellipses, figures.wct_rank_one, figures.receptive_field_schematic, figures.nst_pipeline],
)
def test_every_figure_shows_itself_as_a_png(draw):
    fig = draw()
    assert isinstance(fig, figures.CodeFigure)
    png = fig._repr_png_()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_wct_ellipses_whiten_to_a_circle_and_colour_to_the_style():
    fig = figures.wct_ellipses(n=300, seed=0)
    content, white, out = (ax.collections[-1].get_offsets().data for ax in fig.axes[:3])
    style = fig.axes[2].collections[0].get_offsets().data  # the grey style cloud drawn under the output
    np.testing.assert_allclose(_covariance(white), np.eye(2), atol=1e-9)
    np.testing.assert_allclose(_covariance(out), _covariance(style), atol=1e-9)
    np.testing.assert_allclose(out.mean(0), style.mean(0), atol=1e-9)
    assert not np.allclose(_covariance(content), _covariance(style), atol=0.1)


def test_wct_rank_one_titles_give_the_eckart_young_error():
    """The style cloud has covariance R diag(1.8^2, 0.5^2) R^T exactly; its best rank-one approximation
    misses only the small eigenvalue, so the aligned map's error is 0.25 / ||(3.24, 0.25)||."""
    fig = figures.wct_rank_one()
    errors = {
        ax.get_title().split("\n")[0]: float(re.search(r"error to Sigma_s ([\d.]+)", ax.get_title()).group(1))
        for ax in fig.axes[1:4]
    }
    optimum = 0.5**2 / np.hypot(1.8**2, 0.5**2)
    assert errors["aligned (Eckart-Young)"] == pytest.approx(optimum, abs=0.006)
    assert min(errors.values()) == errors["aligned (Eckart-Young)"]


def test_receptive_field_squares_have_the_published_vgg16_sizes():
    # Araujo et al. 2019 ("Computing Receptive Fields of Convolutional Neural Networks"), VGG16 table
    fig = figures.receptive_field_schematic(image=torch.rand(1, 3, 150, 160))
    sizes = {
        p.get_label().split(":")[0]: p.get_width() for p in fig.axes[1].patches if isinstance(p, Rectangle)
    }
    assert sizes == {"relu1_1": 3, "relu2_1": 10, "relu3_1": 24, "relu4_1": 60, "relu5_1": 132}


def test_nst_pipeline_names_a_layer_it_cannot_draw():
    with pytest.raises(ValueError, match="relu9_1"):
        figures.nst_pipeline(style_layers=("relu1_1", "relu9_1"))
