"""One model per condition: the fair linear baseline for a condition-aware decoder.

Imagery EEG responses are weaker, delayed and of inverted polarity compared with
listening: a linear decoder pooled over both conditions averages the imagery
response away. :class:`ByCondition` fits one clone of any decoder (or pipeline)
per condition label and sends each trial to its own condition's model, as the
GAN's per-condition encoder maps do, so the comparison between them is fair.
"""

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, _fit_context, clone
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_method_params, _num_samples, check_is_fitted

from ._features import predict_features as _pipeline_features


def _final_step(estimator):
    return estimator[-1] if isinstance(estimator, Pipeline) else estimator


def _inner_has_features(meta):
    return hasattr(_final_step(meta.estimator), "predict_features")


def condition_indices(condition, n_trials, labels=None):
    """The trials of each condition label, in input order.

    Parameters
    ----------
    condition : array-like, shape (n_trials,)
        Condition of each trial (e.g. ``"listening"``, ``"imagery"``).
    n_trials : int
        Number of trials of ``X``.
    labels : ndarray, shape (n_labels,) | None, default=None
        The known labels (a fitted model's ``conditions_``); ``None`` takes the
        sorted distinct labels of ``condition``.

    Returns
    -------
    labels : ndarray, shape (n_labels,)
        Sorted labels.
    indices : list of ndarray of int
        ``indices[k]`` holds the trials of ``labels[k]``, in increasing order
        (empty for a known label absent from ``condition``).

    Raises
    ------
    ValueError
        If ``condition`` is not of shape ``(n_trials,)`` or, with ``labels``,
        holds a label outside ``labels``.

    Examples
    --------
    >>> from sk_eeg2music.models.conditionwise import condition_indices
    >>> labels, idx = condition_indices(["im", "li", "im"], 3)
    >>> labels.tolist(), [i.tolist() for i in idx]
    (['im', 'li'], [[0, 2], [1]])
    """
    condition = np.asarray(condition)
    if condition.shape != (n_trials,):
        raise ValueError(
            f"condition must have shape (n_trials,) = ({n_trials},), one label per trial of "
            f"X; got shape {condition.shape}."
        )
    if labels is None:
        labels = np.unique(condition)
    else:
        unknown = np.setdiff1d(condition, labels)
        if unknown.size:
            raise ValueError(
                f"condition holds label(s) {unknown.tolist()} that the model was not fitted "
                f"on; the fitted conditions are {np.asarray(labels).tolist()}."
            )
    return labels, [np.flatnonzero(condition == label) for label in labels]


class ByCondition(MetaEstimatorMixin, RegressorMixin, BaseEstimator):
    """Meta-estimator: one clone of ``estimator`` per condition (e.g. listening, imagery).

    ``fit`` fits a clone of ``estimator`` on the trials of each distinct
    condition label; ``predict`` (and ``predict_features``) sends each trial to
    its condition's model and returns the rows in input order. Fitted without
    ``condition``, it is ``estimator`` itself (one model for all trials).

    Parameters
    ----------
    estimator : estimator
        The decoder (or pipeline) fitted per condition; it maps EEG
        ``(n_trials, n_channels, n_times)`` to waveforms ``(n_trials, n_audio)``.

    Attributes
    ----------
    conditions_ : ndarray, shape (n_conditions,) | None
        The sorted condition labels seen in ``fit`` (``None`` when fitted
        without ``condition``).
    estimators_ : list of estimator
        One fitted clone per label of ``conditions_``, in the same order (a
        single one when fitted without ``condition``).
    n_features_in_ : int
        Number of channels (when the wrapped estimator records it).

    See Also
    --------
    sk_eeg2music.pipelines.make_reduced_rank_by_condition_pipeline :
        The reduced-rank linear baseline fitted per condition.

    Notes
    -----
    Metadata: ``condition`` is requested by default in ``fit``, ``predict`` and
    ``score`` (the evaluation harness hands it over). Other fit parameters
    (e.g. ``groups`` for a grouped inner CV) go to the wrapped estimator's
    ``fit``, cut to each condition's trials: with metadata routing enabled, as
    that estimator requests them; without, as given. A model fitted without
    ``condition`` ignores one given to ``predict`` (it has a single model).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.models import ByCondition, ReducedRankDecoder
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((8, 3, 64)).astype(np.float32)  # 1-s trials at 64 Hz
    >>> y = rng.standard_normal((8, 64 * 32)).astype(np.float32)  # audio at 2048 Hz
    >>> condition = np.repeat(["imagery", "listening"], 4)
    >>> dec = ReducedRankDecoder(rank=2, alphas=[1.0], n_mels=8, n_iter=4)
    >>> model = ByCondition(dec).fit(X, y, condition=condition)
    >>> model.conditions_.tolist(), len(model.estimators_)
    (['imagery', 'listening'], 2)
    >>> model.predict_features(X, condition=condition).shape  # (n_trials, n_mels, n_frames)
    (8, 8, 64)
    """

    __metadata_request__fit = {"condition": True}
    __metadata_request__predict = {"condition": True}
    __metadata_request__score = {"condition": True}

    _parameter_constraints = {"estimator": [HasMethods(["fit", "predict"])]}

    def __init__(self, estimator):
        self.estimator = estimator

    @classmethod
    def _test_instances(cls):
        # Hook of tests/test_common.py: a small, fast inner decoder.
        from .reduced_rank import ReducedRankDecoder

        return [cls(ReducedRankDecoder(rank=[1, 2], alphas=[1.0], cv=2, n_mels=8, n_iter=4))]

    def _expected_failed_checks(self):
        # Hook of tests/test_common.py: the checks the wrapped estimator fails.
        hook = getattr(self.estimator, "_expected_failed_checks", None)
        return hook() if hook is not None else {}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if not hasattr(self.estimator, "__sklearn_tags__"):  # invalid; fit says so
            return tags
        inner = self.estimator.__sklearn_tags__()
        tags.input_tags = inner.input_tags
        tags.target_tags = inner.target_tags
        tags.regressor_tags = inner.regressor_tags
        return tags

    def get_metadata_routing(self):
        """Route ``fit`` and ``predict`` metadata to the wrapped estimator.

        ``condition`` is consumed by this estimator; anything else the wrapped
        estimator requests (e.g. ``groups``) is passed on, per condition.

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRouter
        """
        return (
            MetadataRouter(owner=self)
            .add_self_request(self)
            .add(
                estimator=self.estimator,
                method_mapping=MethodMapping()
                .add(caller="fit", callee="fit")
                .add(caller="predict", callee="predict"),
            )
        )

    def _inner_params(self, method, params):
        """The metadata for the wrapped estimator's ``method`` (all trials)."""
        if _routing_enabled():
            return getattr(process_routing(self, method, **params).estimator, method)
        if method != "fit":  # without routing, fit passes everything on (as the controls)
            _raise_for_params(params, self, method)
        return params

    @_fit_context(prefer_skip_nested_validation=False)  # the wrapped estimator validates
    def fit(self, X, y, condition=None, **fit_params):
        """Fit one clone of ``estimator`` per condition on that condition's trials.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
            EEG.
        y : array-like, shape (n_trials, n_audio)
            Waveforms.
        condition : array-like, shape (n_trials,) | None, default=None
            Condition of each trial; ``None`` fits a single model on all trials.
        **fit_params
            Other metadata for the wrapped estimator's ``fit`` (e.g. ``groups``,
            shape ``(n_trials,)``), cut to each condition's trials.

        Returns
        -------
        self : ByCondition

        Raises
        ------
        ValueError
            If ``condition`` is not one label per trial, or if the wrapped
            estimator cannot be fitted on a condition's trials (e.g. too few
            for its inner cross-validation); the message names the condition.
        """
        params = self._inner_params("fit", fit_params)
        if condition is None:
            self.conditions_ = None
            self.estimators_ = [clone(self.estimator).fit(X, y, **params)]
        else:
            self.conditions_, indices = condition_indices(condition, _num_samples(X))
            self.estimators_ = [
                self._fit_one(X, y, idx, label, params)
                for label, idx in zip(self.conditions_, indices)
            ]
        if hasattr(self.estimators_[0], "n_features_in_"):
            self.n_features_in_ = self.estimators_[0].n_features_in_
        return self

    def _fit_one(self, X, y, idx, label, params):
        X_c = _safe_indexing(X, idx)
        y_c = None if y is None else _safe_indexing(y, idx)
        try:
            return clone(self.estimator).fit(X_c, y_c, **_check_method_params(X, params, idx))
        except ValueError as err:  # name the condition whose trials did not fit
            raise ValueError(
                f"{type(self).__name__}: fitting {type(self.estimator).__name__} on the "
                f"{len(idx)} trial(s) of condition {np.asarray(label).tolist()!r} failed: {err}"
            ) from err

    def _split(self, X, condition):
        """``(estimator, trials)`` pairs covering every trial of ``X`` once."""
        check_is_fitted(self)
        n_trials = _num_samples(X)
        if self.conditions_ is None:
            if condition is not None:  # validate its length even though one model serves all
                condition_indices(condition, n_trials)
            return [(self.estimators_[0], None)]
        if condition is None:
            raise ValueError(
                f"{type(self).__name__} was fitted per condition "
                f"({self.conditions_.tolist()}): pass condition=, one label per trial."
            )
        _, indices = condition_indices(condition, n_trials, self.conditions_)
        return [(est, idx) for est, idx in zip(self.estimators_, indices) if idx.size]

    def _apply(self, call, X, condition, params):
        """``call(estimator, X_c, params_c)`` per condition, rows back in input order."""
        parts = self._split(X, condition)
        if parts[0][1] is None:
            return np.asarray(call(parts[0][0], X, params))
        outs = [
            np.asarray(call(est, _safe_indexing(X, idx), _check_method_params(X, params, idx)))
            for est, idx in parts
        ]
        stacked = np.concatenate(outs)
        out = np.empty_like(stacked)
        out[np.concatenate([idx for _, idx in parts])] = stacked
        return out

    def predict(self, X, condition=None, **predict_params):
        """Reconstruct each trial with its condition's model.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
            EEG.
        condition : array-like, shape (n_trials,) | None, default=None
            Condition of each trial; required when fitted per condition.
        **predict_params
            Metadata for the wrapped estimator's ``predict`` (routing enabled only).

        Returns
        -------
        y_pred : ndarray, shape (n_trials, n_audio)
            Rows in the order of ``X``.

        Raises
        ------
        ValueError
            If ``condition`` is missing (fitted per condition), not one label per
            trial, or holds a label not seen in ``fit``.
        """
        params = self._inner_params("predict", predict_params)
        return self._apply(lambda est, X_c, p: est.predict(X_c, **p), X, condition, params)

    @available_if(_inner_has_features)
    def predict_features(self, X, condition=None, **predict_params):
        """Decoded features of each trial from its condition's model, before synthesis.

        Available when the wrapped estimator (or a pipeline's final step) has
        ``predict_features``; a pipeline's transformers run first.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
            EEG.
        condition : array-like, shape (n_trials,) | None, default=None
            Condition of each trial; required when fitted per condition.
        **predict_params
            Metadata (e.g. ``groups``) for the steps that request it.

        Returns
        -------
        features : ndarray, shape (n_trials, n_mels, n_frames)
            Rows in the order of ``X``.

        Raises
        ------
        ValueError
            As :meth:`predict`.
        """
        return self._apply(
            lambda est, X_c, p: _pipeline_features(est, X_c, **p), X, condition, predict_params
        )

    def score(self, X, y, condition=None):
        """Each condition's model's score on its trials, averaged weighted by trial count.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
            EEG.
        y : array-like, shape (n_trials, n_audio)
            True waveforms.
        condition : array-like, shape (n_trials,) | None, default=None
            Condition of each trial; required when fitted per condition.

        Returns
        -------
        score : float
            The wrapped estimator's ``score`` (e.g. the mel correlation of
            the decoders) per condition, weighted by its number of trials.
        """
        parts = self._split(X, condition)
        if parts[0][1] is None:
            return float(parts[0][0].score(X, y))
        scores = [est.score(_safe_indexing(X, idx), _safe_indexing(y, idx)) for est, idx in parts]
        return float(np.average(scores, weights=[len(idx) for _, idx in parts]))
