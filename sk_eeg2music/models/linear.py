"""Linear backward model: lagged ridge from EEG to log-mel bands or the envelope.

:class:`LinearDecoder` validates its input and calls the pure solvers of
:mod:`sk_eeg2music.models._lagged_ridge` (lags, Gram matrices, the ridge path,
inner cross-validation), then turns the decoded features into waveforms with
:func:`sk_eeg2music.audio.mel_to_waveform` or
:func:`sk_eeg2music.audio.envelope_to_waveform`.

Lag convention
--------------
That of :mod:`sk_eeg2music.models._lagged_ridge`: a positive lag uses EEG that
*follows* the stimulus (default window 0 to 250 ms), the opposite sign of MNE's
:class:`mne.decoding.ReceptiveField` (``tmin=-0.25, tmax=0``), and lags never
cross trials.

The package keeps its sign (the lag of the response, as the stimulus
reconstruction literature plots it, and every existing ``tmin``/``tmax`` keeps its
meaning) and :class:`LinearDecoder` warns when every lag is <= 0 with at least one
< 0: that window decodes the music from EEG recorded *before* it, which cannot
respond to it yet (r close to 0), and is what MNE's way of writing the usual window
gives here. Such a window is legal (a control), so it warns rather than raises.
"""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils._param_validation import StrOptions

from ..audio import (
    envelope_to_waveform,
    frame_envelope,
    log_mel_spectrogram,
    mel_to_waveform,
)
from ._base import LaggedDecoderMixin, NumberInterval, check_alphas

# Re-exported: the solvers lived here before they moved to _lagged_ridge, and
# callers outside the models package still import them from this module.
from ._lagged_ridge import (  # noqa: F401
    _alpha_scale,
    apply_lagged,
    cv_alpha_scores,
    fit_lagged_ridge,
    haufe_patterns,
    inner_splits,
    lag_samples,
    lagged_cross,
    lagged_gram,
    lagged_sums,
    lagged_xcorr,
    predict_lagged,
    ridge_path,
    ridge_solve,
    validation_r,
)

_DEFAULT_ALPHAS = np.logspace(-3, 5, 17)


# ----------------------------------------------------------------------------- estimator


class LinearDecoder(LaggedDecoderMixin, RegressorMixin, BaseEstimator):
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
        Lag window (s); positive lags use EEG that follows the stimulus, the
        opposite sign of MNE's :class:`~mne.decoding.ReceptiveField`:
        MNE's ``tmin=-0.25, tmax=0`` is ``tmin=0.0, tmax=0.25`` here. ``fit``
        warns (``UserWarning``) when every lag is <= 0 with one < 0, a window of
        EEG that precedes the music (see the module docstring for why this
        sign is kept).
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
    counted as 0. ``X`` must be 3-D: a 2-D array raises a ``ValueError`` saying
    how to reshape it (single-channel trials ``(n_trials, n_times)`` would
    otherwise be read as ``n_times`` channels of one sample).

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

    _eeg_dtype = np.float64  # the Gram matrices and the ridge path are float64

    _parameter_constraints = {
        **LaggedDecoderMixin._parameter_constraints,
        "target": [StrOptions({"mel", "envelope"})],
        "alpha_per_target": ["boolean"],
        "envelope_power": [NumberInterval(numbers.Real, 0, None, closed="neither")],
        "carrier": [
            StrOptions({"pink", "white"}),
            NumberInterval(numbers.Real, 0, None, closed="neither"),
        ],
    }

    # -- validation ---------------------------------------------------------------

    def _alphas(self):
        # The values of an alpha grid: what the parameter constraints cannot check.
        return check_alphas(_DEFAULT_ALPHAS if self.alphas is None else self.alphas, self.alphas)

    def _lags(self, sfreq, n_times):
        lags = lag_samples(self.tmin, self.tmax, sfreq)
        if lags[-1] <= 0 and lags[0] < 0:
            warnings.warn(
                f"{type(self).__name__}(tmin={self.tmin}, tmax={self.tmax}): every lag is <= 0, "
                "so the music is decoded from EEG recorded before it, which cannot respond "
                "to it yet (expect r near 0). Here a positive lag means the EEG follows the "
                "stimulus, the opposite sign of MNE's ReceptiveField: MNE's backward model "
                f"tmin={self.tmin}, tmax={self.tmax} is written tmin={-self.tmax + 0.0}, "
                f"tmax={-self.tmin + 0.0} here.",
                UserWarning,
                stacklevel=4,  # user -> fit -> _check_fit_data -> _lags
            )
        return super()._lags(sfreq, n_times)

    def _targets(self, y, audio_sfreq, factor):
        if self.target == "mel":
            return log_mel_spectrogram(y, audio_sfreq, factor, n_mels=self.n_mels)
        return frame_envelope(y, factor, power=self.envelope_power)[:, np.newaxis, :]

    # -- fit / predict ------------------------------------------------------------

    def fit(self, X, y, groups=None):
        """Fit the decoder, choosing alpha by inner cross-validation.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
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
        self._validate_params()  # here, not @_fit_context: the lag warning names the caller
        sfreq, alphas = float(self.sfreq), self._alphas()
        X, y, y_1d, factor, audio_sfreq, groups, lags = self._check_fit_data(X, y, groups, sfreq)
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

        self._store_fit(coef[0], G, x_mean, y_mean, lags, sfreq, X.shape[0] * X.shape[2])
        self.alpha_ = alpha if np.ndim(alpha) == 0 else np.asarray(alpha)
        self.alphas_ = alphas
        self.alpha_scale_ = _alpha_scale(G)
        self.cv_scores_ = scores
        self.factor_ = factor
        self.audio_sfreq_ = audio_sfreq
        self._y_1d = y_1d  # predict then returns (n_trials,), like the y it was fitted on
        return self

    def predict(self, X):
        """Reconstructed waveforms.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)

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
