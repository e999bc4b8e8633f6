"""The public functions of :mod:`sk_eeg2music.persistence`."""

import json
import warnings
from pathlib import Path

from .._io import atomic_write
from ._common import _Unencodable
from ._decode import _Decoder
from ._encode import _Encoder
from ._format import (
    _META_KEY,
    FORMAT,
    FORMAT_VERSION,
    _channel_names,
    _checksum,
    _describe,
    _package_version,
    _read,
)


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
