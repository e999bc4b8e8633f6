"""Audio features computed the same way everywhere in the package.

The simulator drives its sources with them, :class:`~sk_eeg2music.LinearDecoder`
decodes them, and :mod:`sk_eeg2music.metrics` scores with them, so a number
reported in one place means the same thing in the others.
"""

import numbers

import librosa
import numpy as np
import scipy.fft
import scipy.signal

from .utils._validation import check_sfreq

_LOG_EPS = 1e-8  # the floor log_mel_spectrogram adds before the log


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


# Bound on the complex spectra computed at once by log_mel_spectrogram (bytes).
_STFT_BLOCK_BYTES = 128 * 2**20


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
    n_frames = y.shape[-1] // int(hop_length)
    rows = y.reshape(-1, y.shape[-1])
    out = np.empty((len(rows), params["n_mels"], n_frames), dtype=np.float32)
    # Blocks of trials: the complex STFT of a whole training set is ~2x its audio
    # (plus the power spectrum), several GB at the real datasets' scale.
    n_bins = params["n_fft"] // 2 + 1
    step = max(1, _STFT_BLOCK_BYTES // (8 * n_bins * (n_frames + 1)))  # librosa's frames
    for i in range(0, len(rows), step):
        mel = librosa.feature.melspectrogram(
            y=rows[i : i + step], center=True, pad_mode="constant", **params
        )
        out[i : i + step] = np.log(mel[..., :n_frames] + eps)
    return out.reshape(y.shape[:-1] + out.shape[1:])


# ----------------------------------------------------------------------------- waveforms


# scipy's fmin_l_bfgs_b default: librosa.util.nnls stops when the projected gradient is below it.
_LBFGS_PGTOL = 1e-5


def _nnls_blocks(n_mels, n_frames, itemsize):
    """Frame blocks of :func:`librosa.util.nnls` (each block is one L-BFGS-B problem)."""
    n_columns = max(int(librosa.util.MAX_MEM_BLOCK // (n_mels * itemsize)), 1)
    if n_frames <= n_columns:
        return [(0, n_frames)]
    return [(s, min(s + n_columns, n_frames)) for s in range(0, n_frames, n_columns)]


def _mel_to_stft(mel, sr, n_fft, power=2.0, **mel_kwargs):
    """STFT magnitudes from mel power spectrograms, all trials at once.

    Returns what :func:`librosa.feature.inverse.mel_to_stft` returns for each
    trial, without its cost. librosa solves ``min ||A x - M||^2, x >= 0`` (``A``
    the mel basis) with scipy's L-BFGS-B, started at the clipped pseudo-inverse
    ``max(pinv(A) M, 0)``, on an objective divided by ``M.size``. For the mel
    powers of audio in [-1, 1] that scaling puts the projected gradient at the
    start under L-BFGS-B's ``pgtol`` (1e-5), so the solver stops after zero
    iterations and returns its start, after paying for one bound tuple per
    unknown and an L-BFGS memory of ``n_fft // 2 + 1`` corrections (about 0.5 s
    for a 4 s trial). Here the start and librosa's stopping test are computed
    for all trials at once; a trial whose start fails the test (louder audio) is
    solved by :func:`librosa.util.nnls` as before, so the result is the same.

    Parameters
    ----------
    mel : ndarray, shape (n_trials, n_mels, n_frames), float32
        Mel power (non-negative).
    sr : int
        Audio rate (Hz).
    n_fft : int
    power : float, default=2.0
        Exponent of the magnitude in ``mel``.
    **mel_kwargs
        Other keyword arguments of :func:`librosa.filters.mel` (``fmin``,
        ``fmax``, ``htk``, ``norm``).

    Returns
    -------
    stft_mag : ndarray, shape (n_trials, n_fft // 2 + 1, n_frames)
        Same dtype as ``mel``.
    """
    basis = librosa.filters.mel(
        sr=sr, n_fft=n_fft, n_mels=mel.shape[-2], dtype=mel.dtype, **mel_kwargs
    )
    # matmul runs one product per trial, so a trial's result does not depend on its batch.
    x = np.matmul(np.linalg.pinv(basis), mel)
    np.clip(x, 0, None, out=x)
    # The gradient librosa's L-BFGS-B sees at x (in float64, as scipy evaluates it),
    # before its 1 / block size scaling.
    basis64 = basis.astype(np.float64)
    resid = np.matmul(basis64, x) - mel
    grad = np.matmul(basis64.T, resid)
    moves = np.zeros(len(mel), dtype=bool)
    for start, stop in _nnls_blocks(mel.shape[-2], mel.shape[-1], mel.itemsize):
        x_blk = x[..., start:stop].astype(np.float64)
        g_blk = grad[..., start:stop] / (mel.shape[-2] * (stop - start))
        moves |= np.abs(np.clip(x_blk - g_blk, 0, None) - x_blk).max(axis=(-2, -1)) > _LBFGS_PGTOL
    for i in np.flatnonzero(moves):
        x[i] = librosa.util.nnls(basis, mel[i])  # L-BFGS-B would move: solve it as librosa does
    return np.power(x, 1.0 / power, out=x)


def _stft(y, n_fft, hop_length, window):
    """``librosa.stft(y, center=True, pad_mode="constant")`` in one pass, frames first.

    librosa transforms blocks of at most ``librosa.util.MAX_MEM_BLOCK`` (256 KiB),
    which splits a batch of trials into many small FFT calls; here all frames go
    to one FFT, contiguous along the FFT axis, in float32 (librosa windows and
    transforms in float64, then stores complex64: the two agree to float32
    rounding).

    Returns
    -------
    S : ndarray, shape (..., n_frames, n_fft // 2 + 1), complex64 for float32 ``y``
        The transpose of librosa's ``(..., n_fft // 2 + 1, n_frames)``.
    """
    pad = [(0, 0)] * (y.ndim - 1) + [(n_fft // 2, n_fft // 2)]
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(y, pad), n_fft, axis=-1)
    return scipy.fft.rfft(frames[..., ::hop_length, :] * window, axis=-1)


def _istft(S, n_fft, hop_length, length, window, inv_window_sum):
    """``librosa.istft(S, center=True, length=length)`` in one pass, frames first.

    ``S`` has shape ``(..., n_frames, n_fft // 2 + 1)``; ``inv_window_sum`` is
    the inverse of :func:`librosa.filters.window_sumsquare` for these frames
    (1 where that is 0), trimmed to the output, computed once per Griffin-Lim run.
    As in librosa the frames are added up in float32.
    """
    frames = scipy.fft.irfft(S, n=n_fft, axis=-1)  # (..., n_frames, n_fft), float32
    frames *= window
    n_frames = S.shape[-2]
    full = np.zeros(S.shape[:-2] + (n_fft + hop_length * n_frames + length,), dtype=np.float32)
    for t in range(n_frames):  # overlap-add
        full[..., t * hop_length : t * hop_length + n_fft] += frames[..., t, :]
    return full[..., n_fft // 2 : n_fft // 2 + length] * inv_window_sum


def _griffinlim(S, n_iter, hop_length, n_fft, length, random_state=0, momentum=0.99):
    """:func:`librosa.griffinlim` over a batch, every trial from the same seeded phases.

    The loop of librosa's ``griffinlim`` (``center=True``, zero padding, Hann
    window, the same momentum), run on all trials at once. librosa draws the
    initial phases for the whole array, so a trial's output would depend on the
    trials batched with it; here every trial starts from the phases librosa
    draws for a single trial, so the result is ``librosa.griffinlim(S[i],
    random_state=np.random.RandomState(random_state))`` for each ``i``, up to
    float32 rounding (which the iterations can grow to about 1e-2 of the peak in
    a few samples). The STFTs run on all frames at once (:func:`_stft`,
    :func:`_istft`) rather than in librosa's 256 KiB blocks.

    Parameters
    ----------
    S : ndarray, shape (n_trials, n_fft // 2 + 1, n_frames), float32
        STFT magnitudes.
    n_iter : int
    hop_length : int
    n_fft : int
    length : int
        Output length in samples.
    random_state : int | None, default=0
        Seed of the initial phases; ``None`` draws fresh phases for each trial.
    momentum : float, default=0.99

    Returns
    -------
    y : ndarray, shape (n_trials, length), float32
    """
    if random_state is None:
        phase = np.random.default_rng().random(size=S.shape)
    else:
        phase = np.random.RandomState(seed=random_state).random(size=S.shape[1:])
    # Frames first (contiguous FFT axis) inside the loop: S and the phases transposed.
    S = np.ascontiguousarray(np.swapaxes(S, -1, -2))
    angles = np.empty(S.shape, dtype=np.complex64)
    angles[:] = librosa.util.phasor(2 * np.pi * np.swapaxes(phase, -1, -2))
    eps = librosa.util.tiny(angles)
    window = scipy.signal.get_window("hann", n_fft, fftbins=True).astype(np.float32)
    window_sum = librosa.filters.window_sumsquare(
        window="hann", n_frames=S.shape[-2], n_fft=n_fft, hop_length=hop_length, dtype=np.float32
    )
    window_sum = librosa.util.fix_length(window_sum[n_fft // 2 :], size=length)
    nonzero = window_sum > librosa.util.tiny(window_sum)
    inv_window_sum = np.divide(1.0, window_sum, out=np.ones_like(window_sum), where=nonzero)
    tprev = None
    angles *= S
    for _ in range(n_iter):
        inverse = _istft(angles, n_fft, hop_length, length, window, inv_window_sum)
        rebuilt = _stft(inverse, n_fft, hop_length, window)
        if tprev is None:
            angles[:] = rebuilt
        else:
            np.multiply(tprev, -(momentum / (1 + momentum)), out=angles)
            angles += rebuilt
        # angles * S / (|angles| + eps), with the division on the real magnitudes.
        scale = np.abs(angles)
        scale += eps
        np.divide(S, scale, out=scale)
        angles *= scale
        tprev = rebuilt
    return _istft(angles, n_fft, hop_length, length, window, inv_window_sum)


# Trials per Griffin-Lim batch: bounds each of its STFT buffers to about 32 MiB.
_GL_BATCH_BYTES = 32 * 2**20


def mel_to_waveform(logmel, audio_sfreq, hop_length, n_audio, n_iter=32, random_state=0):
    """Griffin-Lim waveforms from log-mel spectrograms.

    Inverts :func:`~sk_eeg2music.audio.log_mel_spectrogram` with the same
    :func:`~sk_eeg2music.audio.mel_params`: the two halves of librosa's
    ``mel_to_audio``, the NNLS mel inversion (:func:`librosa.feature.inverse.mel_to_stft`)
    and Griffin-Lim (:func:`librosa.griffinlim`), each vectorised over trials and
    giving librosa's per-trial result (up to float32 rounding) about 7 times faster
    (``benchmarks/linear_predict.py``). Every trial starts from the same seed, so a
    trial's waveform does not depend on the batch it is in.

    Parameters
    ----------
    logmel : ndarray, shape (n_trials, n_mels, n_frames)
        Natural-log mel power.
    audio_sfreq : int
    hop_length : int
    n_audio : int
        Output length in samples.
    n_iter : int, default=32
    random_state : int | None, default=0

    Returns
    -------
    y : ndarray, shape (n_trials, n_audio), float32
    """
    params = mel_params(audio_sfreq, hop_length, n_mels=logmel.shape[-2])
    params.pop("hop_length")
    params.pop("n_mels")
    sr, n_fft, power = params.pop("sr"), params.pop("n_fft"), params.pop("power")
    mel = np.clip(np.exp(logmel.astype(np.float64)) - _LOG_EPS, 0.0, None).astype(np.float32)
    # A centred STFT of n_audio samples has 1 + n_audio // hop frames; the log-mel
    # keeps n_audio // hop of them, so the last one is repeated for the inversion.
    n_stft = 1 + n_audio // hop_length
    mel = np.concatenate(
        [mel[..., :n_stft], np.repeat(mel[..., -1:], max(0, n_stft - mel.shape[-1]), axis=-1)],
        axis=-1,
    )
    out = np.zeros((len(mel), n_audio), dtype=np.float32)
    # Silence in, silence out (the inversion and Griffin-Lim would divide by 0).
    sounding = np.flatnonzero(np.any(mel > 0, axis=(-2, -1)))
    step = max(1, _GL_BATCH_BYTES // (8 * (n_fft // 2 + 1) * mel.shape[-1]))
    for start in range(0, len(sounding), step):
        idx = sounding[start : start + step]
        stft_mag = _mel_to_stft(mel[idx], sr=sr, n_fft=n_fft, power=power, **params)
        wav = _griffinlim(stft_mag, n_iter, hop_length, n_fft, n_audio, random_state)
        out[idx] = np.nan_to_num(wav)
    return out


def _carrier(kind, n_audio, audio_sfreq, random_state):
    """Unit-RMS carrier: pink or white noise, or a tone at ``kind`` Hz."""
    if isinstance(kind, numbers.Real) and not isinstance(kind, bool):
        t = np.arange(n_audio) / audio_sfreq
        return np.sqrt(2.0) * np.sin(2 * np.pi * float(kind) * t)
    rng = np.random.default_rng(0 if random_state is None else random_state)
    white = rng.standard_normal(n_audio)
    if kind == "white":
        return white
    if kind != "pink":
        raise ValueError(f"carrier must be 'pink', 'white' or a frequency in Hz; got {kind!r}.")
    spec = np.fft.rfft(white)
    freqs = np.arange(len(spec), dtype=np.float64)
    spec[1:] /= np.sqrt(freqs[1:])  # 1/f power
    spec[0] = 0.0
    pink = np.fft.irfft(spec, n=n_audio)
    rms = np.sqrt(np.mean(pink**2))
    return pink / rms if rms > 0 else white


def envelope_to_waveform(env, factor, power=0.5, carrier="pink", audio_sfreq=None, seed=0):
    """A carrier modulated by a decoded envelope.

    Undoes the compression of :func:`~sk_eeg2music.audio.frame_envelope`
    (negative decoded values are clipped to 0), interpolates linearly from the
    frame rate to the audio rate and multiplies a unit-RMS carrier, so that the
    frame envelope of the output is close to ``env``.

    Parameters
    ----------
    env : ndarray, shape (n_trials, n_frames)
    factor : int
        Audio samples per frame.
    power : float, default=0.5
    carrier : {"pink", "white"} | float, default="pink"
        Noise colour, or a tone frequency in Hz.
    audio_sfreq : float | None
        Needed for a tone carrier.
    seed : int | None, default=0
        Seeds the noise carrier (the same carrier for every trial).

    Returns
    -------
    y : ndarray, shape (n_trials, n_frames * factor), float32
    """
    n_trials, n_frames = env.shape
    n_audio = n_frames * factor
    amp = np.clip(env.astype(np.float64), 0.0, None) ** (1.0 / power)
    pos = (np.arange(n_audio) + 0.5) / factor - 0.5
    i0 = np.clip(np.floor(pos).astype(int), 0, n_frames - 1)
    i1 = np.clip(i0 + 1, 0, n_frames - 1)
    w = np.clip(pos - i0, 0.0, 1.0)
    amp_audio = amp[:, i0] * (1.0 - w) + amp[:, i1] * w
    wave = amp_audio * _carrier(carrier, n_audio, audio_sfreq or factor, seed)
    return wave.astype(np.float32)
