"""The file around the estimator tree: header metadata, checksum, versions, and reading it.

Reading parses the safetensors header and its JSON with bounded nesting and
checks every header field before any estimator is rebuilt.
"""

import hashlib
import json
import math
import numbers
import re
from pathlib import Path

import numpy as np

from ._allowlist import _allowed_class
from ._common import _exact_keys, _expect, _malformed

FORMAT = "sk_eeg2music.model"


#: Version of the file layout; bumped whenever a reader of the old one would
#: misread the new one (2: the checksum covers the header and the tree).
FORMAT_VERSION = 2


_MIN_FORMAT_VERSION = 2


_META_KEY = "sk_eeg2music"


#: Deepest JSON nesting a model file may have (real files: about 20).
MAX_DEPTH = 64


# JSON strings, including an unterminated one at the end (so that the pattern
# always matches from a quote and the scan stays linear).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)


_VERSION = re.compile(r"^(\d+)\.(\d+)")


def _package_version():
    from .. import __version__

    return __version__


def _series(version):
    """Compatibility series: ``(major,)``, or ``(0, minor)`` for 0.x versions."""
    match = _VERSION.match(version) if isinstance(version, str) else None
    if match is None:
        raise ValueError(f"unreadable package version {version!r} in the model file.")
    major, minor = int(match.group(1)), int(match.group(2))
    return (major,) if major else (0, minor)


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
