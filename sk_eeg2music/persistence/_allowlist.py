"""What a model file may name: the table of exact classes and the rules for parameters and state.

The table (:func:`allowed_classes`) is built from the package's public
estimators, :data:`EXTRA_ESTIMATORS`, :data:`CLASS_PARAMETERS` and
:data:`OBJECTS`; the rules say which fitted attributes a file may set and
which hyper-parameters it may hold only at a harmless value.
"""

import functools
import importlib
import inspect
import pkgutil

from ._common import _exact_keys, _Unencodable

_MISSING = object()

#: Modules whose public ``BaseEstimator`` classes are the package's estimators.
_ESTIMATOR_PACKAGES = (
    "sk_eeg2music.models",
    "sk_eeg2music.preprocessing",
    "sk_eeg2music.model_selection",
)


#: Estimators from other packages that a model file may hold (import paths).
EXTRA_ESTIMATORS = ("sklearn.pipeline.Pipeline",)


#: Classes a hyper-parameter may take (``module=``, ``criterion=``, ``optimizer=``).
CLASS_PARAMETERS = (
    "sk_eeg2music.models.gan.generator.Generator",
    "sk_eeg2music.models.gan.discriminators.MultiScaleDiscriminator",
    "sk_eeg2music.models.gan.discriminators.MultiPeriodDiscriminator",
    "sk_eeg2music.models.gan.losses.ReconstructionLoss",
    "torch.optim.AdamW",
    "skorch.dataset.Dataset",
    "torch.utils.data.DataLoader",
)


#: Objects rebuilt from their constructor arguments (``train_split=``, ``cv=``).
OBJECTS = (
    "skorch.dataset.ValidSplit",
    "sklearn.model_selection.KFold",
    "sklearn.model_selection.GroupKFold",
    "sklearn.model_selection.LeaveOneGroupOut",
    "sk_eeg2music.model_selection.SubjectTimeSplit",
)


#: Private fitted attributes a model file may set (besides public ``*_`` ones).
PRIVATE_STATE = frozenset({"_y_1d", "_sklearn_output_config"})


# Hyper-parameters a file may hold only at a harmless value, and why: any
# other value is reset to the default (with a warning) when saving and refused
# when loading. None of them changes predictions.
_RESTRICTED = {
    # A joblib cache unpickles the files it finds.
    "memory": ("a cache that reads pickles", lambda v: v is None),
}


_RESTRICTED_SKORCH = {
    # Callbacks are objects (or classes skorch would build), never data.
    "callbacks": (
        "callbacks other than None or 'disable'",
        lambda v: v is None or (isinstance(v, str) and v == "disable"),
    ),
    # skorch passes these to torch.load (weights_only=False would unpickle).
    "torch_load_kwargs": ("options for torch.load", lambda v: v is None),
    # torch.compile generates and compiles code while loading.
    "compile": ("torch.compile", lambda v: v is False),
}


# skorch bookkeeping rebuilt by ``initialize()``; never stored.
_SKORCH_MANAGED = {
    "history_",
    "callbacks_",
    "initialized_",
    "virtual_params_",
    "init_context_",
    "prefixes_",
    "cuda_dependent_attributes_",
}


# skorch parameters used only while training: when one holds something a model
# file cannot store (a lambda, a custom callback), it is reset to its default
# with a warning instead of refusing to save the model.
_TRAINING_ONLY = {"callbacks", "train_split", "iterator_train", "iterator_valid", "dataset"}


_ROUTED_METHODS = frozenset(
    {
        "fit",
        "partial_fit",
        "predict",
        "predict_proba",
        "predict_log_proba",
        "decision_function",
        "score",
        "split",
        "transform",
        "inverse_transform",
    }
)


_TORCH_DTYPES = (
    "float64",
    "float32",
    "float16",
    "bfloat16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint8",
    "bool",
)


def _import_path(path):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _package_estimators():
    """The package's public, concrete ``BaseEstimator`` classes (see the docstring)."""
    from sklearn.base import BaseEstimator

    found = set()
    for root in _ESTIMATOR_PACKAGES:
        package = importlib.import_module(root)
        modules = [package]
        if hasattr(package, "__path__"):
            for info in pkgutil.walk_packages(package.__path__, f"{root}."):
                try:
                    modules.append(importlib.import_module(info.name))
                except ImportError:  # an optional dependency is missing: not loadable
                    continue
        for module in modules:
            for name, cls in vars(module).items():
                if (
                    inspect.isclass(cls)
                    and issubclass(cls, BaseEstimator)
                    and cls.__module__.startswith("sk_eeg2music.")
                    and not name.startswith("_")
                    and not inspect.isabstract(cls)
                ):
                    found.add(cls)
    return found


@functools.cache
def _registry():
    """``{(module, qualname): (class, kind)}`` of every class a model file may name."""
    table = {}

    def add(cls, kind):
        if not inspect.isclass(cls):  # pragma: no cover - a mistake in the tables
            raise TypeError(f"{cls!r} in the model-file allowlist is not a class")
        table[(cls.__module__, cls.__qualname__)] = (cls, kind)

    for cls in _package_estimators():
        add(cls, "estimator")
    for kind, paths in (
        ("estimator", EXTRA_ESTIMATORS),
        ("class", CLASS_PARAMETERS),
        ("object", OBJECTS),
    ):
        for path in paths:
            try:
                cls = _import_path(path)
            except (ImportError, AttributeError):  # optional dependency not installed
                continue
            add(cls, kind)
    return table


def allowed_classes():
    """The exact classes a model file may name, by role.

    Returns
    -------
    classes : dict of str -> tuple of type
        ``"estimator"`` (tree nodes), ``"class"`` (values of hyper-parameters
        that take a class) and ``"object"`` (rebuilt from constructor
        arguments); see the module docstring for how to add one.

    Examples
    --------
    >>> from sklearn.pipeline import Pipeline
    >>> from sk_eeg2music import LinearDecoder
    >>> from sk_eeg2music.persistence import allowed_classes
    >>> classes = allowed_classes()
    >>> Pipeline in classes["estimator"], LinearDecoder in classes["estimator"]
    (True, True)
    """
    out = {"estimator": [], "class": [], "object": []}
    for cls, kind in _registry().values():
        out[kind].append(cls)
    return {
        k: tuple(sorted(v, key=lambda c: (c.__module__, c.__qualname__))) for k, v in out.items()
    }


def _class_ref(cls, where, kind):
    entry = _registry().get((getattr(cls, "__module__", None), getattr(cls, "__qualname__", None)))
    if entry is None or entry[0] is not cls or entry[1] != kind:
        role = {"estimator": "an estimator", "class": "a class", "object": "an object"}[kind]
        raise _Unencodable(
            f"{where} is {cls!r}, which a model file may not hold as {role}: model files may only "
            "name classes of a fixed table (sk_eeg2music.persistence.allowed_classes(), so that "
            "loading never runs other code). Use a built-in one, or add the class to the "
            "table (see the sk_eeg2music.persistence docstring)."
        )
    return {"module": cls.__module__, "qualname": cls.__qualname__}


def _is_skorch_class(cls):
    try:
        from skorch import NeuralNet
    except ImportError:  # pragma: no cover
        return False
    return issubclass(cls, NeuralNet)


def _init_param_names(cls):
    try:
        sig = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return []
    return [
        p.name
        for p in sig.parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def _state_name_problem(cls, name, param_names):
    """Why fitted state may not set ``name`` on a ``cls`` (``None`` if it may)."""
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("__"):
        return "is not an attribute name"
    if name in param_names:
        return "is a hyper-parameter"
    if name not in PRIVATE_STATE and (name.startswith("_") or not name.endswith("_")):
        return "is not a fitted attribute (those end in '_')"
    static = inspect.getattr_static(cls, name, _MISSING)
    if static is not _MISSING and (callable(static) or hasattr(type(static), "__get__")):
        return "is a method or property of the class"
    if _is_skorch_class(cls) and (name in _SKORCH_MANAGED or name[:-1] in param_names):
        return "is rebuilt by skorch's initialize()"
    return None


def _routing_requests(request):
    out = {}
    for method, value in vars(request).items():
        requests = getattr(value, "requests", None)
        if requests and method in _ROUTED_METHODS:
            out[method] = {
                k: v for k, v in requests.items() if v is None or isinstance(v, (bool, str))
            }
    return out


def _restriction(cls, name, value):
    """Why ``value`` of hyper-parameter ``name`` may not be in a file (``None`` if it may)."""
    rules = {**_RESTRICTED, **(_RESTRICTED_SKORCH if _is_skorch_class(cls) else {})}
    if name in rules and not rules[name][1](value):
        return rules[name][0]
    return None


def _allowed_class(ref, kind, where):
    """The class of the table that ``ref`` names in the role ``kind``; else ``ValueError``."""
    _exact_keys(ref, ("module", "qualname"), where)
    key = (ref["module"], ref["qualname"])
    entry = _registry().get(key) if all(isinstance(k, str) for k in key) else None
    if entry is None or entry[1] != kind:
        raise ValueError(
            f"the model file names {key[0]}.{key[1]} at {where}, which is not an allowed "
            f"{kind} (sk_eeg2music.persistence.allowed_classes()); refusing to load it."
        )
    return entry[0]
