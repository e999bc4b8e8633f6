"""ChannelScaler and Clip: statistics from the training trials only."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from sk_eeg2music.preprocessing import ChannelScaler, Clip


def _per_channel(X):
    return X.transpose(1, 0, 2).reshape(X.shape[1], -1).astype(np.float64)


def test_standard_scaling_uses_mean_and_std_over_trials_and_time(make_eeg):
    X = make_eeg(n_trials=5, n_channels=4, n_times=200) + 3.0
    scaler = ChannelScaler().fit(X)
    np.testing.assert_allclose(scaler.center_, _per_channel(X).mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(scaler.scale_, _per_channel(X).std(axis=1), rtol=1e-5)
    Xs = _per_channel(scaler.transform(X))
    np.testing.assert_allclose(Xs.mean(axis=1), 0.0, atol=1e-5)
    np.testing.assert_allclose(Xs.std(axis=1), 1.0, rtol=1e-5)


def test_robust_scaling_uses_median_and_normal_consistent_iqr(make_eeg):
    X = make_eeg(n_trials=5, n_channels=4, n_times=200)
    scaler = ChannelScaler(robust=True).fit(X)
    q25, q50, q75 = np.percentile(_per_channel(X), [25, 50, 75], axis=1)
    np.testing.assert_allclose(scaler.center_, q50, rtol=1e-6)
    np.testing.assert_allclose(scaler.scale_, (q75 - q25) / 1.3489795, rtol=1e-6)


def test_robust_scale_ignores_artifacts_that_inflate_the_std():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3, 500)).astype(np.float32)
    artifacts = rng.random(X.shape) < 0.01
    X_bad = np.where(artifacts, 1000.0, X).astype(np.float32)
    robust = ChannelScaler(robust=True)
    plain = ChannelScaler()
    # A Gaussian's robust SD is its SD; 1% artifacts barely move it but swamp the SD.
    np.testing.assert_allclose(robust.fit(X).scale_, 1.0, rtol=0.05)
    np.testing.assert_allclose(robust.fit(X_bad).scale_, 1.0, rtol=0.05)
    assert np.all(plain.fit(X_bad).scale_ > 50)


def test_test_data_is_scaled_with_training_statistics_only(make_eeg):
    X_train = make_eeg(n_trials=4, seed=1)
    X_test = make_eeg(n_trials=3, seed=2) * 10 + 5
    scaler = ChannelScaler().fit(X_train)
    fitted = (scaler.center_.copy(), scaler.scale_.copy())
    expected = (X_test - fitted[0][:, None]) / fitted[1][:, None]
    np.testing.assert_allclose(scaler.transform(X_test), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(scaler.center_, fitted[0])
    np.testing.assert_array_equal(scaler.scale_, fitted[1])


@pytest.mark.parametrize("robust", [False, True])
def test_flat_channel_stays_finite(make_eeg, robust):
    X = make_eeg()
    X[:, 2] = 7.0
    scaler = ChannelScaler(robust=robust).fit(X)
    Xs = scaler.transform(X)
    assert np.isfinite(Xs).all()
    assert scaler.scale_[2] == 1.0
    np.testing.assert_array_equal(Xs[:, 2], 0.0)


def test_scaler_needs_fit_and_the_training_channels(make_eeg):
    X = make_eeg(n_channels=8)
    with pytest.raises(NotFittedError):
        ChannelScaler().transform(X)
    scaler = ChannelScaler().fit(X)
    with pytest.raises(ValueError, match="7 channels but the estimator was fitted on 8"):
        scaler.transform(X[:, :7])


def test_clip_clamps_and_records_the_training_fraction():
    X = np.array([[[-30.0, -1.0, 0.0, 21.0], [1.0, 2.0, 3.0, 4.0]]], dtype=np.float32)
    clip = Clip(20.0).fit(X)
    np.testing.assert_array_equal(clip.transform(X), np.clip(X, -20, 20))
    np.testing.assert_allclose(clip.channel_clipped_fraction_, [0.5, 0.0])
    assert clip.clipped_fraction_ == 0.25
    clip.transform(X * 100)  # test data never changes what was fitted
    assert clip.clipped_fraction_ == 0.25


@pytest.mark.parametrize("threshold", [0.0, -1.0, np.nan, np.inf, "20", True])
def test_clip_rejects_bad_thresholds(threshold):
    X = np.zeros((1, 2, 3), dtype=np.float32)
    match = r"The 'threshold' parameter of Clip must be a float in the range \(0.0, inf\)"
    with pytest.raises(ValueError, match=match):
        Clip(threshold).fit(X)
    with pytest.raises(ValueError, match=match):  # transform works without fit: checks too
        Clip(threshold).transform(X)


@pytest.mark.parametrize("robust", ["yes", 1, None])
def test_channel_scaler_rejects_a_non_boolean_robust(robust):
    with pytest.raises(ValueError, match="The 'robust' parameter of ChannelScaler must be"):
        ChannelScaler(robust=robust).fit(np.zeros((1, 2, 3), dtype=np.float32))
