"""Model files: save and load fitted estimators and pipelines as data only.

A model file is one `safetensors <https://huggingface.co/docs/safetensors>`_
file. Its tensors are every array of the fitted model (numpy attributes such as
``coef_``, and the ``state_dict`` of each torch network of a skorch estimator);
its header's metadata holds one JSON document with

* ``format`` / ``format_version`` / ``package_version`` (checked on load),
* ``sfreq`` (EEG rate the model expects), ``audio_sfreq`` (rate of its
  waveforms), ``n_channels`` and ``ch_names`` (when known),
* the estimator tree: for each estimator its class, its hyper-parameters
  (``get_params(deep=False)``) and its fitted attributes,
* a SHA-256 checksum of everything above and of all arrays (an integrity
  check against damaged files, not a signature: anyone can recompute it).

**Loading runs no code from the file.** Nothing is unpickled and no
``torch.load`` runs. The file names classes only as keys into a fixed table
of exact classes (:func:`allowed_classes`); the loader never imports a module
the file names and never accepts a function where a class is expected.

* *estimators* (tree nodes): the package's public estimators (every
  ``BaseEstimator`` of :mod:`sk_eeg2music.models`,
  :mod:`sk_eeg2music.preprocessing` and :mod:`sk_eeg2music.model_selection`)
  and :class:`sklearn.pipeline.Pipeline`;
* *classes* a hyper-parameter may take (:data:`CLASS_PARAMETERS`: the GAN's
  networks and loss, ``torch.optim.AdamW``, skorch's ``Dataset`` and torch's
  ``DataLoader``);
* *objects* rebuilt from their constructor arguments (:data:`OBJECTS`: the
  CV splitters ``train_split=`` / ``cv=`` take).

Every other value is plain data: numbers, strings, booleans, ``None``, lists,
tuples and dicts of those, numeric arrays and tensors. Fitted state may only set
attributes that end in ``_`` (or are listed in :data:`PRIVATE_STATE`) and that
the class does not define as a method or property, and never a
hyper-parameter. Hyper-parameters that would make an estimator read pickles
later (``memory=``, a joblib cache; skorch's ``torch_load_kwargs``), compile
code (skorch's ``compile=True``) or build callbacks (skorch ``callbacks``
other than ``None`` / ``"disable"``) are reset to their defaults on save, with
a warning, and refused on load. Any malformed file (bad JSON, nesting deeper
than 64, a wrong type anywhere, a class outside the table, a checksum
mismatch, an estimator that cannot be rebuilt) raises a ``ValueError`` that
names the file.

**Adding a class.** A new public estimator in one of the three modules above
is allowed automatically. A new class that a hyper-parameter takes goes into
:data:`CLASS_PARAMETERS`, a new splitter-like object into :data:`OBJECTS`, a
third-party estimator into :data:`EXTRA_ESTIMATORS` (import paths; a path that
does not import on this installation is skipped). Only add classes whose
construction with arbitrary data arguments does nothing but build the object.

**Why not skops.io.** ``skops.io`` (scikit-learn's recommended secure format)
was considered for the tree. It rebuilds objects through their
``__setstate__``, and skorch's ``NeuralNet.__setstate__`` unpickles the
networks from bytes in the state (with ``torch_load_kwargs`` taken from that
same state), so a skorch estimator would still need a hand-written reduction,
and skops would need the torch classes as trusted types: the same trust
decisions as here, plus a second file format and a dependency. The table of
exact classes here is small, fixed and read in one place, which is simpler to
keep correct.

**Not guaranteed.** The checksum detects damage, not tampering: trust comes
from the class table, not from the file's origin. A crafted file can still ask
for large networks (sizes are data), so loading an untrusted file may use much
memory or time before it is refused.

**Channels.** An EEG array carries no channel names, so a model cannot check
them by itself at ``predict`` time (the estimators do check the channel *count*).
Pass ``ch_names=`` (or ``info=``) to :func:`save_model` (or fit on data whose
estimator carries ``ch_names_``), then either ``load_model(path,
ch_names=raw.ch_names)`` or :func:`check_channels` raises a ``ValueError``
naming missing, extra or reordered channels.

**Compatibility.** A file is read by the package series that wrote it (same
major version; for ``0.x`` the same minor version) and by readers of its
``format_version`` or newer; anything else raises a ``ValueError`` naming the
version that wrote it.
"""

import functools
import hashlib
import importlib
import inspect
import json
import math
import numbers
import pkgutil
import re
import warnings
from pathlib import Path

import numpy as np

from ._io import atomic_write

FORMAT = "sk_eeg2music.model"
#: Version of the file layout; bumped whenever a reader of the old one would
#: misread the new one (2: the checksum covers the header and the tree).
FORMAT_VERSION = 2
_MIN_FORMAT_VERSION = 2
_META_KEY = "sk_eeg2music"
#: Deepest JSON nesting a model file may have (real files: about 20).
MAX_DEPTH = 64

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
# JSON strings, including an unterminated one at the end (so that the pattern
# always matches from a quote and the scan stays linear).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_VERSION = re.compile(r"^(\d+)\.(\d+)")
_MISSING = object()


class _Unencodable(ValueError):
    """A value that a model file cannot hold without pickle."""


# ------------------------------------------------------------------ allowlist
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


# --------------------------------------------------------------------- helpers
def _package_version():
    from . import __version__

    return __version__


def _series(version):
    """Compatibility series: ``(major,)``, or ``(0, minor)`` for 0.x versions."""
    match = _VERSION.match(version) if isinstance(version, str) else None
    if match is None:
        raise ValueError(f"unreadable package version {version!r} in the model file.")
    major, minor = int(match.group(1)), int(match.group(2))
    return (major,) if major else (0, minor)


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


# -------------------------------------------------------------------- encoding
class _Encoder:
    """Turn an estimator tree into JSON plus a dict of arrays."""

    def __init__(self):
        self.arrays = {}

    def _store(self, arr):
        key = f"t{len(self.arrays)}"
        self.arrays[key] = np.ascontiguousarray(arr)
        return key

    def value(self, v, where):
        import torch

        if isinstance(v, np.generic):  # before float: np.float64 is a float
            if v.dtype.kind not in "biufUS":
                raise _Unencodable(f"{where} is a numpy scalar of dtype {v.dtype}.")
            return {"$np": self.value(v.item(), where), "dtype": v.dtype.str}
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, numbers.Integral):
            return int(v)
        if isinstance(v, float):
            return v if math.isfinite(v) else {"$float": repr(float(v))}
        if isinstance(v, np.ndarray):
            return self._ndarray(v, where)
        if isinstance(v, torch.Tensor):
            t = v.detach().cpu()
            stored = t.float() if t.dtype == torch.bfloat16 else t
            return {"$tensor": self._store(stored.numpy()), "dtype": str(t.dtype)}
        if isinstance(v, torch.device):
            return {"$device": str(v)}
        if isinstance(v, np.dtype):
            if v.kind not in "biufUS":
                raise _Unencodable(f"{where} is the dtype {v}, which a model file cannot hold.")
            return {"$dtype": v.str}
        if isinstance(v, list):
            return {"$list": [self.value(x, f"{where}[{i}]") for i, x in enumerate(v)]}
        if isinstance(v, tuple):
            return {"$tuple": [self.value(x, f"{where}[{i}]") for i, x in enumerate(v)]}
        if isinstance(v, dict):
            if all(isinstance(k, str) for k in v):
                return {"$dict": {k: self.value(x, f"{where}[{k!r}]") for k, x in v.items()}}
            return {
                "$items": [
                    [self.value(k, where), self.value(x, f"{where}[{k!r}]")] for k, x in v.items()
                ]
            }
        if inspect.isclass(v):
            return {"$ref": _class_ref(v, where, "class")}
        if inspect.isroutine(v) or isinstance(v, functools.partial):
            raise _Unencodable(
                f"{where} is the function {v!r}; a model file holds data and names only "
                "classes of a fixed table, never functions."
            )
        if hasattr(v, "get_params") and hasattr(v, "fit"):
            return {"$estimator": self.estimator(v, where)}
        return self._object(v, where)

    def _ndarray(self, v, where):
        if v.dtype.kind in "biuf":
            return {"$array": self._store(v)}
        if v.dtype.kind == "U":
            return {"$strarray": v.ravel().tolist(), "shape": list(v.shape)}
        if v.dtype.kind == "O":
            items = [self.value(x, f"{where}[...]") for x in v.ravel().tolist()]
            return {"$objarray": items, "shape": list(v.shape)}
        raise _Unencodable(
            f"{where} is an array of dtype {v.dtype}, which a model file cannot hold."
        )

    def _object(self, v, where):
        """An allowlisted object rebuilt from its constructor arguments (e.g. a CV splitter)."""
        ref = _class_ref(type(v), where, "object")
        params = {}
        for name in _init_param_names(type(v)):
            if not hasattr(v, name):
                raise _Unencodable(
                    f"{where} is a {type(v).__name__} whose constructor argument {name!r} is "
                    "not stored on the object; a model file cannot rebuild it."
                )
            params[name] = self.value(getattr(v, name), f"{where}.{name}")
        return {"$object": {"class": ref, "params": params}}

    def estimator(self, est, where="estimator"):
        cls = type(est)
        node = {"class": _class_ref(cls, where, "estimator"), "params": {}, "state": {}}
        params = {k: v for k, v in est.get_params(deep=False).items() if not k.startswith("_")}
        skorch = _is_skorch_class(cls)
        dropped = {}
        for name, value in params.items():
            if _restriction(cls, name, value) is not None:
                dropped[name] = repr(value)
                continue
            try:
                node["params"][name] = self.value(value, f"{where}.{name}")
            except _Unencodable:
                if not (skorch and name in _TRAINING_ONLY):
                    raise
                dropped[name] = repr(value)
        if skorch and "callbacks" in dropped:
            # Settings of the dropped callbacks would name callbacks that no longer exist.
            defaults = {name for name, _ in est._default_callbacks}
            for name in list(node["params"]):
                parts = name.split("__")
                if parts[0] == "callbacks" and len(parts) > 2 and parts[1] not in defaults:
                    dropped[name] = repr(params[name])
                    del node["params"][name]
        if dropped:
            warnings.warn(
                f"save_model: the parameter(s) {sorted(dropped)} of {where} are used only while "
                "training, caching or compiling and cannot be stored as data; they are reset "
                "to their defaults in the file (prediction does not use them).",
                UserWarning,
                stacklevel=3,
            )
            node["dropped_params"] = dropped
        param_names = set(params) | set(_init_param_names(cls))
        if skorch:
            self._skorch_state(est, node, param_names, where)
            return node
        for name, value in vars(est).items():
            if name in params:
                continue
            if name == "_metadata_request":
                node["routing"] = _routing_requests(value)
                continue
            problem = _state_name_problem(cls, name, param_names)
            if problem is not None:
                raise _Unencodable(
                    f"{where}.{name} {problem}; a model file stores only fitted attributes "
                    "ending in '_' (a private one must be listed in "
                    "sk_eeg2music.persistence.PRIVATE_STATE)."
                )
            node["state"][name] = self.value(value, f"{where}.{name}")
        return node

    def _skorch_state(self, net, node, param_names, where):
        torch_parts = [*net._modules, *net._criteria]
        for name, value in vars(net).items():
            if name in param_names or name.startswith("_") or not name.endswith("_"):
                continue
            if _state_name_problem(type(net), name, param_names) is not None:
                continue  # skorch's own objects, rebuilt by initialize()
            if name[:-1] in (*torch_parts, *net._optimizers):
                continue
            node["state"][name] = self.value(value, f"{where}.{name}")
        node["initialized"] = bool(getattr(net, "initialized_", False))
        if not node["initialized"]:
            return
        node["torch"] = {
            name: self.value(dict(getattr(net, f"{name}_").state_dict()), f"{where}.{name}_")
            for name in torch_parts
        }
        try:
            node["history"] = self.value(list(net.history_), f"{where}.history_")
        except _Unencodable:
            node["history"] = None


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


# -------------------------------------------------------------------- decoding
def _malformed(where, problem):
    return ValueError(f"malformed model file: {where} {problem}.")


def _expect(v, types, where, what):
    types = types if isinstance(types, tuple) else (types,)
    # bool is an int to Python, never to a model file.
    if isinstance(v, bool) and bool not in types:
        raise _malformed(where, f"must be {what}, not {v!r}")
    if not isinstance(v, types):
        raise _malformed(where, f"must be {what}, not {type(v).__name__}")
    return v


def _exact_keys(node, required, where, optional=()):
    _expect(node, dict, where, "a JSON object")
    missing = set(required) - set(node)
    extra = set(node) - set(required) - set(optional)
    if missing or extra:
        raise _malformed(
            where, f"has keys {sorted(node)} (missing {sorted(missing)}, unknown {sorted(extra)})"
        )
    return node


def _shape(v, where):
    _expect(v, list, where, "a list of sizes")
    for n in v:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise _malformed(where, f"must hold non-negative sizes, not {n!r}")
    return tuple(v)


def _numpy_dtype(v, where):
    _expect(v, str, where, "a dtype string")
    try:
        dtype = np.dtype(v)
    except (TypeError, ValueError):
        raise _malformed(where, f"is an unknown dtype {v!r}") from None
    if dtype.kind not in "biufUS":
        raise _malformed(where, f"is the dtype {v!r}, which a model file may not use")
    return dtype


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


# Each tag and the other keys its object has.
_TAGS = {
    "$float": (),
    "$np": ("dtype",),
    "$array": (),
    "$tensor": ("dtype",),
    "$strarray": ("shape",),
    "$objarray": ("shape",),
    "$device": (),
    "$dtype": (),
    "$list": (),
    "$tuple": (),
    "$dict": (),
    "$items": (),
    "$ref": (),
    "$estimator": (),
    "$object": (),
}
# Tags hyper-parameters (and objects' arguments) may use; fitted state may not
# name classes or objects, hyper-parameters hold no tensors.
_PARAM_TAGS = frozenset(_TAGS) - {"$tensor"}
_STATE_TAGS = frozenset(_TAGS) - {"$ref", "$object"}


class _Decoder:
    """Rebuild an estimator tree from checked JSON and the loaded arrays.

    Every structure is type-checked before use; classes come only from
    :func:`_registry`. Malformed input raises ``ValueError``.
    """

    def __init__(self, arrays, device=None):
        self.arrays = arrays
        self.device = device

    def _array(self, key, where):
        _expect(key, str, where, "an array name")
        if key not in self.arrays:
            raise _malformed(where, f"names the array {key!r}, which the file lacks")
        return self.arrays[key]

    def value(self, v, where, tags):
        if v is None or isinstance(v, (bool, str, int, float)):
            return v
        if isinstance(v, list):
            raise _malformed(where, "is an untagged list")
        _expect(v, dict, where, "a value")
        found = [k for k in v if k in _TAGS]
        if len(found) != 1 or found[0] not in tags:
            raise _malformed(where, f"has the tags {sorted(v)}, not one of {sorted(tags)}")
        tag = found[0]
        _exact_keys(v, (tag, *_TAGS[tag]), where)
        x = v[tag]
        if tag == "$float":
            if x not in ("inf", "-inf", "nan"):
                raise _malformed(where, f"is the float {x!r}")
            return float(x)
        if tag == "$np":
            return self._numpy_scalar(x, v["dtype"], where)
        if tag == "$array":
            return self._array(x, where).copy()
        if tag == "$tensor":
            return self._tensor(x, v["dtype"], where)
        if tag == "$strarray":
            _expect(x, list, where, "a list")
            if not all(isinstance(s, str) for s in x):
                raise _malformed(where, "must hold strings only")
            return self._reshape(np.array(x, dtype=str), v["shape"], where)
        if tag == "$objarray":
            items = [self.value(item, where, tags) for item in _expect(x, list, where, "a list")]
            out = np.empty(len(items), dtype=object)
            out[:] = items
            return self._reshape(out, v["shape"], where)
        if tag == "$device":
            return self._device(x, where)
        if tag == "$dtype":
            return _numpy_dtype(x, where)
        if tag in ("$list", "$tuple"):
            items = [
                self.value(item, f"{where}[{i}]", tags)
                for i, item in enumerate(_expect(x, list, where, "a list"))
            ]
            return items if tag == "$list" else tuple(items)
        if tag == "$dict":
            _expect(x, dict, where, "a JSON object")
            return {k: self.value(item, f"{where}[{k!r}]", tags) for k, item in x.items()}
        if tag == "$items":
            return self._items(x, where, tags)
        if tag == "$ref":
            return _allowed_class(x, "class", where)
        if tag == "$estimator":
            return self.estimator(x, where)
        # "$object": an allowed class rebuilt from data arguments.
        _exact_keys(x, ("class", "params"), where)
        cls = _allowed_class(x["class"], "object", where)
        kwargs = self._kwargs(x["params"], where)
        return _build(lambda: cls(**kwargs), where)

    def _numpy_scalar(self, x, dtype_name, where):
        inner = self.value(x, where, {"$float"})
        if inner is None:
            raise _malformed(where, "is an empty numpy scalar")
        dtype = _numpy_dtype(dtype_name, where)
        try:
            return np.array(inner, dtype=dtype)[()]
        except (TypeError, ValueError, OverflowError) as exc:
            raise _malformed(where, f"is not a {dtype_name} scalar ({exc})") from None

    def _items(self, x, where, tags):
        """A dict with non-string keys, from its ``[key, value]`` pairs."""
        out = {}
        for pair in _expect(x, list, where, "a list of pairs"):
            if not isinstance(pair, list) or len(pair) != 2:
                raise _malformed(where, "must hold [key, value] pairs")
            key = self.value(pair[0], where, {"$float", "$np", "$tuple"})
            try:
                hash(key)
            except TypeError:
                raise _malformed(where, "has a key that is not hashable") from None
            out[key] = self.value(pair[1], f"{where}[{key!r}]", tags)
        return out

    @staticmethod
    def _device(x, where):
        import torch

        try:
            return torch.device(_expect(x, str, where, "a device string"))
        except (RuntimeError, TypeError):
            raise _malformed(where, f"is the unknown device {x!r}") from None

    def _tensor(self, key, dtype, where):
        import torch

        if not isinstance(dtype, str) or dtype not in {f"torch.{n}" for n in _TORCH_DTYPES}:
            raise _malformed(where, f"has the tensor dtype {dtype!r}")
        array = self._array(key, where)
        return _build(lambda: torch.from_numpy(array.copy()).to(getattr(torch, dtype[6:])), where)

    @staticmethod
    def _reshape(array, shape, where):
        shape = _shape(shape, f"{where}.shape")
        try:
            return array.reshape(shape)
        except ValueError:
            raise _malformed(where, f"does not have the shape {shape}") from None

    def _kwargs(self, params, where):
        _expect(params, dict, f"{where}.params", "a JSON object")
        for name in params:
            if not name.isidentifier():
                raise _malformed(f"{where}.params", f"has the parameter name {name!r}")
        return {k: self.value(v, f"{where}.{k}", _PARAM_TAGS) for k, v in params.items()}

    def estimator(self, node, where):
        _exact_keys(
            node,
            ("class", "params", "state"),
            where,
            optional=("routing", "dropped_params", "initialized", "torch", "history"),
        )
        cls = _allowed_class(node["class"], "estimator", where)
        where = f"{where} ({cls.__name__})"
        params = self._kwargs(node["params"], where)
        for name, value in params.items():
            problem = _restriction(cls, name, value)
            if problem is not None:
                raise ValueError(
                    f"the model file sets {where}.{name}={value!r} ({problem}); a model file "
                    "may only hold the default there; refusing to load it."
                )
        dropped = node.get("dropped_params", {})
        _expect(dropped, dict, f"{where}.dropped_params", "a JSON object")
        if not all(isinstance(v, str) for v in dropped.values()):
            raise _malformed(f"{where}.dropped_params", "must hold strings")
        state = _expect(node["state"], dict, f"{where}.state", "a JSON object")
        param_names = set(params) | set(_init_param_names(cls))
        for name in state:
            problem = _state_name_problem(cls, name, param_names)
            if problem is not None:
                raise ValueError(
                    f"the model file sets {where}.{name} as fitted state, but {name!r} "
                    f"{problem}; refusing to load it."
                )
        state = {k: self.value(v, f"{where}.{k}", _STATE_TAGS) for k, v in state.items()}
        if _is_skorch_class(cls):
            return self._skorch(cls, params, state, node, where)
        if {"initialized", "torch", "history"} & set(node):
            raise _malformed(where, "has skorch entries but is not a skorch estimator")
        est = _build(lambda: cls(**params), where)
        _build(lambda: [setattr(est, k, v) for k, v in state.items()], f"{where}.state")
        routing = node.get("routing", {})
        _expect(routing, dict, f"{where}.routing", "a JSON object")
        if routing:
            self._routing(est, routing, where)
        return est

    @staticmethod
    def _routing(est, routing, where):
        import sklearn

        for method, requests in routing.items():
            setter = f"set_{method}_request"
            if method not in _ROUTED_METHODS or not hasattr(est, setter):
                raise _malformed(f"{where}.routing", f"names the method {method!r}")
            _expect(requests, dict, f"{where}.routing.{method}", "a JSON object")
            for key, request in requests.items():
                if not key.isidentifier() or not (
                    request is None or isinstance(request, (bool, str))
                ):
                    raise _malformed(f"{where}.routing.{method}", f"has {key!r}: {request!r}")
            with sklearn.config_context(enable_metadata_routing=True):
                _build(lambda: getattr(est, setter)(**requests), f"{where}.routing")  # noqa: B023

    def _skorch(self, cls, params, state, node, where):
        import torch
        from skorch.history import History

        if self.device is not None and "device" in params:
            params["device"] = self.device
        net = _build(lambda: cls(**params), where)
        _build(lambda: [setattr(net, k, v) for k, v in state.items()], f"{where}.state")
        initialized = _expect(node.get("initialized"), bool, f"{where}.initialized", "a bool")
        if not initialized:
            if "torch" in node or "history" in node:
                raise _malformed(where, "has weights but says it is not initialized")
            return net
        weights = _expect(node.get("torch"), dict, f"{where}.torch", "a JSON object")
        # Building the networks draws random initial weights (overwritten just
        # below); keep the caller's global torch RNG untouched.
        with torch.random.fork_rng(devices=[]):
            _build(net.initialize, where)
        parts = [*net._modules, *net._criteria]
        if set(weights) != set(parts):
            raise _malformed(
                f"{where}.torch", f"holds weights for {sorted(weights)}, not for {sorted(parts)}"
            )
        for name in parts:
            state_dict = self.value(weights[name], f"{where}.{name}_", {"$dict", "$tensor"})
            if not isinstance(state_dict, dict) or not all(
                isinstance(t, torch.Tensor) for t in state_dict.values()
            ):
                raise _malformed(f"{where}.{name}_", "must map names to tensors")
            module = getattr(net, f"{name}_")
            try:
                module.load_state_dict(state_dict)
            except Exception as exc:  # noqa: BLE001 - RuntimeError for a shape mismatch
                raise ValueError(
                    f"the stored weights of {name}_ do not fit the network rebuilt from the "
                    f"stored parameters: {exc}"
                ) from None
        history = node.get("history")
        if history is not None:
            entries = self.value(history, f"{where}.history", _STATE_TAGS - {"$estimator"})
            if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
                raise _malformed(f"{where}.history", "must be a list of dicts")
            net.history_ = History(entries)
        return net


def _build(make, where):
    """Run ``make()`` (a constructor fed with checked data); any failure is the file's."""
    try:
        return make()
    except Exception as exc:  # noqa: BLE001 - whatever the data makes the class raise
        raise ValueError(
            f"{where} cannot be rebuilt from the stored data ({type(exc).__name__}: {exc})."
        ) from exc


# ------------------------------------------------------------------- metadata
def _channel_names(ch_names):
    """Names from a list, an :class:`mne.Info` or an object with ``ch_names``."""
    if ch_names is None:
        return None
    names = getattr(ch_names, "ch_names", None)
    if names is None and isinstance(ch_names, dict) and "ch_names" in ch_names:
        names = ch_names["ch_names"]
    if names is None:
        names = ch_names
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise ValueError(
            f"ch_names must be a list of channel names (str) or an mne.Info; got {ch_names!r}."
        )
    return [str(n) for n in names]


def _steps(est):
    """The estimator and the ones it wraps, input side first."""
    yield est
    for step in getattr(est, "steps", None) or []:
        if isinstance(step, tuple) and len(step) >= 2 and hasattr(step[1], "get_params"):
            yield from _steps(step[1])
    inner = getattr(est, "estimator_", None)
    if inner is not None and hasattr(inner, "get_params"):
        yield from _steps(inner)


def _describe(est, info, ch_names):
    steps = list(_steps(est))
    # The first step with an ``sfreq`` parameter reads the EEG as it arrives.
    rates = [getattr(s, "sfreq", None) for s in steps]
    sfreq = next((r for r in rates if isinstance(r, numbers.Real)), None)
    audio = [a for s in steps if isinstance(a := getattr(s, "audio_sfreq_", None), numbers.Real)]
    n_channels = getattr(est, "n_features_in_", None)
    if n_channels is None:
        n_channels = next((s.n_features_in_ for s in steps if hasattr(s, "n_features_in_")), None)
    names = _channel_names(ch_names)
    if info is not None:
        info_names = _channel_names(info)
        if names is not None and names != info_names:
            raise ValueError("ch_names and info['ch_names'] differ; pass only one of them.")
        names = info_names
        info_sfreq = float(info["sfreq"])
        if sfreq is not None and not math.isclose(info_sfreq, float(sfreq)):
            raise ValueError(
                f"info['sfreq'] is {info_sfreq:g} Hz but the model expects EEG at "
                f"{float(sfreq):g} Hz; pass the info of the data the model was fitted on."
            )
        sfreq = info_sfreq if sfreq is None else sfreq
    if names is None:
        carried = [s.ch_names_ for s in steps if getattr(s, "ch_names_", None) is not None]
        names = _channel_names(carried[0]) if carried else None
    if names is not None and n_channels is not None and len(names) != n_channels:
        raise ValueError(
            f"{len(names)} channel names were given but the model was fitted on {n_channels} "
            "channels; pass the names of the training channels, in order."
        )
    return {
        "sfreq": None if sfreq is None else float(sfreq),
        "audio_sfreq": float(audio[-1]) if audio else None,
        "n_channels": None if n_channels is None else int(n_channels),
        "ch_names": names,
    }


def _checksum(meta, arrays):
    """SHA-256 of the metadata (all but ``checksum``, canonical JSON) and of every array."""
    digest = hashlib.sha256()
    body = {k: v for k, v in meta.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    digest.update(text.encode("utf-8", "surrogatepass"))
    for key in sorted(arrays):
        arr = np.ascontiguousarray(arrays[key])
        digest.update(f"\0{key}|{arr.dtype.str}|{arr.shape}|".encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


def _json_depth(text):
    """Deepest ``[``/``{`` nesting of JSON text, found without parsing (no recursion)."""
    skeleton = _JSON_STRING.sub("", text).encode("utf-8", "surrogatepass")
    codes = np.frombuffer(skeleton, dtype=np.uint8)
    steps = np.isin(codes, (ord("["), ord("{"))).astype(np.int64)
    steps -= np.isin(codes, (ord("]"), ord("}")))
    return int(np.cumsum(steps).max(initial=0))


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _parse_json(text, what):
    depth = _json_depth(text)
    if depth > MAX_DEPTH:
        raise ValueError(f"{what} nests {depth} levels deep (at most {MAX_DEPTH})")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:  # pragma: no cover - excluded by the depth check
        raise ValueError(f"{what} nests too deep") from None


def _optional(meta, key, types, what):
    value = meta.get(key)
    if value is not None:
        _expect(value, types, f"the header's {key!r}", what)
    return value


def _check_meta(meta):
    """Type-check the header fields that are used before the tree."""
    for key in ("sfreq", "audio_sfreq"):
        rate = _optional(meta, key, (int, float), "a rate in Hz")
        if rate is not None and not (math.isfinite(rate) and rate > 0):
            raise _malformed(f"the header's {key!r}", f"is the rate {rate!r}")
    n = _optional(meta, "n_channels", int, "a channel count")
    if n is not None and n < 0:
        raise _malformed("the header's 'n_channels'", f"is {n}")
    names = _optional(meta, "ch_names", list, "a list of channel names")
    if names is not None and not all(isinstance(c, str) for c in names):
        raise _malformed("the header's 'ch_names'", "must hold strings")
    for key in ("estimator", "sklearn_version", "torch_version"):
        _optional(meta, key, str, "a string")
    _expect(meta.get("checksum"), str, "the header's 'checksum'", "a string")
    _exact_keys(
        meta.get("tree"),
        ("class", "params", "state"),
        "the tree",
        optional=("routing", "dropped_params", "initialized", "torch", "history"),
    )
    _expect(meta["tree"]["params"], dict, "the tree's params", "a JSON object")
    # model_info reports the estimator without building it: it must be the
    # allowed class the tree names.
    cls = _allowed_class(meta["tree"]["class"], "estimator", "the tree")
    if meta.get("estimator", cls.__name__) != cls.__name__:
        raise _malformed("the header's 'estimator'", f"is not the tree's {cls.__name__}")


def _read(path):
    """Return ``(meta, arrays)`` of a model file, every field and the checksum checked."""
    from safetensors.numpy import load

    data = Path(path).read_bytes()
    try:
        if len(data) < 8:
            raise ValueError("the file is shorter than a safetensors header")
        n = int.from_bytes(data[:8], "little")
        if n > len(data) - 8:
            raise ValueError("truncated header")
        header = _parse_json(data[8 : 8 + n].decode("utf-8"), "the safetensors header")
        metadata = _expect(header, dict, "the safetensors header", "a JSON object")
        metadata = _expect(metadata.get("__metadata__"), dict, "its metadata", "a JSON object")
        text = _expect(metadata.get(_META_KEY), str, f"its {_META_KEY!r} entry", "a string")
        meta = _expect(_parse_json(text, "the model header"), dict, "the header", "an object")
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
        raise ValueError(
            f"{path} is not a readable sk_eeg2music model file (corrupted, truncated or of "
            f"another format: {exc})."
        ) from None
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"{path} is not an sk_eeg2music model file (format {meta.get('format')!r})."
        )
    written = meta.get("package_version")
    version = meta.get("format_version")
    if type(version) is not int or not _MIN_FORMAT_VERSION <= version <= FORMAT_VERSION:
        raise ValueError(
            f"{path} has model-file format version {version!r} (written by sk_eeg2music "
            f"{written}); this sk_eeg2music {_package_version()} reads versions "
            f"{_MIN_FORMAT_VERSION} to {FORMAT_VERSION}. Load it with sk_eeg2music {written}, "
            "or refit and save again."
        )
    try:
        series = _series(written)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    if series != _series(_package_version()):
        raise ValueError(
            f"{path} was written by sk_eeg2music {written}, incompatible with the installed "
            f"{_package_version()} (a different {'major' if series[0] else 'minor'} "
            f"version). Load it with sk_eeg2music {written}, or refit."
        )
    try:
        _check_meta(meta)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    try:
        arrays = load(data)
    except Exception as exc:  # noqa: BLE001 - e.g. KeyError for a dtype numpy lacks
        raise ValueError(
            f"{path} is corrupted or malformed: its arrays cannot be read "
            f"({type(exc).__name__}: {exc})."
        ) from None
    if _checksum(meta, arrays) != meta["checksum"]:
        raise ValueError(
            f"{path} is corrupted: its header, tree or arrays do not match the stored checksum."
        )
    return meta, arrays


# ------------------------------------------------------------------ public API
def save_model(estimator, path, *, info=None, ch_names=None, overwrite=True):
    """Write a fitted estimator or pipeline of the package to one file, atomically.

    Parameters
    ----------
    estimator : estimator
        A fitted transformer, decoder (:class:`~sk_eeg2music.LinearDecoder`,
        :class:`~sk_eeg2music.EEG2MusicGAN`), :class:`~sk_eeg2music.ShuffledPairs`
        or :class:`sklearn.pipeline.Pipeline` of those. Every class it uses
        must be in :func:`allowed_classes`.
    path : str | path-like
        Destination, e.g. ``"decoder.safetensors"``. It is replaced only once
        the new file is complete (temporary file + :func:`os.replace`), so a
        failure leaves any previous file untouched.
    info : mne.Info | None, default=None
        Info of the training EEG: stores its channel names and checks its
        ``sfreq`` against the model's.
    ch_names : list of str | None, default=None
        Training channel names, in order (alternative to ``info``). Without
        either, the names are taken from a ``ch_names_`` attribute of the
        estimator (or of a step) if there is one, else not stored.
    overwrite : bool, default=True
        Replace an existing file at ``path``. With ``False``, a file found at
        ``path`` when the new one is published (a hard link, which fails if
        the name is taken, so that of two concurrent writers only one wins)
        raises ``FileExistsError`` and is kept; nothing else is left behind.

    Returns
    -------
    path : pathlib.Path
        The written file.

    Raises
    ------
    ValueError
        If the estimator is not fitted, holds something a model file cannot
        store as data (a function, a class outside :func:`allowed_classes`),
        or the channel names do not match the channel count seen in ``fit``.
    FileExistsError
        With ``overwrite=False``, if ``path`` exists when the file is published.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from sk_eeg2music import LinearDecoder, load_model, save_model
    >>> rng = np.random.default_rng(0)
    >>> X = 1e-5 * rng.standard_normal((6, 4, 64)).astype(np.float32)  # EEG at 64 Hz
    >>> y = rng.standard_normal((6, 8000)).astype(np.float32)  # audio at 8 kHz
    >>> dec = LinearDecoder(target="envelope", sfreq=64.0, alphas=[1.0]).fit(X, y)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = save_model(dec, Path(tmp.name) / "decoder.safetensors",
    ...                   ch_names=["Fz", "Cz", "Pz", "Oz"])
    >>> np.array_equal(load_model(path).predict(X), dec.predict(X))
    True
    >>> tmp.cleanup()
    """
    from safetensors.numpy import save
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    encoder = _Encoder()
    try:
        tree = encoder.estimator(estimator, type(estimator).__name__)
    except _Unencodable as exc:
        raise ValueError(f"save_model cannot store this estimator: {exc}") from None
    import sklearn
    import torch

    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "package_version": _package_version(),
        "sklearn_version": sklearn.__version__,
        "torch_version": torch.__version__,
        "estimator": type(estimator).__name__,
        **_describe(estimator, info, ch_names),
        "tree": tree,
    }
    meta["checksum"] = _checksum(meta, encoder.arrays)
    data = save(encoder.arrays, metadata={_META_KEY: json.dumps(meta, allow_nan=False)})
    atomic_write(path, data, overwrite=overwrite)
    return Path(path)


def model_info(path):
    """The metadata of a model file, without loading the model.

    Parameters
    ----------
    path : str | path-like
        A file written by :func:`save_model`.

    Returns
    -------
    info : dict
        ``package_version``, ``format_version``, ``estimator`` (class name),
        ``sfreq``, ``audio_sfreq``, ``n_channels``, ``ch_names`` (``None`` when
        unknown) and ``params`` (the top-level hyper-parameters as stored).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from sk_eeg2music import MeanSpectrumBaseline, save_model
    >>> from sk_eeg2music.persistence import model_info
    >>> rng = np.random.default_rng(0)
    >>> X = 1e-5 * rng.standard_normal((6, 4, 64)).astype(np.float32)
    >>> y = rng.standard_normal((6, 8000)).astype(np.float32)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = save_model(MeanSpectrumBaseline(sfreq=64.0).fit(X, y),
    ...                   Path(tmp.name) / "baseline.safetensors")
    >>> info = model_info(path)
    >>> info["estimator"], info["sfreq"], info["n_channels"], info["ch_names"]
    ('MeanSpectrumBaseline', 64.0, 4, None)
    >>> tmp.cleanup()
    """
    meta, _ = _read(path)
    out = {k: v for k, v in meta.items() if k not in ("tree", "checksum")}
    out["params"] = meta["tree"]["params"]
    return out


def check_channels(model, ch_names):
    """Raise a ``ValueError`` unless ``ch_names`` are the model's training channels.

    Parameters
    ----------
    model : str | path-like | dict
        A model file, or the dict returned by :func:`model_info`.
    ch_names : list of str | mne.Info | mne.io.Raw | mne.Epochs
        Channels of the EEG about to be decoded, in the order of its rows.

    Returns
    -------
    ch_names : list of str
        The checked names.

    Notes
    -----
    If the file stores no names, only the count is checked (and a warning says so).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from sk_eeg2music import MeanSpectrumBaseline, save_model
    >>> from sk_eeg2music.persistence import check_channels
    >>> rng = np.random.default_rng(0)
    >>> X = 1e-5 * rng.standard_normal((6, 4, 64)).astype(np.float32)
    >>> y = rng.standard_normal((6, 8000)).astype(np.float32)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> baseline = MeanSpectrumBaseline(sfreq=64.0).fit(X, y)
    >>> path = save_model(baseline, Path(tmp.name) / "baseline.safetensors",
    ...                   ch_names=["Fz", "Cz", "Pz", "Oz"])
    >>> check_channels(path, ["Fz", "Cz", "Pz", "Oz"])
    ['Fz', 'Cz', 'Pz', 'Oz']
    >>> check_channels(path, ["Cz", "Fz", "Pz", "Oz"])
    Traceback (most recent call last):
        ...
    ValueError: the EEG's channels differ ... (same channels in another order)...
    >>> tmp.cleanup()
    """
    meta = model if isinstance(model, dict) else model_info(model)
    names = _channel_names(ch_names)
    expected = meta.get("ch_names")
    if expected is None:
        n = meta.get("n_channels")
        if n is not None and len(names) != n:
            raise ValueError(
                f"the EEG has {len(names)} channels but the model was fitted on {n}; pick the "
                "training channels first."
            )
        warnings.warn(
            "the model file stores no channel names (save it with ch_names= or info=); only "
            "the channel count could be checked.",
            UserWarning,
            stacklevel=2,
        )
        return names
    if names == expected:
        return names
    missing = [c for c in expected if c not in names]
    extra = [c for c in names if c not in expected]
    if missing or extra:
        detail = f"missing {missing}" if missing else ""
        detail += ("; " if missing and extra else "") + (
            f"not in training {extra}" if extra else ""
        )
    else:
        detail = "same channels in another order"
    raise ValueError(
        f"the EEG's channels differ from the model's training channels ({detail}). Reorder "
        f"and pick them first, e.g. raw.pick({expected!r})."
    )


def load_model(path, *, ch_names=None, device=None):
    """Load an estimator written by :func:`save_model`.

    Parameters
    ----------
    path : str | path-like
        A file written by :func:`save_model`.
    ch_names : list of str | mne.Info | mne.io.Raw | mne.Epochs | None, default=None
        Channels of the EEG the model will decode; checked with
        :func:`check_channels` before anything is built.
    device : str | None, default=None
        Device for skorch estimators (e.g. ``"cpu"`` to load a model trained on
        ``"cuda"``); ``None`` keeps the stored one.

    Returns
    -------
    estimator : estimator
        Fitted, with the same parameters and predictions as the saved one.

    Raises
    ------
    ValueError
        If the file is corrupted, truncated or malformed (the message names
        it), was written by an incompatible version, names a class outside
        :func:`allowed_classes`, or ``ch_names`` differ from the training
        channels.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from sk_eeg2music import LinearDecoder, load_model, save_model
    >>> rng = np.random.default_rng(0)
    >>> X = 1e-5 * rng.standard_normal((6, 4, 64)).astype(np.float32)  # EEG at 64 Hz
    >>> y = rng.standard_normal((6, 8000)).astype(np.float32)  # audio at 8 kHz
    >>> dec = LinearDecoder(target="envelope", sfreq=64.0, alphas=[1.0]).fit(X, y)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = save_model(dec, Path(tmp.name) / "decoder.safetensors",
    ...                   ch_names=["Fz", "Cz", "Pz", "Oz"])
    >>> loaded = load_model(path, ch_names=["Fz", "Cz", "Pz", "Oz"], device="cpu")
    >>> type(loaded).__name__, loaded.coef_.shape  # (n_targets, n_channels, n_lags)
    ('LinearDecoder', (1, 4, 17))
    >>> tmp.cleanup()
    """
    meta, arrays = _read(path)
    if ch_names is not None:
        check_channels(meta, ch_names)
    try:
        return _Decoder(arrays, device=device).estimator(meta["tree"], "the tree")
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
