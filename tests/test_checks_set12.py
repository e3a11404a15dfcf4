"""Checks of set 12 (fast feed-forward transfer): each passes nstlab's reference and a correct implementation
written here independently, and names every listed mistake made by a deliberately wrong one (also written
here). The training check compares whole runs, so its mistakes are whole training loops."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from check_harness import run

from nstlab import checks, transforms
from nstlab.checks import set12_fast

# --------------------------------------------------------------------------------------------------
# Task 1: AdaIN layer
# --------------------------------------------------------------------------------------------------


def adain_mine(content, style, eps=1e-5, axes=(2, 3), style_axes=None, ddof=0, eps_outside=False, form="ok"):
    def stats(x, over):
        n = 1
        for a in over:
            n *= x.shape[a]
        mu = x.sum(dim=over, keepdim=True) / n
        var = ((x - mu) ** 2).sum(dim=over, keepdim=True) / (n - ddof)
        return mu, (torch.sqrt(var) + eps if eps_outside else torch.sqrt(var + eps))

    (mc, sc), (ms, ss) = stats(content, axes), stats(style, style_axes or axes)
    if form == "swap":
        return ms * (content - mc) / sc + ss
    if form == "mean":
        return content - mc + ms
    if form == "norm":
        return (content - mc) / sc
    return ss * (content - mc) / sc + ms


ADAIN_WRONG = {
    "statistics over the batch": lambda c, s, eps: adain_mine(c, s, eps, axes=(0, 2, 3)),
    "style statistics pooled over the batch": lambda c, s, eps: adain_mine(c, s, eps, style_axes=(0, 2, 3)),
    "layer-norm style": lambda c, s, eps: adain_mine(c, s, eps, axes=(1, 2, 3)),
    "unbiased std": lambda c, s, eps: adain_mine(c, s, eps, ddof=1),
    "missing eps": lambda c, s, eps: adain_mine(c, s, 0.0),
    "eps added to the std": lambda c, s, eps: adain_mine(c, s, eps, eps_outside=True),
    "mean and std swapped": lambda c, s, eps: adain_mine(c, s, eps, form="swap"),
    "only the mean matched": lambda c, s, eps: adain_mine(c, s, eps, form="mean"),
    "only normalized": lambda c, s, eps: adain_mine(c, s, eps, form="norm"),
}


def test_adain_layer_passes_correct_versions(capsys):
    assert run(checks.check_adain_layer, lambda c, s, eps: transforms.adain(c, s, eps=eps), capsys)[0]
    assert run(checks.check_adain_layer, adain_mine, capsys)[0]


@pytest.mark.parametrize("name", sorted(ADAIN_WRONG))
def test_adain_layer_names_the_mistake(name, capsys):
    ok, out = run(checks.check_adain_layer, ADAIN_WRONG[name], capsys)
    assert not ok and name in out, out


# --------------------------------------------------------------------------------------------------
# Task 2: the forward pass
# --------------------------------------------------------------------------------------------------


def forward_mine(encoder, decoder, content, style, alpha, blend="features", swap=False):
    with torch.no_grad():
        if blend == "images":
            return decoder(encoder(alpha * adain_mine(content, style) + (1 - alpha) * content)[-1])
        fc = encoder(content)[-1]
        t = adain_mine(fc, encoder(style)[-1])
        a = 1 - alpha if swap else alpha
        if blend == "pixels":
            return a * decoder(t) + (1 - a) * content
        if blend == "decoded":
            return a * decoder(t) + (1 - a) * decoder(fc)
        if blend == "none":
            return decoder(t)
        return decoder(a * t + (1 - a) * fc)


FORWARD_WRONG = {
    "alpha ignored": lambda e, d, c, s, a: forward_mine(e, d, c, s, a, blend="none"),
    "blended in pixel space": lambda e, d, c, s, a: forward_mine(e, d, c, s, a, blend="pixels"),
    "blended the two decoded pictures": lambda e, d, c, s, a: forward_mine(e, d, c, s, a, blend="decoded"),
    "alpha on the wrong side": lambda e, d, c, s, a: forward_mine(e, d, c, s, a, swap=True),
    "AdaIN on the pixels": lambda e, d, c, s, a: forward_mine(e, d, c, s, a, blend="images"),
}


def test_fast_transfer_passes_a_correct_version(capsys):
    assert run(checks.check_fast_transfer, forward_mine, capsys)[0]


@pytest.mark.parametrize("name", sorted(FORWARD_WRONG))
def test_fast_transfer_names_the_mistake(name, capsys):
    ok, out = run(checks.check_fast_transfer, FORWARD_WRONG[name], capsys)
    assert not ok and name in out, out


# --------------------------------------------------------------------------------------------------
# Task 3: the loss
# --------------------------------------------------------------------------------------------------


def loss_mine(encoder, decoder, content, style, style_weight=1.0, eps=1e-5, **wrong):
    def mean_sd(x):
        flat = x.flatten(2)
        mu = flat.mean(-1)
        var = flat.var(-1, unbiased=bool(wrong.get("unbiased")))
        return mu, torch.sqrt(var + (0.0 if wrong.get("no_eps") else eps))

    sq = (lambda a, b: ((a - b) ** 2).sum()) if wrong.get("sum") else F.mse_loss
    with torch.no_grad():
        feats_c, feats_s = encoder(content), encoder(style)
        t = adain_mine(feats_c[-1], feats_s[-1], eps)
    out = decoder(t)
    feats_o = encoder(out.clamp(0, 1) if wrong.get("clamp") else out)
    if wrong.get("pixels"):
        content_term = sq(out, content)
    else:
        content_term = sq(feats_o[-1], feats_c[-1] if wrong.get("fc") else t)
    layers = list(zip(feats_o, feats_s, strict=True))
    style_term = 0.0
    for fo, fs in layers[-1:] if wrong.get("last") else layers:
        (mo, so), (ms, ss) = mean_sd(fo), mean_sd(fs)
        style_term = style_term + sq(mo, ms) + (0.0 if wrong.get("means") else sq(so, ss))
    if wrong.get("no_style"):
        return content_term
    return content_term + (1.0 if wrong.get("unweighted") else style_weight) * style_term


def _wrong_loss(**kw):
    return lambda e, d, c, s, w, eps: loss_mine(e, d, c, s, w, eps, **kw)


LOSS_WRONG = {
    "loss on pixels": _wrong_loss(pixels=True),
    "content target f(c)": _wrong_loss(fc=True),
    "clamped the decoder's output": _wrong_loss(clamp=True),
    "style term at the last layer only": _wrong_loss(last=True),
    "no style term": _wrong_loss(no_style=True),
    "style_weight not applied": _wrong_loss(unweighted=True),
    "style term matches only the means": _wrong_loss(means=True),
    "unbiased std": _wrong_loss(unbiased=True),
    "missing eps": _wrong_loss(no_eps=True),
    "summed squared errors": _wrong_loss(sum=True),
}


def test_decoder_loss_passes_a_correct_version(capsys):
    assert run(checks.check_decoder_loss, loss_mine, capsys)[0]


@pytest.mark.parametrize("name", sorted(LOSS_WRONG))
def test_decoder_loss_names_the_mistake(name, capsys):
    ok, out = run(checks.check_decoder_loss, LOSS_WRONG[name], capsys)
    assert not ok and name in out, out


def test_the_tiny_decoder_strays_outside_the_unit_range():
    """Otherwise clamping its output would change nothing and that mistake could not be seen."""
    gen = torch.Generator().manual_seed(0)
    enc, dec = set12_fast.tiny_encoder(), set12_fast.tiny_decoder()
    out = dec(enc(torch.rand(2, 3, 8, 8, generator=gen, dtype=torch.float64))[-1])
    assert out.min() < 0 or out.max() > 1


# --------------------------------------------------------------------------------------------------
# Task 4: training steps
# --------------------------------------------------------------------------------------------------


def train_mine(encoder, decoder, batches, lr=1e-3, style_weight=1.0, **wrong):
    if not wrong.get("unfrozen"):
        for p in encoder.parameters():
            p.requires_grad = False
    params = list(decoder.parameters()) + (list(encoder.parameters()) if wrong.get("both") else [])
    kind = torch.optim.SGD if wrong.get("sgd") else torch.optim.Adam

    def new():
        return kind(params, lr=1e-3 if wrong.get("default_lr") else lr)

    opt, history = new(), []
    for content, style in batches:
        if wrong.get("fresh"):
            opt = new()
        w = 1.0 if wrong.get("default_weight") else style_weight
        loss = loss_mine(encoder, decoder, content, style, w)
        if not wrong.get("no_zero"):
            opt.zero_grad()
        loss.backward()
        if wrong.get("zero_between"):
            opt.zero_grad()
        opt.step()
        history.append(loss.item())
    return history


def _wrong_train(**kw):
    return lambda e, d, b, lr, w: train_mine(e, d, b, lr, w, **kw)


TRAIN_WRONG = {
    "gradients never zeroed": _wrong_train(no_zero=True),
    "a new optimizer every step": _wrong_train(fresh=True),
    "plain SGD": _wrong_train(sgd=True),
    "learning rate not used": _wrong_train(default_lr=True),
    "style_weight not passed on": _wrong_train(default_weight=True),
    "gradients flowed into the encoder": _wrong_train(unfrozen=True),
    "the encoder's weights changed": _wrong_train(unfrozen=True, both=True),
    "the decoder's weights did not change": _wrong_train(zero_between=True),
}


def test_train_decoder_passes_correct_versions(capsys):
    assert run(checks.check_train_decoder, set12_fast.train_reference, capsys)[0]
    ok, out = run(checks.check_train_decoder, train_mine, capsys)
    assert ok, out


@pytest.mark.parametrize("name", sorted(TRAIN_WRONG))
def test_train_decoder_names_the_mistake(name, capsys):
    ok, out = run(checks.check_train_decoder, TRAIN_WRONG[name], capsys)
    assert not ok and name in out, out


def test_train_decoder_wrong_return_and_a_wrong_loss(capsys):
    ok, out = run(checks.check_train_decoder, lambda e, d, b, lr, w: train_mine(e, d, b, lr, w)[:2], capsys)
    assert not ok and "one loss per batch (5), got 2" in out

    def with_wrong_loss(e, d, b, lr, w):
        e.requires_grad_(False)
        opt, history = torch.optim.Adam(d.parameters(), lr=lr), []
        for c, s in b:
            loss = loss_mine(e, d, c, s, w, pixels=True)
            opt.zero_grad()
            loss.backward()
            opt.step()
            history.append(loss.item())
        return history

    ok, out = run(checks.check_train_decoder, with_wrong_loss, capsys)
    assert not ok and "decoder_loss" in out


def test_reference_training_lowers_the_loss():
    """A property of the reference itself: five Adam steps on the tiny networks lower the loss."""
    for seed, lr, weight in set12_fast._TRAIN_RUNS:
        encoder, decoder, batches = set12_fast._train_case(seed)
        losses = set12_fast.train_reference(encoder, decoder, batches, lr, weight)
        assert losses[-1] < losses[0]


# --------------------------------------------------------------------------------------------------
# Every check on a stub
# --------------------------------------------------------------------------------------------------


def stub(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize(
    "check",
    [
        checks.check_adain_layer,
        checks.check_fast_transfer,
        checks.check_decoder_loss,
        checks.check_train_decoder,
    ],
)
def test_a_stub_is_not_implemented_yet_and_nothing_raises(check, capsys):
    ok, out = run(check, stub, capsys)
    assert not ok and "not implemented yet" in out
    ok, out = run(check, lambda *a: 1 / 0, capsys)
    assert not ok and "ZeroDivisionError" in out
