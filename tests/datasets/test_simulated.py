import numpy as np
import pytest

from sk_eeg2music import EEGMusicData, make_simulated
from sk_eeg2music.datasets.simulated import (
    DEFAULT_SNR_DB,
    REAL_DESIGNS,
    real_design,
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


# ---------------------------------------------------------------- default compatibility

# Computed with the simulator as it was before ``n_repetitions`` existed
# (main at 4f1976f), for make_simulated("mos", n_subjects=2, segment_seconds=4.0,
# audio_sfreq=8000, snr_db=-28.0, stimulus_seconds=8.0): trials 0, 4, ..., 28.
# sha256 of X.tobytes() there: aa599d3de9dae767...; of y: fd41cb5432eff247...
_OLD_X_5_10 = [
    -4.834595983993495e-06,
    6.600949291168945e-06,
    -1.4325487427413464e-05,
    -2.3350236006081104e-05,
    1.6320840586558916e-05,
    1.8317177818971686e-05,
    1.8623130017658696e-05,
    1.534658258606214e-05,
]
_OLD_X_STD = [
    2.112683558096282e-05,
    2.1482344171895833e-05,
    2.1778967900423808e-05,
    2.0286728323367133e-05,
    2.6715499361802516e-05,
    2.76328885109522e-05,
    2.8079749469348964e-05,
    2.858711284166562e-05,
]
_OLD_Y_1000 = [-0.45080456137657166, 0.5503361821174622, -0.45206865668296814, 0.0] * 2
_OLD_KWARGS = dict(
    n_subjects=2, segment_seconds=4.0, audio_sfreq=8000, snr_db=-28.0, stimulus_seconds=8.0
)


def test_one_repetition_reproduces_the_earlier_simulator():
    data = make_simulated("mos", **_OLD_KWARGS)
    assert data.X.shape == (32, 64, 256)
    # float32 values computed before the change; the tolerance only absorbs BLAS/libm
    # differences between machines (on the machine that stored them they are equal;
    # on another 2-core EPYC single samples differed by up to 4.3e-5 relative). A
    # change in the simulator's draws or structure moves them by order 1.
    np.testing.assert_allclose(data.X[::4, 5, 10], _OLD_X_5_10, rtol=1e-3)
    np.testing.assert_allclose(
        data.X[::4].std(axis=(1, 2), dtype=np.float64), _OLD_X_STD, rtol=1e-4
    )
    np.testing.assert_allclose(data.y[::4, 1000], _OLD_Y_1000, atol=1e-6)
    np.testing.assert_array_equal(data.repetition, 0)
    assert data.description["n_repetitions"] == 1


# ---------------------------------------------------------------- repetitions


def test_repetitions_share_labels_and_audio_but_not_noise():
    kwargs = dict(n_subjects=2, segment_seconds=4.0, audio_sfreq=8000, stimulus_seconds=8.0)
    data = make_simulated("mos", n_repetitions=3, **kwargs)
    # 2 subjects x 4 melodies x 2 conditions x 3 repetitions x 2 segments
    assert data.X.shape == (96, 64, 256) and data.y.shape == (96, 32000)
    assert data.repetition.shape == (96,) and sorted(set(data.repetition)) == [0, 1, 2]
    assert data.description["n_repetitions"] == 3
    key = np.char.add(np.char.add(data.subject, data.condition), data.segment_id)
    for k in np.unique(key):
        rows = np.flatnonzero(key == k)
        assert sorted(data.repetition[rows]) == [0, 1, 2]
        for name in ("subject", "stimulus", "condition", "segment"):
            assert len(set(getattr(data, name)[rows])) == 1
        assert all(np.array_equal(data.y[rows[0]], data.y[r]) for r in rows[1:])
        assert not np.allclose(data.X[rows[0]], data.X[rows[1]])
    # Repetition 0 is the one-repetition simulation, bit for bit.
    one = make_simulated("mos", **kwargs)
    first = data.select(repetition=0)
    np.testing.assert_array_equal(first.X, one.X)
    np.testing.assert_array_equal(first.y, one.y)
    np.testing.assert_array_equal(first.segment_id, one.segment_id)
    # ... and repetition r does not depend on how many follow it.
    two = make_simulated("mos", n_repetitions=2, **kwargs)
    np.testing.assert_array_equal(two.X, data.select(repetition=[0, 1]).X)


def test_repetition_noise_is_independent():
    """Averaging n repetitions divides the noise power by ~n (not at all if it were shared)."""
    n_rep = 8
    data = make_simulated(
        "mos",
        n_subjects=1,
        n_repetitions=n_rep,
        snr_db=-40.0,  # noise-dominated: the identical evoked part is negligible
        stimuli=["chor-019"],
        conditions=["listening"],
        segment_seconds=None,
        stimulus_seconds=10.0,
        audio_sfreq=8000,
    )
    X = data.X.astype(np.float64)
    X -= X.mean(axis=-1, keepdims=True)
    ratio = np.mean(X.mean(axis=0) ** 2) / np.mean(X**2)
    assert 0.5 / n_rep < ratio < 2.0 / n_rep, ratio


def test_imagery_jitter_differs_between_repetitions():
    data = make_simulated(
        "mos",
        n_subjects=1,
        n_repetitions=2,
        snr_db=60.0,  # noise negligible: only the response is compared
        stimuli=["chor-096"],
        segment_seconds=None,
        stimulus_seconds=12.0,
        audio_sfreq=8000,
    )
    listen = data.select(condition="listening").X
    imag = data.select(condition="imagery").X
    r = lambda a, b: np.corrcoef(a.ravel(), b.ravel())[0, 1]  # noqa: E731
    assert r(listen[0], listen[1]) > 0.999
    assert r(imag[0], imag[1]) < r(listen[0], listen[1]) - 0.01


@pytest.mark.parametrize("n_repetitions", [0, 1.5, True, "2"])
def test_bad_n_repetitions(n_repetitions):
    with pytest.raises(ValueError, match="n_repetitions must be an integer >= 1"):
        make_simulated(n_repetitions=n_repetitions)


def test_select_on_repetition_needs_the_field(simulated):
    data = simulated("mos")
    data.repetition = None
    with pytest.raises(ValueError, match="cannot select on 'repetition'"):
        data.select(repetition=0)


# ---------------------------------------------------------------- real designs


def test_real_designs_match_the_published_datasets():
    mos, nmedt = real_design("mos"), real_design("nmedt")
    assert (mos["n_subjects"], mos["n_repetitions"], tuple(mos["conditions"])) == (
        21,
        11,
        ("listening", "imagery"),
    )
    assert round(mos["stimulus_seconds"] * 64) == 1803 and mos["segment_seconds"] is None
    assert (nmedt["n_subjects"], nmedt["n_repetitions"]) == (20, 1)
    assert 240 <= nmedt["stimulus_seconds"] <= 300
    assert real_design("mos", n_subjects=2)["n_subjects"] == 2
    assert REAL_DESIGNS["mos"]["n_subjects"] == 21  # overrides do not leak into the table
    with pytest.raises(ValueError, match="unknown make_simulated argument"):
        real_design("mos", n_subject=2)
    with pytest.raises(ValueError, match="kind must be one of"):
        real_design("eeg")


def test_real_design_shapes_with_small_overrides():
    mos = make_simulated(**real_design("mos", n_subjects=2, stimulus_seconds=4.0, audio_sfreq=8000))
    # 2 subjects x 4 chorales x 2 conditions x 11 repetitions = 88 trials per subject
    assert mos.X.shape == (176, 64, 256) and mos.y.shape == (176, 32000)
    per_subject = mos.select(subject="sub-01")
    assert len(per_subject) == 88
    for cond in ("listening", "imagery"):
        counts = np.unique(per_subject.select(condition=cond).stimulus, return_counts=True)[1]
        np.testing.assert_array_equal(counts, 11)
    nmedt = make_simulated(
        **real_design("nmedt", n_subjects=2, stimulus_seconds=4.0, audio_sfreq=8000)
    )
    assert nmedt.X.shape == (20, 125, 500) and len(np.unique(nmedt.stimulus)) == 10
    one = make_simulated(
        **real_design("mos", n_subjects=1, stimuli=["chor-019"], conditions=["listening"])
    )
    assert one.X.shape == (11, 64, 1803)  # whole 28.2-s trials, as recorded


# ---------------------------------------------------------------- calibration


def _calibration_data(n_subjects, audio_sfreq=16000):
    design = real_design("mos", n_subjects=n_subjects, conditions=["listening"])
    return make_simulated(**design, audio_sfreq=audio_sfreq)


def test_calibration_default_snr_one_subject():
    """Fast check of the documented calibration: one subject, two held-out repetitions
    (8-kHz audio to save time: the envelope that drives the EEG hardly changes)."""
    data = _calibration_data(1, audio_sfreq=8000)
    assert data.description["snr_db"] == DEFAULT_SNR_DB["mos"]
    r = within_subject_envelope_r(data, "sub-01", max_folds=2, inner_cv=2)
    assert 0.07 <= r <= 0.2, r


@pytest.mark.slow
def test_calibration_default_snr_gives_documented_envelope_r():
    """Default SNR, real MOS design: leave-one-repetition-out envelope r ~ 0.1-0.15."""
    data = _calibration_data(4)
    rs = [within_subject_envelope_r(data, s, max_folds=4) for s in np.unique(data.subject)]
    assert 0.1 <= np.mean(rs) <= 0.15, rs


def test_calibration_responds_to_snr():
    kwargs = dict(n_subjects=1, conditions=["listening"], stimulus_seconds=8.0, n_repetitions=3)
    low = make_simulated("mos", snr_db=-50.0, **kwargs)
    high = make_simulated("mos", snr_db=-10.0, **kwargs)
    r = lambda d: within_subject_envelope_r(d, "sub-01", max_folds=1, inner_cv=2)  # noqa: E731
    assert r(high) > r(low) + 0.3


def test_calibration_holds_out_whole_groups():
    # One repetition: hold out stimuli; one stimulus too: hold out segment positions.
    data = make_simulated(
        "mos", n_subjects=1, conditions=["listening"], snr_db=0.0, stimulus_seconds=12.0
    )
    assert within_subject_envelope_r(data, "sub-01", max_folds=2, inner_cv=2) > 0.5
    single = data.select(stimulus="chor-019")  # 3 segments
    assert within_subject_envelope_r(single, "sub-01", max_folds=2, inner_cv=2) > 0.5
    with pytest.raises(ValueError, match="needs >= 2 listening trials"):
        within_subject_envelope_r(single.select(segment=0), "sub-01")


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
    np.testing.assert_array_equal(both.repetition, np.concatenate([a.repetition, b.repetition]))
    b.repetition = None  # e.g. a loader that does not know the repetitions
    assert EEGMusicData.concatenate([a, b]).repetition is None
    other = simulated("mos", segment_seconds=4.0).select(subject="sub-01")
    with pytest.raises(ValueError, match="same channels"):
        EEGMusicData.concatenate([a, other])
    with pytest.raises(ValueError, match="at least one"):
        EEGMusicData.concatenate([])
