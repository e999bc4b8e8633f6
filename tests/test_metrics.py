"""Reconstruction metrics: exact values on identical signals, ~0 on noise, bad input."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import KFold, cross_validate

from sk_eeg2music import metrics
from sk_eeg2music.audio import log_mel_spectrogram
from sk_eeg2music.metrics import _common

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
    assert np.mean(_common._rowwise_pearson(mt, mp)) > 0.5


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
    assert {"mel_r", "id_acc", "neg_mcd", "neg_fmd"} <= set(scorers)
    # X carries the audio itself, so _Echo reconstructs perfectly.
    res = cross_validate(_Echo(), audio, audio, cv=KFold(2), scoring=scorers)
    assert np.allclose(res["test_mel_r"], 1.0, atol=1e-5)
    assert np.allclose(res["test_id_acc"], 1.0)
    assert np.allclose(res["test_neg_mcd"], 0.0, atol=1e-4)


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
    real = _common.log_mel_spectrogram

    def counting(y, *args, **kwargs):
        calls.append(id(y))
        return real(y, *args, **kwargs)

    monkeypatch.setattr(_common, "log_mel_spectrogram", counting)
    scorers = metrics.make_scorers(SFREQ)
    pred = np.roll(audio, 30, axis=1).astype(np.float64)  # float64, as estimators return
    values = {name: s._score_func(audio, pred, **s._kwargs) for name, s in scorers.items()}
    assert len(calls) == 2  # y_true and y_pred, once each
    direct = metrics.mel_correlation(audio, pred, sfreq=SFREQ)
    assert values["mel_r"] == pytest.approx(direct)
    # A new prediction array is a new round.
    other = np.roll(audio, 400, axis=1)
    s = scorers["mel_r"]
    assert s._score_func(audio, other, **s._kwargs) == pytest.approx(
        metrics.mel_correlation(audio, other, sfreq=SFREQ)
    )
    import pickle

    clone = pickle.loads(pickle.dumps(s))
    assert clone._score_func(audio, pred, **s._kwargs) == pytest.approx(direct)


# ----------------------------------------------------------------------------- trial edges


@pytest.fixture(scope="module")
def music():
    """Simulated chorales, 16 kHz, 28 listening segments of 4 s (realistic music, ~3 s)."""
    from sk_eeg2music import make_simulated

    return make_simulated(
        kind="mos", n_subjects=1, segment_seconds=4.0, conditions=["listening"], random_state=0
    )


def _edge_free_predictions(y, sfreq):
    """Predictions with no time structure, the same for every trial."""
    import librosa

    from sk_eeg2music.audio import mel_params, mel_to_waveform

    hop = int(round(0.008 * sfreq))
    n_fft = mel_params(sfreq, hop)["n_fft"]
    # Griffin-Lim of the music's time-averaged log-mel (the package's Griffin-Lim,
    # the one LinearDecoder uses).
    logmel = log_mel_spectrogram(y, sfreq, hop)
    const = np.broadcast_to(logmel.mean(axis=(0, 2))[None, :, None], (1, *logmel.shape[1:]))
    griffin_lim = mel_to_waveform(const, sfreq, hop, y.shape[1])[0]
    # A constant-spectrum noise: the music's mean STFT magnitude in every frame, random
    # phases, inverted by librosa's ISTFT (what an STFT-domain decoder of a flat
    # spectrum outputs).
    rng = np.random.default_rng(0)
    mag = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop)).mean(axis=(0, 2))
    phase = np.exp(2j * np.pi * rng.random((len(mag), 1 + y.shape[1] // hop)))
    noise = librosa.istft(mag[:, None] * phase, hop_length=hop, n_fft=n_fft, length=y.shape[1])
    white = rng.standard_normal(y.shape[1])
    return {
        name: np.repeat(p[None].astype(np.float32), len(y), axis=0)
        for name, p in [("griffin_lim", griffin_lim), ("noise", noise), ("white", white)]
    }


def test_edges_no_longer_score(music):
    """A prediction without time structure scores |mel r| < 0.02 once the edges are dropped.

    Measured on these 28 segments (16 kHz, 4 s), mean mel r, old (``trim_seconds=0``)
    -> default (0.1 s at each edge):

    - Griffin-Lim of the time-averaged log-mel: 0.146 -> -0.000;
    - ISTFT of the mean STFT magnitude, random phases: 0.074 -> -0.001;
    - white noise: -0.015 -> 0.001 (no edge gain: its top bands are loud, so the
      edge dip of its padded frames does not match the music's edge clicks).

    The old metric rewards the first two through the top mel bands (Griffin-Lim:
    r 0.54 over the top 8 bands), where the zero-padded edge frames of every trial
    share one time course.
    """
    y, sfreq = music.y, int(music.audio_sfreq)
    preds = _edge_free_predictions(y, sfreq)
    for name, pred in preds.items():
        r = metrics.mel_correlation(y, pred, sfreq=sfreq)
        assert abs(r) < 0.02, (name, r)
    old = {n: metrics.mel_correlation(y, p, sfreq=sfreq, trim_seconds=0) for n, p in preds.items()}
    assert old["griffin_lim"] > 0.1
    assert old["noise"] > 0.05


def test_trim_zero_restores_the_untrimmed_metrics(audio):
    pred = np.roll(audio, 300, axis=1)
    hop = int(0.008 * SFREQ)
    mt, mp = log_mel_spectrogram(audio, SFREQ, hop), log_mel_spectrogram(pred, SFREQ, hop)
    old = _common._rowwise_pearson(mt, mp).mean(axis=-1)
    np.testing.assert_allclose(
        metrics.mel_correlation_per_trial(audio, pred, sfreq=SFREQ, trim_seconds=0), old, atol=1e-6
    )
    # Default: max(n_fft / sfreq, 0.1 s) = 0.1 s = 13 frames of 8 ms at each edge.
    k = metrics.edge_frames(SFREQ, hop, mt.shape[-1])
    assert k == 13
    new = _common._rowwise_pearson(mt[..., k:-k], mp[..., k:-k]).mean(axis=-1)
    np.testing.assert_allclose(metrics.mel_correlation_per_trial(audio, pred, sfreq=SFREQ), new)
    assert not np.allclose(new, old)


@pytest.mark.parametrize(
    "metric",
    [metrics.mel_correlation, metrics.mel_cepstral_distortion, metrics.log_spectral_distance],
)
def test_every_spectral_metric_drops_the_edges(metric, audio):
    """Predictions that differ from the truth only at the edges score as identical ones."""
    pred = audio.copy()
    pred[:, :400] = 0.0  # the first 50 ms: inside the 0.1-s margin
    pred[:, -400:] = 0.0
    assert metric(audio, pred, sfreq=SFREQ) == pytest.approx(metric(audio, audio, sfreq=SFREQ))
    assert metric(audio, pred, sfreq=SFREQ, trim_seconds=0) != pytest.approx(
        metric(audio, audio, sfreq=SFREQ, trim_seconds=0)
    )


def test_similarity_matrix_drops_the_edges(audio):
    pred = audio.copy()
    pred[:, :400] = pred[:, -400:] = 0.0
    np.testing.assert_allclose(
        metrics.similarity_matrix(audio, pred, sfreq=SFREQ),
        metrics.similarity_matrix(audio, audio, sfreq=SFREQ),
        atol=1e-6,
    )


def test_edge_frames_default_and_bad_input():
    # 32-ms window at 16 kHz: the 0.1-s margin dominates; a 128-ms window wins over it.
    assert metrics.edge_frames(16000, 128, 500) == 13
    assert metrics.edge_frames(16000, 128, 500, trim_seconds=0.032) == 4  # exact multiple
    assert metrics.edge_frames(2000, 250, 100) == 3  # n_fft = 512 at 2 kHz: 0.256 s
    with pytest.raises(ValueError, match="trim_seconds"):
        metrics.edge_frames(16000, 128, 500, trim_seconds=-1)
    with pytest.raises(ValueError, match="too short"):
        metrics.edge_frames(16000, 128, 27)
    y = np.random.default_rng(0).standard_normal((2, 1600)).astype(np.float32)  # 0.2 s
    with pytest.raises(ValueError, match="too short"):
        metrics.mel_correlation(y, y, sfreq=SFREQ)
    assert metrics.mel_correlation(y, y, sfreq=SFREQ, trim_seconds=0) == pytest.approx(1.0)


def test_unique_rows_is_exact_and_ordered_by_first_occurrence():
    y = np.array([[2.0, 2.0], [0.0, 1.0], [2.0, 2.0], [1.0, 0.0], [0.0, 1.0]])
    first, inverse = _common._unique_rows(y)
    np.testing.assert_array_equal(first, [0, 1, 3])
    np.testing.assert_array_equal(inverse, [0, 1, 0, 2, 1])
    # Bit-wise: a one-ulp difference is another segment.
    z = np.ones((2, 5), dtype=np.float32)
    z[1, 3] = np.nextafter(np.float32(1), np.float32(2))
    assert len(_common._unique_rows(z)[0]) == 2


def test_shared_spectrograms_compute_each_log_mel_once(audio, monkeypatch):
    calls = []
    real = _common.log_mel_spectrogram

    def counting(y, *args, **kwargs):
        calls.append(id(y))
        return real(y, *args, **kwargs)

    pred = np.roll(audio, 200, axis=1).astype(np.float64)
    expected = [
        metrics.mel_correlation(audio, pred, sfreq=SFREQ),
        metrics.identification_accuracy(audio, pred, sfreq=SFREQ),
        metrics.frechet_mel_distance(audio, pred, sfreq=SFREQ),
    ]
    monkeypatch.setattr(_common, "log_mel_spectrogram", counting)
    with metrics.shared_spectrograms():
        got = [
            metrics.mel_correlation(audio, pred, sfreq=SFREQ),
            metrics.identification_accuracy(audio, pred, sfreq=SFREQ),
            metrics.frechet_mel_distance(audio, pred, sfreq=SFREQ),
        ]
    assert len(calls) == 2
    assert got == pytest.approx(expected)
    metrics.mel_correlation(audio, pred, sfreq=SFREQ)  # outside the block: recomputed
    assert len(calls) == 4


# ----------------------------------------------------------------------------- feature level


def test_feature_target_is_the_linear_decoders_target(music):
    from sk_eeg2music import LinearDecoder

    y, sr, sfreq = music.y[:3], int(music.audio_sfreq), music.sfreq
    factor = int(sr / sfreq)
    F = metrics.feature_target(y, sr, sfreq, n_mels=16)
    assert F.shape == (3, 16, y.shape[1] // factor)
    dec = LinearDecoder(target="mel", n_mels=16, sfreq=sfreq)
    np.testing.assert_array_equal(F, dec._targets(y, float(sr), factor))
    with pytest.raises(ValueError, match="integer"):
        metrics.feature_target(y, sr, 96.0)


def test_feature_correlation_levels():
    rng = np.random.default_rng(0)
    F = rng.standard_normal((40, 8, 64))
    assert metrics.feature_correlation(F, F) == pytest.approx(1.0)
    assert metrics.feature_correlation(F, -3 * F + 2) == pytest.approx(-1.0)
    assert metrics.feature_correlation(F, np.zeros_like(F)) == 0.0
    # Chance: independent features, 40 trials x 8 bands x 60 frames.
    assert abs(metrics.feature_correlation(F, rng.standard_normal(F.shape))) < 0.02
    per_trial = metrics.feature_correlation_per_trial(F, F + rng.standard_normal(F.shape))
    assert per_trial.shape == (40,)
    assert np.mean(per_trial) == pytest.approx(1 / np.sqrt(2), abs=0.03)


def test_feature_correlation_drops_edge_frames():
    rng = np.random.default_rng(1)
    F = rng.standard_normal((10, 4, 50))
    edge = np.zeros_like(F)
    edge[..., :2] = F[..., :2] * 100  # matches the truth only where it is dropped
    edge[..., -2:] = F[..., -2:] * 100
    assert abs(metrics.feature_correlation(F, edge)) < 1e-12
    assert metrics.feature_correlation(F, edge, trim_frames=0) > 0.1
    with pytest.raises(ValueError, match="trim_frames"):
        metrics.feature_correlation(F, F, trim_frames=-1)


@pytest.mark.parametrize(
    "bad, match",
    [
        (lambda F: F[..., :-1], "same shape"),
        (lambda F: F[0], "3-D"),
        (lambda F: np.where(F > 1, np.nan, F), "NaN"),
    ],
)
def test_feature_metrics_bad_input(bad, match):
    F = np.random.default_rng(0).standard_normal((4, 8, 32))
    for metric in (metrics.feature_correlation, metrics.feature_identification_accuracy):
        with pytest.raises(ValueError, match=match):
            metric(F, bad(F))


def _beat_and_signal(n_trials=30, n_mels=8, n_frames=64, seed=0):
    """Features = a template every trial shares (the beat) + what differs per trial."""
    rng = np.random.default_rng(seed)
    beat = 3 * rng.standard_normal((n_mels, n_frames)) - 10  # log-mel-like offset
    signal = rng.standard_normal((n_trials, n_mels, n_frames))
    return beat, signal, rng


def test_feature_correlation_beyond_a_reference_ignores_the_reference():
    beat, signal, rng = _beat_and_signal()
    F = beat + signal
    template = np.broadcast_to(beat, F.shape)
    # Without the reference, the beat alone correlates with the truth.
    assert metrics.feature_correlation(F, template) > 0.9
    # The reference itself, an affine map of it, and a constant: exactly 0.
    for pred in (template, -2.5 * template + 7, np.full(F.shape, 3.0)):
        np.testing.assert_array_equal(
            metrics.feature_correlation_per_trial(F, pred, reference=beat), 0.0
        )
    # float32 rounding of the template (as after a model's predict_features): still 0.
    rounded = template.astype(np.float32)
    assert metrics.feature_correlation(F, rounded, reference=beat) == 0.0


def test_feature_correlation_beyond_a_reference_keeps_what_the_eeg_adds():
    beat, signal, rng = _beat_and_signal()
    F = beat + signal
    noise = rng.standard_normal(F.shape)
    # The true features plus noise of equal variance: the residual is the signal + noise.
    good = metrics.feature_correlation_per_trial(F, F + noise, reference=beat)
    assert good.shape == (30,)
    assert np.mean(good) == pytest.approx(1 / np.sqrt(2), abs=0.03)
    # The signal alone (no beat in the prediction) is not penalised for lacking it.
    assert metrics.feature_correlation(F, signal, reference=beat) == pytest.approx(1.0)
    # Noise around the template: chance (30 trials x 8 bands x 60 frames).
    assert abs(metrics.feature_correlation(F, beat + noise, reference=beat)) < 0.02
    # A reference per trial gives the same as the shared one broadcast.
    np.testing.assert_allclose(
        metrics.feature_correlation_per_trial(
            F, F + noise, reference=np.broadcast_to(beat, F.shape)
        ),
        good,
    )


def test_feature_correlation_with_a_constant_reference_is_the_plain_r():
    beat, signal, rng = _beat_and_signal()
    F = beat + signal
    pred = F + rng.standard_normal(F.shape)
    np.testing.assert_allclose(
        metrics.feature_correlation_per_trial(F, pred, reference=np.zeros(F.shape[1:])),
        metrics.feature_correlation_per_trial(F, pred),
    )


def test_feature_correlation_beyond_a_reference_trims_its_edges():
    beat, signal, _ = _beat_and_signal(n_trials=10)
    F = beat + signal
    edge = np.broadcast_to(beat, F.shape).copy()
    edge[..., :2] = F[..., :2]  # matches the truth beyond the beat only where it is dropped
    edge[..., -2:] = F[..., -2:]
    assert metrics.feature_correlation(F, edge, reference=beat) == 0.0
    assert metrics.feature_correlation(F, edge, reference=beat, trim_frames=0) > 0.1


@pytest.mark.parametrize(
    "reference, match",
    [
        (np.zeros((8, 63)), "reference must have shape"),
        (np.zeros((7, 64)), "reference must have shape"),
        (np.zeros((3, 8, 64)), "reference must have shape"),  # neither 1 nor n_trials
        (np.zeros(64), "reference must have shape"),
        (np.full((8, 64), np.nan), "NaN"),
        (np.full((8, 64), "a"), "real numeric"),
    ],
)
def test_feature_correlation_bad_reference(reference, match):
    F = np.random.default_rng(0).standard_normal((4, 8, 64))
    with pytest.raises(ValueError, match=match):
        metrics.feature_correlation_per_trial(F, F, reference=reference)
    with pytest.raises(ValueError, match=match):
        metrics.feature_correlation(F, F, reference=reference)


def test_feature_identification():
    rng = np.random.default_rng(0)
    F = rng.standard_normal((6, 8, 64))
    noisy = F + 0.5 * rng.standard_normal(F.shape)
    assert metrics.feature_identification_accuracy(F, noisy) == 1.0
    assert metrics.feature_identification_accuracy(F, noisy[::-1]) == 0.0
    # Repeated segments (three subjects) count once; a constant scores chance.
    F3 = np.concatenate([F] * 3)
    assert metrics.identification_chance(F3) == pytest.approx(1 / 6)
    assert metrics.feature_identification_accuracy(F3, np.zeros_like(F3)) == pytest.approx(1 / 6)
    assert metrics.feature_identification_accuracy(F3, np.concatenate([noisy] * 3)) == 1.0
    # The guesses: the first row of the best-matching distinct segment.
    f = metrics.feature_identification_accuracy_per_trial
    hit, guess = f(F3, np.concatenate([noisy[::-1]] * 3), return_guess=True)
    np.testing.assert_array_equal(hit, 0.0)
    np.testing.assert_array_equal(guess, np.tile(np.arange(6)[::-1], 3))
    np.testing.assert_array_equal(hit, f(F3, np.concatenate([noisy[::-1]] * 3)))


def _song_design(n_songs=4, n_positions=3, n_recordings_per_song=2, seed=0):
    """True features of songs cut in segments, one copy per recording of each song."""
    rng = np.random.default_rng(seed)
    songs = rng.standard_normal((n_songs, n_positions, 8, 32))
    stim, seg, rec = np.meshgrid(
        np.arange(n_songs), np.arange(n_positions), np.arange(n_recordings_per_song), indexing="ij"
    )
    stim, seg, rec = stim.ravel(), seg.ravel(), stim.ravel() * n_recordings_per_song + rec.ravel()
    F = songs[stim, seg]
    return F, np.array([f"song-{s}" for s in stim]), seg, rec, rng


def test_feature_song_identification_by_recording():
    F, stimulus, segment, recording, rng = _song_design()
    kw = dict(stimulus=stimulus, segment=segment, recording=recording)
    f = metrics.feature_song_identification_per_recording
    hit = f(F, F + 2.0 * rng.standard_normal(F.shape), **kw)
    assert hit.shape == (8,)
    assert hit.mean() == 1.0
    # Each recording decoded as the next song at the same positions: always wrong.
    nxt = np.array(
        [
            np.flatnonzero((stimulus == f"song-{(int(s[-1]) + 1) % 4}") & (segment == g))[0]
            for s, g in zip(stimulus, segment)
        ]
    )
    assert f(F, F[nxt], **kw).mean() == 0.0
    # An EEG-free prediction shared by every trial picks one song for all: chance.
    shared = np.broadcast_to(F[0], F.shape)
    assert f(F, shared, **kw).mean() == pytest.approx(1 / 4)
    # A constant prediction ties every song: credit 1 / 4 each.
    np.testing.assert_allclose(f(F, np.zeros_like(F), **kw), 1 / 4)
    # The guesses: each recording's own song, then the next one.
    hit, guess = f(F, F, return_guess=True, **kw)
    songs_of_recordings = stimulus[np.unique(recording, return_index=True)[1]]
    np.testing.assert_array_equal(guess, songs_of_recordings)
    _, wrong = f(F, F[nxt], return_guess=True, **kw)
    assert not np.any(wrong == songs_of_recordings)


def test_feature_song_identification_pools_segments_of_a_recording():
    # Per segment the signal is weak; summed over a recording's segments it names the song.
    F, stimulus, segment, recording, rng = _song_design(n_positions=12, n_recordings_per_song=10)
    noisy = F + 15.0 * rng.standard_normal(F.shape)
    kw = dict(stimulus=stimulus, segment=segment)
    one_segment = metrics.feature_song_identification_per_recording(
        F, noisy, recording=np.arange(len(F)), **kw
    )
    whole = metrics.feature_song_identification_per_recording(F, noisy, recording=recording, **kw)
    assert one_segment.mean() < 0.6
    assert whole.mean() > one_segment.mean() + 0.3


def test_feature_song_identification_bad_input():
    F, stimulus, segment, recording, _ = _song_design()
    f = metrics.feature_song_identification_per_recording
    with pytest.raises(ValueError, match="recording must have shape"):
        f(F, F, stimulus, segment, recording[:-1])
    with pytest.raises(ValueError, match="several songs"):
        f(F, F, stimulus, segment, np.zeros(len(F), int))
    with pytest.raises(ValueError, match="same shape"):
        f(F, F[:-1], stimulus, segment, recording)


# ----------------------------------------------------------------------------- match-mismatch


@pytest.fixture(scope="module")
def music_features(music):
    return metrics.feature_target(music.y, int(music.audio_sfreq), music.sfreq), music


def test_match_mismatch_perfect_and_mispaired(music_features):
    F, data = music_features
    kw = dict(sfreq=data.sfreq, stimulus=data.stimulus, segment=data.segment)
    acc, p = metrics.match_mismatch_accuracy(F, F, return_p_value=True, **kw)
    assert acc == 1.0
    assert p == pytest.approx(0.5 ** len(F))
    # Two segments per chorale, each predicted by the other one: every trial loses.
    two = np.flatnonzero(data.segment < 2)
    swapped = two.reshape(-1, 2)[:, ::-1].ravel()
    assert np.all(data.stimulus[two] == data.stimulus[swapped])
    kw = dict(sfreq=data.sfreq, stimulus=data.stimulus[two], segment=data.segment[two])
    acc, p = metrics.match_mismatch_accuracy(F[two], F[swapped], return_p_value=True, **kw)
    assert acc == 0.0 and p == 1.0


def test_match_mismatch_beat_template_is_chance_with_segment_imposters(simulated):
    """The mean log-mel time course of training segments, cut on the beat, carries no
    information on *which* segment: chance with segment imposters (feature r 0.15)."""
    data = simulated(
        "mos", n_subjects=1, segment_seconds=3.0, stimulus_seconds=15.0, conditions=["listening"]
    )
    F = metrics.feature_target(data.y, data.audio_sfreq, data.sfreq)
    train, test = data.segment % 2 == 0, data.segment % 2 == 1
    template = np.broadcast_to(F[train].mean(axis=0), F[test].shape)
    kw = dict(sfreq=data.sfreq, stimulus=data.stimulus[test], segment=data.segment[test])
    assert metrics.match_mismatch_accuracy(F[test], template, **kw) == pytest.approx(0.5)
    # The within-trial shifted window is what the beat fools (documented).
    assert (
        metrics.match_mismatch_accuracy(F[test], template, sfreq=data.sfreq, imposters="shift")
        > 0.7
    )


def test_match_mismatch_waveform_level_agrees_with_features(music, music_features):
    F, _ = music_features
    y, sr = music.y, int(music.audio_sfreq)
    rng = np.random.default_rng(0)
    noisy = y + 2.0 * np.std(y) * rng.standard_normal(y.shape).astype(np.float32)
    kw = dict(stimulus=music.stimulus, segment=music.segment)
    wave = metrics.match_mismatch_accuracy_per_trial(y, noisy, sfreq=sr, **kw)
    assert wave.shape == (len(y),)
    assert 0.7 < wave.mean() <= 1.0
    # The same 4-s segments, 1 s apart at least: every other segment of a chorale.
    n_per_stimulus = len(y) // len(np.unique(music.stimulus))
    assert np.all(np.isfinite(wave))
    const = metrics.match_mismatch_accuracy_per_trial(y, np.zeros_like(y), sfreq=sr, **kw)
    np.testing.assert_array_equal(const, 0.5)
    assert n_per_stimulus > 1


def test_match_mismatch_min_offset_excludes_close_segments():
    rng = np.random.default_rng(0)
    F = rng.standard_normal((3, 4, 32))  # 0.5-s segments at 64 Hz
    stimulus, segment = ["a", "a", "a"], [0, 1, 2]
    F[2] = -F[1] + 0.1 * F[2]  # far from segment 1
    pred = F.copy()
    pred[0] = F[1]  # trial 0 predicts its neighbour, 0.5 s away: not an imposter at 1 s
    hit = metrics.match_mismatch_accuracy_per_trial(
        F, pred, sfreq=64.0, stimulus=stimulus, segment=segment, trim_frames=0
    )
    # Only segments 0 and 2 are 1 s apart: trial 1 has no imposter, trial 0 beats segment 2.
    assert np.isnan(hit[1]) and hit[0] == 1.0 and hit[2] == 1.0
    hit = metrics.match_mismatch_accuracy_per_trial(
        F,
        pred,
        sfreq=64.0,
        stimulus=stimulus,
        segment=segment,
        trim_frames=0,
        min_offset_seconds=0.5,
    )
    assert hit.tolist() == [0.5, 1.0, 1.0]  # trial 0 now also faces (and loses to) segment 1
    with pytest.raises(ValueError, match="no trial has an imposter"):
        metrics.match_mismatch_accuracy(
            F[:2], pred[:2], sfreq=64.0, stimulus=stimulus[:2], segment=segment[:2]
        )
    # onset= overrides the segment indices.
    hit = metrics.match_mismatch_accuracy_per_trial(
        F, pred, sfreq=64.0, stimulus=stimulus, onset=[0.0, 1.0, 2.0], trim_frames=0
    )
    assert hit.tolist() == [0.5, 1.0, 1.0]


def test_match_mismatch_bad_input():
    F = np.random.default_rng(0).standard_normal((4, 4, 128))
    with pytest.raises(ValueError, match="stimulus= and segment="):
        metrics.match_mismatch_accuracy(F, F, sfreq=64.0)
    with pytest.raises(ValueError, match="imposters"):
        metrics.match_mismatch_accuracy(F, F, sfreq=64.0, imposters="random")
    with pytest.raises(ValueError, match="shape"):
        metrics.match_mismatch_accuracy(F, F, sfreq=64.0, stimulus=["a"] * 3, segment=[0, 1, 2])
    with pytest.raises(ValueError, match="min_offset_seconds"):
        metrics.match_mismatch_accuracy(F, F, sfreq=64.0, imposters="shift", min_offset_seconds=0)
    with pytest.raises(ValueError, match="longer than the offset"):
        metrics.match_mismatch_accuracy(F, F, sfreq=64.0, imposters="shift", min_offset_seconds=2)
    assert metrics.match_mismatch_accuracy(F, F, sfreq=64.0, imposters="shift") == 1.0


# ----------------------------------------------------------------------------- realism


def test_frechet_mel_distance_properties(music):
    """Realism, not fidelity. Measured on these 28 segments: floor 80 +- 30 over 10
    random halvings; Griffin-Lim of the mean log-mel 476, constant-spectrum noise 623,
    white noise 4449; the time-reversed music (realistic frames, every trial wrong) 0.0004."""
    y, sr = music.y, int(music.audio_sfreq)
    assert metrics.frechet_mel_distance(y, y[::-1], sfreq=sr) == pytest.approx(0.0, abs=1e-6)
    assert metrics.frechet_mel_distance(y, y[:, ::-1], sfreq=sr) == pytest.approx(0.0, abs=0.01)
    floor = metrics.frechet_mel_floor(y, sfreq=sr, random_state=0)
    assert floor > 1.0
    preds = _edge_free_predictions(y, sr)
    for name in ("griffin_lim", "noise"):
        assert metrics.frechet_mel_distance(y, preds[name], sfreq=sr) > 3 * floor, name
    # The reconstructions need not match the originals trial by trial.
    assert np.isfinite(metrics.frechet_mel_distance(y, preds["noise"][:5], sfreq=sr))
    # Silence: a singular covariance, still a finite distance.
    assert np.isfinite(metrics.frechet_mel_distance(y[:4], np.zeros_like(y[:4]), sfreq=sr))


def test_frechet_floor_bad_input(audio):
    with pytest.raises(ValueError, match="4 distinct"):
        metrics.frechet_mel_floor(np.repeat(audio[:3], 2, axis=0), sfreq=SFREQ)
    with pytest.raises(ValueError, match="n_repeats"):
        metrics.frechet_mel_floor(audio, sfreq=SFREQ, n_repeats=0)
    assert metrics.frechet_mel_floor(audio, sfreq=SFREQ, random_state=0) == pytest.approx(
        metrics.frechet_mel_floor(audio, sfreq=SFREQ, random_state=0)
    )


def test_song_identification_moved_to_metrics(audio):
    from sk_eeg2music import evaluation

    assert evaluation.song_identification_accuracy is metrics.song_identification_accuracy
    stimulus = np.repeat(["a", "b", "c", "d"], 2)
    swapped = audio[[1, 0, 3, 2, 5, 4, 7, 6]]
    assert metrics.song_identification_accuracy(audio, swapped, stimulus, sfreq=SFREQ) == 1.0
    with pytest.raises(ValueError, match="stimulus"):
        metrics.song_identification_accuracy(audio, audio, stimulus[:3], sfreq=SFREQ)


def test_frechet_bad_input(audio):
    with pytest.raises(ValueError, match="2-D"):
        metrics.frechet_mel_distance(audio[0], audio, sfreq=SFREQ)
    for bad in (None, 0, float("nan")):
        with pytest.raises(ValueError, match="sfreq"):
            metrics.frechet_mel_distance(audio, audio, sfreq=bad)


def test_make_scorers_adds_frechet(audio):
    scorers = metrics.make_scorers(SFREQ)
    res = cross_validate(_Echo(), audio, audio, cv=KFold(2), scoring=scorers)
    np.testing.assert_allclose(res["test_neg_fmd"], 0.0, atol=1e-6)
