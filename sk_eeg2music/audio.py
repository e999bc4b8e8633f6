"""Audio features computed the same way everywhere in the package.

The simulator drives its sources with them, :class:`~sk_eeg2music.LinearDecoder`
decodes them, and :mod:`sk_eeg2music.metrics` scores with them, so a number
reported in one place means the same thing in the others.
"""

import librosa
import numpy as np

from .utils._validation import check_sfreq


def frame_envelope(y, hop_length, power=0.5):
    """Broadband amplitude envelope, one value per hop of audio samples.

    Parameters
    ----------
    y : ndarray, shape (..., n_audio)
        Waveforms; ``n_audio`` must be a multiple of ``hop_length``.
    hop_length : int
        Audio samples per envelope frame (``audio_sfreq / sfreq`` gives an envelope
        at the EEG rate).
    power : float, default=0.5
        Compression exponent applied to the frame RMS (0.5 is close to the loudness
        compression used for envelope decoding; 1.0 gives the plain RMS).

    Returns
    -------
    env : ndarray, shape (..., n_audio // hop_length)

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.audio import frame_envelope
    >>> y = np.random.default_rng(0).standard_normal((2, 8000)).astype(np.float32)
    >>> frame_envelope(y, hop_length=125).shape  # 8 kHz audio -> 64 Hz envelope
    (2, 64)
    >>> frame_envelope(np.full((1, 250), 4.0), hop_length=125, power=1.0)  # plain RMS
    array([[4., 4.]])
    """
    y = np.asarray(y)
    hop_length = int(hop_length)
    n_frames = y.shape[-1] // hop_length
    if n_frames < 1:
        raise ValueError(
            f"waveforms of {y.shape[-1]} samples are shorter than one hop ({hop_length})."
        )
    frames = y[..., : n_frames * hop_length].reshape(*y.shape[:-1], n_frames, hop_length)
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=-1))
    return (rms**power).astype(y.dtype if y.dtype.kind == "f" else np.float64)


def mel_params(audio_sfreq, hop_length, n_mels=None, fmin=30.0, fmax=None):
    """Default mel-spectrogram parameters for a sampling rate and hop.

    Parameters
    ----------
    audio_sfreq : int
        Audio rate (Hz).
    hop_length : int
        Hop in audio samples.
    n_mels : int | None, default=None
        Number of mel bands; ``None`` gives 32 bands.
    fmin : float, default=30.0
        Lower edge of the lowest band (Hz).
    fmax : float | None, default=None
        Upper edge of the highest band (Hz); ``None`` is Nyquist.

    Returns
    -------
    params : dict
        Keyword arguments for :func:`librosa.feature.melspectrogram`.

    Examples
    --------
    >>> from sk_eeg2music.audio import mel_params
    >>> params = mel_params(8000, hop_length=125)
    >>> params["n_fft"], params["n_mels"], params["fmax"]
    (256, 32, 4000.0)
    """
    audio_sfreq = check_sfreq(audio_sfreq, "audio_sfreq")
    hop_length = int(hop_length)
    # The window spans at least two hops so neighbouring frames overlap (needed
    # by Griffin-Lim) and at least 32 ms so the low bands resolve pitch.
    n_fft = 1 << int(np.ceil(np.log2(max(2 * hop_length, 0.032 * audio_sfreq))))
    return dict(
        sr=int(audio_sfreq),
        n_fft=n_fft,
        hop_length=hop_length,
        n_mels=32 if n_mels is None else int(n_mels),
        fmin=float(fmin),
        fmax=audio_sfreq / 2 if fmax is None else float(fmax),
        htk=False,
        norm="slaney",
        power=2.0,
    )


def log_mel_spectrogram(y, audio_sfreq, hop_length, n_mels=None, fmin=30.0, fmax=None, eps=1e-8):
    """Log-mel spectrogram with exactly ``n_audio // hop_length`` frames.

    Parameters
    ----------
    y : ndarray, shape (..., n_audio)
        Waveforms.
    audio_sfreq : int
        Audio rate (Hz).
    hop_length : int
        Hop in audio samples; ``audio_sfreq / sfreq`` gives one frame per EEG sample.
    n_mels : int | None, default=None
        Number of mel bands; ``None`` gives 32 bands.
    fmin : float, default=30.0
        Lower edge of the lowest band (Hz).
    fmax : float | None, default=None
        Upper edge of the highest band (Hz); ``None`` is Nyquist.
    eps : float, default=1e-8
        Floor added to the power before the log.

    Returns
    -------
    logmel : ndarray, shape (..., n_mels, n_audio // hop_length)
        Natural log of the Slaney-normalised mel power.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.audio import log_mel_spectrogram
    >>> y = np.random.default_rng(0).standard_normal((2, 8000))
    >>> logmel = log_mel_spectrogram(y, audio_sfreq=8000, hop_length=125)
    >>> logmel.shape, logmel.dtype  # one frame per 64 Hz EEG sample
    ((2, 32, 64), dtype('float32'))
    """
    y = np.asarray(y, dtype=np.float32)
    params = mel_params(audio_sfreq, hop_length, n_mels, fmin, fmax)
    mel = librosa.feature.melspectrogram(y=y, center=True, pad_mode="constant", **params)
    n_frames = y.shape[-1] // int(hop_length)
    return np.log(mel[..., :n_frames] + eps).astype(np.float32)
