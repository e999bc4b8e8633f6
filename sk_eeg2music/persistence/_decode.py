"""Loading: a JSON tree and its arrays back into an estimator, every node checked first."""

import numpy as np

from ._allowlist import (
    _ROUTED_METHODS,
    _TORCH_DTYPES,
    _allowed_class,
    _init_param_names,
    _is_skorch_class,
    _restriction,
    _state_name_problem,
)
from ._common import _exact_keys, _expect, _malformed


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
