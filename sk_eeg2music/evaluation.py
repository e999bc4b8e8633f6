"""Cross-validated evaluation of reconstruction pipelines, with chance levels.

:func:`cross_validate_reconstruction` runs one pipeline under one splitter and
scores every test fold separately per condition (listening / imagery), with
the chance level of each identification score; :func:`summarize` turns the
folds into mean ± 95 % confidence intervals. The same harness runs the GAN, the
linear baselines and the shuffled-pairs control, so their numbers compare.

Subject ids reach the pipeline as ``groups`` through scikit-learn's metadata
routing, both in ``fit`` (alignment and penalties per training subject) and in
``predict`` (each test subject aligned with its own EEG only).
"""

import contextlib
import inspect
import os
import sys
import time

import numpy as np
import pandas as pd
import scipy.stats
import sklearn
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import clone
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from . import metrics

#: Metrics reported for every fold (name → function of (y_true, y_pred, sfreq)).
FOLD_METRICS = {
    "mel_r": metrics.mel_correlation,
    "envelope_r": metrics.envelope_correlation,
    "mcd": metrics.mel_cepstral_distortion,
}


def song_identification_accuracy(y_true, y_pred, stimulus, sfreq):
    """Which song: the stimulus of the best-matching true segment, scored against the truth.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
        True and reconstructed waveforms.
    stimulus : ndarray of str, shape (n_trials,)
        Stimulus of each true trial.
    sfreq : float
        Audio rate (Hz).

    Returns
    -------
    accuracy : float
        Fraction of reconstructions whose most similar true segment
        (:func:`~sk_eeg2music.metrics.similarity_matrix`) belongs to their own
        stimulus. Chance is ``1 / n_stimuli`` when stimuli contribute equally.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.evaluation import song_identification_accuracy
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((4, 8000)).astype(np.float32)
    >>> stimulus = np.array(["song-a", "song-a", "song-b", "song-b"])
    >>> song_identification_accuracy(y, y[[1, 0, 3, 2]], stimulus, sfreq=8000)
    1.0
    """
    stimulus = np.asarray(stimulus)
    sim = metrics.similarity_matrix(y_true, y_pred, sfreq)
    return float(np.mean(stimulus[np.argmax(sim, axis=1)] == stimulus))


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
    n_distinct = len(np.unique(y_true, axis=0))
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
    with sklearn.config_context(enable_metadata_routing=True):
        fit_kw = {"groups": groups_train} if _requests(est, "fit") else {}
        est.fit(X_train, y_train, **fit_kw)
        pred_kw = {"groups": groups_test} if _requests(est, "predict") else {}
        y_pred = est.predict(X_test, **pred_kw)
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


def _scored_fold(estimator, arrays, audio_sfreq, train, test, n_threads=None):
    """Fit, reconstruct and score one fold (in a worker when folds run in parallel).

    Scoring in the worker keeps the parent free: with two workers, the
    parent's mel spectrograms and identification matrices would otherwise run
    after both folds finished, serially.

    Parameters
    ----------
    estimator : estimator or Pipeline
    arrays : tuple
        ``X`` (n_trials, n_channels, n_times), ``y`` (n_trials, n_audio) and the
        per-trial ``groups``, ``condition`` and ``stimulus``, each (n_trials,).
    audio_sfreq : float
    train, test : ndarray of int
    n_threads : int | None
        Caps BLAS and torch threads (parallel folds).

    Returns
    -------
    y_pred : ndarray, shape (n_test, n_audio), float32
    elapsed : float
        Wall seconds of fitting and predicting (scoring excluded).
    scores : list of (condition, dict)
        :func:`score_reconstructions` of the fold's trials of each condition.
    """
    X, y, groups, condition, stimulus = arrays
    t0 = time.perf_counter()
    with _limit_threads(n_threads):
        _, y_pred = fit_predict(estimator, X[train], y[train], groups[train], X[test], groups[test])
        elapsed = time.perf_counter() - t0
        condition, stimulus, y_test = condition[test], stimulus[test], y[test]
        scores = [
            (
                str(cond),
                score_reconstructions(
                    y_test[condition == cond],
                    y_pred[condition == cond],
                    audio_sfreq,
                    stimulus[condition == cond],
                ),
            )
            for cond in np.unique(condition)
        ]
    return y_pred, elapsed, scores


def _requests(estimator, method):
    """Whether any step of ``estimator`` consumes ``groups`` in ``method``."""
    try:
        routing = estimator.get_metadata_routing()
    except AttributeError:
        return False
    try:
        return "groups" in routing.consumes(method=method, params={"groups"})
    except (AttributeError, TypeError):  # pragma: no cover - old scikit-learn
        return False


def cross_validate_reconstruction(
    estimator,
    data,
    cv,
    *,
    model="model",
    split="cv",
    max_folds=None,
    return_predictions=False,
    progress=True,
    n_jobs=None,
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
        Evaluate only the first ``max_folds`` folds (quick runs); ``None``: all.
    return_predictions : bool, default=False
        Also return the reconstructions of every test trial.
    progress : bool, default=True
        Progress bar over folds on stderr.
    n_jobs : int | None, default=None
        Folds fitted in parallel (joblib; ``None`` is 1, ``-1`` all cores).
        Each parallel fold runs with ``n_cores // n_workers`` BLAS and torch
        threads, whatever ``OMP_NUM_THREADS`` says. Every fold fits its own clone with the same
        seeds as a serial run; the GAN's results can still differ from it in
        the last bits, since torch's arithmetic depends on its thread count.

    Returns
    -------
    scores : pandas.DataFrame
        One row per (fold, condition) with the columns of
        :func:`score_reconstructions` plus ``model``, ``split``, ``fold``,
        ``condition``, ``test_subjects``, ``fit_seconds``.
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
    y = data.require_y()
    folds = _split(cv, data)[: max_folds or None]
    rows = []
    predictions = np.full(y.shape, np.nan, dtype=np.float32) if return_predictions else None
    threads = _threads_per_worker(n_jobs, len(folds))
    arrays = (data.X, y, data.groups, data.condition, data.stimulus)
    jobs = (
        delayed(_scored_fold)(estimator, arrays, data.audio_sfreq, tr, te, threads)
        for tr, te in folds
    )
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    bar = tqdm(
        results, total=len(folds), desc=f"{model} / {split}", disable=not progress, leave=False
    )
    for i_fold, ((_, test), (y_pred, elapsed, fold_scores)) in enumerate(zip(folds, bar)):
        if predictions is not None:
            predictions[test] = y_pred
        for cond, row in fold_scores:
            row.update(
                model=model,
                split=split,
                fold=i_fold,
                condition=cond,
                test_subjects=",".join(map(str, np.unique(data.groups[test]))),
                fit_seconds=elapsed,
            )
            rows.append(row)
    scores = pd.DataFrame(rows)
    return (scores, predictions) if return_predictions else scores


def summarize(scores, confidence=0.95):
    """Mean and confidence interval over folds, per model, split and condition.

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
        metric, ``<metric>`` (mean) and ``<metric>_ci`` (half-width; NaN with one
        fold).

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_eeg2music.evaluation import summarize
    >>> scores = pd.DataFrame({
    ...     "model": "linear", "split": "cross-subject", "condition": "listening",
    ...     "fold": [0, 1, 2], "mel_r": [0.1, 0.2, 0.3],
    ... })
    >>> summary = summarize(scores)
    >>> summary[["model", "n_folds", "mel_r"]]
        model  n_folds  mel_r
    0  linear        3    0.2
    >>> round(float(summary.loc[0, "mel_r_ci"]), 3)  # t(0.975, 2) * 0.1 / sqrt(3)
    0.248
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
            if len(vals) > 1:
                t = scipy.stats.t.ppf(0.5 + confidence / 2, len(vals) - 1)
                row[f"{c}_ci"] = t * vals.std(ddof=1) / np.sqrt(len(vals))
            else:
                row[f"{c}_ci"] = np.nan
        out.append(row)
    return pd.DataFrame(out)
