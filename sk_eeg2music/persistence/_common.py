"""Shared by the model-file reader and writer: the errors and the checks of single values."""

import numpy as np

_MISSING = object()


class _Unencodable(ValueError):
    """A value that a model file cannot hold without pickle."""


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
