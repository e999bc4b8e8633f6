"""The helpers shared by the loaders: cutting trials into segments."""

import mne
import numpy as np
import pytest

from sk_eeg2music.datasets._common import TrialSegments, cut_segments


def test_cut_segments_keeps_order_and_drops_the_remainder():
    x = np.arange(3 * 10).reshape(3, 10)  # (n_channels, n_times)
    cut = cut_segments(x, 4)
    assert cut.shape == (2, 3, 4)  # samples 8 and 9 dropped
    np.testing.assert_array_equal(cut[1], x[:, 4:8])
    assert np.shares_memory(cut, x)  # a view: no copy of the recording


def test_cut_segments_time_first_and_audio():
    eeg = np.arange(10 * 3).reshape(10, 3)  # (n_times, n_channels), as MOS stores it
    np.testing.assert_array_equal(cut_segments(eeg, 5, time_axis=0)[1], eeg[5:].T)
    audio = np.arange(12.0)
    np.testing.assert_array_equal(cut_segments(audio, 4, n_seg=2), [[0, 1, 2, 3], [4, 5, 6, 7]])


def test_cut_segments_refuses_more_than_the_trial_holds():
    with pytest.raises(ValueError, match="cannot cut 3 segments of 4 samples from 10"):
        cut_segments(np.zeros(10), 4, n_seg=3)


def test_trial_segments_fill_x_y_and_labels():
    sfreq, factor, seg_len = 10.0, 4, 5
    out = TrialSegments(n_rows=3, n_channels=2, seg_len=seg_len, n_audio=seg_len * factor)
    eeg_a = np.arange(2 * 11, dtype=float).reshape(2, 11)
    audio = np.arange(11 * factor, dtype=float)
    out.add(eeg_a, audio, n_seg=2, subject="s1", stimulus="a", condition="listening", scale=0.5)
    eeg_b = np.ones((5, 2))  # time first
    out.add(eeg_b, audio, n_seg=1, subject="s2", stimulus="b", condition="imagery", time_axis=0)
    info = mne.create_info(["Fz", "Cz"], sfreq, "eeg")
    data = out.to_data(sfreq, sfreq * factor, info, {"dataset": "test"})
    assert data.X.dtype == np.float32 and data.X.shape == (3, 2, 5) and data.y.shape == (3, 20)
    np.testing.assert_allclose(data.X[1], 0.5 * eeg_a[:, 5:10])
    np.testing.assert_allclose(data.X[2], 1.0)
    np.testing.assert_allclose(data.y[1], audio[20:40])  # segment 1's audio
    np.testing.assert_allclose(data.y[2], audio[:20])
    assert data.subject.tolist() == ["s1", "s1", "s2"]
    assert data.segment.tolist() == [0, 1, 0]
    assert data.condition.tolist() == ["listening", "listening", "imagery"]


def test_trial_segments_without_audio_and_unfilled_rows():
    out = TrialSegments(n_rows=2, n_channels=1, seg_len=3)
    out.add(np.zeros((1, 3)), None, n_seg=1, subject="s", stimulus="x", condition="listening")
    assert out.y is None and out.n_filled == 1
    info = mne.create_info(["Fz"], 10.0, "eeg")
    with pytest.raises(RuntimeError, match="1 of 2 rows filled"):
        out.to_data(10.0, 40, info, {})
