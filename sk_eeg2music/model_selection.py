"""Leakage-safe splits, and the null controls scored under them.

Which split answers which question
----------------------------------
Trials of the same subject share that subject's head, electrodes and noise;
trials of the same ``(stimulus, segment)`` share the *music*. A model can score
by recognising either, so the split decides what a number means:

=====================================  =========================================
split (``groups=`` / extra labels)      question it answers
=====================================  =========================================
``GroupKFold`` on ``segment_id``         within-subject(s), unseen music: the test
                                         segments' music was never heard in
                                         training, but the test subjects were.
``LeaveOneGroupOut`` on ``subject``      cross-subject, *seen* music: a new head,
                                         but its music was in training (from other
                                         subjects), so a model may partly recall
                                         the music instead of decoding EEG.
:class:`SubjectTimeSplit`                cross-subject AND unseen music: neither
                                         the test subjects nor the test segments
                                         appear in training — the strictest test.
=====================================  =========================================

A number is believable only next to the same pipeline wrapped in the null
controls of :mod:`sk_eeg2music.models.controls` (re-exported here) under the
same split: :class:`ShuffledPairs` (EEG paired with the wrong music) and
:class:`TimeShiftedPairs` (EEG paired with its own music at a wrong time). The
gap between the pipeline and a null is what the EEG contributes.
"""

import numbers

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state

# The null controls are models (they sit next to them); re-exported here, where
# users look for them beside the splits they are scored under.
from .models.controls import (
    ShuffledPairs,
    TimeShiftedPairs,
    class_avoiding_permutation,
    music_classes,
)

__all__ = [
    "ShuffledPairs",
    "SubjectTimeSplit",
    "TimeShiftedPairs",
    "WithinSubjectTimeSplit",
    "class_avoiding_permutation",
    "music_classes",
    "subject_time_folds",
]


def _check_labels(values, n, name, splitter="SubjectTimeSplit"):
    if values is None:
        raise ValueError(
            f"{splitter}.split needs {name}= of shape (n_trials,). Pass it directly, "
            "or with metadata routing enabled use cross_validate(..., params={'groups': "
            "subject, 'segment': segment}); without routing pass "
            f"cv=list({splitter}(...).split(X, y, groups=subject, segment=segment))."
        )
    values = np.asarray(values)
    if values.shape != (n,):
        raise ValueError(f"{name} must have shape (n_trials,) = ({n},); got {values.shape}.")
    return values


def _partition(labels, n_splits, rng):
    """Split the distinct labels into ``n_splits`` nearly equal sets."""
    uniq = np.unique(labels)
    if rng is not None:
        uniq = uniq[rng.permutation(len(uniq))]
    return np.array_split(uniq, n_splits)


def subject_time_folds(groups, segment, n_splits=5, random_state=None):
    """Train/test indices holding out subjects AND segments together.

    Parameters
    ----------
    groups : ndarray, shape (n_trials,)
        Subject of each trial.
    segment : ndarray, shape (n_trials,)
        Segment label of each trial: the segment index inside its stimulus, or a
        ``segment_id`` string (``"stimulus/segment"``).
    n_splits : int, default=5
        Number of folds; at least that many distinct subjects and segments.
    random_state : int | numpy.random.RandomState | None, default=None
        Shuffles which subjects and segments form each fold; ``None`` keeps the
        sorted order.

    Yields
    ------
    train, test : ndarray of int
        Fold ``k`` tests the trials of subject set ``S_k`` at segment set ``T_k``
        and trains on the trials of the *other* subjects at the *other* segments;
        the remaining trials (test subjects at training segments, training
        subjects at test segments) are left out of that fold.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.model_selection import subject_time_folds
    >>> groups = np.repeat([0, 1, 2], 4)  # 3 subjects
    >>> segment = np.tile([0, 1, 2, 3], 3)  # 4 segments each
    >>> for train, test in subject_time_folds(groups, segment, n_splits=2):
    ...     print(train, test)
    [10 11] [0 1 4 5]
    [0 1 4 5] [10 11]
    """
    if not isinstance(n_splits, numbers.Integral) or n_splits < 2:
        raise ValueError(f"n_splits must be an integer >= 2; got {n_splits!r}.")
    for name, labels in (("subjects", groups), ("segments", segment)):
        n_uniq = len(np.unique(labels))
        if n_uniq < n_splits:
            raise ValueError(
                f"SubjectTimeSplit(n_splits={n_splits}) needs at least {n_splits} distinct "
                f"{name}; got {n_uniq}. Lower n_splits."
            )
    rng = None if random_state is None else check_random_state(random_state)
    subj_sets = _partition(groups, n_splits, rng)
    seg_sets = _partition(segment, n_splits, rng)
    for subjects, segments in zip(subj_sets, seg_sets):
        test_subject = np.isin(groups, subjects)
        test_segment = np.isin(segment, segments)
        yield (
            np.flatnonzero(~test_subject & ~test_segment),
            np.flatnonzero(test_subject & test_segment),
        )


class SubjectTimeSplit(BaseCrossValidator):
    """Hold out a set of subjects and a set of segments in every fold.

    Fold ``k`` tests subjects ``S_k`` on segments ``T_k``; it trains only on the
    other subjects at the other segments, so neither the test heads nor the test
    music were seen in training. Trials of a test subject at a training segment,
    or of a training subject at a test segment, are used by neither side of that
    fold; across the ``n_splits`` folds each subject is tested on about
    ``1 / n_splits`` of the segments.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds; needs at least ``n_splits`` subjects and segments.
    random_state : int | numpy.random.RandomState | None, default=None
        Shuffles the assignment of subjects and segments to folds; ``None``
        assigns them in sorted order.

    Notes
    -----
    ``segment`` may be the segment index (``EEGMusicData.segment``: index ``k``
    holds out the ``k``-th segment of *every* stimulus) or ``segment_id`` strings
    (``EEGMusicData.segment_id``: holds out single stimulus segments). Both
    ``groups`` and ``segment`` are requested by default under metadata routing,
    like scikit-learn's group splitters (``set_split_request`` can change that).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.model_selection import SubjectTimeSplit
    >>> subject = np.repeat(["s1", "s2", "s3"], 3)
    >>> segment = np.tile([0, 1, 2], 3)
    >>> for train, test in SubjectTimeSplit(n_splits=3).split(
    ...         np.zeros((9, 1)), groups=subject, segment=segment):
    ...     print(train, test)
    [4 5 7 8] [0]
    [0 2 6 8] [4]
    [0 1 3 4] [8]
    """

    __metadata_request__split = {"groups": True, "segment": True}

    def __init__(self, n_splits=5, random_state=None):
        self.n_splits = n_splits
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None, segment=None):
        """Number of folds.

        Parameters
        ----------
        X, y, groups, segment : object, default=None
            Ignored; present for API compatibility.

        Returns
        -------
        n_splits : int
            ``self.n_splits``.
        """
        return self.n_splits

    def split(self, X, y=None, groups=None, segment=None):
        """Generate train/test indices.

        Parameters
        ----------
        X : array-like, shape (n_trials, ...)
        y : array-like | None, default=None
            Ignored.
        groups : array-like, shape (n_trials,), default=None
            Subject of each trial (required despite the default).
        segment : array-like, shape (n_trials,), default=None
            Segment index or ``segment_id`` of each trial (required despite the
            default).

        Yields
        ------
        train, test : ndarray of int
        """
        n = len(X)
        groups = _check_labels(groups, n, "groups")
        segment = _check_labels(segment, n, "segment")
        yield from subject_time_folds(groups, segment, self.n_splits, self.random_state)

    def _iter_test_indices(self, X=None, y=None, groups=None):  # pragma: no cover
        raise NotImplementedError("SubjectTimeSplit.split needs groups and segment.")


def _segment_index(segment):
    """Segment index of each trial: ``"stimulus/k"`` -> ``k``; integers stay as they are."""
    try:
        return np.array([int(str(s).rsplit("/", 1)[-1]) for s in segment])
    except ValueError as exc:
        raise ValueError(
            "segment must hold segment indices (EEGMusicData.segment) or segment_id strings "
            f"'stimulus/k' ending in the index (EEGMusicData.segment_id); {exc}."
        ) from None


class WithinSubjectTimeSplit(BaseCrossValidator):
    """Within-subject, time-disjoint folds: each subject tested on held-out segments.

    The distinct segment indices are cut into ``n_splits`` consecutive blocks.
    Fold ``(s, k)`` tests subject ``s`` on its trials whose segment index is in
    block ``k`` and trains on the same subject's trials at the other segments
    only: a subject-specific model, scored on music (segment positions) it was
    not trained on. There are ``n_splits`` folds per subject, subjects in sorted
    order.

    Parameters
    ----------
    n_splits : int, default=2
        Blocks of segment indices (folds per subject); at least 2, and at most
        the number of distinct segment indices.

    See Also
    --------
    SubjectTimeSplit : holds out subjects and segments together (cross-subject).

    Notes
    -----
    ``segment`` may be the segment index (``EEGMusicData.segment``) or
    ``segment_id`` strings (``EEGMusicData.segment_id``, ``"stimulus/k"``): both
    are read as the index ``k``, so block ``k`` holds out the ``k``-th segments
    of *every* stimulus. Both ``groups`` and ``segment`` are requested by default
    under metadata routing, as for :class:`SubjectTimeSplit`.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.model_selection import WithinSubjectTimeSplit
    >>> subject = np.repeat(["s1", "s2"], 4)
    >>> segment = np.tile(["song/0", "song/1", "song/2", "song/3"], 2)
    >>> for train, test in WithinSubjectTimeSplit(n_splits=2).split(
    ...         None, groups=subject, segment=segment):
    ...     print(train, test)
    [2 3] [0 1]
    [0 1] [2 3]
    [6 7] [4 5]
    [4 5] [6 7]
    """

    __metadata_request__split = {"groups": True, "segment": True}

    def __init__(self, n_splits=2):
        self.n_splits = n_splits

    def get_n_splits(self, X=None, y=None, groups=None, segment=None):
        """Number of folds: ``n_splits`` per subject.

        Parameters
        ----------
        X, y, segment : object, default=None
            Ignored; present for API compatibility.
        groups : array-like, shape (n_trials,)
            Subject of each trial (required: the count depends on the subjects).

        Returns
        -------
        n_splits : int
            ``n_splits * n_subjects``.
        """
        if groups is None:
            _check_labels(None, 0, "groups", type(self).__name__)  # raises, saying how to pass it
        return self.n_splits * len(np.unique(groups))

    def split(self, X, y=None, groups=None, segment=None):
        """Generate train/test indices, subject by subject.

        Parameters
        ----------
        X : array-like, shape (n_trials, ...) | None
            Only its length is used (``None``: the length of ``groups``).
        y : array-like | None, default=None
            Ignored.
        groups : array-like, shape (n_trials,), default=None
            Subject of each trial (required despite the default).
        segment : array-like, shape (n_trials,), default=None
            Segment index or ``segment_id`` of each trial (required despite the
            default).

        Yields
        ------
        train, test : ndarray of int
            Trials of one subject: those outside and inside one block of segments.
        """
        if not isinstance(self.n_splits, numbers.Integral) or self.n_splits < 2:
            raise ValueError(f"n_splits must be an integer >= 2; got {self.n_splits!r}.")
        name = type(self).__name__
        n = len(X) if X is not None else (len(groups) if groups is not None else 0)
        groups = _check_labels(groups, n, "groups", name)
        seg_idx = _segment_index(_check_labels(segment, n, "segment", name))
        uniq = np.unique(seg_idx)
        if len(uniq) < self.n_splits:
            raise ValueError(
                f"{name}(n_splits={self.n_splits}) needs at least {self.n_splits} distinct "
                f"segment indices; got {len(uniq)}. Lower n_splits."
            )
        blocks = np.array_split(uniq, self.n_splits)
        for subject in np.unique(groups):
            own = groups == subject
            for block in blocks:
                test = own & np.isin(seg_idx, block)
                yield np.flatnonzero(own & ~test), np.flatnonzero(test)

    def _iter_test_indices(self, X=None, y=None, groups=None):  # pragma: no cover
        raise NotImplementedError("WithinSubjectTimeSplit.split needs groups and segment.")
