"""Identification: which distinct test segment a reconstruction matches best."""

import numpy as np

from ..utils._validation import check_audio
from ._common import (
    _N_MELS,
    _check_features,
    _check_pair,
    _hop,
    _mean,
    _trimmed_log_mel,
    _unique_rows,
    _zscore_time,
)


def similarity_matrix(y_true, y_pred, sfreq, n_mels=_N_MELS, hop_length=None, trim_seconds=None):
    """Band-wise log-mel correlation of every reconstruction with every true trial.

    ``S[i, j]`` is :func:`mel_correlation_per_trial` of the pair
    ``(y_true[j], y_pred[i])``: each band's log-mel time course is z-scored over
    time and the products are averaged over bands and frames. Its diagonal is
    ``mel_correlation_per_trial(y_true, y_pred)``.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
    sfreq : float
        Audio rate (Hz).
    n_mels : int, default=32
    hop_length : int | None, default=None
    trim_seconds : float | None, default=None
        Margin dropped at each trial edge (see :func:`edge_frames`); ``None`` is
        ``max(n_fft / sfreq, 0.1 s)``, 0 keeps every frame.

    Returns
    -------
    S : ndarray, shape (n_trials, n_trials)
        Rows are reconstructions, columns true trials.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import similarity_matrix
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((4, 8000)).astype(np.float32)
    >>> noisy = y + 0.5 * rng.standard_normal(y.shape).astype(np.float32)
    >>> S = similarity_matrix(y, noisy, sfreq=8000)
    >>> S.shape, S.argmax(axis=1)  # each reconstruction is closest to its own trial
    ((4, 4), array([0, 1, 2, 3]))
    """
    y_true, y_pred, sfreq = _check_pair(y_true, y_pred, sfreq)
    hop = _hop(sfreq, hop_length)
    return _similarity(
        _zscore_time(_trimmed_log_mel(y_pred, sfreq, hop, n_mels, trim_seconds)),
        _zscore_time(_trimmed_log_mel(y_true, sfreq, hop, n_mels, trim_seconds)),
    )


def _similarity(zp, zt):
    """Mean over bands and frames of products of z-scored log-mel time courses."""
    n_bands, n_frames = zt.shape[-2:]
    flat_p = zp.reshape(len(zp), -1).astype(np.float64)
    flat_t = zt.reshape(len(zt), -1).astype(np.float64)
    return flat_p @ flat_t.T / (n_bands * n_frames)


def _distinct(keys, name="y_true"):
    first, inverse = _unique_rows(keys)
    if len(first) < 2:
        raise ValueError(
            f"identification needs at least 2 distinct true segments in {name}; got "
            f"{len(first)} (all {len(inverse)} rows are identical)."
        )
    return first, inverse


def _candidate_scores(y_true, y_pred, sfreq, n_mels, hop_length, trim_seconds=None):
    """Similarity of each reconstruction to each *distinct* true segment."""
    y_true, y_pred, sfreq = _check_pair(y_true, y_pred, sfreq)
    first, inverse = _distinct(y_true)
    hop = _hop(sfreq, hop_length)
    zt = _zscore_time(_trimmed_log_mel(y_true, sfreq, hop, n_mels, trim_seconds)[first])
    zp = _zscore_time(_trimmed_log_mel(y_pred, sfreq, hop, n_mels, trim_seconds))
    return _similarity(zp, zt), inverse


def _rank_counts(scores, correct):
    """For each row: candidates scoring strictly above / exactly tied with the correct one."""
    own = scores[np.arange(len(scores)), correct][:, np.newaxis]
    above = np.sum(scores > own, axis=1)
    ties = np.sum(scores == own, axis=1) - 1
    return above, ties


def identification_accuracy_per_trial(
    y_true, y_pred, sfreq, top_k=1, n_mels=_N_MELS, hop_length=None, trim_seconds=None
):
    """Whether each reconstruction identifies its own segment among the distinct ones.

    The candidates are the distinct rows of ``y_true`` (identical rows, e.g. the
    same music heard by several subjects, count once). A reconstruction is
    correct when its own segment is among the ``top_k`` candidates by
    :func:`similarity_matrix`. Ties are broken at random in expectation: a trial
    whose correct candidate ties with ``e`` others gets the probability of being
    ranked in the top ``k``, so a constant prediction scores exactly chance,
    ``top_k / n_distinct`` (:func:`identification_chance`).

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
    sfreq : float
        Audio rate (Hz).
    top_k : int, default=1
    n_mels : int, default=32
    hop_length : int | None, default=None
    trim_seconds : float | None, default=None
        Margin dropped at each trial edge (see :func:`edge_frames`); ``None`` is
        ``max(n_fft / sfreq, 0.1 s)``, 0 keeps every frame.

    Returns
    -------
    hit : ndarray, shape (n_trials,)
        1 for a hit, 0 for a miss, in between for ties.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import identification_accuracy_per_trial
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((4, 8000)).astype(np.float32)
    >>> noisy = y + 0.5 * rng.standard_normal(y.shape).astype(np.float32)
    >>> identification_accuracy_per_trial(y, noisy, sfreq=8000)
    array([1., 1., 1., 1.])
    >>> silence = np.zeros_like(y)  # ties with every candidate: exactly chance
    >>> identification_accuracy_per_trial(y, silence, sfreq=8000)
    array([0.25, 0.25, 0.25, 0.25])
    """
    top_k = int(top_k)
    if top_k < 1:
        raise ValueError(f"top_k must be a positive integer; got {top_k}.")
    scores, correct = _candidate_scores(y_true, y_pred, sfreq, n_mels, hop_length, trim_seconds)
    return _topk_hits(scores, correct, top_k)


def _topk_hits(scores, correct, top_k):
    above, ties = _rank_counts(scores, correct)
    return np.clip((top_k - above) / (ties + 1.0), 0.0, 1.0)


def identification_accuracy(y_true, y_pred, sfreq, **kwargs):
    """Top-k identification accuracy (default top-1), mean over trials.

    See :func:`identification_accuracy_per_trial`; the chance level is
    :func:`identification_chance`.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
        True and reconstructed waveforms.
    sfreq : float
        Audio rate (Hz).
    **kwargs
        Passed to :func:`identification_accuracy_per_trial`.

    Returns
    -------
    accuracy : float

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import identification_accuracy
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((4, 8000)).astype(np.float32)
    >>> noisy = y + 0.5 * rng.standard_normal(y.shape).astype(np.float32)
    >>> identification_accuracy(y, noisy, sfreq=8000)
    1.0
    >>> identification_accuracy(y, noisy[::-1], sfreq=8000)  # mispaired
    0.0
    """
    return _mean(identification_accuracy_per_trial(y_true, y_pred, sfreq, **kwargs))


def rank_accuracy_per_trial(
    y_true, y_pred, sfreq, n_mels=_N_MELS, hop_length=None, trim_seconds=None
):
    """Normalised rank of the correct segment among the distinct ones, per trial.

    ``1 - (rank - 1) / (n_candidates - 1)`` with rank 1 the best match: 1 when
    the correct segment ranks first, 0 when last, 0.5 at chance. Ties take the
    mean rank.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
    sfreq : float
    n_mels : int, default=32
    hop_length : int | None, default=None
    trim_seconds : float | None, default=None
        Margin dropped at each trial edge (see :func:`edge_frames`); ``None`` is
        ``max(n_fft / sfreq, 0.1 s)``, 0 keeps every frame.

    Returns
    -------
    rank_accuracy : ndarray, shape (n_trials,)

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import rank_accuracy_per_trial
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((3, 8000)).astype(np.float32)
    >>> rank_accuracy_per_trial(y, y, sfreq=8000)
    array([1., 1., 1.])
    """
    scores, correct = _candidate_scores(y_true, y_pred, sfreq, n_mels, hop_length, trim_seconds)
    above, ties = _rank_counts(scores, correct)
    mean_rank = 1.0 + above + ties / 2.0
    return 1.0 - (mean_rank - 1.0) / (scores.shape[1] - 1.0)


def rank_accuracy(y_true, y_pred, sfreq, **kwargs):
    """Mean over trials of :func:`rank_accuracy_per_trial` (chance 0.5).

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
        True and reconstructed waveforms.
    sfreq : float
        Audio rate (Hz).
    **kwargs
        Passed to :func:`rank_accuracy_per_trial`.

    Returns
    -------
    rank_accuracy : float

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import rank_accuracy
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((3, 8000)).astype(np.float32)
    >>> rank_accuracy(y, np.zeros_like(y), sfreq=8000)  # silence: chance
    0.5
    """
    return _mean(rank_accuracy_per_trial(y_true, y_pred, sfreq, **kwargs))


def identification_chance(y_true, top_k=1):
    """Chance level of :func:`identification_accuracy` for these true segments.

    Parameters
    ----------
    y_true : ndarray, shape (n_trials, n_audio) or (n_trials, n_mels, n_frames)
        True waveforms, or true features for :func:`feature_identification_accuracy`.
    top_k : int, default=1

    Returns
    -------
    chance : float
        ``min(top_k, n_distinct) / n_distinct``; rank accuracy's chance is 0.5.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import identification_chance
    >>> y = np.random.default_rng(0).standard_normal((4, 800))
    >>> identification_chance(y)
    0.25
    >>> identification_chance(np.concatenate([y, y]), top_k=2)  # repeats count once
    0.5
    """
    y_true = np.asarray(y_true)
    if y_true.ndim == 3:
        y_true = _check_features(y_true, "y_true")
    else:
        y_true = check_audio(y_true, name="y_true")
    first, _ = _unique_rows(y_true)
    return min(int(top_k), len(first)) / len(first)


def song_identification_accuracy(y_true, y_pred, stimulus, sfreq, **kwargs):
    """Which song: the stimulus of the best-matching true segment, scored against the truth.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
        True and reconstructed waveforms.
    stimulus : ndarray of str, shape (n_trials,)
        Stimulus of each true trial.
    sfreq : float
        Audio rate (Hz).
    **kwargs
        Passed to :func:`similarity_matrix` (``n_mels``, ``hop_length``,
        ``trim_seconds``).

    Returns
    -------
    accuracy : float
        Fraction of reconstructions whose most similar true segment
        (:func:`similarity_matrix`) belongs to their own stimulus. Chance is
        ``1 / n_stimuli`` when stimuli contribute equally.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import song_identification_accuracy
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((4, 8000)).astype(np.float32)
    >>> stimulus = np.array(["song-a", "song-a", "song-b", "song-b"])
    >>> song_identification_accuracy(y, y[[1, 0, 3, 2]], stimulus, sfreq=8000)
    1.0
    """
    stimulus = np.asarray(stimulus)
    sim = similarity_matrix(y_true, y_pred, sfreq, **kwargs)
    if stimulus.shape != (len(sim),):
        raise ValueError(
            f"stimulus must have shape (n_trials,) = ({len(sim)},); got {stimulus.shape}."
        )
    return float(np.mean(stimulus[np.argmax(sim, axis=1)] == stimulus))
