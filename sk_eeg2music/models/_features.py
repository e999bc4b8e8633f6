"""Decoded features of any fitted decoder, pipeline or control, before synthesis."""

from sklearn.pipeline import Pipeline

from .._routing import consumed


def predict_features(estimator, X, **params):
    """Decoded log-mel (or envelope) of a fitted model, at the EEG frame rate.

    A :class:`~sklearn.pipeline.Pipeline` has no ``predict_features``: its
    transformers run first (with the metadata they request, e.g. ``groups`` for
    Euclidean Alignment, when routing is enabled), then the final step's
    ``predict_features``. Controls that wrap a pipeline call this function on it.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        Its final step has ``predict_features(X)``.
    X : ndarray, shape (n_trials, n_channels, n_times)
        EEG.
    **params
        Metadata such as ``groups``; each step gets what it requests for
        ``transform`` / ``predict`` (ignored by steps that request nothing).

    Returns
    -------
    features : ndarray, shape (n_trials, n_features, n_frames)
        The decoded features (``n_features = n_mels`` for mel decoders).

    Raises
    ------
    TypeError
        If the (final) estimator has no ``predict_features``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music import LinearDecoder
    >>> from sk_eeg2music.pipelines import predict_features
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((4, 3, 64)).astype(np.float32)
    >>> y = rng.standard_normal((4, 64 * 125)).astype(np.float32)
    >>> dec = LinearDecoder(sfreq=64.0, alphas=[1.0]).fit(X, y)
    >>> predict_features(dec, X).shape
    (4, 32, 64)
    """
    if isinstance(estimator, Pipeline):
        if len(estimator) > 1:
            front = estimator[:-1]
            X = front.transform(X, **consumed(front, "transform", params))
        return predict_features(estimator[-1], X, **params)
    method = getattr(estimator, "predict_features", None)
    if method is None:
        raise TypeError(
            f"{type(estimator).__name__} has no predict_features(X): only decoders that "
            "expose their decoded features (before synthesis) can be scored at the feature level."
        )
    return method(X, **consumed(estimator, "predict", params))
