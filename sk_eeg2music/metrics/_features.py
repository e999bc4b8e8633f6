"""Feature-level metrics: decoded log-mel at the EEG frame rate, before synthesis."""

import numpy as np

from ..audio import log_mel_spectrogram
from ..utils._validation import check_audio, check_rate_ratio
from ._common import (
    _CHUNK,
    _N_MELS,
    EDGE_FRAMES,
    _check_feature_pair,
    _mean,
    _rowwise_pearson,
    _trim_features,
    _zscore_time,
)
from ._identification import _distinct, _similarity, _topk_hits


def feature_target(y, audio_sfreq, sfreq, n_mels=_N_MELS, eps=1e-8):
    """The true log-mel at the EEG frame rate: what the decoders' features estimate.

    :func:`sk_eeg2music.audio.log_mel_spectrogram` with one frame per EEG
    sample (hop ``audio_sfreq / sfreq``), the target of
    :class:`~sk_eeg2music.LinearDecoder` (``target="mel"``) and, z-scored over
    time, of the GAN's auxiliary mel head (``n_mels=aux_mels``, ``eps=1e-5``).
    :func:`feature_correlation` is invariant to a per-band affine map, so the
    z-scoring does not change a score.

    Parameters
    ----------
    y : ndarray, shape (n_trials, n_audio)
        Waveforms; ``n_audio = n_times * audio_sfreq / sfreq``.
    audio_sfreq : float
        Audio rate (Hz).
    sfreq : float
        EEG rate (Hz); ``audio_sfreq / sfreq`` must be an integer.
    n_mels : int, default=32
        Mel bands (a model's ``n_mels``).
    eps : float, default=1e-8
        Floor added to the mel power before the log.

    Returns
    -------
    F : ndarray, shape (n_trials, n_mels, n_audio * sfreq // audio_sfreq), float32

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import feature_target
    >>> y = np.random.default_rng(0).standard_normal((2, 16000)).astype(np.float32)
    >>> feature_target(y, audio_sfreq=16000, sfreq=64).shape  # 1 s at 64 Hz
    (2, 32, 64)
    """
    hop = check_rate_ratio(audio_sfreq, sfreq)
    y = check_audio(y, name="y")
    return np.concatenate(
        [
            log_mel_spectrogram(y[i : i + _CHUNK], audio_sfreq, hop, n_mels=n_mels, eps=eps)
            for i in range(0, len(y), _CHUNK)
        ]
    )


#: A prediction (or truth) whose residual after regressing out the reference
#: has less than this fraction of its mean square (uncentred: rounding scales
#: with the values, not with their variation over time) is collinear with the
#: reference: what is left is rounding (float32 log-mels of one template
#: computed twice differ by ~1e-7 relative), whose correlation with anything is
#: noise, so it scores 0. A residual RMS of 1e-5 of the values is ~100x rounding.
_COLLINEAR_RTOL = 1e-10


def _check_reference(reference, shape):
    """A reference of shape ``(n_mels, n_frames)`` or ``shape``, broadcast to ``shape``."""
    R = np.asarray(reference)
    if R.dtype.kind not in "fiu":
        raise ValueError(f"reference must be a real numeric array; got dtype {R.dtype}.")
    if R.ndim == 2:
        R = R[np.newaxis]
    if R.ndim != 3 or R.shape[1:] != shape[1:] or R.shape[0] not in (1, shape[0]):
        raise ValueError(
            f"reference must have shape (n_mels, n_frames) = {shape[1:]} or (n_trials, n_mels, "
            f"n_frames) = {shape}, like F_true; got shape {np.shape(reference)}."
        )
    if not np.isfinite(R).all():
        raise ValueError("reference contains NaN or infinite values.")
    return np.broadcast_to(R, shape)


def _residualize(x, z):
    """``x`` minus its least-squares fit on ``z`` over the last axis (both centred).

    Parameters
    ----------
    x, z : ndarray, shape (..., n_frames), float64
        Centred over the last axis.

    Returns
    -------
    residual : ndarray, shape (..., n_frames)
        ``x`` itself where ``z`` is constant (nothing to regress out).
    """
    zz = (z * z).sum(axis=-1, keepdims=True)
    beta = np.divide((x * z).sum(axis=-1, keepdims=True), zz, out=np.zeros_like(zz), where=zz > 0)
    return x - beta * z


def _partial_pearson(a, b, c, rtol=_COLLINEAR_RTOL):
    """Pearson r of ``a`` and ``b`` over the last axis, controlling for ``c``.

    The correlation of the residuals of ``a`` and ``b`` after a linear
    regression (with intercept) on ``c``. Where ``a`` or ``b`` is constant, or
    collinear with ``c`` up to rounding (the residual's sum of squares is below
    ``rtol`` times that of the uncentred values), the result is exactly 0.

    Parameters
    ----------
    a, b, c : ndarray, shape (..., n_frames)
    rtol : float, default=1e-10

    Returns
    -------
    r : ndarray, shape (...)
    """
    floor_a, floor_b = (rtol * np.square(x, dtype=np.float64).sum(axis=-1) for x in (a, b))
    a, b, c = (x - x.mean(axis=-1, keepdims=True, dtype=np.float64) for x in (a, b, c))
    ra, rb = _residualize(a, c), _residualize(b, c)
    ssa, ssb = (ra * ra).sum(axis=-1), (rb * rb).sum(axis=-1)
    ok = (ssa > floor_a) & (ssb > floor_b)
    den = np.sqrt(np.where(ok, ssa * ssb, 1.0))
    return np.where(ok, (ra * rb).sum(axis=-1) / den, 0.0)


def feature_correlation_per_trial(F_true, F_pred, trim_frames=EDGE_FRAMES, reference=None):
    """Decoded vs true log-mel at the EEG frame rate, before any synthesis; per trial.

    For each trial and band, the Pearson r over time between the true and the
    decoded feature; averaged over bands (the same definition as
    :func:`mel_correlation_per_trial`, at the EEG rate). Chance level: 0, and a
    time-constant prediction scores exactly 0 (a constant band counts 0).

    With a ``reference`` (an EEG-free prediction such as the beat template,
    :func:`~sk_eeg2music.models.baseline.mean_log_mel` of the training
    audio), each band's r is the **partial** correlation of prediction and
    truth controlling for the reference: the reference (with an intercept) is
    regressed out of both time courses, and the residuals are correlated. It
    measures what a prediction decodes beyond the reference. Chance level: 0;
    the reference itself, any per-band affine map of it and a constant score
    exactly 0 (a residual whose RMS is below 1e-5 of the band's RMS value is
    rounding, and counts 0); a band where the reference is constant gives the
    plain r.

    Parameters
    ----------
    F_true : ndarray, shape (n_trials, n_mels, n_frames)
        True features, e.g. :func:`feature_target`.
    F_pred : ndarray, shape (n_trials, n_mels, n_frames)
        Decoded features (a model's ``predict_features(X)``).
    trim_frames : int, default=2
        Frames dropped at each trial edge, whose 32-ms analysis window reaches
        past the trial at 64 and 125 Hz; 0 keeps every frame.
    reference : ndarray, shape (n_mels, n_frames) or (n_trials, n_mels, n_frames) | None
        EEG-free prediction to control for (one for every trial, or one per
        trial), trimmed like the features; ``None``: the plain r.

    Returns
    -------
    r : ndarray, shape (n_trials,)

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import feature_correlation_per_trial
    >>> rng = np.random.default_rng(0)
    >>> F = rng.standard_normal((3, 32, 64))
    >>> feature_correlation_per_trial(F, 2 * F + 1)  # invariant to a per-band gain
    array([1., 1., 1.])

    Beyond a reference that every trial shares (a beat template):

    >>> beat = rng.standard_normal((32, 64))
    >>> signal = rng.standard_normal((3, 32, 64))  # what only the EEG can tell
    >>> F_true = beat + signal
    >>> feature_correlation_per_trial(F_true, np.broadcast_to(beat, F_true.shape)).round(1)
    array([0.7, 0.7, 0.7])
    >>> feature_correlation_per_trial(F_true, np.broadcast_to(beat, F_true.shape), reference=beat)
    array([0., 0., 0.])
    >>> r = feature_correlation_per_trial(F_true, beat + signal, reference=beat)
    >>> bool((r > 0.9).all())
    True
    """
    F_true, F_pred = _check_feature_pair(F_true, F_pred)
    R = None if reference is None else _check_reference(reference, F_true.shape)
    F_true, F_pred = _trim_features(F_true, trim_frames), _trim_features(F_pred, trim_frames)
    if R is None:
        return _rowwise_pearson(F_true, F_pred).mean(axis=-1)
    return _partial_pearson(F_pred, F_true, _trim_features(R, trim_frames)).mean(axis=-1)


def feature_correlation(F_true, F_pred, **kwargs):
    """Mean over trials of :func:`feature_correlation_per_trial` (chance 0).

    Parameters
    ----------
    F_true, F_pred : ndarray, shape (n_trials, n_mels, n_frames)
        True and decoded log-mel at the EEG frame rate.
    **kwargs
        Passed to :func:`feature_correlation_per_trial`: ``trim_frames`` and
        ``reference`` (an EEG-free prediction, shape ``(n_mels, n_frames)`` or
        ``(n_trials, n_mels, n_frames)``: the partial r beyond it).

    Returns
    -------
    r : float

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import feature_correlation
    >>> rng = np.random.default_rng(0)
    >>> F = rng.standard_normal((3, 32, 64))
    >>> round(feature_correlation(F, F + rng.standard_normal(F.shape)), 1)  # equal noise
    0.7
    >>> feature_correlation(F, np.ones_like(F))  # constant: exactly chance
    0.0
    >>> beat = F.mean(axis=0)  # an EEG-free prediction shared by every trial
    >>> feature_correlation(F, np.broadcast_to(beat, F.shape), reference=beat)  # exactly chance
    0.0
    """
    return _mean(feature_correlation_per_trial(F_true, F_pred, **kwargs))


def feature_identification_accuracy(F_true, F_pred, top_k=1, trim_frames=EDGE_FRAMES):
    """Top-k identification among the distinct true segments, from decoded features.

    :func:`identification_accuracy` before synthesis: each decoded feature
    array is compared (band-wise correlation, :func:`similarity_matrix`'s
    definition) with every distinct row of ``F_true``; ties count at random in
    expectation. Chance: :func:`identification_chance` of ``F_true``.

    Parameters
    ----------
    F_true, F_pred : ndarray, shape (n_trials, n_mels, n_frames)
        True and decoded log-mel at the EEG frame rate.
    top_k : int, default=1
    trim_frames : int, default=2
        Frames dropped at each trial edge.

    Returns
    -------
    accuracy : float

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import feature_identification_accuracy, identification_chance
    >>> rng = np.random.default_rng(0)
    >>> F = rng.standard_normal((4, 32, 64))
    >>> feature_identification_accuracy(F, F + 0.5 * rng.standard_normal(F.shape))
    1.0
    >>> feature_identification_accuracy(F, np.zeros_like(F)), identification_chance(F)
    (0.25, 0.25)
    """
    return _mean(feature_identification_accuracy_per_trial(F_true, F_pred, top_k, trim_frames))


def feature_identification_accuracy_per_trial(
    F_true, F_pred, top_k=1, trim_frames=EDGE_FRAMES, return_guess=False
):
    """Whether each decoded feature array identifies its own segment; per trial.

    See :func:`feature_identification_accuracy` (its mean over trials).

    Parameters
    ----------
    F_true, F_pred : ndarray, shape (n_trials, n_mels, n_frames)
        True and decoded log-mel at the EEG frame rate.
    top_k : int, default=1
    trim_frames : int, default=2
        Frames dropped at each trial edge.
    return_guess : bool, default=False
        Also return each trial's best-matching segment, for
        :func:`~sk_eeg2music.stats.label_permutation_p` (the test that counts
        segments, not trials).

    Returns
    -------
    hit : ndarray, shape (n_trials,)
        1 for a hit, 0 for a miss, fractions for ties (their expectation).
    guess : ndarray of int, shape (n_trials,)
        Only with ``return_guess=True``: the row of ``F_true`` (the first of
        its distinct segment) most similar to each decoded array; a tie goes
        to the first such segment.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import feature_identification_accuracy_per_trial
    >>> F = np.random.default_rng(0).standard_normal((3, 8, 32))
    >>> feature_identification_accuracy_per_trial(F, F[[0, 2, 1]])
    array([1., 0., 0.])
    >>> feature_identification_accuracy_per_trial(F, F[[0, 2, 1]], return_guess=True)[1]
    array([0, 2, 1])
    """
    top_k = int(top_k)
    if top_k < 1:
        raise ValueError(f"top_k must be a positive integer; got {top_k}.")
    F_true, F_pred = _check_feature_pair(F_true, F_pred)
    first, inverse = _distinct(F_true, "F_true")
    zt = _zscore_time(_trim_features(F_true[first], trim_frames).astype(np.float64))
    zp = _zscore_time(_trim_features(F_pred, trim_frames).astype(np.float64))
    sim = _similarity(zp, zt)
    hit = _topk_hits(sim, inverse, top_k)
    return (hit, first[np.argmax(sim, axis=1)]) if return_guess else hit


def _aligned_song_scores(F_true, F_pred, stimulus, segment, trim_frames):
    """Similarity of each decoded segment with every song's true features at its position.

    Returns
    -------
    scores : ndarray, shape (n_trials, n_stimuli)
        NaN where a song has no true segment at that position.
    songs : ndarray of str, shape (n_stimuli,)
    """
    songs, song_of = np.unique(stimulus, return_inverse=True)
    positions, position_of = np.unique(segment, return_inverse=True)
    # One true target per (song, position): its trials share the music.
    key = song_of * len(positions) + position_of
    keys, first = np.unique(key, return_index=True)
    zt = _zscore_time(_trim_features(F_true[first], trim_frames).astype(np.float64))
    zp = _zscore_time(_trim_features(F_pred, trim_frames).astype(np.float64))
    sim = _similarity(zp, zt)  # (n_trials, n_keys)
    lookup = np.full(len(songs) * len(positions), -1)
    lookup[keys] = np.arange(len(keys))
    wanted = lookup[np.arange(len(songs))[None, :] * len(positions) + position_of[:, None]]
    scores = np.take_along_axis(sim, np.maximum(wanted, 0), axis=1)
    scores[wanted < 0] = np.nan
    return scores, songs


def feature_song_identification_per_recording(
    F_true, F_pred, stimulus, segment, recording, trim_frames=EDGE_FRAMES, return_guess=False
):
    """Which song a whole recording heard or imagined, from its decoded segments.

    Each decoded segment is compared (band-wise correlation, as in
    :func:`feature_identification_accuracy`) with every song's true features
    *at the same position* (trials are time-locked to their song); a
    recording's score for a song is the mean over its segments, and its guess
    is the best-scoring song. The n-way task of MOS-style imagery studies,
    which classify whole trials. An EEG-free prediction shared by every trial
    guesses the same song for all recordings: chance, ``1 / n_songs`` with
    balanced songs.

    Parameters
    ----------
    F_true, F_pred : ndarray, shape (n_trials, n_mels, n_frames)
        True and decoded log-mel at the EEG frame rate.
    stimulus : ndarray of str, shape (n_trials,)
        Song of each trial.
    segment : ndarray of int, shape (n_trials,)
        Position of each trial's segment in its song.
    recording : ndarray, shape (n_trials,)
        Label of the recording each segment was cut from (one subject's
        presentation of one song in one condition); every recording must hold
        one song.
    trim_frames : int, default=2
        Frames dropped at each segment edge.
    return_guess : bool, default=False
        Also return each recording's guessed song, for a confusion matrix or
        :func:`~sk_eeg2music.stats.label_permutation_p` (the test that counts
        songs, not recordings: hits of one song's recordings are not
        independent).

    Returns
    -------
    hit : ndarray, shape (n_recordings,)
        1 for a hit, 0 for a miss, ``1 / n_tied`` for ties (their expectation),
        in the order of ``np.unique(recording)``.
    guess : ndarray of str, shape (n_recordings,)
        Only with ``return_guess=True``: the best-scoring song of each
        recording (of tied songs, the first in sorted order).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.metrics import feature_song_identification_per_recording
    >>> rng = np.random.default_rng(0)
    >>> F = rng.standard_normal((4, 8, 32))  # songs a and b, 2 segments each
    >>> stimulus, segment = np.array(["a", "a", "b", "b"]), np.array([0, 1, 0, 1])
    >>> recording = np.array([0, 0, 1, 1])
    >>> feature_song_identification_per_recording(F, F, stimulus, segment, recording)
    array([1., 1.])
    >>> feature_song_identification_per_recording(F, F[[2, 3, 0, 1]], stimulus, segment, recording)
    array([0., 0.])
    """
    F_true, F_pred = _check_feature_pair(F_true, F_pred)
    n = len(F_true)
    stimulus, segment, recording = (np.asarray(a) for a in (stimulus, segment, recording))
    for name, a in (("stimulus", stimulus), ("segment", segment), ("recording", recording)):
        if a.shape != (n,):
            raise ValueError(f"{name} must have shape (n_trials,) = ({n},); got {a.shape}.")
    recordings, rec_of = np.unique(recording, return_inverse=True)
    scores, songs = _aligned_song_scores(F_true, F_pred, stimulus, segment, trim_frames)
    own = np.searchsorted(songs, stimulus)
    song_of_rec = np.zeros(len(recordings), dtype=int)
    song_of_rec[rec_of] = own
    mixed = song_of_rec[rec_of] != own
    if mixed.any():
        bad = rec_of[np.argmax(mixed)]
        raise ValueError(
            f"recording {recordings[bad]!r} holds segments of several songs: "
            f"{sorted(set(stimulus[rec_of == bad]))}."
        )
    # Mean over each recording's segments, NaN (a song without that position) left out.
    valid = np.isfinite(scores)
    sums = np.zeros((len(recordings), len(songs)))
    counts = np.zeros((len(recordings), len(songs)))
    np.add.at(sums, rec_of, np.where(valid, scores, 0.0))
    np.add.at(counts, rec_of, valid)
    # A song absent at every position of a recording cannot be guessed.
    total = np.divide(sums, counts, out=np.full_like(sums, -np.inf), where=counts > 0)
    hit = _topk_hits(total, song_of_rec, top_k=1)
    if return_guess:
        return hit, songs[np.argmax(total, axis=1)]
    return hit
