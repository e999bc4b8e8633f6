"""Cross-validated evaluation of reconstruction models, with chance levels, nulls and tests.

:func:`evaluate_models` is the one entry point that the demo, the command line
and the benchmarks use: it runs every model of the registry
(:func:`~sk_eeg2music.pipelines.make_models`) under one splitter and scores
every test trial at two levels:

* **features** (``feature_*``): the decoded log-mel at the EEG frame rate,
  before any synthesis (:func:`~sk_eeg2music.pipelines.predict_features`),
  against the true one (:func:`~sk_eeg2music.metrics.feature_target`);
  ``feature_r_beat`` is the partial r beyond the beat template of the training
  fold (what a prediction decodes that the beat grid alone does not give);
* **waveforms**: spectral metrics with the trial edges trimmed, match–mismatch
  against other segments of the same stimulus, identification, and the
  Fréchet mel distance (realism) beside its floor.

Per-trial scores make paired tests possible (:func:`compare_models`:
Wilcoxon signed-rank against each baseline and null, Holm-corrected);
intervals resample subjects (:func:`summarize_trials`) or, over folds, need at
least five of them (:func:`summarize`).

Subject ids reach the pipeline as ``groups`` through scikit-learn's metadata
routing, both in ``fit`` (alignment and penalties per training subject) and in
``predict`` (each test subject aligned with its own EEG only); ``stimulus``,
``segment`` and ``condition`` reach the steps that request them (the
time-shifted null, a condition-aware GAN).
"""

import contextlib
import dataclasses
import inspect
import os
import sys
import time

import numpy as np
import pandas as pd
import sklearn
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from . import metrics
from ._routing import call_routed, consumed
from .metrics import song_identification_accuracy  # defined in metrics; importable here too
from .metrics._common import _unique_rows
from .metrics._scorers import HIGHER_IS_BETTER, LOWER_IS_BETTER
from .models._features import predict_features
from .models.baseline import mean_log_mel
from .stats import holm, paired_permutation, paired_wilcoxon, subject_bootstrap, t_interval
from .utils._validation import check_rate_ratio

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


def _split(cv, data):
    params = inspect.signature(cv.split).parameters
    kwargs = {"groups": data.groups}
    if "segment" in params:
        kwargs["segment"] = data.segment_id
    return list(cv.split(data.X, data.y, **kwargs))


def _select_folds(folds, max_folds=None, fold_indices=None):
    """``(index, (train, test))`` of the folds to run; indices are the splitter's.

    Parameters
    ----------
    folds : list of (ndarray, ndarray)
        Every fold of the splitter, in its order.
    max_folds : int | None
        Only the first folds.
    fold_indices : sequence of int | None
        Only these folds (a run sharded across processes or machines); the
        rows keep the splitter's index so that shards concatenate.

    Returns
    -------
    selected : list of (int, (ndarray, ndarray))
    """
    indices = list(range(len(folds)))[: max_folds or None]
    if fold_indices is not None:
        wanted = [int(i) for i in fold_indices]
        bad = sorted(set(i for i in wanted if i not in range(len(folds))))
        if bad or not wanted or len(set(wanted)) != len(wanted):
            raise ValueError(
                f"fold_indices must be distinct indices in [0, {len(folds) - 1}] "
                f"(the splitter has {len(folds)} folds); got {list(fold_indices)}."
            )
        wanted = set(wanted)
        indices = [i for i in indices if i in wanted]
    return [(i, folds[i]) for i in indices]


def fit_predict(estimator, X_train, y_train, groups_train, X_test, groups_test):
    """Fit a clone on the training trials and reconstruct the test trials.

    ``groups`` are routed to the steps that request them (metadata routing is
    enabled for the call); a pipeline requesting nothing gets no groups.

    Parameters
    ----------
    estimator : estimator or Pipeline
        Left untouched: a clone is fitted.
    X_train : ndarray, shape (n_train, n_channels, n_times)
        Training EEG.
    y_train : ndarray, shape (n_train, n_audio)
        Training waveforms.
    groups_train : ndarray, shape (n_train,)
        Subject of each training trial.
    X_test : ndarray, shape (n_test, n_channels, n_times)
        EEG to reconstruct.
    groups_test : ndarray, shape (n_test,)
        Subject of each test trial.

    Returns
    -------
    fitted : estimator
        The fitted clone.
    y_pred : ndarray, shape (n_test, n_audio), float32
        Reconstructions of the test trials.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music import MeanSpectrumBaseline
    >>> from sk_eeg2music.evaluation import fit_predict
    >>> rng = np.random.default_rng(0)
    >>> X = 1e-5 * rng.standard_normal((6, 4, 64)).astype(np.float32)  # EEG at 64 Hz
    >>> y = rng.standard_normal((6, 8000)).astype(np.float32)  # audio at 8 kHz
    >>> groups = np.array([0, 0, 0, 1, 1, 1])
    >>> fitted, y_pred = fit_predict(
    ...     MeanSpectrumBaseline(sfreq=64.0), X[:3], y[:3], groups[:3], X[3:], groups[3:]
    ... )
    >>> y_pred.shape, y_pred.dtype
    ((3, 8000), dtype('float32'))
    """
    est = clone(estimator)
    call_routed(est, "fit", X_train, y_train, groups=groups_train)
    y_pred = call_routed(est, "predict", X_test, groups=groups_test)
    return est, np.asarray(y_pred, dtype=np.float32)


def _threads_per_worker(n_jobs, n_folds):
    """BLAS/torch threads for each parallel fold; None when folds run in this process."""
    n_workers = min(effective_n_jobs(n_jobs), n_folds)
    if n_workers <= 1:
        return None
    return max(1, (os.cpu_count() or 1) // n_workers)


@contextlib.contextmanager
def _limit_threads(n_threads):
    """Cap BLAS/OpenMP and torch threads inside the block (no-op for None).

    joblib caps a worker's threads only where the user has not set
    ``OMP_NUM_THREADS`` & co.; with ``OMP_NUM_THREADS=2`` on two cores, two
    workers would run four torch threads and slow each other down manyfold.
    """
    if n_threads is None:
        yield
        return
    torch = sys.modules.get("torch")  # imported already if the estimator uses it
    before = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=n_threads):
        if torch is not None:
            torch.set_num_threads(n_threads)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(before)


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
        NaN on its other rows.

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
    out = {}
    mm = dict(stimulus=stimulus, segment=segment)
    with metrics.shared_spectrograms():
        out["mel_r"] = metrics.mel_correlation_per_trial(y_true, y_pred, audio_sfreq)
        out["envelope_r"] = metrics.envelope_correlation_per_trial(y_true, y_pred, audio_sfreq)
        out["mm_acc"] = metrics.match_mismatch_accuracy_per_trial(y_true, y_pred, audio_sfreq, **mm)
        if len(np.unique(segment_keys(stimulus, segment))) >= 2:
            out["id_acc"] = metrics.identification_accuracy_per_trial(y_true, y_pred, audio_sfreq)
    if features is not None and features.shape[1] > 1:
        frame_rate = audio_sfreq * features.shape[2] / y_true.shape[1]
        # One target per distinct segment, shared by its trials: identification
        # de-duplicates by identical rows, and batched STFTs of identical audio
        # can differ in the last bits.
        _, first, inverse = np.unique(
            segment_keys(stimulus, segment), return_index=True, return_inverse=True
        )
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
            out["feature_id_acc"] = metrics.feature_identification_accuracy_per_trial(
                F_true, features
            )
        if recording is not None and len(np.unique(stimulus)) >= 2:
            _, first_row = np.unique(recording, return_index=True)
            # One value per recording (on its first row): means and paired tests
            # then count recordings, not the segments they were cut into.
            song = np.full(len(features), np.nan)
            song[first_row] = metrics.feature_song_identification_per_recording(
                F_true, features, stimulus, segment, recording
            )
            out["feature_song_acc"] = song
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


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


def _fold_scores(y_true, y_pred, audio_sfreq, stimulus, trial_scores):
    """Fold-level scores of one condition: means of the per-trial ones, chances, p, realism."""
    with metrics.shared_spectrograms():
        out = score_reconstructions(y_true, y_pred, audio_sfreq, stimulus)
        out["fmd"] = metrics.frechet_mel_distance(y_true, y_pred, audio_sfreq)
        try:
            out["fmd_floor"] = metrics.frechet_mel_floor(y_true, audio_sfreq, random_state=0)
        except ValueError:  # fewer than 4 distinct test segments
            out["fmd_floor"] = np.nan
    for name, values in trial_scores.items():
        out[name] = float(np.nanmean(values)) if np.isfinite(values).any() else np.nan
    for name in ("mm_acc", "feature_mm_acc"):
        if name in trial_scores:
            valid = np.isfinite(trial_scores[name])
            out[name.replace("_acc", "_p")] = metrics.binomial_p_value(
                out[name], int(valid.sum()), 0.5
            )
    if "feature_song_acc" in trial_scores:  # one finite value per recording
        out["n_recordings"] = int(np.isfinite(trial_scores["feature_song_acc"]).sum())
        out["feature_song_p"] = metrics.binomial_p_value(
            out["feature_song_acc"], out["n_recordings"], out["song_chance"]
        )
    if "feature_id_acc" in out and "id_chance" in out:
        out["feature_id_p"] = metrics.binomial_p_value(
            out["feature_id_acc"], len(y_true), out["id_chance"]
        )
    return out


def _fit_predict_routed(estimator, X, y, meta, train, test, features=True):
    """Fit a clone on ``train``, reconstruct ``test``; metadata go where requested."""
    est = clone(estimator)
    with sklearn.config_context(enable_metadata_routing=True):
        fit_meta = {k: v[train] for k, v in meta.items()}
        est.fit(X[train], y[train], **consumed(est, "fit", fit_meta))
        test_meta = {k: v[test] for k, v in meta.items()}
        y_pred = np.asarray(est.predict(X[test], **consumed(est, "predict", test_meta)), np.float32)
        feats = None
        if features:
            with contextlib.suppress(TypeError):  # a model without decoded features
                feats = np.asarray(predict_features(est, X[test], **test_meta), dtype=np.float32)
    return est, y_pred, feats


def _training_facts(estimator):
    """How a fitted model trained, as fold-table scalars (empty for models without stages).

    Unwraps pipelines (their final step) and controls (their ``estimator_``).

    Returns
    -------
    facts : dict
        ``encoder_epochs`` (epochs the early-stopped encoder ran) and
        ``encoder_best_epoch`` (the epoch it was restored to), where the model
        has an encoder stage.
    """
    while True:
        if isinstance(estimator, Pipeline):
            estimator = estimator[-1]
        elif hasattr(estimator, "estimator_"):
            estimator = estimator.estimator_
        else:
            break
    history = getattr(estimator, "encoder_history_", None)
    if not history:
        return {}
    # The last row's epoch: a first row ``epoch=0`` scores the starting weights.
    return dict(
        encoder_epochs=int(history[-1]["epoch"]),
        encoder_best_epoch=int(estimator.encoder_best_epoch_),
    )


def _scored_fold(estimator, data, train, test, n_threads=None, features=True):
    """Fit, reconstruct and score one fold (in a worker when folds run in parallel).

    Scoring in the worker keeps the parent free: with two workers, the
    parent's spectrograms would otherwise run after both folds finished.

    Parameters
    ----------
    estimator : estimator or Pipeline
    data : EEGMusicData
    train, test : ndarray of int
    n_threads : int | None
        Caps BLAS and torch threads (parallel folds).
    features : bool
        Also score the decoded features.

    Returns
    -------
    y_pred : ndarray, shape (n_test, n_audio), float32
    elapsed : float
        Wall seconds of fitting and predicting (scoring excluded).
    scores : list of (condition, dict, dict)
        Per condition: the fold-level scores (with :func:`_training_facts`)
        and the per-trial scores (arrays over the condition's test trials, in
        ``test`` order).
    """
    y = data.require_y()
    meta = dict(
        groups=data.groups, stimulus=data.stimulus, segment=data.segment, condition=data.condition
    )
    t0 = time.perf_counter()
    with _limit_threads(n_threads):
        est, y_pred, feats = _fit_predict_routed(estimator, data.X, y, meta, train, test, features)
        elapsed = time.perf_counter() - t0
        facts = _training_facts(est)
        del est  # freed before scoring: its training-audio bank is not needed there
        reference = None
        if feats is not None and feats.shape[1] > 1:  # from the training fold's audio only
            reference = beat_reference(
                y, data.audio_sfreq, data.stimulus, data.segment, *feats.shape[1:], index=train
            )
        condition, stimulus, segment = data.condition[test], data.stimulus[test], data.segment[test]
        recording = recording_labels(data)[test]
        y_test = y[test]
        scores = []
        for cond in np.unique(condition):
            sel = condition == cond
            trial = score_trials(
                y_test[sel],
                y_pred[sel],
                data.audio_sfreq,
                stimulus=stimulus[sel],
                segment=segment[sel],
                features=None if feats is None else feats[sel],
                reference=reference,
                recording=recording[sel],
            )
            fold = _fold_scores(y_test[sel], y_pred[sel], data.audio_sfreq, stimulus[sel], trial)
            scores.append((str(cond), {**fold, **facts}, trial))
    return y_pred, elapsed, scores


def _cross_validate(
    estimator, data, folds, *, model, split, n_jobs, progress, features, keep_predictions=True
):
    """Every fold of one model: fold rows, trial rows and the test predictions (or None)."""
    y = data.require_y()
    rows, trial_rows = [], []
    # As large as the audio (1.7 GB at MOS's real scale): only when asked for.
    predictions = np.full(y.shape, np.nan, dtype=np.float32) if keep_predictions else None
    threads = _threads_per_worker(n_jobs, len(folds))
    jobs = (
        delayed(_scored_fold)(estimator, data, tr, te, threads, features) for _, (tr, te) in folds
    )
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    bar = tqdm(
        results, total=len(folds), desc=f"{model} / {split}", disable=not progress, leave=False
    )
    # Closing the generator on any exit (Ctrl-C included) makes joblib abort at
    # once and terminate its worker processes, instead of when it is collected.
    with contextlib.closing(results):
        for (i_fold, (_, test)), (y_pred, elapsed, fold_scores) in zip(folds, bar):
            if predictions is not None:
                predictions[test] = y_pred
            labels = dict(model=model, split=split, fold=i_fold)
            for cond, row, trial in fold_scores:
                idx = test[data.condition[test] == cond]
                row.update(
                    labels,
                    condition=cond,
                    test_subjects=",".join(map(str, np.unique(data.groups[idx]))),
                    fit_seconds=elapsed,
                )
                rows.append(row)
                trial_rows.append(
                    pd.DataFrame(
                        dict(
                            labels,
                            condition=cond,
                            trial=idx,
                            subject=data.groups[idx],
                            stimulus=data.stimulus[idx],
                            segment=data.segment[idx],
                            **trial,
                        )
                    )
                )
    trials = pd.concat(trial_rows, ignore_index=True) if trial_rows else pd.DataFrame()
    return pd.DataFrame(rows), trials, predictions


def cross_validate_reconstruction(
    estimator,
    data,
    cv,
    *,
    model="model",
    split="cv",
    max_folds=None,
    return_predictions=False,
    return_trials=False,
    progress=True,
    n_jobs=None,
    features=True,
):
    """Fit and score a pipeline on every fold of a grouped splitter.

    Parameters
    ----------
    estimator : estimator or Pipeline
        Predicts waveforms ``(n_trials, n_audio)`` from EEG.
    data : EEGMusicData
        With audio (``data.y``).
    cv : cross-validation splitter
        E.g. ``LeaveOneGroupOut()``, ``GroupKFold(5)``,
        :class:`~sk_eeg2music.SubjectTimeSplit` (receives ``segment``).
        Splits get ``groups=data.groups``.
    model : str, default="model"
        Label of the pipeline, written into the result rows.
    split : str, default="cv"
        Label of the splitter, written into the result rows.
    max_folds : int | None, default=None
        Evaluate only the first ``max_folds`` folds (a smoke test; a result to
        report uses every fold); ``None``: all.
    return_predictions : bool, default=False
        Also return the reconstructions of every test trial.
    return_trials : bool, default=False
        Also return the per-trial scores (see :func:`score_trials`), for
        paired tests and subject-level intervals.
    progress : bool, default=True
        Progress bar over folds on stderr.
    n_jobs : int | None, default=None
        Folds fitted in parallel (joblib; ``None`` is 1, ``-1`` all cores).
        Each parallel fold runs with ``n_cores // n_workers`` BLAS and torch
        threads, whatever ``OMP_NUM_THREADS`` says. Every fold fits its own clone with the same
        seeds as a serial run; the GAN's results can still differ from it in
        the last bits, since torch's arithmetic depends on its thread count.
    features : bool, default=True
        Score the decoded features too, for models that expose them
        (:func:`~sk_eeg2music.pipelines.predict_features`).

    Returns
    -------
    scores : pandas.DataFrame
        One row per (fold, condition) with the columns of
        :func:`score_reconstructions`, the means of :func:`score_trials`,
        ``mm_p`` / ``feature_mm_p`` / ``feature_id_p`` / ``feature_song_p``
        (one-sided binomial p-values), ``feature_song_acc`` and
        ``n_recordings`` (song identification of whole recordings, one vote
        each), ``fmd`` and ``fmd_floor`` (Fréchet mel distance of the
        reconstructions and of two halves of the originals), plus ``model``,
        ``split``, ``fold``, ``condition``, ``test_subjects``, ``fit_seconds``
        and, for models with an early-stopped encoder (the GANs),
        ``encoder_epochs`` and ``encoder_best_epoch``.
    trials : pandas.DataFrame
        Only with ``return_trials=True``: one row per test trial with its
        ``trial`` index, ``subject``, ``stimulus``, ``segment``, ``condition``,
        ``fold`` and scores.
    predictions : ndarray, shape (n_trials, n_audio)
        Only with ``return_predictions=True``: the reconstruction of each
        trial from the fold that held it out (NaN for trials never tested).

    Examples
    --------
    >>> from sklearn.model_selection import LeaveOneGroupOut
    >>> from sk_eeg2music import MeanSpectrumBaseline, make_simulated
    >>> from sk_eeg2music.evaluation import cross_validate_reconstruction
    >>> data = make_simulated("mos", n_subjects=2, segment_seconds=2.0, audio_sfreq=8000,
    ...                       stimulus_seconds=4.0, conditions=["listening"])
    >>> scores = cross_validate_reconstruction(
    ...     MeanSpectrumBaseline(sfreq=data.sfreq), data, LeaveOneGroupOut(),
    ...     model="baseline", split="cross-subject", progress=False,
    ... )
    >>> scores[["fold", "condition", "test_subjects", "n_trials", "id_chance"]]
       fold  condition test_subjects  n_trials  id_chance
    0     0  listening        sub-01         8      0.125
    1     1  listening        sub-02         8      0.125
    """
    folds = _select_folds(_split(cv, data), max_folds)
    scores, trials, predictions = _cross_validate(
        estimator,
        data,
        folds,
        model=model,
        split=split,
        n_jobs=n_jobs,
        progress=progress,
        features=features,
        keep_predictions=return_predictions,
    )
    out = (
        (scores,)
        + ((trials,) if return_trials else ())
        + ((predictions,) if return_predictions else ())
    )
    return out[0] if len(out) == 1 else out


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


@dataclasses.dataclass
class Evaluation:
    """Results of :func:`evaluate_models`: every fold and trial of every model.

    Attributes
    ----------
    folds : pandas.DataFrame
        One row per (model, fold, condition) (see
        :func:`cross_validate_reconstruction`).
    trials : pandas.DataFrame
        One row per (model, test trial) with its per-trial scores.
    predictions : dict of str -> ndarray, shape (n_trials, n_audio) | None
        Each model's reconstruction of every trial from the fold that held it
        out (NaN for trials never tested), when asked for.
    split : str
        Label of the splitter.
    """

    folds: pd.DataFrame
    trials: pd.DataFrame
    predictions: dict | None
    split: str

    def summary(self, references=None, confidence=0.95, random_state=0):
        """One row per (model, condition): means, subject-bootstrap intervals, p-values.

        Parameters
        ----------
        references : sequence of str | None, default=None
            Models every other model is tested against (paired Wilcoxon on
            per-trial scores, Holm-corrected per model, condition and
            metric); ``None``: the baselines and nulls present (see
            :data:`REFERENCE_MODELS`).
        confidence : float, default=0.95
        random_state : int | None, default=0
            Seeds the bootstrap.

        Returns
        -------
        summary : pandas.DataFrame
            :func:`summarize_trials` joined with the fold-level columns of
            :func:`summarize` (chance levels, ``fmd``, ``fmd_floor``,
            ``fit_seconds``, ``encoder_epochs`` where present, ``n_folds``)
            and, per reference ``R`` and headline metric ``M``, ``p_M_vs_R`` (Holm-adjusted).
        """
        per_trial = summarize_trials(self.trials, confidence, random_state=random_state)
        per_fold = summarize(self.folds, confidence)
        keep = ["model", "split", "condition", "n_folds"] + [
            c
            for c in (
                "id_chance",
                "song_acc",
                "song_chance",
                "n_recordings",
                "fmd",
                "fmd_floor",
                "fit_seconds",
                "encoder_epochs",
            )
            if c in per_fold.columns
        ]
        out = per_trial.merge(per_fold[keep], on=["model", "split", "condition"], how="left")
        refs = [r for r in (references or REFERENCE_MODELS) if r in set(self.trials.model)]
        if refs:
            comp = compare_models(self.trials, refs)
            for (ref, metric), grp in comp.groupby(["reference", "metric"], sort=False):
                col = f"p_{metric}_vs_{ref}"
                out = out.merge(
                    grp[["model", "condition", "p_holm"]].rename(columns={"p_holm": col}),
                    on=["model", "condition"],
                    how="left",
                )
        return out

    def comparisons(self, references=None):
        """Paired tests of every model against ``references`` (see :func:`compare_models`)."""
        refs = [r for r in (references or REFERENCE_MODELS) if r in set(self.trials.model)]
        return compare_models(self.trials, refs)


#: Models that every other model is tested against in summaries: the strongest
#: linear model, the EEG-free baselines and the nulls (registry names).
REFERENCE_MODELS = (
    "reduced-rank",
    "reduced-rank-by-condition",
    "linear-mel",
    "beat-template",
    "time-shifted-gan",
    "shuffled-gan",
)

#: Metrics compared in paired tests (headline scores at both levels).
COMPARED_METRICS = (
    "feature_r",
    "feature_r_beat",
    "feature_id_acc",
    "feature_mm_acc",
    "feature_song_acc",
    "mel_r",
    "mm_acc",
)
#: Hit rates (0, 1 or a tie credit per trial or recording): compared by a
#: sign-flip permutation test of the mean, not by ranks (see :mod:`sk_eeg2music.stats`).
RATE_METRICS = ("feature_id_acc", "feature_mm_acc", "feature_song_acc", "id_acc", "mm_acc")


def evaluate_models(
    models,
    data,
    cv,
    *,
    split="cv",
    max_folds=None,
    fold_indices=None,
    n_jobs=None,
    progress=True,
    return_predictions=False,
    log=None,
):
    """Run every model under one splitter and score every trial: the one evaluation entry point.

    Parameters
    ----------
    models : dict of str -> estimator
        Name to unfitted model (e.g. :func:`~sk_eeg2music.pipelines.make_models`).
    data : EEGMusicData
        With audio.
    cv : cross-validation splitter
        Grouped by subject (``LeaveOneGroupOut()``, ``GroupKFold(5)``,
        :class:`~sk_eeg2music.SubjectTimeSplit`); every model gets the same folds.
    split : str, default="cv"
        Label of the splitter.
    max_folds : int | None, default=None
        Only the first folds (a smoke test, never a result); ``None``: all.
    fold_indices : sequence of int | None, default=None
        Only these folds of the splitter, for a run sharded across processes
        or machines: rows keep the splitter's fold index, so the shards'
        ``folds`` and ``trials`` tables concatenate into the full run's.
    n_jobs : int | None, default=None
        Folds fitted in parallel (see :func:`cross_validate_reconstruction`).
    progress : bool, default=True
        Progress bars on stderr.
    return_predictions : bool, default=False
        Keep every model's reconstructions.
    log : callable | None, default=None
        Called with one line per model (e.g. ``print``).

    Returns
    -------
    evaluation : Evaluation
        ``.folds``, ``.trials``, ``.predictions``; ``.summary()`` gives the
        table with intervals and paired p-values.

    Examples
    --------
    >>> from sklearn.model_selection import GroupKFold
    >>> from sk_eeg2music import make_simulated
    >>> from sk_eeg2music.evaluation import evaluate_models
    >>> from sk_eeg2music.pipelines import make_models
    >>> data = make_simulated("mos", n_subjects=4, segment_seconds=2.0, audio_sfreq=8000,
    ...                       stimulus_seconds=6.0, conditions=["listening"])
    >>> models = make_models(data.sfreq, ["beat-template", "mean-spectrum"], n_iter=4)
    >>> ev = evaluate_models(models, data, GroupKFold(2), split="gkf2", progress=False)
    >>> summary = ev.summary()
    >>> summary[["model", "n_trials", "n_folds"]]
               model  n_trials  n_folds
    0  beat-template        48        2
    1  mean-spectrum        48        2
    >>> bool(abs(summary.loc[0, "mm_acc"] - 0.5) < 0.05)  # no EEG: chance
    True
    """
    folds = _select_folds(_split(cv, data), max_folds, fold_indices)
    fold_frames, trial_frames, predictions = [], [], {}
    for name, model in models.items():
        if log is not None:
            log(f"evaluating {name} ({split}, {len(folds)} folds) ...")
        f, t, p = _cross_validate(
            model,
            data,
            folds,
            model=name,
            split=split,
            n_jobs=n_jobs,
            progress=progress,
            features=True,
            keep_predictions=return_predictions,
        )
        fold_frames.append(f)
        trial_frames.append(t)
        if return_predictions:
            predictions[name] = p
    return Evaluation(
        folds=pd.concat(fold_frames, ignore_index=True),
        trials=pd.concat(trial_frames, ignore_index=True),
        predictions=predictions if return_predictions else None,
        split=split,
    )


def summarize(scores, confidence=0.95):
    """Mean and t interval over folds, per model, split and condition.

    The interval needs at least five folds (:data:`~sk_eeg2music.stats.MIN_T_FOLDS`):
    with two, ``t(0.975, 1) = 12.7`` spans most of any score's range. For
    fewer folds use :func:`summarize_trials` (a bootstrap over subjects).

    Parameters
    ----------
    scores : pandas.DataFrame
        Rows from :func:`cross_validate_reconstruction` (several models may be
        concatenated).
    confidence : float, default=0.95
        Two-sided level of the t interval over folds.

    Returns
    -------
    summary : pandas.DataFrame
        One row per (model, split, condition) with ``n_folds`` and, for each
        metric, ``<metric>`` (mean) and ``<metric>_ci`` (half-width; NaN with
        fewer than five folds).

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_eeg2music.evaluation import summarize
    >>> scores = pd.DataFrame({
    ...     "model": "linear", "split": "cross-subject", "condition": "listening",
    ...     "fold": [0, 1, 2, 3, 4], "mel_r": [0.1, 0.2, 0.3, 0.2, 0.2],
    ... })
    >>> summary = summarize(scores)
    >>> summary[["model", "n_folds", "mel_r"]]
        model  n_folds  mel_r
    0  linear        5    0.2
    >>> round(float(summary.loc[0, "mel_r_ci"]), 3)  # t(0.975, 4) * 0.071 / sqrt(5)
    0.088
    """
    keys = ["model", "split", "condition"]
    numeric = [
        c
        for c in scores.columns
        if c not in keys + ["fold", "test_subjects"] and pd.api.types.is_numeric_dtype(scores[c])
    ]
    out = []
    for key, grp in scores.groupby(keys, sort=False):
        row = dict(zip(keys, key), n_folds=len(grp))
        for c in numeric:
            vals = grp[c].dropna().to_numpy(float)
            row[c] = vals.mean() if len(vals) else np.nan
            row[f"{c}_ci"] = t_interval(vals, confidence)
        out.append(row)
    return pd.DataFrame(out)


def summarize_trials(trials, confidence=0.95, n_boot=2000, random_state=0):
    """Mean of each per-trial score with a bootstrap interval over subjects.

    Parameters
    ----------
    trials : pandas.DataFrame
        Per-trial rows (:attr:`Evaluation.trials`).
    confidence : float, default=0.95
    n_boot : int, default=2000
    random_state : int | None, default=0

    Returns
    -------
    summary : pandas.DataFrame
        One row per (model, split, condition) with ``n_trials``,
        ``n_subjects`` and, per metric of :data:`TRIAL_METRICS` present,
        ``<metric>`` (mean of the subjects' means), ``<metric>_lo`` and
        ``<metric>_hi`` (:func:`~sk_eeg2music.stats.subject_bootstrap`).
    """
    keys = ["model", "split", "condition"]
    present = [m for m in TRIAL_METRICS if m in trials.columns]
    out = []
    for key, grp in trials.groupby(keys, sort=False):
        row = dict(zip(keys, key), n_trials=len(grp), n_subjects=grp["subject"].nunique())
        for m in present:
            mean, lo, hi = subject_bootstrap(
                grp[m].to_numpy(float),
                grp["subject"].to_numpy(),
                n_boot=n_boot,
                confidence=confidence,
                random_state=random_state,
            )
            row.update({m: mean, f"{m}_lo": lo, f"{m}_hi": hi})
        out.append(row)
    return pd.DataFrame(out)


def compare_models(trials, references, metrics=COMPARED_METRICS, alternative="greater"):
    """Paired tests of every model against each reference model, on the same test trials.

    Parameters
    ----------
    trials : pandas.DataFrame
        Per-trial rows of several models under one split (:attr:`Evaluation.trials`).
    references : sequence of str
        Models to test against (baselines, nulls, the strongest linear model).
    metrics : sequence of str, default=COMPARED_METRICS
        Per-trial scores compared (those absent are skipped).
    alternative : {"greater", "two-sided", "less"}, default="greater"
        ``"greater"``: the model scores higher than the reference.

    Returns
    -------
    comparisons : pandas.DataFrame
        One row per (model, reference, condition, metric) with ``n_pairs``,
        ``mean_diff``, ``test`` and ``p`` (Wilcoxon signed-rank,
        :func:`~sk_eeg2music.stats.paired_wilcoxon`, for correlations; a
        sign-flip permutation test of the mean,
        :func:`~sk_eeg2music.stats.paired_permutation`, for the hit rates of
        :data:`RATE_METRICS`) and ``p_holm`` (Holm over the references of one
        model, condition and metric).
    """
    rows = []
    index = ["split", "condition", "trial"]
    wide = {
        m: trials.pivot_table(index=index, columns="model", values=m)
        for m in metrics
        if m in trials.columns
    }
    for metric, table in wide.items():
        for model in table.columns:
            for cond in table.index.get_level_values("condition").unique():
                sub = table.xs(cond, level="condition")
                family = []
                for ref in references:
                    if ref == model or ref not in sub.columns:
                        continue
                    a, b = sub[model].to_numpy(float), sub[ref].to_numpy(float)
                    ok = np.isfinite(a) & np.isfinite(b)
                    family.append(
                        dict(
                            model=model,
                            reference=ref,
                            condition=cond,
                            metric=metric,
                            n_pairs=int(ok.sum()),
                            mean_diff=float(np.mean(a[ok] - b[ok])) if ok.any() else np.nan,
                            test="permutation" if metric in RATE_METRICS else "wilcoxon",
                            p=(
                                paired_permutation(a, b, alternative=alternative)
                                if metric in RATE_METRICS
                                else paired_wilcoxon(a, b, alternative=alternative)
                            ),
                        )
                    )
                for row, p_adj in zip(family, holm([r["p"] for r in family])):
                    row["p_holm"] = p_adj
                rows.extend(family)
    columns = ["model", "reference", "condition", "metric", "n_pairs", "mean_diff", "test", "p"]
    columns.append("p_holm")
    return pd.DataFrame(rows, columns=columns)
