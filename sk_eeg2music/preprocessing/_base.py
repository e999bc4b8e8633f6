"""What every EEG transformer of the package shares: input handling and chunking."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..models._base import EEGEstimatorMixin

# Work on blocks of trials of about this many bytes, so that float64
# temporaries (MNE filters in float64) stay small next to a full copy of X.
_CHUNK_BYTES = 64 * 2**20


def iter_trial_chunks(n_trials, bytes_per_trial, max_bytes=None):
    """Yield slices of consecutive trials whose data fits in ``max_bytes``.

    Parameters
    ----------
    n_trials : int
        Number of trials.
    bytes_per_trial : int
        Size of one trial's working copy in bytes.
    max_bytes : int | None
        Budget per block; ``None`` uses the module default (64 MiB).

    Yields
    ------
    chunk : slice
        At least one trial per slice, however large a trial is.
    """
    max_bytes = _CHUNK_BYTES if max_bytes is None else max_bytes
    step = max(1, int(max_bytes // max(1, bytes_per_trial)))
    for start in range(0, n_trials, step):
        yield slice(start, min(start + step, n_trials))


def restore_ndim(Xt, was_2d):
    """Give 2-D input back as 2-D output when the time axis still has length one."""
    if was_2d and Xt.shape[2] == 1:
        return Xt[:, :, 0]
    return Xt


class _EEGTransformer(EEGEstimatorMixin, TransformerMixin, BaseEstimator):
    """Shared input handling for transformers on ``(n_trials, n_channels, n_times)``.

    The validation, ``n_features_in_`` and the 3-D tag are those of every EEG
    estimator (:class:`~sk_eeg2music.models._base.EEGEstimatorMixin`). 2-D input
    of shape ``(n_trials, n_features)`` is read as ``(n_trials, n_features, 1)``
    (as :class:`mne.decoding.Scaler` does), and the output is 2-D again when its
    time axis has length one, so scikit-learn's generic estimator checks run on
    these transformers.
    """

    _eeg_allow_2d = True

    def _validate_eeg(self, X, *, reset):
        """Return ``(X, was_2d)`` with X float32 of shape (n_trials, n_channels, n_times).

        ``reset=True`` (in ``fit``) records ``n_features_in_`` (the number of
        channels); otherwise the channel count is checked against it, if fitted.
        """
        if not hasattr(X, "shape"):  # lists and other array-likes
            X = np.asarray(X)
        was_2d = len(X.shape) == 2
        return self._check_eeg(X, reset=reset), was_2d

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        # Every transformer returns float32, the package's EEG dtype.
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


class _StatelessEEGTransformer(_EEGTransformer):
    """An EEG transformer that learns nothing: ``transform`` works before ``fit``.

    ``fit`` only validates and records ``n_features_in_`` (then used to check
    the channel count in ``transform``).
    """

    def fit(self, X, y=None):
        """Validate the parameters and record the number of channels.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
            EEG. 2-D input ``(n_trials, n_channels)`` is read as one time sample.
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        self._check_params()
        self._validate_eeg(X, reset=True)
        return self

    def _check_params(self):
        """Validate the parameters (``_parameter_constraints``); subclasses add cross-checks.

        Called by ``fit`` and by ``transform`` (which works without ``fit``).
        """
        self._validate_params()

    def __sklearn_is_fitted__(self):
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags
