"""A decoder that ignores the EEG: the floor every EEG decoder must beat."""

import zlib

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..metrics import mel_correlation
from ..utils._validation import check_audio, check_eeg, check_sfreq, check_y_for_eeg


def mean_power_spectrum(y, n_audio):
    """Average power spectrum of waveforms, one row at a time.

    Parameters
    ----------
    y : ndarray, shape (n_trials, n_audio_in)
    n_audio : int
        FFT length.

    Returns
    -------
    power : ndarray, shape (n_audio // 2 + 1,)
    rms : float
        Root-mean-square amplitude of ``y``.
    """
    power = np.zeros(n_audio // 2 + 1)
    for row in np.asarray(y, dtype=np.float64):  # a batch FFT would hold GBs for long audio
        power += np.abs(np.fft.rfft(row, n=n_audio)) ** 2
    return power / len(y), float(np.sqrt(np.mean(np.square(y, dtype=np.float64))))


def _noise(power, rms, X, n_audio, random_state):
    """One draw per trial, seeded by the trial's bytes: independent of batch order."""
    out = np.empty((len(X), n_audio))
    for i, trial in enumerate(X):
        seed = [0 if random_state is None else int(random_state), zlib.crc32(trial.tobytes())]
        if n_audio < 2:  # one audio sample per trial: a random-sign constant of the RMS
            out[i] = rms * np.random.default_rng(seed).choice([-1.0, 1.0], n_audio)
        else:
            out[i] = spectrum_noise(power, rms, 1, seed, n_audio)[0]
    return out


def spectrum_noise(power, rms, n_outputs, random_state=None, n_audio=None):
    """Random-phase noise with a given power spectrum and RMS.

    Parameters
    ----------
    power : ndarray, shape (n_audio // 2 + 1,)
    rms : float
    n_outputs : int
    random_state : int | numpy.random.Generator | None
    n_audio : int | None
        Output length, ``2 * (len(power) - 1)`` or one more (odd lengths);
        ``None`` is the former.

    Returns
    -------
    noise : ndarray, shape (n_outputs, n_audio), float32
        Independent draws (independent random phases).
    """
    rng = np.random.default_rng(random_state)
    n_audio = 2 * (len(power) - 1) if n_audio is None else int(n_audio)
    phase = np.exp(2j * np.pi * rng.random((n_outputs, len(power))))
    noise = np.fft.irfft(np.sqrt(power) * phase, n=n_audio)
    norm = np.sqrt(np.mean(noise**2, axis=1, keepdims=True))
    return (noise * rms / np.where(norm > 0, norm, 1.0)).astype(np.float32)


class MeanSpectrumBaseline(RegressorMixin, BaseEstimator):
    """Predict noise with the average spectrum of the training music; ignore the EEG.

    It has the right long-term spectrum but no time structure, so its band-wise
    mel correlation and identification accuracy sit at chance: the floor an EEG
    decoder must beat, evaluated in the same harness.

    Parameters
    ----------
    sfreq : float, default=64.0
        EEG rate (Hz); the audio rate is ``sfreq * factor_`` (used by ``score``).
    random_state : int | None, default=0
        Seeds the random phases of the predictions; each trial's draw is also
        seeded by its EEG bytes, so a prediction does not depend on the batch.

    Attributes
    ----------
    power_ : ndarray, shape (n_audio // 2 + 1,)
        Mean power spectrum of the training waveforms.
    rms_ : float
        Root-mean-square amplitude of the training waveforms.
    factor_ : int
        Audio samples per EEG sample.
    n_features_in_ : int
        Channels seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music import MeanSpectrumBaseline
    >>> rng = np.random.default_rng(0)
    >>> X = 1e-5 * rng.standard_normal((6, 4, 64)).astype(np.float32)  # 1 s of EEG at 64 Hz
    >>> y = rng.standard_normal((6, 8000)).astype(np.float32)  # 1 s of audio at 8 kHz
    >>> baseline = MeanSpectrumBaseline(sfreq=64.0).fit(X, y)
    >>> baseline.power_.shape, baseline.factor_
    ((4001,), 125)
    >>> y_pred = baseline.predict(X[:2])
    >>> y_pred.shape, np.array_equal(y_pred, baseline.predict(X[:2]))  # reproducible
    ((2, 8000), True)
    """

    def __init__(self, sfreq=64.0, random_state=0):
        self.sfreq = sfreq
        self.random_state = random_state

    def fit(self, X, y):
        """Average the training waveforms' power spectra.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
        y : array-like, shape (n_trials, n_times * factor)

        Returns
        -------
        self : MeanSpectrumBaseline
            The fitted estimator.
        """
        X = self._validate_X(X, reset=True)
        y_arr = np.asarray(y) if y is not None else None
        if y_arr is None:
            raise ValueError(
                "requires y to be passed, but the target y is None: pass the waveforms of "
                "shape (n_trials, n_times * factor)."
            )
        self._y_1d = y_arr.ndim == 1
        y = check_audio(y_arr[:, np.newaxis] if self._y_1d else y_arr)
        self.factor_ = check_y_for_eeg(X, y)
        self.power_, self.rms_ = mean_power_spectrum(y, y.shape[1])
        return self

    def _validate_X(self, X, reset):
        X = validate_data(
            self, X, reset=reset, allow_nd=True, ensure_2d=False, dtype=(np.float32, np.float64)
        )
        if X.ndim == 1:
            raise ValueError(
                "Reshape your data: X must have shape (n_trials, n_channels, n_times) or "
                f"(n_trials, n_channels); got a 1-D array of shape {X.shape}."
            )
        X = check_eeg(X, allow_2d=True)
        if reset:
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input (EEG channels); pick the training "
                "channels (same names, same order) first."
            )
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        # Random-phase noise by design: it must not fit the data.
        tags.regressor_tags.poor_score = True
        return tags

    def predict(self, X):
        """Noise waveforms of the training spectrum, one per trial.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)

        Returns
        -------
        y_pred : ndarray, shape (n_trials, n_times * ``factor_``), float64
            Random-phase noise with the training spectrum and RMS (1-D if ``y``
            was 1-D in ``fit``).
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        n_audio = X.shape[2] * self.factor_
        power = self.power_
        if len(power) != n_audio // 2 + 1:  # other trial length: resample the spectrum
            grid = np.linspace(0, 1, n_audio // 2 + 1)
            power = np.interp(grid, np.linspace(0, 1, len(power)), power)
        noise = _noise(power, self.rms_, X, n_audio, self.random_state)
        return noise[:, 0] if getattr(self, "_y_1d", False) else noise

    def score(self, X, y, sample_weight=None):
        """Band-wise mel correlation with ``y`` (about 0 by design).

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
        y : array-like, shape (n_trials, n_times * ``factor_``)
        sample_weight : None, default=None
            Ignored.

        Returns
        -------
        score : float
            :func:`~sk_eeg2music.metrics.mel_correlation` of the predictions.
        """
        audio_sfreq = check_sfreq(self.sfreq) * self.factor_
        y_pred = self.predict(X)
        y = np.asarray(y)
        if y.ndim == 1:
            y, y_pred = y[:, np.newaxis], np.asarray(y_pred).reshape(len(y), -1)
        return mel_correlation(y, y_pred, sfreq=audio_sfreq)
