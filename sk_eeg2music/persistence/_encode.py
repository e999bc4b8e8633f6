"""Saving: an estimator as a JSON tree of plain data plus its arrays."""

import functools
import inspect
import math
import numbers
import warnings

import numpy as np

from ._allowlist import (
    _TRAINING_ONLY,
    _class_ref,
    _init_param_names,
    _is_skorch_class,
    _restriction,
    _routing_requests,
    _state_name_problem,
)
from ._common import _Unencodable


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
