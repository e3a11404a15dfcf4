"""Feed-forward decoders: shipped weights, reconstruction, fast transfer, checkerboards, training."""

import dataclasses
import json
import shutil

import pytest
import torch

from nstlab import artifacts, color, images, transforms, weights
from nstlab import decoder_training as DT
from nstlab import decoders as D

# Measured on the shipped relu3_1 weights (8000 steps), coffee (held out of training) at 128 px long side:
# resize 15.56 dB, transposed 15.71 dB. Floors = measured - 1.5 dB.
PSNR_FLOOR = {"resize": 14.0, "transposed": 14.2}
# Measured nyquist_peak of coffee stylized with strokes at 256 px: transposed 5067, resize 532 (ratio 9.5;
# 3.7-10.5 over five photos and two procedural styles). Not on reconstructions: after 8000 steps the resize
# decoder's reconstructions of smooth photos show a faint period-2 pattern too (ratio 0.1-5), see benchmarks.
PEAK_FACTOR = 4.0
# ||f(out) - t|| / ||f(c) - t|| for coffee with the bundled textures brick, grass, gravel (128 px), measured:
# resize 0.50, 0.43, 0.46; transposed 0.49, 0.39, 0.41. With the procedural styles it is 0.80-1.27: their
# AdaIN shift is about the decoder's own reconstruction error (see the next tests and chapter 10).
OUTPUT_RATIO_MAX = 0.7
# Reconstruction PSNR floor on coffee (held out) at 256 px, from outside the code: issue 16's goal, 20 dB,
# at every level of the cascade (measured when exported: 38.4, 21.0 and 20.1 dB, each json's
# "psnr_heldout_coffee_256px_dB"; relu3_1 took six training runs, 16.0 -> 20.1 dB, and is 19.2 dB at 128 px).
GOAL_DB = 20.0
# style_distance (random-net Gram distance to the style relative to the content's own; 1 = no style) of
# coffee with the four bundled procedural styles at 128 px, stylize_fast's cascade (WCT, its default),
# measured with the shipped networks: distilled strokes 0.306, mosaic 0.383, waves 0.212, swirl 0.016, mean
# 0.229, SSIM 0.25-0.34; vgg16-hed 0.227, 0.063, 0.021, 0.008, mean 0.080 (with AdaIN: mean 0.187).
# Bound on the mean = the goal for the benchmark panel's mean, 0.3 (it was measured 0.87 before the
# cascade). One pair alone is a poor bound: the better relu3_1 decoders give more of the photo back, and
# coffee x mosaic (AdaIN) went 0.189, 0.148, 0.225, 0.300, 0.297, 0.267 with the decoders of 16.0-20.1 dB.
CASCADE_STYLE_BOUND = 0.3


@pytest.fixture(scope="module")
def decs(hed):
    return {v: D.load_decoder(v, device="cpu") for v in D.VARIANTS}


@pytest.fixture(scope="module")
def coffee():
    return images.load("coffee", size=128)


# ---- shipped weights ----------------------------------------------------------------------------------


SHIPPED = [("adain", v, "relu3_1") for v in D.VARIANTS] + [("reconstruct", "resize", x) for x in D.CASCADE]


@pytest.mark.parametrize("kind, variant, layer", SHIPPED)
def test_shipped_weights_match_their_recorded_hash_and_are_fp16(kind, variant, layer):
    record = D.weights_record(variant, layer, kind=kind)
    path = D.weights_path(variant, layer, kind=kind)
    assert weights.sha256(path) == record["sha256"]  # hashlib over the file, independent of the loader
    state = torch.load(path, weights_only=True)
    assert all(v.dtype == torch.float16 for v in state.values())
    assert record["layer"] == layer and record["variant"] == variant
    command = record["command"]
    assert (
        "nstlab train-decoder" in command
        and f"--variant {variant}" in command
        and f"--layer {layer}" in command
    )
    if kind == "reconstruct":  # trained on reconstruction only: no style target ever
        assert "--reconstruct-fraction 1" in command and "--style-weight 0" in command


def test_shipped_weights_stay_under_25_mb():
    total = sum(p.stat().st_size for p in D.DATA_DIR.glob("*.pt"))
    assert total < 25e6
    shipped = {D.weights_path(v, x, kind=k) for k, v, x in SHIPPED} | {D.STUDENT_WEIGHTS}
    assert set(D.DATA_DIR.glob("*.pt")) == shipped  # every file is used, every used file is there


def test_corrupted_weights_raise_with_both_hashes_and_the_fix(tmp_path, monkeypatch):
    src = D.weights_path("resize")
    shutil.copy(src.with_suffix(".json"), tmp_path / src.with_suffix(".json").name)
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0xFF  # flip one byte in the middle of the tensors
    (tmp_path / src.name).write_bytes(bytes(data))
    monkeypatch.setattr(D, "DATA_DIR", tmp_path)
    expected = D.weights_record("resize")["sha256"]
    actual = weights.sha256(tmp_path / src.name)
    with pytest.raises(weights.WeightsError) as err:
        D.load_decoder("resize", device="cpu")
    message = str(err.value)
    assert expected in message and actual in message and str(tmp_path / src.name) in message
    assert "train-decoder" in message and "reinstall" in message


def test_missing_relu4_1_weights_say_how_to_train_them():
    with pytest.raises(weights.WeightsError, match="train-decoder .*--layer relu4_1"):
        D.load_decoder("resize", "relu4_1")


# ---- the model ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("layer, channels, scale", [("relu3_1", 256, 4), ("relu4_1", 512, 8)])
@pytest.mark.parametrize("variant", D.VARIANTS)
def test_decoder_mirrors_the_encoder_shapes(hed, layer, channels, scale, variant):
    dec = D.Decoder(layer, variant)
    img = torch.rand(1, 3, 64, 48)
    f = hed.features(img, [layer])[layer]
    assert f.shape[1] == channels == dec.in_channels and dec.scale == scale
    assert dec(f).shape == (1, 3, 64, 48)
    # FLOP count from the layer shapes equals the multiply-adds counted by hooks on the real modules
    macs = []

    def hook(module, inp, out):
        k = module.kernel_size[0] * module.kernel_size[1]
        macs.append(2 * k * module.in_channels * module.out_channels * out.shape[-2] * out.shape[-1])

    for m in dec.modules():
        if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d):
            m.register_forward_hook(hook)
    dec(f)
    assert sum(macs) == D.decoder_flops(layer, variant, 64, 48)


# ---- reconstruction -----------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", D.VARIANTS)
def test_decoder_reconstructs_the_held_out_photo(decs, coffee, variant):
    assert "coffee" in DT.HELD_OUT
    out = D.reconstruct(coffee, decs[variant])
    assert out.shape == coffee.shape
    assert D.psnr(out, coffee) > PSNR_FLOOR[variant]


@pytest.mark.parametrize("layer", D.CASCADE)
def test_reconstruction_decoders_reach_the_psnr_goal_on_the_held_out_photo(hed, layer):
    # Li et al. 2017's reconstruction decoders, g_l(f_l(c)) = c, on coffee (never trained on) at 256 px.
    photo = images.load("coffee", size=256)
    out = D.reconstruct(photo, D.load_decoder("resize", layer, device="cpu", kind="reconstruct"))
    assert D.psnr(out, photo) > GOAL_DB
    # better than the adain pair's resize decoder, half of whose training asked for AdaIN targets
    assert D.psnr(out, photo) > D.psnr(D.reconstruct(photo, D.load_decoder("resize", device="cpu")), photo)


def test_psnr_matches_skimage(coffee):
    from skimage.metrics import peak_signal_noise_ratio

    noisy = (coffee + 0.05 * torch.randn_like(coffee)).clamp(0, 1)
    ref = peak_signal_noise_ratio(coffee.numpy(), noisy.numpy(), data_range=1.0)
    assert D.psnr(noisy, coffee) == pytest.approx(ref, rel=1e-6)


# ---- fast transfer ------------------------------------------------------------------------------------


TEXTURES = ("brick", "grass", "gravel")  # the bundled style photographs
PROCEDURAL = ("strokes", "mosaic", "waves", "swirl")


@pytest.mark.parametrize("variant", D.VARIANTS)
def test_stylize_fast_moves_features_to_the_adain_target(decs, coffee, hed, variant):
    # ||f(out) - t|| / ||f(c) - t|| at relu3_1, t = AdaIN(f(c), f(s)), computed here from the encoder and
    # transforms.adain. Measured with the shipped weights (coffee held out, 128 px): see OUTPUT_RATIO_MAX.
    for name in TEXTURES:
        style = images.load(name, size=128)
        out = D.stylize_fast(coffee, style, decoder=decs[variant])
        assert out.shape == coffee.shape and torch.isfinite(out).all()
        fc, fs, fo = (hed.features(x, ["relu3_1"])["relu3_1"] for x in (coffee, style, out))
        t = transforms.adain(fc, fs)
        ratio = float((fo - t).norm() / (fc - t).norm())
        assert ratio < OUTPUT_RATIO_MAX, name
        assert D.target_distances(coffee, style, decs[variant], hed).output == pytest.approx(ratio, rel=1e-4)


@pytest.mark.parametrize("variant", D.VARIANTS)
def test_output_beats_the_content_when_the_shift_exceeds_the_decoder_error(decs, coffee, hed, variant):
    # The decoder reproduces features only up to its own error e = ||f(g(f(c))) - f(c)|| / ||f(c)||, so the
    # output is closer to t than the content whenever the AdaIN shift ||f(c) - t|| / ||t|| is well above e,
    # and the ratio falls as the shift grows (Spearman rank correlation over all bundled styles).
    from scipy.stats import spearmanr

    styles = [images.load(n, size=128) for n in TEXTURES + PROCEDURAL]
    d = [D.target_distances(coffee, s, decs[variant], hed) for s in styles]
    error = d[0].reconstruction_error  # one content, so one decoder error for all styles
    far = [x for x in d if x.shift > 2 * error]
    assert len(far) >= len(TEXTURES) and all(x.output < 1 for x in far)
    assert spearmanr([x.shift for x in d], [x.output for x in d]).statistic < -0.8


def test_alpha_zero_is_the_reconstruction_and_weights_interpolate(decs, coffee):
    styles = [images.load("strokes", size=96), images.load("mosaic", size=96)]
    dec = decs["resize"]
    assert torch.equal(D.stylize_fast(coffee, styles[0], alpha=0.0, decoder=dec), D.reconstruct(coffee, dec))
    one_hot = D.stylize_fast(coffee, styles, style_weights=[1.0, 0.0], decoder=dec)
    assert torch.allclose(one_hot, D.stylize_fast(coffee, styles[0], decoder=dec), atol=1e-5)


def test_wct_and_preserve_color(decs, coffee):
    style = images.load("waves", size=96)
    out = D.stylize_fast(coffee, style, method="wct", decoder=decs["resize"])
    assert out.shape == coffee.shape and torch.isfinite(out).all()
    kept = D.stylize_fast(coffee, style, preserve_color="moments", decoder=decs["resize"])
    plain = D.stylize_fast(coffee, style, decoder=decs["resize"])
    # colour preservation brings the mean colour closer to the content's than plain transfer does
    mean = lambda x: x.mean((2, 3))  # noqa: E731
    assert (mean(kept) - mean(coffee)).norm() < (mean(plain) - mean(coffee)).norm()


def test_luminance_mode_keeps_the_content_colours_as_in_stylize(decs, coffee):
    """The same modes as optimize.stylize (nstlab.color): "luminance" keeps the content's chrominance
    (I, Q of YIQ) exactly, up to clamping, and the result still differs from the content."""
    style = images.load("waves", size=96)
    out = D.stylize_fast(coffee, style, preserve_color="luminance", decoder=decs["resize"])
    plain = D.stylize_fast(coffee, style, decoder=decs["resize"])
    gap = lambda x: (color.chroma_stats(x) - color.chroma_stats(coffee)).abs().max().item()  # noqa: E731
    assert gap(out) < 0.02 < gap(plain)
    assert (color.luminance(out) - color.luminance(coffee)).abs().mean() > 0.02
    with pytest.raises(TypeError, match="preserve_color must be a str or None"):
        D.stylize_fast(coffee, style, preserve_color=True, decoder=decs["resize"])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"style_weights": [1.0]}, "2 style.* but 1 style_weights"),
        ({"style_weights": [1.5, -0.5]}, ">= 0"),
        ({"style_weights": [0.5, 0.4]}, "sum to 1"),
        ({"alpha": 1.5}, r"alpha must lie in \[0, 1\]"),
        ({"alpha": -0.1}, r"alpha must lie in \[0, 1\]"),
        ({"preserve_color": "yiq"}, "unknown preserve_color"),
        ({"method": "gram"}, "unknown method"),
    ],
)
def test_bad_inputs_raise(decs, kwargs, match):
    c = torch.rand(1, 3, 32, 32)
    with pytest.raises(ValueError, match=match):
        D.stylize_fast(c, [c, c], decoder=decs["resize"], **kwargs)


def test_too_small_image_names_the_minimum(decs):
    with pytest.raises(ValueError, match="at least 16 px"):
        D.stylize_fast(torch.rand(1, 3, 12, 40), torch.rand(1, 3, 32, 32), decoder=decs["resize"])


def test_fast_transfer_demo_reuses_cached_features(decs):
    from nstlab.widgets import FastTransferDemo, View

    demo = FastTransferDemo("coffee", ["strokes", "mosaic"], decoder=decs["resize"], size=64, preview=32)
    view = demo.update(alpha=0.6, mix=0.25)
    assert isinstance(view, View) and view.numbers["alpha"] == 0.6 and view.numbers["mix"] == 0.25
    # the cached path equals the one-shot API on the same images
    direct = D.stylize_fast(
        demo.content[64], demo.styles[64], alpha=0.6, style_weights=[0.75, 0.25], decoder=decs["resize"]
    )
    assert torch.allclose(demo.picture(0.6, "adain", 0.25), direct, atol=1e-5)
    assert demo.picture(0.6, preview=True).shape[-1] == 32
    first = demo.update(alpha=0.2, reuse=True)
    assert demo.update(alpha=0.9, reuse=True).figure is first.figure  # the widget redraws one figure
    with pytest.raises(ValueError, match="two styles"):
        FastTransferDemo("coffee", "strokes", decoder=decs["resize"], size=64, preview=32).update(mix=0.5)


# ---- checkerboards on the trained networks ------------------------------------------------------------


def test_transposed_decoder_peaks_at_half_a_cycle_per_pixel(decs):
    img, style = images.load("coffee", size=256), images.load("strokes", size=256)
    peak = {v: artifacts.nyquist_peak(D.stylize_fast(img, style, decoder=decs[v])) for v in D.VARIANTS}
    assert peak["transposed"] > PEAK_FACTOR * peak["resize"]


def test_transposed_decoder_stamps_a_grid_on_a_flat_input(decs):
    # The seed's "locally nearly constant input": resize-convolution maps a constant to (nearly) a constant,
    # the transposed convolution's uneven overlap leaves a period-2 pattern. Measured share of the AC power
    # at period 2 (away from the border): transposed 0.22, resize 0.0035.
    grey = torch.full((1, 3, 96, 96), 0.5)
    flat = {v: D.reconstruct(grey, decs[v])[..., 16:80, 16:80] for v in D.VARIANTS}
    strength = {
        v: artifacts.checkerboard_strength(artifacts.luminance_signal(out), 2) for v, out in flat.items()
    }
    assert strength["transposed"] > 0.1 and strength["transposed"] > 10 * strength["resize"]


# ---- training -----------------------------------------------------------------------------------------


def _tiny(steps):
    return DT.TrainConfig(
        steps=steps, batch_size=2, crop=32, style_bank=2, checkpoint_every=4, warmup_steps=1, lr=3e-4
    )


def _pools():
    """One smooth 32 px content and one noise style: each step sees the same pair (up to flips)."""
    g = torch.Generator().manual_seed(0)
    smooth = torch.nn.functional.interpolate(torch.rand(1, 3, 8, 8, generator=g), size=32, mode="bilinear")
    return [smooth.clamp(0, 1)], [torch.rand(1, 3, 32, 32, generator=g)]


def test_training_lowers_the_loss_and_resumes_exactly(tmp_path, hed):
    contents, styles = _pools()
    run = lambda out, steps, resume=False: DT.train_decoder(  # noqa: E731
        tmp_path / out,
        _tiny(steps),
        resume=resume,
        progress=False,
        backbone=hed,
        contents=contents,
        styles=styles,
    )
    straight = run("a", 12)
    # the loss of the seeded initial decoder and of the trained one on the training pair
    bank = DT.style_bank(hed, styles, DT.STYLE_LAYERS["relu3_1"], 2, 32, seed=0)
    mu, sd = bank.pick(torch.tensor([0, 0]))
    batch = contents[0].expand(2, -1, -1, -1)  # one style sample and one reconstruction sample
    torch.manual_seed(0)
    initial = D.Decoder()
    initial.input_scale.fill_(1 / bank.scale["relu3_1"])
    cfg = _tiny(1)
    with torch.no_grad():
        before, after = (
            DT.decoder_loss(hed, d, batch, mu, sd, cfg.style_weight, bank.scale, 1, cfg.pixel_weight).total
            for d in (initial, straight.decoder)
        )
    assert after < 0.8 * before
    run("b", 4)
    resumed = run("b", 12, resume=True)
    for key, value in straight.decoder.state_dict().items():
        assert torch.equal(value, resumed.decoder.state_dict()[key]), key
    assert [h["total"] for h in resumed.history] == [h["total"] for h in straight.history]
    assert (tmp_path / "a" / "losses.csv").exists() and (tmp_path / "a" / "losses.png").exists()
    assert isinstance(D.load_decoder(path=tmp_path / "a" / "checkpoint.pt", device="cpu"), D.Decoder)
    # export: fp16 weights whose recorded hash is the file's, loadable and verified by load_decoder
    dest = DT.export_decoder(tmp_path / "a" / "checkpoint.pt", tmp_path / "x" / "d.pt", command="tiny run")
    record = json.loads(dest.with_suffix(".json").read_text())
    assert (
        record["sha256"] == weights.sha256(dest) and record["steps"] == 12 and record["command"] == "tiny run"
    )
    exported = D.load_decoder(path=dest, expected_sha256=record["sha256"], device="cpu")
    for key, value in straight.decoder.state_dict().items():
        torch.testing.assert_close(exported.state_dict()[key], value.half().float())


def test_weight_averaging_exports_the_mean_of_the_checkpoints_and_resumes_exactly(tmp_path, hed):
    # average_from=4 with a checkpoint every 4 steps: the average of the weights at steps 4, 8 and 12, each
    # taken from a run stopped there (the seeded runs agree step by step), averaged here by torch.mean.
    contents, styles = _pools()

    def run(out, steps, average_from=None, resume=False):
        config = dataclasses.replace(_tiny(steps), average_from=average_from)
        return DT.train_decoder(tmp_path / out, config, resume, False, hed, contents=contents, styles=styles)

    at_step = {s: run(f"plain{s}", s).decoder.state_dict() for s in (4, 8, 12)}
    averaged = run("avg", 12, average_from=4)
    for key, value in averaged.decoder.state_dict().items():  # the run itself trains as without averaging
        assert torch.equal(value, at_step[12][key]), key
    average = torch.load(tmp_path / "avg" / "checkpoint.pt", weights_only=False)["average"]
    for key, value in average.items():
        mean = torch.stack([at_step[s][key] for s in (4, 8, 12)]).mean(0)
        torch.testing.assert_close(value, mean)
    assert max((average[k] - at_step[12][k]).abs().max() for k in average) > 1e-4  # not the last weights
    dest = DT.export_decoder(tmp_path / "avg" / "checkpoint.pt", tmp_path / "x" / "d.pt", command="avg run")
    assert json.loads(dest.with_suffix(".json").read_text())["averaged_checkpoint_steps"] == [4, 8, 12]
    exported = D.load_decoder(path=dest, device="cpu").state_dict()
    for key, value in exported.items():
        assert torch.equal(value, average[key].half().float()), key
    run("avg_b", 6, average_from=4)  # stopped between checkpoints (step 6 is saved, not averaged), resumed
    run("avg_b", 12, average_from=4, resume=True)
    resumed = torch.load(tmp_path / "avg_b" / "checkpoint.pt", weights_only=False)
    assert resumed["averaged_steps"] == [4, 8, 12]
    for key, value in average.items():
        assert torch.equal(value, resumed["average"][key]), key
    for bad, steps in [(20, 12), (0, 12), (5, 6)]:  # _tiny averages at every 4th step: none in 5-6
        with pytest.raises(ValueError, match=f"average_from {bad}: .* use a step in 1-{steps // 4 * 4}"):
            dataclasses.replace(_tiny(steps), average_from=bad).check()


def test_lstsq_fit_of_the_linear_decoder_is_the_least_squares_optimum(tmp_path, hed):
    # The relu1_1 decoder is one 3x3 convolution: solver "lstsq" must return the ordinary least-squares
    # solution, checked against numpy.linalg.lstsq on the same crops (drawn again from the same seed).
    import numpy as np

    contents, styles = _pools()
    cfg = DT.TrainConfig(
        layer="relu1_1",
        steps=2,
        batch_size=2,
        crop=16,
        style_bank=2,
        solver="lstsq",
        reconstruct_fraction=1.0,
    )
    result = DT.train_decoder(tmp_path, cfg, progress=False, backbone=hed, contents=contents, styles=styles)
    g = torch.Generator().manual_seed(cfg.seed)
    crops = torch.cat([DT.random_crops(contents, 2, 16, g) for _ in range(cfg.steps)])
    f = hed.features(crops, ["relu1_1"])["relu1_1"] * result.decoder.input_scale
    cols = torch.nn.functional.unfold(torch.nn.functional.pad(f, (1, 1, 1, 1), mode="reflect"), 3)
    X = np.concatenate(
        [cols.transpose(1, 2).reshape(-1, 64 * 9).double().numpy(), np.ones((len(crops) * 256, 1))], 1
    )
    y = crops.permute(0, 2, 3, 1).reshape(-1, 3).double().numpy()
    w, *_ = np.linalg.lstsq(X, y, rcond=None)
    best = float(((X @ w - y) ** 2).mean())
    ours = float((D.decode(f / result.decoder.input_scale, result.decoder) - crops).pow(2).mean())
    assert ours == pytest.approx(best, rel=1e-3)
    assert result.history[-1]["pixel"] == pytest.approx(best, rel=1e-3)
    with pytest.raises(ValueError, match="only the relu1_1 decoder is linear"):
        DT.TrainConfig(layer="relu2_1", solver="lstsq").check()


def test_pixel_only_loss_skips_the_feature_pass_and_init_starts_from_given_weights(tmp_path, hed):
    contents, styles = _pools()
    bank = DT.style_bank(hed, styles, DT.STYLE_LAYERS["relu2_1"], 2, 32, seed=0)
    mu, sd = bank.pick(torch.tensor([0, 0]))
    dec = D.Decoder("relu2_1")
    batch = contents[0].expand(2, -1, -1, -1)
    losses = DT.decoder_loss(
        hed, dec, batch, mu, sd, 0.0, bank.scale, 2, pixel_weight=3.0, feature_weight=0.0
    )
    with torch.no_grad():
        pixel = (dec(hed.features(batch, ["relu2_1"])["relu2_1"]) - batch).pow(2).mean()
    assert losses.content.item() == 0.0 and losses.total.item() == pytest.approx(3 * pixel.item(), rel=1e-5)
    torch.save(dec.state_dict(), tmp_path / "init.pt")
    cfg = DT.TrainConfig(layer="relu2_1", init=str(tmp_path / "init.pt"))
    started = DT._new_run(cfg).decoder
    assert all(torch.equal(v, dec.state_dict()[k]) for k, v in started.state_dict().items())


def test_hue_jitter_rotates_crops_and_without_it_draws_nothing():
    batch = torch.rand(6, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    assert DT.random_hues(batch, 0.0, g) is batch and torch.equal(g.get_state(), state)
    # probability 1: every crop is some hue rotation of itself: same grey component wherever unclipped
    rotated = DT.random_hues(0.4 + 0.2 * batch, 1.0, g)
    torch.testing.assert_close(rotated.sum(1), (0.4 + 0.2 * batch).sum(1))
    assert not torch.allclose(rotated, 0.4 + 0.2 * batch)
    with pytest.raises(ValueError, match=r"hue_jitter must lie in \[0, 1\]"):
        DT.TrainConfig(hue_jitter=1.5)


def test_colour_and_leaves_pools_add_colour_pictures_one_seed_of_styles_and_dead_leaves():
    pools = ("all", "colour", "leaves")
    pool = {name: DT.training_contents(DT.TrainConfig(content_pool=name)) for name in pools}
    colour = DT.colour_pictures()
    assert len(colour) == len(DT.COLOUR_PICTURES) == 5
    # every colour picture is RGB, downscaled to the pools' 512 px, and in colour (not grey as RGB)
    for pic in colour:
        assert pic.shape[:2] == (1, 3) and max(pic.shape[-2:]) <= 512
        assert float((pic - pic.mean(1, keepdim=True)).abs().mean()) > 0.02
    assert len(pool["colour"]) == len(pool["all"]) + len(colour) - 2 * len(images.STYLES)
    tail = colour + DT.style_pool(seeds=(0,))
    assert all(torch.equal(a, b) for a, b in zip(pool["colour"][-len(tail) :], tail, strict=True))
    leaves = [images.to_tensor(images.dead_leaves(seed=s)) for s in DT.DEAD_LEAVES_SEEDS]
    assert len(pool["leaves"]) == len(pool["colour"]) + len(leaves) == 32
    assert all(torch.equal(a, b) for a, b in zip(pool["leaves"], pool["colour"] + leaves, strict=True))


def test_colour_pool_without_scikit_learn_says_which_extra_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # import fails as if not installed
    with pytest.raises(ImportError, match=r"\[train\]"):
        DT.colour_pictures()


# ---- the cascade and the measures ---------------------------------------------------------------------


def _independent_gram_distance(out, content, style):
    """The random-net measure written again from its definition: 4 stages of two 3x3 convs (reflect pad,
    ReLU), widths 32-64-128-256, N(0, 2 / fan_in) weights from torch.Generator(0), zero bias, 2x average
    pooling between stages, Gram F F^T / N per stage, D = sum ||G(x) - G(s)||^2 / ||G(s)||^2."""
    g = torch.Generator().manual_seed(0)
    convs, c_in = [], 3
    for width in (32, 64, 128, 256):
        pair = []
        for k in range(2):
            fan_in = (c_in if k == 0 else width) * 9
            pair.append(
                torch.randn(width, c_in if k == 0 else width, 3, 3, generator=g) * (2 / fan_in) ** 0.5
            )
        convs.append(pair)
        c_in = width
    mean, std = (
        torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1),
        torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1),
    )

    def grams(img):
        x, out_ = (img - mean) / std, []
        for k, pair in enumerate(convs):
            x = torch.nn.functional.avg_pool2d(x, 2) if k else x
            for w in pair:
                x = torch.relu(
                    torch.nn.functional.conv2d(torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect"), w)
                )
            F = x[0].flatten(1).double()
            out_.append(F @ F.T / F.shape[1])
        return out_

    def dist(a, b):
        return sum(float((x - y).pow(2).sum() / y.pow(2).sum()) for x, y in zip(a, b, strict=True))

    gs = grams(style)
    return dist(grams(out), gs) / dist(grams(content), gs)


def test_style_distance_is_the_random_net_gram_ratio_and_has_its_fixed_points(coffee):
    style = images.load("mosaic", size=128)
    noisy = (coffee + 0.1 * torch.randn(coffee.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    assert D.style_distance(noisy, coffee, style) == pytest.approx(
        _independent_gram_distance(noisy, coffee, style), rel=1e-5
    )
    assert D.style_distance(coffee, coffee, style) == pytest.approx(1.0)
    assert D.style_distance(style, coffee, style) == 0.0
    assert D.style_distance(coffee, coffee, style, centered=True) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same Gram matrices"):
        D.style_distance(coffee, style, style)
    assert D.content_ssim(coffee, coffee) == pytest.approx(1.0)
    assert D.content_ssim(noisy, coffee) < 0.9
    with pytest.raises(ValueError, match="differ in size"):
        D.content_ssim(style, coffee)


@pytest.mark.parametrize("encoder", D.ENCODERS)
def test_the_cascade_carries_the_style_below_the_stated_bound(coffee, hed, encoder):
    # stylize_fast's cascade relu3_1 -> relu2_1 -> relu1_1 on each encoder and its reconstruction decoders,
    # measured with the independent implementation above, on the bundled procedural styles, which no
    # reconstruction decoder saw as a target.
    distances = []
    for name in images.STYLES:
        style = images.load(name, size=128)
        out = D.stylize_fast(coffee, style, encoder=encoder)
        assert out.shape == coffee.shape and torch.isfinite(out).all()
        assert D.content_ssim(out, coffee) > 0.15, name
        distances.append(_independent_gram_distance(out, coffee, style))
    assert max(distances) < 1 and sum(distances) / len(distances) < CASCADE_STYLE_BOUND, distances


def test_cascade_levels_compose_and_alpha_zero_is_the_chain_of_reconstructions(coffee):
    style = images.load("waves", size=128)
    one = D.stylize_fast(coffee, style, "adain", levels=("relu3_1",), encoder="vgg16-hed")
    dec3 = D.load_decoder("resize", "relu3_1", device="cpu", kind="reconstruct")
    assert torch.allclose(one, D.stylize_fast(coffee, style, decoder=dec3), atol=1e-6)
    chain = coffee
    for layer in D.CASCADE:
        chain = D.reconstruct(chain, D.load_decoder("resize", layer, device="cpu", kind="reconstruct"))
    assert torch.allclose(D.stylize_fast(coffee, style, alpha=0.0, encoder="vgg16-hed"), chain, atol=1e-5)
    for bad, match in [
        (("relu1_1", "relu3_1"), "deepest first"),
        (("relu4_1",), "unknown cascade level"),
        ((), "deepest first"),
    ]:
        with pytest.raises(ValueError, match=match):
            D.stylize_fast(coffee, style, levels=bad)
    with pytest.raises(TypeError, match="levels must be a list"):
        D.stylize_fast(coffee, style, levels="relu3_1")
    with pytest.raises(ValueError, match="either decoder= .* or levels="):
        D.stylize_fast(coffee, style, decoder=dec3, levels=("relu3_1",))


def test_fast_transfer_demo_runs_the_cascade_like_stylize_fast():
    from nstlab.widgets import FastTransferDemo

    demo = FastTransferDemo("coffee", ["strokes", "mosaic"], size=64, preview=32)
    assert demo.levels == D.CASCADE
    direct = D.stylize_fast(
        demo.content[64], demo.styles[64], method="wct", alpha=0.6, style_weights=[0.75, 0.25]
    )
    assert torch.allclose(demo.picture(0.6, "wct", 0.25), direct, atol=1e-5)


def test_feature_decoder_shows_the_features_of_its_layer(coffee, hed):
    decode = D.feature_decoder("relu2_1")
    out = decode(hed.features(coffee, ["relu2_1"])["relu2_1"])  # 86 rows: ceil-mode pooling of 85 rows
    h, w = coffee.shape[-2:]
    assert out.shape[-2:] == (86, w) and D.psnr(out[..., :h, :w], coffee) > GOAL_DB


@pytest.mark.parametrize("kind, variant, layer", SHIPPED)
def test_recorded_command_parses_to_the_recorded_config(kind, variant, layer):
    # "the exact command in each json": `nstlab train-decoder ...` as recorded must give the run's config
    import shlex

    from nstlab import cli

    record = D.weights_record(variant, layer, kind=kind)
    argv = shlex.split(record["command"])[1:]
    args = vars(cli.parser().parse_args(argv))
    shared = set(args) & set(record["config"])
    assert {"layer", "variant", "steps", "crop", "lr"} <= shared
    assert {k: args[k] for k in shared} == {k: record["config"][k] for k in shared}
