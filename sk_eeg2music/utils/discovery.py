"""Find every estimator the package defines, for the compliance suite."""

import importlib
import inspect
import pkgutil

from sklearn.base import BaseEstimator


def all_estimators():
    """Return ``(name, class)`` for every public estimator class in the package.

    Walks every module of :mod:`sk_eeg2music` (tests excluded), so estimators
    added later are found without editing the compliance suite.

    Returns
    -------
    estimators : list of (str, type)
        Sorted by name; abstract and private classes are skipped.
    """
    import sk_eeg2music

    found = {}
    for mod_info in pkgutil.walk_packages(sk_eeg2music.__path__, "sk_eeg2music."):
        if ".tests" in mod_info.name or mod_info.name.endswith("__main__"):
            continue
        module = importlib.import_module(mod_info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, BaseEstimator)
                and cls.__module__.startswith("sk_eeg2music")
                and not name.startswith("_")
                and not inspect.isabstract(cls)
            ):
                found[name] = cls
    return sorted(found.items())
