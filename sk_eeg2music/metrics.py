"""Reconstruction metrics on waveforms of shape ``(n_trials, n_audio)``.

Each metric ``f(y_true, y_pred, sfreq=...)`` returns the mean over trials; the
``*_per_trial`` variants return one value per trial. :func:`make_scorers` wraps
them for ``cross_validate(..., scoring=...)``.

Spectral metrics share one analysis: the log-mel spectrogram of
:func:`sk_eeg2music.audio.log_mel_spectrogram` with an 8 ms hop and 32 bands,
so a number reported by one metric describes the same representation as the
others.
"""

import contextvars

import librosa
import numpy as np
import scipy.fft
import scipy.stats

from .audio import frame_envelope, log_mel_spectrogram, mel_params
from .utils._validation import check_audio, check_sfreq

#: Default analysis hop (s) for spectrogram metrics: 8 ms.
_HOP_SECONDS = 0.008
_N_MELS = 32
# 10 / ln(10) * sqrt(2): the dB constant of the mel-cepstral distortion.
_MCD_CONST = 10.0 / np.log(10.0) * np.sqrt(2.0)


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
# scoring round. Direct calls to the metrics never see a memo: they are pure.
_MEMO = contextvars.ContextVar("sk_eeg2music_metrics_memo", default=None)


def _log_mel(y, sfreq, hop, n_mels):
    memo = _MEMO.get()
    if memo is None:
        return log_mel_spectrogram(y, sfreq, hop, n_mels=n_mels)
    return memo.log_mel(y, sfreq, hop, n_mels)


class _Memo:
    """Per-scoring-round results keyed by array *identity*.

    Entries hold a reference to their array, so an id cannot be reused by a new
    array while its entry lives; only the last two inputs are kept (one round's
    ``y_true`` and ``y_pred``), so a new round never sees an old result.
    """

    def __init__(self):
        self.arrays = []  # [(original, validated float32)]
        self.mels = {}

    def canonical(self, y, name):
        for original, checked in self.arrays:
            if original is y:
                return checked
        checked = check_audio(y, name=name)
        self.arrays = (self.arrays + [(y, checked)])[-2:]
        alive = {id(c) for _, c in self.arrays}
        self.mels = {k: v for k, v in self.mels.items() if k[0] in alive}
        return checked

    def log_mel(self, y, sfreq, hop, n_mels):
        if not any(checked is y for _, checked in self.arrays):
            return log_mel_spectrogram(y, sfreq, hop, n_mels=n_mels)
        key = (id(y), float(sfreq), int(hop), int(n_mels))
        if key not in self.mels:
            self.mels[key] = log_mel_spectrogram(y, sfreq, hop, n_mels=n_mels)
        return self.mels[key]


class _MemoScore:
    """A metric evaluated with a memo shared by the scorers of one make_scorers call."""

    def __init__(self, metric, memo):
        self.metric = metric
        self.memo = memo
        self.__name__ = metric.__name__

    def __call__(self, y_true, y_pred, **kwargs):
        y_true = self.memo.canonical(y_true, "y_true")
        y_pred = self.memo.canonical(y_pred, "y_pred")
        token = _MEMO.set(self.memo)
        try:
            return self.metric(y_true, y_pred, **kwargs)
        finally:
            _MEMO.reset(token)

    def __getstate__(self):
        # A pickled scorer (joblib workers) starts with an empty memo.
        return {"metric": self.metric, "memo": _Memo(), "__name__": self.__name__}


def _zscore_time(logmel):
    """Z-score each band's time course; a constant band becomes all zeros."""
    x = logmel - logmel.mean(axis=-1, keepdims=True)
    std = x.std(axis=-1, keepdims=True)
    return np.divide(x, std, out=np.zeros_like(x), where=std > 0)


def _unique_rows(y):
    """Label identical rows with the same integer (exact, bit-wise equality).

    Parameters
    ----------
    y : ndarray, shape (n_rows, ...)

    Returns
    -------
    first : ndarray of int, shape (n_unique,)
        Index of the first occurrence of each distinct row.
    inverse : ndarray of int, shape (n_rows,)
        ``y[first[inverse[i]]]`` equals ``y[i]``.
    """
    y = np.ascontiguousarray(y).reshape(len(y), -1)
    ids, first, inverse = {}, [], np.empty(len(y), dtype=int)
    for i, row in enumerate(y):
        # bytes keys: dict lookup compares content exactly, no hash-collision risk.
        key = row.tobytes()
        if key not in ids:
            ids[key] = len(first)
            first.append(i)
        inverse[i] = ids[key]
    return np.asarray(first, dtype=int), inverse


def _mean(values):
    return float(np.mean(values))


# ----------------------------------------------------------------------------- correlations


def mel_correlation_per_trial(y_true, y_pred, sfreq, n_mels=_N_MELS, hop_length=None):
    """Band-wise log-mel Pearson r, one value per trial.

    For each trial, the Pearson correlation over time between the true and the
    reconstructed log-mel time course of each band, averaged over bands. A
    prediction with the right average spectrum but no time structure scores ~0
    (the correlation of flattened spectrograms would reward it).

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
    mt = _log_mel(y_true, sfreq, hop, n_mels)
    mp = _log_mel(y_pred, sfreq, hop, n_mels)
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
    """Pearson r between broadband envelopes, one value per trial.

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
    """Mean over trials of :func:`envelope_correlation_per_trial`.

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
    """Pearson r between waveforms, sample by sample, one value per trial.

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
    """Mean over trials of :func:`waveform_correlation_per_trial`.

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
    y_true, y_pred, sfreq, n_mfcc=13, n_mels=_N_MELS, hop_length=None
):
    """Mel-cepstral distortion (dB), one value per trial; 0 for identical signals.

    Cepstra are the orthonormal DCT-II of the natural-log mel *amplitude*
    (half the log power of :func:`~sk_eeg2music.audio.log_mel_spectrogram`);
    coefficients 1..``n_mfcc`` are kept (c0, the overall level, is dropped), and
    each frame's distortion ``10 / ln 10 * sqrt(2 * sum_k (c_k - ĉ_k)^2)`` is
    averaged over frames.

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
    diff = _log_mel(y_true, sfreq, hop, n_mels) - _log_mel(y_pred, sfreq, hop, n_mels)
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


def log_spectral_distance_per_trial(y_true, y_pred, sfreq, hop_length=None, eps=1e-10):
    """Log-spectral distance (dB), one value per trial; 0 for identical signals.

    For each STFT frame (the window and hop of
    :func:`~sk_eeg2music.audio.mel_params`), the RMS over linear frequency bins
    of ``10 log10(P + eps) - 10 log10(P̂ + eps)``, averaged over frames.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
    sfreq : float
        Audio rate (Hz).
    hop_length : int | None, default=None
        ``None`` gives 8 ms.
    eps : float, default=1e-10
        Power floor, so silent frames in both signals count as a match.

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

    def power(y):
        spec = librosa.stft(y, n_fft=n_fft, hop_length=hop, center=True, pad_mode="constant")
        power = np.abs(spec[..., : max(n_frames, 1)])
        power *= power
        power += np.float32(eps)
        return power

    db_diff = 10.0 * np.log10(power(y_true) / power(y_pred))
    return np.sqrt(np.mean(np.square(db_diff), axis=-2, dtype=np.float64)).mean(axis=-1)


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


def similarity_matrix(y_true, y_pred, sfreq, n_mels=_N_MELS, hop_length=None):
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
        _zscore_time(_log_mel(y_pred, sfreq, hop, n_mels)),
        _zscore_time(_log_mel(y_true, sfreq, hop, n_mels)),
    )


def _similarity(zp, zt):
    """Mean over bands and frames of products of z-scored log-mel time courses."""
    n_bands, n_frames = zt.shape[-2:]
    flat_p = zp.reshape(len(zp), -1).astype(np.float64)
    flat_t = zt.reshape(len(zt), -1).astype(np.float64)
    return flat_p @ flat_t.T / (n_bands * n_frames)


def _candidate_scores(y_true, y_pred, sfreq, n_mels, hop_length):
    """Similarity of each reconstruction to each *distinct* true segment."""
    y_true, y_pred, sfreq = _check_pair(y_true, y_pred, sfreq)
    first, inverse = _unique_rows(y_true)
    if len(first) < 2:
        raise ValueError(
            "identification needs at least 2 distinct true segments in y_true; got "
            f"{len(first)} (all {len(inverse)} rows are identical)."
        )
    hop = _hop(sfreq, hop_length)
    zt = _zscore_time(_log_mel(y_true, sfreq, hop, n_mels))[first]
    zp = _zscore_time(_log_mel(y_pred, sfreq, hop, n_mels))
    return _similarity(zp, zt), inverse


def _rank_counts(scores, correct):
    """For each row: candidates scoring strictly above / exactly tied with the correct one."""
    own = scores[np.arange(len(scores)), correct][:, np.newaxis]
    above = np.sum(scores > own, axis=1)
    ties = np.sum(scores == own, axis=1) - 1
    return above, ties


def identification_accuracy_per_trial(
    y_true, y_pred, sfreq, top_k=1, n_mels=_N_MELS, hop_length=None
):
    """Whether each reconstruction identifies its own segment among the distinct ones.

    The candidates are the distinct rows of ``y_true`` (identical rows, e.g. the
    same music heard by several subjects, count once). A reconstruction is
    correct when its own segment is among the ``top_k`` candidates by
    :func:`similarity_matrix`. Ties are broken at random in expectation: a trial
    whose correct candidate ties with ``e`` others gets the probability of being
    ranked in the top ``k``, so a constant prediction scores exactly chance.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
    sfreq : float
        Audio rate (Hz).
    top_k : int, default=1
    n_mels : int, default=32
    hop_length : int | None, default=None

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
    scores, correct = _candidate_scores(y_true, y_pred, sfreq, n_mels, hop_length)
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


def rank_accuracy_per_trial(y_true, y_pred, sfreq, n_mels=_N_MELS, hop_length=None):
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
    scores, correct = _candidate_scores(y_true, y_pred, sfreq, n_mels, hop_length)
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
    y_true : ndarray, shape (n_trials, n_audio)
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
    first, _ = _unique_rows(check_audio(y_true, name="y_true"))
    return min(int(top_k), len(first)) / len(first)


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
    sim = similarity_matrix(y_true, y_pred, sfreq, n_mels=n_mels, hop_length=hop_length)
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
        ``rank_accuracy``.

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
