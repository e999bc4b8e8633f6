"""Match–mismatch: is a reconstruction closer to its own music than to an imposter?"""

import numpy as np
import scipy.stats

from ..utils._validation import check_sfreq
from ._common import (
    _N_MELS,
    EDGE_FRAMES,
    _check_feature_pair,
    _check_pair,
    _hop,
    _rowwise_pearson,
    _trim_features,
    _trimmed_log_mel,
    _unique_rows,
    _zscore_time,
)
from ._identification import _similarity


def _win(match, imposter):
    """1 when the match scores higher, 0 when lower, 0.5 for a tie."""
    return (match > imposter) + 0.5 * (match == imposter)


def _band_r(a, b):
    return _rowwise_pearson(a, b).mean(axis=-1)


def _segment_imposters(T, P, keys, stimulus, onset, min_offset):
    """Per trial: fraction of same-stimulus segments >= min_offset away that lose to the truth."""
    first, inverse = _unique_rows(keys)
    n = len(T)
    sim = _similarity(_zscore_time(P.astype(np.float64)), _zscore_time(T[first].astype(np.float64)))
    own = sim[np.arange(n), inverse][:, np.newaxis]
    valid = (stimulus[:, np.newaxis] == stimulus[first][np.newaxis]) & (
        np.abs(onset[:, np.newaxis] - onset[first][np.newaxis]) >= min_offset - 1e-9
    )
    valid[np.arange(n), inverse] = False
    n_valid = valid.sum(axis=1)
    wins = np.sum(_win(own, sim) * valid, axis=1)
    return np.where(n_valid > 0, wins / np.maximum(n_valid, 1), np.nan)


def _shift_imposters(T, P, shift):
    """Per trial: the truth vs the same trial's audio ``shift`` frames later and earlier."""
    n_win = T.shape[-1] - shift
    if shift < 1 or n_win < 2:
        raise ValueError(
            f"shifted-window imposters need trials longer than the offset: {T.shape[-1]} kept "
            f"frames, offset {shift} frames. Use longer trials, a smaller "
            "min_offset_seconds, or imposters from other segments (stimulus= and segment=)."
        )
    later = _win(_band_r(P[..., :n_win], T[..., :n_win]), _band_r(P[..., :n_win], T[..., shift:]))
    earlier = _win(_band_r(P[..., shift:], T[..., shift:]), _band_r(P[..., shift:], T[..., :n_win]))
    return 0.5 * (later + earlier)


def match_mismatch_accuracy_per_trial(
    y_true,
    y_pred,
    sfreq,
    *,
    stimulus=None,
    segment=None,
    onset=None,
    min_offset_seconds=1.0,
    imposters="segments",
    n_mels=_N_MELS,
    hop_length=None,
    trim_seconds=None,
    trim_frames=EDGE_FRAMES,
):
    """Match–mismatch (Auditory EEG Challenge) outcome of each trial; chance 0.5.

    Is the reconstruction closer to its own true audio than to an imposter from
    the same stimulus at least ``min_offset_seconds`` earlier or later?
    Closeness is the band-wise log-mel correlation of :func:`mel_correlation`
    (the log-mel carries the envelope and the spectral content; the envelope
    alone ties more often on music). Edge frames are dropped first.

    Imposters (``imposters=``):

    - ``"segments"`` (default): the other *distinct* test segments of the same
      stimulus whose onset differs by at least ``min_offset_seconds``. With
      whole segments as test trials (segment length >= 1 s) every other
      segment index of the stimulus qualifies. The onset is ``onset`` or
      ``segment * trial duration`` (contiguous, non-overlapping segments, as
      the package's datasets cut them). A trial scores the fraction of its
      imposters that it beats (the expectation over a random imposter);
      trials without one are NaN and left out of the mean. Every pair of test
      segments is compared both ways, so a prediction that is the same for
      every trial (a beat-locked template, a mean spectrum) scores 0.5:
      exactly when a stimulus's test segments are equally represented and all
      ``min_offset_seconds`` apart.
    - ``"shift"``: a window of the trial's own audio ``min_offset_seconds``
      later and one as much earlier; the prediction and the match use the
      same window. For trials with no other segment, but a beat-locked
      template beats it: on simulated chorales cut into 3-s segments (5 beats)
      the mean log-mel of other segments scores 0.93-1.0 here and exactly
      0.5 with segments. Read it only beside such a baseline.

    Chance level: 0.5 (a constant prediction ties everywhere: exactly 0.5).

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio) or (n_trials, n_mels, n_frames)
        True and reconstructed waveforms, or true and decoded features
        (:func:`feature_target`, ``predict_features``).
    sfreq : float
        Audio rate (Hz) for waveforms; the frame rate (the EEG rate) for features.
    stimulus : array-like, shape (n_trials,) | None, default=None
        Stimulus of each trial.
    segment : array-like of int, shape (n_trials,) | None, default=None
        Index of each trial's segment inside its stimulus.
    onset : array-like of float, shape (n_trials,) | None, default=None
        Onset (s) of each trial inside its stimulus; overrides ``segment``.
    min_offset_seconds : float, default=1.0
        Least distance between the true and the imposter onsets.
    imposters : {"segments", "shift"}, default="segments"
    n_mels : int, default=32
        Mel bands (waveforms only).
    hop_length : int | None, default=None
        Hop in samples (waveforms only); ``None`` gives 8 ms.
    trim_seconds : float | None, default=None
        Edge margin for waveforms (see :func:`edge_frames`).
    trim_frames : int, default=2
        Frames dropped at each edge for features.

    Returns
    -------
    hit : ndarray, shape (n_trials,)
        In [0, 1]; NaN for trials without an imposter (``"segments"``).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import match_mismatch_accuracy_per_trial
    >>> rng = np.random.default_rng(0)
    >>> F = rng.standard_normal((5, 32, 128))  # features: 2 s at 64 Hz
    >>> stimulus, segment = ["a", "a", "a", "b", "b"], [0, 1, 2, 0, 1]
    >>> match_mismatch_accuracy_per_trial(F, F, sfreq=64.0, stimulus=stimulus, segment=segment)
    array([1., 1., 1., 1., 1.])
    >>> template = np.broadcast_to(F.mean(axis=0), F.shape)  # the same for every trial
    >>> float(match_mismatch_accuracy_per_trial(F, template, sfreq=64.0, stimulus=stimulus,
    ...                                         segment=segment).mean())
    0.5
    """
    if imposters not in ("segments", "shift"):
        raise ValueError(f"imposters must be 'segments' or 'shift'; got {imposters!r}.")
    min_offset = float(min_offset_seconds)
    if not np.isfinite(min_offset) or min_offset <= 0:
        raise ValueError(f"min_offset_seconds must be positive; got {min_offset_seconds!r}.")
    if np.ndim(y_true) == 3:
        sfreq = check_sfreq(sfreq)
        keys, P = _check_feature_pair(y_true, y_pred)
        T, P = _trim_features(keys, trim_frames), _trim_features(P, trim_frames)
        frame_rate, duration = sfreq, keys.shape[-1] / sfreq
    else:
        keys, y_pred, sfreq = _check_pair(y_true, y_pred, sfreq)
        hop = _hop(sfreq, hop_length)
        T = _trimmed_log_mel(keys, sfreq, hop, n_mels, trim_seconds)
        P = _trimmed_log_mel(y_pred, sfreq, hop, n_mels, trim_seconds)
        frame_rate, duration = sfreq / hop, keys.shape[-1] / sfreq
    n = len(T)

    def per_trial(values, name, dtype):
        values = np.asarray(values, dtype=dtype)
        if values.shape != (n,):
            raise ValueError(f"{name} must have shape (n_trials,) = ({n},); got {values.shape}.")
        return values

    if imposters == "shift":
        return _shift_imposters(T, P, int(np.ceil(min_offset * frame_rate - 1e-9)))
    if stimulus is None or (segment is None and onset is None):
        raise ValueError(
            "match-mismatch imposters come from other segments of the same stimulus: pass "
            "stimulus= and segment= (or onset=), or imposters='shift'."
        )
    onset = (
        per_trial(onset, "onset", float)
        if onset is not None
        else per_trial(segment, "segment", float) * duration
    )
    stimulus = per_trial(stimulus, "stimulus", object).astype(str)
    hit = _segment_imposters(T, P, keys, stimulus, onset, min_offset)
    if np.isnan(hit).all():
        raise ValueError(
            "no trial has an imposter: no two distinct test segments of one stimulus start "
            f"at least min_offset_seconds={min_offset:g} s apart."
        )
    return hit


def match_mismatch_accuracy(y_true, y_pred, sfreq, *, return_p_value=False, **kwargs):
    """Match–mismatch accuracy (Auditory EEG Challenge), mean over trials; chance 0.5.

    See :func:`match_mismatch_accuracy_per_trial` for the imposters. The
    p-value is a one-sided sign test against 0.5 over the trials: under the
    null a trial is as likely to beat its imposters as to lose to them
    (binomial, ``n`` = trials not exactly at 0.5; with one imposter per trial
    it is the Challenge's binomial test). Trials sharing a subject or a segment
    are not independent: read it as optimistic.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio) or (n_trials, n_mels, n_frames)
        Waveforms, or features at the EEG frame rate.
    sfreq : float
        Audio rate, or the frame rate for features (Hz).
    return_p_value : bool, default=False
        Also return the p-value.
    **kwargs
        Passed to :func:`match_mismatch_accuracy_per_trial` (``stimulus``,
        ``segment``, ``onset``, ``min_offset_seconds``, ``imposters``...);
        ``stimulus`` and ``segment`` are needed by the default imposters.

    Returns
    -------
    accuracy : float
        Mean over the trials that have an imposter.
    p : float
        Only with ``return_p_value=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import match_mismatch_accuracy
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((6, 8000)).astype(np.float32)  # 3 songs x 2 segments of 1 s
    >>> noisy = y + 0.5 * rng.standard_normal(y.shape).astype(np.float32)
    >>> acc, p = match_mismatch_accuracy(
    ...     y, noisy, sfreq=8000, stimulus=["a", "a", "b", "b", "c", "c"],
    ...     segment=[0, 1, 0, 1, 0, 1], return_p_value=True,
    ... )
    >>> acc, round(p, 4)  # 6 of 6 trials win: p = 0.5 ** 6
    (1.0, 0.0156)
    """
    hit = match_mismatch_accuracy_per_trial(y_true, y_pred, sfreq, **kwargs)
    hit = hit[~np.isnan(hit)]
    accuracy = float(np.mean(hit))
    if not return_p_value:
        return accuracy
    n_win, n_informative = int(np.sum(hit > 0.5)), int(np.sum(hit != 0.5))
    p = (
        float(scipy.stats.binomtest(n_win, n_informative, 0.5, alternative="greater").pvalue)
        if n_informative
        else 1.0
    )
    return accuracy, p
