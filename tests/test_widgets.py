"""Tests of nstlab.widgets: each demo's update gives a figure and numbers that are right by an independent
property, and the real ipywidgets.interactive object reacts to a control change."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from seeded import rand

from nstlab import transforms, widgets

matplotlib.use("Agg")


def check_view(view: widgets.View) -> None:
    assert isinstance(view, widgets.View)
    assert isinstance(view.figure, Figure)
    assert view.numbers and all(isinstance(v, float) and math.isfinite(v) for v in view.numbers.values())


def slider(w, name: str):
    """The control of the interactive ``w`` that sets the keyword ``name``."""
    return next(c for c in w.kwargs_widgets if c._kwarg == name)


# ---------------------------------------------------------------------------------------------------


def test_interactive_view_calls_update_and_shows_png():
    calls = []

    def update(a: float) -> widgets.View:
        calls.append(a)
        fig = Figure()
        fig.subplots().plot([0, a])
        return widgets.View(fig, {"a": a})

    import ipywidgets

    w = widgets.interactive_view(update, a=ipywidgets.FloatSlider(value=0.5, min=0, max=1))
    assert calls == [0.5] and w.result.numbers == {"a": 0.5}
    w.children[0].value = 0.25
    assert calls[-1] == 0.25 and w.kwargs == {"a": 0.25} and w.result.numbers["a"] == 0.25
    assert w.result.png()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------------------------------


def test_shrinkage_endpoints_and_numbers():
    C, N = 12, 15
    S = torch.diag(torch.linspace(0.5, 3.0, C, dtype=torch.float64))
    F = S.sqrt() @ rand(C, N, seed=1)
    demo = widgets.ShrinkageDemo(F, true_cov=S)
    Fn = F.numpy()
    G = Fn @ Fn.T / N  # numpy reference of the Gram estimate
    np.testing.assert_allclose(demo.estimate(0.0).numpy(), G, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(demo.estimate(1.0).numpy(), np.trace(G) / C * np.eye(C), atol=1e-12)

    v0, v1 = demo.update(0.0), demo.update(1.0)
    check_view(v0)
    assert v0.numbers["condition_number"] == pytest.approx(np.linalg.cond(G), rel=1e-8)
    assert v1.numbers["condition_number"] == pytest.approx(1.0, abs=1e-9)  # the target: a scaled identity
    assert v0.numbers["mse"] == pytest.approx(((G - S.numpy()) ** 2).sum(), rel=1e-10)
    assert 0.0 <= v0.numbers["ledoit_wolf_lambda"] <= 1.0
    # with N ~ C shrinkage helps: some lam between beats the raw Gram (the text's bias-variance trade)
    assert min(demo.update(lam).numbers["mse"] for lam in (0.2, 0.4, 0.6)) < v0.numbers["mse"]


def test_shrinkage_widget_reacts():
    demo = widgets.ShrinkageDemo(rand(8, 10, seed=2))
    w = demo.widget()
    before = w.result.numbers["condition_number"]
    slider(w, "lam").value = 0.9 if w.result.numbers["lam"] < 0.5 else 0.05
    assert w.result.numbers["condition_number"] != before


# ---------------------------------------------------------------------------------------------------


def test_layer_choice_scales_by_hand():
    # VGG16 receptive fields by hand: relu1_1 3, relu2_1 10, relu3_1 24, relu4_2 76 pixels
    frames = {"up to relu3_1": torch.rand(1, 3, 40, 48)}
    demo = widgets.LayerChoiceDemo("vgg16-hed", frames=frames, content=torch.rand(1, 3, 40, 48))
    v = demo.update("up to relu3_1")
    check_view(v)
    assert v.numbers["S_eff"] == pytest.approx((3 + 10 + 24) / 3)
    assert v.numbers["C_eff"] == pytest.approx(76)
    assert v.numbers["R"] == pytest.approx((3 + 10 + 24) / 3 / 76)
    check_view(demo.update("relu1_1"))  # no frame for this set: a hint instead of a picture
    with pytest.raises(ValueError, match="unknown layer set"):
        demo.update("relu9_9")


def test_precomputed_layer_frames_feed_the_layer_choice_demo():
    sets = {"relu1_1": ["relu1_1"], "up to relu3_1": ["relu1_1", "relu2_1", "relu3_1"]}
    content = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    frames = widgets.precompute_layer_frames(
        content, "strokes", layer_sets=sets, size=32, steps=2, backbone="random-vgg16"
    )
    assert list(frames) == list(sets)
    assert all(f.shape == (1, 3, 32, 32) and 0 <= f.min() and f.max() <= 1 for f in frames.values())
    assert not torch.equal(frames["relu1_1"], frames["up to relu3_1"])  # other layers, other picture
    demo = widgets.LayerChoiceDemo("random-vgg16", frames=frames, content=content, layer_sets=sets)
    check_view(demo.update("up to relu3_1"))
    with pytest.raises(ValueError, match="layer_sets is empty"):
        widgets.precompute_layer_frames(content, "strokes", layer_sets={}, size=32, steps=1)


def test_layer_choice_widget_reacts():
    w = widgets.LayerChoiceDemo().widget()
    deep = w.result.numbers["S_eff"]
    slider(w, "layer_set").value = "relu1_1"
    assert w.result.numbers["S_eff"] == pytest.approx(3) and deep > 3


# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def adain_demo(hed):
    return widgets.AdaINDemo("chelsea", "strokes", backbone=hed, layer="relu2_1", size=64)


def test_adain_matches_style_statistics(adain_demo):
    demo = adain_demo
    v = demo.update(1.0)
    check_view(v)
    t = demo.transfer(1.0)[0].flatten(1).double()
    s = demo.style[0].flatten(1).double()
    live = demo.live
    # independent statistics: torch's mean and population std on the informative channels
    np.testing.assert_allclose(t.mean(1)[live], s.mean(1)[live], rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(t.std(1, correction=0)[live], s.std(1, correction=0)[live], rtol=1e-3)
    assert v.numbers["mean_error"] < 1e-3 and v.numbers["std_error"] < 1e-3
    # the entropy change of an affine map is log of its slope (histogram estimator is affine-equivariant)
    assert v.numbers["entropy_error"] < 1e-4
    assert torch.equal(demo.transfer(0.0), demo.content)  # alpha = 0 returns the content
    assert demo.update(0.0).numbers["entropy_change"] == pytest.approx(0.0, abs=1e-6)


def test_adain_from_features_entropy_is_log_sigma_ratio():
    c = 2.0 * rand(4, 3000, seed=3) + 1.0
    s = 0.5 * rand(4, 3000, seed=4) - 1.0
    v = widgets.AdaINDemo.from_features(c, s).update(1.0)
    # log(sigma_s / sigma_c) = log(0.25) up to sampling error of the stds
    assert v.numbers["log_sigma_ratio"] == pytest.approx(math.log(0.25), abs=0.05)
    assert v.numbers["entropy_change"] == pytest.approx(v.numbers["log_sigma_ratio"], abs=1e-4)


def test_adain_widget_reacts_and_decodes(adain_demo):
    decoded = []
    demo = widgets.AdaINDemo.from_features(
        adain_demo.content, adain_demo.style, decode=lambda f: decoded.append(f) or torch.rand(1, 3, 16, 16)
    )
    w = demo.widget()
    assert w.result.numbers["alpha"] == 1.0
    slider(w, "alpha").value = 0.3
    assert w.result.numbers["alpha"] == 0.3 and len(decoded) == 2
    assert w.result.numbers["entropy_change"] != pytest.approx(demo.update(1.0).numbers["entropy_change"])


# ---------------------------------------------------------------------------------------------------


def test_demos_reject_features_of_two_layers_and_a_decoder_that_is_not_callable():
    for demo in (widgets.AdaINDemo, widgets.WCTDemo):
        with pytest.raises(ValueError, match="content has C = 4 channels, style C = 5; use one layer"):
            demo.from_features(rand(4, 30), rand(5, 30, seed=1))
        with pytest.raises(TypeError, match="decode must be a callable"):
            demo.from_features(rand(4, 30), rand(4, 30, seed=1), decode="resize")


def test_wct_whitens_and_colors_like_the_library():
    C, N = 6, 5000
    c = rand(C, C, seed=5) @ rand(C, N, seed=6) + 3.0
    s = rand(C, C, seed=7) @ rand(C, N, seed=8) - 1.0
    demo = widgets.WCTDemo.from_features(c, s)
    v = demo.update(1e-10, 1.0)
    check_view(v)
    z, out = demo.transfer(1e-10, 1.0)
    cov_z = np.cov(z[0].flatten(1).double().numpy(), bias=True)
    np.testing.assert_allclose(cov_z, np.eye(C), atol=1e-4)  # N >> C: whitened covariance ~ I
    cov_out = np.cov(out[0].flatten(1).double().numpy(), bias=True)
    cov_s = np.cov(s.numpy(), bias=True)
    np.testing.assert_allclose(cov_out, cov_s, rtol=1e-3, atol=1e-3 * np.abs(cov_s).max())
    assert v.numbers["identity_error"] < 1e-6 and v.numbers["color_error"] < 1e-6
    ref = transforms.wct(demo.content, demo.style, alpha=0.4, eps=1e-2)
    np.testing.assert_allclose(demo.transfer(1e-2, 0.4)[1].numpy(), ref.numpy(), rtol=1e-8, atol=1e-8)
    lam = np.linalg.eigvalsh(np.cov(c.numpy(), bias=True))
    eps = 0.5
    assert demo.update(eps).numbers["condition_number"] == pytest.approx(
        (lam[-1] + eps) / (lam[0] + eps), rel=1e-6
    )


def test_wct_singular_real_features_and_widget(hed):
    # relu3_1 of a 64 px image: 16 x 11 = 176 positions < C = 256, a singular content covariance
    demo = widgets.WCTDemo("chelsea", "strokes", backbone=hed, layer="relu3_1", size=64)
    N = demo.content[0, 0].numel()
    v = demo.update(1e-5, 1.0)
    check_view(v)
    assert v.numbers["rank"] <= N - 1 < demo.content.shape[1]
    assert v.numbers["whiten_error"] < 1e-2  # identity on the kept subspace
    w = demo.widget()
    before = dict(w.result.numbers)
    slider(w, "eps").value = 1.0
    assert w.result.numbers["eps"] == 1.0
    assert w.result.numbers["condition_number"] < before["condition_number"]  # eps I conditions it
    slider(w, "alpha").value = 0.5
    assert w.result.numbers["color_error"] != before["color_error"]


# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("k", "s"), [(3, 2), (5, 3), (3, 4), (7, 2)])
def test_checkerboard_uneven_kernel_peaks_at_one_over_stride(k, s):
    v = widgets.CheckerboardDemo(size=64).update(k, s)
    check_view(v)
    assert v.numbers["dominant_frequency"] == pytest.approx(1 / s)
    assert v.numbers["inverse_stride"] == pytest.approx(1 / s)
    # interior pixel j gets ceil((k - j mod s) / s) taps: max ceil(k/s), min floor(k/s), mean k/s
    assert v.numbers["overlap_spread"] == pytest.approx((math.ceil(k / s) - k // s) / (k / s))
    assert v.numbers["checkerboard_strength"] > 0.99 and v.numbers["resize_strength"] == 0.0


@pytest.mark.parametrize(("k", "s"), [(4, 2), (6, 3), (8, 4), (5, 1)])
def test_checkerboard_flat_when_stride_divides_kernel(k, s):
    v = widgets.CheckerboardDemo(size=64).update(k, s)
    assert v.numbers["overlap_spread"] == 0.0
    assert v.numbers["dominant_frequency"] == 0.0 and v.numbers["checkerboard_strength"] == 0.0


def test_checkerboard_widget_reacts():
    w = widgets.CheckerboardDemo(size=32).widget()
    assert w.result.numbers["dominant_frequency"] == pytest.approx(0.5)  # k = 3, s = 2
    slider(w, "stride").value = 4
    assert w.result.numbers["dominant_frequency"] == pytest.approx(1 / 4)
    slider(w, "kernel_size").value = 8
    assert w.result.numbers["checkerboard_strength"] == 0.0
