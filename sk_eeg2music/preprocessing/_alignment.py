"""Euclidean Alignment (He & Wu, 2020), fitted per subject on that subject's EEG only."""

import numbers

import numpy as np
from scipy.linalg.blas import dsyrk

from ..models._base import NumberInterval
from ._base import _StatelessEEGTransformer, restore_ndim


def mean_covariance(X, trials=None):
    """Mean over trials of ``X_i X_iᵀ / n_times``.

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times)
        EEG.
    trials : array of int | None
        Indices of the trials to average (one domain); ``None`` uses all.

    Returns
    -------
    C : ndarray, shape (n_channels, n_channels), float64
        The uncentered mean covariance R̄ of Euclidean Alignment.
    """
    trials = np.arange(len(X)) if trials is None else trials
    n_channels, n_times = X.shape[1:]
    C = np.zeros((n_channels, n_channels), order="F")
    for i in trials:
        # float64 products: float32 sums over tens of thousands of samples lose
        # ~1e-7 relative accuracy, which an ill-conditioned R̄ amplifies. The
        # symmetric rank-k update (BLAS syrk) does half the work of a matmul;
        # passing x.T (Fortran-ordered) with trans=1 avoids a copy.
        trial = X[i].astype(np.float64)
        C = dsyrk(1.0, trial.T, beta=1.0, c=C, trans=1, overwrite_c=True)
    C = np.triu(C) + np.triu(C, 1).T  # syrk fills the upper triangle only
    return C / (len(trials) * n_times)


def inv_sqrtm(C, reg=1e-3):
    """Inverse square root of a covariance shrunk toward a scaled identity.

    ``C_reg = (1 - reg) C + reg (tr(C) / n) I``, then
    ``C_reg^(-1/2) = V diag(λ^(-1/2)) Vᵀ`` from its eigendecomposition.
    The shrinkage keeps the trace and bounds the smallest eigenvalue by
    ``reg * tr(C) / n``, so rank-deficient covariances (average reference:
    rank n - 1; interpolated channels: lower) have a finite inverse root: a
    direction with no variance is left (nearly) empty instead of being blown
    up.

    Parameters
    ----------
    C : ndarray, shape (n_channels, n_channels)
        Symmetric positive semi-definite matrix.
    reg : float, default=1e-3
        Shrinkage in ``[0, 1)``; 0 means none (``C`` must then be full rank).

    Returns
    -------
    W : ndarray, shape (n_channels, n_channels), float64
        Symmetric, with ``W C_reg W = I``.
    """
    n = C.shape[0]
    mean_eig = np.trace(C) / n
    if not mean_eig > 0:
        raise ValueError(
            "The covariance has zero trace (the EEG of this domain is all zeros); drop "
            "these trials or the flat channels before EuclideanAlignment."
        )
    eigvals, eigvecs = np.linalg.eigh((1.0 - reg) * C + reg * mean_eig * np.eye(n))
    if eigvals[0] <= 1e-10 * eigvals[-1]:
        raise ValueError(
            f"The covariance is singular (smallest/largest eigenvalue {eigvals[0]:.3g}/"
            f"{eigvals[-1]:.3g}; average reference and interpolated channels lower the rank); "
            "use reg > 0 (e.g. the default 1e-3) to regularise it."
        )
    return (eigvecs / np.sqrt(eigvals)) @ eigvecs.T


def align(X, groups=None, reg=1e-3):
    """Whiten each group of trials with the inverse root of its own mean covariance.

    For each group g (a subject): ``R̄_g = mean_{i in g} X_i X_iᵀ / n_times`` and
    ``X̃_i = R̄_g^(-1/2) X_i``. A trial's output depends only on the trials of
    its own group.

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times)
        EEG.
    groups : array-like, shape (n_trials,) | None
        Domain (subject) of each trial; ``None`` makes the whole batch one domain.
    reg : float, default=1e-3
        Shrinkage of each R̄ toward ``tr(R̄)/n I``; see :func:`inv_sqrtm`.

    Returns
    -------
    X_aligned : ndarray, shape (n_trials, n_channels, n_times), float32
    """
    groups = check_groups(groups, len(X))
    out = np.empty(X.shape, dtype=np.float32)
    for group in np.unique(groups):
        trials = np.flatnonzero(groups == group)
        try:
            W = inv_sqrtm(mean_covariance(X, trials), reg)
        except ValueError as exc:
            raise ValueError(f"Group {str(group)!r}: {exc}") from exc
        with np.errstate(over="ignore"):
            W = W.astype(np.float32)
        if not np.isfinite(W).all():
            # Amplitudes near float32's smallest numbers (~1e-38) need a whitening
            # gain beyond float32's largest.
            rms = np.sqrt(np.trace(mean_covariance(X, trials)) / X.shape[1])
            raise ValueError(
                f"Group {str(group)!r}: the EEG amplitudes are too small to whiten in float32 "
                f"(RMS {rms:.3g}); rescale the data first (e.g. volts to microvolts: X * 1e6)."
            )
        for i in trials:  # trial by trial: no temporary beyond the output
            np.matmul(W, X[i], out=out[i])
    return out


def check_groups(groups, n_trials):
    """Return groups as an array of length ``n_trials`` (all zeros when None).

    Parameters
    ----------
    groups : array-like, shape (n_trials,) | None
    n_trials : int

    Returns
    -------
    groups : ndarray, shape (n_trials,)
    """
    if groups is None:
        return np.zeros(n_trials, dtype=int)
    groups = np.asarray(groups)
    if groups.ndim != 1 or len(groups) != n_trials:
        raise ValueError(
            f"groups must have one subject id per trial, shape ({n_trials},); got shape "
            f"{groups.shape}. Pass the subject of each row of X (e.g. data.groups)."
        )
    return groups


class EuclideanAlignment(_StatelessEEGTransformer):
    """Euclidean Alignment of each subject's EEG with that subject's own statistics.

    For each subject s, ``R̄_s = mean_i X_i X_iᵀ / n_times`` over the subject's
    trials in the batch being transformed, and ``X̃_i = R̄_s^(-1/2) X_i``, so
    every subject's mean covariance becomes (close to) the identity
    (He & Wu, 2020).

    Nothing is learned across subjects, so the transformer stores no
    statistics at all: at ``fit`` and at ``transform``/``predict`` alike each
    subject is aligned with the R̄ of its own trials *in that call*. A test
    subject is therefore aligned with its own (unlabeled) EEG only: its output
    depends neither on the training subjects nor on the other subjects of the
    batch, and the fitted object holds nothing from it.

    Parameters
    ----------
    reg : float, default=1e-3
        Shrinkage of each R̄ toward ``tr(R̄)/n_channels * I`` before the inverse
        square root, in ``[0, 1)``. It keeps rank-deficient covariances
        (average reference: rank n_channels - 1; interpolated channels lower it
        further) invertible: directions with no variance stay near zero instead
        of being amplified. A direction with variance λ comes out with variance
        ``λ / ((1 - reg) λ + reg m)``, ``m = tr(R̄)/n_channels``: about 1 when
        λ is well above ``reg * m``, below 1 (under-whitened, on purpose) for
        weaker directions.

    Attributes
    ----------
    n_features_in_ : int
        Number of channels seen in ``fit`` (only set once ``fit`` was called).

    Notes
    -----
    **Subjects arrive as ``groups``.** Call ``fit(X, groups=subject)`` and
    ``transform(X, groups=subject)`` directly, or, in a
    :class:`~sklearn.pipeline.Pipeline` with metadata routing enabled, request
    them: ``EuclideanAlignment().set_fit_request(groups=True)
    .set_transform_request(groups=True)``; then ``pipe.fit(X, y, groups=g)``
    and ``pipe.predict(X, groups=g)`` align per subject, and
    ``cross_validate(pipe, X, y, cv=GroupKFold(), params={"groups": g})``
    aligns the training folds per subject.

    **Without groups the batch is one domain.** ``cross_validate`` never
    passes metadata to ``predict``, so a test fold is aligned as one domain.
    That uses only test-fold EEG (no leak from training), and it is exactly
    per-subject alignment when each test fold holds one subject
    (:class:`~sklearn.model_selection.LeaveOneGroupOut`); with several subjects
    per test fold they are pooled.

    References
    ----------
    He, H., & Wu, D. (2020). Transfer learning for brain-computer interfaces: a
    Euclidean space data alignment approach. IEEE Trans. Biomed. Eng. 67(2),
    399-410.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.preprocessing import EuclideanAlignment
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((4, 3, 200)).astype("float32") * [[1.0], [2.0], [0.5]]
    >>> Xa = EuclideanAlignment().fit_transform(X, groups=["s1", "s1", "s2", "s2"])
    >>> C = np.mean([x @ x.T / 200 for x in Xa[:2]], axis=0)
    >>> bool(np.allclose(C, np.eye(3), atol=0.01))
    True
    """

    _parameter_constraints = {"reg": [NumberInterval(numbers.Real, 0, 1, closed="left")]}

    def __init__(self, reg=1e-3):
        self.reg = reg

    def _expected_failed_checks(self):
        # For tests/test_common.py.
        return {
            "check_methods_subset_invariance": (
                "Batch dependence by design: without groups the whole batch is one domain, "
                "so a subset of it is aligned with a different mean covariance."
            )
        }

    def _check_params(self):
        super()._check_params()
        return float(self.reg)

    def fit(self, X, y=None, groups=None):
        """Validate the input; EA learns nothing that ``transform`` reuses.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
            Training EEG.
        y : None, default=None
            Ignored.
        groups : array-like, shape (n_trials,) | None, default=None
            Subject of each trial (checked for length only).

        Returns
        -------
        self : object
        """
        self._check_params()
        X, _ = self._validate_eeg(X, reset=True)
        check_groups(groups, len(X))
        return self

    def transform(self, X, groups=None):
        """Align each subject of the batch with its own mean covariance.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
            EEG.
        groups : array-like, shape (n_trials,) | None
            Subject of each trial; ``None`` aligns the batch as one domain.

        Returns
        -------
        X_aligned : ndarray, shape (n_trials, n_channels, n_times), float32
        """
        reg = self._check_params()
        X, was_2d = self._validate_eeg(X, reset=False)
        return restore_ndim(align(X, groups, reg), was_2d)

    def fit_transform(self, X, y=None, groups=None):
        """Fit and align ``X`` per subject (``groups`` reaches both steps).

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
            Training EEG.
        y : None
            Ignored.
        groups : array-like, shape (n_trials,) | None
            Subject of each trial; ``None`` aligns the batch as one domain.

        Returns
        -------
        X_aligned : ndarray, shape (n_trials, n_channels, n_times), float32
        """
        reg = self._check_params()
        # Validate once (a full pass over X) instead of in fit and transform.
        X, was_2d = self._validate_eeg(X, reset=True)
        return restore_ndim(align(X, groups, reg), was_2d)
