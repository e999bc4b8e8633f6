"""check_eeg: 2-D EEG is refused with the reshape to apply, except where 2-D is features."""

import numpy as np
import pytest

from sk_eeg2music.utils import check_audio, check_eeg
from sk_eeg2music.utils._validation import expected_failed_checks_2d_eeg


def test_2d_eeg_is_refused_with_both_reshapes():
    X = np.zeros((5, 64))  # five single-channel trials, or one 5-channel recording
    with pytest.raises(ValueError) as info:
        check_eeg(X)
    msg = str(info.value)
    assert "Expected 3-D EEG X of shape (n_trials, n_channels, n_times)" in msg
    assert "2-D array of shape (5, 64)" in msg
    assert "X[:, np.newaxis, :]" in msg and "X[np.newaxis]" in msg
    # Both reshapes give valid EEG.
    assert check_eeg(X[:, np.newaxis, :]).shape == (5, 1, 64)
    assert check_eeg(X[np.newaxis]).shape == (1, 5, 64)


def test_the_message_uses_the_argument_name():
    with pytest.raises(ValueError, match=r"Expected 3-D EEG X_test .*X_test\[:, np.newaxis, :\]"):
        check_eeg(np.zeros((3, 8)), name="X_test")


def test_allow_2d_reads_features_as_one_sample_trials():
    X = np.arange(6.0).reshape(2, 3)
    out = check_eeg(X, allow_2d=True)
    assert out.shape == (2, 3, 1)
    np.testing.assert_array_equal(out[..., 0], X)


def test_empty_or_non_finite_2d_input_is_reported_as_such_first():
    # scikit-learn's wording for these, as for any 2-D X.
    with pytest.raises(ValueError, match=r"0 feature\(s\) \(shape=\(4, 0\)\)"):
        check_eeg(np.zeros((4, 0)))
    X = np.zeros((4, 8))
    X[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        check_eeg(X)


@pytest.mark.parametrize("shape", [(64,), (2, 3, 4, 5)])
def test_other_ranks_keep_their_message(shape):
    with pytest.raises(ValueError, match=r"must be 3-D .*Reshape your data"):
        check_eeg(np.zeros(shape))


def test_expected_failed_checks_2d_eeg():
    class Plain:
        pass

    class Online:
        def partial_fit(self, X, y):
            return self

    plain, online = expected_failed_checks_2d_eeg(Plain()), expected_failed_checks_2d_eeg(Online())
    assert "check_fit2d_predict1d" in plain
    assert "check_estimators_partial_fit_n_features" not in plain
    assert "check_estimators_partial_fit_n_features" in online
    assert all("refuses 2-D EEG" in reason for reason in plain.values())


def test_non_finite_audio_gets_audio_advice_and_eeg_gets_eeg_advice():
    y = np.zeros((2, 100))
    y[1, 3] = np.inf
    with pytest.raises(ValueError, match=r"^y contains 1 NaN or infinite") as info:
        check_audio(y)
    assert "channel" not in str(info.value) and "trial" not in str(info.value)
    with pytest.raises(ValueError, match="interpolate bad channels"):
        check_eeg(y[:, np.newaxis, :])
