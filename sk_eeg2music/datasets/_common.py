"""Small helpers shared by the dataset loaders."""

import re
from pathlib import Path

import numpy as np

from ..utils._validation import check_sfreq


def segment_length(segment_seconds, sfreq, n_times, what):
    """Samples per segment: ``round(segment_seconds * sfreq)``, or ``n_times`` for ``None``.

    Parameters
    ----------
    segment_seconds : float | None
    sfreq : float
        EEG rate (Hz).
    n_times : int
        Length of the shortest recording to be cut (samples).
    what : str
        Names that recording in the error message.

    Returns
    -------
    seg_len : int
    """
    if segment_seconds is None:
        return int(n_times)
    seconds = check_sfreq(segment_seconds, "segment_seconds")
    seg_len = int(round(seconds * sfreq))
    if seg_len < 1:
        raise ValueError(f"segment_seconds={seconds:g} is shorter than one EEG sample.")
    if seg_len > n_times:
        raise ValueError(
            f"segment_seconds={seconds:g} is longer than {what} ({n_times / sfreq:.2f} s); "
            f"use at most {n_times / sfreq:.2f} or None for whole recordings."
        )
    return seg_len


def as_strings(value):
    """Strings from what ``loadmat(simplify_cells=True)`` gives for a cellstr/char/number array.

    Returns
    -------
    strings : list of str
        Stripped; numbers are written without a trailing ``.0``.
    """
    if isinstance(value, str):
        return [value.strip()]
    arr = np.asarray(value, dtype=object).ravel()
    out = []
    for item in arr:
        if isinstance(item, str):
            out.append(item.strip())
        elif isinstance(item, np.ndarray) and item.dtype.kind in "US":
            out.append("".join(str(c) for c in item.ravel()).strip())
        elif isinstance(item, (int, float, np.number)) and float(item).is_integer():
            out.append(str(int(item)))
        else:
            out.append(str(item).strip())
    return out


def as_scalar(value, name, where):
    """A single number from a (1, 1) MATLAB variable."""
    arr = np.asarray(value)
    if arr.size != 1 or arr.dtype.kind not in "iuf":
        raise ValueError(
            f"{name} in {where} must be a single number; got {arr.dtype} of shape {arr.shape}."
        )
    return float(arr.ravel()[0])


def id_number(value):
    """The integer inside an id (``3``, ``"3"``, ``"S03"``, ``"sub-03"``), or None."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    match = re.search(r"\d+", str(value))
    return int(match.group()) if match else None


def find_file(root, name):
    """``root/name`` if it exists, else the only file called ``name`` below ``root``."""
    root = Path(root)
    direct = root / name
    if direct.is_file():
        return direct
    found = sorted(p for p in root.rglob(name) if p.is_file())
    if len(found) > 1:
        raise ValueError(
            f"several files named {name} under {root}: {[str(p) for p in found]}; "
            "point data_dir at the folder that holds the right one."
        )
    return found[0] if found else None


def check_dir(data_dir, dataset, expected, url):
    """Raise FileNotFoundError (with the download page) unless ``data_dir`` is a folder."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(
            f"{dataset} folder {data_dir} does not exist. It should hold {expected}; "
            f"download them from {url} (see docs/datasets.md)."
        )
    return data_dir
