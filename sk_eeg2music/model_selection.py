"""Leakage-safe splits and the shuffled-pairs null control.

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

A number is believable only next to the same pipeline wrapped in
:class:`ShuffledPairs` (EEG paired with the wrong music) under the same split:
the gap between the two is what the EEG contributes.
"""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.validation import check_array, check_is_fitted

from .metrics import _unique_rows


def _check_labels(values, n, name):
    if values is None:
        raise ValueError(
            f"SubjectTimeSplit.split needs {name}= of shape (n_trials,). Pass it directly, "
            "or with metadata routing enabled use cross_validate(..., params={'groups': "
            "subject, 'segment': segment}); without routing pass "
            "cv=list(SubjectTimeSplit(...).split(X, y, groups=subject, segment=segment))."
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


# ----------------------------------------------------------------------------- null control


def class_avoiding_permutation(classes, random_state=None):
    """A random permutation ``p`` with ``classes[p[i]] != classes[i]`` wherever possible.

    Items are shuffled, sorted by class (the largest class first, the others in
    random order) and each position takes the item ``min(m, n - m)`` positions
    further along the circle, ``m`` being the size of the largest class. When
    ``m <= n / 2`` every item changes class (a class occupies a contiguous run of
    at most ``m`` positions, so the shift always leaves it); otherwise exactly
    ``2m - n`` items of the largest class keep it, the fewest possible.

    Parameters
    ----------
    classes : ndarray, shape (n,)
        Class label of each item.
    random_state : int | numpy.random.RandomState | None, default=None
        Seeds the shuffle.

    Returns
    -------
    perm : ndarray of int, shape (n,)

    Examples
    --------
    >>> from sk_eeg2music.model_selection import class_avoiding_permutation
    >>> classes = ["a", "a", "b", "b", "c", "c"]
    >>> perm = class_avoiding_permutation(classes, random_state=0)
    >>> sorted(perm.tolist()), any(classes[i] == classes[j] for i, j in enumerate(perm))
    ([0, 1, 2, 3, 4, 5], False)
    """
    classes = np.asarray(classes)
    n = len(classes)
    if n < 2:
        raise ValueError(
            f"cannot re-pair trials with n_samples = {n}; the shuffled control needs at "
            "least 2 trials with different music."
        )
    uniq, codes, counts = np.unique(classes, return_inverse=True, return_counts=True)
    largest = counts.max()
    rng = check_random_state(random_state)
    class_rank = rng.permutation(len(uniq))
    class_rank[np.argmax(counts)] = -1  # the largest class first
    order = np.lexsort((rng.random(n), class_rank[codes]))
    perm = np.empty(n, dtype=int)
    perm[order] = order[(np.arange(n) + min(largest, n - largest)) % n]
    return perm


def music_classes(y, segment=None):
    """Trials that must not be paired together: same waveform or same segment label.

    Parameters
    ----------
    y : ndarray, shape (n_trials, ...)
        Waveforms; bit-identical rows are the same music.
    segment : ndarray, shape (n_trials,) | None, default=None
        Segment label of each trial; ``None`` compares waveforms only.

    Returns
    -------
    classes : ndarray of int, shape (n_trials,)
        Connected components of "identical audio or identical segment label".

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.model_selection import music_classes
    >>> y = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])
    >>> music_classes(y)  # trials 0 and 1 carry the same waveform
    array([0, 0, 1, 2])
    >>> music_classes(y, segment=[0, 1, 1, 2])  # trial 2 shares trial 1's segment label
    array([0, 0, 0, 1])
    """
    _, by_audio = _unique_rows(np.asarray(y))
    if segment is None:
        return by_audio
    _, by_segment = np.unique(np.asarray(segment), return_inverse=True)
    # Union-find over the two labelings: a segment label and an audio class that
    # share a trial end up in one class.
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
    roots = np.array([find(a) for a in by_audio])
    return np.unique(roots, return_inverse=True)[1]


class ShuffledPairs(MetaEstimatorMixin, BaseEstimator):
    """Null control: fit the wrapped estimator on EEG paired with the wrong music.

    ``fit`` re-pairs the training trials by a random permutation
    (:func:`class_avoiding_permutation`) such that **no trial gets a waveform
    bit-identical to its own** (neither its own audio nor the same music heard
    by another subject) and, when ``segment`` is given, **no trial gets audio
    with its own segment label**. This is guaranteed whenever no single music
    (identical waveforms, merged with equal segment labels) covers more than half
    of the training trials; otherwise the fewest possible trials keep it,
    ``n_same_music_`` counts them and a warning is raised. Everything else
    (the EEG, the subjects, the set of waveforms) is unchanged, so the score of
    this control under the same split is what the pipeline reaches without any
    EEG-music correspondence. ``predict`` and ``score`` are the wrapped
    estimator's.

    Parameters
    ----------
    estimator : estimator | None, default=None
        The pipeline to control; ``None`` is
        :class:`~sk_eeg2music.models.LinearDecoder` with default parameters.
    random_state : int | numpy.random.RandomState | None, default=0
        Seeds the re-pairing; the default makes the control reproducible (each
        CV fold still gets its own permutation, its training set being different).

    Attributes
    ----------
    estimator_ : estimator
        The wrapped estimator fitted on the shuffled pairs.
    permutation_ : ndarray of int, shape (n_trials,)
        Trial ``i`` was fitted with ``y[permutation_[i]]``.
    n_same_music_ : int
        Trials that still got music identical to their own (or of their segment):
        0 unless more than half of the trials share one waveform (then the fewest
        possible, with a warning).
    n_features_in_ : int

    Notes
    -----
    Metadata: ``groups`` (and any other fit parameter) is passed on to the wrapped
    estimator's ``fit`` (with metadata routing enabled, as that estimator
    requests it); ``segment`` is used by this class to forbid same-segment pairs
    (with routing enabled, request it with ``set_fit_request(segment=True)``).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music import LinearDecoder, ShuffledPairs
    >>> rng = np.random.default_rng(0)
    >>> X = 1e-5 * rng.standard_normal((8, 4, 64)).astype(np.float32)  # EEG at 64 Hz
    >>> y = rng.standard_normal((8, 8000)).astype(np.float32)  # audio at 8 kHz
    >>> decoder = LinearDecoder(target="envelope", sfreq=64.0, alphas=[1.0])
    >>> null = ShuffledPairs(decoder, random_state=0).fit(X, y)
    >>> null.n_same_music_, bool(np.all(null.permutation_ != np.arange(8)))
    (0, True)
    >>> null.predict(X).shape
    (8, 8000)

    Score it under the same split as ``decoder`` (e.g. with
    :func:`~sk_eeg2music.evaluation.cross_validate_reconstruction`): the gap
    between the two is what the EEG contributes.
    """

    def __init__(self, estimator=None, random_state=0):
        self.estimator = estimator
        self.random_state = random_state

    def _base(self):
        if self.estimator is None:
            from .models.linear import LinearDecoder

            return LinearDecoder()
        return self.estimator

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self._base().__sklearn_tags__()
        tags.estimator_type = inner.estimator_type
        tags.input_tags = inner.input_tags
        tags.target_tags = inner.target_tags
        tags.regressor_tags = inner.regressor_tags
        return tags

    def get_metadata_routing(self):
        """Route fit/predict/score metadata to the wrapped estimator.

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRouter
        """
        return (
            MetadataRouter(owner=self)
            .add_self_request(self)
            .add(
                estimator=self._base(),
                method_mapping=MethodMapping()
                .add(caller="fit", callee="fit")
                .add(caller="predict", callee="predict")
                .add(caller="score", callee="score"),
            )
        )

    def fit(self, X, y, segment=None, **fit_params):
        """Fit the wrapped estimator on deranged EEG-music pairs.

        Parameters
        ----------
        X : array-like, shape (n_trials, ...)
        y : array-like, shape (n_trials, n_audio)
        segment : array-like, shape (n_trials,) | None, default=None
            Segment label (index or ``segment_id``) of each trial.
        **fit_params
            Passed to the wrapped estimator's ``fit`` (e.g. ``groups``).

        Returns
        -------
        self : ShuffledPairs
        """
        if y is None:
            raise ValueError(
                "ShuffledPairs requires y to be passed, but the target y is None; pass the "
                "waveforms of shape (n_trials, n_audio)."
            )
        X = check_array(X, allow_nd=True, ensure_2d=False, dtype=None, ensure_all_finite=False)
        y = check_array(y, ensure_2d=False, dtype=None, ensure_all_finite=False)
        if len(y) != len(X):
            raise ValueError(f"X and y have different numbers of trials: {len(X)} != {len(y)}.")
        if segment is not None:
            segment = np.asarray(segment)
            if segment.shape != (len(y),):
                raise ValueError(
                    f"segment must have shape (n_trials,) = ({len(y)},); got {segment.shape}."
                )
        if _routing_enabled():
            inner_params = process_routing(self, "fit", **fit_params).estimator.fit
        else:
            inner_params = fit_params
        classes = music_classes(y, segment)
        self.permutation_ = class_avoiding_permutation(classes, self.random_state)
        self.n_same_music_ = int(np.sum(classes[self.permutation_] == classes))
        if self.n_same_music_:
            warnings.warn(
                f"ShuffledPairs: {self.n_same_music_} of {len(y)} trials keep music identical "
                "to their own (or of their segment), because more than half of the trials "
                "share one waveform; the control is not a full null for those trials.",
                UserWarning,
                stacklevel=2,
            )
        self.estimator_ = clone(self._base()).fit(X, y[self.permutation_], **inner_params)
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        return self

    def _params(self, method, params):
        if _routing_enabled():
            return getattr(process_routing(self, method, **params).estimator, method)
        _raise_for_params(params, self, method)
        return params

    def predict(self, X, **predict_params):
        """Predict with the estimator fitted on shuffled pairs.

        Parameters
        ----------
        X : array-like, shape (n_trials, ...)
        **predict_params
            Routed to the wrapped estimator's ``predict`` (routing enabled only).

        Returns
        -------
        y_pred : ndarray, shape (n_trials, n_audio)
        """
        check_is_fitted(self)
        return self.estimator_.predict(X, **self._params("predict", predict_params))

    def score(self, X, y, **score_params):
        """The wrapped estimator's score.

        Parameters
        ----------
        X : array-like, shape (n_trials, ...)
        y : array-like, shape (n_trials, n_audio)
        **score_params
            Routed to the wrapped estimator's ``score`` (routing enabled only).

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        return self.estimator_.score(X, y, **self._params("score", score_params))
