"""Shared by the model-file reader and writer: the errors and the checks of JSON values."""


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
