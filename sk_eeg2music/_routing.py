"""Metadata routing: shared by the evaluation harness, the controls and the command line."""

import sklearn


def consumed(estimator, method, params):
    """The subset of ``params`` that ``estimator`` (any of its steps) requests in ``method``.

    Parameters
    ----------
    estimator : estimator or Pipeline
    method : str
        ``"fit"``, ``"predict"``, ``"transform"`` ...
    params : dict of str -> array-like
        Available metadata, e.g. ``groups``, ``stimulus``, ``segment``.

    Returns
    -------
    routed : dict
        The items of ``params`` that ``method`` consumes (passing others while
        routing is enabled raises in scikit-learn).
    """
    if not params:
        return {}
    try:
        names = estimator.get_metadata_routing().consumes(method=method, params=set(params))
    except (AttributeError, TypeError):  # no routing (plain objects, old scikit-learn)
        return {}
    return {k: v for k, v in params.items() if k in names}


def call_routed(estimator, method, *arrays, **metadata):
    """``estimator.<method>(*arrays)`` with each metadata routed to the steps that request it.

    Parameters
    ----------
    estimator : estimator or Pipeline
    method : str
    *arrays : ndarray
        ``X`` (n_trials, n_channels, n_times) and, for ``fit``, ``y`` (n_trials, n_audio).
    **metadata : ndarray of shape (n_trials,) | None
        E.g. ``groups`` (subject of each trial) and ``condition``; ``None``
        values are dropped, and so is what no step requests.

    Returns
    -------
    result
        What the method returns.
    """
    given = {k: v for k, v in metadata.items() if v is not None}
    with sklearn.config_context(enable_metadata_routing=True):
        return getattr(estimator, method)(*arrays, **consumed(estimator, method, given))
