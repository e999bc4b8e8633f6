"""A decoder that ignores the EEG: the floor every EEG decoder must beat."""

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

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


def spectrum_noise(power, rms, n_outputs, random_state=None):
    """Random-phase noise with a given power spectrum and RMS.

    Parameters
    ----------
    power : ndarray, shape (n_audio // 2 + 1,)
    rms : float
    n_outputs : int
    random_state : int | numpy.random.Generator | None

    Returns
    -------
    noise : ndarray, shape (n_outputs, n_audio), float32
        Independent draws (independent random phases).
    """
    rng = np.random.default_rng(random_state)
    n_audio = 2 * (len(power) - 1)
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
        Seeds the random phases of the predictions.

    Attributes
    ----------
    power_ : ndarray, shape (n_audio // 2 + 1,)
        Mean power spectrum of the training waveforms.
    rms_ : float
    factor_ : int
        Audio samples per EEG sample.
    n_features_in_ : int
        Channels seen in ``fit``.
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
        self
        """
        X = check_eeg(X, allow_2d=True)
        y = check_audio(y)
        self.factor_ = check_y_for_eeg(X, y)
        self.n_features_in_ = X.shape[1]
        self.power_, self.rms_ = mean_power_spectrum(y, y.shape[1])
        return self

    def predict(self, X):
        """Noise waveforms of the training spectrum, one per trial.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)

        Returns
        -------
        y_pred : ndarray, shape (n_trials, n_times * factor_)
        """
        check_is_fitted(self)
        X = check_eeg(X, allow_2d=True, n_channels=self.n_features_in_)
        n_audio = X.shape[2] * self.factor_
        power = self.power_
        if 2 * (len(power) - 1) != n_audio:  # other trial length: resample the spectrum
            grid = np.linspace(0, 1, n_audio // 2 + 1)
            power = np.interp(grid, np.linspace(0, 1, len(power)), power)
        return spectrum_noise(power, self.rms_, len(X), self.random_state)

    def score(self, X, y, sample_weight=None):
        """Band-wise mel correlation with ``y`` (about 0 by design).

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
        y : array-like, shape (n_trials, n_times * factor_)
        sample_weight : None
            Ignored.

        Returns
        -------
        score : float
        """
        audio_sfreq = check_sfreq(self.sfreq) * self.factor_
        return mel_correlation(y, self.predict(X), sfreq=audio_sfreq)
