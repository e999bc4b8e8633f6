"""Routing ``groups`` to the steps that request them."""

import numpy as np
import sklearn
from sklearn.pipeline import Pipeline

from sk_eeg2music import EuclideanAlignment, MeanSpectrumBaseline
from sk_eeg2music._routing import call_with_groups, requests_groups
from sk_eeg2music.pipelines import make_preprocessing


def test_requests_groups_follows_the_steps():
    aligned = Pipeline(make_preprocessing(64.0))  # EuclideanAlignment requests groups
    plain = Pipeline(make_preprocessing(64.0, align=False))
    assert requests_groups(aligned, "fit") and requests_groups(aligned, "transform")
    assert not requests_groups(plain, "fit")
    assert not requests_groups(object(), "fit")  # no routing at all


def test_call_with_groups_passes_them_only_where_requested(make_eeg):
    X = make_eeg(n_trials=4, n_channels=3, n_times=32)
    groups = np.array(["a", "a", "b", "b"])
    with sklearn.config_context(enable_metadata_routing=True):
        ea = EuclideanAlignment().set_fit_request(groups=True).set_transform_request(groups=True)
    out = call_with_groups(Pipeline([("align", ea)]), "fit_transform", X, groups=groups)
    # Each subject is aligned with its own covariance, not with the batch's.
    per_subject = EuclideanAlignment().fit_transform(X, groups=groups)
    np.testing.assert_allclose(out, per_subject, rtol=1e-5)
    assert not np.allclose(out, EuclideanAlignment().fit_transform(X), rtol=1e-3)
    y = np.zeros((4, 32 * 125), np.float32)
    baseline = call_with_groups(MeanSpectrumBaseline(sfreq=64.0), "fit", X, y, groups=groups)
    assert isinstance(baseline, MeanSpectrumBaseline)  # requests nothing: fitted without groups
