"""Leakage-safe splits and the shuffled-pairs control."""

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.model_selection import cross_validate

from sk_eeg2music.metrics import _unique_rows
from sk_eeg2music.model_selection import (
    ShuffledPairs,
    SubjectTimeSplit,
    class_avoiding_permutation,
    music_classes,
)


def _labels(n_subjects=6, n_segments=10, n_stimuli=2):
    subject = np.repeat([f"s{i}" for i in range(n_subjects)], n_segments * n_stimuli)
    stimulus = np.tile(np.repeat([f"m{i}" for i in range(n_stimuli)], n_segments), n_subjects)
    segment = np.tile(np.arange(n_segments), n_subjects * n_stimuli)
    segment_id = np.char.add(np.char.add(stimulus, "/"), segment.astype(str))
    return subject, segment, segment_id


@pytest.mark.parametrize("use_id", [False, True])
@pytest.mark.parametrize("random_state", [None, 0])
def test_subject_time_split_never_leaks(use_id, random_state):
    subject, segment, segment_id = _labels()
    seg = segment_id if use_id else segment
    X = np.zeros((len(subject), 3))
    cv = SubjectTimeSplit(n_splits=3, random_state=random_state)
    folds = list(cv.split(X, groups=subject, segment=seg))
    assert len(folds) == cv.get_n_splits() == 3
    tested = []
    for train, test in folds:
        assert len(train) and len(test)
        assert not set(subject[train]) & set(subject[test])
        assert not set(seg[train]) & set(seg[test])
        # Holding out segment indices holds out the same music for every stimulus.
        assert not set(segment_id[train]) & set(segment_id[test])
        tested.append(test)
    tested = np.concatenate(tested)
    assert len(np.unique(tested)) == len(tested)  # each trial tested at most once
    # Every subject and every segment is tested in some fold.
    assert set(subject[tested]) == set(subject)
    assert set(seg[tested]) == set(seg)


def test_subject_time_split_shuffles_with_random_state():
    subject, segment, _ = _labels()
    X = np.zeros((len(subject), 1))
    first = [t for _, t in SubjectTimeSplit(3).split(X, groups=subject, segment=segment)]
    again = [t for _, t in SubjectTimeSplit(3).split(X, groups=subject, segment=segment)]
    other = [
        t for _, t in SubjectTimeSplit(3, random_state=1).split(X, groups=subject, segment=segment)
    ]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_subject_time_split_bad_input():
    subject, segment, _ = _labels(n_subjects=2)
    X = np.zeros((len(subject), 1))
    with pytest.raises(ValueError, match="at least 3 distinct subjects"):
        list(SubjectTimeSplit(3).split(X, groups=subject, segment=segment))
    with pytest.raises(ValueError, match="segment="):
        list(SubjectTimeSplit(2).split(X, groups=subject))
    with pytest.raises(ValueError, match="shape"):
        list(SubjectTimeSplit(2).split(X, groups=subject, segment=segment[:-1]))
    with pytest.raises(ValueError, match="n_splits"):
        list(SubjectTimeSplit(1).split(X, groups=subject, segment=segment))


class _Memorizer(RegressorMixin, BaseEstimator):
    """Records what it was trained on; predicts the first training waveform."""

    def fit(self, X, y, groups=None):
        self.train_X_, self.train_y_, self.groups_ = np.asarray(X), np.asarray(y), groups
        return self

    def predict(self, X):
        return np.repeat(self.train_y_[:1], len(X), axis=0)


def test_subject_time_split_with_metadata_routing():
    subject, segment, _ = _labels()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((len(subject), 4))
    y = rng.standard_normal((len(subject), 4))
    cv = SubjectTimeSplit(n_splits=3)
    with sklearn.config_context(enable_metadata_routing=True):
        res = cross_validate(
            _Memorizer().set_fit_request(groups=False),
            X,
            y,
            cv=cv,
            params={"groups": subject, "segment": segment},
            return_indices=True,
            scoring="neg_mean_squared_error",
        )
        # Explicitly requesting keeps working.
        cv.set_split_request(groups=True, segment=True)
        est = _Memorizer().set_fit_request(groups=True)
        cross_validate(est, X, y, cv=cv, params={"groups": subject, "segment": segment})
    expected = list(cv.split(X, groups=subject, segment=segment))
    for (train, test), got_train, got_test in zip(
        expected, res["indices"]["train"], res["indices"]["test"]
    ):
        np.testing.assert_array_equal(train, got_train)
        np.testing.assert_array_equal(test, got_test)


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
    y = np.array([[0.0], [0.0], [1.0], [2.0]])
    np.testing.assert_array_equal(music_classes(y), _unique_rows(y)[1])
    classes = music_classes(y, segment=np.array(["a", "b", "b", "c"]))
    assert classes[0] == classes[1] == classes[2] != classes[3]


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
