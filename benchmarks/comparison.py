"""Comparison of every registry model on the evaluation's metrics (issue 16, deliverable 6).

Runs :func:`sk_eeg2music.evaluation.evaluate_models` over the models of
:func:`sk_eeg2music.pipelines.make_models` on simulated data built with
:func:`sk_eeg2music.datasets.simulated.real_design` (the real datasets' design,
optionally scaled down), under a subject-grouped split with **all** folds:

* feature level: decoded log-mel at the EEG rate against the true one
  (feature r, feature r beyond the beat where the evaluation reports it,
  n-way identification with its chance, match–mismatch, and song identification
  of whole recordings, one vote per recording, chance 1 / n_songs);
* waveform level: trimmed mel r, match–mismatch, song identification, Fréchet
  mel distance beside the originals' floor;
* paired Wilcoxon p-values (Holm-adjusted) against the strongest linear model
  (``reduced-rank``), the beat template and the time-shifted null.

Neural models (registry names containing ``gan``) run once per ``--seeds``
value; the other models once. Per-trial scores of the seeds are averaged before
the subject bootstrap and the paired tests; the tables add ``± sd`` across
seeds. Writes ``<prefix>_summary.csv`` and ``<prefix>_comparisons.csv`` under
``--out-dir`` and a block between ``<!-- comparison-<kind> -->`` markers in
``docs/benchmarks.md`` (command, date, machine, scale).

A run too long for one machine or session is sharded: ``--folds`` runs some
folds only (models and seeds may differ between shards too), and every run
keeps its per-trial and per-fold scores (``<prefix>_trials.csv.gz``,
``<prefix>_folds.csv``) and settings (``<prefix>_run.json``). ``--merge``
then pools the shards of one design into the tables, without fitting
anything; it refuses shards of different designs or overlapping runs, and its
doc block says which folds each model and seed covers.

Usage::

    python benchmarks/comparison.py --kind mos --n-subjects 6 --n-repetitions 2 \\
        --split gkf3 --seeds 0 --n-jobs 2
    # sharded: two runs (any machines), then the merge
    python benchmarks/comparison.py ... --folds 0 1 --prefix shard_a --no-doc
    python benchmarks/comparison.py ... --folds 2 --prefix shard_b --no-doc
    python benchmarks/comparison.py --merge shard_a shard_b --prefix merged
"""

import argparse
import datetime
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

import sk_eeg2music
from sk_eeg2music import make_simulated
from sk_eeg2music.benchmarking import (
    command_line,
    device_label,
    format_number,
    format_p_value,
    machine_label,
    markdown_table,
    write_block,
)
from sk_eeg2music.datasets.simulated import DEFAULT_SNR_DB, real_design
from sk_eeg2music.evaluation import (
    GUESSES,
    REFERENCE_MODELS,
    TRIAL_METRICS,
    Evaluation,
    evaluate_models,
)
from sk_eeg2music.pipelines import MODELS, make_models

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "benchmarks.md"

#: Models of a default run (the ablations cost extra GAN fits: add them by name).
DEFAULT = ("gan", "reduced-rank", "linear-mel", "beat-template", "time-shifted-gan", "shuffled-gan")
#: References of the p-value columns: strongest linear (pooled and per condition),
#: no-EEG baseline, both nulls.
REFERENCES = (
    "reduced-rank",
    "reduced-rank-by-condition",
    "beat-template",
    "time-shifted-gan",
    "shuffled-gan",
)
#: Metrics of the p-value table (a column only where the summary has its p-values).
P_METRICS = (
    "feature_r",
    "feature_r_beat",
    "feature_id_acc",
    "feature_mm_acc",
    "feature_song_acc",
    "mm_acc",
)
#: Beat period (s) of the simulated music, for the time-shifted null's offsets
#: (MOS chorales at 100 BPM; NMED-T songs vary, so none).
BEAT_PERIOD = {"mos": 0.6, "nmedt": None}

#: Columns of the feature-level table: the decoded log-mel at the EEG rate.
FEATURE_COLUMNS = [
    "model",
    "condition",
    "seeds",
    "feature r [95% CI]",
    "feature r beyond beat [95% CI]",
    "feature id (chance)",
    "feature mm",
    "song id per recording",
]
#: Columns of the waveform-level table: the synthesised audio.
WAVEFORM_COLUMNS = ["model", "condition", "mel r", "mm", "song id (chance)", "FMD (floor)"]
#: Columns of the score table (:func:`score_table`); the doc prints it as the
#: two tables above, so that neither scrolls off a 1200-px page.
TABLE_COLUMNS = FEATURE_COLUMNS + WAVEFORM_COLUMNS[2:]


def is_neural(name):
    """Whether a registry model is trained with a random seed that matters (the GANs)."""
    return "gan" in name


def make_split(label):
    """``"loso"`` → ``LeaveOneGroupOut()``, ``"gkfK"`` → ``GroupKFold(K)``."""
    if label == "loso":
        return LeaveOneGroupOut()
    if label.startswith("gkf") and label[3:].isdigit() and int(label[3:]) >= 2:
        return GroupKFold(int(label[3:]))
    raise ValueError(f"split must be 'loso' or 'gkfK' with K >= 2; got {label!r}.")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kind", choices=("mos", "nmedt"), default="mos")
    p.add_argument("--n-subjects", type=int, default=6)
    p.add_argument("--n-repetitions", type=int, default=None, help="default: 2, or 1 for NMED-T")
    p.add_argument("--stimulus-seconds", type=float, default=None, help="default: real design")
    p.add_argument("--segment-seconds", type=float, default=4.0)
    p.add_argument("--audio-sfreq", type=int, default=8000)
    p.add_argument("--conditions", nargs="+", default=None, help="default: the kind's")
    p.add_argument("--snr-db", type=float, default=None, help="default: calibrated")
    p.add_argument(
        "--resample",
        type=float,
        default=None,
        help="EEG rate (Hz) of every model's front end (e.g. 64 for NMED-T's 125 Hz)",
    )
    p.add_argument("--split", default="gkf3", help="'loso' or 'gkfK'; all folds always run")
    p.add_argument(
        "--models",
        nargs="+",
        default=None,
        choices=list(MODELS),
        help=f"models to run (default: {' '.join(DEFAULT)}); with --merge, the shards' "
        "models to keep (default: all)",
    )
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--epochs", type=int, default=None, help="GAN fine-tuning epochs")
    p.add_argument("--decoder-steps", type=int, default=None)
    p.add_argument("--encoder-epochs", type=int, default=None)
    p.add_argument("--preset", default="cpu")
    p.add_argument(
        "--decoder",
        choices=("upsampler", "ddsp"),
        default=None,
        help="decoder of every GAN (EEG2MusicGAN's decoder=); default: the GAN's",
    )
    p.add_argument("--n-iter", type=int, default=32, help="Griffin-Lim iterations")
    p.add_argument("--n-jobs", type=int, default=2, help="folds fitted in parallel")
    p.add_argument(
        "--max-folds",
        type=int,
        default=None,
        help="only the first folds: a probe where all folds cost too much (the doc says so)",
    )
    p.add_argument(
        "--folds",
        nargs="+",
        type=int,
        default=None,
        help="only these fold indices of the split: one shard of a run (see --merge)",
    )
    p.add_argument(
        "--merge",
        nargs="+",
        default=None,
        metavar="PREFIX[:MODEL,...]",
        help="fit nothing: pool the saved shards with these prefixes (under --out-dir) of "
        "one design, optionally only the listed models of a shard; the design options are "
        "then read from the shards",
    )
    p.add_argument("--out-dir", type=Path, default=HERE)
    p.add_argument("--prefix", default=None, help="CSV prefix; default comparison_<kind>")
    p.add_argument("--doc", type=Path, default=DOC)
    p.add_argument("--no-doc", action="store_true", help="do not write docs/benchmarks.md")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.merge is not None and args.folds is not None:
        p.error("--folds selects what a run fits; --merge fits nothing")
    if args.models is None and args.merge is None:
        args.models = list(DEFAULT)
    return args


def design_kwargs(args):
    """:func:`make_simulated` arguments of ``args``: the real design with its overrides.

    Without ``--n-repetitions``: 2 repetitions, or the real design's if it has
    fewer (NMED-T presents each song once).
    """
    n_repetitions = args.n_repetitions
    if n_repetitions is None:
        n_repetitions = min(2, real_design(args.kind)["n_repetitions"])
    overrides = dict(
        n_subjects=args.n_subjects,
        n_repetitions=n_repetitions,
        segment_seconds=args.segment_seconds,
        audio_sfreq=args.audio_sfreq,
        snr_db=args.snr_db,
    )
    if args.stimulus_seconds is not None:
        overrides["stimulus_seconds"] = args.stimulus_seconds
    if args.conditions is not None:
        overrides["conditions"] = tuple(args.conditions)
    return real_design(args.kind, **overrides)


def simulate(args):
    """The simulated data of ``args`` and the design arguments used."""
    kwargs = design_kwargs(args)
    return make_simulated(**kwargs), kwargs


def run_seeds(args, data, log):
    """One :class:`Evaluation` per seed: every model at the first seed, neural ones after."""
    gan_params = dict(preset=args.preset)
    if args.decoder_steps is not None:
        gan_params["decoder_steps"] = args.decoder_steps
    if args.encoder_epochs is not None:
        gan_params["encoder_epochs"] = args.encoder_epochs
    if args.decoder is not None:
        gan_params["decoder"] = args.decoder
    cache = tempfile.mkdtemp(prefix="sk_eeg2music_decoder_")  # ours, removed below
    gan_params["memory"] = cache
    evaluations = []
    try:
        for i, seed in enumerate(args.seeds):
            names = [n for n in args.models if i == 0 or is_neural(n)]
            if not names:
                break
            models = make_models(
                data.sfreq,
                names,
                epochs=args.epochs,
                seed=seed,
                gan_params=gan_params,
                n_iter=args.n_iter,
                beat_period=BEAT_PERIOD[args.kind],
                preprocessing=None if args.resample is None else {"resample": args.resample},
            )
            ev = evaluate_models(
                models,
                data,
                make_split(args.split),
                split=args.split,
                max_folds=args.max_folds,
                fold_indices=args.folds,
                n_jobs=args.n_jobs,
                progress=not args.quiet,
                log=log,
            )
            ev.folds["seed"] = seed
            ev.trials["seed"] = seed
            evaluations.append(ev)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return evaluations


#: Settings of ``<prefix>_run.json`` that must agree for shards to be merged:
#: the data, the split and how every model is built.
DESIGN_KEYS = (
    "kind",
    "design",
    "split",
    "n_folds",
    "resample",
    "preset",
    "decoder",
    "decoder_steps",
    "encoder_epochs",
    "epochs",
    "n_iter",
    "max_folds",
)


def shard_record(args, kwargs, data, command, wall, load):
    """The settings of one run (a shard when ``--folds`` is given), as JSON-ready dict."""
    return {
        "kind": args.kind,
        "design": {k: (list(v) if isinstance(v, tuple) else v) for k, v in kwargs.items()},
        "split": args.split,
        "n_folds": int(make_split(args.split).get_n_splits(groups=data.groups)),
        "resample": args.resample,
        "preset": args.preset,
        "decoder": args.decoder,
        "decoder_steps": args.decoder_steps,
        "encoder_epochs": args.encoder_epochs,
        "epochs": args.epochs,
        "n_iter": args.n_iter,
        "max_folds": args.max_folds,
        "models": list(args.models),
        "seeds": list(args.seeds),
        "folds": None if args.folds is None else list(args.folds),
        "n_trials": len(data.y),
        "sfreq": float(data.sfreq),
        "command": command,
        "date": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "machine": f"{device_label('cpu')}, {machine_label()}",
        "load": round(float(load), 1),
        "wall_minutes": round(wall / 60, 1),
    }


def save_shard(evaluations, record, out_dir, prefix):
    """Write a run's per-trial and per-fold scores and its settings (for ``--merge``).

    Returns
    -------
    paths : list of pathlib.Path
        ``<prefix>_trials.csv.gz``, ``<prefix>_folds.csv``, ``<prefix>_run.json``.
    """
    out_dir = Path(out_dir)
    paths = [out_dir / f"{prefix}_{n}" for n in ("trials.csv.gz", "folds.csv", "run.json")]
    pd.concat([ev.trials for ev in evaluations], ignore_index=True).to_csv(paths[0], index=False)
    pd.concat([ev.folds for ev in evaluations], ignore_index=True).to_csv(paths[1], index=False)
    paths[2].write_text(json.dumps(record, indent=1) + "\n")
    return paths


def load_shards(out_dir, prefixes, models=None):
    """Pool saved shards into one :class:`Evaluation` per seed.

    Parameters
    ----------
    out_dir : str | pathlib.Path
        Folder of the shards' files.
    prefixes : sequence of str
        One prefix per shard (see :func:`save_shard`), optionally with the
        models to take from it: ``"shard_a:reduced-rank,beat-template"``
        (e.g. to leave out a model that a later shard re-ran with other code).
    models : sequence of str | None, default=None
        Keep only these models' scores, from every shard; ``None`` keeps all.

    Returns
    -------
    evaluations : list of Evaluation
        One per seed, seeds ascending; rows ordered by model (first shard's
        order first), fold and the run's trial order.
    records : list of dict
        Each shard's settings.

    Raises
    ------
    FileNotFoundError
        A shard's files are missing.
    ValueError
        Shards of different designs, splits or model settings, or two shards
        that scored the same model, seed and fold.
    """
    out_dir = Path(out_dir)
    records, trials, folds = [], [], []
    specs = [spec.partition(":") for spec in prefixes]
    prefixes = [prefix for prefix, _, _ in specs]
    for prefix, _, chosen in specs:
        paths = [out_dir / f"{prefix}_{n}" for n in ("trials.csv.gz", "folds.csv", "run.json")]
        missing = [str(q) for q in paths if not q.exists()]
        if missing:
            raise FileNotFoundError(f"shard {prefix!r} is incomplete: missing {missing}")
        records.append(json.loads(paths[2].read_text()))
        t, f = pd.read_csv(paths[0]).assign(_shard=prefix), pd.read_csv(paths[1])
        for keep in (models, chosen.split(",") if chosen else None):
            if keep is not None:
                t, f = t[t.model.isin(keep)], f[f.model.isin(keep)]
        trials.append(t)
        folds.append(f)
    first = {k: records[0].get(k) for k in DESIGN_KEYS}
    for prefix, rec in zip(prefixes[1:], records[1:]):
        diff = [k for k in DESIGN_KEYS if rec.get(k) != first[k]]
        if diff:
            raise ValueError(
                f"shard {prefix!r} differs from {prefixes[0]!r} in {diff}: "
                "only shards of one design and one model setting can be merged."
            )
    trials = pd.concat(trials, ignore_index=True)
    if trials.empty:
        raise ValueError(f"the shards {list(prefixes)} hold no scores of the models {models}.")
    owners = trials.groupby(["model", "seed", "fold"])["_shard"].nunique()
    if (owners > 1).any():
        dup = [tuple(i) for i in owners[owners > 1].index]
        raise ValueError(f"(model, seed, fold) scored by several shards: {dup}")
    order = {m: i for i, m in enumerate(dict.fromkeys(trials["model"]))}
    trials = trials.drop(columns="_shard")
    folds = pd.concat(folds, ignore_index=True)
    for frame in (trials, folds):
        frame["_order"] = frame["model"].map(order)
    split = records[0]["split"]
    evaluations = []
    for seed in sorted(trials["seed"].unique()):
        t = trials[trials.seed == seed].sort_values(["_order", "fold"], kind="stable")
        f = folds[folds.seed == seed].sort_values(["_order", "fold"], kind="stable")
        evaluations.append(
            Evaluation(
                folds=f.drop(columns="_order").reset_index(drop=True),
                trials=t.drop(columns="_order").reset_index(drop=True),
                predictions=None,
                split=split,
            )
        )
    return evaluations, records


def coverage(evaluations, n_folds):
    """Which folds each model and seed covers, in words (for the doc block).

    Returns
    -------
    lines : list of str
        One per model: ``"gan: seed 0 all 5 folds; seed 1 folds 0, 1 (of 5)"``.
    complete : bool
        Whether every model covers every fold at each of its seeds.
    """
    trials = pd.concat([ev.trials for ev in evaluations], ignore_index=True)
    lines, complete = [], True
    for model, rows in trials.groupby("model", sort=False):
        parts = []
        for seed, r in rows.groupby("seed"):
            got = sorted(int(i) for i in r["fold"].unique())
            if got == list(range(n_folds)):
                parts.append(f"seed {seed} all {n_folds} folds")
            else:
                complete = False
                parts.append(f"seed {seed} folds {', '.join(map(str, got))} (of {n_folds})")
        lines.append(f"{model}: " + "; ".join(parts))
    return lines, complete


def pool_seeds(evaluations):
    """One :class:`Evaluation` whose per-trial and per-fold scores are the seeds' means.

    Returns
    -------
    pooled : Evaluation
    per_seed : pandas.DataFrame
        ``summary()`` of each seed's evaluation (no p-values), with a ``seed``
        column, on the folds that every seed of the model covers: a seed run
        on fewer folds (a shard) is compared with the others on those folds
        only, so the spread across seeds holds no spread across folds.
    """
    trials = pd.concat([ev.trials for ev in evaluations], ignore_index=True)
    folds = pd.concat([ev.folds for ev in evaluations], ignore_index=True)
    t_keys = ["model", "split", "fold", "condition", "trial", "subject", "stimulus", "segment"]
    t_vals = [c for c in trials.columns if c in TRIAL_METRICS]
    f_keys = ["model", "split", "fold", "condition", "test_subjects"]
    f_vals = [
        c
        for c in folds.columns
        if c not in f_keys + ["seed"] and pd.api.types.is_numeric_dtype(folds[c])
    ]
    pooled_trials = trials.groupby(t_keys, sort=False, as_index=False)[t_vals].mean()
    kept = [c for c in GUESSES if c in trials.columns]
    if kept:
        # A guess cannot be averaged: the relabelling tests use each trial's
        # (or recording's) guess at its lowest seed (``first`` skips missing ones).
        guesses = trials.sort_values("seed", kind="stable").groupby(t_keys, sort=False)
        pooled_trials = pooled_trials.merge(
            guesses[kept].first().reset_index(), on=t_keys, how="left"
        )
    pooled = Evaluation(
        folds=folds.groupby(f_keys, sort=False, as_index=False)[f_vals].mean(),
        trials=pooled_trials,
        predictions=None,
        split=evaluations[0].split,
    )
    common = _folds_of_every_seed(folds)
    per_seed = []
    for ev in evaluations:
        keep_f = ev.folds.merge(common, on=["model", "fold"])
        keep_t = ev.trials.merge(common, on=["model", "fold"])
        if keep_t.empty:
            continue
        s = Evaluation(keep_f, keep_t, None, ev.split).summary(references=[])
        s["seed"] = int(ev.trials["seed"].iloc[0])
        per_seed.append(s)
    return pooled, pd.concat(per_seed, ignore_index=True)


def _folds_of_every_seed(folds):
    """``(model, fold)`` pairs scored by every seed that scored the model at all."""
    seeds = folds.groupby("model")["seed"].nunique().rename("n_model")
    per_fold = folds.groupby(["model", "fold"])["seed"].nunique().rename("n_fold").reset_index()
    per_fold = per_fold.merge(seeds.reset_index(), on="model")
    return per_fold.loc[per_fold.n_fold == per_fold.n_model, ["model", "fold"]]


def summarize_run(evaluations):
    """Summary (means, bootstrap intervals, p-values, sd and count of seeds) and comparisons."""
    pooled, per_seed = pool_seeds(evaluations)
    # Every baseline and null of the package is a reference (the Holm family);
    # the printed p-value table shows REFERENCES only, the CSVs all of them.
    refs = [r for r in REFERENCE_MODELS if r in set(pooled.trials.model)]
    summary = pooled.summary(references=refs) if refs else pooled.summary()
    metrics = [m for m in TRIAL_METRICS if m in per_seed.columns]
    metrics += [m for m in ("song_acc", "fmd") if m in per_seed.columns]
    spread = per_seed.groupby(["model", "condition"], sort=False).agg(
        n_seeds=("seed", "nunique"), **{f"{m}_sd": (m, "std") for m in metrics}
    )
    summary = summary.merge(spread.reset_index(), on=["model", "condition"], how="left")
    comparisons = pooled.comparisons(references=refs) if refs else pd.DataFrame()
    return summary, comparisons


_num = format_number


def _cell(row, metric, digits=3):
    """``mean`` plus ``± sd`` across seeds when there are several; ``–`` when absent."""
    text = _num(row.get(metric, np.nan), digits)
    sd = row.get(f"{metric}_sd", np.nan)
    if row.get("n_seeds", 1) > 1 and np.isfinite(sd):
        text += f" ± {_num(sd, digits)}"
    return text


def _interval(row, metric):
    """``mean [lo, hi]``, or ``–`` when the summary has no such metric."""
    if not np.isfinite(row.get(metric, np.nan)):
        return "–"
    return (
        f"{_cell(row, metric)} [{_num(row.get(f'{metric}_lo'))}, {_num(row.get(f'{metric}_hi'))}]"
    )


def _song_cell(row):
    """Song identification per recording with, where guesses were kept, its song-relabelling p."""
    cell = _interval(row, "feature_song_acc")
    return _with_label_p(cell, row, "feature_song", "songs")


def _id_cell(row):
    """Feature identification (chance) with, where guesses were kept, its segment-relabelling p."""
    cell = f"{_cell(row, 'feature_id_acc')} ({_num(row.get('id_chance'))})"
    return _with_label_p(cell, row, "feature_id", "segments")


def _with_label_p(cell, row, test, classes):
    p = row.get(f"{test}_label_p", np.nan)
    if cell.startswith("–") or not np.isfinite(p):
        return cell
    folds = row.get(f"{test}_label_folds", np.nan)
    n_folds = row.get("n_folds", np.nan)
    partial = np.isfinite(folds) and np.isfinite(n_folds) and folds < n_folds
    return f"{cell}; {classes} p {format_p_value(p)}" + (
        f" ({int(folds)} folds)" if partial else ""
    )


def score_table(summary):
    """The score table: one row per (model, condition), formatted strings.

    Parameters
    ----------
    summary : pandas.DataFrame
        From :func:`summarize_run`.

    Returns
    -------
    table : pandas.DataFrame
        Columns :data:`TABLE_COLUMNS`.
    """
    rows = []
    for _, r in summary.iterrows():
        rows.append(
            {
                "model": r["model"],
                "condition": r["condition"],
                "seeds": int(r.get("n_seeds", 1)) if np.isfinite(r.get("n_seeds", 1)) else 1,
                "feature r [95% CI]": _interval(r, "feature_r"),
                "feature r beyond beat [95% CI]": _interval(r, "feature_r_beat"),
                "feature id (chance)": _id_cell(r),
                "feature mm": _cell(r, "feature_mm_acc"),
                "song id per recording": _song_cell(r),
                "mel r": _cell(r, "mel_r"),
                "mm": _cell(r, "mm_acc"),
                "song id (chance)": f"{_cell(r, 'song_acc')} ({_num(r.get('song_chance'))})",
                "FMD (floor)": f"{_cell(r, 'fmd', 2)} ({_num(r.get('fmd_floor'), 2)})",
            }
        )
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def training_table(evaluations):
    """Fit time and, where recorded, the encoder's early-stopped epochs: one row per model.

    Parameters
    ----------
    evaluations : list of Evaluation
        One per seed (their ``folds`` carry ``seed``).

    Returns
    -------
    table : pandas.DataFrame
        ``model``, ``fits`` (seeds x folds), ``fit + predict min (mean, range)``,
        ``encoder epochs run (mean, range)`` and ``epoch kept (mean)`` (``–``
        for models without an encoder stage, or shards that predate the columns).
    """
    folds = pd.concat([ev.folds for ev in evaluations], ignore_index=True)
    # One row per fit: the fold table repeats a fit once per condition.
    fits = folds.drop_duplicates(["model", "seed", "fold"])
    rows = []
    for model, g in fits.groupby("model", sort=False):
        minutes = g["fit_seconds"] / 60
        row = {
            "model": model,
            "fits": len(g),
            "fit + predict min (mean, range)": (
                f"{minutes.mean():.1f} ({minutes.min():.1f}–{minutes.max():.1f})"
            ),
            "encoder epochs run (mean, range)": "–",
            "epoch kept (mean)": "–",
        }
        if "encoder_epochs" in g and g["encoder_epochs"].notna().any():
            run, best = g["encoder_epochs"].dropna(), g["encoder_best_epoch"].dropna()
            partial = f", {len(run)} of {len(g)} fits recorded" if len(run) < len(g) else ""
            row["encoder epochs run (mean, range)"] = (
                f"{run.mean():.1f} ({run.min():.0f}–{run.max():.0f}{partial})"
            )
            row["epoch kept (mean)"] = f"{best.mean():.1f}"
        rows.append(row)
    return pd.DataFrame(rows)


def p_table(summary):
    """Holm-adjusted paired p-values of each model against :data:`REFERENCES`.

    Returns
    -------
    table : pandas.DataFrame
        ``model``, ``condition`` and one column ``<metric> vs <reference>`` per
        reference and metric of :data:`P_METRICS` present.
    """
    cols = {}
    for ref in REFERENCES:
        for m in P_METRICS:
            col = f"p_{m}_vs_{ref}"
            if col in summary.columns:
                cols[col] = f"{m.replace('_acc', '')} vs {ref}"
    table = summary[["model", "condition", *cols]].rename(columns=cols)
    for c in cols.values():
        table[c] = [format_p_value(v) for v in table[c]]
    return table


def p_tables_by_reference(pvalues):
    """The p-value table cut into one narrow table per reference (for the doc).

    Parameters
    ----------
    pvalues : pandas.DataFrame
        From :func:`p_table`.

    Returns
    -------
    tables : dict of str -> pandas.DataFrame
        Reference of :data:`REFERENCES` with a column in ``pvalues`` -> ``model``,
        ``condition`` and its metrics (columns named by metric only).
    """
    tables = {}
    for ref in REFERENCES:
        suffix = f" vs {ref}"
        cols = [c for c in pvalues.columns if c.endswith(suffix)]
        if cols:
            table = pvalues[["model", "condition", *cols]]
            tables[ref] = table.rename(columns={c: c[: -len(suffix)] for c in cols})
    return tables


def describe_scale(record):
    """One paragraph: the scale used against the real design.

    Parameters
    ----------
    record : dict
        A run's settings (:func:`shard_record`).
    """
    kind, kw = record["kind"], record["design"]
    real = real_design(kind)
    snr = kw["snr_db"]
    resample = record["resample"]
    if record["max_folds"] is not None:
        folds = (
            f"only its first {record['max_folds']} fold(s): a probe, not a cross-validated result."
        )
    else:
        folds = "the folds listed below."
    return (
        f"Simulated {kind.upper()} (`real_design({kind!r})` with overrides): "
        f"{kw['n_subjects']} subjects (real: {real['n_subjects']}), {kw['n_repetitions']} "
        f"repetition(s) (real: {real['n_repetitions']}), conditions {', '.join(kw['conditions'])}, "
        f"stimuli of {kw['stimulus_seconds']:.1f} s cut into "
        f"{kw['segment_seconds']:g}-s segments (real: whole trials), audio at "
        f"{kw['audio_sfreq']} Hz, SNR "
        f"{DEFAULT_SNR_DB[kind] if snr is None else snr:g} dB"
        f"{' (calibrated default)' if snr is None else ''}; "
        + (
            ""
            if resample is None
            else f"EEG resampled from {record['sfreq']:g} to {resample:g} Hz in every "
            "model's front end; "
        )
        + f"{record['n_trials']} trials, split `{record['split']}` "
        f"({record['n_folds']} folds) with {folds}"
    )


def display_path(path):
    """``path`` relative to the repository when inside it (for the doc), else as given."""
    path = Path(path).resolve()
    try:
        return path.relative_to(HERE.parent).as_posix()
    except ValueError:
        return path.as_posix()


def run_header(records, merge_command=None):
    """When, where and how each run (or shard) ran, with its command (and the merge's)."""
    lines = []
    for rec in records:
        lines += [
            f"Run {rec['date']}, sk_eeg2music {sk_eeg2music.__version__}, {rec['machine']}, "
            f"load average {rec['load']:.1f} at the start; wall time {rec['wall_minutes']:.1f} "
            "min.",
            "",
            f"```\n{rec['command']}\n```",
            "",
        ]
    if merge_command is not None:
        lines[:0] = [
            f"Merged from {len(records)} shard(s) (scores pooled, nothing refitted) by",
            "",
            f"```\n{merge_command}\n```",
            "",
            "from the runs:",
            "",
        ]
    return lines


def main(argv=None):
    """Run the comparison (or merge saved shards); return the score, p-value and summary tables."""
    args = parse_args(argv)
    log = (lambda *a: None) if args.quiet else print
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.merge is not None:
        evaluations, records = load_shards(args.out_dir, args.merge, args.models)
    else:
        t0, load = time.perf_counter(), os.getloadavg()[0]
        data, kwargs = simulate(args)
        t_sim = time.perf_counter() - t0
        log(f"simulated {data.X.shape} EEG, {data.y.shape} audio in {t_sim:.1f} s")
        evaluations = run_seeds(args, data, log)
        command = command_line("benchmarks/comparison.py", argv)
        record = shard_record(args, kwargs, data, command, time.perf_counter() - t0, load)
        records = [record]
    prefix = args.prefix or f"comparison_{records[0]['kind']}"
    if args.merge is None:
        save_shard(evaluations, records[0], args.out_dir, prefix)
    summary, comparisons = summarize_run(evaluations)
    scores, pvalues = score_table(summary), p_table(summary)
    log(scores[FEATURE_COLUMNS].to_string(index=False))
    log(scores[WAVEFORM_COLUMNS].to_string(index=False))
    log(pvalues.to_string(index=False))
    summary.to_csv(args.out_dir / f"{prefix}_summary.csv", index=False)
    comparisons.to_csv(args.out_dir / f"{prefix}_comparisons.csv", index=False)

    if not args.no_doc:
        rec = records[0]
        covered, complete = coverage(evaluations, rec["n_folds"])
        where = display_path(args.out_dir)
        seeds = sorted({int(ev.trials["seed"].iloc[0]) for ev in evaluations})
        gan = sorted({m for ev in evaluations for m in ev.trials["model"].unique() if is_neural(m)})
        header = "\n".join(
            run_header(
                records,
                None if args.merge is None else command_line("benchmarks/comparison.py", argv),
            )
            + [
                describe_scale(rec),
                "Folds covered: "
                + ("all, for every model and seed" if complete else "**not all** (a partial run)")
                + ".\n\n"
                + "\n".join(f"- {line}" for line in covered),
                "",
                f"GAN settings: preset `{rec['preset']}`, decoder "
                f"`{rec['decoder'] or 'of the preset'}`, "
                "decoder_steps "
                f"{rec['decoder_steps'] or 'of the preset'}, encoder_epochs "
                f"{rec['encoder_epochs'] or 'of the preset (early-stopped)'}, fine-tuning epochs "
                f"{rec['epochs'] or 'default'}; Griffin-Lim {rec['n_iter']} iterations.",
                f"Neural models ({', '.join(gan) or 'none'}) ran with seeds "
                f"{', '.join(map(str, seeds))}"
                + (
                    "; cells show mean ± sd across seeds (the sd on the folds every seed "
                    "of the model covers), intervals and p-values use the seeds' mean per "
                    "trial."
                    if len(seeds) > 1
                    else " (one seed only: no spread across seeds)."
                ),
                f"CSV: `{where}/{prefix}_summary.csv`, `{where}/{prefix}_comparisons.csv`"
                + (
                    "; per-trial scores of the shards: "
                    + ", ".join(
                        f"`{where}/{p}_trials.csv.gz`"
                        for p in (spec.partition(":")[0] for spec in args.merge)
                    )
                    if args.merge
                    else f"; per-trial scores `{where}/{prefix}_trials.csv.gz`"
                )
                + ".",
                "",
                "Feature level (decoded log-mel at the EEG rate, before synthesis; song id "
                "per recording: the song of each whole recording from its segments, chance "
                "1 / n_songs, one vote per recording):",
                "",
                markdown_table(scores[FEATURE_COLUMNS]),
                "",
                "Waveform level (the synthesised audio):",
                "",
                markdown_table(scores[WAVEFORM_COLUMNS]),
                "",
                "Training (fit and prediction time per fold on this machine; the GAN's "
                "encoder epochs run before early stopping, and the epoch whose weights "
                "were kept):",
                "",
                markdown_table(training_table(evaluations)),
                "",
                "Paired p-values (one-sided, model > reference; Wilcoxon signed-rank for "
                "correlations, sign-flip permutation for hit rates; "
                f"Holm-adjusted over the references present among "
                f"{', '.join(REFERENCE_MODELS)}; all pairs in the comparisons CSV), "
                "one table per reference:",
                "",
                "\n\n".join(
                    f"Against `{ref}`:\n\n{markdown_table(table)}"
                    for ref, table in p_tables_by_reference(pvalues).items()
                ),
            ]
        )
        write_block(args.doc, prefix.replace("_", "-"), header)
    return scores, pvalues, summary


if __name__ == "__main__":
    main()
