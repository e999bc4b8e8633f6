"""Compliance suite: every estimator of the package, found automatically.

Each estimator class found by :func:`sk_eeg2music.utils.discovery.all_estimators`
goes through scikit-learn's ``parametrize_with_checks`` and through clone and
pickle round-trips, without editing this file. Per-class configuration lives on
the class itself, next to the code it describes, through optional private
hooks (all with defaults):

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
``_test_checks_slow`` (class attribute, bool)
    True when scikit-learn's generic checks take minutes (a GAN trains in
    each of ~50 checks): they then run only with ``-m slow``; the round-trip
    tests still run in CI.

:data:`PENDING` holds the same hooks, keyed by class name, for classes that
do not define them yet; owners should move their entry into the class.

Estimators accept 2-D input ``(n_trials, n_features)`` as
``(n_trials, n_features, 1)`` (as MNE's decoding estimators do), so the generic
checks, which use 2-D data, actually run. The round-trip tests fix every
``random_state`` (as scikit-learn's checks do) before comparing outputs.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks, set_random_state
from sklearn.utils.validation import check_is_fitted

from sk_eeg2music.utils.discovery import all_estimators

# The checks filter very short "signals" (1 sample for 2-D input): MNE rightly warns.
pytestmark = pytest.mark.filterwarnings(
    "ignore:filter_length .* is longer than the signal:RuntimeWarning"
)

#: Hooks for classes that do not define them (yet), keyed by class name. Each
#: value maps a hook name to a function of the class (or, for
#: ``_expected_failed_checks``, of the instance), or to a value for attributes.
PENDING = {}

ESTIMATORS = all_estimators()


def _pending(cls, hook):
    return PENDING.get(cls.__name__, {}).get(hook)


def _instances(cls):
    if hasattr(cls, "_test_instances"):
        return cls._test_instances()
    pending = _pending(cls, "_test_instances")
    return pending(cls) if pending is not None else [cls()]


def _expected_failed_checks(estimator):
    if hasattr(estimator, "_expected_failed_checks"):
        return estimator._expected_failed_checks()
    pending = _pending(type(estimator), "_expected_failed_checks")
    return pending(estimator) if pending is not None else {}


def _checks_are_slow(cls):
    return bool(getattr(cls, "_test_checks_slow", _pending(cls, "_test_checks_slow")))


def _test_data(estimator, rng):
    cls = type(estimator)
    if hasattr(cls, "_test_data"):
        return cls._test_data(rng)
    pending = _pending(cls, "_test_data")
    if pending is not None:
        return pending(cls, rng)
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


FAST = [est for _, cls in ESTIMATORS if not _checks_are_slow(cls) for est in _instances(cls)]
SLOW = [est for _, cls in ESTIMATORS if _checks_are_slow(cls) for est in _instances(cls)]


def test_discovery_finds_the_preprocessing_transformers():
    names = {name for name, _ in ESTIMATORS}
    expected = {"BandpassFilter", "ChannelScaler", "Clip", "EuclideanAlignment", "Resample"}
    assert expected <= names


@parametrize_with_checks(FAST, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.slow
@parametrize_with_checks(SLOW, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator_slow(estimator, check):
    check(estimator)


@pytest.mark.parametrize("name, cls", ESTIMATORS, ids=[name for name, _ in ESTIMATORS])
def test_clone_before_and_after_fit(name, cls):
    for estimator in _instances(cls):
        X, y = _test_data(estimator, np.random.default_rng(0))
        set_random_state(estimator, 0)
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
        set_random_state(estimator, 0)
        fitted = estimator.fit(X, y)
        restored = pickle.loads(pickle.dumps(fitted))
        assert type(restored) is type(fitted)
        assert _same_params(restored, fitted)
        np.testing.assert_array_equal(_output(restored, X), _output(fitted, X))
