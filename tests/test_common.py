"""Compliance suite: every estimator of the package, found automatically.

Each estimator class found by :func:`sk_eeg2music.utils.discovery.all_estimators`
goes through scikit-learn's ``parametrize_with_checks`` and through clone and
pickle round-trips, without editing this file. Per-class configuration lives on
the class itself, next to the code it describes, through three optional
private hooks:

``_test_instances(cls) -> list`` (classmethod)
    Small instances to check. Default: ``[cls()]``. Needed when the
    constructor has required parameters, or when the defaults are slow
    (e.g. a GAN returns ``[cls(max_epochs=1, ...)]``).
``_expected_failed_checks(self) -> dict[str, str]``
    ``{check name: reason}`` for checks expected to fail (marked xfail).
    Only order/batch dependence or stochastic fitting justify an entry.
``_test_data(cls, rng) -> (X, y)`` (classmethod)
    Small data for the round-trip tests. Default: X float32 of shape
    ``(6, 4, 64)``; ``y`` is a waveform of shape ``(6, 64 * 4)``
    (``n_times * factor``) for estimators with ``predict``, else None.

Estimators accept 2-D input ``(n_trials, n_features)`` as
``(n_trials, n_features, 1)`` (as MNE's decoding estimators do), so the generic
checks, which use 2-D data, actually run.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

from sk_eeg2music.utils.discovery import all_estimators

# The checks filter very short "signals" (1 sample for 2-D input): MNE rightly warns.
pytestmark = pytest.mark.filterwarnings(
    "ignore:filter_length .* is longer than the signal:RuntimeWarning"
)

ESTIMATORS = all_estimators()


def _instances(cls):
    hook = getattr(cls, "_test_instances", None)
    return hook() if hook is not None else [cls()]


def _expected_failed_checks(estimator):
    hook = getattr(estimator, "_expected_failed_checks", None)
    return hook() if hook is not None else {}


def _test_data(estimator, rng):
    hook = getattr(type(estimator), "_test_data", None)
    if hook is not None:
        return hook(rng)
    X = rng.standard_normal((6, 4, 64)).astype(np.float32)
    y = rng.standard_normal((6, 64 * 4)).astype(np.float32)
    return X, (y if hasattr(estimator, "predict") else None)


def _same_params(a, b):
    """Same parameter names, and equal values wherever equality is well defined."""
    simple = (type(None), bool, int, float, str, tuple)
    pa, pb = a.get_params(deep=False), b.get_params(deep=False)
    return pa.keys() == pb.keys() and all(
        pa[k] == pb[k] for k in pa if isinstance(pa[k], simple) and isinstance(pb[k], simple)
    )


def _output(estimator, X):
    method = estimator.predict if hasattr(estimator, "predict") else estimator.transform
    return method(X)


INSTANCES = [est for _, cls in ESTIMATORS for est in _instances(cls)]


def test_discovery_finds_the_preprocessing_transformers():
    names = {name for name, _ in ESTIMATORS}
    expected = {"BandpassFilter", "ChannelScaler", "Clip", "EuclideanAlignment", "Resample"}
    assert expected <= names


@parametrize_with_checks(INSTANCES, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("name, cls", ESTIMATORS, ids=[name for name, _ in ESTIMATORS])
def test_clone_before_and_after_fit(name, cls):
    for estimator in _instances(cls):
        X, y = _test_data(estimator, np.random.default_rng(0))
        unfitted = clone(estimator)
        assert _same_params(unfitted, estimator)
        fitted = estimator.fit(X, y)
        refit = clone(fitted)
        assert _same_params(refit, fitted)
        if get_tags(refit).requires_fit:  # a clone of a fitted estimator is unfitted
            with pytest.raises(NotFittedError):
                check_is_fitted(refit)
        np.testing.assert_allclose(_output(refit.fit(X, y), X), _output(fitted, X), rtol=1e-5)


@pytest.mark.parametrize("name, cls", ESTIMATORS, ids=[name for name, _ in ESTIMATORS])
def test_pickle_round_trip(name, cls):
    for estimator in _instances(cls):
        X, y = _test_data(estimator, np.random.default_rng(0))
        fitted = estimator.fit(X, y)
        restored = pickle.loads(pickle.dumps(fitted))
        assert type(restored) is type(fitted)
        assert _same_params(restored, fitted)
        np.testing.assert_array_equal(_output(restored, X), _output(fitted, X))
