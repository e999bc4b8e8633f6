"""Routing ``groups`` to the steps that request them."""

import numpy as np
import sklearn
from sklearn.pipeline import Pipeline

from sk_eeg2music import ByCondition, EuclideanAlignment, MeanSpectrumBaseline
from sk_eeg2music._routing import call_routed, consumed
from sk_eeg2music.pipelines import make_preprocessing


def test_consumed_follows_the_steps():
    aligned = Pipeline(make_preprocessing(64.0))  # EuclideanAlignment requests groups
    plain = Pipeline(make_preprocessing(64.0, align=False))
    meta = {"groups": np.arange(3), "condition": np.arange(3)}
    assert list(consumed(aligned, "fit", meta)) == ["groups"]
    assert list(consumed(aligned, "transform", meta)) == ["groups"]
    assert consumed(plain, "fit", meta) == {}
    assert consumed(object(), "fit", meta) == {}  # no routing at all


def test_call_routed_passes_metadata_only_where_requested(make_eeg):
    X = make_eeg(n_trials=4, n_channels=3, n_times=32)
    groups = np.array(["a", "a", "b", "b"])
    with sklearn.config_context(enable_metadata_routing=True):
        ea = EuclideanAlignment().set_fit_request(groups=True).set_transform_request(groups=True)
    out = call_routed(Pipeline([("align", ea)]), "fit_transform", X, groups=groups, condition=None)
    # Each subject is aligned with its own covariance, not with the batch's.
    per_subject = EuclideanAlignment().fit_transform(X, groups=groups)
    np.testing.assert_allclose(out, per_subject, rtol=1e-5)
    assert not np.allclose(out, EuclideanAlignment().fit_transform(X), rtol=1e-3)
    y = np.zeros((4, 32 * 125), np.float32)
    baseline = call_routed(
        MeanSpectrumBaseline(sfreq=64.0), "fit", X, y, groups=groups, condition=groups
    )
    assert isinstance(baseline, MeanSpectrumBaseline)  # requests nothing: fitted without either


def test_call_routed_hands_condition_to_the_steps_that_request_it(make_eeg):
    X = make_eeg(n_trials=4, n_channels=3, n_times=32)
    y = np.zeros((4, 32 * 125), np.float32)
    condition = np.array(["listening", "imagery", "listening", "imagery"])
    model = call_routed(
        ByCondition(MeanSpectrumBaseline(sfreq=64.0)), "fit", X, y, groups=None, condition=condition
    )
    assert list(model.conditions_) == ["imagery", "listening"]
    model = call_routed(
        ByCondition(MeanSpectrumBaseline(sfreq=64.0)), "fit", X, y, condition=None
    )  # None: not passed at all
    assert model.conditions_ is None
