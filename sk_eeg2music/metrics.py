"""Reconstruction metrics on waveforms of shape ``(n_trials, n_audio)``.

Each metric ``f(y_true, y_pred, sfreq=...)`` returns the mean over trials; the
``*_per_trial`` variants return one value per trial.
"""

import numpy as np

from .audio import log_mel_spectrogram
from .utils._validation import check_audio, check_sfreq

#: Default analysis hop (s) for spectrogram metrics: 8 ms.
_HOP_SECONDS = 0.008


def _check_pair(y_true, y_pred, sfreq):
    sfreq = check_sfreq(sfreq)
    y_true = check_audio(y_true, name="y_true")
    y_pred = check_audio(y_pred, name="y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape (n_trials, n_audio); got "
            f"{y_true.shape} and {y_pred.shape}."
        )
    return y_true, y_pred, sfreq


def _rowwise_pearson(a, b, axis=-1):
    a = a - a.mean(axis=axis, keepdims=True)
    b = b - b.mean(axis=axis, keepdims=True)
    num = (a * b).sum(axis=axis)
    den = np.sqrt((a * a).sum(axis=axis) * (b * b).sum(axis=axis))
    # A constant row has no defined correlation; score it 0 (no information).
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def mel_correlation_per_trial(y_true, y_pred, sfreq, n_mels=32, hop_length=None):
    """Band-wise log-mel Pearson r, one value per trial.

    For each trial, the Pearson correlation over time between the true and the
    reconstructed log-mel time course of each band, averaged over bands. A
    prediction with the right average spectrum but no time structure scores ~0.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
        True and reconstructed waveforms.
    sfreq : float
        Audio rate (Hz).
    n_mels : int
        Number of mel bands.
    hop_length : int | None
        Hop in samples (default: 8 ms).

    Returns
    -------
    r : ndarray, shape (n_trials,)
    """
    y_true, y_pred, sfreq = _check_pair(y_true, y_pred, sfreq)
    hop = max(1, int(round(_HOP_SECONDS * sfreq))) if hop_length is None else int(hop_length)
    mt = log_mel_spectrogram(y_true, sfreq, hop, n_mels=n_mels)
    mp = log_mel_spectrogram(y_pred, sfreq, hop, n_mels=n_mels)
    return _rowwise_pearson(mt, mp).mean(axis=-1)


def mel_correlation(y_true, y_pred, sfreq, **kwargs):
    """Mean over trials of :func:`mel_correlation_per_trial`.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
    sfreq : float
        Audio rate (Hz).
    **kwargs
        Passed to :func:`mel_correlation_per_trial`.

    Returns
    -------
    r : float
    """
    return float(np.mean(mel_correlation_per_trial(y_true, y_pred, sfreq, **kwargs)))
