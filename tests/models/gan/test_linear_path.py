"""The generator's linear path: a closed-form reduced-rank map the encoder starts from."""

import copy

import numpy as np
import pytest
import torch
from _gan_helpers import FACTOR, N_CH, SFREQ, identification, tiny_gan
from sklearn.pipeline import Pipeline

from sk_eeg2music import ChannelScaler
from sk_eeg2music._routing import call_routed
from sk_eeg2music.models._lagged_ridge import inner_splits, predict_lagged
from sk_eeg2music.models.gan import Generator, ReconstructionLoss
from sk_eeg2music.models.gan._linear_path import (
    LaggedLinear,
    fit_linear_path,
    head_codes,
    n_linear_heads,
)
from sk_eeg2music.models.gan._staged import train_encoder
from sk_eeg2music.models.gan.losses import zscore_over_time
from sk_eeg2music.models.reduced_rank import _ALPHAS, default_ranks, fit_reduced_rank
from sk_eeg2music.persistence import load_model, save_model

pytestmark = pytest.mark.filterwarnings("ignore:Empty filters:UserWarning")

N_TIMES = 64  # 2-s trials: room for the 0.6-s lag window


@pytest.mark.parametrize("lags", [np.arange(-2, 5), np.arange(1, 8), np.arange(-8, -1)])
def test_lagged_linear_is_the_lagged_ridge_prediction(lags):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 4, 30))
    coef, x_mean, y_mean = (
        rng.standard_normal((3, 4, 7)),
        rng.standard_normal(4),
        rng.normal(size=3),
    )
    linear = LaggedLinear(4, 3, lags, n_heads=2).double()
    linear.set_head(1, coef, x_mean, y_mean)
    out = linear(torch.as_tensor(X), torch.ones(5, dtype=torch.long)).numpy()
    np.testing.assert_allclose(out, predict_lagged(X, coef, x_mean, y_mean, lags), atol=1e-12)
    # head 0 is still zero: its trials get zeros
    assert not linear(torch.as_tensor(X), torch.zeros(5, dtype=torch.long)).any()


def test_lagged_linear_rejects_gapped_lags():
    with pytest.raises(ValueError, match="consecutive"):
        LaggedLinear(4, 3, [0, 2, 3])


def test_heads_one_per_condition_plus_a_pooled_one():
    assert [n_linear_heads(n) for n in (0, 1, 2, 3)] == [1, 1, 2, 3]
    assert head_codes(None, 1, 2).tolist() == [0, 0]
    assert head_codes(torch.tensor([1, 0]), 3, 2).tolist() == [1, 0]
    assert head_codes(torch.tensor([1, 0]), 1, 2).tolist() == [0, 0]
    with pytest.raises(ValueError, match="one map per condition"):
        head_codes(None, 2, 2)


def test_each_head_is_the_reduced_rank_fit_of_its_trials():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 3, 40))
    Y = rng.standard_normal((12, 4, 40)) + 0.5 * X[:, :1]
    condition = np.repeat([0, 1], 6)
    groups = np.tile([0, 1, 2], 4)
    linear = LaggedLinear(3, 4, np.arange(-1, 4), n_heads=2).double()
    fits = fit_linear_path(linear, X, Y, condition, groups, cv=3)
    assert [f["n_trials"] for f in fits] == [6, 6]
    for head, sel in enumerate([condition == 0, condition == 1]):
        splits = inner_splits(3, int(sel.sum()), groups[sel])
        ref = fit_reduced_rank(X[sel], Y[sel], np.arange(-1, 4), _ALPHAS, default_ranks(4), splits)
        np.testing.assert_allclose(linear.weight[head].numpy(), ref["coef"], atol=1e-12)
        np.testing.assert_allclose(linear.bias[head].numpy(), ref["y_mean"], atol=1e-12)
        assert fits[head]["rank"] == ref["rank"]


def test_a_head_without_trials_is_an_error():
    rng = np.random.default_rng(0)
    linear = LaggedLinear(3, 4, np.arange(0, 3), n_heads=2)
    with pytest.raises(ValueError, match="head 1 has 1 training trial"):
        fit_linear_path(
            linear,
            rng.standard_normal((5, 3, 20)),
            rng.normal(size=(5, 4, 20)),
            np.array([0, 0, 0, 0, 1]),
        )


def _small_generator(**kwargs):
    """A Generator with 4 mel bands and 8-channel encoder and upsampler."""
    params = dict(sfreq=SFREQ, aux_mels=4, encoder_channels=8, upsample_channels=8)
    return Generator(N_CH, FACTOR, **{**params, **kwargs})


def test_the_decoded_mel_starts_from_the_linear_map():
    rng = np.random.default_rng(0)
    gen = _small_generator(linear_window=(-0.1, 0.5), n_conditions=2).eval()
    assert gen.linear.n_heads == 2 and gen.residual_gain.item() == 0.0
    assert any(p is gen.residual_gain for p in gen.encoder_parameters())
    assert not any(p is gen.linear.weight for p in gen.parameters())  # fitted, not trained
    with torch.no_grad():
        gen.linear.weight.normal_()
        x = torch.as_tensor(rng.standard_normal((3, N_CH, N_TIMES)), dtype=torch.float32)
        cond = torch.tensor([0, 1, 1])
        _, mel = gen.encode_mel(x, cond)
        torch.testing.assert_close(mel, gen.linear(gen.standardize(x), cond))
        gen.residual_gain.fill_(1.0)
        _, mel = gen.encode_mel(x, cond)
        torch.testing.assert_close(
            mel, gen.linear(gen.standardize(x), cond) + gen.predict_mel(gen.encode(x, cond))
        )


def test_linear_window_needs_the_mel_bottleneck():
    with pytest.raises(ValueError, match="decoder_input='mel'"):
        Generator(N_CH, FACTOR, sfreq=SFREQ, decoder_input="features", linear_window=(0, 0.2))


def test_encoder_training_keeps_the_starting_weights_when_nothing_improves():
    rng = np.random.default_rng(0)
    gen = _small_generator(linear_window=(0.0, 0.2))
    X = torch.as_tensor(rng.standard_normal((8, N_CH, N_TIMES)), dtype=torch.float32)
    target = torch.as_tensor(rng.standard_normal((8, 4, N_TIMES)), dtype=torch.float32)
    start = copy.deepcopy(gen.state_dict())
    _, best = train_encoder(
        gen,
        X,
        target,
        None,
        np.arange(6),
        np.arange(6, 8),
        epochs=3,
        patience=5,
        batch_size=3,
        lr=0.0,
        weights={"aux": 1.0},
    )
    assert best == 0  # lr=0: no epoch is better than the start
    for k, v in gen.state_dict().items():
        torch.testing.assert_close(v, start[k])


def _inverted_imagery_data(n_trials, seed):
    """Listening EEG carries +mixing @ mel, imagery EEG -mixing @ mel (inverted polarity)."""
    rng = np.random.default_rng(seed)
    t = np.arange(N_TIMES * FACTOR) / (SFREQ * FACTOR)
    f0 = rng.uniform(30, 200, (n_trials, 1))
    gate = (np.sin(2 * np.pi * rng.uniform(1, 4, (n_trials, 1)) * t) > 0).astype(float)
    y = (0.4 * np.sin(2 * np.pi * f0 * t) * gate).astype(np.float32)
    crit = ReconstructionLoss(SFREQ * FACTOR, FACTOR, n_mels=8, aux_mels=8)
    with torch.no_grad():
        mel = zscore_over_time(crit.aux_target(torch.from_numpy(y))).numpy()
    condition = np.where(np.arange(n_trials) % 2, "imagery", "listening")
    sign = np.where(condition == "listening", 1.0, -1.0)[:, None, None]
    mixing = np.random.default_rng(99).standard_normal((N_CH, 8))
    X = sign * np.einsum("cm,nmt->nct", mixing, mel) + rng.standard_normal(
        (n_trials, N_CH, N_TIMES)
    )
    return X.astype(np.float32), y, mel, condition


def test_condition_heads_decode_polarity_inverted_imagery():
    X, y, _, condition = _inverted_imagery_data(48, seed=1)
    X_test, _, mel_test, cond_test = _inverted_imagery_data(16, seed=2)
    params = dict(decoder_steps=0, encoder_epochs=1, sfreq=SFREQ, max_epochs=1)
    aware = tiny_gan(**params).fit(X, y, condition=condition)
    assert [f["n_trials"] for f in aware.linear_fits_] == [19, 19]  # 20 % held out
    pooled = tiny_gan(**params).fit(X, y)
    aware_mel = aware.predict_features(X_test, condition=cond_test)
    pooled_mel = pooled.predict_features(X_test)
    for cond in ("listening", "imagery"):
        sel = cond_test == cond
        # 8-way, chance 1/8
        assert identification(mel_test[sel], aware_mel[sel]) >= 0.75
    # One map for both polarities decodes at most one condition the right way round.
    pooled_acc = [
        identification(mel_test[cond_test == c], pooled_mel[cond_test == c])
        for c in ("listening", "imagery")
    ]
    assert min(pooled_acc) <= 0.25


def test_end_to_end_has_no_linear_path():
    X, y, _, _ = _inverted_imagery_data(8, seed=3)
    net = tiny_gan(training="end_to_end", max_epochs=1).fit(X, y)
    assert net.module_.linear is None and net.linear_fits_ is None


def test_one_condition_is_one_mapping_for_any_condition():
    X, y, _, _ = _inverted_imagery_data(8, seed=3)
    net = tiny_gan(max_epochs=1, decoder_steps=0, encoder_epochs=1)
    net.fit(X, y, condition=np.repeat("listening", len(X)))
    assert net.conditions_ is None and net.module_.linear.n_heads == 1
    # e.g. a listening model tested on imagery trials
    imagery = np.repeat("imagery", len(X))
    np.testing.assert_array_equal(net.predict(X, condition=imagery), net.predict(X))


def test_a_model_file_keeps_asking_for_the_condition(tmp_path):
    X, y, _, condition = _inverted_imagery_data(12, seed=4)
    params = dict(max_epochs=1, decoder_steps=0, encoder_epochs=1)
    pipe = Pipeline([("scale", ChannelScaler()), ("gan", tiny_gan(**params))])
    call_routed(pipe, "fit", X, y, condition=condition)
    loaded = load_model(save_model(pipe, tmp_path / "gan.safetensors"))
    np.testing.assert_array_equal(
        call_routed(loaded, "predict", X, condition=condition),
        call_routed(pipe, "predict", X, condition=condition),
    )
    with pytest.raises(ValueError, match="one mapping per condition"):
        call_routed(loaded, "predict", X)
