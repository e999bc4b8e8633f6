"""Model files: save and load fitted estimators and pipelines without pickle.

A model file is one `safetensors <https://huggingface.co/docs/safetensors>`_
file. Its tensors are every array of the fitted model (numpy attributes such as
``coef_``, and the ``state_dict`` of each torch network of a skorch estimator);
its header's metadata holds one JSON document with

* ``format`` / ``format_version`` / ``package_version`` (checked on load),
* ``sfreq`` (EEG rate the model expects), ``audio_sfreq`` (rate of its
  waveforms), ``n_channels`` and ``ch_names`` (when known),
* the estimator tree: for each estimator its class (an import path), its
  hyper-parameters (``get_params(deep=False)``) and its fitted attributes,
* a SHA-256 checksum of all arrays.

Loading imports classes only from :data:`ALLOWED_MODULES` (``sk_eeg2music``,
``sklearn``, ``skorch``, ``torch.nn``, ``torch.optim``, ``torch.utils.data``)
and only if the resolved object really is defined there, so a crafted file
cannot run arbitrary code: nothing is unpickled, no ``torch.load`` runs.

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

import contextlib
import hashlib
import importlib
import inspect
import json
import math
import numbers
import os
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np

FORMAT = "sk_eeg2music.model"
#: Version of the file layout; bumped whenever a reader of the old one would
#: misread the new one.
FORMAT_VERSION = 1
#: Packages whose classes a model file may name (hyper-parameters such as
#: ``module=Generator`` or ``optimizer=torch.optim.AdamW``).
ALLOWED_MODULES = (
    "sk_eeg2music",
    "sklearn",
    "skorch",
    "torch.nn",
    "torch.optim",
    "torch.utils.data",
)
_META_KEY = "sk_eeg2music"

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


class _Unencodable(ValueError):
    """A value that a model file cannot hold without pickle."""


# --------------------------------------------------------------------- helpers
def _package_version():
    from . import __version__

    return __version__


def _series(version):
    """Compatibility series: ``(major,)``, or ``(0, minor)`` for 0.x versions."""
    match = re.match(r"^(\d+)\.(\d+)", str(version))
    if match is None:
        raise ValueError(f"unreadable package version {version!r} in the model file.")
    major, minor = int(match.group(1)), int(match.group(2))
    return (major,) if major else (0, minor)


def _allowed(module):
    return any(module == m or module.startswith(m + ".") for m in ALLOWED_MODULES)


def _class_ref(obj, where):
    module = getattr(obj, "__module__", None) or ""
    qualname = getattr(obj, "__qualname__", "")
    if not _allowed(module) or "<" in qualname:
        raise _Unencodable(
            f"{where} is {obj!r}, defined in module {module!r}; a model file may only name "
            f"classes importable from {', '.join(ALLOWED_MODULES)} (so that loading never "
            "runs other code). Move the class into an importable module of one of these "
            "packages or pass a built-in one."
        )
    return {"module": module, "qualname": qualname}


def _resolve(ref):
    """Import ``ref`` from an allowlisted module, refusing anything else."""
    module, qualname = ref.get("module", ""), ref.get("qualname", "")
    if not isinstance(module, str) or not isinstance(qualname, str) or not _allowed(module):
        raise ValueError(
            f"the model file names {module}.{qualname}, which is outside the allowed "
            f"packages {ALLOWED_MODULES}; refusing to import it."
        )
    try:
        obj = importlib.import_module(module)
        for part in qualname.split("."):
            if part.startswith("_") and part != "__init__":
                raise AttributeError(part)
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ValueError(
            f"the model file names {module}.{qualname}, which this installation cannot "
            f"import ({exc}); was it written by another version of the package?"
        ) from exc
    if getattr(obj, "__module__", None) != module or getattr(obj, "__qualname__", None) != qualname:
        raise ValueError(f"{module}.{qualname} is not defined where the model file says.")
    return obj


def _is_skorch_net(obj):
    try:
        from skorch import NeuralNet
    except ImportError:  # pragma: no cover
        return False
    return isinstance(obj, NeuralNet)


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
        if isinstance(v, type) or inspect.isfunction(v) or inspect.isbuiltin(v):
            return {"$ref": _class_ref(v, where)}
        if hasattr(v, "get_params") and (hasattr(v, "fit") or _is_skorch_net(v)):
            return {"$estimator": self.estimator(v, where)}
        return self._object(v, where)

    def _ndarray(self, v, where):
        if v.dtype.kind in "biufc" and v.dtype.kind != "c":
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
        ref = _class_ref(type(v), where)
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
        node = {"class": _class_ref(type(est), where), "params": {}, "state": {}}
        params = {k: v for k, v in est.get_params(deep=False).items() if not k.startswith("_")}
        skorch = _is_skorch_net(est)
        dropped = {}
        for name, value in params.items():
            try:
                node["params"][name] = self.value(value, f"{where}.{name}")
            except _Unencodable:
                if not (skorch and name in _TRAINING_ONLY):
                    raise
                dropped[name] = repr(value)
        if dropped:
            warnings.warn(
                f"save_model: the training-only parameter(s) {sorted(dropped)} of {where} cannot "
                "be stored without pickle and are reset to their defaults in the file "
                "(prediction does not use them).",
                UserWarning,
                stacklevel=3,
            )
            node["dropped_params"] = dropped
        if skorch:
            self._skorch_state(est, node, params, where)
            return node
        for name, value in vars(est).items():
            if name in params:
                continue
            if name == "_metadata_request":
                node["routing"] = _routing_requests(value)
                continue
            node["state"][name] = self.value(value, f"{where}.{name}")
        return node

    def _skorch_state(self, net, node, params, where):
        torch_parts = [*net._modules, *net._criteria]
        managed = _SKORCH_MANAGED | {f"{n}_" for n in (*torch_parts, *net._optimizers)}
        for name, value in vars(net).items():
            if name in params or name in managed or name.startswith("_") or not name.endswith("_"):
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
        if requests:
            out[method] = {
                k: v for k, v in requests.items() if v is None or isinstance(v, (bool, str))
            }
    return out


# -------------------------------------------------------------------- decoding
class _Decoder:
    """Rebuild an estimator tree from JSON and the loaded arrays."""

    def __init__(self, arrays, device=None):
        self.arrays = arrays
        self.device = device

    def _array(self, key):
        if key not in self.arrays:
            raise ValueError(f"the model file lacks the array {key!r}; it is corrupted.")
        return self.arrays[key]

    def value(self, v):
        import torch

        if v is None or isinstance(v, (bool, str, int, float)):
            return v
        if isinstance(v, list):
            raise ValueError("malformed model file (untagged list).")
        if not isinstance(v, dict) or len(v) == 0:
            raise ValueError(f"malformed model file (unexpected value {v!r}).")
        if "$float" in v:
            return float(v["$float"])
        if "$np" in v:
            return np.array(self.value(v["$np"]), dtype=np.dtype(v["dtype"]))[()]
        if "$array" in v:
            return self._array(v["$array"]).copy()
        if "$tensor" in v:
            dtype = getattr(torch, v["dtype"].removeprefix("torch."), None)
            if not isinstance(dtype, torch.dtype):
                raise ValueError(f"malformed model file (unknown tensor dtype {v['dtype']!r}).")
            return torch.from_numpy(self._array(v["$tensor"]).copy()).to(dtype)
        if "$strarray" in v:
            return np.array(v["$strarray"], dtype=str).reshape(v["shape"])
        if "$objarray" in v:
            items = [self.value(x) for x in v["$objarray"]]
            out = np.empty(len(items), dtype=object)
            out[:] = items
            return out.reshape(v["shape"])
        if "$device" in v:
            return torch.device(v["$device"])
        if "$dtype" in v:
            return np.dtype(v["$dtype"])
        if "$list" in v:
            return [self.value(x) for x in v["$list"]]
        if "$tuple" in v:
            return tuple(self.value(x) for x in v["$tuple"])
        if "$dict" in v:
            return {k: self.value(x) for k, x in v["$dict"].items()}
        if "$items" in v:
            return {self.value(k): self.value(x) for k, x in v["$items"]}
        if "$ref" in v:
            return _resolve(v["$ref"])
        if "$estimator" in v:
            return self.estimator(v["$estimator"])
        if "$object" in v:
            cls = _resolve(v["$object"]["class"])
            return cls(**{k: self.value(x) for k, x in v["$object"]["params"].items()})
        raise ValueError(f"malformed model file (unknown tag in {sorted(v)}).")

    def estimator(self, node):
        cls = _resolve(node["class"])
        params = {k: self.value(v) for k, v in node["params"].items()}
        if "torch" in node or "initialized" in node:
            if self.device is not None and "device" in params:
                params["device"] = self.device
            return self._skorch(cls, params, node)
        est = cls(**params)
        for name, value in node["state"].items():
            setattr(est, name, self.value(value))
        if node.get("routing"):
            import sklearn

            with sklearn.config_context(enable_metadata_routing=True):
                for method, requests in node["routing"].items():
                    getattr(est, f"set_{method}_request")(**requests)
        return est

    def _skorch(self, cls, params, node):
        import torch
        from skorch.history import History

        net = cls(**params)
        for name, value in node["state"].items():
            setattr(net, name, self.value(value))
        if not node.get("initialized"):
            return net
        # Building the networks draws random initial weights (overwritten just
        # below); keep the caller's global torch RNG untouched.
        with torch.random.fork_rng(devices=[]):
            net.initialize()
        for name, encoded in node["torch"].items():
            module = getattr(net, f"{name}_")
            try:
                module.load_state_dict(self.value(encoded))
            except RuntimeError as exc:
                raise ValueError(
                    f"the stored weights of {name}_ do not fit the network rebuilt from the "
                    f"stored parameters: {exc}"
                ) from exc
        if node.get("history") is not None:
            net.history_ = History(self.value(node["history"]))
        return net


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


def _checksum(arrays):
    digest = hashlib.sha256()
    for key in sorted(arrays):
        arr = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}|{arr.dtype.str}|{arr.shape}|".encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


def _atomic_write(path, data):
    """Write ``data`` to ``path`` through a temporary file in the same folder."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates the file 0600; give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# ------------------------------------------------------------------ public API
def save_model(estimator, path, *, info=None, ch_names=None):
    """Write a fitted estimator or pipeline of the package to one file, atomically.

    Parameters
    ----------
    estimator : estimator
        A fitted transformer, decoder (:class:`~sk_eeg2music.LinearDecoder`,
        :class:`~sk_eeg2music.EEG2MusicGAN`), :class:`~sk_eeg2music.ShuffledPairs`
        or :class:`sklearn.pipeline.Pipeline` of those. Every class it uses
        must come from :data:`ALLOWED_MODULES`.
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

    Returns
    -------
    path : pathlib.Path
        The written file.

    Raises
    ------
    ValueError
        If the estimator is not fitted, holds something a model file cannot
        store without pickle (a lambda, a class from another package), or the
        channel names do not match the channel count seen in ``fit``.

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
        "checksum": _checksum(encoder.arrays),
        "tree": tree,
    }
    data = save(encoder.arrays, metadata={_META_KEY: json.dumps(meta, allow_nan=False)})
    _atomic_write(path, data)
    return Path(path)


def _read(path):
    """Return ``(meta, raw bytes)`` after checking the format and version."""
    data = Path(path).read_bytes()
    try:
        n = int.from_bytes(data[:8], "little")
        if len(data) < 8 or n > len(data) - 8:
            raise ValueError("truncated header")
        header = json.loads(data[8 : 8 + n])
        meta = json.loads(header["__metadata__"][_META_KEY])
        if not isinstance(meta, dict):
            raise ValueError("metadata is not a JSON object")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
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
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise ValueError(
            f"{path} has model-file format version {version!r} (written by sk_eeg2music "
            f"{written}); this sk_eeg2music {_package_version()} reads versions 1 to "
            f"{FORMAT_VERSION}. Load it with sk_eeg2music {written}."
        )
    if _series(written) != _series(_package_version()):
        raise ValueError(
            f"{path} was written by sk_eeg2music {written}, incompatible with the installed "
            f"{_package_version()} (a different {'major' if _series(written)[0] else 'minor'} "
            f"version). Load it with sk_eeg2music {written}, or refit."
        )
    return meta, data


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
    out["params"] = meta["tree"].get("params", {})
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
        If the file is corrupted or truncated, was written by an incompatible
        version, names a class outside :data:`ALLOWED_MODULES`, or ``ch_names``
        differ from the training channels.

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
    from safetensors import SafetensorError
    from safetensors.numpy import load

    meta, data = _read(path)
    if ch_names is not None:
        check_channels(meta, ch_names)
    try:
        arrays = load(data)
    except SafetensorError as exc:
        raise ValueError(f"{path} is corrupted or truncated: {exc}") from None
    if _checksum(arrays) != meta.get("checksum"):
        raise ValueError(f"{path} is corrupted: its arrays do not match the stored checksum.")
    try:
        return _Decoder(arrays, device=device).estimator(meta["tree"])
    except (KeyError, TypeError) as exc:
        raise ValueError(
            f"{path} is a malformed model file ({type(exc).__name__}: {exc})."
        ) from exc
