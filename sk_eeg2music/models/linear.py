"""Linear backward model: lagged ridge from EEG to log-mel bands or the envelope.

The math lives in small pure functions on ``(n_trials, n_channels, n_times)``
arrays; :class:`LinearDecoder` validates, calls them and stores the results.

Lag convention
--------------
A lag ``l`` (samples; seconds in ``tmin``/``tmax``) reconstructs the stimulus at
time ``t`` from the EEG at ``t + l``: positive lags mean the EEG *follows* the
stimulus, which is where the auditory response is, so the default window is
0 to 250 ms. MNE's :class:`mne.decoding.ReceptiveField` writes the same backward
model with the opposite sign (``tmin=-0.25, tmax=0``) and the delays in the
reverse order.

Lags never cross trials: the lagged copy of each trial is zero-padded at the
trial edges (after the channel means are removed), exactly as MNE does for
epoched input, so no trial's EEG ever explains another trial's music.
"""

import numbers

import librosa
import numpy as np
import scipy.fft
from scipy import linalg
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import GroupKFold, KFold, check_cv
from sklearn.utils.validation import check_is_fitted, validate_data

from ..audio import frame_envelope, log_mel_spectrogram, mel_params
from ..metrics import mel_correlation
from ..utils._validation import (
    check_audio,
    check_eeg,
    check_rate_ratio,
    check_sfreq,
    check_y_for_eeg,
)

_LOG_EPS = 1e-8  # the floor log_mel_spectrogram adds before the log
_DEFAULT_ALPHAS = np.logspace(-3, 5, 17)


# ----------------------------------------------------------------------------- lags


def lag_samples(tmin, tmax, sfreq):
    """Integer lags (samples) between ``tmin`` and ``tmax`` seconds, inclusive.

    Parameters
    ----------
    tmin, tmax : float
        Lag window in seconds; positive means the EEG follows the stimulus.
    sfreq : float
        EEG rate (Hz).

    Returns
    -------
    lags : ndarray of int, shape (n_lags,)
        ``round(tmin * sfreq)`` .. ``round(tmax * sfreq)``.
    """
    for name, value in (("tmin", tmin), ("tmax", tmax)):
        if not isinstance(value, numbers.Real) or not np.isfinite(value):
            raise ValueError(f"{name} must be a finite number of seconds; got {value!r}.")
    if tmin > tmax:
        raise ValueError(
            f"tmin must be <= tmax; got tmin={tmin} and tmax={tmax}. For a backward model "
            "the EEG follows the stimulus: use e.g. tmin=0.0, tmax=0.25."
        )
    return np.arange(int(round(tmin * sfreq)), int(round(tmax * sfreq)) + 1)


def _shift_ranges(lag, n_times):
    """Target frames ``t0:t1`` that EEG samples ``t0 + lag : t1 + lag`` explain."""
    t0, t1 = max(0, -lag), min(n_times, n_times - lag)
    return t0, t1, t0 + lag, t1 + lag


# Bound on the temporary cross-spectra (bytes) when summing over trials.
_XCORR_BLOCK_BYTES = 64 * 2**20


def lagged_xcorr(A, B, lags):
    """Cross-correlations summed over trials, at the given lags, via the FFT.

    Parameters
    ----------
    A : ndarray, shape (n_trials, n_a, n_times)
    B : ndarray, shape (n_trials, n_b, n_times)
    lags : ndarray of int, shape (n_lags,)
        Any sign; ``|lag| < n_times``.

    Returns
    -------
    R : ndarray, shape (n_lags, n_a, n_b)
        ``R[j, i, k] = sum_trials sum_s A[:, i, s + lags[j]] * B[:, k, s]``, with
        samples outside a trial counted as 0 (the FFT is zero-padded so nothing
        wraps around and no trial meets another).
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    n_trials, n_a, n_times = A.shape
    n_b = B.shape[1]
    lags = np.asarray(lags)
    n_fft = scipy.fft.next_fast_len(n_times + int(np.max(np.abs(lags))), real=True)
    n_freqs = n_fft // 2 + 1
    # Real inverse DFT restricted to the wanted lags (negative lags need no wrap).
    weights = np.exp(2j * np.pi * np.outer(lags, np.arange(n_freqs)) / n_fft) * (2.0 / n_fft)
    weights[:, 0] /= 2
    if n_fft % 2 == 0:
        weights[:, -1] /= 2
    out = np.zeros((len(lags), n_a * n_b))
    per_freq = 16 * (n_a * n_b + (n_a + n_b) * n_trials)
    step = max(1, _XCORR_BLOCK_BYTES // per_freq)
    for f0 in range(0, n_freqs, step):
        f1 = min(n_freqs, f0 + step)
        Af = scipy.fft.rfft(A, n=n_fft, axis=-1)[..., f0:f1].transpose(2, 1, 0)  # (f, a, trials)
        Bf = scipy.fft.rfft(B, n=n_fft, axis=-1)[..., f0:f1].transpose(2, 0, 1)  # (f, trials, b)
        cross = np.matmul(Af, Bf.conj()).reshape(f1 - f0, -1)  # sum over trials
        out += weights[:, f0:f1].real @ cross.real - weights[:, f0:f1].imag @ cross.imag
    return out.reshape(len(lags), n_a, n_b)


def lagged_gram(X, lags):
    """Gram matrix of the zero-padded, within-trial lagged EEG.

    Equal to ``F.T @ F`` where ``F`` (n_trials * n_times, n_channels * n_lags)
    holds, for every trial and frame ``t``, ``X[trial, c, t + lag]`` (0 outside
    the trial). The block of lags ``(l1, l2)`` is the channel cross-correlation
    at ``l2 - l1`` (one FFT pass for all of them, :func:`lagged_xcorr`) minus the
    products of the few samples that fall outside the trial for ``l1`` or ``l2``
    (the same edge correction as MNE's ``TimeDelayingRidge``).

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times)
        EEG (already mean-removed if an intercept is wanted).
    lags : ndarray of int, shape (n_lags,)
        Consecutive lags, as from :func:`lag_samples`.

    Returns
    -------
    G : ndarray, shape (n_channels * n_lags, n_channels * n_lags)
        Features ordered channel-major: index ``c * n_lags + j`` is channel ``c``
        at ``lags[j]``.
    """
    X = np.asarray(X, dtype=np.float64)
    _, n_ch, n_times = X.shape
    n_lags = len(lags)
    head_len = max(0, int(lags[-1]))  # samples cut at the start by positive lags
    tail_len = max(0, -int(lags[0]))  # ... at the end by negative lags
    # full[d][c1, c2] = sum_s X[:, c1, s] X[:, c2, s + d]
    full = lagged_xcorr(X, X, np.arange(n_lags)).transpose(0, 2, 1)
    blocks = np.empty((n_lags, n_lags, n_ch, n_ch))
    for d in range(n_lags):
        n_pairs = n_times - d
        head = _cumulative_products(X, d, 0, min(head_len, n_pairs))
        fwd = _cumulative_products(X, d, n_pairs - min(tail_len, n_pairs), n_pairs)
        tail = fwd[-1] - fwd[::-1]  # tail[k]: the last k samples before n_pairs
        for i in range(n_lags - d):
            j = i + d
            k_head = min(max(0, int(lags[i])), n_pairs)
            k_tail = min(max(0, -int(lags[j])), n_pairs)
            block = full[d] - head[k_head] - tail[k_tail]
            blocks[i, j] = block
            blocks[j, i] = block.T
    return blocks.transpose(2, 0, 3, 1).reshape(n_ch * n_lags, n_ch * n_lags)


def _cumulative_products(X, d, start, stop):
    """``out[k]``: sum over trials and the first ``k`` samples ``s`` of ``[start, stop)``
    of ``X[:, :, s] X[:, :, s + d].T``; ``out[0]`` is 0."""
    n_ch = X.shape[1]
    out = np.zeros((stop - start + 1, n_ch, n_ch))
    if stop > start:
        left = X[:, :, start:stop].transpose(2, 1, 0)  # (s, c, trials)
        right = X[:, :, start + d : stop + d].transpose(2, 0, 1)  # (s, trials, c)
        out[1:] = np.cumsum(np.matmul(left, right), axis=0)
    return out


def lagged_cross(X, Y, lags):
    """Cross-products of the lagged EEG with the targets, ``F.T @ Y``.

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times)
    Y : ndarray, shape (n_trials, n_targets, n_times)
    lags : ndarray of int, shape (n_lags,)

    Returns
    -------
    B : ndarray, shape (n_channels * n_lags, n_targets)
        Rows ordered as in :func:`lagged_gram`.
    """
    R = lagged_xcorr(X, Y, lags)  # (n_lags, n_channels, n_targets)
    return R.transpose(1, 0, 2).reshape(-1, R.shape[-1])


def lagged_sums(X, lags):
    """Column sums of the lagged design, ``F.sum(axis=0)``.

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times)
    lags : ndarray of int, shape (n_lags,)

    Returns
    -------
    s : ndarray, shape (n_channels * n_lags,)
    """
    n_times = X.shape[-1]
    out = np.empty((X.shape[1], len(lags)))
    for j, lag in enumerate(lags):
        _, _, s0, s1 = _shift_ranges(int(lag), n_times)
        out[:, j] = X[:, :, s0:s1].sum(axis=(0, 2), dtype=np.float64)
    return out.ravel()


def apply_lagged(X, coef, lags):
    """Apply lagged weights within each trial: the decoded features.

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times)
    coef : ndarray, shape (n_targets, n_channels, n_lags)
    lags : ndarray of int, shape (n_lags,)

    Returns
    -------
    Y : ndarray, shape (n_trials, n_targets, n_times)
        ``Y[n, k, t] = sum_{c, j} coef[k, c, j] * X[n, c, t + lags[j]]`` with
        samples outside the trial counted as 0.
    """
    n_trials, _, n_times = X.shape
    out = np.zeros((n_trials, coef.shape[0], n_times))
    for j, lag in enumerate(lags):
        t0, t1, s0, s1 = _shift_ranges(int(lag), n_times)
        if t1 > t0:
            out[:, :, t0:t1] += np.matmul(coef[:, :, j], X[:, :, s0:s1])
    return out


# ----------------------------------------------------------------------------- ridge


def _alpha_scale(G):
    """Mean eigenvalue of G: alphas are given relative to it (scale-free)."""
    scale = np.trace(G) / len(G)
    return scale if scale > 0 else 1.0


def ridge_path(G, B, alphas):
    """Ridge weights for every alpha from one eigendecomposition of ``G``.

    Parameters
    ----------
    G : ndarray, shape (n_features, n_features)
        Gram matrix (:func:`lagged_gram`).
    B : ndarray, shape (n_features, n_targets)
        Cross-products (:func:`lagged_cross`).
    alphas : ndarray, shape (n_alphas,) or (n_alphas, n_targets)
        Penalties relative to the mean eigenvalue of ``G``; a 2-D array gives
        each target its own alpha.

    Returns
    -------
    W : ndarray, shape (n_alphas, n_features, n_targets)
        ``(G + alpha * mean_eig * I)^+ B``; directions with a zero penalised
        eigenvalue (possible only with alpha=0) get zero weight.
    """
    eigval, eigvec = linalg.eigh(G, driver="evd", check_finite=False)
    eigval = np.clip(eigval, 0.0, None)
    proj = eigvec.T @ B  # (n_features, n_targets)
    scale = _alpha_scale(G)
    tol = len(G) * np.finfo(float).eps * max(eigval.max(), np.finfo(float).tiny)
    alphas = np.asarray(alphas, dtype=np.float64)
    out = np.empty((len(alphas),) + B.shape)
    for i, alpha in enumerate(alphas):
        denom = eigval[:, np.newaxis] + np.broadcast_to(alpha, B.shape[1:]) * scale
        inv = np.divide(1.0, denom, out=np.zeros_like(denom), where=denom > tol)
        out[i] = eigvec @ (proj * inv)
    return out


def ridge_solve(G, B, alpha):
    """Ridge weights for one alpha (relative, as in :func:`ridge_path`) by Cholesky.

    Parameters
    ----------
    G : ndarray, shape (n_features, n_features)
    B : ndarray, shape (n_features, n_targets)
    alpha : float

    Returns
    -------
    W : ndarray, shape (n_features, n_targets)
    """
    mat = G + float(alpha) * _alpha_scale(G) * np.eye(len(G))
    try:
        return linalg.solve(mat, B, assume_a="pos", check_finite=False)
    except (linalg.LinAlgError, ValueError):
        return ridge_path(G, B, [alpha])[0]


def _center(X, Y, fit_intercept):
    """Channel and target means over all samples (zeros without an intercept)."""
    if not fit_intercept:
        return X, Y, np.zeros(X.shape[1]), np.zeros(Y.shape[1])
    x_mean = X.mean(axis=(0, 2), dtype=np.float64)
    y_mean = Y.mean(axis=(0, 2), dtype=np.float64)
    return X - x_mean[:, None], Y - y_mean[:, None], x_mean, y_mean


def fit_lagged_ridge(X, Y, lags, alphas, fit_intercept=True):
    """Fit the lagged ridge for every alpha on one training set.

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times)
    Y : ndarray, shape (n_trials, n_targets, n_times)
    lags : ndarray of int, shape (n_lags,)
    alphas : ndarray, shape (n_alphas,) or (n_alphas, n_targets)
        Relative penalties (see :func:`ridge_path`).
    fit_intercept : bool, default=True
        Remove the channel and target means (of this training set) first.

    Returns
    -------
    coef : ndarray, shape (n_alphas, n_targets, n_channels, n_lags)
    x_mean : ndarray, shape (n_channels,)
    y_mean : ndarray, shape (n_targets,)
    G : ndarray, shape (n_channels * n_lags, n_channels * n_lags)
        The Gram matrix (for Haufe patterns).
    """
    Xc, Yc, x_mean, y_mean = _center(
        np.asarray(X, np.float64), np.asarray(Y, np.float64), fit_intercept
    )
    G = lagged_gram(Xc, lags)
    B = lagged_cross(Xc, Yc, lags)
    alphas = np.asarray(alphas, dtype=np.float64)
    if len(alphas) == 1 and alphas.ndim == 1:
        W = ridge_solve(G, B, alphas[0])[np.newaxis]
    else:
        W = ridge_path(G, B, alphas)
    n_ch, n_lags, n_targets = X.shape[1], len(lags), Y.shape[1]
    coef = W.reshape(len(alphas), n_ch, n_lags, n_targets).transpose(0, 3, 1, 2)
    return coef, x_mean, y_mean, G


def predict_lagged(X, coef, x_mean, y_mean, lags):
    """Decoded features of a fitted lagged ridge.

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times)
    coef : ndarray, shape (n_targets, n_channels, n_lags)
    x_mean : ndarray, shape (n_channels,)
    y_mean : ndarray, shape (n_targets,)
    lags : ndarray of int, shape (n_lags,)

    Returns
    -------
    Y : ndarray, shape (n_trials, n_targets, n_times)
    """
    Xc = np.asarray(X, np.float64) - x_mean[:, np.newaxis]
    return apply_lagged(Xc, coef, lags) + y_mean[:, np.newaxis]


def haufe_patterns(G, coef, n_samples):
    """Haufe et al. (2014) activation patterns, one decoder (target) at a time.

    For target ``k`` with weights ``w_k`` on the lagged EEG ``x`` (covariance
    ``C = G / (n_samples - 1)``), the pattern is ``C w_k / (w_k' C w_k)``: the
    covariance of each lagged channel with the decoded ``ŝ_k``, divided by the
    variance of ``ŝ_k`` (Haufe's formula for a single source).

    Parameters
    ----------
    G : ndarray, shape (n_channels * n_lags, n_channels * n_lags)
    coef : ndarray, shape (n_targets, n_channels, n_lags)
    n_samples : int
        Number of lagged samples that formed ``G``.

    Returns
    -------
    patterns : ndarray, shape (n_targets, n_channels, n_lags)
    """
    W = coef.reshape(len(coef), -1).T
    cov_w = G @ W / max(n_samples - 1, 1)
    var = np.sum(W * cov_w, axis=0)
    patterns = np.divide(cov_w, var, out=np.zeros_like(cov_w), where=var > 0)
    return patterns.T.reshape(coef.shape)


def validation_r(W, X_val, Y_val, lags):
    """Pooled Pearson r of lagged-ridge predictions, from sufficient statistics.

    The r over all frames of all validation trials between ``F_val @ W`` and
    the targets needs only ``F_val.T F_val``, ``F_val.T Y``, the column sums of
    ``F_val`` and the target moments, so every alpha is scored without forming
    a single prediction.

    Parameters
    ----------
    W : ndarray, shape (n_alphas, n_channels * n_lags, n_targets)
        Weights (:func:`ridge_path`).
    X_val : ndarray, shape (n_trials, n_channels, n_times)
        Validation EEG, centred with the *training* channel means.
    Y_val : ndarray, shape (n_trials, n_targets, n_times)
    lags : ndarray of int, shape (n_lags,)

    Returns
    -------
    r : ndarray, shape (n_alphas, n_targets)
        0 where a prediction or a target is constant.
    """
    n = X_val.shape[0] * X_val.shape[2]
    G = lagged_gram(X_val, lags)
    B = lagged_cross(X_val, Y_val, lags)
    s = lagged_sums(X_val, lags)
    sum_y = Y_val.sum(axis=(0, 2), dtype=np.float64)
    var_y = np.sum(np.square(Y_val, dtype=np.float64), axis=(0, 2)) - sum_y**2 / n
    sum_p = np.einsum("apk,p->ak", W, s)
    cov = np.einsum("apk,pk->ak", W, B) - sum_p * sum_y / n
    var_p = np.sum(W * np.matmul(G, W), axis=1) - sum_p**2 / n
    den = np.sqrt(np.clip(var_p, 0, None) * np.clip(var_y, 0, None))
    return np.divide(cov, den, out=np.zeros_like(cov), where=den > 0)


def cv_alpha_scores(X, Y, lags, alphas, splits, fit_intercept=True):
    """Validation Pearson r of every alpha, averaged over inner folds.

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times)
    Y : ndarray, shape (n_trials, n_targets, n_times)
    lags : ndarray of int, shape (n_lags,)
    alphas : ndarray, shape (n_alphas,)
    splits : list of (train, test) index arrays over trials
    fit_intercept : bool, default=True

    Returns
    -------
    scores : ndarray, shape (n_alphas, n_targets)
        Mean over folds of the per-target r, pooled over the frames of the
        validation trials (:func:`validation_r`); each fold is fitted and
        centred on its training trials only.
    """
    scores = np.zeros((len(alphas), Y.shape[1]))
    for train, test in splits:
        Xtr, Ytr, x_mean, _ = _center(X[train], Y[train], fit_intercept)
        W = ridge_path(lagged_gram(Xtr, lags), lagged_cross(Xtr, Ytr, lags), alphas)
        X_val = np.asarray(X[test], np.float64) - x_mean[:, np.newaxis]
        scores += validation_r(W, X_val, np.asarray(Y[test], np.float64), lags)
    return scores / len(splits)


def inner_splits(cv, n_trials, groups=None):
    """Inner folds over whole trials: by group when given, else contiguous blocks.

    Parameters
    ----------
    cv : int | cross-validation splitter
        An int is the number of folds (capped by the number of groups or trials).
    n_trials : int
    groups : ndarray, shape (n_trials,) | None

    Returns
    -------
    splits : list of (train, test) arrays of trial indices
    """
    dummy = np.zeros((n_trials, 1))
    if not isinstance(cv, numbers.Integral):
        return list(check_cv(cv).split(dummy, None, groups))
    if int(cv) < 2:
        raise ValueError(f"cv must be >= 2 folds or a splitter; got {cv!r}.")
    if groups is not None and len(np.unique(groups)) >= 2:
        n_splits = min(int(cv), len(np.unique(groups)))
        return list(GroupKFold(n_splits).split(dummy, None, groups))
    if n_trials >= 2:
        return list(KFold(min(int(cv), n_trials), shuffle=False).split(dummy))
    raise ValueError(
        f"choosing alpha by cross-validation needs at least 2 trials; got n_samples = "
        f"{n_trials} trial(s). Cut the recording into trials, or pass a single alpha "
        "(alphas=[1.0])."
    )


# ----------------------------------------------------------------------------- waveforms


def mel_to_waveform(logmel, audio_sfreq, hop_length, n_audio, n_iter=32, random_state=0):
    """Griffin-Lim waveforms from log-mel spectrograms, one trial at a time.

    Inverts :func:`~sk_eeg2music.audio.log_mel_spectrogram` with the same
    :func:`~sk_eeg2music.audio.mel_params` through librosa's
    ``mel_to_stft`` + ``griffinlim`` (the two halves of ``mel_to_audio``, split
    so that the phase initialisation can be seeded). Every trial starts from the
    same seed, so a trial's waveform does not depend on the batch it is in.

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
    for i, m in enumerate(mel):
        if not np.any(m > 0):
            continue  # silence in, silence out (nnls/Griffin-Lim would divide by 0)
        stft_mag = librosa.feature.inverse.mel_to_stft(m, sr=sr, n_fft=n_fft, power=power, **params)
        rng = None if random_state is None else np.random.RandomState(random_state)
        wav = librosa.griffinlim(
            stft_mag,
            n_iter=n_iter,
            hop_length=hop_length,
            n_fft=n_fft,
            center=True,
            length=n_audio,
            pad_mode="constant",
            random_state=rng,
        )
        out[i] = np.nan_to_num(wav)
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


# ----------------------------------------------------------------------------- estimator


class LinearDecoder(RegressorMixin, BaseEstimator):
    """Backward model: lagged ridge from EEG to log-mel bands or the envelope.

    The decoded features are turned into waveforms (Griffin-Lim for ``"mel"``, an
    envelope-modulated carrier for ``"envelope"``) so that the same scorers
    (:func:`sk_eeg2music.metrics.make_scorers`) compare it with any other model.

    Parameters
    ----------
    target : {"mel", "envelope"}, default="mel"
        What is decoded at the EEG rate: the log-mel spectrogram
        (:func:`~sk_eeg2music.audio.log_mel_spectrogram` with hop
        ``audio_sfreq / sfreq``) or the broadband envelope
        (:func:`~sk_eeg2music.audio.frame_envelope`).
    tmin, tmax : float, default=0.0, 0.25
        Lag window (s); positive lags use EEG that follows the stimulus. See the
        module docstring for the sign convention relative to MNE.
    sfreq : float, default=64.0
        EEG rate (Hz).
    alphas : array-like of float | None, default=None
        Ridge penalties relative to the mean eigenvalue of the lagged EEG Gram
        matrix (scale-free: the same value means the same shrinkage for data in
        volts or in z-scores). ``None`` is ``np.logspace(-3, 5, 17)``. With more
        than one, the whole path comes from one eigendecomposition per inner
        fold and the best alpha is chosen by ``cv``.
    audio_sfreq : float | None, default=None
        Audio rate (Hz); ``None`` infers ``sfreq * n_audio / n_times`` from ``y``.
    alpha_per_target : bool, default=False
        Choose one alpha per target (mel band) instead of one for all.
    cv : int | cross-validation splitter, default=5
        Inner folds for the alpha. An int gives ``GroupKFold`` over the ``groups``
        passed to ``fit`` (subjects) when there are at least two groups, else
        ``KFold`` without shuffling over whole trials (contiguous blocks of
        trials). Samples are never split individually: neighbouring frames are
        autocorrelated and would leak.
    fit_intercept : bool, default=True
        Remove the training means of channels and targets before fitting (the
        zero-padding at trial edges then pads with the mean).
    n_mels : int, default=32
        Number of mel bands for ``target="mel"``.
    envelope_power : float, default=0.5
        Compression of the envelope for ``target="envelope"``.
    n_iter : int, default=32
        Griffin-Lim iterations.
    carrier : {"pink", "white"} | float, default="pink"
        Carrier of the ``"envelope"`` waveform (noise colour or tone in Hz).
    random_state : int | None, default=0
        Seeds the Griffin-Lim phases and the noise carrier (the same seed for
        every trial, so predictions are reproducible and batch-independent).

    Attributes
    ----------
    coef_ : ndarray, shape (n_targets, n_channels, n_lags)
        Decoder weights; ``lags_[j]`` is the lag of ``coef_[..., j]``.
    patterns_ : ndarray, shape (n_targets, n_channels, n_lags)
        Haufe activation patterns (:func:`haufe_patterns`). A topography:
        ``mne.viz.plot_topomap(dec.patterns_[k, :, j], info)`` for target ``k``
        at lag ``times_[j]``.
    intercept_ : ndarray, shape (n_targets,)
        Training mean of the targets.
    channel_mean_ : ndarray, shape (n_channels,)
        Training mean of each channel (removed before lagging).
    lags_ : ndarray of int, shape (n_lags,)
        Lags in samples.
    times_ : ndarray, shape (n_lags,)
        Lags in seconds.
    alpha_ : float | ndarray, shape (n_targets,)
        Chosen relative alpha(s).
    cv_scores_ : ndarray, shape (n_alphas, n_targets) | None
        Inner-CV Pearson r per alpha and target (``None`` with a single alpha).
    alphas_ : ndarray, shape (n_alphas,)
        The alpha grid searched.
    alpha_scale_ : float
        Mean eigenvalue of the lagged Gram matrix of the training data: the
        absolute ridge penalty is ``alpha_ * alpha_scale_`` (the value to give
        ``sklearn.linear_model.Ridge`` or MNE for the same fit).
    factor_ : int
        Audio samples per EEG sample.
    audio_sfreq_ : float
        Audio rate used.
    n_features_in_ : int
        Number of channels.

    Notes
    -----
    Prediction: ``features[n, k, t] = intercept_[k] + sum_{c, j} coef_[k, c, j]
    * (X[n, c, t + lags_[j]] - channel_mean_[c])`` with samples outside the trial
    counted as 0. With 2-D ``X`` (n_trials, n_channels), each row is a
    one-sample trial (as in MNE's decoders) and only the zero lag is usable, so
    the model reduces to an instantaneous ridge (``tmin <= 0 <= tmax`` is then
    required).

    Examples
    --------
    >>> from sk_eeg2music import make_simulated
    >>> from sk_eeg2music.models import LinearDecoder
    >>> data = make_simulated("mos", n_subjects=1, segment_seconds=4.0, stimuli=["chor-019"])
    >>> dec = LinearDecoder(target="envelope", sfreq=data.sfreq, alphas=[1.0])
    >>> dec.fit(data.X, data.y).coef_.shape  # (n_targets, n_channels, n_lags)
    (1, 64, 17)
    >>> dec.predict(data.X[:2]).shape == data.y[:2].shape
    True

    Without ``alphas``, 17 penalties are compared by inner cross-validation
    (grouped by subject when ``fit`` gets ``groups=data.subject``).
    """

    def __init__(
        self,
        target="mel",
        tmin=0.0,
        tmax=0.25,
        sfreq=64.0,
        alphas=None,
        audio_sfreq=None,
        *,
        alpha_per_target=False,
        cv=5,
        fit_intercept=True,
        n_mels=32,
        envelope_power=0.5,
        n_iter=32,
        carrier="pink",
        random_state=0,
    ):
        self.target = target
        self.tmin = tmin
        self.tmax = tmax
        self.sfreq = sfreq
        self.alphas = alphas
        self.audio_sfreq = audio_sfreq
        self.alpha_per_target = alpha_per_target
        self.cv = cv
        self.fit_intercept = fit_intercept
        self.n_mels = n_mels
        self.envelope_power = envelope_power
        self.n_iter = n_iter
        self.carrier = carrier
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        # score is the band-wise mel correlation of waveforms, not R^2.
        tags.regressor_tags.poor_score = True
        return tags

    # -- validation ---------------------------------------------------------------

    def _check_params(self):
        if self.target not in ("mel", "envelope"):
            raise ValueError(f"target must be 'mel' or 'envelope'; got {self.target!r}.")
        sfreq = check_sfreq(self.sfreq)
        alphas = _DEFAULT_ALPHAS if self.alphas is None else self.alphas
        alphas = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
        if alphas.ndim != 1 or alphas.size == 0 or not np.all(np.isfinite(alphas)):
            raise ValueError(
                f"alphas must be a non-empty 1-D list of numbers; got {self.alphas!r}."
            )
        if np.any(alphas < 0):
            raise ValueError(f"alphas must be >= 0; got {alphas.tolist()}.")
        if self.envelope_power <= 0:
            raise ValueError(f"envelope_power must be > 0; got {self.envelope_power!r}.")
        return sfreq, alphas

    def _validate_X(self, X, reset):
        X = validate_data(
            self, X, reset=False, allow_nd=True, ensure_2d=False, dtype=(np.float64, np.float32)
        )
        if X.ndim == 1:
            raise ValueError(
                f"Reshape your data: X must have shape (n_trials, n_channels, n_times) or "
                f"(n_trials, n_channels); got a 1-D array of shape {X.shape}."
            )
        is_2d = X.ndim == 2
        X = check_eeg(X, allow_2d=True, dtype=np.float64)
        if reset:
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input (EEG channels); pick the training "
                "channels (same names, same order) first."
            )
        return X, is_2d

    def _lags(self, sfreq, n_times, is_2d):
        lags = lag_samples(self.tmin, self.tmax, sfreq)
        if is_2d:
            if not lags[0] <= 0 <= lags[-1]:
                raise ValueError(
                    "2-D X is read as one-sample trials, where only the zero lag exists; "
                    f"tmin <= 0 <= tmax is required, got tmin={self.tmin}, tmax={self.tmax}. "
                    "Pass 3-D X (n_trials, n_channels, n_times) to use other lags."
                )
            return np.array([0])
        if len(lags) > n_times or np.max(np.abs(lags)) >= n_times:
            raise ValueError(
                f"the lags {lags[0]}..{lags[-1]} samples (tmin={self.tmin} s, tmax={self.tmax} s "
                f"at {sfreq:g} Hz) are longer than a trial of n_times={n_times} samples; "
                "shorten the lag window or use longer trials."
            )
        return lags

    def _targets(self, y, audio_sfreq, factor):
        if self.target == "mel":
            return log_mel_spectrogram(y, audio_sfreq, factor, n_mels=self.n_mels)
        return frame_envelope(y, factor, power=self.envelope_power)[:, np.newaxis, :]

    # -- fit / predict ------------------------------------------------------------

    def fit(self, X, y, groups=None):
        """Fit the decoder, choosing alpha by inner cross-validation.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times) or (n_trials, n_channels)
            EEG.
        y : array-like, shape (n_trials, n_audio)
            Waveforms with ``n_audio = n_times * factor``; a 1-D ``y`` is read as
            one audio sample per trial.
        groups : array-like, shape (n_trials,) | None, default=None
            Subject of each trial, for the inner CV (reaches ``fit`` through
            metadata routing with ``set_fit_request(groups=True)``).

        Returns
        -------
        self : LinearDecoder
        """
        sfreq, alphas = self._check_params()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None; "
                "pass the waveforms of shape (n_trials, n_audio)."
            )
        X, is_2d = self._validate_X(X, reset=True)
        y_arr = np.asarray(y)
        y_1d = y_arr.ndim == 1
        y = check_audio(y_arr[:, np.newaxis] if y_1d else y_arr)
        factor = check_y_for_eeg(X, y)
        if self.audio_sfreq is None:
            audio_sfreq = sfreq * factor
        else:
            expected = check_rate_ratio(self.audio_sfreq, sfreq)
            if expected != factor:
                raise ValueError(
                    f"y has {factor} audio samples per EEG sample but audio_sfreq / sfreq = "
                    f"{self.audio_sfreq:g} / {sfreq:g} = {expected}; pass the matching "
                    "audio_sfreq (or None to infer it from y)."
                )
            audio_sfreq = float(self.audio_sfreq)
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape != (len(X),):
                raise ValueError(
                    f"groups must have shape (n_trials,) = ({len(X)},); got {groups.shape}."
                )
        lags = self._lags(sfreq, X.shape[-1], is_2d)
        Y = self._targets(y, audio_sfreq, factor).astype(np.float64)

        per_target = bool(self.alpha_per_target)
        if len(alphas) > 1:
            splits = inner_splits(self.cv, len(X), groups)
            scores = cv_alpha_scores(X, Y, lags, alphas, splits, self.fit_intercept)
            best = np.argmax(scores, axis=0) if per_target else np.argmax(scores.mean(axis=1))
            alpha = alphas[best]
        else:
            scores, alpha = None, alphas[0]
        alpha_grid = np.atleast_2d(alpha) if per_target and np.ndim(alpha) else [alpha]
        coef, x_mean, y_mean, G = fit_lagged_ridge(X, Y, lags, alpha_grid, self.fit_intercept)

        self.coef_ = coef[0]
        self.patterns_ = haufe_patterns(G, self.coef_, X.shape[0] * X.shape[2])
        self.intercept_ = y_mean
        self.channel_mean_ = x_mean
        self.lags_ = lags
        self.times_ = lags / sfreq
        self.alpha_ = alpha if np.ndim(alpha) == 0 else np.asarray(alpha)
        self.alphas_ = alphas
        self.alpha_scale_ = _alpha_scale(G)
        self.cv_scores_ = scores
        self.factor_ = factor
        self.audio_sfreq_ = audio_sfreq
        self._y_1d = y_1d  # predict then returns (n_trials,), like the y it was fitted on
        return self

    def predict_features(self, X):
        """Decoded features at the EEG rate.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times) or (n_trials, n_channels)

        Returns
        -------
        features : ndarray, shape (n_trials, n_targets, n_times)
            Log-mel bands (``n_targets = n_mels``) or the envelope (``n_targets = 1``).
        """
        check_is_fitted(self)
        X, _ = self._validate_X(X, reset=False)
        return predict_lagged(X, self.coef_, self.channel_mean_, self.intercept_, self.lags_)

    def predict(self, X):
        """Reconstructed waveforms.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times) or (n_trials, n_channels)

        Returns
        -------
        y_pred : ndarray, shape (n_trials, n_times * ``factor_``), float64
            Griffin-Lim from the decoded log-mel (``target="mel"``) or the
            envelope-modulated carrier (``target="envelope"``); shape
            ``(n_trials,)`` if ``fit`` got a 1-D ``y``.
        """
        feats = self.predict_features(X)
        n_audio = feats.shape[-1] * self.factor_
        if self.target == "mel":
            wave = mel_to_waveform(
                feats,
                self.audio_sfreq_,
                self.factor_,
                n_audio,
                n_iter=self.n_iter,
                random_state=self.random_state,
            )
        else:
            wave = envelope_to_waveform(
                feats[:, 0],
                self.factor_,
                power=self.envelope_power,
                carrier=self.carrier,
                audio_sfreq=self.audio_sfreq_,
                seed=self.random_state,
            )
        if not np.isfinite(wave).all():
            peak = float(np.max(np.abs(np.asarray(X, dtype=np.float64))))
            raise ValueError(
                f"The decoded waveform overflowed float32: X reaches {peak:.3g}, far beyond "
                "the training EEG. Scale the test EEG as the training EEG (same units, same "
                "preprocessing) before predict."
            )
        # float64 like every scikit-learn regressor; the arrays are small next to the EEG.
        wave = wave.astype(np.float64)
        return wave[:, 0] if self._y_1d else wave

    def score(self, X, y, sample_weight=None):
        """Band-wise log-mel correlation of the reconstructions (see :mod:`~sk_eeg2music.metrics`).

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
        y : array-like, shape (n_trials, n_audio)
        sample_weight : None, default=None
            Not supported; present for scikit-learn's signature.

        Returns
        -------
        r : float
            :func:`sk_eeg2music.metrics.mel_correlation` at ``audio_sfreq_``.
        """
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by LinearDecoder.score.")
        y_pred = self.predict(X)
        y = np.asarray(y)
        if y.ndim == 1:
            y, y_pred = y[:, np.newaxis], np.asarray(y_pred).reshape(len(y), -1)
        return mel_correlation(y, y_pred, sfreq=self.audio_sfreq_)
