import pytest
import torch

from nstlab import images, losses, optimize


@pytest.fixture(scope="module")
def run(hed):
    """One small real stylization on the pretrained backbone, shared by the tests below."""
    frames = []
    result = optimize.stylize(
        "chelsea",
        "strokes",
        backbone=hed,
        size=64,
        style_size=48,
        steps=40,
        progress=False,
        style_weight=10,
        callback=lambda step, img, terms: frames.append((step, img)),
        callback_every=10,
    )
    return result, frames


def test_style_loss_falls_many_fold_and_content_stays_bounded(run, hed):
    result, _ = run
    style, content = result.losses("style"), result.losses("content")
    assert style[-1] < style[0] / 20
    # bounded: the content term holds the result much closer to the content (in content features)
    # than the same optimization without it
    objective = optimize.Objective(
        hed, images.load("chelsea", size=64), None, {"relu4_2": 1.0}, {}, 1.0, 0.0, 0.0
    )
    free = optimize.stylize(
        "chelsea", "strokes", backbone=hed, size=64, style_size=48, steps=40, progress=False, style_weight=10,
        content_weight=0,
    )
    free_content = float(objective(free.image)[1]["content"])
    assert content[-1] < 0.7 * free_content, (content[-1], free_content)


def test_result_is_an_image_of_the_content_size(run):
    result, _ = run
    assert result.image.shape == images.load("chelsea", size=64).shape
    assert 0 <= result.image.min() and result.image.max() <= 1
    assert len(result.history) == 40 and result.history[-1]["step"] == 40


def test_callback_gets_intermediate_images(run):
    _, frames = run
    assert [s for s, _ in frames] == [10, 20, 30, 40]
    assert not torch.equal(frames[0][1], frames[-1][1])


def test_layer_normalization_makes_the_zero_map_cost_one():
    """Each layer's loss is divided by its value on an all-zero feature map: that map scores exactly 1."""
    net = optimize.load_backbone("random-vgg16", device="cpu")
    style = images.load("mosaic", size=32)
    objective = optimize.Objective(net, None, style, {}, {"relu1_1": 0.5, "relu2_1": 0.5}, 0.0, 1.0, 0.0)
    for name, target in objective.style_targets.items():
        zeros = torch.zeros(1, net.channels[name], 4, 4)
        ratio = losses.gram_loss(zeros, target) / objective.style_scales[name]
        assert ratio == pytest.approx(1.0, rel=1e-6)


def test_texture_synthesis_and_adam_on_a_random_backbone():
    kw = dict(backbone="random-vgg16", size=32, steps=5, progress=False)
    a = optimize.stylize(None, "waves", optimizer="adam", seed=1, **kw)
    b = optimize.stylize(None, "waves", optimizer="adam", seed=1, **kw)
    c = optimize.stylize(None, "waves", optimizer="adam", seed=2, **kw)
    assert torch.equal(a.image, b.image) and not torch.equal(a.image, c.image)
    assert a.history[-1]["style"] < a.history[0]["style"]
    assert a.history[-1]["content"] == 0.0


def test_bad_arguments_get_clear_errors():
    kw = dict(backbone="random-vgg16", size=32, progress=False)
    with pytest.raises(ValueError, match="positive integer"):
        optimize.stylize("chelsea", "waves", steps=0, **kw)
    with pytest.raises(ValueError, match="unknown optimizer"):
        optimize.stylize("chelsea", "waves", steps=1, optimizer="sgd", **kw)
    with pytest.raises(ValueError, match="unknown init"):
        optimize.stylize("chelsea", "waves", steps=1, init="zeros", **kw)
    with pytest.raises(ValueError, match="unknown layer.*valid names"):
        optimize.stylize("chelsea", "waves", steps=1, style_layers=["relu9_1"], **kw)
    with pytest.raises(ValueError, match="unknown style loss"):
        optimize.stylize("chelsea", "waves", steps=1, style_loss="nope", **kw)
    with pytest.raises(ValueError, match="content image, a style image or both"):
        optimize.stylize(None, None, steps=1, **kw)
    with pytest.raises(ValueError, match="positive"):
        optimize.stylize("chelsea", "waves", steps=1, backbone="random-vgg16", size=0, progress=False)


def test_invert_recovers_an_image_from_its_own_shallow_features(hed):
    img = images.load("astronaut", size=48)
    target = hed.features(img, ["relu2_1"])
    res = optimize.invert(target, tuple(img.shape[-2:]), backbone=hed, steps=40, tv_weight=0, progress=False)
    start = optimize.invert(target, tuple(img.shape[-2:]), backbone=hed, steps=1, tv_weight=0, progress=False)
    assert res.losses("content")[-1] < 0.05 * start.losses("content")[0]
    # pixels come back, not just features: far closer to the image than the noise it started from
    assert (res.image - img).abs().mean() < 0.5 * (start.image - img).abs().mean()


def test_invert_rejects_targets_of_the_wrong_size(hed):
    target = hed.features(images.load("astronaut", size=48), ["relu2_1"])
    with pytest.raises(ValueError, match="shape"):
        optimize.invert(target, (64, 64), backbone=hed, steps=1, progress=False)
