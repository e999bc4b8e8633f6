"""Reconstruction metrics: exact values on identical signals, ~0 on noise, bad input."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import KFold, cross_validate

from sk_eeg2music import metrics
from sk_eeg2music.audio import log_mel_spectrogram

SFREQ = 8000

CORRELATIONS = [
    metrics.mel_correlation,
    metrics.envelope_correlation,
    metrics.waveform_correlation,
]
DISTORTIONS = [metrics.mel_cepstral_distortion, metrics.log_spectral_distance]
PER_TRIAL = [
    metrics.mel_correlation_per_trial,
    metrics.envelope_correlation_per_trial,
    metrics.waveform_correlation_per_trial,
    metrics.mel_cepstral_distortion_per_trial,
    metrics.log_spectral_distance_per_trial,
    metrics.si_sdr_per_trial,
    metrics.identification_accuracy_per_trial,
    metrics.rank_accuracy_per_trial,
]
MEANS = [
    *CORRELATIONS,
    *DISTORTIONS,
    metrics.si_sdr,
    metrics.identification_accuracy,
    metrics.rank_accuracy,
]


@pytest.fixture
def audio(make_audio):
    return make_audio(n_trials=8, n_audio=SFREQ, sfreq=SFREQ, seed=1)


@pytest.mark.parametrize("metric", CORRELATIONS)
def test_identical_signals_correlate_perfectly(metric, audio):
    assert metric(audio, audio, sfreq=SFREQ) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("metric", DISTORTIONS)
def test_identical_signals_have_zero_distortion(metric, audio):
    assert metric(audio, audio, sfreq=SFREQ) == pytest.approx(0.0, abs=1e-6)


def test_si_sdr_identical_is_capped_and_scale_invariant(audio):
    cap = metrics.si_sdr(audio, audio, sfreq=SFREQ)
    assert cap == pytest.approx(80.0, abs=0.1)  # 10 log10(1 / eps), eps=1e-8
    assert metrics.si_sdr(audio, 3.0 * audio, sfreq=SFREQ) == pytest.approx(cap, abs=0.1)
    # Half the power as distortion: 0 dB.
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(audio.shape)
    noise -= noise.mean(1, keepdims=True)
    centred = audio - audio.mean(1, keepdims=True)
    # Remove the projection on the signal so that the noise is orthogonal to it.
    noise -= (np.sum(noise * centred, 1) / np.sum(centred**2, 1))[:, None] * centred
    noise *= np.linalg.norm(centred, axis=1, keepdims=True) / np.linalg.norm(
        noise, axis=1, keepdims=True
    )
    assert metrics.si_sdr(audio, centred + noise, sfreq=SFREQ) == pytest.approx(0.0, abs=1e-3)


@pytest.mark.parametrize("metric", CORRELATIONS)
def test_independent_noise_scores_about_zero(metric):
    rng = np.random.default_rng(0)
    t = np.arange(SFREQ) / SFREQ

    # Amplitude-modulated noise so that envelopes and spectra have time structure.
    def env():
        freq, phase = rng.uniform(1, 4, (30, 1)), rng.uniform(0, 6, (30, 1))
        return 1 + np.sin(2 * np.pi * freq * t + phase)

    a = (env() * rng.standard_normal((30, SFREQ))).astype(np.float32)
    b = (env() * rng.standard_normal((30, SFREQ))).astype(np.float32)
    per_trial = metric(a, b, sfreq=SFREQ)
    # The mean of 30 independent correlations: |r| well under 0.1.
    assert abs(per_trial) < 0.1


def test_mean_spectrum_predictor_scores_zero_mel_correlation(audio):
    """The true long-term spectrum with no time structure scores ~0."""
    # Phase randomisation keeps each trial's average spectrum and destroys its
    # time course: a stationary noise shaped like the music.
    rng = np.random.default_rng(0)
    spec = np.abs(np.fft.rfft(audio, axis=1))
    phase = np.exp(2j * np.pi * rng.random(spec.shape))
    flat = np.fft.irfft(spec * phase, n=audio.shape[1], axis=1).astype(np.float32)
    r = metrics.mel_correlation_per_trial(audio, flat, sfreq=SFREQ)
    assert np.all(np.abs(r) < 0.15)
    # ... while the correlation of flattened spectrograms would reward it.
    hop = int(0.008 * SFREQ)
    mt = log_mel_spectrogram(audio, SFREQ, hop).reshape(len(audio), -1)
    mp = log_mel_spectrogram(flat, SFREQ, hop).reshape(len(audio), -1)
    assert np.mean(metrics._rowwise_pearson(mt, mp)) > 0.5


def test_constant_prediction_is_zero_not_nan(audio):
    pred = np.zeros_like(audio)
    assert metrics.waveform_correlation(audio, pred, sfreq=SFREQ) == 0.0
    assert metrics.mel_correlation(audio, pred, sfreq=SFREQ) == 0.0


def test_mcd_uses_cepstra_without_c0(audio):
    # A pure gain changes only c0 (the level): MCD ignores it, LSD does not.
    assert metrics.mel_cepstral_distortion(audio, 2 * audio, sfreq=SFREQ) == pytest.approx(
        0.0, abs=1e-3
    )
    assert metrics.log_spectral_distance(audio, 2 * audio, sfreq=SFREQ) == pytest.approx(
        20 * np.log10(2), rel=1e-3
    )


@pytest.mark.parametrize("per_trial", PER_TRIAL)
def test_per_trial_shape_and_mean(per_trial, audio):
    pred = np.roll(audio, 50, axis=1)
    values = per_trial(audio, pred, sfreq=SFREQ)
    assert values.shape == (len(audio),)
    mean = getattr(metrics, per_trial.__name__.removesuffix("_per_trial"))
    assert mean(audio, pred, sfreq=SFREQ) == pytest.approx(values.mean())


def test_identification_exact_copies_is_perfect(audio):
    assert metrics.identification_accuracy(audio, audio, sfreq=SFREQ) == 1.0
    assert metrics.rank_accuracy(audio, audio, sfreq=SFREQ) == 1.0


def test_identification_deduplicates_repeated_music(audio):
    # Three subjects heard the same 8 segments: 8 candidates, not 24.
    y_true = np.concatenate([audio] * 3)
    assert metrics.identification_chance(y_true) == pytest.approx(1 / 8)
    assert metrics.identification_chance(y_true, top_k=3) == pytest.approx(3 / 8)
    assert metrics.identification_accuracy(y_true, y_true, sfreq=SFREQ) == 1.0


def test_identification_of_shuffled_copies_is_about_chance(make_audio):
    n = 40
    y = make_audio(n_trials=n, n_audio=SFREQ // 2, sfreq=SFREQ, seed=3)
    accs, ranks = [], []
    for seed in range(5):
        perm = np.random.default_rng(seed).permutation(n)
        accs.append(metrics.identification_accuracy(y, y[perm], sfreq=SFREQ))
        ranks.append(metrics.rank_accuracy(y, y[perm], sfreq=SFREQ))
    # A random permutation has on average one fixed point: accuracy 1/n in expectation.
    assert np.mean(accs) < 4 / n
    assert abs(np.mean(ranks) - 0.5) < 0.1


def test_identification_ties_score_chance(audio):
    constant = np.zeros_like(audio)
    assert metrics.identification_accuracy(audio, constant, sfreq=SFREQ) == pytest.approx(
        1 / len(audio)
    )
    assert metrics.identification_accuracy(audio, constant, sfreq=SFREQ, top_k=2) == pytest.approx(
        2 / len(audio)
    )
    assert metrics.rank_accuracy(audio, constant, sfreq=SFREQ) == pytest.approx(0.5)


def test_similarity_matrix_diagonal_is_mel_correlation(audio):
    pred = np.roll(audio, 400, axis=1)
    sim = metrics.similarity_matrix(audio, pred, sfreq=SFREQ)
    np.testing.assert_allclose(
        np.diag(sim), metrics.mel_correlation_per_trial(audio, pred, sfreq=SFREQ), atol=1e-5
    )


def test_binomial_p_value():
    assert metrics.binomial_p_value(0.9, 50, 0.1) < 1e-10
    assert metrics.binomial_p_value(0.1, 50, 0.1) > 0.3
    with pytest.raises(ValueError, match="chance"):
        metrics.binomial_p_value(0.5, 10, 1.5)


def test_permutation_p_value(audio, make_audio):
    p_true, null = metrics.permutation_p_value(
        audio, audio, sfreq=SFREQ, n_permutations=200, random_state=0, return_null=True
    )
    assert null.shape == (200,)
    # 8 trials: some permutations are the identity (1/8!), so p is small but not 0.
    assert p_true < 0.05
    other = make_audio(n_trials=8, n_audio=SFREQ, sfreq=SFREQ, seed=7)
    assert metrics.permutation_p_value(audio, other, sfreq=SFREQ, random_state=0) > 0.01


class _Echo(RegressorMixin, BaseEstimator):
    """Predicts the training audio of the nearest trial: a toy for the scorers."""

    def fit(self, X, y):
        self.y_ = np.asarray(y)
        return self

    def predict(self, X):
        return np.asarray(X)[:, : self.y_.shape[1]]


def test_make_scorers_in_cross_validate(audio):
    scorers = metrics.make_scorers(SFREQ)
    assert {"mel_correlation", "identification_accuracy", "neg_mel_cepstral_distortion"} <= set(
        scorers
    )
    # X carries the audio itself, so _Echo reconstructs perfectly.
    res = cross_validate(_Echo(), audio, audio, cv=KFold(2), scoring=scorers)
    assert np.allclose(res["test_mel_correlation"], 1.0, atol=1e-5)
    assert np.allclose(res["test_identification_accuracy"], 1.0)
    assert np.allclose(res["test_neg_mel_cepstral_distortion"], 0.0, atol=1e-4)


@pytest.mark.parametrize("metric", MEANS)
def test_bad_input(metric, audio):
    with pytest.raises(ValueError, match="same shape"):
        metric(audio, audio[:, :-10], sfreq=SFREQ)
    with pytest.raises(ValueError, match="same shape"):
        metric(audio, audio[:-1], sfreq=SFREQ)
    with pytest.raises(ValueError, match="2-D"):
        metric(audio[0], audio[0], sfreq=SFREQ)
    for bad in (None, 0, -8000.0, float("nan")):
        with pytest.raises(ValueError, match="sfreq"):
            metric(audio, audio, sfreq=bad)
    with pytest.raises(TypeError):
        metric(audio, audio)  # sfreq is required


def test_identification_needs_two_segments(audio):
    same = np.repeat(audio[:1], 4, axis=0)
    with pytest.raises(ValueError, match="2 distinct"):
        metrics.identification_accuracy(same, same, sfreq=SFREQ)


def test_make_scorers_bad_rate():
    with pytest.raises(ValueError, match="audio_sfreq"):
        metrics.make_scorers(0)


def test_scorers_share_spectrograms_within_a_round_only(audio, monkeypatch):
    """The scorers of one make_scorers call compute each log-mel once per pair,
    and a new (or mutated-then-re-predicted) pair is never served old results."""
    calls = []
    real = metrics.log_mel_spectrogram

    def counting(y, *args, **kwargs):
        calls.append(id(y))
        return real(y, *args, **kwargs)

    monkeypatch.setattr(metrics, "log_mel_spectrogram", counting)
    scorers = metrics.make_scorers(SFREQ)
    pred = np.roll(audio, 30, axis=1).astype(np.float64)  # float64, as estimators return
    values = {name: s._score_func(audio, pred, **s._kwargs) for name, s in scorers.items()}
    assert len(calls) == 2  # y_true and y_pred, once each
    direct = metrics.mel_correlation(audio, pred, sfreq=SFREQ)
    assert values["mel_correlation"] == pytest.approx(direct)
    # A new prediction array is a new round.
    other = np.roll(audio, 400, axis=1)
    s = scorers["mel_correlation"]
    assert s._score_func(audio, other, **s._kwargs) == pytest.approx(
        metrics.mel_correlation(audio, other, sfreq=SFREQ)
    )
    import pickle

    clone = pickle.loads(pickle.dumps(s))
    assert clone._score_func(audio, pred, **s._kwargs) == pytest.approx(direct)
