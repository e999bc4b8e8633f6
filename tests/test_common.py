"""Compliance suite: every estimator of the package, found automatically.

Each estimator class found by :func:`sk_eeg2music.utils.discovery.all_estimators`
goes through scikit-learn's ``parametrize_with_checks``, through clone, pickle
and model-file (:func:`~sk_eeg2music.save_model`, :func:`~sk_eeg2music.load_model`)
round-trips and, unless it is a skorch net, through scikit-learn's parameter
validation check (``_parameter_constraints``), without editing this file.
Per-class configuration lives on the class itself, next to the code it
describes, through optional private hooks (all with defaults):

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

Transformers accept 2-D input ``(n_trials, n_features)`` as
``(n_trials, n_features, 1)`` (as MNE's decoding transformers do), so the generic
checks, which use 2-D data, run on them. Decoders (estimators with ``predict``)
refuse 2-D EEG, which they would misread (single-channel trials as ``n_times``
channels), with a ``ValueError`` that says how to reshape it; the generic checks
that need 2-D ``X`` are their expected failures
(:func:`sk_eeg2music.utils._validation.expected_failed_checks_2d_eeg`), and
:func:`test_decoders_refuse_2d_eeg_with_a_reshape_hint` checks the refusal. The
round-trip tests fix every ``random_state`` (as scikit-learn's checks do) before
comparing outputs.
"""

import pickle
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import (
    check_param_validation,
    parametrize_with_checks,
    set_random_state,
)
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet

from sk_eeg2music import load_model, save_model
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


def _same_params(a, b, public_only=False):
    """Same parameter names, and equal values wherever equality is well defined.

    ``public_only`` ignores names with a leading underscore: skorch lists private
    attributes a fitted net set on itself (the GAN's ``_decoder_cache``) among its
    parameters, and a model file stores only the constructor's.
    """
    simple = (type(None), bool, int, float, str, tuple)
    pa, pb = a.get_params(deep=False), b.get_params(deep=False)
    if public_only:
        pa, pb = ({k: v for k, v in p.items() if not k.startswith("_")} for p in (pa, pb))
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


DECODERS = [(name, cls) for name, cls in ESTIMATORS if hasattr(cls, "predict")]


@pytest.mark.parametrize("name, cls", DECODERS, ids=[name for name, _ in DECODERS])
def test_decoders_refuse_2d_eeg_with_a_reshape_hint(name, cls):
    """Single-channel trials (n_trials, n_times) must not be read as n_times channels."""
    for estimator in _instances(cls):
        X, y = _test_data(estimator, np.random.default_rng(0))
        X_2d = X[:, 0, :]
        hint = rf"Expected 3-D EEG.*2-D array of shape {re.escape(str(X_2d.shape))}.*X\[:, np"
        with pytest.raises(ValueError, match=hint):
            clone(estimator).fit(X_2d, y)
        set_random_state(estimator, 0)
        fitted = estimator.fit(X[:, :1, :], y)  # the same data, shaped as one channel
        with pytest.raises(ValueError, match=hint):
            fitted.predict(X_2d)
        # The generic checks that feed 2-D X are expected failures, for this reason.
        reasons = _expected_failed_checks(estimator)
        assert "refuses 2-D EEG" in reasons["check_fit2d_predict1d"]


@pytest.mark.parametrize("name, cls", ESTIMATORS, ids=[name for name, _ in ESTIMATORS])
def test_save_load_round_trip(name, cls, tmp_path):
    """Every estimator found, as its test instances, is stored and loaded back exactly."""
    for i, estimator in enumerate(_instances(cls)):
        X, y = _test_data(estimator, np.random.default_rng(0))
        set_random_state(estimator, 0)
        fitted = estimator.fit(X, y)
        loaded = load_model(save_model(fitted, tmp_path / f"{i}.safetensors"), device="cpu")
        assert type(loaded) is type(fitted)
        assert _same_params(loaded, fitted, public_only=True)
        np.testing.assert_array_equal(_output(loaded, X), _output(fitted, X))


#: Non-skorch estimators without ``_parameter_constraints`` yet (their owners add
#: them, then remove the name here; the test fails while a listed class has them).
NO_CONSTRAINTS_YET = {"ShuffledPairs", "TimeShiftedPairs"}

# skorch nets validate their own parameters (``module__*``, ``optimizer__*`` ...).
PLAIN = [(name, cls) for name, cls in ESTIMATORS if not issubclass(cls, NeuralNet)]


@pytest.mark.parametrize("name, cls", PLAIN, ids=[name for name, _ in PLAIN])
def test_parameters_are_declared_and_validated(name, cls):
    """``_parameter_constraints`` names every parameter; bad types and values raise in fit.

    scikit-learn's ``check_param_validation``: the error is its
    ``InvalidParameterError`` (a ``ValueError``) naming the parameter and the class.
    """
    if name in NO_CONSTRAINTS_YET:
        assert not getattr(cls, "_parameter_constraints", None), f"remove {name} from the set"
        pytest.skip(f"{name} declares no _parameter_constraints yet")
    for estimator in _instances(cls):
        check_param_validation(name, estimator)
