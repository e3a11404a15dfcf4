import pytest
import torch

from nstlab import backbones, layers


@pytest.fixture(scope="module")
def rand16():
    return backbones.load_backbone("random-vgg16", device="cpu")


def test_layer_names_follow_the_vgg_architectures():
    names16 = [n for n, *_ in layers.vgg_layers("vgg16")]
    names19 = [n for n, *_ in layers.vgg_layers("vgg19")]
    assert sum(n.startswith("conv") for n in names16) == 13  # VGG "D"
    assert sum(n.startswith("conv") for n in names19) == 16  # VGG "E"
    assert names16[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]
    assert "conv5_4" in names19 and "conv5_4" not in names16
    with pytest.raises(ValueError, match="unknown VGG architecture 'vgg11'"):
        layers.vgg_layers("vgg11")


def test_layer_weights_from_names_or_a_mapping():
    assert layers.layer_weights("relu1_1") == {"relu1_1": 1.0}
    assert layers.layer_weights(["a", "b"]) == {"a": 1.0, "b": 1.0}
    assert layers.layer_weights({"a": 0.0, "b": 2.0}) == {"a": 0.0, "b": 2.0}
    for bad in ([], {"a": -1.0, "b": 2.0}, {"a": 0.0}):
        with pytest.raises(ValueError, match="weights >= 0 and a positive sum"):
            layers.layer_weights(bad)


@pytest.mark.parametrize("low, high", [(0.0, 255.0), (-0.1, 0.5), (0.0, 1.01)])
def test_features_reject_values_outside_the_unit_range(rand16, low, high):
    img = torch.linspace(low, high, 3 * 16 * 16).reshape(1, 3, 16, 16)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\].*divide 0-255 pixel values by 255"):
        rand16.features(img, ["relu1_1"])
    rand16.features(img.clamp(0, 1), ["relu1_1"])  # the edges 0 and 1 themselves are fine
    rand16.features(img, ["relu1_1"], check_range=False)  # the opt-out for an unclamped decoder output


def test_features_stop_at_the_deepest_requested_layer(rand16):
    ran = []
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: ran.append(n)) for n, m in rand16.layers.items()]
    try:
        out = rand16.features(torch.rand(1, 3, 32, 32), ["relu1_1", "relu3_1"])
    finally:
        for h in hooks:
            h.remove()
    assert set(out) == {"relu1_1", "relu3_1"}
    assert ran[-1] == "relu3_1" and "conv3_2" not in ran
    assert out["relu3_1"].shape == (1, 256, 8, 8)


def test_features_are_differentiable_wrt_the_image(rand16):
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    rand16.features(x, ["relu2_1"])["relu2_1"].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in rand16.parameters())


def test_unknown_layer_lists_valid_names(rand16):
    with pytest.raises(ValueError, match="unknown layer.*valid names: conv1_1, relu1_1"):
        rand16.features(torch.rand(1, 3, 16, 16), ["conv4_9"])


def test_unknown_backbone_lists_known_ones():
    with pytest.raises(ValueError, match="known backbones: vgg16-hed, vgg19, random-vgg16, random-vgg19"):
        backbones.load_backbone("resnet50")


def test_image_too_small_for_the_depth(rand16):
    with pytest.raises(ValueError, match="too small for layer pool"):
        rand16.features(torch.rand(1, 3, 8, 8), ["relu5_1"])


def test_caffe_preprocessing_of_the_hed_backbone(hed):
    rgb = torch.tensor([0.2, 0.5, 0.8]).view(1, 3, 1, 1).expand(1, 3, 2, 2)
    expected = torch.tensor([0.8 * 255 - 103.939, 0.5 * 255 - 116.779, 0.2 * 255 - 123.68])
    torch.testing.assert_close(hed.preprocess(rgb)[0, :, 0, 0], expected)


def test_imagenet_preprocessing_of_random_backbones(rand16):
    x = torch.full((1, 3, 1, 1), 0.485)
    assert rand16.preprocess(x)[0, 0, 0, 0].abs() < 1e-6


def test_random_backbones_are_seeded_kaiming_normal():
    a = backbones._random_state("vgg16", seed=5)
    b = backbones._random_state("vgg16", seed=5)
    c = backbones._random_state("vgg16", seed=6)
    assert torch.equal(a["conv3_2.weight"], b["conv3_2.weight"])
    assert not torch.equal(a["conv3_2.weight"], c["conv3_2.weight"])
    w = a["conv4_1.weight"]  # fan-in 256*9
    assert abs(w.std().item() / (2 / (256 * 9)) ** 0.5 - 1) < 0.01


def test_hed_has_the_real_pretrained_filters(hed):
    """conv1_1 of a trained VGG is a bank of oriented edge/colour filters: far from zero-mean noise."""
    w = hed.layers["conv1_1"].weight
    assert w.shape == (64, 3, 3, 3)
    random = backbones._random_state("vgg16", 0)["conv1_1.weight"]
    assert not torch.allclose(w, random)

    # trained first-layer filters are mostly luminance (edge) detectors: their R, G and B taps are
    # strongly correlated, while independent random taps are not
    def rg_corr(k):
        return torch.corrcoef(torch.stack([k[:, 0].flatten(), k[:, 1].flatten()]))[0, 1]

    assert rg_corr(w) > 0.5 and abs(rg_corr(random)) < 0.2
