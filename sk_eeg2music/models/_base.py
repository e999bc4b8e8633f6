"""What every EEG estimator of the package shares: EEG validation, ``n_features_in_``, tags.

Decoders (:class:`~sk_eeg2music.models.LinearDecoder`, the baselines, ...) and
the preprocessing transformers all take EEG of shape ``(n_trials, n_channels,
n_times)``, and the channels are their features: ``n_features_in_`` is the
number of channels seen in ``fit``. :class:`EEGEstimatorMixin` validates the
input once, in one way, with :func:`~sk_eeg2music.utils.check_eeg`;
:class:`EEGDecoderMixin` adds what the decoders share (2-D EEG refused, the
waveforms ``y``, the target tags, ``score``, the checks expected to fail on 2-D
data) and :class:`LaggedDecoderMixin` what the lagged-ridge decoders share.

Parameters are declared in ``_parameter_constraints`` (scikit-learn's
parameter validation, with :class:`NumberInterval` for numbers); the checks
left in the estimators' code are those across parameters or on array values.
"""

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ..metrics import mel_correlation
from ..utils._validation import (
    check_audio,
    check_eeg,
    check_rate_ratio,
    check_y_for_eeg,
    expected_failed_checks_2d_eeg,
)
from ._lagged_ridge import haufe_patterns, lag_samples, predict_lagged


class NumberInterval(Interval):
    """A parameter constraint: a number in an interval, booleans excluded.

    :class:`sklearn.utils._param_validation.Interval` accepts ``True`` as the
    number 1; a sampling rate or a threshold given as ``True`` is a mistake.
    Same arguments and messages as ``Interval``.
    """

    def is_satisfied_by(self, val):
        return not isinstance(val, (bool, np.bool_)) and super().is_satisfied_by(val)


def check_alphas(alphas, given=None):
    """A ridge-penalty grid as a non-empty 1-D float64 array of finite values >= 0.

    The parameter constraints of the decoders check the type (array-like or a
    number); this checks the values.

    Parameters
    ----------
    alphas : float | array-like of float
        Penalty or penalties.
    given : object, default=None
        What the user passed, for the error message (``alphas`` when ``None``).

    Returns
    -------
    alphas : ndarray, shape (n_alphas,)
    """
    given = alphas if given is None else given
    try:
        arr = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    except (TypeError, ValueError):
        arr = np.empty((0, 0))
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"alphas must be a non-empty 1-D list of numbers; got {given!r}.")
    if np.any(arr < 0):
        raise ValueError(f"alphas must be >= 0; got {arr.tolist()}.")
    return arr


class EEGEstimatorMixin:
    """EEG input ``(n_trials, n_channels, n_times)``: validation, ``n_features_in_``, tags.

    Put it first in the bases (before scikit-learn's mixins and
    :class:`~sklearn.base.BaseEstimator`), as scikit-learn's own mixins go.
    The class attributes say how the input is read:

    ``_eeg_dtype``
        dtype of the validated array (``numpy.float32``, the package's EEG dtype,
        unless the estimator computes in float64).
    ``_eeg_allow_2d``
        ``True`` for transformers: a 2-D ``(n_trials, n_features)`` array is read
        as ``(n_trials, n_features, 1)``, as MNE's decoding transformers do.
        ``False`` for decoders, where a 2-D array is refused with a hint (it is
        ambiguous: single-channel trials would become ``n_times`` channels).
    """

    _eeg_dtype = np.float32
    _eeg_allow_2d = False

    def _check_eeg(self, X, *, reset):
        """Validate EEG; record (``reset=True``) or check the channel count.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
            EEG (or ``(n_trials, n_features)`` when ``_eeg_allow_2d``).
        reset : bool
            ``True`` in ``fit``: set ``n_features_in_`` to the number of channels.
            ``False`` elsewhere: the channels must match ``n_features_in_`` (when
            it is set: stateless transformers work before ``fit``).

        Returns
        -------
        X : ndarray, shape (n_trials, n_channels, n_times)
            C-contiguous, of dtype ``_eeg_dtype``.
        """
        n_channels = None if reset else getattr(self, "n_features_in_", None)
        X = check_eeg(
            X,
            dtype=self._eeg_dtype,
            allow_2d=self._eeg_allow_2d,
            n_channels=n_channels,
            estimator=type(self).__name__,
        )
        if reset:
            self.n_features_in_ = X.shape[1]
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        # two_d_array stays True even where 2-D X is refused: with False scikit-learn
        # skips every generic check; those that need 2-D X are expected failures.
        return tags


class EEGDecoderMixin(EEGEstimatorMixin):
    """EEG to waveforms: 3-D EEG only, waveforms ``y`` required, score not R².

    Adds to :class:`EEGEstimatorMixin` the target tags of the decoders, their
    expected failures among scikit-learn's generic checks (those that fit on
    2-D ``X``, :func:`~sk_eeg2music.utils._validation.expected_failed_checks_2d_eeg`)
    and the validation of the waveforms ``y``.
    """

    def _require_y(self, y):
        """Refuse ``y=None`` (in scikit-learn's words), before ``X`` is looked at."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None; "
                "pass the waveforms of shape (n_trials, n_audio)."
            )

    def _check_waveforms(self, y, *, allow_1d=True):
        """Validate waveforms ``y`` of shape ``(n_trials, n_audio)``.

        Parameters
        ----------
        y : array-like, shape (n_trials, n_audio) or (n_trials,)
            With ``allow_1d``, a 1-D ``y`` is read as one audio sample per trial.
        allow_1d : bool, default=True
            Accept 1-D ``y`` (else it is refused as not 2-D).

        Returns
        -------
        y : ndarray, shape (n_trials, n_audio), float32
        y_1d : bool
            Whether ``y`` was 1-D (``predict`` then returns 1-D too).
        """
        self._require_y(y)
        y = np.asarray(y)
        y_1d = allow_1d and y.ndim == 1
        return check_audio(y[:, np.newaxis] if y_1d else y), y_1d

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
            raise ValueError(f"sample_weight is not supported by {type(self).__name__}.score.")
        y_pred = self.predict(X)
        y = np.asarray(y)
        if y.ndim == 1:  # one audio sample per trial (a 1-D y in fit)
            y, y_pred = y[:, np.newaxis], np.asarray(y_pred).reshape(len(y), -1)
        return mel_correlation(y, y_pred, sfreq=self.audio_sfreq_)

    def _expected_failed_checks(self):
        # Hook of tests/test_common.py: the generic checks that need 2-D X.
        return expected_failed_checks_2d_eeg(self)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        # score is the band-wise mel correlation of waveforms, not R^2.
        tags.regressor_tags.poor_score = True
        return tags


class LaggedDecoderMixin(EEGDecoderMixin):
    """What the lagged-ridge decoders share: the audio rate, the lag window, ``groups``, state.

    For estimators with the parameters ``tmin``, ``tmax`` and ``audio_sfreq``
    whose fit is :func:`~sk_eeg2music.models._lagged_ridge.fit_lagged_ridge`.
    ``_parameter_constraints`` holds those of the parameters they share.
    """

    _parameter_constraints = {
        "tmin": [NumberInterval(numbers.Real, None, None, closed="neither")],
        "tmax": [NumberInterval(numbers.Real, None, None, closed="neither")],
        "sfreq": [NumberInterval(numbers.Real, 0, None, closed="neither")],
        "alphas": ["array-like", NumberInterval(numbers.Real, 0, None, closed="left"), None],
        "audio_sfreq": [NumberInterval(numbers.Real, 0, None, closed="neither"), None],
        "cv": ["cv_object"],
        "fit_intercept": ["boolean"],
        "n_mels": [NumberInterval(numbers.Integral, 1, None, closed="left")],
        "n_iter": [NumberInterval(numbers.Integral, 0, None, closed="left")],
        "random_state": [NumberInterval(numbers.Integral, 0, 2**32 - 1, closed="both"), None],
    }

    def _expected_failed_checks(self):
        # Hook of tests/test_common.py; y=None is refused before X is looked at.
        checks = super()._expected_failed_checks()
        del checks["check_requires_y_none"]
        return checks

    def _check_fit_data(self, X, y, groups, sfreq, allow_1d=True):
        """The checks every lagged decoder's ``fit`` starts with.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
        y : array-like, shape (n_trials, n_audio) or (n_trials,)
        groups : array-like, shape (n_trials,) | None
        sfreq : float
            EEG rate (Hz).
        allow_1d : bool, default=True
            Whether a 1-D ``y`` (one audio sample per trial) is accepted.

        Returns
        -------
        X : ndarray, shape (n_trials, n_channels, n_times)
        y : ndarray, shape (n_trials, n_audio)
        y_1d : bool
            Whether ``y`` was 1-D.
        factor : int
            Audio samples per EEG sample.
        audio_sfreq : float
        groups : ndarray, shape (n_trials,) | None
        lags : ndarray of int, shape (n_lags,)
        """
        self._require_y(y)
        X = self._check_eeg(X, reset=True)
        y, y_1d = self._check_waveforms(y, allow_1d=allow_1d)
        factor = check_y_for_eeg(X, y)
        audio_sfreq = self._audio_rate(sfreq, factor)
        groups = self._check_groups(groups, len(X))
        return X, y, y_1d, factor, audio_sfreq, groups, self._lags(sfreq, X.shape[-1])

    def _audio_rate(self, sfreq, factor):
        """The audio rate: ``audio_sfreq`` if given (checked against ``y``), else inferred."""
        if self.audio_sfreq is None:
            return sfreq * factor
        expected = check_rate_ratio(self.audio_sfreq, sfreq)
        if expected != factor:
            raise ValueError(
                f"y has {factor} audio samples per EEG sample but audio_sfreq / sfreq = "
                f"{self.audio_sfreq:g} / {sfreq:g} = {expected}; pass the matching "
                "audio_sfreq (or None to infer it from y)."
            )
        return float(self.audio_sfreq)

    def _lags(self, sfreq, n_times):
        """Lags of ``[tmin, tmax]`` in samples, refused when they do not fit in a trial."""
        lags = lag_samples(self.tmin, self.tmax, sfreq)
        if len(lags) > n_times or np.max(np.abs(lags)) >= n_times:
            raise ValueError(
                f"the lags {lags[0]}..{lags[-1]} samples (tmin={self.tmin} s, tmax={self.tmax} s "
                f"at {sfreq:g} Hz) are longer than a trial of n_times={n_times} samples; "
                "shorten the lag window or use longer trials."
            )
        return lags

    @staticmethod
    def _check_groups(groups, n_trials):
        """``groups`` as an array of shape ``(n_trials,)``, or None."""
        if groups is None:
            return None
        groups = np.asarray(groups)
        if groups.shape != (n_trials,):
            raise ValueError(
                f"groups must have shape (n_trials,) = ({n_trials},); got {groups.shape}."
            )
        return groups

    def _store_fit(self, coef, G, x_mean, y_mean, lags, sfreq, n_samples):
        """Set the fitted state: ``coef_``, ``patterns_``, ``intercept_``, ``channel_mean_``,
        ``lags_`` and ``times_``."""
        self.coef_ = coef
        self.patterns_ = haufe_patterns(G, coef, n_samples)
        self.intercept_ = y_mean
        self.channel_mean_ = x_mean
        self.lags_ = lags
        self.times_ = lags / sfreq

    def predict_features(self, X):
        """Decoded features at the EEG rate.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)

        Returns
        -------
        features : ndarray, shape (n_trials, n_targets, n_times)
            Log-mel bands (``n_targets = n_mels``) or the envelope (``n_targets = 1``).
        """
        check_is_fitted(self)
        X = self._check_eeg(X, reset=False)
        return predict_lagged(X, self.coef_, self.channel_mean_, self.intercept_, self.lags_)
