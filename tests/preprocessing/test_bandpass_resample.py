"""BandpassFilter and Resample: MNE's results, in float32, with clear errors."""

import mne
import numpy as np
import pytest

from sk_eeg2music.preprocessing import BandpassFilter, Resample
from sk_eeg2music.utils import check_y_for_eeg


def _sines(freqs, sfreq, n_times, n_trials=2, n_channels=3):
    t = np.arange(n_times) / sfreq
    signal = sum(np.sin(2 * np.pi * f * t) for f in freqs)
    return np.broadcast_to(signal, (n_trials, n_channels, n_times)).astype(np.float32), t


def test_bandpass_equals_mne_filter_data(make_eeg):
    X = make_eeg(n_trials=3, n_channels=4, n_times=500)
    out = BandpassFilter(1.0, 30.0, sfreq=125.0).fit_transform(X)
    ref = mne.filter.filter_data(X.astype(np.float64), 125.0, 1.0, 30.0, verbose="error")
    assert out.dtype == np.float32 and out.shape == X.shape
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5 * X.std())


def test_bandpass_keeps_the_band_without_phase_shift_and_removes_the_rest():
    sfreq, n_times = 250.0, 2500
    X, t = _sines([10.0, 50.0, 0.2], sfreq, n_times)
    out = BandpassFilter(5.0, 20.0, sfreq=sfreq).fit_transform(X)
    inner = slice(n_times // 4, 3 * n_times // 4)  # away from the edges
    in_band = np.sin(2 * np.pi * 10.0 * t)[inner]
    # Zero-phase: the 10 Hz component comes out where it went in, at full amplitude.
    np.testing.assert_allclose(out[0, 0, inner], in_band, atol=0.02)


def test_bandpass_filters_each_trial_independently(make_eeg):
    X = make_eeg(n_trials=4, n_channels=3, n_times=400)
    bp = BandpassFilter(None, 20.0, sfreq=100.0)
    np.testing.assert_allclose(bp.transform(X[2:3]), bp.transform(X)[2:3], rtol=1e-6)


def test_bandpass_is_stateless():
    bp = BandpassFilter(1.0, 30.0, sfreq=125.0)
    X = np.ones((1, 2, 500), dtype=np.float32)
    assert bp.__sklearn_is_fitted__()
    assert bp.transform(X).shape == X.shape  # no fit needed
    assert not hasattr(bp, "n_features_in_")


@pytest.mark.parametrize(
    "l_freq, h_freq, sfreq, match",
    [
        (1.0, 62.5, 125.0, "Nyquist"),
        (1.0, 80.0, 125.0, "Nyquist"),
        (70.0, None, 125.0, "Nyquist"),
        (30.0, 10.0, 125.0, "below h_freq"),
        (None, None, 125.0, "both are None"),
        (-1.0, 30.0, 125.0, "The 'l_freq' parameter of BandpassFilter must be"),
        (1.0, True, 125.0, "The 'h_freq' parameter of BandpassFilter must be"),
        (1.0, 30.0, 0.0, "The 'sfreq' parameter of BandpassFilter must be"),
    ],
)
def test_bandpass_bad_edges_raise_naming_the_fix(l_freq, h_freq, sfreq, match):
    X = np.zeros((2, 3, 500), dtype=np.float32)
    bp = BandpassFilter(l_freq, h_freq, sfreq=sfreq)
    with pytest.raises(ValueError, match=match):
        bp.fit(X)
    with pytest.raises(ValueError, match=match):
        bp.transform(X)


def test_resample_equals_mne_resample(make_eeg):
    X = make_eeg(n_trials=3, n_channels=4, n_times=250)
    out = Resample(125.0, 64.0).fit_transform(X)
    ref = mne.filter.resample(X.astype(np.float64), up=64.0, down=125.0, verbose="error")
    assert out.shape == (3, 4, 128) and out.dtype == np.float32
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5 * X.std())


@pytest.mark.parametrize("method", ["fft", "polyphase"])
def test_resample_keeps_a_slow_sine(method):
    X, _ = _sines([3.0], 125.0, 1000)
    out = Resample(125.0, 50.0, method=method).fit_transform(X)
    t_new = np.arange(400) / 50.0
    inner = slice(50, 350)
    np.testing.assert_allclose(out[0, 0, inner], np.sin(2 * np.pi * 3.0 * t_new)[inner], atol=0.02)


def test_resample_keeps_audio_and_eeg_rates_integer_related(simulated):
    # NMED-T-like: 125 Hz EEG, 2 s segments, 8 kHz audio -> 64 Hz EEG, factor 125.
    data = simulated("nmedt")
    Xr = Resample(data.sfreq, 64.0).fit_transform(data.X)
    assert Xr.shape[2] == data.X.shape[2] * 64 // 125
    assert check_y_for_eeg(Xr, data.y) == data.audio_sfreq / 64.0


@pytest.mark.parametrize("new_sfreq", [0.0, -64.0, None, np.inf, True])
def test_resample_rejects_non_positive_rates(new_sfreq):
    X = np.zeros((1, 2, 250), dtype=np.float32)
    match = r"The 'new_sfreq' parameter of Resample must be a float in the range \(0.0, inf\)"
    with pytest.raises(ValueError, match=match):
        Resample(125.0, new_sfreq).fit(X)
    with pytest.raises(ValueError, match=match):  # transform works without fit: checks too
        Resample(125.0, new_sfreq).transform(X)


@pytest.mark.parametrize(
    "name, bad", [("method", "sinc"), ("npad", -1), ("window", 3), ("sfreq", "125")]
)
def test_resample_rejects_bad_parameters_by_name(name, bad):
    kwargs = {"sfreq": 125.0, "new_sfreq": 64.0, name: bad}
    with pytest.raises(ValueError, match=f"The '{name}' parameter of Resample must be"):
        Resample(**kwargs).fit(np.zeros((1, 2, 250), dtype=np.float32))


@pytest.mark.parametrize(
    "name, bad",
    [("method", "fft"), ("filter_length", 0), ("l_trans_bandwidth", -1.0), ("iir_params", 1)],
)
def test_bandpass_rejects_bad_parameters_by_name(name, bad):
    bp = BandpassFilter(1.0, 30.0, sfreq=125.0).set_params(**{name: bad})
    with pytest.raises(ValueError, match=f"The '{name}' parameter of BandpassFilter must be"):
        bp.fit(np.zeros((1, 2, 250), dtype=np.float32))


def test_resample_rejects_lengths_that_would_be_rounded():
    X = np.zeros((1, 2, 251), dtype=np.float32)  # 251 * 64 / 125 is not a whole number
    with pytest.raises(ValueError, match=r"multiple of 125 samples \(e.g. 250\)"):
        Resample(125.0, 64.0).transform(X)


def test_polyphase_on_single_samples_raises_instead_of_crashing():
    with pytest.raises(ValueError, match="method='fft'"):
        Resample(100.0, 300.0, method="polyphase").transform(np.ones((2, 3), dtype=np.float32))
