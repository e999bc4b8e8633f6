"""Leakage-safe splits (the null controls they re-export: tests/models/test_controls.py)."""

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import cross_validate

import sk_eeg2music
from sk_eeg2music import model_selection, models
from sk_eeg2music.model_selection import SubjectTimeSplit, WithinSubjectTimeSplit
from sk_eeg2music.models import controls


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


@pytest.mark.parametrize(
    "cv",
    [SubjectTimeSplit(n_splits=3), WithinSubjectTimeSplit(n_splits=2)],
    ids=lambda cv: type(cv).__name__,
)
def test_splits_with_metadata_routing(cv):
    subject, segment, _ = _labels()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((len(subject), 4))
    y = rng.standard_normal((len(subject), 4))
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
    assert len(res["indices"]["test"]) == len(expected)
    for (train, test), got_train, got_test in zip(
        expected, res["indices"]["train"], res["indices"]["test"]
    ):
        np.testing.assert_array_equal(train, got_train)
        np.testing.assert_array_equal(test, got_test)


@pytest.mark.parametrize(
    "name", ["ShuffledPairs", "TimeShiftedPairs", "music_classes", "class_avoiding_permutation"]
)
def test_null_controls_are_reexported(name):
    # They live next to the models; the old import path keeps working.
    obj = getattr(controls, name)
    assert getattr(model_selection, name) is obj
    assert name in model_selection.__all__
    if name[0].isupper():
        assert getattr(models, name) is getattr(sk_eeg2music, name) is obj
        assert name in models.__all__ and name in sk_eeg2music.__all__


@pytest.mark.parametrize("use_id", [False, True])
def test_within_subject_split_tests_each_subject_on_held_out_segments(use_id):
    subject, segment, segment_id = _labels(n_subjects=3, n_segments=6)
    seg = segment_id if use_id else segment
    X = np.zeros((len(subject), 2))
    cv = WithinSubjectTimeSplit(n_splits=3)
    folds = list(cv.split(X, groups=subject, segment=seg))
    assert len(folds) == cv.get_n_splits(groups=subject) == 9
    tested = np.concatenate([test for _, test in folds])
    np.testing.assert_array_equal(np.sort(tested), np.arange(len(subject)))  # each trial once
    for train, test in folds:
        assert len(train) and len(test)
        # One subject per fold, trained only on its own trials...
        assert len(set(subject[train]) | set(subject[test])) == 1
        # ...at other segment indices (the same music for every stimulus).
        assert not set(segment[train]) & set(segment[test])
        assert len(train) + len(test) == 6 * 2
    # Segment ids "stimulus/k" are read as their index k: the same folds.
    other = segment if use_id else segment_id
    for (tr, te), (tr2, te2) in zip(folds, cv.split(X, groups=subject, segment=other)):
        np.testing.assert_array_equal(tr, tr2)
        np.testing.assert_array_equal(te, te2)


def test_within_subject_split_blocks_are_consecutive_segments():
    subject = np.repeat(["s1", "s2"], 4)
    segment = np.tile(["m/0", "m/1", "m/2", "m/3"], 2)
    folds = list(WithinSubjectTimeSplit(2).split(None, groups=subject, segment=segment))
    assert [test.tolist() for _, test in folds] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert [train.tolist() for train, _ in folds] == [[2, 3], [0, 1], [6, 7], [4, 5]]


def test_within_subject_split_bad_input():
    subject, segment, _ = _labels(n_subjects=2, n_segments=3)
    X = np.zeros((len(subject), 1))
    with pytest.raises(ValueError, match="at least 4 distinct segment indices"):
        list(WithinSubjectTimeSplit(4).split(X, groups=subject, segment=segment))
    with pytest.raises(ValueError, match=r"WithinSubjectTimeSplit.split needs segment="):
        list(WithinSubjectTimeSplit(2).split(X, groups=subject))
    with pytest.raises(ValueError, match=r"WithinSubjectTimeSplit.split needs groups="):
        WithinSubjectTimeSplit(2).get_n_splits(X)
    with pytest.raises(ValueError, match="segment must have shape"):
        list(WithinSubjectTimeSplit(2).split(X, groups=subject, segment=segment[:-1]))
    with pytest.raises(ValueError, match="n_splits must be an integer >= 2"):
        list(WithinSubjectTimeSplit(1).split(X, groups=subject, segment=segment))
    with pytest.raises(ValueError, match="segment must hold segment indices"):
        list(WithinSubjectTimeSplit(2).split(X, groups=subject, segment=["m/a"] * len(X)))


def test_within_subject_split_is_public():
    assert "WithinSubjectTimeSplit" in model_selection.__all__
