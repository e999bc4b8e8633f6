import numpy as np
import pytest

from sk_eeg2music import BeatTemplateBaseline, LinearDecoder, MeanSpectrumBaseline
from sk_eeg2music.audio import log_mel_spectrogram, mel_to_waveform
from sk_eeg2music.metrics import identification_accuracy, identification_chance, mel_correlation
from sk_eeg2music.models.baseline import mean_log_mel, mean_power_spectrum, spectrum_noise


def test_noise_matches_training_spectrum():
    sfreq, n = 8000, 4000
    freqs = np.fft.rfftfreq(n, 1 / sfreq)
    band = (freqs > 300) & (freqs < 700)
    rng = np.random.default_rng(0)
    # Band-limited training music: all its power lies in 300-700 Hz.
    y_train = np.fft.irfft(band * np.fft.rfft(rng.standard_normal((5, n))), n=n)
    power, rms = mean_power_spectrum(y_train, n)
    noise = spectrum_noise(power, rms, 3, random_state=0)
    assert noise.shape == (3, n) and noise.dtype == np.float32
    np.testing.assert_allclose(np.sqrt(np.mean(noise**2, axis=1)), rms, rtol=1e-4)
    p = np.abs(np.fft.rfft(noise, axis=1)) ** 2
    assert (p[:, band].sum(axis=1) / p.sum(axis=1) > 0.999).all()
    # Independent random phases: draws are uncorrelated with each other.
    assert np.abs(np.corrcoef(noise)[np.triu_indices(3, 1)]).max() < 0.3


def test_baseline_scores_chance_and_ignores_eeg(simulated):
    data = simulated("mos")
    train, test = data.segment < 4, data.segment >= 4
    model = MeanSpectrumBaseline(sfreq=data.sfreq).fit(data.X[train], data.y[train])
    pred = model.predict(data.X[test])
    assert pred.shape == data.y[test].shape
    assert abs(mel_correlation(data.y[test], pred, sfreq=data.audio_sfreq)) < 0.05
    acc = identification_accuracy(data.y[test], pred, sfreq=data.audio_sfreq)
    assert acc < 4 * identification_chance(data.y[test])
    # The EEG plays no part in what is learned: other EEG, same fitted spectrum.
    other = MeanSpectrumBaseline(sfreq=data.sfreq).fit(data.X[train][::-1], data.y[train])
    np.testing.assert_array_equal(model.power_, other.power_)
    # A trial's prediction does not depend on the rest of the batch.
    np.testing.assert_array_equal(pred[3], model.predict(data.X[test][3:4])[0])


def test_baseline_never_sees_test_music(simulated):
    data = simulated("mos")
    train = data.segment < 4
    a = MeanSpectrumBaseline().fit(data.X[train], data.y[train]).predict(data.X[:2])
    changed = data.y.copy()
    changed[~train] = 0.0
    b = MeanSpectrumBaseline().fit(data.X[train], changed[train]).predict(data.X[:2])
    np.testing.assert_array_equal(a, b)


def test_bad_input(make_eeg):
    X = make_eeg(4, 3, 16)
    with pytest.raises(ValueError, match="not n_times x an integer"):
        MeanSpectrumBaseline().fit(X, np.zeros((4, 17)))
    model = MeanSpectrumBaseline().fit(X, np.zeros((4, 32)))
    with pytest.raises(ValueError, match="channels"):
        model.predict(make_eeg(4, 5, 16))


# ----------------------------------------------------------------------------- mel features


def _band_r(F_true, F_pred):
    """Pearson r over time, per trial and band, averaged (0 where one side is constant)."""
    a = F_true - F_true.mean(-1, keepdims=True)
    b = F_pred - F_pred.mean(-1, keepdims=True)
    den = np.sqrt((a * a).sum(-1) * (b * b).sum(-1))
    return float(np.mean(np.divide((a * b).sum(-1), den, out=np.zeros(den.shape), where=den > 0)))


def test_baselines_share_the_linear_decoders_mel_features(make_eeg, make_audio):
    X, y = make_eeg(6, 3, 64), make_audio(6, 64 * 125)
    template = BeatTemplateBaseline(sfreq=64.0).fit(X, y)
    expected = log_mel_spectrogram(y, 8000, 125, n_mels=32).astype(np.float64).mean(axis=0)
    np.testing.assert_allclose(template.template_, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(mean_log_mel(y, 8000, 125, 32, batch_size=4), expected, atol=1e-5)
    # The intercept of a linear mel decoder is the mean of its targets: the same features.
    dec = LinearDecoder(target="mel", sfreq=64.0, alphas=[1.0]).fit(X, y)
    np.testing.assert_allclose(template.template_.mean(axis=1), dec.intercept_, atol=1e-5)
    spectrum = MeanSpectrumBaseline(sfreq=64.0).fit(X, y)
    np.testing.assert_allclose(spectrum.log_mel_mean_, dec.intercept_, atol=1e-5)
    assert dec.predict_features(X).shape == (6, 32, 64)


def test_mean_spectrum_features_are_constant(make_eeg, make_audio):
    X, y = make_eeg(6, 3, 64), make_audio(6, 64 * 125)
    model = MeanSpectrumBaseline(sfreq=64.0, n_mels=16).fit(X, y)
    feats = model.predict_features(make_eeg(2, 3, 32, seed=1))
    assert feats.shape == (2, 16, 32)
    np.testing.assert_array_equal(feats, np.broadcast_to(model.log_mel_mean_[:, None], feats.shape))


def test_beat_template_scores_without_eeg(simulated):
    data = simulated("mos")
    test = data.subject == data.subject[0]
    model = BeatTemplateBaseline(sfreq=data.sfreq).fit(data.X[~test], data.y[~test])
    feats = model.predict_features(data.X[test])
    factor = data.y.shape[1] // data.X.shape[2]
    true = log_mel_spectrogram(data.y[test], data.audio_sfreq, factor, n_mels=32)
    assert feats.shape == true.shape
    # Segments share their start (an onset, the beat grid): the template follows
    # held-out segments without any EEG (0.22 here; a constant prediction: 0).
    assert _band_r(true, feats) > 0.1
    # The EEG plays no part: other EEG, the same prediction for every trial.
    other = data.X[test][::-1] * 10.0
    np.testing.assert_array_equal(model.predict_features(other), feats)
    assert np.all(feats == feats[:1])


def test_beat_template_predicts_its_griffin_lim_waveform(make_eeg, make_audio):
    X, y = make_eeg(4, 3, 64), make_audio(4, 64 * 125)
    model = BeatTemplateBaseline(sfreq=64.0, n_iter=4).fit(X, y)
    pred = model.predict(X[:3])
    assert pred.shape == (3, 64 * 125) and pred.dtype == np.float64
    expected = mel_to_waveform(
        model.template_[None], 8000.0, 125, 64 * 125, n_iter=4, random_state=0
    )
    np.testing.assert_allclose(pred, np.repeat(expected, 3, axis=0), rtol=1e-6)
    assert np.isfinite(model.score(X, y))


def test_beat_template_other_lengths(make_eeg, make_audio):
    X, y = make_eeg(4, 3, 64), make_audio(4, 64 * 125)
    model = BeatTemplateBaseline(sfreq=64.0).fit(X, y)
    short = model.predict_features(make_eeg(2, 3, 40))
    np.testing.assert_array_equal(short[0], model.template_[:, :40])
    long = model.predict_features(make_eeg(2, 3, 80))
    np.testing.assert_array_equal(long[0, :, :64], model.template_)
    np.testing.assert_allclose(long[0, :, 64:], model.template_.mean(axis=1)[:, None].repeat(16, 1))


def test_beat_template_bad_input(make_eeg):
    X = make_eeg(4, 3, 16)
    with pytest.raises(ValueError, match="not n_times x an integer"):
        BeatTemplateBaseline().fit(X, np.zeros((4, 17)))
    with pytest.raises(ValueError, match="requires y"):
        BeatTemplateBaseline().fit(X, None)
    model = BeatTemplateBaseline().fit(X, np.random.default_rng(0).standard_normal((4, 16 * 64)))
    with pytest.raises(ValueError, match="channels"):
        model.predict(make_eeg(4, 5, 16))
    with pytest.raises(ValueError, match="Expected 3-D EEG"):
        model.predict_features(X[:, 0, :])


@pytest.mark.parametrize(
    "cls, name, bad",
    [
        (MeanSpectrumBaseline, "sfreq", 0.0),
        (MeanSpectrumBaseline, "n_mels", 0),
        (MeanSpectrumBaseline, "random_state", -1),
        (BeatTemplateBaseline, "n_iter", -1),
        (BeatTemplateBaseline, "sfreq", "64"),
    ],
)
def test_bad_parameters_name_the_parameter(cls, name, bad, make_eeg):
    X = make_eeg(4, 3, 16)
    with pytest.raises(ValueError, match=f"The '{name}' parameter of {cls.__name__} must be"):
        cls(**{name: bad}).fit(X, np.zeros((4, 32)))


@pytest.mark.parametrize("cls", [MeanSpectrumBaseline, BeatTemplateBaseline])
def test_score_is_the_decoders_mel_correlation(cls, make_eeg, make_audio):
    X, y = make_eeg(4, 3, 64), make_audio(4, 64 * 125)
    model = cls(sfreq=64.0).fit(X, y)
    assert model.audio_sfreq_ == 64.0 * 125
    expected = mel_correlation(y, model.predict(X), sfreq=model.audio_sfreq_)
    assert model.score(X, y) == pytest.approx(expected)
    with pytest.raises(ValueError, match=f"sample_weight is not supported by {cls.__name__}"):
        model.score(X, y, sample_weight=np.ones(4))


def test_mean_log_mel_weights_rows_like_repeats(make_audio):
    y = make_audio(3, 64 * 125)
    repeated = mean_log_mel(y[[0, 0, 0, 1, 2, 2]], 8000, 125, 16)
    weighted = mean_log_mel(y, 8000, 125, 16, sample_weight=[3, 1, 2])
    np.testing.assert_allclose(weighted, repeated, atol=1e-6)  # float32 STFT bits apart
    # Weights in several batches, and equal weights: the plain mean.
    np.testing.assert_allclose(
        mean_log_mel(y, 8000, 125, 16, batch_size=2, sample_weight=[3, 1, 2]), weighted, atol=1e-6
    )
    np.testing.assert_allclose(
        mean_log_mel(y, 8000, 125, 16, sample_weight=[5, 5, 5]), mean_log_mel(y, 8000, 125, 16)
    )


@pytest.mark.parametrize("weights", [[1, 1], [1, -1, 1], [0, 0, 0], [[1, 1, 1]]])
def test_mean_log_mel_bad_weights(weights, make_audio):
    with pytest.raises(ValueError, match="sample_weight"):
        mean_log_mel(make_audio(3, 64 * 125), 8000, 125, 16, sample_weight=weights)
