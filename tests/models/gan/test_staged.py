"""The staged GAN: decoder pre-training, encoder training, retrieval prior, conditions."""

import functools

import numpy as np
import pytest
import sklearn
import torch
from _gan_helpers import FACTOR, N_CH, N_TIMES, SFREQ, identification, tiny_gan
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from sk_eeg2music.models.gan import Generator, ReconstructionLoss
from sk_eeg2music.models.gan import estimator as gan_estimator
from sk_eeg2music.models.gan._staged import (
    blend_with_prior,
    pretrain_decoder,
    retrieve_from_bank,
    unique_audio,
)
from sk_eeg2music.models.gan.losses import contrastive_loss, zscore_over_time

pytestmark = pytest.mark.filterwarnings("ignore:Empty filters:UserWarning")

tiny_gan = functools.partial(tiny_gan, max_epochs=1)  # one fine-tuning epoch is enough here


def tone_data(n_trials, seed=0):
    """EEG noise and a distinct two-tone waveform per trial."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_trials, N_CH, N_TIMES)).astype(np.float32)
    t = np.arange(N_TIMES * FACTOR) / (SFREQ * FACTOR)
    f0 = rng.uniform(30, 200, (n_trials, 1))
    gate = (np.sin(2 * np.pi * rng.uniform(1, 4, (n_trials, 1)) * t) > 0).astype(float)
    y = 0.4 * np.sin(2 * np.pi * f0 * t) * gate + 0.2 * np.sin(2 * np.pi * 2.3 * f0 * t)
    return X, y.astype(np.float32)


@pytest.fixture(scope="module")
def data():
    X, y = tone_data(12)
    groups = np.repeat(["s1", "s2", "s3"], 4)
    condition = np.tile(["imagery", "listening"], 6)
    return X, y, groups, condition


# ---------------------------------------------------------- stage 1: decoder
def test_decoder_pretraining_converges_on_a_tiny_set():
    _, y = tone_data(4)
    torch.manual_seed(0)
    gen = Generator(
        N_CH,
        FACTOR,
        sfreq=SFREQ,
        encoder_channels=4,
        upsample_channels=16,
        aux_mels=8,
        resblock_dilations=((1, 3),),
        resblock_type=2,
    )
    crit = ReconstructionLoss(SFREQ * FACTOR, FACTOR, n_mels=8, aux_mels=8)
    losses = pretrain_decoder(
        gen,
        crit,
        torch.from_numpy(y),
        steps=50,
        batch_size=4,
        n_crop=16,
        factor=FACTOR,
        weights={"mel": 45.0, "stft_sc": 2.5, "stft_mag": 2.5},
        lr=2e-3,
        seed=0,
    )
    # measured: the last ten steps average 0.60 of the first ten
    assert np.mean(losses[-10:]) < 0.75 * np.mean(losses[:10])


def test_unique_audio_ignores_order_and_repetition():
    _, y = tone_data(5)
    shuffled = np.concatenate([y[[3, 1, 4, 0, 2]], y[:2]])
    np.testing.assert_array_equal(unique_audio(y), unique_audio(shuffled))
    assert len(unique_audio(shuffled)) == 5


def test_decoder_and_prior_see_only_the_training_audio(data, monkeypatch):
    X, y, _, _ = data
    train, test = np.arange(8), np.arange(8, 12)
    seen = []

    def spy(key, net, y_given, settings):
        seen.append(np.array(y_given))
        return real(key, net, y_given, settings)

    real = gan_estimator._fit_decoder
    monkeypatch.setattr(gan_estimator, "_fit_decoder", spy)
    net = tiny_gan().fit(X[train], y[train])
    (given,) = seen
    rows = {r.tobytes() for r in given}
    assert rows == {r.tobytes() for r in y[train]}
    assert not rows & {r.tobytes() for r in y[test]}
    # The retrieval prior's bank holds the training segments' log-mels only.
    assert len(net.prior_bank_) == len(train)


def test_cached_decoder_equals_refit(data, tmp_path, monkeypatch):
    X, y, _, _ = data
    reference = tiny_gan().fit(X, y).predict(X)
    calls = []
    real = gan_estimator._fit_decoder

    def counting(key, net, y, settings):
        calls.append(1)
        return real(key, net, y, settings)

    monkeypatch.setattr(gan_estimator, "_fit_decoder", counting)
    first = tiny_gan(memory=str(tmp_path)).fit(X, y)
    # Another estimator on the same music, permuted (as another fold sees it).
    perm = np.random.default_rng(0).permutation(len(X))
    second = tiny_gan(memory=str(tmp_path)).fit(X, y[perm])
    assert len(calls) == 1 and first.decoder_key_ == second.decoder_key_
    first.fit(X, y)  # a refit of the same estimator uses its own cache
    assert len(calls) == 1
    np.testing.assert_array_equal(first.predict(X), reference)
    np.testing.assert_array_equal(tiny_gan().fit(X, y[perm]).predict(X), second.predict(X))


def test_other_settings_retrain_the_decoder(data):
    X, y, _, _ = data
    a = tiny_gan().fit(X, y)
    b = tiny_gan(decoder_steps=3).fit(X, y)
    c = tiny_gan().fit(X, y[::-1] * 0.5)
    assert len({a.decoder_key_, b.decoder_key_, c.decoder_key_}) == 3
    assert len(b.decoder_losses_) == 3


# ---------------------------------------------------------- stage 2: encoder
def test_contrastive_loss_values():
    torch.manual_seed(0)
    target = torch.randn(6, 3, 10)
    assert contrastive_loss(target, target, 0.01)[0] < 1e-3
    flat = torch.zeros(6, 3, 10)  # no evidence for any candidate: chance
    torch.testing.assert_close(
        contrastive_loss(flat, target, 0.1)[0], torch.tensor(np.log(6.0), dtype=torch.float32)
    )
    # identical targets (the same music) are all positives
    dup = torch.cat([target[:3], target[:3]])
    total, parts = contrastive_loss(dup, dup, 0.01)
    torch.testing.assert_close(
        total, torch.tensor(np.log(2.0), dtype=torch.float32), atol=1e-3, rtol=0
    )
    assert parts["clip"] is total


def _encoded_data(n_trials, seed):
    """EEG that carries a linear mixture of the z-scored log-mel of its own audio."""
    X, y = tone_data(n_trials, seed)
    crit = ReconstructionLoss(SFREQ * FACTOR, FACTOR, n_mels=8, aux_mels=8)
    with torch.no_grad():
        mel = crit.aux_target(torch.from_numpy(y)).numpy()
    mixing = np.random.default_rng(99).standard_normal((N_CH, 8))
    noise = np.random.default_rng(seed + 1).standard_normal(X.shape)
    return (np.einsum("cm,nmt->nct", mixing, mel) + 0.5 * noise).astype(np.float32), y, mel


def test_encoder_features_decode_true_pairs_and_shuffled_pairs_at_chance():
    X, y, _ = _encoded_data(64, seed=1)
    X_test, y_test, mel_test = _encoded_data(16, seed=2)
    params = dict(decoder_steps=0, encoder_epochs=40, encoder_patience=40, encoder_batch_size=16)
    true_pairs = tiny_gan(**params).fit(X, y)
    perm = np.random.default_rng(0).permutation(len(y))
    shuffled = tiny_gan(**params).fit(X, y[perm])
    acc_true = identification(mel_test, true_pairs.predict_features(X_test))
    acc_null = identification(mel_test, shuffled.predict_features(X_test))
    # 16-way: chance 1/16; a binomial 95 % bound at chance is 3/16.
    assert acc_true >= 0.5
    assert acc_null <= 3 / 16


def test_encoder_early_stops_on_held_out_subjects(data):
    X, y, groups, _ = data
    net = tiny_gan(encoder_epochs=30, encoder_patience=2, encoder_validation=0.34)
    net.fit(X, y, groups=groups)
    history = net.encoder_history_
    assert [row["epoch"] for row in history] == list(range(len(history)))  # 0: the start
    assert 0 <= net.encoder_best_epoch_ < len(history) <= 31
    assert all(np.isfinite(row["valid_loss"]) for row in history)
    best = min(range(len(history)), key=lambda i: history[i]["valid_loss"])
    assert net.encoder_best_epoch_ == best
    train, valid = net._encoder_split(len(X), groups, seed=0)
    assert not set(groups[train]) & set(groups[valid])


def test_predict_features_are_log_mels_at_the_eeg_rate(data):
    X, y, _, _ = data
    for training in ("staged", "end_to_end"):
        net = tiny_gan(training=training).fit(X, y)
        feats = net.predict_features(X)
        assert feats.shape == (len(X), 8, N_TIMES)
        assert net.mel_mean_.shape == net.mel_scale_.shape == (8,)
        np.testing.assert_allclose(
            feats.mean(axis=(0, 2)), net.mel_mean_, atol=3 * net.mel_scale_.max()
        )


# --------------------------------------------------- retrieval prior, ablation
def test_retrieval_finds_the_matching_training_window():
    torch.manual_seed(0)
    bank = zscore_over_time(torch.randn(5, 4, 20))
    query = torch.cat([bank[3], bank[1]], dim=-1)[None] + 0.3 * torch.randn(1, 4, 40)
    out = retrieve_from_bank(query, bank)
    torch.testing.assert_close(out, torch.cat([bank[3], bank[1]], dim=-1)[None], atol=1e-4, rtol=0)
    torch.testing.assert_close(blend_with_prior(query, bank, 0.0), zscore_over_time(query))


def test_retrieval_ignores_the_edge_frames_as_the_metrics_do():
    # A decoded log-mel whose first frames are huge (an encoder's padding) must
    # still match its own window, not the window that starts with a transient.
    torch.manual_seed(0)
    bank = zscore_over_time(torch.randn(6, 4, 24))
    bank[5, :, :2] += 12.0  # a training window that starts with a transient
    bank = zscore_over_time(bank)
    query = bank[2:3].clone() + 0.2 * torch.randn(1, 4, 24)
    query[..., :2] += 12.0
    torch.testing.assert_close(retrieve_from_bank(query, bank), bank[2:3], atol=1e-4, rtol=0)
    untrimmed = retrieve_from_bank(query, bank, trim_frames=0)
    torch.testing.assert_close(untrimmed, bank[5:6], atol=1e-4, rtol=0)


def test_prior_weight_changes_only_the_waveform(data):
    X, y, _, _ = data
    net = tiny_gan().fit(X, y)
    feats, with_prior = net.predict_features(X), net.predict(X)
    net.set_params(prior_weight=0.0)
    np.testing.assert_array_equal(net.predict_features(X), feats)
    assert not np.allclose(net.predict(X), with_prior)


def test_end_to_end_is_the_one_network_ablation(data):
    X, y, _, _ = data
    net = tiny_gan(training="end_to_end").fit(X, y)
    assert net.module_.decoder_input_norm is None and net.prior_bank_ is None
    assert not hasattr(net, "decoder_key_") and not hasattr(net, "encoder_history_")
    staged = tiny_gan().fit(X, y)
    assert staged.module_.decoder_input_norm == "zscore"
    with pytest.raises(ValueError, match="training must be"):
        tiny_gan(training="joint").fit(X, y)


# ------------------------------------------------------- joint fine-tuning
def _encoder_state(net):
    return [p.detach().clone() for p in net.module_.encoder_parameters()]


def _decoder_state(net):
    return [p.detach().clone() for p in net.module_.decoder_parameters()]


def test_fine_tuning_keeps_the_staged_encoder_by_default(data):
    # Stage 3's early-stopped encoder is what skorch's epochs start from; by
    # default they update the decoder only.
    X, y, groups, condition = data
    staged = tiny_gan(max_epochs=0).fit(X, y, groups=groups, condition=condition)
    tuned = tiny_gan(max_epochs=2).fit(X, y, groups=groups, condition=condition)
    for a, b in zip(_encoder_state(staged), _encoder_state(tuned), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    moved = [not torch.equal(a, b) for a, b in zip(_decoder_state(staged), _decoder_state(tuned))]
    assert any(moved)
    optimised = {id(p) for g in tuned.optimizer_.param_groups for p in g["params"]}
    assert not optimised & {id(p) for p in tuned.module_.encoder_parameters()}
    np.testing.assert_array_equal(
        staged.predict_features(X, condition=condition),
        tuned.predict_features(X, condition=condition),
    )


@pytest.mark.parametrize("finetune", [False, True])
def test_frozen_encoder_runs_as_at_prediction_in_fine_tuning(data, monkeypatch, finetune):
    # The decoder fine-tunes on what it will be given: no dropout, no autograd.
    X, y, _, _ = data
    net = tiny_gan(max_epochs=0, finetune_encoder=finetune).fit(X, y)
    modes, encode = [], gan_estimator.encode_mel

    def spy(module, x, *args):
        modes.append((torch.is_grad_enabled(), module.training))
        return encode(module, x, *args)

    monkeypatch.setattr(gan_estimator, "encode_mel", spy)
    net.set_params(max_epochs=1).partial_fit(X, y)
    assert modes and set(modes) == {(finetune, finetune)}


def test_stages_leave_no_gradients_behind(data):
    # A stale encoder gradient would count in fine-tuning's clipping norm (and
    # make a resumed run differ from the uninterrupted one).
    X, y, groups, _ = data
    net = tiny_gan(max_epochs=0).fit(X, y, groups=groups)
    assert all(p.grad is None for p in net.module_.parameters())


def test_finetune_encoder_is_the_ablation_that_moves_it(data):
    X, y, groups, _ = data
    staged = tiny_gan(max_epochs=0).fit(X, y, groups=groups)
    tuned = tiny_gan(max_epochs=2, finetune_encoder=True).fit(X, y, groups=groups)
    assert any(not torch.equal(a, b) for a, b in zip(_encoder_state(staged), _encoder_state(tuned)))
    with pytest.raises(ValueError, match="finetune_encoder must be a bool"):
        tiny_gan(finetune_encoder="yes").fit(X, y)


def test_partial_fit_from_scratch_trains_the_encoder_only_when_asked(data):
    # No stage 3 runs there: the encoder trains in skorch's epochs only with
    # finetune_encoder=True (what is frozen depends on parameters alone, so a
    # checkpoint's optimizer always fits the net that resumes it).
    X, y, _, _ = data
    start = _encoder_state(tiny_gan(max_epochs=0).partial_fit(X, y))
    for finetune, moves in ((False, False), (True, True)):
        net = tiny_gan(max_epochs=1, finetune_encoder=finetune).partial_fit(X, y)
        moved = any(not torch.equal(a, b) for a, b in zip(start, _encoder_state(net)))
        assert moved == moves


# --------------------------------------------------------------- conditions
def test_condition_routes_through_a_pipeline(data, monkeypatch):
    X, y, groups, condition = data
    seen = []
    encode = Generator._encode_standardized  # every encoder call goes through it

    def spy(self, xs, condition):
        seen.append(None if condition is None else condition.clone())
        return encode(self, xs, condition)

    monkeypatch.setattr(Generator, "_encode_standardized", spy)
    with sklearn.config_context(enable_metadata_routing=True):
        gan = tiny_gan().set_fit_request(groups=True, condition=True)
        gan.set_predict_request(condition=True)
        pipe = Pipeline([("identity", FunctionTransformer()), ("gan", gan)])
        pipe.fit(X, y, groups=groups, condition=condition)
        assert list(gan.conditions_) == ["imagery", "listening"]
        assert gan.module_.condition_film.num_embeddings == 2
        # every encoder call of every stage got the batch's condition codes
        assert seen and all(c is not None for c in seen)
        assert set(torch.cat(seen).tolist()) == {0, 1}
        seen.clear()
        pipe.predict(X, condition=condition)
        codes = (condition == "listening").astype(int)
        np.testing.assert_array_equal(torch.cat(seen).numpy(), codes)
    # The conditions learnt different maps; without labels there is no map to use.
    assert gan.module_.condition_film.weight.abs().sum() > 0
    with pytest.raises(ValueError, match="one mapping per condition"):
        gan.predict_features(X)
    with pytest.raises(ValueError, match="not seen in fit"):
        gan.predict(X, condition=np.repeat("rest", len(X)))


def test_without_condition_one_mapping(data):
    X, y, _, condition = data
    net = tiny_gan().fit(X, y)
    assert net.conditions_ is None and net.module_.condition_film is None
    np.testing.assert_array_equal(net.predict(X, condition=condition), net.predict(X))


def test_partial_fit_from_scratch_trains_only_skorch_epochs(data):
    X, y, _, condition = data
    net = tiny_gan().partial_fit(X, y, condition=condition)
    assert net.prior_bank_ is None and not hasattr(net, "decoder_key_")
    assert list(net.conditions_) == ["imagery", "listening"]
    assert net.predict_features(X, condition=condition).shape == (len(X), 8, N_TIMES)
    assert len(net.history) == 1
