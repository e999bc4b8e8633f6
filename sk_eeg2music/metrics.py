"""Reconstruction metrics on waveforms of shape ``(n_trials, n_audio)``.

Each metric ``f(y_true, y_pred, sfreq=...)`` returns the mean over trials; the
``*_per_trial`` variants return one value per trial. :func:`make_scorers` wraps
them for ``cross_validate(..., scoring=...)``.

Spectral metrics share one analysis: the log-mel spectrogram of
:func:`sk_eeg2music.audio.log_mel_spectrogram` with an 8 ms hop and 32 bands,
so a number reported by one metric describes the same representation as the
others.

**Trial edges are excluded.** A centred STFT pads each trial with zeros, so
the first and last frames of *every* trial dip (or, where the music is cut
mid-note, click) in the same way. Any prediction with the same edges, even a
time-constant spectrum, then correlates with the truth: a Griffin-Lim
rendering of a constant log-mel scores mel r 0.146 on simulated music with
every frame kept, and 0.000 with the edges dropped. Every STFT- or mel-based
waveform metric therefore drops ``trim_seconds`` at each edge, by default
``max(n_fft / sfreq, 0.1 s)``: the frames whose analysis window reaches past
the trial, plus a margin. ``trim_seconds=0`` restores the old behaviour.
Feature-level metrics (decoded log-mel at the EEG rate,
``(n_trials, n_mels, n_frames)``) drop ``trim_frames=2`` frames at each edge,
the frames whose 32-ms window reaches past the trial at 64 and 125 Hz.

Levels: waveform metrics score what a listener hears (after synthesis);
:func:`feature_correlation` and :func:`feature_identification_accuracy` score
the decoded log-mel before any synthesis; :func:`match_mismatch_accuracy`
works at both. :func:`frechet_mel_distance` measures realism, not fidelity.
Inside :func:`shared_spectrograms` the metrics compute each array's log-mel
once.
"""

import contextlib
import contextvars

import librosa
import numpy as np
import scipy.fft
import scipy.linalg
import scipy.stats

from .audio import frame_envelope, log_mel_spectrogram, mel_params
from .utils._validation import check_audio, check_rate_ratio, check_sfreq

#: Default analysis hop (s) for spectrogram metrics: 8 ms.
_HOP_SECONDS = 0.008
_N_MELS = 32
#: Least margin (s) dropped at each trial edge by the waveform spectral metrics.
EDGE_SECONDS = 0.1
#: Frames dropped at each trial edge by the feature-level metrics.
EDGE_FRAMES = 2
# 10 / ln(10) * sqrt(2): the dB constant of the mel-cepstral distortion.
_MCD_CONST = 10.0 / np.log(10.0) * np.sqrt(2.0)


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


# ----------------------------------------------------------------------------- correlations


def mel_correlation_per_trial(
    y_true, y_pred, sfreq, n_mels=_N_MELS, hop_length=None, trim_seconds=None
):
    """Band-wise log-mel Pearson r, one value per trial.

    For each trial, the Pearson correlation over time between the true and the
    reconstructed log-mel time course of each band, averaged over bands, on the
    frames away from the trial edges. Chance level: 0. A prediction with the
    right average spectrum but no time structure scores ~0 (the correlation of
    flattened spectrograms would reward it); so does a time-constant spectrum
    rendered by Griffin-Lim, which scores 0.146 on simulated music when the
    edge frames are kept (``trim_seconds=0``).

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
        True and reconstructed waveforms.
    sfreq : float
        Audio rate (Hz).
    n_mels : int, default=32
        Number of mel bands.
    hop_length : int | None, default=None
        Hop in samples; ``None`` gives 8 ms.
    trim_seconds : float | None, default=None
        Margin dropped at each trial edge (see :func:`edge_frames`); ``None`` is
        ``max(n_fft / sfreq, 0.1 s)``, 0 keeps every frame.

    Returns
    -------
    r : ndarray, shape (n_trials,)

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import mel_correlation_per_trial
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((4, 8000)).astype(np.float32)  # 4 trials of 1 s at 8 kHz
    >>> mel_correlation_per_trial(y, y, sfreq=8000)
    array([1., 1., 1., 1.])
    >>> noisy = y + 0.5 * rng.standard_normal(y.shape).astype(np.float32)
    >>> mel_correlation_per_trial(y, noisy, sfreq=8000).shape
    (4,)
    """
    y_true, y_pred, sfreq = _check_pair(y_true, y_pred, sfreq)
    hop = _hop(sfreq, hop_length)
    mt = _trimmed_log_mel(y_true, sfreq, hop, n_mels, trim_seconds)
    mp = _trimmed_log_mel(y_pred, sfreq, hop, n_mels, trim_seconds)
    return _rowwise_pearson(mt, mp).mean(axis=-1)


def mel_correlation(y_true, y_pred, sfreq, **kwargs):
    """Mean over trials of :func:`mel_correlation_per_trial` (chance 0; trial edges excluded).

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

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import mel_correlation
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((4, 8000)).astype(np.float32)
    >>> noisy = y + 0.5 * rng.standard_normal(y.shape).astype(np.float32)
    >>> round(mel_correlation(y, noisy, sfreq=8000), 2)
    0.77
    """
    return _mean(mel_correlation_per_trial(y_true, y_pred, sfreq, **kwargs))


def envelope_correlation_per_trial(y_true, y_pred, sfreq, hop_length=None, power=0.5):
    """Pearson r between broadband envelopes, one value per trial (chance 0).

    The envelope frames do not overlap and are not padded, so the trial edges
    give no shared artefact and every frame is kept.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
    sfreq : float
        Audio rate (Hz).
    hop_length : int | None, default=None
        Envelope frame in samples; ``None`` gives 8 ms.
    power : float, default=0.5
        Compression of the frame RMS, as in :func:`sk_eeg2music.audio.frame_envelope`.

    Returns
    -------
    r : ndarray, shape (n_trials,)

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import envelope_correlation_per_trial
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((2, 8000)) * np.linspace(0, 1, 8000)  # rising loudness
    >>> envelope_correlation_per_trial(y, 2 * y, sfreq=8000).round(6)  # invariant to gain
    array([1., 1.])
    """
    y_true, y_pred, sfreq = _check_pair(y_true, y_pred, sfreq)
    hop = _hop(sfreq, hop_length)
    et = frame_envelope(y_true, hop, power=power)
    ep = frame_envelope(y_pred, hop, power=power)
    return _rowwise_pearson(et, ep)


def envelope_correlation(y_true, y_pred, sfreq, **kwargs):
    """Mean over trials of :func:`envelope_correlation_per_trial` (chance 0).

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
        True and reconstructed waveforms.
    sfreq : float
        Audio rate (Hz).
    **kwargs
        Passed to :func:`envelope_correlation_per_trial`.

    Returns
    -------
    r : float

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import envelope_correlation
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((2, 8000)) * np.linspace(0, 1, 8000)
    >>> round(envelope_correlation(y, -y, sfreq=8000), 2)  # envelopes ignore the sign
    1.0
    """
    return _mean(envelope_correlation_per_trial(y_true, y_pred, sfreq, **kwargs))


def waveform_correlation_per_trial(y_true, y_pred, sfreq):
    """Pearson r between waveforms, sample by sample, one value per trial (chance 0).

    Phase-sensitive: Griffin-Lim or a GAN can reproduce a spectrogram exactly
    and still score ~0 here.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
    sfreq : float
        Audio rate (Hz); validated for a uniform signature, not used.

    Returns
    -------
    r : ndarray, shape (n_trials,)

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import waveform_correlation_per_trial
    >>> y = np.random.default_rng(0).standard_normal((2, 8000))
    >>> waveform_correlation_per_trial(y, -y, sfreq=8000)
    array([-1., -1.])
    """
    y_true, y_pred, _ = _check_pair(y_true, y_pred, sfreq)
    return _rowwise_pearson(y_true, y_pred)


def waveform_correlation(y_true, y_pred, sfreq):
    """Mean over trials of :func:`waveform_correlation_per_trial` (chance 0).

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
        True and reconstructed waveforms.
    sfreq : float
        Audio rate (Hz).

    Returns
    -------
    r : float

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import waveform_correlation
    >>> y = np.random.default_rng(0).standard_normal((2, 8000))
    >>> round(waveform_correlation(y, 3 * y, sfreq=8000), 6)
    1.0
    """
    return _mean(waveform_correlation_per_trial(y_true, y_pred, sfreq))


# ----------------------------------------------------------------------------- distortions


def mel_cepstral_distortion_per_trial(
    y_true, y_pred, sfreq, n_mfcc=13, n_mels=_N_MELS, hop_length=None, trim_seconds=None
):
    """Mel-cepstral distortion (dB), one value per trial; 0 for identical signals.

    Cepstra are the orthonormal DCT-II of the natural-log mel *amplitude*
    (half the log power of :func:`~sk_eeg2music.audio.log_mel_spectrogram`);
    coefficients 1..``n_mfcc`` are kept (c0, the overall level, is dropped), and
    each frame's distortion ``10 / ln 10 * sqrt(2 * sum_k (c_k - ĉ_k)^2)`` is
    averaged over the frames away from the trial edges. No fixed chance level:
    compare with a baseline (e.g. :class:`~sk_eeg2music.MeanSpectrumBaseline`).

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
    sfreq : float
        Audio rate (Hz).
    n_mfcc : int, default=13
        Number of cepstral coefficients after c0.
    n_mels : int, default=32
    hop_length : int | None, default=None
        ``None`` gives 8 ms.
    trim_seconds : float | None, default=None
        Margin dropped at each trial edge (see :func:`edge_frames`); ``None`` is
        ``max(n_fft / sfreq, 0.1 s)``, 0 keeps every frame.

    Returns
    -------
    mcd : ndarray, shape (n_trials,)

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import mel_cepstral_distortion_per_trial
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((3, 8000)).astype(np.float32)
    >>> mel_cepstral_distortion_per_trial(y, y, sfreq=8000)
    array([0., 0., 0.])
    """
    y_true, y_pred, sfreq = _check_pair(y_true, y_pred, sfreq)
    if not 1 <= int(n_mfcc) < n_mels:
        raise ValueError(f"n_mfcc must be in [1, n_mels - 1 = {n_mels - 1}]; got {n_mfcc}.")
    hop = _hop(sfreq, hop_length)
    diff = _trimmed_log_mel(y_true, sfreq, hop, n_mels, trim_seconds) - _trimmed_log_mel(
        y_pred, sfreq, hop, n_mels, trim_seconds
    )
    cep = scipy.fft.dct(0.5 * diff.astype(np.float64), type=2, norm="ortho", axis=-2)
    per_frame = _MCD_CONST * np.sqrt(np.sum(cep[:, 1 : int(n_mfcc) + 1] ** 2, axis=-2))
    return per_frame.mean(axis=-1)


def mel_cepstral_distortion(y_true, y_pred, sfreq, **kwargs):
    """Mean over trials of :func:`mel_cepstral_distortion_per_trial` (dB, lower is better).

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
        True and reconstructed waveforms.
    sfreq : float
        Audio rate (Hz).
    **kwargs
        Passed to :func:`mel_cepstral_distortion_per_trial`.

    Returns
    -------
    mcd : float

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import mel_cepstral_distortion
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((3, 8000)).astype(np.float32)
    >>> noisy = y + 0.5 * rng.standard_normal(y.shape).astype(np.float32)
    >>> mel_cepstral_distortion(y, noisy, sfreq=8000) > 0
    True
    """
    return _mean(mel_cepstral_distortion_per_trial(y_true, y_pred, sfreq, **kwargs))


def log_spectral_distance_per_trial(
    y_true, y_pred, sfreq, hop_length=None, eps=1e-10, trim_seconds=None
):
    """Log-spectral distance (dB), one value per trial; 0 for identical signals.

    For each STFT frame (the window and hop of
    :func:`~sk_eeg2music.audio.mel_params`), the RMS over linear frequency bins
    of ``10 log10(P + eps) - 10 log10(P̂ + eps)``, averaged over the frames
    away from the trial edges. No fixed chance level: compare with a baseline.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
    sfreq : float
        Audio rate (Hz).
    hop_length : int | None, default=None
        ``None`` gives 8 ms.
    eps : float, default=1e-10
        Power floor, so silent frames in both signals count as a match.
    trim_seconds : float | None, default=None
        Margin dropped at each trial edge (see :func:`edge_frames`); ``None`` is
        ``max(n_fft / sfreq, 0.1 s)``, 0 keeps every frame.

    Returns
    -------
    lsd : ndarray, shape (n_trials,)

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import log_spectral_distance_per_trial
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((3, 8000)).astype(np.float32)
    >>> log_spectral_distance_per_trial(y, y, sfreq=8000)
    array([0., 0., 0.])
    """
    y_true, y_pred, sfreq = _check_pair(y_true, y_pred, sfreq)
    hop = _hop(sfreq, hop_length)
    n_fft = mel_params(sfreq, hop)["n_fft"]
    n_frames = y_true.shape[-1] // hop
    k = edge_frames(sfreq, hop, n_frames, trim_seconds)

    def power(y):
        spec = librosa.stft(y, n_fft=n_fft, hop_length=hop, center=True, pad_mode="constant")
        power = np.abs(spec[..., k : n_frames - k if k else max(n_frames, 1)])
        power *= power
        power += np.float32(eps)
        return power

    def lsd(t, p):
        db_diff = 10.0 * np.log10(power(t) / power(p))
        return np.sqrt(np.mean(np.square(db_diff), axis=-2, dtype=np.float64)).mean(axis=-1)

    return np.concatenate(
        [lsd(y_true[i : i + _CHUNK], y_pred[i : i + _CHUNK]) for i in range(0, len(y_true), _CHUNK)]
    )


def log_spectral_distance(y_true, y_pred, sfreq, **kwargs):
    """Mean over trials of :func:`log_spectral_distance_per_trial` (dB, lower is better).

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
        True and reconstructed waveforms.
    sfreq : float
        Audio rate (Hz).
    **kwargs
        Passed to :func:`log_spectral_distance_per_trial`.

    Returns
    -------
    lsd : float

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import log_spectral_distance
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((3, 8000)).astype(np.float32)
    >>> round(log_spectral_distance(y, 10 * y, sfreq=8000), 3)  # a 10x gain is 20 dB
    20.0
    """
    return _mean(log_spectral_distance_per_trial(y_true, y_pred, sfreq, **kwargs))


def si_sdr_per_trial(y_true, y_pred, sfreq, eps=1e-8):
    """Scale-invariant signal-to-distortion ratio (dB), one value per trial.

    Both signals are mean-removed; ``y_pred`` is split into its projection on
    ``y_true`` (the target) and the rest (the distortion). ``eps`` (relative to
    the target power) keeps identical signals finite: they score
    ``10 log10(1 / eps)`` = 80 dB with the default.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
    sfreq : float
        Audio rate (Hz); validated for a uniform signature, not used.
    eps : float, default=1e-8

    Returns
    -------
    si_sdr : ndarray, shape (n_trials,)

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import si_sdr_per_trial
    >>> y = np.random.default_rng(0).standard_normal((2, 8000)).astype(np.float32)
    >>> si_sdr_per_trial(y, 0.5 * y, sfreq=8000).round(1)  # scale-invariant: the 80 dB ceiling
    array([80., 80.])
    """
    y_true, y_pred, _ = _check_pair(y_true, y_pred, sfreq)
    # float32 arrays, float64 sums: exact enough, and identical inputs give a
    # projection scale of exactly 1, hence a distortion of exactly 0.
    t = y_true - y_true.mean(axis=-1, keepdims=True, dtype=np.float64).astype(np.float32)
    p = y_pred - y_pred.mean(axis=-1, keepdims=True, dtype=np.float64).astype(np.float32)
    energy = np.sum(t * t, axis=-1, keepdims=True, dtype=np.float64)
    dot = np.sum(p * t, axis=-1, keepdims=True, dtype=np.float64)
    scale = dot / np.where(energy > 0, energy, 1.0)
    p_target = (scale**2 * energy)[:, 0]
    p_noise = np.sum(np.square(p - scale.astype(np.float32) * t), axis=-1, dtype=np.float64)
    floor = eps * np.maximum(p_target, np.finfo(float).tiny)
    return 10.0 * np.log10((p_target + floor) / (p_noise + floor))


def si_sdr(y_true, y_pred, sfreq, **kwargs):
    """Mean over trials of :func:`si_sdr_per_trial` (dB).

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
        True and reconstructed waveforms.
    sfreq : float
        Audio rate (Hz).
    **kwargs
        Passed to :func:`si_sdr_per_trial`.

    Returns
    -------
    si_sdr : float

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import si_sdr
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((2, 8000)).astype(np.float32)
    >>> noise = rng.standard_normal(y.shape).astype(np.float32)
    >>> round(si_sdr(y, y + noise, sfreq=8000))  # equal powers: about 0 dB
    0
    """
    return _mean(si_sdr_per_trial(y_true, y_pred, sfreq, **kwargs))


# ----------------------------------------------------------------------------- identification


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


# ----------------------------------------------------------------------------- feature level


def feature_target(y, audio_sfreq, sfreq, n_mels=_N_MELS, eps=1e-8):
    """The true log-mel at the EEG frame rate: what the decoders' features estimate.

    :func:`sk_eeg2music.audio.log_mel_spectrogram` with one frame per EEG
    sample (hop ``audio_sfreq / sfreq``), the target of
    :class:`~sk_eeg2music.LinearDecoder` (``target="mel"``) and, z-scored over
    time, of the GAN's auxiliary mel head (``n_mels=aux_mels``, ``eps=1e-5``).
    :func:`feature_correlation` is invariant to a per-band affine map, so the
    z-scoring does not change a score.

    Parameters
    ----------
    y : ndarray, shape (n_trials, n_audio)
        Waveforms; ``n_audio = n_times * audio_sfreq / sfreq``.
    audio_sfreq : float
        Audio rate (Hz).
    sfreq : float
        EEG rate (Hz); ``audio_sfreq / sfreq`` must be an integer.
    n_mels : int, default=32
        Mel bands (a model's ``n_mels``).
    eps : float, default=1e-8
        Floor added to the mel power before the log.

    Returns
    -------
    F : ndarray, shape (n_trials, n_mels, n_audio * sfreq // audio_sfreq), float32

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import feature_target
    >>> y = np.random.default_rng(0).standard_normal((2, 16000)).astype(np.float32)
    >>> feature_target(y, audio_sfreq=16000, sfreq=64).shape  # 1 s at 64 Hz
    (2, 32, 64)
    """
    hop = check_rate_ratio(audio_sfreq, sfreq)
    y = check_audio(y, name="y")
    return np.concatenate(
        [
            log_mel_spectrogram(y[i : i + _CHUNK], audio_sfreq, hop, n_mels=n_mels, eps=eps)
            for i in range(0, len(y), _CHUNK)
        ]
    )


def feature_correlation_per_trial(F_true, F_pred, trim_frames=EDGE_FRAMES):
    """Decoded vs true log-mel at the EEG frame rate, before any synthesis; per trial.

    For each trial and band, the Pearson r over time between the true and the
    decoded feature; averaged over bands (the same definition as
    :func:`mel_correlation_per_trial`, at the EEG rate). Chance level: 0, and a
    time-constant prediction scores exactly 0 (a constant band counts 0).

    Parameters
    ----------
    F_true : ndarray, shape (n_trials, n_mels, n_frames)
        True features, e.g. :func:`feature_target`.
    F_pred : ndarray, shape (n_trials, n_mels, n_frames)
        Decoded features (a model's ``predict_features(X)``).
    trim_frames : int, default=2
        Frames dropped at each trial edge, whose 32-ms analysis window reaches
        past the trial at 64 and 125 Hz; 0 keeps every frame.

    Returns
    -------
    r : ndarray, shape (n_trials,)

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import feature_correlation_per_trial
    >>> F = np.random.default_rng(0).standard_normal((3, 32, 64))
    >>> feature_correlation_per_trial(F, 2 * F + 1)  # invariant to a per-band gain
    array([1., 1., 1.])
    """
    F_true, F_pred = _check_feature_pair(F_true, F_pred)
    return _rowwise_pearson(
        _trim_features(F_true, trim_frames), _trim_features(F_pred, trim_frames)
    ).mean(axis=-1)


def feature_correlation(F_true, F_pred, **kwargs):
    """Mean over trials of :func:`feature_correlation_per_trial` (chance 0).

    Parameters
    ----------
    F_true, F_pred : ndarray, shape (n_trials, n_mels, n_frames)
        True and decoded log-mel at the EEG frame rate.
    **kwargs
        Passed to :func:`feature_correlation_per_trial`.

    Returns
    -------
    r : float

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import feature_correlation
    >>> rng = np.random.default_rng(0)
    >>> F = rng.standard_normal((3, 32, 64))
    >>> round(feature_correlation(F, F + rng.standard_normal(F.shape)), 1)  # equal noise
    0.7
    >>> feature_correlation(F, np.ones_like(F))  # constant: exactly chance
    0.0
    """
    return _mean(feature_correlation_per_trial(F_true, F_pred, **kwargs))


def feature_identification_accuracy(F_true, F_pred, top_k=1, trim_frames=EDGE_FRAMES):
    """Top-k identification among the distinct true segments, from decoded features.

    :func:`identification_accuracy` before synthesis: each decoded feature
    array is compared (band-wise correlation, :func:`similarity_matrix`'s
    definition) with every distinct row of ``F_true``; ties count at random in
    expectation. Chance: :func:`identification_chance` of ``F_true``.

    Parameters
    ----------
    F_true, F_pred : ndarray, shape (n_trials, n_mels, n_frames)
        True and decoded log-mel at the EEG frame rate.
    top_k : int, default=1
    trim_frames : int, default=2
        Frames dropped at each trial edge.

    Returns
    -------
    accuracy : float

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import feature_identification_accuracy, identification_chance
    >>> rng = np.random.default_rng(0)
    >>> F = rng.standard_normal((4, 32, 64))
    >>> feature_identification_accuracy(F, F + 0.5 * rng.standard_normal(F.shape))
    1.0
    >>> feature_identification_accuracy(F, np.zeros_like(F)), identification_chance(F)
    (0.25, 0.25)
    """
    return _mean(feature_identification_accuracy_per_trial(F_true, F_pred, top_k, trim_frames))


def feature_identification_accuracy_per_trial(F_true, F_pred, top_k=1, trim_frames=EDGE_FRAMES):
    """Whether each decoded feature array identifies its own segment; per trial.

    See :func:`feature_identification_accuracy` (its mean over trials).

    Parameters
    ----------
    F_true, F_pred : ndarray, shape (n_trials, n_mels, n_frames)
        True and decoded log-mel at the EEG frame rate.
    top_k : int, default=1
    trim_frames : int, default=2
        Frames dropped at each trial edge.

    Returns
    -------
    hit : ndarray, shape (n_trials,)
        1 for a hit, 0 for a miss, fractions for ties (their expectation).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import feature_identification_accuracy_per_trial
    >>> F = np.random.default_rng(0).standard_normal((3, 8, 32))
    >>> feature_identification_accuracy_per_trial(F, F[[0, 2, 1]])
    array([1., 0., 0.])
    """
    top_k = int(top_k)
    if top_k < 1:
        raise ValueError(f"top_k must be a positive integer; got {top_k}.")
    F_true, F_pred = _check_feature_pair(F_true, F_pred)
    first, inverse = _distinct(F_true, "F_true")
    zt = _zscore_time(_trim_features(F_true[first], trim_frames).astype(np.float64))
    zp = _zscore_time(_trim_features(F_pred, trim_frames).astype(np.float64))
    return _topk_hits(_similarity(zp, zt), inverse, top_k)


# ----------------------------------------------------------------------------- match-mismatch


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


# ----------------------------------------------------------------------------- realism


def _trial_moments(y, sfreq, n_mels, hop_length, trim_seconds, name):
    """Per-trial frame sums ``(n, n_mels)`` and Gram matrices ``(n, n_mels, n_mels)``."""
    y = _check_wave(y, name)
    hop = _hop(sfreq, hop_length)
    mel = _trimmed_log_mel(y, sfreq, hop, n_mels, trim_seconds)
    sums, grams = [], []
    for i in range(0, len(mel), _CHUNK):  # float64 copies of a chunk at a time
        x = mel[i : i + _CHUNK].astype(np.float64)
        sums.append(x.sum(axis=-1))
        # einsum, not a batched matmul: OpenBLAS threads on many small matrices spin for
        # ~100x the work on a loaded machine.
        grams.append(np.einsum("tif,tjf->tij", x, x))
    return np.concatenate(sums), np.concatenate(grams), mel.shape[-1]


def _gaussian_fit(sums, grams, n_frames):
    """Mean and covariance of the pooled frames of the trials whose moments are given."""
    n = len(sums) * n_frames
    mu = sums.sum(axis=0) / n
    cov = (grams.sum(axis=0) - n * np.outer(mu, mu)) / max(n - 1, 1)
    return mu, cov


def _gaussian_frechet(mu1, s1, mu2, s2):
    """Fréchet distance between two Gaussians, ``|mu1 - mu2|^2 + tr(s1 + s2 - 2 (s1 s2)^½)``."""
    diff = mu1 - mu2
    # tr sqrtm(s1 s2) = tr sqrtm(s1^½ s2 s1^½), a symmetric PSD matrix: eigh stays real and
    # stable when a covariance is singular (a constant prediction), where sqrtm(s1 @ s2)
    # returns complex noise.
    w, v = scipy.linalg.eigh(s1)
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.sqrt(np.clip(scipy.linalg.eigvalsh(root @ s2 @ root), 0, None)).sum()
    return float(max(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * cross, 0.0))


def frechet_mel_distance(y_true, y_pred, sfreq, n_mels=_N_MELS, hop_length=None, trim_seconds=None):
    """Fréchet distance between Gaussian fits of log-mel frames: realism, not fidelity.

    The log-mel frames of all trials (edges dropped) are pooled per set, each
    set is fitted with a Gaussian (mean, covariance over bands), and
    ``|mu_t - mu_p|^2 + tr(S_t + S_p - 2 (S_t S_p)^½)`` is returned (squared
    natural-log units). A cheap stand-in for the Fréchet audio distance, which
    needs a pretrained embedding. It asks whether the reconstructions *sound
    like* the music (level, spectral shape, how bands co-vary), not whether
    each one matches its own trial: shuffled originals score at the floor.
    There is no chance level; read it against :func:`frechet_mel_floor`, the
    distance between two disjoint halves of the originals. Lower is better.
    On 28 simulated 4-s chorale segments (16 kHz) the floor is 80 +- 30 (10
    random halvings), Griffin-Lim of the time-averaged log-mel scores 476 and
    a constant-spectrum noise 623: little music makes a wide floor.

    Parameters
    ----------
    y_true : ndarray, shape (n_trials, n_audio)
        Original waveforms.
    y_pred : ndarray, shape (n_pred, n_audio_pred)
        Reconstructions; the number and length of trials may differ.
    sfreq : float
        Audio rate (Hz) of both.
    n_mels : int, default=32
    hop_length : int | None, default=None
        ``None`` gives 8 ms.
    trim_seconds : float | None, default=None
        Edge margin (see :func:`edge_frames`).

    Returns
    -------
    fmd : float

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import frechet_mel_distance
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((4, 8000)).astype(np.float32)
    >>> round(frechet_mel_distance(y, y[::-1], sfreq=8000), 6)  # same frames, other order
    0.0
    >>> frechet_mel_distance(y, 0.1 * y, sfreq=8000) > 20  # 20 dB quieter: far
    True
    """
    sfreq = check_sfreq(sfreq)
    kw = dict(n_mels=n_mels, hop_length=hop_length, trim_seconds=trim_seconds)
    fit_true = _gaussian_fit(*_trial_moments(y_true, sfreq, name="y_true", **kw))
    fit_pred = _gaussian_fit(*_trial_moments(y_pred, sfreq, name="y_pred", **kw))
    return _gaussian_frechet(*fit_true, *fit_pred)


def frechet_mel_floor(
    y_true,
    sfreq,
    n_repeats=5,
    random_state=None,
    n_mels=_N_MELS,
    hop_length=None,
    trim_seconds=None,
):
    """:func:`frechet_mel_distance` between two disjoint halves of the originals.

    The distinct rows of ``y_true`` are split at random into two halves and
    their distance is averaged over ``n_repeats`` splits. It is what sampling
    alone gives: a reconstruction as realistic as the music scores about
    this. Each half has half the frames, so it slightly overestimates the
    floor of the full set.

    Parameters
    ----------
    y_true : ndarray, shape (n_trials, n_audio)
        Original waveforms; at least 4 distinct rows.
    sfreq : float
        Audio rate (Hz).
    n_repeats : int, default=5
        Random splits averaged.
    random_state : int | numpy.random.Generator | None, default=None
    n_mels, hop_length, trim_seconds
        As in :func:`frechet_mel_distance`.

    Returns
    -------
    floor : float

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import frechet_mel_distance, frechet_mel_floor
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((8, 8000)).astype(np.float32)
    >>> round(frechet_mel_floor(y, sfreq=8000, random_state=0), 2)
    0.76
    >>> round(frechet_mel_distance(y, 0.5 * y, sfreq=8000), 1)  # 32 bands * ln(4)**2
    61.5
    """
    sfreq = check_sfreq(sfreq)
    if int(n_repeats) < 1:
        raise ValueError(f"n_repeats must be a positive integer; got {n_repeats!r}.")
    y_true = _check_wave(y_true, "y_true")
    first, _ = _unique_rows(y_true)
    if len(first) < 4:
        raise ValueError(
            f"the floor needs at least 4 distinct true segments to split in halves; got "
            f"{len(first)}."
        )
    sums, grams, n_frames = _trial_moments(
        y_true, sfreq, n_mels, hop_length, trim_seconds, name="y_true"
    )
    sums, grams = sums[first], grams[first]
    rng = np.random.default_rng(random_state)
    half = len(first) // 2
    out = []
    for _ in range(int(n_repeats)):
        perm = rng.permutation(len(first))
        a, b = perm[:half], perm[half : 2 * half]
        fit_a = _gaussian_fit(sums[a], grams[a], n_frames)
        fit_b = _gaussian_fit(sums[b], grams[b], n_frames)
        out.append(_gaussian_frechet(*fit_a, *fit_b))
    return float(np.mean(out))


# ----------------------------------------------------------------------------- significance


def binomial_p_value(accuracy, n_trials, chance):
    """One-sided binomial p-value of an identification accuracy against chance.

    Assumes independent trials. Trials that share a subject or a segment are
    not independent, so treat the result as optimistic and prefer
    :func:`permutation_p_value` or a p-value over subjects.

    Parameters
    ----------
    accuracy : float
        Observed accuracy in [0, 1].
    n_trials : int
        Number of identification trials.
    chance : float
        Chance level in (0, 1), e.g. :func:`identification_chance`.

    Returns
    -------
    p : float

    Examples
    --------
    >>> from sk_eeg2music.metrics import binomial_p_value
    >>> round(binomial_p_value(0.5, n_trials=20, chance=0.25), 4)
    0.0139
    """
    n_trials = int(n_trials)
    if n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer; got {n_trials}.")
    if not 0 <= accuracy <= 1 or not 0 < chance < 1:
        raise ValueError(
            f"accuracy must be in [0, 1] and chance in (0, 1); got {accuracy} and {chance}."
        )
    k = int(round(accuracy * n_trials))
    return float(scipy.stats.binomtest(k, n_trials, chance, alternative="greater").pvalue)


def permutation_p_value(
    y_true,
    y_pred,
    sfreq,
    n_permutations=1000,
    random_state=None,
    n_mels=_N_MELS,
    hop_length=None,
    return_null=False,
    trim_seconds=None,
):
    """Permutation p-value of :func:`mel_correlation` against mispaired trials.

    The null distribution is the mean band-wise log-mel correlation when each
    reconstruction is compared with the true audio of a randomly permuted
    trial; the similarity matrix is computed once, so 1000 permutations are
    cheap.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
    sfreq : float
    n_permutations : int, default=1000
    random_state : int | numpy.random.Generator | None, default=None
    n_mels : int, default=32
    hop_length : int | None, default=None
    return_null : bool, default=False
        Also return the null distribution.
    trim_seconds : float | None, default=None
        Margin dropped at each trial edge (see :func:`edge_frames`); ``None`` is
        ``max(n_fft / sfreq, 0.1 s)``, 0 keeps every frame.

    Returns
    -------
    p : float
        ``(1 + #{null >= observed}) / (1 + n_permutations)``.
    null : ndarray, shape (n_permutations,)
        Only with ``return_null=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import permutation_p_value
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((6, 8000)).astype(np.float32)
    >>> noisy = y + 0.5 * rng.standard_normal(y.shape).astype(np.float32)
    >>> p, null = permutation_p_value(
    ...     y, noisy, sfreq=8000, n_permutations=99, random_state=0, return_null=True
    ... )
    >>> p < 0.05, null.shape
    (True, (99,))
    """
    if int(n_permutations) < 1:
        raise ValueError(f"n_permutations must be a positive integer; got {n_permutations}.")
    sim = similarity_matrix(
        y_true, y_pred, sfreq, n_mels=n_mels, hop_length=hop_length, trim_seconds=trim_seconds
    )
    rng = np.random.default_rng(random_state)
    n = len(sim)
    observed = np.trace(sim) / n
    rows = np.arange(n)
    null = np.array([sim[rows, rng.permutation(n)].mean() for _ in range(int(n_permutations))])
    p = (1.0 + np.sum(null >= observed)) / (1.0 + len(null))
    return (float(p), null) if return_null else float(p)


# ----------------------------------------------------------------------------- scorers


def make_scorers(audio_sfreq):
    """Scorers for ``cross_validate(..., scoring=make_scorers(audio_sfreq))``.

    Every scorer compares ``estimator.predict(X)`` (waveforms) with ``y``; with a
    dict of scorers scikit-learn calls ``predict`` once per fold and shares it,
    and the scorers of one call share the log-mel spectrograms of that pair.
    Distortions are negated (``neg_*``) so that greater is better throughout.

    Parameters
    ----------
    audio_sfreq : float
        Audio rate (Hz) of ``y``.

    Returns
    -------
    scorers : dict of str to callable
        Keys: ``mel_correlation``, ``envelope_correlation``,
        ``waveform_correlation``, ``neg_mel_cepstral_distortion``,
        ``neg_log_spectral_distance``, ``si_sdr``, ``identification_accuracy``,
        ``rank_accuracy``, ``neg_frechet_mel_distance``. Match–mismatch needs
        each trial's stimulus and segment, which scorers do not get: call
        :func:`match_mismatch_accuracy` from the evaluation instead.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music import MeanSpectrumBaseline
    >>> from sk_eeg2music.metrics import make_scorers
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((6, 4, 64)).astype(np.float32)  # 1 s of EEG at 64 Hz
    >>> y = rng.standard_normal((6, 8000)).astype(np.float32)  # 1 s of audio at 8 kHz
    >>> scoring = make_scorers(audio_sfreq=8000)
    >>> sorted(scoring)[:3]
    ['envelope_correlation', 'identification_accuracy', 'mel_correlation']
    >>> baseline = MeanSpectrumBaseline(sfreq=64.0).fit(X, y)
    >>> -1 <= scoring["mel_correlation"](baseline, X, y) <= 1
    True

    ``cross_validate(estimator, X, y, scoring=scoring)`` then reports every metric
    per fold from a single ``predict`` call.
    """
    from sklearn.metrics import make_scorer

    sfreq = check_sfreq(audio_sfreq, "audio_sfreq")
    higher = {
        "mel_correlation": mel_correlation,
        "envelope_correlation": envelope_correlation,
        "waveform_correlation": waveform_correlation,
        "si_sdr": si_sdr,
        "identification_accuracy": identification_accuracy,
        "rank_accuracy": rank_accuracy,
    }
    lower = {
        "neg_mel_cepstral_distortion": mel_cepstral_distortion,
        "neg_log_spectral_distance": log_spectral_distance,
        "neg_frechet_mel_distance": frechet_mel_distance,
    }
    memo = _Memo()
    scorers = {name: make_scorer(_MemoScore(f, memo), sfreq=sfreq) for name, f in higher.items()}
    scorers.update(
        {
            name: make_scorer(_MemoScore(f, memo), greater_is_better=False, sfreq=sfreq)
            for name, f in lower.items()
        }
    )
    return scorers
