"""Decoders that ignore the EEG: the floors every EEG decoder must beat.

:class:`MeanSpectrumBaseline` predicts the training music's long-term spectrum
(no time structure); :class:`BeatTemplateBaseline` predicts the training
segments' mean log-mel time course (the time structure every segment shares,
e.g. a beat that starts with the segment).
"""

import numbers
import zlib

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils.validation import check_is_fitted

from ..audio import log_mel_spectrogram, mel_to_waveform
from ..utils._validation import check_y_for_eeg
from ._base import EEGDecoderMixin, NumberInterval


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


def mean_log_mel(y, audio_sfreq, hop_length, n_mels=32, batch_size=64, sample_weight=None):
    """Mean log-mel time course of waveforms, aligned at their first sample.

    The features are those a mel decoder is trained on
    (:func:`~sk_eeg2music.audio.log_mel_spectrogram`, one frame per EEG sample
    when ``hop_length = audio_sfreq / sfreq``, as in
    :class:`~sk_eeg2music.models.LinearDecoder`), averaged over trials. This is
    the beat template: :class:`BeatTemplateBaseline` predicts it, and the
    evaluation (:func:`~sk_eeg2music.evaluation.score_trials`) controls for it
    in ``feature_r_beat``.

    Parameters
    ----------
    y : ndarray, shape (n_trials, n_audio)
    audio_sfreq : float
    hop_length : int
        Audio samples per frame.
    n_mels : int, default=32
    batch_size : int, default=64
        Trials per spectrogram call (bounds the STFT's memory for long audio).
    sample_weight : ndarray, shape (n_trials,) | None, default=None
        Weight of each row, e.g. how many trials share a distinct waveform
        (the mean over the trials from their distinct segments only);
        ``None``: equal weights.

    Returns
    -------
    template : ndarray, shape (n_mels, n_audio // hop_length), float64
        Frame ``t`` averages frame ``t`` of every trial.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.models.baseline import mean_log_mel
    >>> y = np.random.default_rng(0).standard_normal((3, 8000)).astype(np.float32)
    >>> mean_log_mel(y, 8000, hop_length=125).shape  # 1 s at 64 frames/s
    (32, 64)
    >>> rows = mean_log_mel(y[[0, 0, 1]], 8000, 125)  # a repeated row, or a weight of 2
    >>> weighted = mean_log_mel(y[:2], 8000, 125, sample_weight=[2, 1])
    >>> bool(np.allclose(rows, weighted, atol=1e-6))  # batched STFTs differ in the last bits
    True
    """
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.shape != (len(y),) or not (sample_weight >= 0).all():
            raise ValueError(
                f"sample_weight must be {len(y)} non-negative weights, one per row of y; got "
                f"shape {sample_weight.shape}."
            )
        if not sample_weight.sum() > 0:
            raise ValueError("sample_weight must not sum to 0.")
    total = 0.0
    for start in range(0, len(y), batch_size):
        logmel = log_mel_spectrogram(y[start : start + batch_size], audio_sfreq, hop_length, n_mels)
        if sample_weight is None:
            total = total + logmel.sum(axis=0, dtype=np.float64)
        else:
            w = sample_weight[start : start + batch_size]
            total = total + np.tensordot(w, logmel.astype(np.float64), axes=1)
    return total / (len(y) if sample_weight is None else sample_weight.sum())


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


class _NoEEGBaseline(EEGDecoderMixin, RegressorMixin, BaseEstimator):
    """Shared shell of the baselines: EEG validation (the EEG is then ignored), tags, score.

    The EEG is validated like that of the decoders they are compared with (2-D
    refused, channels checked), then only its shape is used. They are scored
    as the decoders (``score``: band-wise mel correlation), poorly by design
    (the ``poor_score`` tag of :class:`EEGDecoderMixin`): no EEG, no fit.
    """

    _parameter_constraints = {
        "sfreq": [NumberInterval(numbers.Real, 0, None, closed="neither")],
        "n_mels": [NumberInterval(numbers.Integral, 1, None, closed="left")],
        "random_state": [NumberInterval(numbers.Integral, 0, 2**32 - 1, closed="both"), None],
    }

    def _check_fit_input(self, X, y):
        """Validated ``X`` (sets ``n_features_in_``), 2-D ``y`` and the audio factor."""
        X = self._check_eeg(X, reset=True)
        y, self._y_1d = self._check_waveforms(y)
        return X, y, check_y_for_eeg(X, y)


class MeanSpectrumBaseline(_NoEEGBaseline):
    """Predict noise with the average spectrum of the training music; ignore the EEG.

    It has the right long-term spectrum but no time structure, so its band-wise
    mel correlation and identification accuracy sit at chance: the floor an EEG
    decoder must beat, evaluated in the same harness.

    Parameters
    ----------
    sfreq : float, default=64.0
        EEG rate (Hz); the audio rate is ``sfreq * factor_`` (used by ``score``
        and by the log-mel of ``predict_features``).
    random_state : int | None, default=0
        Seeds the random phases of the predictions; each trial's draw is also
        seeded by its EEG bytes, so a prediction does not depend on the batch.
    n_mels : int, default=32
        Mel bands of ``predict_features``.

    Attributes
    ----------
    power_ : ndarray, shape (n_audio // 2 + 1,)
        Mean power spectrum of the training waveforms.
    rms_ : float
        Root-mean-square amplitude of the training waveforms.
    log_mel_mean_ : ndarray, shape (n_mels,)
        Mean training log-mel of each band (:func:`mean_log_mel` averaged over
        frames): the constant features a decoder with no EEG predicts.
    factor_ : int
        Audio samples per EEG sample.
    audio_sfreq_ : float
        Audio rate (Hz), ``sfreq * factor_``.
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

    def __init__(self, sfreq=64.0, random_state=0, n_mels=32):
        self.sfreq = sfreq
        self.random_state = random_state
        self.n_mels = n_mels

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Average the training waveforms' power spectra (and log-mel bands).

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
        y : array-like, shape (n_trials, n_times * factor)

        Returns
        -------
        self : MeanSpectrumBaseline
            The fitted estimator.
        """
        _, y, self.factor_ = self._check_fit_input(X, y)
        self.power_, self.rms_ = mean_power_spectrum(y, y.shape[1])
        self.audio_sfreq_ = float(self.sfreq) * self.factor_
        self.log_mel_mean_ = mean_log_mel(y, self.audio_sfreq_, self.factor_, self.n_mels).mean(
            axis=1
        )
        return self

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
        X = self._check_eeg(X, reset=False)
        n_audio = X.shape[2] * self.factor_
        power = self.power_
        if len(power) != n_audio // 2 + 1:  # other trial length: resample the spectrum
            grid = np.linspace(0, 1, n_audio // 2 + 1)
            power = np.interp(grid, np.linspace(0, 1, len(power)), power)
        noise = _noise(power, self.rms_, X, n_audio, self.random_state)
        return noise[:, 0] if getattr(self, "_y_1d", False) else noise

    def predict_features(self, X):
        """Constant log-mel features: the training mean of each band.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
            EEG (only its shape is used).

        Returns
        -------
        features : ndarray, shape (n_trials, n_mels, n_times)
            ``log_mel_mean_`` at every frame, in the units of a mel decoder's
            :meth:`~sk_eeg2music.models.LinearDecoder.predict_features`.
        """
        check_is_fitted(self)
        X = self._check_eeg(X, reset=False)
        shape = (len(X), len(self.log_mel_mean_), X.shape[2])
        return np.broadcast_to(self.log_mel_mean_[:, np.newaxis], shape).copy()


class BeatTemplateBaseline(_NoEEGBaseline):
    """Predict the training segments' mean log-mel time course; ignore the EEG.

    Segments cut at fixed lengths from beat-regular music start on the beat, so
    the mean log-mel time course of the training segments, aligned at the
    segment start, shares the beat (and the onset at the segment edge) with
    every test segment. Predicting that template for every trial scores above
    chance with no EEG at all: every EEG decoder must beat it, and a decoder
    whose score does not is decoding the beat grid, not the EEG.

    The features are exactly those a mel decoder is trained on
    (:func:`~sk_eeg2music.audio.log_mel_spectrogram` with one frame per EEG
    sample, as :class:`~sk_eeg2music.models.LinearDecoder` computes them) and
    the waveforms come from the same Griffin-Lim synthesis, so the template is
    scored at both levels exactly like the decoder.

    Parameters
    ----------
    sfreq : float, default=64.0
        EEG rate (Hz); the audio rate is ``sfreq * factor_``.
    n_mels : int, default=32
        Mel bands.
    n_iter : int, default=32
        Griffin-Lim iterations.
    random_state : int | None, default=0
        Seeds the Griffin-Lim phases (as :class:`~sk_eeg2music.models.LinearDecoder`).

    Attributes
    ----------
    template_ : ndarray, shape (n_mels, n_times)
        Mean training log-mel, frame by frame from the segment start
        (:func:`mean_log_mel`).
    factor_ : int
        Audio samples per EEG sample.
    audio_sfreq_ : float
        Audio rate (Hz).
    n_features_in_ : int
        Channels seen in ``fit`` (checked, then ignored).

    Notes
    -----
    All training waveforms have one length (one ``y`` array). A test trial
    shorter than the template gets its first frames; frames past the
    template's end get its mean over time (no segment-locked information is
    left there).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music import BeatTemplateBaseline
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((6, 4, 64)).astype(np.float32)  # 1 s of EEG at 64 Hz
    >>> y = rng.standard_normal((6, 8000)).astype(np.float32)  # 1 s of audio at 8 kHz
    >>> baseline = BeatTemplateBaseline(sfreq=64.0).fit(X, y)
    >>> baseline.template_.shape  # (n_mels, n_times)
    (32, 64)
    >>> baseline.predict_features(X[:2]).shape, baseline.predict(X[:2]).shape
    ((2, 32, 64), (2, 8000))
    """

    _parameter_constraints = {
        **_NoEEGBaseline._parameter_constraints,
        "n_iter": [NumberInterval(numbers.Integral, 0, None, closed="left")],
    }

    def __init__(self, sfreq=64.0, n_mels=32, n_iter=32, random_state=0):
        self.sfreq = sfreq
        self.n_mels = n_mels
        self.n_iter = n_iter
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Average the training log-mel spectrograms frame by frame.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
            EEG (validated, then ignored).
        y : array-like, shape (n_trials, n_times * factor)
            Waveforms, all of one length.

        Returns
        -------
        self : BeatTemplateBaseline
            The fitted estimator.
        """
        _, y, self.factor_ = self._check_fit_input(X, y)
        self.audio_sfreq_ = float(self.sfreq) * self.factor_
        self.template_ = mean_log_mel(y, self.audio_sfreq_, self.factor_, self.n_mels)
        return self

    def predict_features(self, X):
        """The template log-mel for every trial.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
            EEG (only its shape is used).

        Returns
        -------
        features : ndarray, shape (n_trials, n_mels, n_times)
            ``template_`` cut or extended (with its time average) to ``n_times``.
        """
        check_is_fitted(self)
        X = self._check_eeg(X, reset=False)
        n_times, template = X.shape[2], self.template_
        if n_times > template.shape[1]:
            pad = np.repeat(template.mean(axis=1, keepdims=True), n_times - template.shape[1], 1)
            template = np.concatenate([template, pad], axis=1)
        return np.broadcast_to(template[:, :n_times], (len(X), len(template), n_times)).copy()

    def predict(self, X):
        """The template's waveform (Griffin-Lim, as the mel decoders) for every trial.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
            EEG (only its shape is used).

        Returns
        -------
        y_pred : ndarray, shape (n_trials, n_times * ``factor_``), float64
            The same waveform in every row (1-D if ``y`` was 1-D in ``fit``).
        """
        features = self.predict_features(X)
        n_audio = features.shape[2] * self.factor_
        # Every row is the same template, and mel_to_waveform seeds each trial
        # alike: synthesise once.
        wave = mel_to_waveform(
            features[:1],
            self.audio_sfreq_,
            self.factor_,
            n_audio,
            n_iter=self.n_iter,
            random_state=self.random_state,
        ).astype(np.float64)
        wave = np.repeat(wave, len(features), axis=0)
        return wave[:, 0] if getattr(self, "_y_1d", False) else wave
