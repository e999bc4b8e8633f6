import numpy as np
import pytest

from sk_eeg2music import MeanSpectrumBaseline
from sk_eeg2music.metrics import identification_accuracy, identification_chance, mel_correlation
from sk_eeg2music.models.baseline import mean_power_spectrum, spectrum_noise


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
