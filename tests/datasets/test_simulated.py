import numpy as np
import pytest

from sk_eeg2music import EEGMusicData, make_simulated
from sk_eeg2music.datasets.simulated import (
    DEFAULT_SNR_DB,
    stimulus_drives,
    trf_kernel,
    within_subject_envelope_r,
)


@pytest.mark.parametrize("kind, n_ch, sfreq", [("mos", 64, 64.0), ("nmedt", 125, 125.0)])
def test_contract(simulated, kind, n_ch, sfreq):
    data = simulated(kind)
    assert isinstance(data, EEGMusicData)
    assert data.X.dtype == np.float32 and data.y.dtype == np.float32
    n_trials, n_channels, n_times = data.X.shape
    assert n_channels == n_ch and data.sfreq == sfreq
    assert data.y.shape == (n_trials, n_times * data.audio_sfreq / data.sfreq)
    assert data.audio_sfreq % data.sfreq == 0
    for field in ("subject", "stimulus", "condition", "segment"):
        assert getattr(data, field).shape == (n_trials,)
    np.testing.assert_array_equal(data.groups, data.subject)
    assert data.info["ch_names"] == data.ch_names and len(data.ch_names) == n_ch
    assert data.info.get_montage() is not None
    assert np.isfinite(data.X).all() and np.isfinite(data.y).all()
    # Plausible scalp amplitudes in volts (tens of microvolts).
    assert 1e-6 < data.X.std() < 1e-4


def test_mos_has_both_conditions_for_every_subject_and_melody(simulated):
    data = simulated("mos")
    assert set(data.condition) == {"listening", "imagery"}
    for sub in np.unique(data.subject):
        for cond in ("listening", "imagery"):
            sel = data.select(subject=sub, condition=cond)
            assert set(sel.stimulus) == {"chor-096", "chor-038", "chor-101", "chor-019"}


def test_nmedt_channels_and_defaults():
    data = make_simulated("nmedt", n_subjects=1, segment_seconds=10.0, stimulus_seconds=10.0)
    assert data.ch_names[:3] == ["E1", "E2", "E3"] and data.ch_names[-1] == "Cz"
    assert len(np.unique(data.stimulus)) == 10
    assert set(data.condition) == {"listening"}
    assert data.X.shape == (10, 125, 1250) and data.y.shape == (10, 160000)


def test_same_seed_same_data_and_subjects_differ(simulated):
    a = make_simulated("mos", n_subjects=2, segment_seconds=4.0, stimulus_seconds=8.0)
    b = make_simulated("mos", n_subjects=2, segment_seconds=4.0, stimulus_seconds=8.0)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    c = make_simulated(
        "mos", n_subjects=2, segment_seconds=4.0, stimulus_seconds=8.0, random_state=1
    )
    assert not np.array_equal(a.X, c.X)
    s1, s2 = (a.select(subject=s, condition="listening") for s in ("sub-01", "sub-02"))
    assert not np.allclose(s1.X, s2.X)
    k1, k2 = (a.ground_truth["subjects"][s]["kernel"] for s in ("sub-01", "sub-02"))
    assert not np.allclose(k1, k2)


def test_same_stimulus_and_segment_give_identical_audio_for_every_subject(simulated):
    data = simulated("mos")
    for key in np.unique(data.segment_id):
        rows = data.y[data.segment_id == key]
        assert len(rows) == 2 * 3  # 2 conditions x 3 subjects
        assert all(np.array_equal(rows[0], r) for r in rows[1:])
    # Different segments of a melody differ.
    assert not np.array_equal(data.y[data.segment == 0][0], data.y[data.segment == 1][0])


def test_subject_is_independent_of_n_subjects():
    small = make_simulated("mos", n_subjects=1, stimulus_seconds=8.0)
    big = make_simulated("mos", n_subjects=3, stimulus_seconds=8.0)
    np.testing.assert_array_equal(small.X, big.select(subject="sub-01").X)


def test_segments_cover_stimulus_contiguously():
    data = make_simulated("mos", n_subjects=1, segment_seconds=3.0, conditions=["listening"])
    # 1803 samples / 192 per segment -> 9 segments, remainder dropped
    assert sorted(set(data.segment)) == list(range(9))
    whole = make_simulated("mos", n_subjects=1, segment_seconds=None, conditions=["listening"])
    stim = whole.stimulus[0]
    cut = data.select(stimulus=stim)
    np.testing.assert_array_equal(
        np.concatenate(list(cut.X[np.argsort(cut.segment)]), axis=1),
        whole.select(stimulus=stim).X[0][:, : 9 * 192],
    )


def test_imagery_is_weaker_and_inverted():
    data = make_simulated("mos", n_subjects=1, snr_db=40.0, segment_seconds=None)
    sub = data.ground_truth["subjects"]["sub-01"]
    listen = data.select(condition="listening", stimulus="chor-096").X[0]
    imag = data.select(condition="imagery", stimulus="chor-096").X[0]
    assert np.std(imag) < 0.7 * np.std(listen)
    # With noise negligible, the delayed imagery response correlates negatively.
    lag = int(round(sub["imagery_delay"] * data.sfreq))
    r = np.corrcoef(listen[:, : -lag or None].ravel(), imag[:, lag:].ravel())[0, 1]
    assert r < -0.3


def test_trf_kernel_has_p1_n1_p2():
    k = trf_kernel(125.0)
    t = np.arange(len(k)) / 125.0
    assert k[np.argmin(np.abs(t - 0.05))] > 0
    assert k[np.argmin(np.abs(t - 0.10))] < 0
    assert k[np.argmin(np.abs(t - 0.18))] > 0


def test_drives_are_zscored_and_aligned_with_audio():
    sr, sfreq = 8000, 64.0
    audio = np.zeros(64 * 125, np.float32)
    audio[4000:5000] = np.sin(np.arange(1000) * 0.3)
    drives = stimulus_drives(audio, sr, sfreq)
    env = drives["envelope"]
    assert env.shape == (64,) and abs(env.mean()) < 1e-9 and abs(env.std() - 1) < 1e-9
    assert np.argmax(env) in range(4000 // 125, 5000 // 125 + 1)
    assert drives["bands"].shape == (4, 64)


def test_calibration_default_snr_gives_realistic_envelope_r():
    """Default SNR: within-subject backward envelope r in the 0.1-0.2 real-EEG range."""
    data = make_simulated("mos", n_subjects=4, conditions=["listening"])
    assert data.description["snr_db"] == DEFAULT_SNR_DB["mos"]
    rs = [within_subject_envelope_r(data, s) for s in np.unique(data.subject)]
    assert 0.07 <= np.mean(rs) <= 0.25, rs


def test_calibration_responds_to_snr():
    low = make_simulated("mos", n_subjects=1, snr_db=-45.0, conditions=["listening"])
    high = make_simulated("mos", n_subjects=1, snr_db=-10.0, conditions=["listening"])
    assert (
        within_subject_envelope_r(high, "sub-01") > within_subject_envelope_r(low, "sub-01") + 0.3
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(kind="eeg"), "kind must be one of"),
        (dict(audio_sfreq=44100), "Rates that work"),
        (dict(segment_seconds=60.0), "longer than a stimulus"),
        (dict(n_subjects=0), "n_subjects must be an integer >= 1"),
        (dict(snr_db=float("nan")), "snr_db"),
        (dict(conditions=["dreaming"]), "conditions"),
        (dict(stimuli=["song99"]), "stimuli must be among"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_simulated(**kwargs)


def test_select_and_repr(simulated):
    data = simulated("mos")
    sub = data.select(condition="imagery", subject=["sub-01", "sub-02"])
    assert set(sub.condition) == {"imagery"} and set(sub.subject) == {"sub-01", "sub-02"}
    assert "EEGMusicData" in repr(sub) and "imagery" in repr(sub)
    with pytest.raises(ValueError, match="cannot select"):
        data.select(colour="red")
    epochs = data.select(np.arange(3)).to_epochs()
    assert len(epochs) == 3 and list(epochs.metadata.columns)[0] == "subject"


def test_require_y_explains_missing_audio(simulated):
    data = simulated("mos")
    data.y = None
    with pytest.raises(ValueError, match="audio_dir"):
        data.require_y()


def test_concatenate_joins_and_checks_compatibility(simulated):
    data = simulated("mos")
    a, b = data.select(subject="sub-01"), data.select(subject="sub-02")
    both = EEGMusicData.concatenate([a, b])
    assert len(both) == len(a) + len(b)
    np.testing.assert_array_equal(both.X, np.concatenate([a.X, b.X]))
    np.testing.assert_array_equal(both.subject[: len(a)], a.subject)
    other = simulated("mos", segment_seconds=4.0).select(subject="sub-01")
    with pytest.raises(ValueError, match="same channels"):
        EEGMusicData.concatenate([a, other])
    with pytest.raises(ValueError, match="at least one"):
        EEGMusicData.concatenate([])
