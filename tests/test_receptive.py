import pytest

from nstlab import backbones, receptive

# Published receptive-field sizes (Araujo et al. 2019, Distill, Table 1: VGG16 pool5 = 212) and the
# layer arithmetic written out by hand for VGG16/VGG19 (3x3/1/1 convolutions, 2x2/2 pooling).
VGG16 = {
    "conv1_1": 3,
    "conv1_2": 5,
    "pool1": 6,
    "conv2_1": 10,
    "conv2_2": 14,
    "pool2": 16,
    "conv3_1": 24,
    "conv3_2": 32,
    "conv3_3": 40,
    "pool3": 44,
    "conv4_1": 60,
    "conv4_2": 76,
    "conv4_3": 92,
    "pool4": 100,
    "conv5_1": 132,
    "conv5_2": 164,
    "conv5_3": 196,
    "pool5": 212,
}
VGG19 = {
    "conv3_4": 48,
    "pool3": 52,
    "conv4_1": 68,
    "conv4_4": 116,
    "pool4": 124,
    "conv5_1": 156,
    "conv5_4": 252,
    "pool5": 268,
}


def test_sizes_equal_the_published_vgg16_arithmetic():
    fields = receptive.receptive_fields("vgg16")
    assert {n: fields[n].size for n in VGG16} == VGG16
    assert fields["relu4_2"].size == fields["conv4_2"].size  # ReLU does not widen the field


def test_sizes_equal_the_vgg19_arithmetic():
    fields = receptive.receptive_fields("vgg19")
    assert {n: fields[n].size for n in VGG19} == VGG19


def test_jump_and_start():
    fields = receptive.receptive_fields("vgg16")
    for b in range(1, 6):
        assert fields[f"pool{b}"].jump == 2**b
        assert fields[f"conv{b}_1"].jump == 2 ** (b - 1)
    assert fields["conv1_1"].start == 0.0
    # unit 0 of pool1 pools conv1_2 units 0 and 1, whose fields span pixels -2..2 and -1..3: centre 0.5
    assert fields["pool1"].start == 0.5
    # only pooling moves the centre, by half the incoming jump: 0.5 + 1 + 2 + 4 + 8
    assert fields["pool5"].start == 15.5


@pytest.mark.parametrize("layer", ["conv1_2", "pool2", "conv3_1", "pool3", "relu4_1"])
def test_empirical_gradient_support_equals_the_arithmetic(layer):
    net = backbones.load_backbone("random-vgg16", device="cpu")
    assert receptive.empirical_receptive_field(net, layer) == receptive.receptive_field(net, layer)


def test_effective_field_of_the_real_network_is_not_larger(hed):
    for layer in ["relu2_1", "relu3_1"]:
        measured = receptive.empirical_receptive_field(hed, layer, linearize=False)
        assert 0 < measured <= hed.receptive_field(layer)


def test_effective_scales_of_the_text():
    # S_eff = sum a_l r_l / sum a_l
    s = receptive.effective_scale({"relu1_1": 1.0, "relu5_1": 3.0}, "vgg16")
    assert s == pytest.approx((1 * 3 + 3 * 132) / 4)
    c = receptive.effective_scale(["relu4_2"], "vgg16")
    assert c == 76
    assert receptive.scale_ratio(["relu3_1", "relu5_1"], ["relu2_2"], "vgg16") == pytest.approx(78 / 14)
    with pytest.raises(ValueError, match="weights >= 0"):
        receptive.effective_scale({"relu1_1": -1.0})
    with pytest.raises(ValueError, match="unknown layer"):
        receptive.effective_scale(["relu9_9"])


@pytest.mark.parametrize("period", [4, 8, 16])
def test_texture_wavelength_of_a_sinusoid_is_its_period(period):
    import math

    import torch

    x = torch.arange(64, dtype=torch.float64)
    stripes = torch.sin(2 * math.pi * x / period)[None, :].expand(32, 64)  # all power at |f| = 1/period
    assert receptive.texture_wavelength(stripes) == pytest.approx(period, rel=1e-9)
    diagonal = torch.sin(2 * math.pi * (x[:, None] + x[None, :]) / period)  # |f| = sqrt(2)/period
    assert receptive.texture_wavelength(diagonal) == pytest.approx(period / 2**0.5, rel=1e-9)


def test_texture_wavelength_grows_with_blur_and_rejects_constants():
    import torch

    from nstlab import images

    noise = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    blurred = torch.nn.functional.avg_pool2d(noise, 5, stride=1, padding=2, count_include_pad=False)
    assert receptive.texture_wavelength(blurred) > 1.5 * receptive.texture_wavelength(noise)
    coarse = images.resize(noise[..., :32, :32], 64)  # the same pattern twice as large
    assert receptive.texture_wavelength(coarse) > 1.5 * receptive.texture_wavelength(noise[..., :32, :32])
    with pytest.raises(ValueError, match="constant"):
        receptive.texture_wavelength(torch.full((1, 3, 8, 8), 0.5))


def test_a_backbone_is_duck_typed_by_its_arch():
    """receptive does not import backbones (no import circle): anything with ``.arch`` is a backbone."""
    from types import SimpleNamespace

    assert receptive.receptive_field(SimpleNamespace(arch="vgg19"), "pool5") == VGG19["pool5"]
    with pytest.raises(TypeError, match="expected a Backbone or a backbone name"):
        receptive.receptive_field(object(), "pool5")
    with pytest.raises(ValueError, match="unknown backbone 'resnet50'"):
        receptive.receptive_fields("resnet50")
