"""Input validation shared by every estimator, metric and loader.

Every public entry point funnels its arrays through these functions so that bad
input fails early with a :class:`ValueError` that names the expected shape and
the fix, rather than deep inside numpy, MNE or torch.
"""

import numbers

import numpy as np

#: Largest waveform amplitude accepted by :func:`check_audio`: spectra are
#: computed in float32, whose squared STFT sums overflow near 1e16; 32-bit PCM
#: counts (up to 2.1e9) still pass.
MAX_AUDIO_AMPLITUDE = 1e12


def _as_float_array(x, name, dtype):
    if hasattr(x, "toarray") or hasattr(x, "todense"):
        raise ValueError(
            f"{name} is a sparse matrix ({type(x).__name__}); sparse input is not supported. "
            f"Pass a dense array, e.g. {name}.toarray()."
        )
    # Only look at a dtype the input already has: np.iscomplexobj would call
    # numpy's array-function protocol, which array-likes may refuse.
    dtype_in = getattr(x, "dtype", None)
    if isinstance(dtype_in, np.dtype) and dtype_in.kind == "c":
        raise ValueError(
            f"Complex data not supported: {name} holds complex values; pass real-valued "
            "data (e.g. np.abs or .real first)."
        )
    try:
        arr = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        # Keep the exception type (TypeError for non-numeric objects, as numpy does).
        raise type(exc)(f"{name} must be a numeric array; got {type(x).__name__}: {exc}") from exc
    return arr


_EEG_ADVICE = "interpolate bad channels or drop the affected trials before decoding."
_AUDIO_ADVICE = (
    "find where they come from (a float sound file, a failed resampling) and pass finite waveforms."
)


def _check_finite(arr, name, advice=_EEG_ADVICE):
    # Fast path without a full-size boolean temporary: a float64 sum of float32
    # data cannot overflow, so it is finite exactly when every value is.
    if arr.dtype == np.float32 and np.isfinite(arr.sum(dtype=np.float64)):
        return
    if arr.size and not np.isfinite(arr).all():
        n_bad = int(arr.size - np.isfinite(arr).sum())
        raise ValueError(f"{name} contains {n_bad} NaN or infinite value(s); {advice}")


def _check_nonempty(arr, name, shape_in):
    if 0 in arr.shape:
        detail = (
            f" {name} has 0 feature(s) (shape={shape_in}) while a minimum of 1 is required."
            if len(shape_in) == 2 and shape_in[1] == 0
            else ""
        )
        raise ValueError(
            f"{name} must be non-empty with shape (n_trials, n_channels, n_times); got "
            f"{shape_in}.{detail}"
        )


def check_eeg(X, *, name="X", dtype=np.float32, allow_2d=False, n_channels=None, estimator=None):
    """Validate EEG of shape ``(n_trials, n_channels, n_times)``.

    Parameters
    ----------
    X : array-like, shape (n_trials, n_channels, n_times)
        EEG. With ``allow_2d=True`` an array of shape ``(n_trials, n_features)`` is
        accepted and read as ``(n_trials, n_features, 1)``, as MNE's decoding
        transformers do (for transformers, where 2-D means samples x features).
    name : str, default="X"
        Name used in error messages.
    dtype : numpy dtype, default=numpy.float32
        The returned array's dtype (float64 input is cast, not rejected).
    allow_2d : bool, default=False
        Accept 2-D input (see above). Without it (decoders), 2-D input raises a
        ``ValueError`` that says how to reshape it: read as ``(n_trials, n_features,
        1)``, single-channel trials of shape ``(n_trials, n_times)`` would silently
        become ``n_times`` channels of one sample each.
    n_channels : int | None, default=None
        If given, the number of channels the data must have (the one seen in ``fit``).
    estimator : str | None, default=None
        Name of the calling estimator; when given, a channel-count mismatch is
        reported in scikit-learn's words ("X has 3 features, but Name is
        expecting 4 features as input") followed by the EEG explanation.

    Returns
    -------
    X : ndarray, shape (n_trials, n_channels, n_times)
        A C-contiguous array of ``dtype``; no copy when the input already is one.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.utils import check_eeg
    >>> check_eeg(np.zeros((2, 4, 64))).dtype
    dtype('float32')
    >>> check_eeg(np.zeros((4, 64)))
    Traceback (most recent call last):
        ...
    ValueError: Expected 3-D EEG X of shape (n_trials, n_channels, n_times), got a 2-D array ...
    """
    arr = _as_float_array(X, name, dtype)
    shape_in = arr.shape
    if arr.ndim == 2 and allow_2d:
        arr = arr[:, :, np.newaxis]
    if arr.ndim == 2:
        # Emptiness and NaN first, in scikit-learn's words, as for any 2-D X.
        _check_nonempty(arr, name, shape_in)
        _check_finite(arr, name)
        # The common mistake: single-channel trials, or one continuous recording. Read
        # as (n_trials, n_channels, 1) they would fit n_times channels of 1 sample each.
        raise ValueError(
            f"Expected 3-D EEG {name} of shape (n_trials, n_channels, n_times), got a 2-D "
            f"array of shape {shape_in}. Reshape your data with {name}[:, np.newaxis, :] if "
            f"each row is one trial of a single channel, or {name}[np.newaxis] if it is one "
            "trial of shape (n_channels, n_times)."
        )
    if arr.ndim != 3:
        hint = (
            " Reshape your data: for a single trial use X[np.newaxis]; for continuous data "
            "of shape (n_channels, n_times) cut it into trials first."
        )
        raise ValueError(
            f"{name} must be 3-D with shape (n_trials, n_channels, n_times); got an array "
            f"with ndim={len(shape_in)} and shape {shape_in}.{hint}"
        )
    _check_nonempty(arr, name, shape_in)
    if n_channels is not None and arr.shape[1] != n_channels:
        prefix = (
            f"{name} has {arr.shape[1]} features, but {estimator} is expecting {n_channels} "
            "features as input: "
            if estimator
            else ""
        )
        raise ValueError(
            f"{prefix}{name} has {arr.shape[1]} channels but the estimator was fitted on "
            f"{n_channels}; pick the training channels (same names, same order) first."
        )
    _check_finite(arr, name)
    return np.ascontiguousarray(arr)


def check_audio(y, *, name="y", dtype=np.float32):
    """Validate waveforms of shape ``(n_trials, n_audio)``.

    Parameters
    ----------
    y : array-like, shape (n_trials, n_audio)
        Mono waveforms, one row per trial.
    name : str, default="y"
        Name used in error messages.
    dtype : numpy dtype, default=numpy.float32
        The returned array's dtype.

    Returns
    -------
    y : ndarray, shape (n_trials, n_audio)
        A C-contiguous array of ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.utils import check_audio
    >>> check_audio(np.zeros((2, 8000), dtype=np.float64)).dtype
    dtype('float32')
    """
    if y is None:
        raise ValueError(
            f"this operation requires {name} to be passed, but the target {name} is None: "
            "it needs the audio waveforms of shape (n_trials, n_audio). For NMED-T pass "
            "audio_dir= to load_nmedt."
        )
    arr = _as_float_array(y, name, dtype)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D with shape (n_trials, n_audio), one mono waveform per trial; "
            f"got ndim={arr.ndim} and shape {arr.shape}."
        )
    if 0 in arr.shape:
        raise ValueError(
            f"{name} must be non-empty with shape (n_trials, n_audio); got {arr.shape}."
        )
    _check_finite(arr, name, _AUDIO_ADVICE)
    peak = max(float(arr.max()), -float(arr.min()))
    if peak > MAX_AUDIO_AMPLITUDE:
        raise ValueError(
            f"{name} has amplitudes up to {peak:.3g}, beyond {MAX_AUDIO_AMPLITUDE:.0e}: its "
            "float32 spectra would overflow. Scale the waveforms, e.g. to [-1, 1] "
            "(y / np.abs(y).max())."
        )
    return np.ascontiguousarray(arr)


def check_y_for_eeg(X, y, *, name="y"):
    """Check that ``y`` holds ``n_times * factor`` audio samples per EEG trial.

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times)
        EEG.
    y : ndarray, shape (n_trials, n_audio)
        Waveforms, ``n_audio = n_times * factor``.
    name : str, default="y"
        Name of ``y`` in error messages.

    Returns
    -------
    factor : int
        The audio-to-EEG upsampling factor ``n_audio // n_times``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.utils import check_y_for_eeg
    >>> check_y_for_eeg(np.zeros((2, 4, 64)), np.zeros((2, 8000)))  # 64 Hz EEG, 8 kHz audio
    125
    """
    if len(X) != len(y):
        raise ValueError(
            f"X and {name} have different numbers of trials: {len(X)} != {len(y)}; "
            "each EEG trial needs exactly one waveform."
        )
    n_times, n_audio = X.shape[-1], y.shape[1]
    if n_audio % n_times or n_audio < n_times:
        raise ValueError(
            f"{name} has {n_audio} samples per trial, which is not n_times x an integer "
            f"(n_times={n_times}); expected shape (n_trials, n_times * factor), e.g. "
            f"({len(y)}, {n_times * max(1, round(n_audio / n_times))}). Resample the audio so "
            "that audio_sfreq / sfreq is an integer."
        )
    return n_audio // n_times


def check_sfreq(sfreq, name="sfreq"):
    """Return ``sfreq`` as a positive float or raise a ValueError.

    Parameters
    ----------
    sfreq : float
        A sampling rate (Hz).
    name : str, default="sfreq"
        Name used in the error message.

    Returns
    -------
    sfreq : float

    Examples
    --------
    >>> from sk_eeg2music.utils import check_sfreq
    >>> check_sfreq(64)
    64.0
    >>> check_sfreq(0)
    Traceback (most recent call last):
        ...
    ValueError: sfreq must be a positive number of samples per second; got 0.
    """
    if (
        sfreq is None
        or isinstance(sfreq, bool)
        or not isinstance(sfreq, numbers.Real)
        or not np.isfinite(sfreq)
        or sfreq <= 0
    ):
        raise ValueError(f"{name} must be a positive number of samples per second; got {sfreq!r}.")
    return float(sfreq)


def check_rate_ratio(audio_sfreq, sfreq):
    """Return ``audio_sfreq / sfreq`` as an int, or raise saying which rates work.

    Parameters
    ----------
    audio_sfreq : float
        Audio sampling rate (Hz).
    sfreq : float
        EEG sampling rate (Hz).

    Returns
    -------
    factor : int
    """
    audio_sfreq = check_sfreq(audio_sfreq, "audio_sfreq")
    sfreq = check_sfreq(sfreq, "sfreq")
    factor = audio_sfreq / sfreq
    if abs(factor - round(factor)) > 1e-9 or round(factor) < 1:
        base = int(round(sfreq)) if float(sfreq).is_integer() else sfreq
        options = ", ".join(str(int(base * k)) for k in _nice_factors(sfreq))
        raise ValueError(
            f"audio_sfreq / sfreq must be an integer so each EEG sample maps to a whole number "
            f"of audio samples; got {audio_sfreq:g} / {sfreq:g} = {factor:.4g}. Rates that work "
            f"with sfreq={sfreq:g}: {options} (any integer multiple of {sfreq:g})."
        )
    return int(round(factor))


def _nice_factors(sfreq):
    # Multiples of sfreq that land near common audio rates, for the error message.
    targets = (8000, 16000, 22050, 24000, 32000, 44100, 48000)
    return sorted({max(1, int(round(t / sfreq))) for t in targets})


def expected_failed_checks_2d_eeg(estimator):
    """scikit-learn's generic checks that an estimator refusing 2-D EEG fails.

    The checks fit on 2-D ``X`` ``(n_samples, n_features)``, which
    :func:`check_eeg` refuses (without ``allow_2d``) because 2-D EEG is
    ambiguous. For the ``_expected_failed_checks`` hook of the compliance
    suite (``tests/test_common.py``); names of checks the estimator does not
    run are ignored by scikit-learn.

    Parameters
    ----------
    estimator : estimator instance
        The partial-fit check is listed only when it has ``partial_fit``.

    Returns
    -------
    checks : dict of str to str
        ``{check name: reason}``.
    """
    reason = (
        "fits on 2-D X (n_samples, n_features): the estimator refuses 2-D EEG, which it "
        "would misread (single-channel trials as n_times channels), and asks for 3-D "
        "(n_trials, n_channels, n_times)"
    )
    checks = dict.fromkeys(_CHECKS_WITH_2D_X, reason)
    if not hasattr(estimator, "partial_fit"):
        del checks["check_estimators_partial_fit_n_features"]
    return checks


#: Generic checks (scikit-learn 1.6-1.9) that fit or predict on 2-D X only.
_CHECKS_WITH_2D_X = (
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_partial_fit_n_features",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_1sample",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_regressor_data_not_an_array",
    "check_regressor_multioutput",
    "check_regressors_int",
    "check_regressors_no_decision_function",
    "check_regressors_train",
    "check_requires_y_none",
    "check_supervised_y_2d",
)
