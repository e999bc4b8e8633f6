"""Reconstruction quality under four split types, with baselines and controls.

Every model comes from the registry (:func:`sk_eeg2music.pipelines.make_models`,
by name) and runs through the one evaluation entry point
(:func:`sk_eeg2music.evaluation.evaluate_models`) on simulated data at the
calibrated default SNR; MOS listening and imagery are reported separately.
Splits:

* ``within``: within-subject, time-disjoint (each subject's held-out segment
  indices; training on that subject's other segments);
* ``loso``: cross-subject, leave-one-subject-out;
* ``gkf``: ``GroupKFold(k)`` over subjects, labelled ``gkf<k>`` in the tables:
  ``k = 5`` from 10 subjects on, else ``n_subjects // 2`` (see :func:`group_k`),
  so that every fold holds out at least two subjects and the split is not
  leave-one-subject-out under another name;
* ``subject-time``: subject-AND-time-disjoint (:class:`~sk_eeg2music.SubjectTimeSplit`):
  the music of a test segment was never heard in training.

``benchmarks/comparison.py`` compares every registry model under one
subject-grouped split with all folds and paired p-values; this script asks how
the same models fare across split types. Writes ``--csv`` (one row per fold and
condition, :attr:`~sk_eeg2music.evaluation.Evaluation.folds`) and the summary
table (means with subject-bootstrap 95 % intervals from
:meth:`~sk_eeg2music.evaluation.Evaluation.summary`) into ``docs/benchmarks.md``
between the ``<!-- quality -->`` markers, with the command, date, machine and
version.

Usage::

    python benchmarks/quality.py --quick            # CPU, minutes
    python benchmarks/quality.py --device cuda      # the full configuration

Each row of the CSV names the device (e.g. ``CUDA NVIDIA H100 80GB HBM3``). CPU
results go between ``<!-- quality -->`` markers, CUDA ones between
``<!-- quality-cuda -->`` markers, so neither overwrites the other. A run
stopped by SIGTERM (``timeout``) or Ctrl-C keeps and writes the models finished
so far, and says so in the header.
"""

import argparse
import datetime
import signal
import sys
import time
from pathlib import Path

import pandas as pd
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

import sk_eeg2music
from sk_eeg2music import SubjectTimeSplit, make_simulated
from sk_eeg2music.benchmarking import (
    command_line,
    device_label,
    format_number,
    machine_label,
    markdown_table,
    write_block,
)
from sk_eeg2music.evaluation import Evaluation, evaluate_models
from sk_eeg2music.model_selection import WithinSubjectTimeSplit
from sk_eeg2music.pipelines import MODELS, gan_warmup_epochs, make_models

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"

#: ``--quick`` simulates shorter stimuli to stay within 20 min on 2 cores: NMED-T
#: songs of 12 s (4 segments, the fewest :class:`SubjectTimeSplit` with 4 folds
#: accepts) and MOS chorales of 12 s (4 segments instead of 9).
QUICK_STIMULUS_SECONDS = {"nmedt": 12.0, "mos": 12.0}
#: ``--quick`` resamples NMED-T's 125-Hz EEG to 64 Hz in every pipeline's front end
#: (the usual rate of temporal-response-function work): the lagged ridge's Gram is
#: then 2125² instead of 4000² and its inner CV 3-5x faster. ``benchmarks/nmedt_rate.py``
#: compares the two rates in the same harness.
QUICK_NMEDT_RATE = 64.0
#: Registry models of a default run: the GAN and its reconstruction-only
#: ablation, both lagged ridges, the shuffled-pairs null and the two no-EEG
#: baselines (``--models`` takes any name of :data:`~sk_eeg2music.pipelines.MODELS`).
DEFAULT_MODELS = (
    "gan",
    "gan-recon-only",
    "linear-mel",
    "linear-envelope",
    "shuffled-gan",
    "mean-spectrum",
    "beat-template",
)
#: Beat period (s) of the simulated music, for the time-shifted null's offsets
#: (MOS chorales at 100 BPM; NMED-T songs vary, so none).
BEAT_PERIOD = {"mos": 0.6, "nmedt": None}


def gan_params(device, decoder_steps=None, encoder_epochs=None):
    """GAN settings (``gan_params`` of the registry) on ``device``: the ``gpu`` preset on CUDA.

    ``decoder_steps`` and ``encoder_epochs`` override the preset's stages when given.
    """
    params = dict(device=device)
    if str(device).startswith("cuda"):
        params["preset"] = "gpu"
    stages = dict(decoder_steps=decoder_steps, encoder_epochs=encoder_epochs)
    return {**params, **{k: v for k, v in stages.items() if v is not None}}


#: Fewest subjects for a ``gkf`` split that holds out two subjects per fold in >= 2 folds.
MIN_GKF_SUBJECTS = 4


def group_k(n_subjects):
    """Folds of the ``gkf`` split: 5, or ``n_subjects // 2`` below 10 subjects.

    ``GroupKFold(min(5, n_subjects))`` on 4 subjects is leave-one-subject-out
    with the folds in another order; holding out at least two subjects per
    fold keeps the split distinct (fewer training subjects, several unseen
    subjects at once).
    """
    if n_subjects < MIN_GKF_SUBJECTS:
        raise ValueError(
            f"the gkf split needs at least {MIN_GKF_SUBJECTS} subjects; got {n_subjects}."
        )
    return 5 if n_subjects >= 10 else n_subjects // 2


def splits(n_subjects, seed):
    """Split name (as in the tables) -> splitter; the ``gkf`` key is ``gkf<k>``."""
    k = group_k(n_subjects) if n_subjects >= MIN_GKF_SUBJECTS else None
    return {
        "within": WithinSubjectTimeSplit(n_splits=2),
        "loso": LeaveOneGroupOut(),
        **({f"gkf{k}": GroupKFold(n_splits=k)} if k else {}),
        "subject-time": SubjectTimeSplit(n_splits=min(4, n_subjects), random_state=seed),
    }


#: Columns of the table: feature level (decoded log-mel at the EEG rate), then
#: waveform level (the synthesised audio); the rest is in the CSV.
TABLE_COLUMNS = [
    "data",
    "split",
    "condition",
    "model",
    "folds",
    "feature r [95% CI]",
    "feature r beyond beat",
    "feature id (chance)",
    "mel r [95% CI]",
    "mm",
    "song id (chance)",
]


def _interval(row, metric):
    if pd.isna(row.get(metric)):
        return "–"
    lo, hi = format_number(row.get(f"{metric}_lo")), format_number(row.get(f"{metric}_hi"))
    return f"{format_number(row[metric])} [{lo}, {hi}]"


def quality_table(summary):
    """The printed table: one row per (data, split, condition, model), formatted strings.

    Parameters
    ----------
    summary : pandas.DataFrame
        :meth:`~sk_eeg2music.evaluation.Evaluation.summary` rows with a ``data`` column.

    Returns
    -------
    table : pandas.DataFrame
        Columns :data:`TABLE_COLUMNS`; ``–`` where a metric is absent.
    """
    rows = []
    for _, r in summary.iterrows():
        rows.append(
            {
                "data": r["data"],
                "split": r["split"],
                "condition": r["condition"],
                "model": r["model"],
                "folds": int(r["n_folds"]),
                "feature r [95% CI]": _interval(r, "feature_r"),
                "feature r beyond beat": format_number(r.get("feature_r_beat")),
                "feature id (chance)": f"{format_number(r.get('feature_id_acc'))} "
                f"({format_number(r.get('id_chance'))})",
                "mel r [95% CI]": _interval(r, "mel_r"),
                "mm": format_number(r.get("mm_acc")),
                "song id (chance)": f"{format_number(r.get('song_acc'))} "
                f"({format_number(r.get('song_chance'))})",
            }
        )
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small CPU configuration")
    parser.add_argument("--kinds", nargs="+", default=["mos", "nmedt"])
    parser.add_argument("--splits", nargs="+", default=["within", "loso", "gkf", "subject-time"])
    parser.add_argument(
        "--models", nargs="+", default=list(DEFAULT_MODELS), choices=list(MODELS), metavar="NAME"
    )
    parser.add_argument("--max-folds", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--n-subjects", type=int, default=None)
    parser.add_argument("--decoder-steps", type=int, default=None, help="default: the preset's")
    parser.add_argument("--encoder-epochs", type=int, default=None, help="default: the preset's")
    parser.add_argument(
        "--nmedt-rate",
        type=float,
        default=None,
        help=f"resample NMED-T's EEG to this rate (Hz) in every pipeline "
        f"(default: {QUICK_NMEDT_RATE:g} with --quick, else the recorded 125)",
    )
    parser.add_argument("--n-iter", type=int, default=32, help="Griffin-Lim iterations")
    parser.add_argument(
        "--audio-sfreq", type=int, default=None, help="audio rate (Hz); default: the simulator's"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="folds fitted in parallel (default: 2 with --quick on the CPU, else 1)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--csv", type=Path, default=Path("benchmarks/quality.csv"))
    parser.add_argument("--doc", type=Path, default=DOC, help="markdown file to update")
    parser.add_argument("--no-doc", action="store_true", help="do not update the markdown")
    return parser.parse_args(argv)


def run(args, settings, label, done):
    """Evaluate every (kind, split, model); append each finished run's Evaluation to ``done``."""
    for kind in args.kinds:
        data = make_simulated(
            kind,
            n_subjects=settings["n_subjects"],
            segment_seconds=3.0,
            stimulus_seconds=QUICK_STIMULUS_SECONDS.get(kind) if args.quick else None,
            random_state=args.seed,
            **({"audio_sfreq": args.audio_sfreq} if args.audio_sfreq else {}),
        )
        print(data, file=sys.stderr)
        rate = settings["nmedt_rate"]
        resample = rate if kind == "nmedt" and rate and rate != data.sfreq else None
        for split_name, cv in splits(settings["n_subjects"], args.seed).items():
            family = "gkf" if split_name.startswith("gkf") else split_name
            if family not in args.splits and split_name not in args.splits:
                continue
            for name in args.models:
                # One model per call, so a run stopped by its time limit keeps the models done.
                models = make_models(
                    data.sfreq,
                    [name],
                    epochs=settings["epochs"],
                    seed=args.seed,
                    preprocessing={"resample": resample} if resample else None,
                    gan_params=gan_params(args.device, args.decoder_steps, args.encoder_epochs),
                    n_iter=args.n_iter,
                    beat_period=BEAT_PERIOD.get(kind),
                )
                ev = evaluate_models(
                    models,
                    data,
                    cv,
                    split=split_name,
                    max_folds=settings["max_folds"],
                    n_jobs=settings["n_jobs"],
                    progress=False,
                    log=lambda m: print(m, file=sys.stderr),
                )
                for frame in (ev.folds, ev.trials):
                    frame["data"] = f"simulated {kind}"
                    frame["device"] = label
                done.append(ev)
                pd.concat([e.folds for e in done], ignore_index=True).to_csv(args.csv, index=False)


def summarize_runs(evaluations):
    """One summary row per (data, split, condition, model), with p-values against references.

    Parameters
    ----------
    evaluations : list of Evaluation
        One per (data, split, model), with a ``data`` column in ``folds`` and ``trials``.

    Returns
    -------
    summary : pandas.DataFrame
        :meth:`~sk_eeg2music.evaluation.Evaluation.summary` of each (data, split)
        with its ``data`` column, in run order.
    """
    folds = pd.concat([e.folds for e in evaluations], ignore_index=True)
    trials = pd.concat([e.trials for e in evaluations], ignore_index=True)
    out = []
    for (data, split), f in folds.groupby(["data", "split"], sort=False):
        t = trials[(trials["data"] == data) & (trials["split"] == split)].drop(columns="data")
        ev = Evaluation(folds=f.drop(columns="data"), trials=t, predictions=None, split=split)
        out.append(ev.summary().assign(data=data))
    return pd.concat(out, ignore_index=True)


def main(argv=None):
    args = parse_args(argv)
    settings = dict(
        n_subjects=args.n_subjects or (4 if args.quick else 8),
        epochs=args.epochs or (4 if args.quick else 60),
        max_folds=args.max_folds or (2 if args.quick else None),
        n_jobs=args.n_jobs or (2 if args.quick and args.device == "cpu" else 1),
        nmedt_rate=args.nmedt_rate or (QUICK_NMEDT_RATE if args.quick else None),
    )
    t_start = time.perf_counter()
    label = device_label(args.device)
    # ``timeout`` sends SIGTERM: stop like Ctrl-C and write what was finished.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    done, stopped = [], None
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    try:
        run(args, settings, label, done)
    except KeyboardInterrupt:
        stopped = len(done)
        print(f"stopped: writing the {stopped} finished model runs", file=sys.stderr)
    if not done:
        print("no model finished; nothing written", file=sys.stderr)
        return 1
    pd.concat([e.folds for e in done], ignore_index=True).to_csv(args.csv, index=False)
    summary = summarize_runs(done)
    elapsed = time.perf_counter() - t_start
    epochs, rate = settings["epochs"], settings["nmedt_rate"]
    header = (
        f"Command: `{command_line('benchmarks/quality.py', argv)}` — "
        f"{datetime.date.today()}, {label}, {machine_label()}, "
        f"sk_eeg2music {sk_eeg2music.__version__}, "
        f"{settings['n_subjects']} subjects, 3-s segments"
        + (
            f", stimuli cut to {QUICK_STIMULUS_SECONDS['nmedt']:g} s (NMED-T) and "
            f"{QUICK_STIMULUS_SECONDS['mos']:g} s (MOS)"
            if args.quick
            else ""
        )
        + (f", NMED-T EEG resampled to {rate:g} Hz" if rate else "")
        + (f", audio at {args.audio_sfreq} Hz" if args.audio_sfreq else "")
        + f", GAN {epochs} epochs ({gan_warmup_epochs(epochs)} of warm-up"
        + (f", {args.decoder_steps} decoder steps" if args.decoder_steps else "")
        + (f", {args.encoder_epochs} encoder epochs" if args.encoder_epochs else "")
        + "), "
        f"{settings['max_folds'] or 'all'} folds per split ({settings['n_jobs']} in parallel), "
        f"{elapsed / 60:.1f} min. Intervals: subject bootstrap over the test trials."
    )
    if stopped is not None:
        header += f" Stopped early (time limit): {stopped} (split, model) runs finished."
    table = markdown_table(quality_table(summary))
    print(header + "\n\n" + table)
    if not args.no_doc:
        marker = "quality" if args.device == "cpu" else f"quality-{args.device.split(':')[0]}"
        write_block(args.doc, marker, header + "\n\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
