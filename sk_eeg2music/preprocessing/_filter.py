"""Band-pass filtering and resampling with MNE, block by block over trials."""

import numbers
from fractions import Fraction

import mne
import numpy as np
from sklearn.utils._param_validation import StrOptions

from ..models._base import NumberInterval
from ..utils._validation import check_sfreq
from ._base import _StatelessEEGTransformer, iter_trial_chunks, restore_ndim


def check_band(l_freq, h_freq, sfreq):
    """Validate band edges against the Nyquist frequency.

    Parameters
    ----------
    l_freq : float | None
        High-pass edge (Hz); ``None`` for a low-pass only.
    h_freq : float | None
        Low-pass edge (Hz); ``None`` for a high-pass only.
    sfreq : float
        Sampling rate (Hz).

    Returns
    -------
    l_freq, h_freq : float | None
    """
    sfreq = check_sfreq(sfreq)
    nyquist = sfreq / 2.0
    if l_freq is None and h_freq is None:
        raise ValueError(
            "BandpassFilter needs l_freq and/or h_freq; both are None. Set l_freq for a "
            "high-pass, h_freq for a low-pass, or both for a band-pass (or drop the step)."
        )
    for name, value, fix in (
        ("l_freq", l_freq, "use l_freq=None for a low-pass only"),
        ("h_freq", h_freq, "use h_freq=None for a high-pass only"),
    ):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
            raise ValueError(f"{name} must be a positive frequency in Hz or None; got {value!r}.")
        if value >= nyquist:
            raise ValueError(
                f"{name}={value:g} Hz is at or above the Nyquist frequency sfreq / 2 = "
                f"{nyquist:g} Hz (sfreq={sfreq:g}); choose {name} below {nyquist:g} Hz, check "
                f"sfreq, or {fix}."
            )
    if l_freq is not None and h_freq is not None and l_freq >= h_freq:
        raise ValueError(
            f"l_freq ({l_freq:g} Hz) must be below h_freq ({h_freq:g} Hz) for a band-pass; "
            "swap them (a band-stop is not what this transformer does)."
        )
    return (None if l_freq is None else float(l_freq), None if h_freq is None else float(h_freq))


def bandpass(X, sfreq, l_freq, h_freq, **filter_kwargs):
    """Filter every trial and channel with :func:`mne.filter.filter_data`.

    MNE filters in float64; trials are processed in blocks so that the
    float64 working copy stays small, and the result is written into a
    single float32 output array.

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times)
        EEG.
    sfreq : float
        Sampling rate of ``X`` (Hz).
    l_freq, h_freq : float | None
        Band edges (Hz), as in :func:`mne.filter.filter_data`.
    **filter_kwargs
        Passed to :func:`mne.filter.filter_data` (``method``, ``phase``, ...).

    Returns
    -------
    Xf : ndarray, shape (n_trials, n_channels, n_times), float32
    """
    n_trials, n_channels, n_times = X.shape
    out = np.empty(X.shape, dtype=np.float32)
    for block in iter_trial_chunks(n_trials, n_channels * n_times * 8):
        data = X[block].astype(np.float64).reshape(-1, n_times)
        data = mne.filter.filter_data(
            data, sfreq, l_freq, h_freq, copy=False, verbose="warning", **filter_kwargs
        )
        out[block] = data.reshape(-1, n_channels, n_times)
    return out


def resampled_length(n_times, sfreq, new_sfreq):
    """Number of samples after resampling, which must be a whole number.

    Parameters
    ----------
    n_times : int
        Samples per trial at ``sfreq``.
    sfreq, new_sfreq : float
        Old and new sampling rates (Hz).

    Returns
    -------
    n_new : int
        ``n_times * new_sfreq / sfreq``.
    """
    ratio = Fraction(new_sfreq).limit_denominator(10**6) / Fraction(sfreq).limit_denominator(10**6)
    if (n_times * ratio).denominator != 1:
        step = ratio.denominator
        example = max(1, n_times // step) * step
        raise ValueError(
            f"Resampling {n_times} samples from {sfreq:g} Hz to {new_sfreq:g} Hz gives "
            f"{float(n_times * ratio):.6g} samples, not a whole number, so the trial would no "
            f"longer span the same time as its audio. Crop trials to a multiple of {step} "
            f"samples (e.g. {example}), or pick a new_sfreq that makes "
            "n_times * new_sfreq / sfreq an integer."
        )
    n_new = int(n_times * ratio)
    return n_new


def resample(X, sfreq, new_sfreq, **resample_kwargs):
    """Resample every trial with :func:`mne.filter.resample`.

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times)
        EEG.
    sfreq, new_sfreq : float
        Old and new sampling rates (Hz).
    **resample_kwargs
        Passed to :func:`mne.filter.resample` (``method``, ``npad``, ``window``, ``pad``).

    Returns
    -------
    Xr : ndarray, shape (n_trials, n_channels, n_new), float32
        ``n_new = n_times * new_sfreq / sfreq``.
    """
    n_trials, n_channels, n_times = X.shape
    n_new = resampled_length(n_times, sfreq, new_sfreq)
    if resample_kwargs.get("method") == "polyphase" and n_times < 2:
        # scipy's resample_poly crashes the interpreter (SIGFPE) on 1-sample signals.
        raise ValueError(
            f"Polyphase resampling needs at least 2 samples per trial; got n_times={n_times}. "
            "Use method='fft' or longer trials."
        )
    out = np.empty((n_trials, n_channels, n_new), dtype=np.float32)
    for block in iter_trial_chunks(n_trials, n_channels * max(n_times, n_new) * 8 * 2):
        data = X[block].astype(np.float64)
        out[block] = mne.filter.resample(
            data, up=new_sfreq, down=sfreq, verbose="warning", **resample_kwargs
        )
    return out


class BandpassFilter(_StatelessEEGTransformer):
    """Band-pass (or high-/low-pass) filter EEG trials with MNE.

    A thin shell around :func:`mne.filter.filter_data`, applied trial by trial
    along the time axis. It learns nothing, so it is fitted from construction
    and may sit anywhere in a cross-validated pipeline.

    Parameters
    ----------
    l_freq : float | None
        High-pass edge in Hz; ``None`` for a low-pass only.
    h_freq : float | None
        Low-pass edge in Hz, below ``sfreq / 2``; ``None`` for a high-pass only.
    sfreq : float
        Sampling rate of the EEG in Hz.
    method : {"fir", "iir"}, default="fir"
        Filter type, as in MNE.
    phase : str, default="zero"
        ``"zero"`` gives a zero-phase (non-causal) filter, MNE's default; see
        :func:`mne.filter.filter_data` for the causal options.
    filter_length : str | int, default="auto"
        FIR length, as in MNE.
    l_trans_bandwidth, h_trans_bandwidth : float | str, default="auto"
        FIR transition bandwidths, as in MNE.
    iir_params : dict | None, default=None
        IIR design, as in MNE (used with ``method="iir"``).

    Attributes
    ----------
    n_features_in_ : int
        Number of channels seen in ``fit`` (only set once ``fit`` was called).

    Notes
    -----
    Filtering runs on blocks of trials in float64 (what MNE requires) and
    writes one float32 output: memory use is one copy of ``X`` plus a block.
    Trials are filtered independently, with MNE's edge padding, so a trial's
    output never depends on other trials.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.preprocessing import BandpassFilter
    >>> X = np.random.default_rng(0).standard_normal((2, 3, 500)).astype("float32")
    >>> BandpassFilter(1.0, 30.0, sfreq=125.0).fit_transform(X).shape
    (2, 3, 500)
    """

    _parameter_constraints = {
        "l_freq": [NumberInterval(numbers.Real, 0, None, closed="neither"), None],
        "h_freq": [NumberInterval(numbers.Real, 0, None, closed="neither"), None],
        "sfreq": [NumberInterval(numbers.Real, 0, None, closed="neither")],
        "method": [StrOptions({"fir", "iir"})],
        "phase": [str],
        "filter_length": [str, NumberInterval(numbers.Integral, 1, None, closed="left")],
        "l_trans_bandwidth": [
            StrOptions({"auto"}),
            NumberInterval(numbers.Real, 0, None, closed="neither"),
        ],
        "h_trans_bandwidth": [
            StrOptions({"auto"}),
            NumberInterval(numbers.Real, 0, None, closed="neither"),
        ],
        "iir_params": [dict, None],
    }

    def __init__(
        self,
        l_freq,
        h_freq,
        sfreq,
        *,
        method="fir",
        phase="zero",
        filter_length="auto",
        l_trans_bandwidth="auto",
        h_trans_bandwidth="auto",
        iir_params=None,
    ):
        self.l_freq = l_freq
        self.h_freq = h_freq
        self.sfreq = sfreq
        self.method = method
        self.phase = phase
        self.filter_length = filter_length
        self.l_trans_bandwidth = l_trans_bandwidth
        self.h_trans_bandwidth = h_trans_bandwidth
        self.iir_params = iir_params

    def _check_params(self):
        super()._check_params()
        # The edges against each other and against Nyquist: beyond single-parameter constraints.
        return check_band(self.l_freq, self.h_freq, self.sfreq)

    @classmethod
    def _test_instances(cls):
        # For tests/test_common.py: the constructor has required arguments.
        return [cls(1.0, 30.0, sfreq=100.0), cls(None, 30.0, sfreq=100.0, method="iir")]

    def transform(self, X):
        """Filter each trial along time.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
            EEG sampled at ``sfreq``.

        Returns
        -------
        Xf : ndarray, shape (n_trials, n_channels, n_times), float32
        """
        l_freq, h_freq = self._check_params()
        X, was_2d = self._validate_eeg(X, reset=False)
        Xf = bandpass(
            X,
            check_sfreq(self.sfreq),
            l_freq,
            h_freq,
            method=self.method,
            phase=self.phase,
            filter_length=self.filter_length,
            l_trans_bandwidth=self.l_trans_bandwidth,
            h_trans_bandwidth=self.h_trans_bandwidth,
            iir_params=self.iir_params,
        )
        return restore_ndim(Xf, was_2d)


class Resample(_StatelessEEGTransformer):
    """Resample EEG trials with MNE (FFT-based by default).

    Parameters
    ----------
    sfreq : float
        Sampling rate of the input EEG in Hz.
    new_sfreq : float
        Sampling rate of the output in Hz (> 0).
    method : {"fft", "polyphase"}, default="fft"
        Resampling method of :func:`mne.filter.resample`.
    npad : int | str, default=100
        Padding for ``method="fft"``, as in MNE.
    window : str, default="auto"
        Frequency-domain window, as in MNE.
    pad : str, default="auto"
        Edge padding, as in MNE.

    Attributes
    ----------
    n_features_in_ : int
        Number of channels seen in ``fit`` (only set once ``fit`` was called).

    Notes
    -----
    **Keeping the audio and EEG rates integer-related.** The GAN infers its
    upsampling factor from the shapes, ``y.shape[1] / X.shape[2]``, which is
    an integer only if (1) ``audio_sfreq / new_sfreq`` is an integer and
    (2) each trial still spans exactly its audio after resampling, i.e.
    ``n_times * new_sfreq / sfreq`` is a whole number. ``transform`` raises a
    ``ValueError`` when (2) fails rather than rounding the length. For (1),
    choose ``new_sfreq`` among the divisors of the audio rate (16 000 Hz audio:
    64, 80, 100, 125, 128, 160, 200, 250, ... Hz) or resample the audio, e.g.
    NMED-T at 125 Hz with 16 kHz audio → ``Resample(125, 64)`` gives a factor
    of 250 for segments lasting a whole number of seconds.
    ``check_rate_ratio(audio_sfreq, new_sfreq)`` from
    ``sk_eeg2music.utils._validation`` names rates that work.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.preprocessing import Resample
    >>> X = np.zeros((2, 3, 250), dtype="float32")  # 2 s at 125 Hz
    >>> Resample(125.0, 64.0).fit_transform(X).shape
    (2, 3, 128)
    """

    _parameter_constraints = {
        "sfreq": [NumberInterval(numbers.Real, 0, None, closed="neither")],
        "new_sfreq": [NumberInterval(numbers.Real, 0, None, closed="neither")],
        "method": [StrOptions({"fft", "polyphase"})],
        "npad": [NumberInterval(numbers.Integral, 0, None, closed="left"), str],
        "window": [str, tuple],
        "pad": [str],
    }

    def __init__(self, sfreq, new_sfreq, *, method="fft", npad=100, window="auto", pad="auto"):
        self.sfreq = sfreq
        self.new_sfreq = new_sfreq
        self.method = method
        self.npad = npad
        self.window = window
        self.pad = pad

    @classmethod
    def _test_instances(cls):
        # For tests/test_common.py: the constructor has required arguments.
        return [cls(100.0, 200.0)]

    def _check_params(self):
        super()._check_params()
        return float(self.sfreq), float(self.new_sfreq)

    def transform(self, X):
        """Resample each trial along time.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
            EEG sampled at ``sfreq``.

        Returns
        -------
        Xr : ndarray, shape (n_trials, n_channels, n_times * new_sfreq / sfreq), float32
        """
        sfreq, new_sfreq = self._check_params()
        X, was_2d = self._validate_eeg(X, reset=False)
        Xr = resample(
            X,
            sfreq,
            new_sfreq,
            method=self.method,
            npad=self.npad,
            window=self.window,
            pad=self.pad,
        )
        return restore_ndim(Xr, was_2d)
