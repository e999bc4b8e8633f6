"""scikit-learn scorers of the metrics, sharing one memo per scoring round."""

from ..utils._validation import check_sfreq
from ._common import _Memo, _MemoScore
from ._identification import identification_accuracy, rank_accuracy
from ._realism import frechet_mel_distance
from ._waveform import (
    envelope_correlation,
    log_spectral_distance,
    mel_cepstral_distortion,
    mel_correlation,
    si_sdr,
    waveform_correlation,
)


def make_scorers(audio_sfreq):
    """Scorers for ``cross_validate(..., scoring=make_scorers(audio_sfreq))``.

    Every scorer compares ``estimator.predict(X)`` (waveforms) with ``y``; with a
    dict of scorers scikit-learn calls ``predict`` once per fold and shares it,
    and the scorers of one call share the log-mel spectrograms of that pair.
    Distortions are negated (``neg_*``) so that greater is better throughout.

    Parameters
    ----------
    audio_sfreq : float
        Audio rate (Hz) of ``y``.

    Returns
    -------
    scorers : dict of str to callable
        Keys: ``mel_correlation``, ``envelope_correlation``,
        ``waveform_correlation``, ``neg_mel_cepstral_distortion``,
        ``neg_log_spectral_distance``, ``si_sdr``, ``identification_accuracy``,
        ``rank_accuracy``, ``neg_frechet_mel_distance``. Match–mismatch needs
        each trial's stimulus and segment, which scorers do not get: call
        :func:`match_mismatch_accuracy` from the evaluation instead.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music import MeanSpectrumBaseline
    >>> from sk_eeg2music.metrics import make_scorers
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((6, 4, 64)).astype(np.float32)  # 1 s of EEG at 64 Hz
    >>> y = rng.standard_normal((6, 8000)).astype(np.float32)  # 1 s of audio at 8 kHz
    >>> scoring = make_scorers(audio_sfreq=8000)
    >>> sorted(scoring)[:3]
    ['envelope_correlation', 'identification_accuracy', 'mel_correlation']
    >>> baseline = MeanSpectrumBaseline(sfreq=64.0).fit(X, y)
    >>> -1 <= scoring["mel_correlation"](baseline, X, y) <= 1
    True

    ``cross_validate(estimator, X, y, scoring=scoring)`` then reports every metric
    per fold from a single ``predict`` call.
    """
    from sklearn.metrics import make_scorer

    sfreq = check_sfreq(audio_sfreq, "audio_sfreq")
    higher = {
        "mel_correlation": mel_correlation,
        "envelope_correlation": envelope_correlation,
        "waveform_correlation": waveform_correlation,
        "si_sdr": si_sdr,
        "identification_accuracy": identification_accuracy,
        "rank_accuracy": rank_accuracy,
    }
    lower = {
        "neg_mel_cepstral_distortion": mel_cepstral_distortion,
        "neg_log_spectral_distance": log_spectral_distance,
        "neg_frechet_mel_distance": frechet_mel_distance,
    }
    memo = _Memo()
    scorers = {name: make_scorer(_MemoScore(f, memo), sfreq=sfreq) for name, f in higher.items()}
    scorers.update(
        {
            name: make_scorer(_MemoScore(f, memo), greater_is_better=False, sfreq=sfreq)
            for name, f in lower.items()
        }
    )
    return scorers
