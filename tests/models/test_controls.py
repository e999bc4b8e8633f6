"""Null controls: shuffled pairs (which music) and time-shifted pairs (when)."""

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.model_selection import GroupKFold, cross_validate
from sklearn.pipeline import make_pipeline

from sk_eeg2music import LinearDecoder
from sk_eeg2music.models.controls import (
    ShuffledPairs,
    TimeShiftedPairs,
    class_avoiding_permutation,
    music_classes,
)
from sk_eeg2music.preprocessing import ChannelScaler


class _Memorizer(RegressorMixin, BaseEstimator):
    """Records what it was trained on; predicts the first training waveform."""

    def fit(self, X, y, groups=None):
        self.train_X_, self.train_y_, self.groups_ = np.asarray(X), np.asarray(y), groups
        return self

    def predict(self, X):
        return np.repeat(self.train_y_[:1], len(X), axis=0)


def _trials(n_subjects=4, n_segments=5, n_audio=16, seed=0):
    """Waveforms that repeat across subjects, as in real data."""
    rng = np.random.default_rng(seed)
    music = rng.standard_normal((n_segments, n_audio)).astype(np.float32)
    subject = np.repeat(np.arange(n_subjects), n_segments)
    segment = np.tile(np.arange(n_segments), n_subjects)
    y = music[segment]
    X = rng.standard_normal((len(y), 3, 4)).astype(np.float32)
    return X, y, subject, segment


@pytest.mark.parametrize("seed", range(5))
def test_shuffled_pairs_never_pairs_a_trial_with_its_own_music(seed):
    X, y, subject, segment = _trials(seed=seed)
    ctrl = ShuffledPairs(_Memorizer(), random_state=seed).fit(X, y, groups=subject)
    fitted_y = ctrl.estimator_.train_y_
    np.testing.assert_array_equal(ctrl.estimator_.train_X_, X)  # EEG untouched
    # Nobody keeps their own audio, nor the same music heard by another subject.
    assert not np.any(np.all(fitted_y == y, axis=1))
    np.testing.assert_array_equal(np.sort(ctrl.permutation_), np.arange(len(y)))
    assert ctrl.n_same_music_ == 0
    np.testing.assert_array_equal(ctrl.estimator_.groups_, subject)  # routed through


def test_shuffled_pairs_respects_segment_labels():
    X, y, subject, segment = _trials(n_segments=6)
    # Segments 0-2 and 3-5 are labelled as two "segments" although their audio
    # differs: with segment given no trial may get audio from its own label.
    label = segment // 3
    ctrl = ShuffledPairs(_Memorizer(), random_state=0).fit(X, y, segment=label)
    assert np.all(label[ctrl.permutation_] != label)


def test_shuffled_pairs_warns_when_a_null_is_impossible():
    X, y, _, _ = _trials(n_subjects=1, n_segments=6)
    y[:4] = y[0]  # 4 of 6 trials share one waveform: 2 must keep it
    with pytest.warns(UserWarning, match="2 of 6 trials keep"):
        ctrl = ShuffledPairs(_Memorizer(), random_state=0).fit(X, y)
    assert ctrl.n_same_music_ == 2


@pytest.mark.parametrize("n", [2, 3, 7, 50])
def test_class_avoiding_permutation(n):
    rng = np.random.default_rng(n)
    classes = rng.integers(0, max(2, n // 3), n)
    counts = np.bincount(classes)
    perm = class_avoiding_permutation(classes, random_state=0)
    np.testing.assert_array_equal(np.sort(perm), np.arange(n))
    kept = np.sum(classes[perm] == classes)
    assert kept == max(0, 2 * counts.max() - n)  # zero whenever possible, else minimal


def test_music_classes_merges_audio_and_segment():
    y = np.array([[0.0], [0.0], [1.0], [2.0], [-0.0]])
    # Bit-exact rows, numbered by first occurrence (-0.0 is not the bytes of 0.0).
    np.testing.assert_array_equal(music_classes(y), [0, 0, 1, 2, 3])
    classes = music_classes(y, segment=np.array(["a", "b", "b", "c", "d"]))
    assert classes[0] == classes[1] == classes[2] != classes[3]


def _union_find_classes(by_audio, by_segment):
    """The union-find that music_classes replaced by connected_components (reference)."""
    n_a = by_audio.max() + 1
    parent = np.arange(n_a + by_segment.max() + 1)

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, s in zip(by_audio, by_segment + n_a):
        ra, rs = find(a), find(s)
        if ra != rs:
            parent[rs] = ra
    return np.array([find(a) for a in by_audio])


@pytest.mark.parametrize("seed", range(6))
def test_music_classes_same_partition_as_union_find(seed):
    rng = np.random.default_rng(seed)
    n = 40
    y = rng.integers(0, 12, n).astype(float)[:, None]  # 12 distinct waveforms at most
    segment = rng.integers(0, 15, n)
    by_audio = np.unique(y[:, 0], return_inverse=True)[1]
    expected = _union_find_classes(by_audio, segment)
    got = music_classes(y, segment)
    # The same partition: two trials share a class in one exactly when in the other.
    np.testing.assert_array_equal(got[:, None] == got, expected[:, None] == expected)
    # Numbered by first occurrence.
    _, first = np.unique(got, return_index=True)
    assert np.all(np.diff(first) > 0) and got[0] == 0


def test_shuffled_pairs_routes_groups_with_metadata_routing():
    X, y, subject, segment = _trials()
    with sklearn.config_context(enable_metadata_routing=True):
        inner = _Memorizer().set_fit_request(groups=True)
        ctrl = ShuffledPairs(inner, random_state=0).set_fit_request(segment=True)
        ctrl.fit(X, y, groups=subject, segment=segment)
        np.testing.assert_array_equal(ctrl.estimator_.groups_, subject)
        assert np.all(segment[ctrl.permutation_] != segment)
        clone(ctrl)


def test_shuffled_pairs_bad_input():
    X, y, _, segment = _trials()
    with pytest.raises(ValueError, match="different numbers of trials"):
        ShuffledPairs(_Memorizer()).fit(X, y[:-1])
    with pytest.raises(ValueError, match="segment must have shape"):
        ShuffledPairs(_Memorizer()).fit(X, y, segment=segment[:-1])
    with pytest.raises(ValueError, match="n_samples = 1"):
        ShuffledPairs(_Memorizer()).fit(X[:1], y[:1])


# ----------------------------------------------------------------------------- time shifts

SFREQ, FACTOR = 16.0, 4  # small rates keep the audio tiny; the logic is rate-free


def _stimuli(n_subjects=3, n_stimuli=2, n_segments=5, seg_seconds=2.0, seed=0):
    """Segments cut from whole random stimuli, heard by every subject."""
    rng = np.random.default_rng(seed)
    n_times = int(seg_seconds * SFREQ)
    n_audio = n_times * FACTOR
    stim_audio = rng.standard_normal((n_stimuli, n_segments * n_audio)).astype(np.float32)
    subject = np.repeat(np.arange(n_subjects), n_stimuli * n_segments)
    stimulus = np.tile(np.repeat([f"m{i}" for i in range(n_stimuli)], n_segments), n_subjects)
    segment = np.tile(np.arange(n_segments), n_subjects * n_stimuli)
    code = np.char.lstrip(stimulus, "m").astype(int)
    y = np.stack([stim_audio[c, s * n_audio : (s + 1) * n_audio] for c, s in zip(code, segment)])
    X = rng.standard_normal((len(y), 3, n_times)).astype(np.float32)
    return X, y, subject, stimulus, segment, stim_audio, code


def _source_offsets(fitted_y, stim_audio, code, segment, n_audio):
    """Where (audio samples, relative to the trial's onset) each fitted row sits in its loop."""
    offsets = []
    for row, c, s in zip(fitted_y, code, segment):
        loop = np.concatenate([stim_audio[c], stim_audio[c]])
        hits = [p for p in range(stim_audio.shape[1]) if np.array_equal(loop[p : p + n_audio], row)]
        assert len(hits) == 1  # the row is a window of its own stimulus (looped), nothing else
        offsets.append(hits[0] - s * n_audio)
    return np.array(offsets)


@pytest.mark.parametrize("beat_period", [None, 0.6])
def test_time_shifted_pairs_take_the_same_stimulus_at_a_wrong_time(beat_period):
    X, y, subject, stimulus, segment, stim_audio, code = _stimuli()
    ctrl = TimeShiftedPairs(_Memorizer(), beat_period=beat_period, random_state=0, sfreq=SFREQ)
    ctrl.fit(X, y, stimulus=stimulus, segment=segment, groups=subject)
    np.testing.assert_array_equal(ctrl.estimator_.train_X_, X)  # EEG untouched
    np.testing.assert_array_equal(ctrl.estimator_.groups_, subject)  # routed through
    fitted = ctrl.estimator_.train_y_
    offsets = _source_offsets(fitted, stim_audio, code, segment, y.shape[1])
    np.testing.assert_allclose(ctrl.shifts_, offsets / (SFREQ * FACTOR))
    loop_seconds = stim_audio.shape[1] / (SFREQ * FACTOR)
    # Every sample moves by >= 1 s: before the wrap by the shift, after it by shift - loop.
    wraps = (segment * y.shape[1] + offsets) % stim_audio.shape[1] + y.shape[1] > (
        stim_audio.shape[1]
    )
    for shift in (ctrl.shifts_, np.where(wraps, ctrl.shifts_ - loop_seconds, ctrl.shifts_)):
        assert np.all(np.abs(shift) >= 1.0)
        if beat_period is not None:  # never a whole number of beats (to half a sample)
            off_grid = np.abs(shift - beat_period * np.round(shift / beat_period))
            assert np.all(off_grid >= 0.5 / SFREQ - 1e-9)
    assert len(np.unique(ctrl.shifts_)) > 5  # drawn, not one fixed offset


def test_time_shifts_spread_the_beat_phase_evenly():
    X, y, subject, stimulus, segment, _, _ = _stimuli()
    net = []
    for seed in range(5):
        ctrl = TimeShiftedPairs(_Memorizer(), beat_period=0.6, random_state=seed, sfreq=SFREQ)
        ctrl.fit(X, y, stimulus=stimulus, segment=segment)
        net.append(np.abs(np.mean(np.exp(2j * np.pi * ctrl.shifts_ / 0.6))))
    # Stratified phases leave no net beat phase in the training set; 30 uniform
    # draws leave 0.16 on average (sqrt(pi / 4n)).
    assert np.mean(net) < 0.08


def test_time_shifted_pairs_use_only_training_audio():
    X, y, subject, stimulus, segment, _, _ = _stimuli(n_segments=6)
    train = segment != 2  # a held-out segment of every stimulus (as SubjectTimeSplit does)
    ctrl = TimeShiftedPairs(_Memorizer(), random_state=0, sfreq=SFREQ)
    ctrl.fit(X[train], y[train], stimulus=stimulus[train], segment=segment[train])
    assert not np.isin(ctrl.estimator_.train_y_, y[~train]).any()


def test_time_shifted_pairs_keep_condition_apart():
    X, y, subject, stimulus, segment, _, _ = _stimuli(n_stimuli=1)
    condition = np.where(subject == 0, "imagery", "listening")
    y[condition == "imagery"] *= -1.0  # other audio for the other condition
    ctrl = TimeShiftedPairs(_Memorizer(), random_state=0, sfreq=SFREQ)
    ctrl.fit(X, y, stimulus=stimulus, segment=segment, condition=condition)
    imagery = condition == "imagery"
    assert np.isin(ctrl.estimator_.train_y_[imagery], y[imagery]).all()
    assert not np.isin(ctrl.estimator_.train_y_[imagery], y[~imagery]).any()


def test_time_shifted_pairs_without_labels_loop_each_trial():
    X, y, _, _, _, _, _ = _stimuli(n_segments=1, seg_seconds=4.0)
    ctrl = TimeShiftedPairs(_Memorizer(), random_state=0, sfreq=SFREQ).fit(X, y)
    shift = np.round(ctrl.shifts_ * SFREQ * FACTOR).astype(int)
    assert np.all((np.abs(shift) >= SFREQ * FACTOR) & (shift <= y.shape[1] - SFREQ * FACTOR))
    for row, own, k in zip(ctrl.estimator_.train_y_, y, shift):
        np.testing.assert_array_equal(row, np.roll(own, -k))
    # Segments too short to hold a 1-s shift in a loop of themselves: a clear error.
    X, y, _, _, _, _, _ = _stimuli(seg_seconds=1.5)
    with pytest.raises(ValueError, match="Pass stimulus= and segment="):
        TimeShiftedPairs(_Memorizer(), sfreq=SFREQ).fit(X, y)


def test_time_shifted_pairs_reads_the_rate_from_the_estimator():
    X, y, _, stimulus, segment, _, _ = _stimuli()
    pipe = make_pipeline(ChannelScaler(), LinearDecoder(target="envelope", sfreq=SFREQ))
    assert TimeShiftedPairs(pipe)._check_params() == SFREQ
    assert TimeShiftedPairs(LinearDecoder(sfreq=SFREQ))._check_params() == SFREQ
    with pytest.raises(ValueError, match="pass sfreq="):
        TimeShiftedPairs(_Memorizer()).fit(X, y, stimulus=stimulus, segment=segment)


def test_time_shifted_pairs_bad_input():
    X, y, _, stimulus, segment, _, _ = _stimuli()
    null = TimeShiftedPairs(_Memorizer(), sfreq=SFREQ)
    with pytest.raises(ValueError, match="segment is missing"):
        null.fit(X, y, stimulus=stimulus)
    with pytest.raises(ValueError, match="segment index"):
        null.fit(X, y, stimulus=stimulus, segment=segment.astype(str))
    with pytest.raises(ValueError, match="stimulus must have shape"):
        null.fit(X, y, stimulus=stimulus[:-1], segment=segment)
    with pytest.raises(ValueError, match="different numbers of trials"):
        null.fit(X, y[:-1])
    with pytest.raises(ValueError, match="min_shift_seconds"):
        TimeShiftedPairs(_Memorizer(), min_shift_seconds=0, sfreq=SFREQ).fit(X, y)
    with pytest.raises(ValueError, match="beat_period"):
        TimeShiftedPairs(_Memorizer(), beat_period=-1.0, sfreq=SFREQ).fit(X, y)
    with pytest.raises(ValueError, match="requires y"):
        null.fit(X, None)


def test_time_shifted_pairs_routing_and_cross_validate():
    X, y, subject, stimulus, segment, _, _ = _stimuli(n_subjects=4)
    params = {"groups": subject, "stimulus": stimulus, "segment": segment}
    with sklearn.config_context(enable_metadata_routing=True):
        # stimulus/segment/condition are requested by default; groups as the inner asks.
        inner = _Memorizer().set_fit_request(groups=True)
        ctrl = TimeShiftedPairs(inner, random_state=0, sfreq=SFREQ).fit(X, y, **params)
        np.testing.assert_array_equal(ctrl.estimator_.groups_, subject)
        assert np.all(np.abs(ctrl.shifts_) >= 1.0)
        clone(ctrl)
        res = cross_validate(
            TimeShiftedPairs(inner, random_state=0, sfreq=SFREQ),
            X,
            y,
            groups=None,
            cv=GroupKFold(2),
            params={**params, "groups": subject},
            scoring="neg_mean_squared_error",
        )
    assert len(res["test_score"]) == 2
    # Without routing, the labels are plain fit parameters (cross_validate slices them).
    res = cross_validate(
        TimeShiftedPairs(_Memorizer(), random_state=0, sfreq=SFREQ),
        X,
        y,
        groups=subject,
        cv=GroupKFold(2),
        params={"stimulus": stimulus, "segment": segment},
        scoring="neg_mean_squared_error",
    )
    assert len(res["test_score"]) == 2


def test_controls_delegate_predict_features():
    X, y, _, stimulus, segment, _, _ = _stimuli()
    dec = LinearDecoder(target="envelope", sfreq=SFREQ, alphas=[1.0])
    for ctrl in (
        TimeShiftedPairs(dec, random_state=0).fit(X, y, stimulus=stimulus, segment=segment),
        ShuffledPairs(make_pipeline(ChannelScaler(), dec)).fit(X, y),
    ):
        inner = ctrl.estimator_
        expected = (
            inner[-1].predict_features(inner[:-1].transform(X))
            if hasattr(inner, "steps")
            else inner.predict_features(X)
        )
        np.testing.assert_array_equal(ctrl.predict_features(X), expected)
        np.testing.assert_array_equal(ctrl.predict(X), inner.predict(X))
    # Only when the wrapped estimator has it.
    assert not hasattr(ShuffledPairs(_Memorizer()), "predict_features")
    assert hasattr(ShuffledPairs(), "predict_features")  # default: LinearDecoder
