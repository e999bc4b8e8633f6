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

#: The metrics every fold can be scored on, by the names used everywhere (the
#: evaluation's tables, ``make_scorers``' keys): greater is better ...
HIGHER_IS_BETTER = {
    "mel_r": mel_correlation,
    "envelope_r": envelope_correlation,
    "waveform_r": waveform_correlation,
    "si_sdr": si_sdr,
    "id_acc": identification_accuracy,
    "rank_acc": rank_accuracy,
}
#: ... and lower is better (``make_scorers`` negates them as ``neg_<name>``).
LOWER_IS_BETTER = {
    "mcd": mel_cepstral_distortion,
    "lsd": log_spectral_distance,
    "fmd": frechet_mel_distance,
}


def make_scorers(audio_sfreq):
    """Scorers for ``cross_validate(..., scoring=make_scorers(audio_sfreq))``.

    Every scorer compares ``estimator.predict(X)`` (waveforms) with ``y``; with a
    dict of scorers scikit-learn calls ``predict`` once per fold and shares it,
    and the scorers of one call share the log-mel spectrograms of that pair.
    The keys are the names of :func:`sk_eeg2music.evaluation.evaluate_models`'
    tables (one scoring vocabulary); distortions are negated (``neg_*``) so
    that greater is better throughout.

    Parameters
    ----------
    audio_sfreq : float
        Audio rate (Hz) of ``y``.

    Returns
    -------
    scorers : dict of str to callable
        Keys: ``mel_r`` (:func:`mel_correlation`), ``envelope_r``,
        ``waveform_r``, ``si_sdr``, ``id_acc`` (:func:`identification_accuracy`),
        ``rank_acc``, ``neg_mcd`` (:func:`mel_cepstral_distortion`), ``neg_lsd``
        (:func:`log_spectral_distance`), ``neg_fmd``
        (:func:`frechet_mel_distance`). Match–mismatch needs each trial's
        stimulus and segment, which scorers do not get: use
        :func:`sk_eeg2music.evaluation.evaluate_models`.

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
    ['envelope_r', 'id_acc', 'mel_r']
    >>> baseline = MeanSpectrumBaseline(sfreq=64.0).fit(X, y)
    >>> -1 <= scoring["mel_r"](baseline, X, y) <= 1
    True

    ``cross_validate(estimator, X, y, scoring=scoring)`` then reports every metric
    per fold from a single ``predict`` call.
    """
    from sklearn.metrics import make_scorer

    sfreq = check_sfreq(audio_sfreq, "audio_sfreq")
    memo = _Memo()
    scorers = {
        name: make_scorer(_MemoScore(f, memo), sfreq=sfreq) for name, f in HIGHER_IS_BETTER.items()
    }
    scorers.update(
        {
            f"neg_{name}": make_scorer(_MemoScore(f, memo), greater_is_better=False, sfreq=sfreq)
            for name, f in LOWER_IS_BETTER.items()
        }
    )
    return scorers
