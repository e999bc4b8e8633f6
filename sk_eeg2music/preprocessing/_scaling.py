"""Per-channel scaling fitted on training trials, and clamping of outliers."""

import numbers

import numpy as np
import scipy.stats
from sklearn.utils.validation import check_is_fitted

from ..models._base import NumberInterval
from ._base import _EEGTransformer, _StatelessEEGTransformer, iter_trial_chunks, restore_ndim


def channel_mean_std(X):
    """Mean and standard deviation of each channel over trials and time.

    Accumulates in float64 over blocks of trials (two passes, no full-size
    temporary).

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times)

    Returns
    -------
    mean : ndarray, shape (n_channels,), float64
    std : ndarray, shape (n_channels,), float64
    """
    n_trials, n_channels, n_times = X.shape
    mean = X.sum(axis=(0, 2), dtype=np.float64) / (n_trials * n_times)
    sq = np.zeros(n_channels)
    for block in iter_trial_chunks(n_trials, n_channels * n_times * 8):
        dev = X[block] - mean[:, None]
        sq += np.einsum("tcn,tcn->c", dev, dev)
    return mean, np.sqrt(sq / (n_trials * n_times))


def channel_median_iqr(X):
    """Median and normal-consistent IQR of each channel over trials and time.

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times)

    Returns
    -------
    median : ndarray, shape (n_channels,), float64
    robust_std : ndarray, shape (n_channels,), float64
        ``(q75 - q25) / 1.349`` (:func:`scipy.stats.iqr` with ``scale="normal"``),
        which equals the standard deviation for Gaussian data.
    """
    median = np.empty(X.shape[1])
    robust_std = np.empty(X.shape[1])
    for channel in range(X.shape[1]):
        # One channel at a time keeps the sort buffer to 1/n_channels of X.
        values = X[:, channel, :]
        median[channel] = np.median(values)
        robust_std[channel] = scipy.stats.iqr(values, scale="normal")
    return median, robust_std


def safe_scale(scale):
    """Replace zero scales (flat channels) by 1, so flat channels stay finite.

    Parameters
    ----------
    scale : ndarray, shape (n_channels,)

    Returns
    -------
    scale : ndarray, shape (n_channels,)
    """
    scale = np.asarray(scale, dtype=np.float64).copy()
    scale[scale < 10 * np.finfo(np.float32).tiny] = 1.0
    return scale


def scale_channels(X, center, scale):
    """Return ``(X - center) / scale`` per channel, as one new float32 array.

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times)
    center, scale : ndarray, shape (n_channels,)

    Returns
    -------
    Xs : ndarray, shape (n_trials, n_channels, n_times), float32
    """
    out = np.subtract(X, center.astype(np.float32)[:, None], dtype=np.float32)
    out *= (1.0 / scale).astype(np.float32)[:, None]
    return out


def clipped_fraction(X, threshold):
    """Fraction of values with ``|x| > threshold``, per channel.

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times)
    threshold : float

    Returns
    -------
    fraction : ndarray, shape (n_channels,)
    """
    n_trials, n_channels, n_times = X.shape
    count = np.zeros(n_channels)
    for block in iter_trial_chunks(n_trials, n_channels * n_times * 4):
        count += (np.abs(X[block]) > threshold).sum(axis=(0, 2))
    return count / (n_trials * n_times)


class ChannelScaler(_EEGTransformer):
    """Scale each channel with statistics of the training trials.

    Center and scale are computed per channel over all training trials and
    time samples, then applied unchanged to any later data, so inside a
    cross-validated pipeline the test trials never contribute to them.

    Parameters
    ----------
    robust : bool, default=False
        If True, center by the median and scale by the normal-consistent IQR,
        ``(q75 - q25) / 1.349`` (a "robust standard deviation", insensitive to
        artifacts); otherwise by the mean and standard deviation.

    Attributes
    ----------
    center_ : ndarray, shape (n_channels,)
        Per-channel mean (or median) of the training data.
    scale_ : ndarray, shape (n_channels,)
        Per-channel standard deviation (or robust SD); flat channels get 1.
    n_features_in_ : int
        Number of channels seen in ``fit``.

    See Also
    --------
    mne.decoding.Scaler : the same idea; not reused here because it reshapes
        the data to ``(n_trials * n_times, n_channels)``, which costs several
        copies of ``X`` on recordings the size of NMED-T.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.preprocessing import ChannelScaler
    >>> X = np.random.default_rng(0).normal(5.0, 2.0, (4, 3, 100)).astype("float32")
    >>> scaler = ChannelScaler(robust=True).fit(X)
    >>> scaler.center_.shape, bool(abs(scaler.transform(X).mean()) < 0.1)
    ((3,), True)
    """

    _parameter_constraints = {"robust": ["boolean"]}

    def __init__(self, robust=False):
        self.robust = robust

    def fit(self, X, y=None):
        """Compute the per-channel center and scale of the training trials.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
            Training EEG. 2-D input ``(n_trials, n_channels)`` is read as one
            time sample per trial.
        y : None, default=None
            Ignored.

        Returns
        -------
        self : object
        """
        self._validate_params()
        X, _ = self._validate_eeg(X, reset=True)
        center, scale = channel_median_iqr(X) if self.robust else channel_mean_std(X)
        self.center_, self.scale_ = center, safe_scale(scale)
        return self

    def transform(self, X):
        """Apply the training center and scale.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)

        Returns
        -------
        Xs : ndarray, shape (n_trials, n_channels, n_times), float32
        """
        check_is_fitted(self)
        X, was_2d = self._validate_eeg(X, reset=False)
        return restore_ndim(scale_channels(X, self.center_, self.scale_), was_2d)


class Clip(_StatelessEEGTransformer):
    """Clamp values to ``[-threshold, threshold]``.

    Meant after :class:`ChannelScaler`, where ``threshold`` is in (robust)
    standard deviations: e.g. ``Clip(20.0)`` clamps at ±20 SDs, limiting what
    a few artifacts can do to a model without removing trials.

    Parameters
    ----------
    threshold : float, default=20.0
        Positive clamp level, in the units of the input.

    Attributes
    ----------
    clipped_fraction_ : float
        Fraction of the training values (those passed to ``fit``) that were
        beyond ``threshold``. Computed in ``fit`` only, so transforming test
        data never changes the fitted object.
    channel_clipped_fraction_ : ndarray, shape (n_channels,)
        The same, per channel (a high value flags a bad channel).
    n_features_in_ : int
        Number of channels seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.preprocessing import Clip
    >>> X = np.array([[[-30.0, 0.0, 5.0, 25.0]]], dtype="float32")
    >>> clip = Clip(20.0).fit(X)
    >>> clip.transform(X), clip.clipped_fraction_
    (array([[[-20.,   0.,   5.,  20.]]], dtype=float32), 0.5)
    """

    _parameter_constraints = {
        "threshold": [NumberInterval(numbers.Real, 0, None, closed="neither")]
    }

    def __init__(self, threshold=20.0):
        self.threshold = threshold

    def _check_params(self):
        super()._check_params()
        return float(self.threshold)

    def fit(self, X, y=None):
        """Record how much of the training data lies beyond ``threshold``.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
            Training EEG (usually scaled).
        y : None, default=None
            Ignored.

        Returns
        -------
        self : object
        """
        threshold = self._check_params()
        X, _ = self._validate_eeg(X, reset=True)
        self.channel_clipped_fraction_ = clipped_fraction(X, threshold)
        self.clipped_fraction_ = float(self.channel_clipped_fraction_.mean())
        return self

    def transform(self, X):
        """Clamp values to ``[-threshold, threshold]``.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)

        Returns
        -------
        Xc : ndarray, shape (n_trials, n_channels, n_times), float32
        """
        threshold = self._check_params()
        X, was_2d = self._validate_eeg(X, reset=False)
        return restore_ndim(np.clip(X, -threshold, threshold, dtype=np.float32), was_2d)
