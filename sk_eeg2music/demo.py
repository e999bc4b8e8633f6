"""The embedded demo: simulate, fit the GAN and its baselines, evaluate, report.

``python -m sk_eeg2music demo --out DIR`` calls :func:`run_demo`. Every model of
:data:`DEMO_MODELS` (built by the registry,
:func:`~sk_eeg2music.pipelines.make_models`) runs under the same subject-grouped
split in the one evaluation entry point
(:func:`~sk_eeg2music.evaluation.evaluate_models`): the GAN, the strongest
linear model, the lagged-ridge mel decoder, two EEG-free baselines (the beat
template and the mean spectrum) and the GAN's time-shifted null (its own music
at a wrong time). Every fold of the split is run.
"""

import os
import sys
import tempfile
import time

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

from ._io import check_output_dir
from .datasets import make_simulated
from .evaluation import evaluate_models
from .pipelines import MODELS, make_models
from .report import write_report

#: Registry names of the models the demo compares, in table order. The
#: shuffled-pairs null (``"shuffled-gan"``) costs one more GAN per fold and keeps
#: the beat grid, so the demo shows the time-shifted null; ``--models`` adds it.
DEMO_MODELS = (
    "gan",
    "reduced-rank",
    "linear-mel",
    "beat-template",
    "mean-spectrum",
    "time-shifted-gan",
)

#: References of the report's paired-test table (registry names).
TEST_REFERENCES = ("reduced-rank", "linear-mel", "beat-template", "time-shifted-gan")


def _interval(row, metric):
    if not np.isfinite(row.get(metric, np.nan)):
        return "—"
    lo, hi = row.get(f"{metric}_lo", np.nan), row.get(f"{metric}_hi", np.nan)
    if not np.isfinite(lo):
        return f"{row[metric]:.3f}"
    return f"{row[metric]:.3f} [{lo:.3f}, {hi:.3f}]"


def _p(value):
    return "—" if not np.isfinite(value) else f"{value:.3f}"


def display_tables(summary):
    """The report's two tables, formatted to fit the page: scores, then paired tests.

    Parameters
    ----------
    summary : pandas.DataFrame
        :meth:`~sk_eeg2music.evaluation.Evaluation.summary`.

    Returns
    -------
    scores : pandas.DataFrame
        Per model and condition: feature r and feature r beyond the beat
        template (``feature_r_beat``), each with its subject-bootstrap 95 %
        interval, feature-level identification (with its chance) and
        match–mismatch, the same two on the waveforms, and the Fréchet mel
        distance beside the originals' floor.
    tests : pandas.DataFrame
        Per model and condition and per reference model: the Holm-adjusted
        one-sided p-values of feature r (Wilcoxon signed-rank) and feature
        match–mismatch (sign-flip permutation of the mean) (``r p / mm p``).
    """
    scores, tests = [], []
    for _, row in summary.iterrows():
        scores.append(
            {
                "model": row["model"],
                "condition": row["condition"],
                "feature r [95% CI]": _interval(row, "feature_r"),
                "beyond beat [95% CI]": _interval(row, "feature_r_beat"),
                "feature id (chance)": f"{row.get('feature_id_acc', np.nan):.3f} "
                f"({row.get('id_chance', np.nan):.3f})",
                "feature mm": f"{row.get('feature_mm_acc', np.nan):.3f}",
                "mel r": f"{row['mel_r']:.3f}",
                "mm": f"{row['mm_acc']:.3f}",
                "FMD (floor)": f"{row.get('fmd', np.nan):.0f} ({row.get('fmd_floor', np.nan):.0f})",
            }
        )
        test = {"model": row["model"], "condition": row["condition"], "trials": row["n_trials"]}
        for ref in TEST_REFERENCES:
            p_r = row.get(f"p_feature_r_vs_{ref}", np.nan)
            p_mm = row.get(f"p_feature_mm_acc_vs_{ref}", np.nan)
            test[f"vs {ref}"] = "—" if ref == row["model"] else f"{_p(p_r)} / {_p(p_mm)}"
        tests.append(test)
    return pd.DataFrame(scores), pd.DataFrame(tests)


def _log(message):
    print(message, file=sys.stderr, flush=True)


def demo_models(sfreq, epochs, seed, names=DEMO_MODELS, gan_params=None):
    """The models the demo compares, from the registry.

    Parameters
    ----------
    sfreq : float
        EEG rate (Hz).
    epochs : int | None
        GAN epochs (``max_epochs``); ``None`` keeps the GAN's defaults.
    seed : int
        Seeds the GANs, the Griffin-Lim phases and the nulls' pairings.
    names : sequence of str, default=DEMO_MODELS
        Registry names.
    gan_params : dict | None, default=None
        More :class:`~sk_eeg2music.EEG2MusicGAN` parameters (e.g. ``preset``,
        ``memory``).

    Returns
    -------
    models : dict of str -> estimator
        Registry name to unfitted model; every model maps EEG
        ``(n_trials, n_channels, n_times)`` to waveforms ``(n_trials, n_audio)``.

    Examples
    --------
    >>> from sk_eeg2music.demo import demo_models
    >>> list(demo_models(sfreq=64.0, epochs=1, seed=0))  # doctest: +NORMALIZE_WHITESPACE
    ['gan', 'reduced-rank', 'linear-mel', 'beat-template', 'mean-spectrum',
     'time-shifted-gan']
    """
    # 16 Griffin-Lim iterations instead of 32: rendering decoded mels is most
    # of the linear models' cost; every model is scored on its own features too.
    return make_models(sfreq, names, epochs=epochs, seed=seed, n_iter=16, gan_params=gan_params)


#: Short labels of the page's audio rows (registry name -> label).
CLIP_LABELS = {
    "gan": "GAN",
    "reduced-rank": "Strongest linear (reduced rank)",
    "linear-mel": "Linear decoder (mel)",
    "beat-template": "Beat template (no EEG)",
    "mean-spectrum": "Mean spectrum (no EEG)",
    "time-shifted-gan": "Time-shifted null (GAN)",
    "shuffled-gan": "Shuffled-pairs null (GAN)",
}


def _report_items(data, predictions, per_stimulus=1):
    """Clips for the page: per stimulus and condition, the original and reconstructions.

    The GAN is heard for two held-out subjects, every other model for the first.
    """
    items = []
    subjects = np.unique(data.subject)
    for stim in np.unique(data.stimulus):
        for cond in np.unique(data.condition):
            for seg in sorted(set(data.segment[data.stimulus == stim]))[:per_stimulus]:
                sel = (data.stimulus == stim) & (data.condition == cond) & (data.segment == seg)
                rows = {s: np.flatnonzero(sel & (data.subject == s)) for s in subjects}
                rows = [(s, r[0]) for s, r in rows.items() if len(r)]
                if not rows:
                    continue
                recon = []
                for name, pred in predictions.items():
                    label = CLIP_LABELS.get(name, name)
                    shown = rows[:2] if name == "gan" else rows[:1]
                    for subj, i in shown:
                        if np.isfinite(pred[i]).all():
                            recon.append(
                                dict(
                                    label=f"{label}, held-out {subj}",
                                    audio=pred[i],
                                    system=label,
                                    subject=str(subj),
                                )
                            )
                items.append(
                    dict(
                        stimulus=str(stim),
                        segment=int(seg),
                        condition=str(cond),
                        original=data.y[rows[0][1]],
                        reconstructions=recon,
                    )
                )
    return items


#: The report's note on the split and the columns (after the split's name).
_SPLIT_NOTE = (
    "every subject is tested once, by a pipeline (filter, scaler, "
    "alignment, model) refitted on the other subjects only; each test subject is "
    "aligned with its own EEG. The held-out subjects heard the same music as the "
    "training subjects (cross-subject, not unseen music). feature_*: the decoded "
    "log-mel at the EEG frame rate, before synthesis (chance: r 0, match-mismatch "
    "0.5, identification id_chance); mel_r and mm_acc: the same on the waveforms, "
    "trial edges trimmed. mm: is the reconstruction closer to its own segment than "
    "to another segment of the same stimulus (>= 1 s away)? Intervals [lo, hi]: "
    "95 % bootstrap over subjects. fmd: Fréchet mel distance (realism, not "
    "fidelity; fmd_floor: two halves of the originals). The beat template and the "
    "mean spectrum use no EEG; the time-shifted null is the GAN trained on its "
    "music at a wrong time (the shuffled null, if run, on the wrong music). The "
    "GAN's notes come from its decoder, pre-trained on the training music, and a "
    "retrieval prior (prior_weight): realistic notes are not correct notes, so read "
    "its spectrograms beside its identification and match-mismatch against chance "
    "and the nulls."
)


def _demo_cv(n_folds, n_subjects, n_jobs):
    """Subject-grouped CV splitter, its description, and the number of parallel jobs."""
    if n_folds is None:
        cv, split, n_run = LeaveOneGroupOut(), "leave-one-subject-out", n_subjects
    else:
        cv, split = GroupKFold(n_splits=n_folds), f"GroupKFold({n_folds}) over subjects"
        n_run = n_folds
    if n_jobs is None:
        n_jobs = max(1, min(n_run, os.cpu_count() or 1))
    return cv, split, n_jobs


def run_demo(
    out,
    kind="mos",
    n_subjects=4,
    segment_seconds=4.0,
    audio_sfreq=16000,
    n_folds=2,
    epochs=5,
    seed=0,
    n_jobs=None,
    snr_db=None,
    models=DEMO_MODELS,
    preset=None,
):
    """Simulate data, evaluate the GAN against its baselines and write a report.

    Parameters
    ----------
    out : str | Path
        Output folder (written atomically); checked before any work, so an
        unusable folder raises :class:`~sk_eeg2music.report.OutputDirError` at
        once. A Ctrl-C (``KeyboardInterrupt``) stops the run, parallel folds
        included, and writes nothing.
    kind : {"mos", "nmedt"}, default="mos"
        Which simulated dataset (see :func:`~sk_eeg2music.make_simulated`).
    n_subjects : int, default=4
        Simulated subjects.
    segment_seconds : float, default=4.0
        Trial length (s).
    audio_sfreq : int, default=16000
        Audio rate (Hz) of the simulated music and of the report's clips.
    n_folds : int | None, default=2
        ``GroupKFold(n_folds)`` over subjects: every fold runs and every
        subject is tested once (each fold holds out ``n_subjects / n_folds``
        of them); ``None``: leave-one-subject-out (``n_subjects`` folds).
    epochs : int | None, default=5
        GAN epochs per fold (``max_epochs``; ``None``: the GAN's default).
    seed : int, default=0
        Seeds the simulation, the GAN and the shuffled pairing.
    n_jobs : int | None, default=None
        Folds fitted in parallel (see
        :func:`~sk_eeg2music.evaluation.cross_validate_reconstruction`);
        ``None``: one worker per fold, at most one per CPU core.
    snr_db : float | None, default=None
        Signal-to-noise ratio of the simulated EEG (see
        :func:`~sk_eeg2music.make_simulated`); ``None`` is the simulator's
        calibrated, realistic default, at which cross-subject scores sit near
        chance. -15 shows what the models do when the EEG carries more.
    models : sequence of str, default=DEMO_MODELS
        Registry names of the models to compare (see
        :data:`~sk_eeg2music.pipelines.MODELS`).
    preset : {"tiny", "cpu", "gpu"} | None, default=None
        GAN preset (``None``: the GAN's default, ``"cpu"``). The GANs of one
        run share their pre-trained decoder where their training audio is the
        same (a temporary ``memory=`` cache, removed afterwards).

    Returns
    -------
    report : Path
        Path of ``report.html``.
    summary : pandas.DataFrame
        Per model and condition: scores with subject-bootstrap intervals and
        paired p-values (:meth:`~sk_eeg2music.evaluation.Evaluation.summary`).

    Examples
    --------
    Trains a GAN per fold (minutes on a CPU); the command line runs the same
    with ``eeg2music demo --out demo_output``.

    >>> from sk_eeg2music.demo import run_demo
    >>> report, summary = run_demo("demo_output", audio_sfreq=8000,
    ...                            segment_seconds=2.0)  # doctest: +SKIP
    """
    if n_folds is not None and not 2 <= n_folds <= n_subjects:
        raise ValueError(
            f"n_folds={n_folds}: GroupKFold needs 2 to n_subjects={n_subjects} folds (every "
            "fold runs). Pass n_folds=None (--full) for leave-one-subject-out."
        )
    check_output_dir(out)  # an unusable folder fails now, not after the training
    t0 = time.perf_counter()
    _log(f"simulating {kind} data for {n_subjects} subjects ...")
    data = make_simulated(
        kind=kind,
        n_subjects=n_subjects,
        segment_seconds=segment_seconds,
        audio_sfreq=audio_sfreq,
        snr_db=snr_db,
        random_state=seed,
    )
    _log(f"  {data} in {time.perf_counter() - t0:.1f} s")
    cv, split, n_jobs = _demo_cv(n_folds, n_subjects, n_jobs)
    gan_params = {} if preset is None else {"preset": preset}
    with tempfile.TemporaryDirectory(prefix="sk_eeg2music-demo-") as cache:
        evaluation = evaluate_models(
            demo_models(data.sfreq, epochs, seed, models, {**gan_params, "memory": cache}),
            data,
            cv,
            split=split,
            n_jobs=n_jobs,
            return_predictions=True,
            log=_log,
        )
    summary = evaluation.summary()
    items = _report_items(data, evaluation.predictions)
    table, tests = display_tables(summary)
    report = write_report(
        out,
        items,
        table,
        sfreq=data.audio_sfreq,
        title=f"EEG-to-music reconstruction: simulated {kind.upper()}",
        split_description=f"{split}: {_SPLIT_NOTE}",
        meta={
            "data": repr(data),
            "EEG SNR (dB)": "calibrated default" if snr_db is None else f"{snr_db:g}",
            "GAN epochs per fold": "GAN default" if epochs is None else epochs,
            "models": "; ".join(f"{n}: {MODELS[n]}" for n in models),
            "seed": seed,
            "wall time (s)": f"{time.perf_counter() - t0:.0f}",
        },
        tables={
            "Paired tests: is the model above the reference? Holm-adjusted one-sided p "
            "on per-trial feature r (Wilcoxon) / feature match-mismatch (sign-flip "
            "permutation)": tests
        },
    )
    return report, summary
