"""ByCondition: one model per condition, and its registry entry."""

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.dummy import DummyRegressor
from sklearn.model_selection import LeaveOneGroupOut
from sklearn.pipeline import Pipeline

from sk_eeg2music import ByCondition, ChannelScaler, ReducedRankDecoder
from sk_eeg2music._routing import consumed
from sk_eeg2music.evaluation import evaluate_models
from sk_eeg2music.evaluation._folds import _fit_predict_routed
from sk_eeg2music.pipelines import (
    DEFAULT_MODELS,
    MODELS,
    make_models,
    make_reduced_rank_by_condition_pipeline,
    predict_features,
)

N_TIMES, FACTOR = 64, 32  # 1-s trials at 64 Hz, audio at 2048 Hz


def _decoder(**params):
    return ReducedRankDecoder(rank=[1, 2], alphas=[1.0, 10.0], cv=2, n_mels=8, n_iter=4, **params)


@pytest.fixture
def trials(make_eeg, make_audio):
    """12 trials, conditions interleaved (not sorted), 3 subjects per condition."""
    X = make_eeg(n_trials=12, n_channels=3, n_times=N_TIMES)
    y = make_audio(n_trials=12, n_audio=N_TIMES * FACTOR, sfreq=N_TIMES * FACTOR)
    condition = np.array(["listening", "imagery"] * 6)
    groups = np.repeat([0, 1, 2], 4)
    return X, y, condition, groups


class _Spy(RegressorMixin, BaseEstimator):
    """Records its fit metadata; predicts its training mean plus each trial's first sample."""

    def fit(self, X, y, groups=None):
        self.groups_ = None if groups is None else np.asarray(groups)
        self.n_fit_ = len(X)
        self.y_mean_ = np.asarray(y).mean(axis=0)
        return self

    def predict(self, X):
        return self.y_mean_ + np.asarray(X)[:, 0, :1]

    def predict_features(self, X):
        return np.asarray(X)[:, :2] + self.y_mean_[0]


def test_fit_equals_a_clone_fitted_on_each_condition(trials):
    X, y, condition, _ = trials
    model = ByCondition(_decoder()).fit(X, y, condition=condition)
    assert model.conditions_.tolist() == ["imagery", "listening"]  # sorted, as np.unique
    assert len(model.estimators_) == 2 and model.n_features_in_ == 3
    for label, est in zip(model.conditions_, model.estimators_):
        alone = clone(_decoder()).fit(X[condition == label], y[condition == label])
        np.testing.assert_array_equal(est.coef_, alone.coef_)
        np.testing.assert_array_equal(est.alpha_, alone.alpha_)
        assert est.rank_ == alone.rank_
    # The two conditions' data differ, and so do their models.
    assert not np.allclose(model.estimators_[0].coef_, model.estimators_[1].coef_)


def test_fit_without_condition_is_the_estimator_itself(trials):
    X, y, _, _ = trials
    model = ByCondition(_decoder()).fit(X, y)
    assert model.conditions_ is None and len(model.estimators_) == 1
    alone = _decoder().fit(X, y)
    np.testing.assert_array_equal(model.estimators_[0].coef_, alone.coef_)
    np.testing.assert_array_equal(model.predict(X), alone.predict(X))
    # One model serves every trial: a condition at predict time changes nothing.
    cond = np.array(["a", "b"] * 6)
    np.testing.assert_array_equal(
        model.predict_features(X, condition=cond), alone.predict_features(X)
    )


def test_groups_reach_each_condition_estimator_sliced(trials):
    X, y, condition, groups = trials
    with sklearn.config_context(enable_metadata_routing=True):
        spy = _Spy().set_fit_request(groups=True)
        model = ByCondition(spy).fit(X, y, condition=condition, groups=groups)
        dec = _decoder().set_fit_request(groups=True)
        rr = ByCondition(dec).fit(X, y, condition=condition, groups=groups)
    for label, est in zip(model.conditions_, model.estimators_):
        np.testing.assert_array_equal(est.groups_, groups[condition == label])
        assert est.n_fit_ == np.sum(condition == label)
    # The grouped inner CV of each condition's decoder: as fitted alone with its groups.
    for label, est in zip(rr.conditions_, rr.estimators_):
        sel = condition == label
        alone = _decoder().fit(X[sel], y[sel], groups=groups[sel])
        np.testing.assert_array_equal(est.coef_, alone.coef_)
    # Without routing, fit parameters are passed on as given (and sliced).
    plain = ByCondition(_Spy()).fit(X, y, condition=condition, groups=groups)
    np.testing.assert_array_equal(plain.estimators_[1].groups_, groups[condition == "listening"])


def test_unrequested_groups_are_refused_under_routing(trials):
    X, y, condition, groups = trials
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(sklearn.exceptions.UnsetMetadataPassedError, match="groups"):
            ByCondition(_Spy()).fit(X, y, condition=condition, groups=groups)


def test_predict_sends_each_trial_to_its_condition_model_in_input_order(trials):
    X, y, condition, _ = trials
    model = ByCondition(_Spy()).fit(X, y, condition=condition)
    order = np.array([5, 0, 11, 2, 3])  # mixed conditions, unsorted
    y_pred = model.predict(X[order], condition=condition[order])
    feats = model.predict_features(X[order], condition=condition[order])
    assert y_pred.shape == (5, N_TIMES * FACTOR) and feats.shape == (5, 2, N_TIMES)
    for row, i in enumerate(order):
        est = model.estimators_[model.conditions_.tolist().index(condition[i])]
        np.testing.assert_array_equal(y_pred[row], est.predict(X[i : i + 1])[0])
        np.testing.assert_array_equal(feats[row], est.predict_features(X[i : i + 1])[0])
    # The two models really differ, so a swapped routing would show.
    assert not np.allclose(model.estimators_[0].y_mean_, model.estimators_[1].y_mean_)


def test_predict_features_of_wrapped_pipelines_and_decoders(trials):
    X, y, condition, _ = trials
    pipe = Pipeline([("scale", ChannelScaler()), ("rr", _decoder())])
    model = ByCondition(pipe).fit(X, y, condition=condition)
    feats = model.predict_features(X, condition=condition)
    assert feats.shape == (12, 8, N_TIMES)
    sel = condition == "imagery"
    np.testing.assert_allclose(feats[sel], predict_features(model.estimators_[0], X[sel]))
    assert model.predict(X[:3], condition=condition[:3]).shape == (3, N_TIMES * FACTOR)
    # Without features in the wrapped estimator, neither has ByCondition.
    assert not hasattr(ByCondition(DummyRegressor()), "predict_features")


def test_score_weights_each_condition_by_its_trials(trials):
    X, y, condition, _ = trials
    model = ByCondition(_decoder()).fit(X, y, condition=condition)
    sel = condition == "imagery"
    per = [model.estimators_[0].score(X[sel], y[sel]), model.estimators_[1].score(X[~sel], y[~sel])]
    assert model.score(X, y, condition=condition) == pytest.approx(np.mean(per))


def test_errors_are_clear(trials):
    X, y, condition, _ = trials
    model = ByCondition(_Spy()).fit(X, y, condition=condition)
    with pytest.raises(ValueError, match=r"fitted per condition \(\['imagery', 'listening'\]\)"):
        model.predict(X)
    with pytest.raises(ValueError, match=r"fitted per condition"):
        model.predict_features(X)
    with pytest.raises(ValueError, match=r"label\(s\) \['rest'\].*not fitted on"):
        model.predict(X[:2], condition=["listening", "rest"])
    with pytest.raises(ValueError, match=r"shape \(n_trials,\) = \(12,\).*got shape \(11,\)"):
        ByCondition(_Spy()).fit(X, y, condition=condition[:-1])
    with pytest.raises(ValueError, match=r"shape \(n_trials,\) = \(3,\)"):
        model.predict(X[:3], condition=condition[:2])
    # A condition too small for the inner CV: the inner error, naming the condition.
    lonely = condition.copy()
    lonely[0] = "rest"
    with pytest.raises(ValueError, match=r"1 trial\(s\) of condition 'rest'.*at least 2 trials"):
        ByCondition(_decoder()).fit(X, y, condition=lonely)
    # Metadata for predict without routing: refused, as scikit-learn's meta-estimators do.
    with pytest.raises(ValueError, match="only supported if enable_metadata_routing.*groups"):
        model.predict(X, condition=condition, groups=np.zeros(12))


def test_condition_is_requested_by_default():
    meta = {"groups": 1, "condition": 2, "stimulus": 3, "segment": 4}
    assert consumed(ByCondition(_decoder()), "fit", meta) == {"condition": 2}
    assert consumed(ByCondition(_decoder()), "predict", meta) == {"condition": 2}
    with sklearn.config_context(enable_metadata_routing=True):
        grouped = ByCondition(_decoder().set_fit_request(groups=True))
    assert consumed(grouped, "fit", meta) == {"groups": 1, "condition": 2}
    assert consumed(grouped, "predict", meta) == {"condition": 2}
    pipe = make_reduced_rank_by_condition_pipeline(64.0)
    assert consumed(pipe, "fit", meta) == {"groups": 1, "condition": 2}
    # The front end aligns each test subject with its own EEG: groups in predict too.
    assert consumed(pipe, "predict", meta) == {"groups": 1, "condition": 2}


def test_registry_entry(trials):
    assert "reduced-rank-by-condition" in MODELS
    assert "reduced-rank-by-condition" not in DEFAULT_MODELS
    assert "per condition" in MODELS["reduced-rank-by-condition"]
    pipe = make_models(64.0, ["reduced-rank-by-condition"], seed=3, n_iter=5)[
        "reduced-rank-by-condition"
    ]
    plain = make_models(64.0, ["reduced-rank"], seed=3, n_iter=5)["reduced-rank"]
    assert isinstance(pipe[-1], ByCondition) and isinstance(pipe[-1].estimator, ReducedRankDecoder)
    # The same front end and decoder as the pooled baseline, only split by condition.
    assert [n for n, _ in pipe.steps[:-1]] == [n for n, _ in plain.steps[:-1]]
    assert pipe[-1].estimator.get_params() == plain[-1].get_params()


def test_routed_fit_uses_each_condition_of_the_training_fold(trials):
    """The harness hands ``condition`` and ``groups`` over with no extra request."""
    X, y, condition, groups = trials
    pipe = Pipeline([("scale", ChannelScaler()), ("by", ByCondition(_decoder()))])
    with sklearn.config_context(enable_metadata_routing=True):
        pipe[-1].estimator.set_fit_request(groups=True)
    meta = dict(groups=groups, condition=condition, stimulus=np.zeros(12), segment=np.zeros(12))
    train, test = np.arange(8), np.arange(8, 12)
    est, y_pred, feats = _fit_predict_routed(pipe, X, y, meta, train, test)
    assert est[-1].conditions_.tolist() == ["imagery", "listening"]
    assert [e.n_features_in_ for e in est[-1].estimators_] == [3, 3]
    assert y_pred.shape == (4, N_TIMES * FACTOR) and feats.shape == (4, 8, N_TIMES)
    # The imagery model: the training fold's imagery trials with their subjects.
    sel = train[condition[train] == "imagery"]
    alone = _decoder().fit(est[:-1].transform(X[sel]), y[sel], groups=groups[sel])
    np.testing.assert_allclose(est[-1].estimators_[0].coef_, alone.coef_)


_FRONT_END_WARNING = "ignore:filter_length .* is longer than the signal:RuntimeWarning"


@pytest.mark.filterwarnings(_FRONT_END_WARNING)
def test_evaluate_models_scores_both_conditions_of_the_per_condition_pipeline(simulated):
    data = simulated("mos")
    assert set(data.condition) == {"imagery", "listening"}
    # Short lags keep the lagged Gram small (the default window costs ~20 s here).
    pipe = make_reduced_rank_by_condition_pipeline(
        data.sfreq, tmin=0.0, tmax=0.1, rank=[1, 2], alphas=[1.0, 100.0], n_mels=8, n_iter=4
    )
    ev = evaluate_models(
        {"by-condition": pipe}, data, LeaveOneGroupOut(), max_folds=1, progress=False
    )
    assert sorted(ev.folds.condition) == ["imagery", "listening"]
    test = np.flatnonzero(data.groups == np.unique(data.groups)[0])
    assert sorted(ev.trials.trial) == test.tolist()
    assert np.isfinite(ev.folds[["mel_r", "feature_r"]].to_numpy()).all()


@pytest.mark.slow
@pytest.mark.filterwarnings(_FRONT_END_WARNING)
def test_evaluate_models_runs_the_registry_entry(simulated):
    data = simulated("mos")
    models = make_models(data.sfreq, ["reduced-rank-by-condition"], n_iter=4)
    ev = evaluate_models(models, data, LeaveOneGroupOut(), max_folds=1, progress=False)
    assert sorted(ev.folds.condition) == ["imagery", "listening"]
    assert np.isfinite(ev.folds[["mel_r", "feature_r"]].to_numpy()).all()


def test_model_file_round_trip_keeps_every_condition(trials, tmp_path):
    from sk_eeg2music import load_model, save_model

    X, y, condition, _ = trials
    model = ByCondition(_decoder()).fit(X, y, condition=condition.astype(object))
    loaded = load_model(save_model(model, tmp_path / "by.safetensors"), device="cpu")
    assert loaded.conditions_.tolist() == ["imagery", "listening"]
    np.testing.assert_array_equal(
        loaded.predict_features(X, condition=condition),
        model.predict_features(X, condition=condition),
    )
