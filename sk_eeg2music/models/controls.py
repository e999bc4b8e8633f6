"""Null controls: the same pipeline trained on EEG paired with the wrong music.

A decoder's score means something only next to the score of the same pipeline,
under the same split, trained on EEG whose pairing with the music was broken:

* :class:`ShuffledPairs` pairs each trial's EEG with *other* music (another
  segment or stimulus). It is a null for "which music", not for "when": music
  cut at fixed lengths starts on the beat, so the wrong segment still shares
  the beat grid with the EEG.
* :class:`TimeShiftedPairs` pairs each trial's EEG with the *same* stimulus at a
  wrong time (at least ``min_shift_seconds`` away, and off the beat grid when
  the beat period is known). It keeps the music, its statistics and its rhythm,
  and breaks only the EEG-music timing: the null for "when".
"""

import numbers
import warnings

import numpy as np
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array, check_is_fitted

from ..utils._validation import check_audio, check_eeg, check_sfreq, check_y_for_eeg
from ._features import predict_features as _pipeline_features

# ----------------------------------------------------------------------------- pairing


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


def _first_seen_labels(labels):
    """Relabel integers 0, 1, ... in the order of their first occurrence."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=int)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[inverse.ravel()]


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
        Connected components of "identical audio or identical segment label",
        numbered in the order of their first trial.

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
    rows = np.ascontiguousarray(y).reshape(len(y), -1)
    # Rows as opaque bytes: bit-exact equality (-0.0 differs from 0.0, a NaN equals itself).
    by_audio = _first_seen_labels(rows.view(np.dtype((np.void, rows.itemsize * rows.shape[1]))))
    if segment is None:
        return by_audio
    by_segment = np.unique(np.asarray(segment), return_inverse=True)[1].ravel()
    # A bipartite graph (audio classes | segment labels), one edge per trial: its
    # connected components merge the two labelings.
    n_a, n_nodes = by_audio.max() + 1, by_audio.max() + 1 + by_segment.max() + 1
    graph = coo_array(
        (np.ones(len(by_audio)), (by_audio, by_segment + n_a)), shape=(n_nodes, n_nodes)
    )
    _, component = connected_components(graph, directed=False)
    return _first_seen_labels(component[by_audio])


# ----------------------------------------------------------------------------- time shifts


def stimulus_timelines(y, keys, segment, n_times):
    """Lay every segment at its place in its stimulus: one audio timeline per key.

    Parameters
    ----------
    y : ndarray, shape (n_trials, n_audio)
        Waveforms; ``n_audio = n_times * factor``.
    keys : ndarray of int, shape (n_trials,)
        Stimulus (and condition) code of each trial, ``0 .. n_keys - 1``.
    segment : ndarray of int, shape (n_trials,)
        Index of each trial's segment in its stimulus: segment ``k`` starts
        ``k * n_times`` EEG samples after the stimulus onset.
    n_times : int
        EEG samples per trial.

    Returns
    -------
    audio : list of ndarray, shape (n_segments_k * n_audio,)
        One timeline per key, covering segments ``0 .. max segment``; a segment
        that no trial carries is silent.
    known : list of ndarray of bool, shape (n_segments_k * n_times,)
        Which EEG samples of each timeline some trial carries.
    """
    audio, known = [], []
    for key in range(keys.max() + 1):
        trials = np.flatnonzero(keys == key)
        n_seg = int(segment[trials].max()) + 1
        wav = np.zeros((n_seg, y.shape[1]), dtype=y.dtype)
        mask = np.zeros((n_seg, n_times), dtype=bool)
        # Trials of the same segment (other subjects) carry the same music: keep one.
        segs, first = np.unique(segment[trials], return_index=True)
        wav[segs] = y[trials[first]]
        mask[segs] = True
        audio.append(wav.ravel())
        known.append(mask.ravel())
    return audio, known


#: Offsets closer than this (EEG samples) to a whole number of beats are beat
#: multiples. Kept this small on purpose: excluding a wider band around the beat
#: grid leaves a distribution of beat phases without phase 0, and a model
#: trained on it learns the beat in anti-phase (see TimeShiftedPairs' Notes).
BEAT_TOLERANCE = 0.5


def _offset_ok(offset, min_shift, beat):
    """Offsets (EEG samples) far enough from 0 and, with a beat, off the beat grid."""
    ok = np.abs(offset) >= min_shift
    if beat is not None:
        ok &= np.abs(offset - beat * np.round(offset / beat)) >= BEAT_TOLERANCE
    return ok


def _pick(valid, offset, targets, beat, rng):
    """One window per target: its stratum of the loop, or its beat phase."""
    if beat is None:  # the target is a position along the loop's valid windows
        return valid[np.minimum((targets * len(valid)).astype(int), len(valid) - 1)]
    phase = np.mod(offset / beat, 1.0)
    out = np.empty(len(targets), dtype=int)
    for i, target in enumerate(targets):
        dist = np.abs(np.mod(phase - target + 0.5, 1.0) - 0.5)
        # Windows within half a sample of the nearest phase (other beats): one at random.
        out[i] = rng.choice(valid[dist <= dist.min() + 0.5 / beat])
    return out


def draw_time_shifts(known, keys, segment, n_times, min_shift, beat=None, random_state=None):
    """A wrong start for every trial, inside its own stimulus timeline.

    Each timeline is read as a loop of its length ``L``: a trial starting at
    ``s = segment * n_times`` gets the window of ``n_times`` samples starting at
    ``p`` (wrapping to the start after the end) among the windows that (1) lie
    on samples some trial carries and (2) shift every sample by at least
    ``min_shift`` — the offset is ``p - s``, or ``p - s - L`` for the part after
    the wrap — and, when ``beat`` is given, (3) are not a whole number of beats
    (within :data:`BEAT_TOLERANCE` samples).

    The draw is stratified so that the training set as a whole carries no
    timing: every trial gets one of ``n_trials`` equal strata of ``[0, 1)`` at
    random; with a beat, the window takes the beat phase of its stratum
    (offset modulo the beat period), so the beat phases of the shifted music
    are spread evenly over the beat; without one, the window takes its
    stratum's place among the valid windows, spreading the offsets evenly over
    the loop. (30 uniform draws leave a net beat phase, the length of the mean
    phase vector, of 0.16 on average; the stratified draw about 0.04.)

    Parameters
    ----------
    known : list of ndarray of bool, shape (L_k,)
        From :func:`stimulus_timelines`.
    keys : ndarray of int, shape (n_trials,)
    segment : ndarray of int, shape (n_trials,)
    n_times : int
    min_shift : float
        Smallest offset, in EEG samples.
    beat : float | None, default=None
        Beat period in EEG samples.
    random_state : int | numpy.random.RandomState | None, default=None

    Returns
    -------
    start : ndarray of int, shape (n_trials,)
        Start ``p`` of each trial's new window in its timeline; -1 where no
        window satisfies the conditions.
    """
    rng = check_random_state(random_state)
    n = len(keys)
    strata = (rng.permutation(n) + rng.random(n)) / n  # one stratum of [0, 1) per trial
    start = np.full(n, -1)
    for key, mask in enumerate(known):
        length = len(mask)
        # Windows fully on known samples, via a cumulative count over the loop.
        counts = np.concatenate([[0], np.cumsum(np.concatenate([mask, mask[: n_times - 1]]))])
        p = np.flatnonzero(counts[n_times : n_times + length] - counts[:length] == n_times)
        wraps = p + n_times > length
        of_key = keys == key
        for seg in np.unique(segment[of_key]):  # subjects hearing one segment share the windows
            trials = np.flatnonzero(of_key & (segment == seg))
            offset = p - seg * n_times
            ok = _offset_ok(offset, min_shift, beat) & (
                ~wraps | _offset_ok(offset - length, min_shift, beat)
            )
            if ok.any():
                start[trials] = _pick(p[ok], offset[ok], strata[trials], beat, rng)
    return start


def _read_loop(audio, start, n_audio):
    """``n_audio`` samples of a looped timeline from ``start`` on."""
    return audio[(start + np.arange(n_audio)) % len(audio)]


# ----------------------------------------------------------------------------- estimators


def _final_step(estimator):
    return estimator[-1] if isinstance(estimator, Pipeline) else estimator


def _base_has_features(control):
    return hasattr(_final_step(control._base()), "predict_features")


class _PairingControl(MetaEstimatorMixin, BaseEstimator):
    """Shared shell: default estimator, tags, routing and delegation to ``estimator_``."""

    def _base(self):
        if self.estimator is None:
            from .linear import LinearDecoder

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

    def _expected_failed_checks(self):
        # Hook of tests/test_common.py: the checks the wrapped estimator fails.
        hook = getattr(self._base(), "_expected_failed_checks", None)
        return hook() if hook is not None else {}

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

    def _check_y(self, y):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None; "
                "pass the waveforms of shape (n_trials, n_audio)."
            )

    def _fit_params(self, fit_params):
        if _routing_enabled():
            return process_routing(self, "fit", **fit_params).estimator.fit
        return fit_params

    def _fit_inner(self, X, y, inner_params):
        self.estimator_ = clone(self._base()).fit(X, y, **inner_params)
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        return self

    def _params(self, method, params):
        if _routing_enabled():
            return getattr(process_routing(self, method, **params).estimator, method)
        _raise_for_params(params, self, method)
        return params

    def predict(self, X, **predict_params):
        """Predict with the estimator fitted on the broken pairs.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
        **predict_params
            Routed to the wrapped estimator's ``predict`` (routing enabled only).

        Returns
        -------
        y_pred : ndarray, shape (n_trials, n_audio)
        """
        check_is_fitted(self)
        return self.estimator_.predict(X, **self._params("predict", predict_params))

    @available_if(_base_has_features)
    def predict_features(self, X, **predict_params):
        """Decoded features of the estimator fitted on the broken pairs.

        Available when the wrapped estimator (or a pipeline's final step) has
        ``predict_features``; a pipeline's transformers run first.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
        **predict_params
            Metadata (e.g. ``groups``) for the steps that request it.

        Returns
        -------
        features : ndarray, shape (n_trials, n_mels, n_frames)
        """
        check_is_fitted(self)
        return _pipeline_features(self.estimator_, X, **predict_params)

    def score(self, X, y, **score_params):
        """The wrapped estimator's score.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
        y : array-like, shape (n_trials, n_audio)
        **score_params
            Routed to the wrapped estimator's ``score`` (routing enabled only).

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        return self.estimator_.score(X, y, **self._params("score", score_params))


class ShuffledPairs(_PairingControl):
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
    EEG-music correspondence. ``predict``, ``predict_features`` and ``score`` are
    the wrapped estimator's.

    The wrong segment of beat-regular music still starts on the beat, so this is
    a null for "which music", not for "when": pair it with
    :class:`TimeShiftedPairs`.

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

    def _expected_failed_checks(self):
        checks = dict(super()._expected_failed_checks())
        # One trial cannot be re-paired: refused ("n_samples = 1") before X's shape matters.
        checks.pop("check_fit2d_1sample", None)
        return checks

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
        self._check_y(y)
        X = check_array(X, allow_nd=True, ensure_2d=False, dtype=None, ensure_all_finite=False)
        y = check_array(y, ensure_2d=False, dtype=None, ensure_all_finite=False)
        if len(y) != len(X):
            raise ValueError(f"X and y have different numbers of trials: {len(X)} != {len(y)}.")
        segment = _check_labels(segment, len(y), "segment")
        inner_params = self._fit_params(fit_params)
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
        return self._fit_inner(X, y[self.permutation_], inner_params)


def _check_labels(values, n, name):
    if values is None:
        return None
    values = np.asarray(values)
    if values.shape != (n,):
        raise ValueError(f"{name} must have shape (n_trials,) = ({n},); got {values.shape}.")
    return values


def _eeg_rate(estimator):
    """The ``sfreq`` the EEG enters ``estimator`` at: its own, or a pipeline's first one."""
    steps = [s for _, s in estimator.steps] if isinstance(estimator, Pipeline) else [estimator]
    for step in steps:
        if hasattr(step, "get_params") and "sfreq" in step.get_params(deep=False):
            return step.get_params(deep=False)["sfreq"]
    return None


class TimeShiftedPairs(_PairingControl):
    """Null control: fit the wrapped estimator on EEG paired with its music at a wrong time.

    Each training trial's waveform is replaced by the audio of the **same
    stimulus** (and condition) starting at another time: at least
    ``min_shift_seconds`` earlier or later and, when ``beat_period`` is given,
    never by a whole number of beats, with the beat phases of the shifts spread
    evenly over the beat across the training set. The music, its
    spectrum, its notes and its rhythm are the trial's own stimulus, and the
    EEG, the subjects and the split are unchanged: only the timing between EEG
    and music is broken. The score of this control under the same split is what
    the pipeline reaches from everything but the EEG-music timing (e.g. which
    stimulus, or a beat that every segment shares). ``predict``,
    ``predict_features`` and ``score`` are the wrapped estimator's.

    How the wrong time is taken: the trials' segments are laid at their place
    in their stimulus (segment ``k`` starts at ``k * n_times``), giving one
    audio timeline per stimulus and condition, read as a loop; each trial gets
    the window of its length starting at a random (stratified) position of
    that loop (:func:`draw_time_shifts`) that covers only audio some training trial
    carries, so the test music is never used. A window may cross the end of the
    loop, which splices the end of the stimulus to its start once. Taking
    another whole segment instead would shift by multiples of the segment
    length, which often are whole numbers of beats (3-s segments at 100 BPM
    are 5 beats) and keep the beat grid aligned with the EEG; a free offset
    does not.

    Parameters
    ----------
    estimator : estimator | None, default=None
        The pipeline to control; ``None`` is
        :class:`~sk_eeg2music.models.LinearDecoder` with default parameters.
    min_shift_seconds : float, default=1.0
        Smallest shift (s) of the music relative to the EEG, for every sample
        (the auditory response lasts well under 1 s).
    beat_period : float | None, default=None
        Beat period (s) of the music, e.g. ``0.6`` at 100 BPM: no shift is a
        whole number of beats (to half an EEG sample) and the shifts' beat
        phases are spread evenly over the beat. ``None`` spreads the offsets
        evenly over each stimulus instead.
    random_state : int | numpy.random.RandomState | None, default=None
        Seeds the shifts.
    sfreq : float | None, default=None
        EEG rate (Hz) of ``X`` as it enters this control; ``None`` reads the
        ``sfreq`` parameter of the estimator (of a pipeline's first step that
        has one).

    Attributes
    ----------
    estimator_ : estimator
        The wrapped estimator fitted on the shifted pairs.
    shifts_ : ndarray, shape (n_trials,)
        Shift (s) of each trial's new music: the first EEG sample of trial ``i``
        was paired with the audio at its own onset + ``shifts_[i]`` in its
        stimulus (modulo the loop length).
    sfreq_ : float
        EEG rate used.
    n_features_in_ : int

    Notes
    -----
    Metadata: ``stimulus`` and ``segment`` (``EEGMusicData.stimulus`` and
    ``.segment``, the segment *index*) and optionally ``condition`` are used by
    this class; under metadata routing they are requested by default. Without
    them, each distinct waveform is taken as a stimulus of one segment and
    shifted in a loop over itself (right for whole-stimulus trials; for
    segmented trials pass the labels). Other fit parameters (e.g. ``groups``)
    go to the wrapped estimator, as in :class:`ShuffledPairs`.

    Why the shifts are not pushed far from the beat grid: a training set whose
    music is always, say, half a beat off teaches the decoder the beat in
    anti-phase, and the null then scores *below* zero on beat-regular music.
    Measured (feature r of the mel decoder, 6-subject simulated MOS, 3-s
    segments at 100 BPM, 10 dB, leave-one-subject-out over 6 folds): true pairs
    0.386, :class:`ShuffledPairs` 0.337 (the beat grid kept), shifts at least a
    tenth of a beat off the grid -0.195, a quarter -0.174. One draw of the null
    still varies with ``random_state`` (-0.023 and 0.103 for seeds 0 and 1 with
    ``beat_period=0.6``): score it over several seeds.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music import LinearDecoder, TimeShiftedPairs
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((8, 4, 128)).astype(np.float32)  # 2-s trials at 64 Hz
    >>> y = rng.standard_normal((2, 4 * 128 * 32)).astype(np.float32)  # 2 stimuli, 8 s
    >>> y = y.reshape(8, 128 * 32)  # cut into 4 segments each (audio at 2048 Hz)
    >>> stimulus, segment = np.repeat(["a", "b"], 4), np.tile(np.arange(4), 2)
    >>> decoder = LinearDecoder(target="envelope", sfreq=64.0, alphas=[1.0])
    >>> null = TimeShiftedPairs(decoder, beat_period=0.6, random_state=0)
    >>> null = null.fit(X, y, stimulus=stimulus, segment=segment)
    >>> bool(np.all(np.abs(null.shifts_) >= 1.0)), null.predict(X).shape
    (True, (8, 4096))
    """

    __metadata_request__fit = {"stimulus": True, "segment": True, "condition": True}

    def __init__(
        self, estimator=None, min_shift_seconds=1.0, beat_period=None, random_state=None, sfreq=None
    ):
        self.estimator = estimator
        self.min_shift_seconds = min_shift_seconds
        self.beat_period = beat_period
        self.random_state = random_state
        self.sfreq = sfreq

    @classmethod
    def _test_instances(cls):
        # Hook of tests/test_common.py: its 1-s trials fit shifts of >= 0.25 s.
        from .linear import LinearDecoder

        return [cls(LinearDecoder(alphas=[1.0]), min_shift_seconds=0.25, random_state=0)]

    def _check_params(self):
        sfreq = self.sfreq if self.sfreq is not None else _eeg_rate(self._base())
        if sfreq is None:
            raise ValueError(
                f"TimeShiftedPairs needs the EEG rate to shift by seconds, and "
                f"{type(self._base()).__name__} has no sfreq parameter: pass sfreq=."
            )
        sfreq = check_sfreq(sfreq)
        shift = self.min_shift_seconds
        if not isinstance(shift, numbers.Real) or not np.isfinite(shift) or shift <= 0:
            raise ValueError(f"min_shift_seconds must be a number > 0; got {shift!r}.")
        beat = self.beat_period
        if beat is not None and (not isinstance(beat, numbers.Real) or not beat > 0):
            raise ValueError(f"beat_period must be None or a number of seconds > 0; got {beat!r}.")
        return sfreq

    def fit(self, X, y, stimulus=None, segment=None, condition=None, **fit_params):
        """Fit the wrapped estimator on EEG paired with its stimulus at a wrong time.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
        y : array-like, shape (n_trials, n_audio)
            Waveforms, ``n_audio = n_times * factor``.
        stimulus : array-like, shape (n_trials,) | None, default=None
            Stimulus of each trial (needs ``segment``).
        segment : array-like of int, shape (n_trials,) | None, default=None
            Index of each trial's segment inside its stimulus (needs ``stimulus``).
        condition : array-like, shape (n_trials,) | None, default=None
            Condition of each trial (e.g. listening, imagery); shifts stay within
            a stimulus *and* condition.
        **fit_params
            Passed to the wrapped estimator's ``fit`` (e.g. ``groups``).

        Returns
        -------
        self : TimeShiftedPairs
        """
        self._check_y(y)
        sfreq = self._check_params()
        X = check_eeg(X)
        y = check_audio(y)
        factor = check_y_for_eeg(X, y)
        n_trials, n_times = len(X), X.shape[-1]
        keys, segment = self._timeline_labels(y, stimulus, segment, condition, n_trials)
        inner_params = self._fit_params(fit_params)

        audio, known = stimulus_timelines(y, keys, segment, n_times)
        beat = None if self.beat_period is None else self.beat_period * sfreq
        start = draw_time_shifts(
            known, keys, segment, n_times, self.min_shift_seconds * sfreq, beat, self.random_state
        )
        if np.any(start < 0):
            raise ValueError(
                f"TimeShiftedPairs: {int(np.sum(start < 0))} of {n_trials} trials have no other "
                f"time in their stimulus at least min_shift_seconds={self.min_shift_seconds} s "
                "away (and off the beat grid, with beat_period) among the training audio. "
                "Pass stimulus= and segment= so that the segments of a stimulus form one "
                "timeline, use longer trials, or lower min_shift_seconds."
            )
        y_shifted = np.stack(
            [_read_loop(audio[k], s * factor, y.shape[1]) for k, s in zip(keys, start)]
        )
        self.shifts_ = (start - segment * n_times) / sfreq
        self.sfreq_ = sfreq
        return self._fit_inner(X, y_shifted, inner_params)

    @staticmethod
    def _timeline_labels(y, stimulus, segment, condition, n):
        """Integer timeline key (stimulus x condition) and segment index of each trial."""
        stimulus = _check_labels(stimulus, n, "stimulus")
        segment = _check_labels(segment, n, "segment")
        condition = _check_labels(condition, n, "condition")
        if (stimulus is None) != (segment is None):
            missing = "segment" if segment is None else "stimulus"
            raise ValueError(
                f"TimeShiftedPairs needs both stimulus= and segment= to place each trial in "
                f"its stimulus; {missing} is missing (with metadata routing, pass it in "
                f"params=, e.g. params={{'{missing}': data.{missing}}})."
            )
        if stimulus is None:  # each distinct waveform: one stimulus of one segment
            return music_classes(y), np.zeros(n, dtype=int)
        if segment.dtype.kind not in "iu" or np.any(segment < 0):
            raise ValueError(
                "segment must hold each trial's segment index in its stimulus (integers >= 0, "
                f"EEGMusicData.segment); got {segment.dtype} values such as {segment[:3]!r}."
            )
        labels = [stimulus] if condition is None else [stimulus, condition]
        table = np.stack([np.asarray(v).astype(str) for v in labels], axis=1)
        keys = np.unique(table, axis=0, return_inverse=True)[1].ravel()
        return keys, segment.astype(int)
