"""Reduced-rank lagged ridge: the strongest linear backward model of the package.

Plain lagged ridge (:class:`~sk_eeg2music.models.LinearDecoder`) fits every mel
band on its own. The bands of music move together (a note switches on several
bands at once), so the decodable part of the log-mel has few dimensions, and a
model that keeps only those shares the EEG evidence across bands and drops the
noise fitted in the rest. :class:`ReducedRankDecoder` is reduced-rank ridge
regression (Mukherjee & Zhu 2011): a lagged ridge with one penalty per mel band,
whose predictions are projected on their ``rank`` leading principal
directions. Penalties and rank are both chosen by inner cross-validation over
whole trials, grouped by subject when ``groups`` is given, on the training data
only.

The lag convention is the package's (:mod:`sk_eeg2music.models._lagged_ridge`): a lag
``l`` reconstructs the music at ``t`` from the EEG at ``t + l``, so the default
``tmin=-0.1, tmax=0.5`` reads the EEG from 0.1 s before to 0.5 s after each
music frame: the brain responds after the sound, and the negative lags absorb
anticipation and filter delays.

References
----------
Mukherjee, A. & Zhu, J. (2011). Reduced rank ridge regression and its kernel
extensions. Statistical Analysis and Data Mining 4(6), 612-622.
"""

import numbers

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context

from ..audio import log_mel_spectrogram, mel_to_waveform
from ._base import LaggedDecoderMixin, NumberInterval, check_alphas
from ._lagged_ridge import (
    _center_with,
    cv_alpha_scores,
    fit_lagged_ridge,
    inner_splits,
    validation_r,
)

# The penalty grid of LinearDecoder (relative to the mean eigenvalue of the Gram matrix).
_ALPHAS = np.logspace(-3, 5, 17)


def reduced_rank_weights(W, G, y_scale, ranks):
    """Project ridge weights on the leading directions of their fitted values.

    With standardised targets ``Z = Y / y_scale``, the ridge fit ``Z_hat = F W /
    y_scale`` has the covariance ``C = (W / y_scale)' G (W / y_scale)``
    (``G = F' F``). Reduced-rank ridge keeps ``Z_hat V_r V_r'``, ``V_r`` the
    ``r`` leading eigenvectors of ``C``; in the units of ``Y`` the weights are
    ``W P_r`` with ``P_r = diag(1 / y_scale) V_r V_r' diag(y_scale)``.
    Standardising first lets every band count alike in the directions kept.

    Parameters
    ----------
    W : ndarray, shape (n_features, n_targets)
        Ridge weights on the lagged EEG (rows ordered as in
        :func:`~sk_eeg2music.models._lagged_ridge.lagged_gram`).
    G : ndarray, shape (n_features, n_features)
        Gram matrix of the (centred) lagged training EEG.
    y_scale : ndarray, shape (n_targets,)
        Standard deviation of each target (0 is read as 1).
    ranks : sequence of int
        Ranks, each in ``1 .. n_targets``.

    Returns
    -------
    W_r : ndarray, shape (n_ranks, n_features, n_targets)
        Weights of rank ``ranks[i]`` (rank ``n_targets`` returns ``W``).
    """
    scale = np.where(y_scale > 0, y_scale, 1.0)
    Wz = W / scale
    cov = Wz.T @ G @ Wz
    _, vecs = linalg.eigh((cov + cov.T) / 2)
    vecs = vecs[:, ::-1]  # leading directions first
    out = np.empty((len(ranks),) + W.shape)
    for i, rank in enumerate(ranks):
        V = vecs[:, :rank]
        out[i] = (Wz @ V @ V.T) * scale
    return out


def rank_cv_scores(X, Y, lags, alpha, ranks, splits, fit_intercept=True, eigs=None):
    """Validation Pearson r of every rank, averaged over inner folds.

    Each fold fits the lagged ridge (per-target penalties ``alpha``) on its
    training trials, reduces it to every rank (:func:`reduced_rank_weights`,
    target scales from those trials) and scores the validation trials with
    :func:`~sk_eeg2music.models._lagged_ridge.validation_r`.

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times)
    Y : ndarray, shape (n_trials, n_targets, n_times)
    lags : ndarray of int, shape (n_lags,)
    alpha : ndarray, shape (n_targets,)
        Relative penalty of each target.
    ranks : sequence of int
    splits : list of (train, test) index arrays over trials
    fit_intercept : bool, default=True
    eigs : list | None, default=None
        Per fold, the training Gram's eigendecomposition or None (see
        :func:`~sk_eeg2music.models._lagged_ridge.cv_alpha_scores`).

    Returns
    -------
    scores : ndarray, shape (n_ranks, n_targets)
    """
    scores = np.zeros((len(ranks), Y.shape[1]))
    eigs = [None] * len(splits) if eigs is None else eigs
    for i, (train, test) in enumerate(splits):
        coef, x_mean, _, G = fit_lagged_ridge(
            X[train], Y[train], lags, alpha[np.newaxis], fit_intercept, eigs[i]
        )
        W = coef[0].reshape(len(coef[0]), -1).T
        W_r = reduced_rank_weights(W, G, Y[train].std(axis=(0, 2)), ranks)
        X_val = _center_with(X[test], x_mean)
        scores += validation_r(W_r, X_val, np.asarray(Y[test], np.float64), lags)
    return scores / len(splits)


def default_ranks(n_targets):
    """Candidate ranks: the powers of 2 below ``n_targets``, and ``n_targets``.

    Returns
    -------
    ranks : ndarray of int, shape (n_ranks,)
    """
    ranks = [r for r in 2 ** np.arange(int(np.log2(n_targets)) + 1) if r < n_targets]
    return np.asarray(ranks + [n_targets])


def fit_reduced_rank(X, Y, lags, alphas, ranks, splits, fit_intercept=True):
    """Reduced-rank lagged ridge: penalties and rank by inner CV, then a fit on all trials.

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times)
    Y : ndarray, shape (n_trials, n_targets, n_times)
    lags : ndarray of int, shape (n_lags,)
    alphas : ndarray, shape (n_alphas,)
        Relative penalties; one per target is chosen when ``n_alphas > 1``.
    ranks : ndarray of int, shape (n_ranks,)
        Candidate ranks; the first is used when ``n_ranks == 1``.
    splits : list of (train, test) index arrays over trials
        Inner folds (:func:`~sk_eeg2music.models._lagged_ridge.inner_splits`);
        may be empty when there is nothing to choose.
    fit_intercept : bool, default=True

    Returns
    -------
    fit : dict
        ``coef`` (n_targets, n_channels, n_lags), ``x_mean`` (n_channels,),
        ``y_mean`` (n_targets,), ``gram`` (n_channels * n_lags,) * 2, ``alpha``
        (n_targets,), ``alpha_scores`` (n_alphas, n_targets) or None, ``rank``
        (int) and ``rank_scores`` (n_ranks,) or None.
    """
    alpha_scores = rank_scores = None
    alpha = np.full(Y.shape[1], alphas[0])
    eigs = [None] * len(splits)  # each fold's eigendecomposition serves both passes
    if len(alphas) > 1:
        alpha_scores = cv_alpha_scores(X, Y, lags, alphas, splits, fit_intercept, eigs)
        alpha = alphas[np.argmax(alpha_scores, axis=0)]
    rank = int(ranks[0])
    if len(ranks) > 1:
        scores = rank_cv_scores(X, Y, lags, alpha, ranks, splits, fit_intercept, eigs)
        rank_scores = scores.mean(axis=1)
        rank = int(ranks[np.argmax(rank_scores)])
    coef, x_mean, y_mean, G = fit_lagged_ridge(X, Y, lags, alpha[np.newaxis], fit_intercept)
    W = coef[0].reshape(len(coef[0]), -1).T
    W_r = reduced_rank_weights(W, G, Y.std(axis=(0, 2)), [rank])[0]
    return dict(
        coef=W_r.T.reshape(coef[0].shape),
        x_mean=x_mean,
        y_mean=y_mean,
        gram=G,
        alpha=alpha,
        alpha_scores=alpha_scores,
        rank=rank,
        rank_scores=rank_scores,
    )


class ReducedRankDecoder(LaggedDecoderMixin, RegressorMixin, BaseEstimator):
    """Backward model: reduced-rank lagged ridge from EEG to log-mel bands.

    One ridge penalty per mel band and the rank of the model are chosen by
    inner cross-validation over whole trials (grouped by subject when ``fit``
    gets ``groups``), on the training data only; then the decoded log-mel is
    synthesised by Griffin-Lim as in :class:`~sk_eeg2music.models.LinearDecoder`.
    See the module docstring for the method and the lag convention.

    Parameters
    ----------
    tmin, tmax : float, default=-0.1, 0.5
        Lag window (s); positive lags use EEG that follows the music (the
        package's sign, the opposite of MNE's ``ReceptiveField``).
    sfreq : float, default=64.0
        EEG rate (Hz).
    rank : int | array-like of int | None, default=None
        Rank of the model, or the candidate ranks compared by inner CV.
        ``None`` compares 1, 2, 4, 8, ... and ``n_mels`` (full rank: plain
        ridge with per-band penalties).
    alphas : array-like of float | None, default=None
        Candidate ridge penalties, relative to the mean eigenvalue of the lagged
        Gram matrix as in :class:`~sk_eeg2music.models.LinearDecoder`; each band
        takes its best one. ``None`` is ``np.logspace(-3, 5, 17)``.
    audio_sfreq : float | None, default=None
        Audio rate (Hz); ``None`` infers ``sfreq * n_audio / n_times`` from ``y``.
    cv : int | cross-validation splitter, default=5
        Inner folds, over whole trials: an int gives ``GroupKFold`` over the
        ``groups`` passed to ``fit`` when there are at least two, else ``KFold``
        over contiguous blocks of trials
        (:func:`~sk_eeg2music.models._lagged_ridge.inner_splits`).
    fit_intercept : bool, default=True
        Remove the training means of channels and bands first.
    n_mels : int, default=32
        Mel bands decoded.
    n_iter : int, default=32
        Griffin-Lim iterations.
    random_state : int | None, default=0
        Seeds the Griffin-Lim phases.

    Attributes
    ----------
    coef_ : ndarray, shape (n_mels, n_channels, n_lags)
        Decoder weights (rank ``rank_`` as a map from lagged EEG to bands).
    patterns_ : ndarray, shape (n_mels, n_channels, n_lags)
        Haufe activation patterns of ``coef_``.
    intercept_ : ndarray, shape (n_mels,)
        Training mean of the bands.
    channel_mean_ : ndarray, shape (n_channels,)
    lags_ : ndarray of int, shape (n_lags,)
    times_ : ndarray, shape (n_lags,)
        Lags in seconds.
    alpha_ : ndarray, shape (n_mels,)
        Relative penalty chosen for each band.
    alphas_ : ndarray, shape (n_alphas,)
    alpha_scores_ : ndarray, shape (n_alphas, n_mels) | None
        Inner-CV r of each penalty and band (``None`` with one penalty).
    rank_ : int
        Rank chosen.
    ranks_ : ndarray of int, shape (n_ranks,)
    rank_scores_ : ndarray, shape (n_ranks,) | None
        Inner-CV r of each rank, averaged over bands (``None`` with one rank).
    factor_ : int
        Audio samples per EEG sample.
    audio_sfreq_ : float
    n_features_in_ : int
        Number of channels.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.models import ReducedRankDecoder
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((8, 4, 128)).astype(np.float32)  # 2 s at 64 Hz
    >>> y = rng.standard_normal((8, 128 * 125)).astype(np.float32)  # audio at 8 kHz
    >>> dec = ReducedRankDecoder(rank=[1, 4], alphas=[1.0, 100.0], cv=2).fit(X, y)
    >>> dec.coef_.shape, dec.alpha_.shape  # (n_mels, n_channels, n_lags), one per band
    ((32, 4, 39), (32,))
    >>> dec.predict_features(X[:2]).shape, dec.predict(X[:2]).shape
    ((2, 32, 128), (2, 16000))
    """

    def __init__(
        self,
        tmin=-0.1,
        tmax=0.5,
        sfreq=64.0,
        rank=None,
        alphas=None,
        audio_sfreq=None,
        *,
        cv=5,
        fit_intercept=True,
        n_mels=32,
        n_iter=32,
        random_state=0,
    ):
        self.tmin = tmin
        self.tmax = tmax
        self.sfreq = sfreq
        self.rank = rank
        self.alphas = alphas
        self.audio_sfreq = audio_sfreq
        self.cv = cv
        self.fit_intercept = fit_intercept
        self.n_mels = n_mels
        self.n_iter = n_iter
        self.random_state = random_state

    _eeg_dtype = np.float64  # the Gram matrices and the ridge path are float64

    _parameter_constraints = {
        **LaggedDecoderMixin._parameter_constraints,
        "rank": ["array-like", NumberInterval(numbers.Integral, 1, None, closed="left"), None],
    }

    # -- validation ---------------------------------------------------------------

    def _check_params(self):
        # The values the parameter constraints cannot check: the alpha grid, and
        # ranks against n_mels.
        sfreq = float(self.sfreq)
        alphas = check_alphas(_ALPHAS if self.alphas is None else self.alphas, self.alphas)
        n_mels = self.n_mels
        if self.rank is None:
            ranks = default_ranks(n_mels)
        else:
            ranks = np.atleast_1d(np.asarray(self.rank))
            if (
                ranks.ndim != 1
                or ranks.size == 0
                or ranks.dtype.kind not in "iu"
                or np.any(ranks < 1)
                or np.any(ranks > n_mels)
            ):
                raise ValueError(
                    f"rank must be an integer (or a list of them) between 1 and n_mels={n_mels}; "
                    f"got {self.rank!r}."
                )
            ranks = np.unique(ranks)
        return sfreq, alphas, ranks

    # -- fit / predict ------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, groups=None):
        """Choose the band penalties and the rank by inner CV, then fit on all trials.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
            EEG.
        y : array-like, shape (n_trials, n_audio)
            Waveforms, ``n_audio = n_times * factor``.
        groups : array-like, shape (n_trials,) | None, default=None
            Subject of each trial, for the inner CV (reaches ``fit`` through
            metadata routing with ``set_fit_request(groups=True)``).

        Returns
        -------
        self : ReducedRankDecoder
        """
        sfreq, alphas, ranks = self._check_params()
        X, y, _, factor, audio_sfreq, groups, lags = self._check_fit_data(
            X, y, groups, sfreq, allow_1d=False
        )
        # The features of LinearDecoder(target="mel"): one log-mel frame per EEG sample.
        Y = log_mel_spectrogram(y, audio_sfreq, factor, n_mels=self.n_mels).astype(np.float64)

        splits = inner_splits(self.cv, len(X), groups) if len(alphas) + len(ranks) > 2 else []
        fit = fit_reduced_rank(X, Y, lags, alphas, ranks, splits, self.fit_intercept)
        coef, G, alpha, rank = fit["coef"], fit["gram"], fit["alpha"], fit["rank"]
        x_mean, y_mean = fit["x_mean"], fit["y_mean"]
        alpha_scores, rank_scores = fit["alpha_scores"], fit["rank_scores"]
        self._store_fit(coef, G, x_mean, y_mean, lags, sfreq, X.shape[0] * X.shape[2])
        self.alpha_ = alpha
        self.alphas_ = alphas
        self.alpha_scores_ = alpha_scores
        self.rank_ = rank
        self.ranks_ = ranks
        self.rank_scores_ = rank_scores
        self.factor_ = factor
        self.audio_sfreq_ = audio_sfreq
        return self

    def predict(self, X):
        """Reconstructed waveforms: Griffin-Lim from the decoded log-mel.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)

        Returns
        -------
        y_pred : ndarray, shape (n_trials, n_times * ``factor_``), float64
        """
        feats = self.predict_features(X)
        wave = mel_to_waveform(
            feats,
            self.audio_sfreq_,
            self.factor_,
            feats.shape[-1] * self.factor_,
            n_iter=self.n_iter,
            random_state=self.random_state,
        )
        return wave.astype(np.float64)
