"""Intervals and paired tests over the per-fold and per-trial scores."""

import numpy as np
import pandas as pd

from ..stats import (
    holm,
    label_permutation_p,
    paired_permutation,
    paired_wilcoxon,
    subject_bootstrap,
    t_interval,
)
from ._scoring import TRIAL_METRICS, segment_keys

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


def label_tests(trials):
    """Identification tested by relabelling the classes, per model, split and condition.

    The trials of one segment (and the recordings of one song) share its
    evoked response, so a model names them all right or all wrong more often
    than independent guesses would: the binomial ``feature_id_p`` and
    ``feature_song_p`` and the subject bootstrap count trials or recordings
    and are anti-conservative with few classes.
    :func:`~sk_eeg2music.stats.label_permutation_p` counts classes: one
    relabelling of the segments (or songs) for every fold's guesses, valid
    under the null that each fold's model maps them arbitrarily.

    Parameters
    ----------
    trials : pandas.DataFrame
        Per-trial rows with ``stimulus``, ``segment``, ``fold`` and the guesses
        of :func:`score_trials` (``feature_id_guess``, ``feature_song_guess``).

    Returns
    -------
    tests : pandas.DataFrame
        One row per (model, split, condition) with, for segments,
        ``n_segments``, ``feature_id_label_folds`` (folds that kept guesses)
        and ``feature_id_label_p`` and, for songs, ``n_songs``,
        ``feature_song_label_folds`` and ``feature_song_label_p``; NaN where a
        model kept no guesses, empty where none did.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_eeg2music.evaluation import label_tests
    >>> songs = ["a", "b", "c", "d"] * 5  # 20 recordings, every guess right
    >>> trials = pd.DataFrame({"model": "gan", "split": "gkf5", "condition": "imagery",
    ...                        "fold": 0, "stimulus": songs, "segment": 0,
    ...                        "feature_song_guess": songs})
    >>> label_tests(trials)[["n_songs", "feature_song_label_p"]].round(3)
       n_songs  feature_song_label_p
    0        4                 0.042
    """
    keys = ["model", "split", "condition"]
    tests = {"feature_id": "n_segments", "feature_song": "n_songs"}
    columns = keys + [c for t, n in tests.items() for c in (n, f"{t}_label_folds", f"{t}_label_p")]
    present = [t for t in tests if f"{t}_guess" in trials.columns]
    rows = []
    for key, grp in trials.groupby(keys, sort=False):
        row = dict(zip(keys, key))
        for test in present:
            has = grp[grp[f"{test}_guess"].notna()]
            if has.empty:
                continue
            true = has["stimulus"].to_numpy(str)
            if test == "feature_id":
                true = segment_keys(true, has["segment"].to_numpy())
            row[tests[test]] = len(np.unique(true))
            row[f"{test}_label_folds"] = has["fold"].nunique()
            row[f"{test}_label_p"] = label_permutation_p(true, has[f"{test}_guess"].to_numpy(str))
        if len(row) > len(keys):
            rows.append(row)
    return pd.DataFrame(rows, columns=columns)
