"""Scores of one fold's reconstructions, per trial and per fold.

:func:`score_trials` scores every test trial at the waveform and the feature
level, :func:`score_reconstructions` and ``_fold_scores`` give a fold's means,
chance levels and p-values; :func:`beat_reference` is the EEG-free reference of
``feature_r_beat``; :func:`recording_labels` and :func:`segment_keys` name the
recordings and the distinct segments the metrics group by.
"""

import numpy as np

from .. import metrics
from ..metrics import song_identification_accuracy
from ..metrics._common import _unique_rows
from ..metrics._scorers import HIGHER_IS_BETTER, LOWER_IS_BETTER
from ..models.baseline import mean_log_mel
from ..stats import label_permutation_p
from ..utils._validation import check_rate_ratio

#: Metrics reported for every fold (name → function of (y_true, y_pred, sfreq)).
FOLD_METRICS = {
    "mel_r": HIGHER_IS_BETTER["mel_r"],
    "envelope_r": HIGHER_IS_BETTER["envelope_r"],
    "mcd": LOWER_IS_BETTER["mcd"],
}


def score_reconstructions(y_true, y_pred, sfreq, stimulus=None):
    """All fold-level scores of one set of reconstructions.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
        True and reconstructed waveforms.
    sfreq : float
        Audio rate (Hz).
    stimulus : ndarray of str, shape (n_trials,) | None, default=None
        Stimulus of each trial; adds song-level identification when given.

    Returns
    -------
    scores : dict
        ``mel_r``, ``envelope_r``, ``mcd``, ``id_acc`` (n-way top-1 over the
        distinct true segments), ``id_chance``, ``id_p`` (one-sided binomial),
        ``rank_acc``, ``n_trials``, ``n_segments`` and, with ``stimulus``,
        ``song_acc`` / ``song_chance``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.evaluation import score_reconstructions
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((4, 8000)).astype(np.float32)
    >>> scores = score_reconstructions(y, y, sfreq=8000)
    >>> scores["mel_r"], scores["id_acc"], scores["id_chance"], scores["n_segments"]
    (1.0, 1.0, 0.25, 4)
    """
    out = {name: f(y_true, y_pred, sfreq=sfreq) for name, f in FOLD_METRICS.items()}
    n_distinct = len(_unique_rows(y_true)[0])  # the rows identification counts
    out.update(n_trials=len(y_true), n_segments=n_distinct)
    if n_distinct >= 2:
        acc = metrics.identification_accuracy(y_true, y_pred, sfreq=sfreq)
        chance = metrics.identification_chance(y_true)
        out.update(
            id_acc=acc,
            id_chance=chance,
            id_p=metrics.binomial_p_value(acc, len(y_true), chance),
            rank_acc=metrics.rank_accuracy(y_true, y_pred, sfreq=sfreq),
        )
    if stimulus is not None and len(np.unique(stimulus)) >= 2:
        out.update(
            song_acc=song_identification_accuracy(y_true, y_pred, stimulus, sfreq),
            song_chance=1.0 / len(np.unique(stimulus)),
        )
    return out


def score_trials(
    y_true,
    y_pred,
    audio_sfreq,
    *,
    stimulus,
    segment,
    features=None,
    reference=None,
    recording=None,
):
    """Per-trial scores of one test set, at the waveform and (given features) feature level.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
        True and reconstructed waveforms.
    audio_sfreq : float
        Audio rate (Hz).
    stimulus : ndarray of str, shape (n_trials,)
        Stimulus of each trial (match–mismatch imposters come from the same one).
    segment : ndarray of int, shape (n_trials,)
        Index of each trial's segment in its stimulus.
    features : ndarray, shape (n_trials, n_mels, n_frames) | None, default=None
        Decoded log-mel at the EEG frame rate; adds the ``feature_*`` scores
        (left out for single-band features such as an envelope).
    reference : ndarray, shape (n_mels, n_frames) | None, default=None
        An EEG-free prediction of the features, fitted on the training trials
        only: the beat template (:func:`beat_reference`). With ``features``,
        adds ``feature_r_beat``.
    recording : ndarray, shape (n_trials,) | None, default=None
        Recording each segment was cut from (see :func:`recording_labels`);
        with ``features`` and at least two songs, adds ``feature_song_acc``.

    Returns
    -------
    scores : dict of str -> ndarray, shape (n_trials,)
        ``mel_r``, ``envelope_r`` (chance 0), ``mm_acc`` (match–mismatch,
        chance 0.5; NaN for a trial without an imposter ≥ 1 s away), ``id_acc``
        (hit among the distinct test segments, chance ``1 / n_segments``) and,
        with features, ``feature_r``, ``feature_id_acc``, ``feature_mm_acc``
        and, with a reference, ``feature_r_beat`` (feature r beyond the
        reference: the partial correlation of
        :func:`~sk_eeg2music.metrics.feature_correlation_per_trial`, chance 0;
        the beat template itself scores 0) and, with recordings,
        ``feature_song_acc`` (whether the trial's *recording* was assigned its
        song by :func:`~sk_eeg2music.metrics.feature_song_identification_per_recording`;
        chance ``1 / n_songs``), given on the first row of each recording and
        NaN on its other rows. For :func:`~sk_eeg2music.stats.label_permutation_p`
        the guesses come as object arrays: ``feature_id_guess`` (each trial's
        best-matching segment, as :func:`segment_keys`) with
        ``feature_id_acc``, and ``feature_song_guess`` (the song guessed, on
        the rows of ``feature_song_acc``, None elsewhere).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.evaluation import score_trials
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((4, 16000)).astype(np.float32)  # 2-s segments at 8 kHz
    >>> s = score_trials(y, y, 8000, stimulus=np.array(["a"] * 4), segment=np.arange(4))
    >>> sorted(s), s["id_acc"].tolist(), s["mm_acc"].tolist()
    (['envelope_r', 'id_acc', 'mel_r', 'mm_acc'], [1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0])
    """
    out, guesses = {}, {}
    mm = dict(stimulus=stimulus, segment=segment)
    keys = segment_keys(stimulus, segment)
    with metrics.shared_spectrograms():
        out["mel_r"] = metrics.mel_correlation_per_trial(y_true, y_pred, audio_sfreq)
        out["envelope_r"] = metrics.envelope_correlation_per_trial(y_true, y_pred, audio_sfreq)
        out["mm_acc"] = metrics.match_mismatch_accuracy_per_trial(y_true, y_pred, audio_sfreq, **mm)
        if len(np.unique(keys)) >= 2:
            out["id_acc"] = metrics.identification_accuracy_per_trial(y_true, y_pred, audio_sfreq)
    if features is not None and features.shape[1] > 1:
        frame_rate = audio_sfreq * features.shape[2] / y_true.shape[1]
        # One target per distinct segment, shared by its trials: identification
        # de-duplicates by identical rows, and batched STFTs of identical audio
        # can differ in the last bits.
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        F_true = metrics.feature_target(
            y_true[first], audio_sfreq, frame_rate, n_mels=features.shape[1]
        )[inverse]
        out["feature_r"] = metrics.feature_correlation_per_trial(F_true, features)
        if reference is not None:
            out["feature_r_beat"] = metrics.feature_correlation_per_trial(
                F_true, features, reference=reference
            )
        out["feature_mm_acc"] = metrics.match_mismatch_accuracy_per_trial(
            F_true, features, frame_rate, **mm
        )
        if "id_acc" in out:
            out["feature_id_acc"], row = metrics.feature_identification_accuracy_per_trial(
                F_true, features, return_guess=True
            )
            guesses["feature_id_guess"] = keys[row]
        if recording is not None and len(np.unique(stimulus)) >= 2:
            _, first_row = np.unique(recording, return_index=True)
            # One value per recording (on its first row): means and paired tests
            # then count recordings, not the segments they were cut into.
            song = np.full(len(features), np.nan)
            guess = np.full(len(features), None, dtype=object)
            song[first_row], guess[first_row] = metrics.feature_song_identification_per_recording(
                F_true, features, stimulus, segment, recording, return_guess=True
            )
            out["feature_song_acc"] = song
            guesses["feature_song_guess"] = guess
    scores = {k: np.asarray(v, dtype=float) for k, v in out.items()}
    scores.update({k: np.asarray(v, dtype=object) for k, v in guesses.items()})
    return scores


def beat_reference(y, audio_sfreq, stimulus, segment, n_mels, n_frames, index=None):
    """The beat template of training trials at a model's feature rate: the no-EEG reference.

    The mean log-mel time course of the trials, aligned at the segment start
    (:func:`~sk_eeg2music.models.baseline.mean_log_mel`, what
    :class:`~sk_eeg2music.BeatTemplateBaseline` predicts), computed once per
    distinct (stimulus, segment) and weighted by its number of trials. Give
    the *training* trials only: the template then holds nothing of the test
    music but what every segment shares.

    Parameters
    ----------
    y : ndarray, shape (n_trials, n_audio)
        Waveforms (only the rows of ``index`` are read).
    audio_sfreq : float
        Audio rate (Hz).
    stimulus, segment : ndarray, shape (n_trials,)
        Stimulus and segment of each trial (trials of one segment share its audio).
    n_mels : int
        Bands of the model's features.
    n_frames : int
        Frames of the model's features; ``n_audio / n_frames`` must be an integer.
    index : ndarray of int, shape (n_train,) | None, default=None
        The training trials; ``None``: every trial. Only one row per distinct
        segment is read, so ``y`` is never copied whole.

    Returns
    -------
    reference : ndarray, shape (n_mels, n_frames), float64

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.evaluation import beat_reference
    >>> y = np.random.default_rng(0).standard_normal((4, 16000)).astype(np.float32)
    >>> beat_reference(y, 8000, np.array(["a"] * 4), np.arange(4), n_mels=16, n_frames=128).shape
    (16, 128)
    """
    hop = check_rate_ratio(audio_sfreq, audio_sfreq * n_frames / np.shape(y)[1])
    index = np.arange(len(y)) if index is None else np.asarray(index)
    _, first, counts = np.unique(
        segment_keys(np.asarray(stimulus)[index], np.asarray(segment)[index]),
        return_index=True,
        return_counts=True,
    )
    rows = np.asarray(y)[index[first]]
    return mean_log_mel(rows, audio_sfreq, hop, n_mels, sample_weight=counts)


def recording_labels(data):
    """One label per recording: the segments of one presentation of one song.

    Parameters
    ----------
    data : EEGMusicData

    Returns
    -------
    labels : ndarray of str, shape (n_trials,)
        ``subject|stimulus|condition|repetition``; without ``data.repetition``
        (a design that does not say) the presentations of one (subject,
        stimulus, condition) share a label.
    """
    parts = [data.subject, data.stimulus, data.condition]
    if data.repetition is not None:
        parts.append(data.repetition)
    return _join_labels(parts, "|")


def _join_labels(parts, sep):
    """Element-wise ``sep.join`` of equal-length label arrays, as strings."""
    labels = np.asarray(parts[0], dtype=str)
    for p in parts[1:]:
        labels = np.char.add(np.char.add(labels, sep), np.asarray(p, dtype=str))
    return labels


def segment_keys(stimulus, segment):
    """One label per distinct (stimulus, segment): the music a trial heard.

    Parameters
    ----------
    stimulus, segment : array-like, shape (n_trials,)

    Returns
    -------
    keys : ndarray of str, shape (n_trials,)
    """
    return _join_labels([stimulus, segment], "#")


def _fold_scores(y_true, y_pred, audio_sfreq, stimulus, segment, trial_scores):
    """Fold-level scores of one condition: means of the per-trial ones, chances, p, realism."""
    with metrics.shared_spectrograms():
        out = score_reconstructions(y_true, y_pred, audio_sfreq, stimulus)
        out["fmd"] = metrics.frechet_mel_distance(y_true, y_pred, audio_sfreq)
        try:
            out["fmd_floor"] = metrics.frechet_mel_floor(y_true, audio_sfreq, random_state=0)
        except ValueError:  # fewer than 4 distinct test segments
            out["fmd_floor"] = np.nan
    for name, values in trial_scores.items():
        if name not in GUESSES:
            out[name] = float(np.nanmean(values)) if np.isfinite(values).any() else np.nan
    for name in ("mm_acc", "feature_mm_acc"):
        if name in trial_scores:
            valid = np.isfinite(trial_scores[name])
            out[name.replace("_acc", "_p")] = metrics.binomial_p_value(
                out[name], int(valid.sum()), 0.5
            )
    if "feature_song_acc" in trial_scores:  # one finite value per recording
        first = np.isfinite(trial_scores["feature_song_acc"])  # the rows holding the guesses
        out["n_recordings"] = int(first.sum())
        out["feature_song_p"] = metrics.binomial_p_value(
            out["feature_song_acc"], out["n_recordings"], out["song_chance"]
        )
        if "feature_song_guess" in trial_scores:  # counts songs, not recordings
            guess = trial_scores["feature_song_guess"]
            out["feature_song_label_p"] = label_permutation_p(stimulus[first], guess[first])
    if "feature_id_acc" in out and "id_chance" in out:
        out["feature_id_p"] = metrics.binomial_p_value(
            out["feature_id_acc"], len(y_true), out["id_chance"]
        )
    if "feature_id_guess" in trial_scores:  # counts segments, not trials
        out["feature_id_label_p"] = label_permutation_p(
            segment_keys(stimulus, segment), trial_scores["feature_id_guess"]
        )
    return out


#: Per-trial guesses kept beside the scores (of ``feature_id_acc`` and
#: ``feature_song_acc``); tested by relabelling the classes (``label_permutation_p``).
GUESSES = ("feature_id_guess", "feature_song_guess")


#: Per-trial scores in the order the tables show them (chance: 0 for r, 0.5
#: for match–mismatch, ``id_chance`` for identification, ``song_chance`` for
#: ``feature_song_acc``, which has one value per recording).
TRIAL_METRICS = (
    "feature_r",
    "feature_r_beat",
    "feature_id_acc",
    "feature_mm_acc",
    "feature_song_acc",
    "mel_r",
    "mm_acc",
    "id_acc",
    "envelope_r",
)
