"""Pure solvers of the lagged ridge (backward model) on trial arrays.

The functions work on ``(n_trials, n_channels, n_times)`` arrays and know
nothing of audio; :class:`~sk_eeg2music.models.LinearDecoder`,
:class:`~sk_eeg2music.models.ReducedRankDecoder` and the simulator's SNR
calibration all call them.

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

The lagged Gram matrix is written here rather than taken from MNE, which only
has it privately (``mne.decoding.time_delaying_ridge._compute_corrs``).
"""

import numbers

import numpy as np
import scipy.fft
from scipy import linalg
from sklearn.model_selection import GroupKFold, KFold, check_cv

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
    A, B = np.asarray(A), np.asarray(B)  # blocks are cast to float64 below, not the whole
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
    # Sum the cross-spectra over blocks of trials: one FFT per trial, and the
    # spectra of a block stay within _XCORR_BLOCK_BYTES whatever the number of trials.
    cross = np.zeros((n_freqs, n_a, n_b), dtype=np.complex128)
    step = max(1, _XCORR_BLOCK_BYTES // (16 * n_freqs * (n_a + n_b)))
    for t0 in range(0, n_trials, step):
        a, b = (np.asarray(M[t0 : t0 + step], np.float64) for M in (A, B))
        Af = scipy.fft.rfft(a, n=n_fft, axis=-1).transpose(2, 1, 0)
        Bf = scipy.fft.rfft(b, n=n_fft, axis=-1).transpose(2, 0, 1)
        cross += np.matmul(Af, Bf.conj())  # (freqs, a, b), summed over the block's trials
    cross = cross.reshape(n_freqs, -1)
    out = weights.real @ cross.real - weights.imag @ cross.imag
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
    X = np.asarray(X)  # cast to float64 piecewise below, never as a whole
    _, n_ch, n_times = X.shape
    n_lags = len(lags)
    head_len = max(0, int(lags[-1]))  # samples cut at the start by positive lags
    tail_len = max(0, -int(lags[0]))  # ... at the end by negative lags
    # full[d][c1, c2] = sum_s X[:, c1, s] X[:, c2, s + d]
    full = lagged_xcorr(X, X, np.arange(n_lags)).transpose(0, 2, 1)
    # The edge corrections touch only the first head_len + n_lags - 1 and the last
    # tail_len + n_lags - 1 samples: time-major float64 copies of those (each
    # sample's (trials, channels) matrix contiguous for BLAS), not of the whole X.
    tail_start = max(0, n_times - tail_len - n_lags + 1)
    head_t = _time_major(X[:, :, : min(n_times, head_len + n_lags - 1)])
    tail_t = _time_major(X[:, :, tail_start:])
    blocks = np.zeros((n_lags, n_lags, n_ch, n_ch))
    for d in range(n_lags):
        n_pairs = n_times - d
        if n_pairs <= 0:  # lags further apart than a trial is long share no samples
            break
        head = _cumulative_products(head_t, d, 0, min(head_len, n_pairs))
        start = n_pairs - min(tail_len, n_pairs)
        fwd = _cumulative_products(tail_t, d, start - tail_start, n_pairs - tail_start)
        tail = fwd[-1] - fwd[::-1]  # tail[k]: the last k samples before n_pairs
        for i in range(n_lags - d):
            j = i + d
            k_head = min(max(0, int(lags[i])), n_pairs)
            k_tail = min(max(0, -int(lags[j])), n_pairs)
            block = full[d] - head[k_head] - tail[k_tail]
            blocks[i, j] = block
            blocks[j, i] = block.T
    return blocks.transpose(2, 0, 3, 1).reshape(n_ch * n_lags, n_ch * n_lags)


def _time_major(X):
    """``X`` (n_trials, n_channels, n_times) as a float64 (n_times, n_trials, n_channels) array."""
    return np.ascontiguousarray(X.transpose(2, 0, 1), dtype=np.float64)


def _cumulative_products(Xt, d, start, stop):
    """``out[k]``: sum over trials and the first ``k`` samples ``s`` of ``[start, stop)``
    of ``X[:, :, s].T @ X[:, :, s + d]``; ``out[0]`` is 0. ``Xt`` is ``X`` time-major,
    shape (n_times, n_trials, n_channels)."""
    n_ch = Xt.shape[2]
    out = np.zeros((stop - start + 1, n_ch, n_ch))
    if stop > start:
        left = Xt[start:stop].transpose(0, 2, 1)  # (s, c, trials), BLAS-transposed view
        out[1:] = np.cumsum(np.matmul(left, Xt[start + d : stop + d]), axis=0)
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


def ridge_eigh(G):
    """Eigendecomposition of a Gram matrix, as :func:`ridge_path` uses it.

    Parameters
    ----------
    G : ndarray, shape (n_features, n_features)

    Returns
    -------
    eigval : ndarray, shape (n_features,)
        Eigenvalues, clipped at 0.
    eigvec : ndarray, shape (n_features, n_features)
    """
    eigval, eigvec = linalg.eigh(G, driver="evd", check_finite=False)
    return np.clip(eigval, 0.0, None), eigvec


def ridge_path(G, B, alphas, eig=None):
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
    eig : tuple of ndarray | None, default=None
        ``ridge_eigh(G)`` if already computed (the costly step).

    Returns
    -------
    W : ndarray, shape (n_alphas, n_features, n_targets)
        ``(G + alpha * mean_eig * I)^+ B``; directions with a zero penalised
        eigenvalue (possible only with alpha=0) get zero weight.
    """
    eigval, eigvec = ridge_eigh(G) if eig is None else eig
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
    """Float64 ``X`` and ``Y`` less their channel and target means over all samples.

    Without an intercept the means are zeros and the arrays are returned as
    given (the solvers cast them piecewise). With one, each centred array is a
    single float64 allocation: the subtraction casts, no float64 copy comes first.
    """
    if not fit_intercept:
        return X, Y, np.zeros(X.shape[1]), np.zeros(Y.shape[1])
    x_mean = X.mean(axis=(0, 2), dtype=np.float64)
    y_mean = Y.mean(axis=(0, 2), dtype=np.float64)
    return _center_with(X, x_mean), _center_with(Y, y_mean), x_mean, y_mean


def _center_with(X, mean):
    """Float64 ``X - mean[:, None]`` in one allocation (validation or test trials)."""
    return np.subtract(X, np.asarray(mean)[:, np.newaxis], dtype=np.float64)


def fit_lagged_ridge(X, Y, lags, alphas, fit_intercept=True, eig=None):
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
    eig : tuple of ndarray | None, default=None
        :func:`ridge_eigh` of this training set's Gram matrix, if known.

    Returns
    -------
    coef : ndarray, shape (n_alphas, n_targets, n_channels, n_lags)
    x_mean : ndarray, shape (n_channels,)
    y_mean : ndarray, shape (n_targets,)
    G : ndarray, shape (n_channels * n_lags, n_channels * n_lags)
        The Gram matrix (for Haufe patterns).
    """
    Xc, Yc, x_mean, y_mean = _center(np.asarray(X), np.asarray(Y), fit_intercept)
    G = lagged_gram(Xc, lags)
    B = lagged_cross(Xc, Yc, lags)
    alphas = np.asarray(alphas, dtype=np.float64)
    if len(alphas) == 1 and alphas.ndim == 1 and eig is None:
        W = ridge_solve(G, B, alphas[0])[np.newaxis]
    else:
        W = ridge_path(G, B, alphas, eig)
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
    return apply_lagged(_center_with(X, x_mean), coef, lags) + y_mean[:, np.newaxis]


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


def cv_alpha_scores(X, Y, lags, alphas, splits, fit_intercept=True, eigs=None):
    """Validation Pearson r of every alpha, averaged over inner folds.

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times)
    Y : ndarray, shape (n_trials, n_targets, n_times)
    lags : ndarray of int, shape (n_lags,)
    alphas : ndarray, shape (n_alphas,)
    splits : list of (train, test) index arrays over trials
    fit_intercept : bool, default=True
    eigs : list | None, default=None
        One entry per fold: its training Gram's :func:`ridge_eigh`, or None,
        which is computed and stored in the list, so that a second pass over
        the same folds (the rank CV of reduced-rank ridge) reuses it.

    Returns
    -------
    scores : ndarray, shape (n_alphas, n_targets)
        Mean over folds of the per-target r, pooled over the frames of the
        validation trials (:func:`validation_r`); each fold is fitted and
        centred on its training trials only.
    """
    scores = np.zeros((len(alphas), Y.shape[1]))
    eigs = [None] * len(splits) if eigs is None else eigs
    for i, (train, test) in enumerate(splits):
        Xtr, Ytr, x_mean, _ = _center(X[train], Y[train], fit_intercept)
        G = lagged_gram(Xtr, lags)
        if eigs[i] is None:
            eigs[i] = ridge_eigh(G)
        W = ridge_path(G, lagged_cross(Xtr, Ytr, lags), alphas, eigs[i])
        X_val = _center_with(X[test], x_mean)
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
