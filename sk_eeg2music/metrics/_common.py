"""Shared machinery of the metrics: input checks, the log-mel analysis and its memo, trial edges."""

import contextlib
import contextvars

import numpy as np

from ..audio import log_mel_spectrogram, mel_params
from ..utils._validation import check_audio, check_sfreq

#: Default analysis hop (s) for spectrogram metrics: 8 ms.
_HOP_SECONDS = 0.008
_N_MELS = 32
#: Least margin (s) dropped at each trial edge by the waveform spectral metrics.
EDGE_SECONDS = 0.1
#: Frames dropped at each trial edge by the feature-level metrics.
EDGE_FRAMES = 2


def _check_wave(y, name):
    memo = _MEMO.get()
    return check_audio(y, name=name) if memo is None else memo.canonical(y, name)


def _check_pair(y_true, y_pred, sfreq):
    sfreq = check_sfreq(sfreq)
    y_true = _check_wave(y_true, "y_true")
    y_pred = _check_wave(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape (n_trials, n_audio); got "
            f"{y_true.shape} and {y_pred.shape}."
        )
    return y_true, y_pred, sfreq


def _hop(sfreq, hop_length):
    if hop_length is None:
        return max(1, int(round(_HOP_SECONDS * sfreq)))
    if int(hop_length) < 1:
        raise ValueError(f"hop_length must be a positive integer; got {hop_length!r}.")
    return int(hop_length)


def _rowwise_pearson(a, b, axis=-1):
    # Centre in the input precision, accumulate the sums in float64.
    a = a - a.mean(axis=axis, keepdims=True, dtype=np.float64).astype(a.dtype)
    b = b - b.mean(axis=axis, keepdims=True, dtype=np.float64).astype(b.dtype)
    num = (a * b).sum(axis=axis, dtype=np.float64)
    den = np.sqrt(
        (a * a).sum(axis=axis, dtype=np.float64) * (b * b).sum(axis=axis, dtype=np.float64)
    )
    # A constant row has no defined correlation; score it 0 (no information).
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


# make_scorers calls every metric on the same (y_true, y_pred) pair in a row; the
# scorers it returns share a memo (reached through this context variable) so the
# log-mel spectrograms, whose STFT dominates the cost, are computed once per
# scoring round. shared_spectrograms() opens such a memo for direct calls.
# Outside both, the metrics never see a memo: they are pure.
_MEMO = contextvars.ContextVar("sk_eeg2music_metrics_memo", default=None)


#: Trials per STFT batch: bounds the complex spectrogram held at once (~70 MB for
#: 4 s at 16 kHz), where 1,000 trials at once would take 1 GB.
_CHUNK = 64


def _chunked_log_mel(y, sfreq, hop, n_mels):
    if len(y) <= _CHUNK:
        return log_mel_spectrogram(y, sfreq, hop, n_mels=n_mels)
    return np.concatenate(
        [
            log_mel_spectrogram(y[i : i + _CHUNK], sfreq, hop, n_mels=n_mels)
            for i in range(0, len(y), _CHUNK)
        ]
    )


def _log_mel(y, sfreq, hop, n_mels):
    memo = _MEMO.get()
    if memo is None:
        return _chunked_log_mel(y, sfreq, hop, n_mels)
    return memo.log_mel(y, sfreq, hop, n_mels)


class _Memo:
    """Per-scoring-round results keyed by array *identity*.

    Entries hold a reference to their array, so an id cannot be reused by a new
    array while its entry lives; only the last four inputs are kept (a round's
    ``y_true`` and ``y_pred``, or two such pairs), so older results are dropped.
    """

    _KEEP = 4

    def __init__(self):
        self.arrays = []  # [(original, validated float32)]
        self.mels = {}

    def canonical(self, y, name):
        for original, checked in self.arrays:
            if original is y or checked is y:
                return checked
        checked = check_audio(y, name=name)
        self.arrays = (self.arrays + [(y, checked)])[-self._KEEP :]
        alive = {id(c) for _, c in self.arrays}
        self.mels = {k: v for k, v in self.mels.items() if k[0] in alive}
        return checked

    def log_mel(self, y, sfreq, hop, n_mels):
        if not any(checked is y for _, checked in self.arrays):
            return _chunked_log_mel(y, sfreq, hop, n_mels)
        key = (id(y), float(sfreq), int(hop), int(n_mels))
        if key not in self.mels:
            self.mels[key] = _chunked_log_mel(y, sfreq, hop, n_mels)
        return self.mels[key]


class _MemoScore:
    """A metric evaluated with a memo shared by the scorers of one make_scorers call."""

    def __init__(self, metric, memo):
        self.metric = metric
        self.memo = memo
        self.__name__ = metric.__name__

    def __call__(self, y_true, y_pred, **kwargs):
        token = _MEMO.set(self.memo)
        try:
            return self.metric(y_true, y_pred, **kwargs)
        finally:
            _MEMO.reset(token)

    def __getstate__(self):
        # A pickled scorer (joblib workers) starts with an empty memo.
        return {"metric": self.metric, "memo": _Memo(), "__name__": self.__name__}


@contextlib.contextmanager
def shared_spectrograms():
    """Within the block, metrics compute each waveform array's log-mel once.

    Scoring one ``(y_true, y_pred)`` pair with several metrics otherwise
    recomputes the same STFTs for each metric. Results are keyed by array
    identity (the last four arrays are kept): do not modify an array in place
    inside the block and score it again.

    Yields
    ------
    None

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music import metrics
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((4, 8000)).astype(np.float32)
    >>> noisy = y + 0.5 * rng.standard_normal(y.shape).astype(np.float32)
    >>> with metrics.shared_spectrograms():  # one STFT per array for both metrics
    ...     r = metrics.mel_correlation(y, noisy, sfreq=8000)
    ...     acc = metrics.identification_accuracy(y, noisy, sfreq=8000)
    >>> r == metrics.mel_correlation(y, noisy, sfreq=8000), acc
    (True, 1.0)
    """
    token = _MEMO.set(_Memo())
    try:
        yield
    finally:
        _MEMO.reset(token)


# ----------------------------------------------------------------------------- trial edges


def _check_trim(k, n_frames, what):
    if k > 0 and n_frames - 2 * k < 2:
        raise ValueError(
            f"trials of {n_frames} frames are too short to drop {what} at each edge and keep "
            "2 frames; pass a smaller trim (0 keeps every frame)."
        )
    return k


def edge_frames(sfreq, hop_length, n_frames, trim_seconds=None):
    """Frames the waveform spectral metrics drop at each trial edge.

    Parameters
    ----------
    sfreq : float
        Audio rate (Hz).
    hop_length : int
        STFT hop (samples).
    n_frames : int
        Frames per trial (``n_audio // hop_length``).
    trim_seconds : float | None, default=None
        Margin at each edge; ``None`` is ``max(n_fft / sfreq, 0.1 s)`` with the
        window of :func:`~sk_eeg2music.audio.mel_params`, so that no kept
        frame's window reaches within half a window of the trial edge. 0 keeps
        every frame.

    Returns
    -------
    k : int
        ``ceil(trim_seconds * sfreq / hop_length)``; frames ``k .. n_frames - k - 1``
        are kept.

    Examples
    --------
    >>> from sk_eeg2music.metrics import edge_frames
    >>> edge_frames(16000, 128, n_frames=500)  # 0.1 s at an 8 ms hop
    13
    >>> edge_frames(16000, 128, n_frames=500, trim_seconds=0)
    0
    """
    if trim_seconds is None:
        trim = max(mel_params(sfreq, hop_length)["n_fft"] / sfreq, EDGE_SECONDS)
    else:
        try:
            trim = float(trim_seconds)
        except (TypeError, ValueError):
            trim = np.nan
        if not np.isfinite(trim) or trim < 0:
            raise ValueError(
                f"trim_seconds must be a non-negative number or None; got {trim_seconds!r}."
            )
    # The epsilon keeps an exact multiple of the hop (n_fft / sfreq) from rounding up.
    k = int(np.ceil(trim * sfreq / hop_length - 1e-9))
    return _check_trim(k, n_frames, f"trim_seconds={trim:g} s ({k} frames)")


def _trimmed_log_mel(y, sfreq, hop, n_mels, trim_seconds):
    """Log-mel ``(n_trials, n_mels, n_kept)`` without the edge frames."""
    mel = _log_mel(y, sfreq, hop, n_mels)
    k = edge_frames(sfreq, hop, mel.shape[-1], trim_seconds)
    return mel[..., k : mel.shape[-1] - k]


def _check_features(F, name):
    F = np.asarray(F)
    if F.dtype.kind not in "fiu":
        raise ValueError(f"{name} must be a real numeric array; got dtype {F.dtype}.")
    if F.ndim != 3 or 0 in F.shape:
        raise ValueError(
            f"{name} must be a non-empty 3-D array of shape (n_trials, n_mels, n_frames); got "
            f"shape {F.shape}."
        )
    if not np.isfinite(F).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    # Integers would truncate the centring in _rowwise_pearson.
    return F if F.dtype.kind == "f" else F.astype(np.float64)


def _check_feature_pair(F_true, F_pred):
    F_true = _check_features(F_true, "F_true")
    F_pred = _check_features(F_pred, "F_pred")
    if F_true.shape != F_pred.shape:
        raise ValueError(
            "F_true and F_pred must have the same shape (n_trials, n_mels, n_frames); got "
            f"{F_true.shape} and {F_pred.shape}."
        )
    return F_true, F_pred


def _trim_features(F, trim_frames):
    if isinstance(trim_frames, bool) or not float(trim_frames).is_integer() or trim_frames < 0:
        raise ValueError(f"trim_frames must be a non-negative integer; got {trim_frames!r}.")
    k = _check_trim(int(trim_frames), F.shape[-1], f"trim_frames={int(trim_frames)}")
    return F[..., k : F.shape[-1] - k]


def _zscore_time(logmel):
    """Z-score each band's time course; a constant band becomes all zeros."""
    x = logmel - logmel.mean(axis=-1, keepdims=True)
    std = x.std(axis=-1, keepdims=True)
    return np.divide(x, std, out=np.zeros_like(x), where=std > 0)


def _unique_rows(y):
    """Label identical rows with the same integer (exact, bit-wise equality).

    ``np.unique`` over each row's bytes: the same exact equality as comparing
    the rows, ~14x faster than ``np.unique(axis=0)`` on 1,000 trials of 4 s at
    16 kHz (which sorts rows field by field).

    Parameters
    ----------
    y : ndarray, shape (n_rows, ...)

    Returns
    -------
    first : ndarray of int, shape (n_unique,)
        Index of the first occurrence of each distinct row, in increasing order.
    inverse : ndarray of int, shape (n_rows,)
        ``y[first[inverse[i]]]`` equals ``y[i]``.
    """
    y = np.ascontiguousarray(y).reshape(len(y), -1)
    rows = y.view(np.dtype((np.void, y.dtype.itemsize * y.shape[1]))).ravel()
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    # Number the distinct rows in order of first occurrence, as callers expect.
    order = np.argsort(first)
    relabel = np.empty_like(order)
    relabel[order] = np.arange(len(order))
    return first[order], relabel[inverse.reshape(-1)]


def _mean(values):
    return float(np.mean(values))
