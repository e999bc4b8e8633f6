"""The one evaluation entry point: every model of the registry under one splitter."""

import dataclasses

import pandas as pd

from ._folds import _cross_validate, _select_folds, _split
from ._summary import compare_models, label_tests, summarize, summarize_trials

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
            ``fit_seconds``, ``encoder_epochs`` where present, ``n_folds``),
            the columns of :func:`label_tests` where guesses were kept
            (``feature_id_label_p``, ``feature_song_label_p``: identification
            tested by relabelling the segments or songs, not the trials)
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
        labels = label_tests(self.trials)
        if len(labels):
            out = out.merge(labels, on=["model", "split", "condition"], how="left")
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
