"""The transformers in cross-validated pipelines: refitted per fold, subjects routed."""

import numpy as np
import pytest
import sklearn
from mne.decoding import Vectorizer
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut, cross_validate
from sklearn.pipeline import Pipeline

from sk_eeg2music.preprocessing import (
    BandpassFilter,
    ChannelScaler,
    Clip,
    EuclideanAlignment,
    Resample,
)
from sk_eeg2music.preprocessing._alignment import align

N_UPSTREAM = 4  # steps before "ea": filter, resample, scale, clip


class _Spy(TransformerMixin, BaseEstimator):
    """Pass-through that keeps what it was fitted on (the aligned training data)."""

    def fit(self, X, y=None):
        self.fit_X_ = np.array(X)
        return self

    def transform(self, X):
        return X


def _pipeline(ea):
    return Pipeline(
        [
            ("filter", BandpassFilter(2.0, 30.0, sfreq=128.0)),
            ("resample", Resample(128.0, 64.0)),
            ("scale", ChannelScaler(robust=True)),
            ("clip", Clip(20.0)),
            ("ea", ea),
            ("spy", _Spy()),
            ("vec", Vectorizer()),
            ("ridge", Ridge(alpha=1.0)),
        ]
    )


def _data(make_eeg, n_subjects=4, n_trials=6):
    X = np.concatenate([make_eeg(n_trials, 6, 256, seed=s) * (1.0 + s) for s in range(n_subjects)])
    subjects = np.repeat([f"sub-{s}" for s in range(n_subjects)], n_trials)
    y = np.random.default_rng(0).standard_normal((len(X), 16)).astype(np.float32)
    return X, y, subjects


def _folds(result):
    return zip(result["estimator"], result["indices"]["train"], result["indices"]["test"])


@pytest.mark.filterwarnings("error::UserWarning")  # e.g. "fit_transform does not forward"
def test_group_kfold_with_routing_aligns_each_subject_with_its_own_data(make_eeg):
    X, y, subjects = _data(make_eeg)
    with sklearn.config_context(enable_metadata_routing=True):
        ea = EuclideanAlignment().set_fit_request(groups=True).set_transform_request(groups=True)
        result = cross_validate(
            _pipeline(ea),
            X,
            y,
            cv=GroupKFold(n_splits=2),
            params={"groups": subjects},
            return_estimator=True,
            return_indices=True,
        )
        assert np.isfinite(result["test_score"]).all()
        for est, train, test in _folds(result):
            upstream = est[:N_UPSTREAM]
            # Training folds are aligned subject by subject (groups reached fit_transform).
            expected = align(upstream.transform(X[train]), subjects[train])
            np.testing.assert_allclose(est["spy"].fit_X_, expected, rtol=1e-5, atol=1e-5)
            # At predict, groups reach transform: each test subject is aligned alone.
            aligned_test = align(upstream.transform(X[test]), subjects[test])
            expected = est["ridge"].predict(est["vec"].transform(aligned_test))
            predicted = est.predict(X[test], groups=subjects[test])
            np.testing.assert_allclose(predicted, expected, rtol=1e-4, atol=1e-6)


def test_scaler_statistics_come_from_the_training_fold_only(make_eeg):
    X, y, subjects = _data(make_eeg)
    result = cross_validate(
        _pipeline(EuclideanAlignment()),
        X,
        y,
        groups=subjects,
        cv=GroupKFold(n_splits=2),
        return_estimator=True,
        return_indices=True,
    )
    for est, train, _ in _folds(result):
        reference = ChannelScaler(robust=True).fit(est[:2].transform(X[train]))
        np.testing.assert_allclose(est["scale"].center_, reference.center_, rtol=1e-6)
        np.testing.assert_allclose(est["scale"].scale_, reference.scale_, rtol=1e-6)


def test_leave_one_subject_out_without_routing(make_eeg):
    X, y, subjects = _data(make_eeg)
    result = cross_validate(
        _pipeline(EuclideanAlignment()),
        X,
        y,
        groups=subjects,
        cv=LeaveOneGroupOut(),
        return_estimator=True,
        return_indices=True,
    )
    assert len(result["test_score"]) == 4 and np.isfinite(result["test_score"]).all()
    for est, train, test in _folds(result):
        upstream = est[:N_UPSTREAM]
        # No groups: the training batch is one domain...
        np.testing.assert_allclose(
            est["spy"].fit_X_, align(upstream.transform(X[train])), rtol=1e-5, atol=1e-5
        )
        # ...and so is the test fold, which is exactly the left-out subject.
        assert len(set(subjects[test])) == 1
        aligned_test = align(upstream.transform(X[test]))
        expected = est["ridge"].predict(est["vec"].transform(aligned_test))
        np.testing.assert_allclose(est.predict(X[test]), expected, rtol=1e-4, atol=1e-6)
