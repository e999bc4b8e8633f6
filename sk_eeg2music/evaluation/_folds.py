"""Fitting, predicting and scoring every fold of a grouped splitter.

Subject ids reach the pipeline as ``groups`` through scikit-learn's metadata
routing; ``stimulus``, ``segment`` and ``condition`` reach the steps that
request them. Each fold is fitted, predicted and scored in one worker
(:func:`_scored_fold`), so that folds run in parallel with capped threads.
"""

import contextlib
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

from .._routing import call_routed, consumed
from ..models._features import predict_features
from ._scoring import _fold_scores, beat_reference, recording_labels, score_trials


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
            fold = _fold_scores(
                y_test[sel], y_pred[sel], data.audio_sfreq, stimulus[sel], segment[sel], trial
            )
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
