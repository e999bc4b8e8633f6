"""Behaviour every preprocessing transformer shares: bad input, blocks, dtype."""

import numpy as np
import pytest

from sk_eeg2music.preprocessing import (
    BandpassFilter,
    ChannelScaler,
    Clip,
    EuclideanAlignment,
    Resample,
    _base,
)

TRANSFORMERS = {
    "bandpass": lambda: BandpassFilter(1.0, 30.0, sfreq=100.0),
    "lowpass_iir": lambda: BandpassFilter(None, 20.0, sfreq=100.0, method="iir"),
    "resample": lambda: Resample(100.0, 50.0),
    "scaler": lambda: ChannelScaler(),
    "robust_scaler": lambda: ChannelScaler(robust=True),
    "clip": lambda: Clip(1.0),
    "alignment": lambda: EuclideanAlignment(),
}
transformers = pytest.mark.parametrize("make", TRANSFORMERS.values(), ids=TRANSFORMERS.keys())


@transformers
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_rejected(make, bad, make_eeg):
    X = make_eeg(n_times=400)
    X[1, 2, 3] = bad
    with pytest.raises(ValueError, match="NaN or infinite value"):
        make().fit(X)
    with pytest.raises(ValueError, match="NaN or infinite value"):
        make().fit(make_eeg(n_times=400)).transform(X)


@transformers
@pytest.mark.parametrize("shape", [(400,), (2, 3, 4, 400)])
def test_wrong_ndim_is_rejected_with_a_reshape_hint(make, shape):
    with pytest.raises(ValueError, match=r"\(n_trials, n_channels, n_times\).*Reshape your data"):
        make().fit(np.zeros(shape, dtype=np.float32))


@transformers
def test_channel_count_must_match_fit(make, make_eeg):
    transformer = make().fit(make_eeg(n_channels=8, n_times=400))
    with pytest.raises(ValueError, match="6 channels but the estimator was fitted on 8"):
        transformer.transform(make_eeg(n_channels=6, n_times=400))


@transformers
def test_float32_out_and_input_untouched(make, make_eeg):
    X = make_eeg(n_times=400).astype(np.float64)
    X_before = X.copy()
    Xt = make().fit_transform(X)
    assert Xt.dtype == np.float32
    np.testing.assert_array_equal(X, X_before)


@transformers
def test_block_processing_does_not_change_the_result(make, make_eeg, monkeypatch):
    X = make_eeg(n_trials=5, n_channels=4, n_times=400)
    whole = make().fit_transform(X)
    monkeypatch.setattr(_base, "_CHUNK_BYTES", 1)  # one trial per block
    np.testing.assert_allclose(make().fit_transform(X), whole, rtol=1e-5, atol=1e-6)
