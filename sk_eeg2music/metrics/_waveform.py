"""Waveform-level correlations and spectral distances."""

import librosa
import numpy as np
import scipy.fft

from ..audio import frame_envelope, mel_params
from ._common import (
    _CHUNK,
    _N_MELS,
    _check_pair,
    _hop,
    _mean,
    _rowwise_pearson,
    _trimmed_log_mel,
    edge_frames,
)

# 10 / ln(10) * sqrt(2): the dB constant of the mel-cepstral distortion.
_MCD_CONST = 10.0 / np.log(10.0) * np.sqrt(2.0)


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
