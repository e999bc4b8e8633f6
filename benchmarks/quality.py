"""Reconstruction quality under four split types, with baselines and controls.

Every model runs in the same harness
(:func:`sk_eeg2music.evaluation.cross_validate_reconstruction`) on simulated
data at the calibrated default SNR; MOS listening and imagery are reported
separately. Splits:

* ``within``: within-subject, time-disjoint (each subject's held-out segment
  indices; training on that subject's other segments);
* ``loso``: cross-subject, leave-one-subject-out;
* ``gkf``: ``GroupKFold(k)`` over subjects, labelled ``gkf<k>`` in the tables:
  ``k = 5`` from 10 subjects on, else ``n_subjects // 2`` (see :func:`group_k`),
  so that every fold holds out at least two subjects and the split is not
  leave-one-subject-out under another name;
* ``subject-time``: subject-AND-time-disjoint (:class:`~sk_eeg2music.SubjectTimeSplit`):
  the music of a test segment was never heard in training.

Writes ``--csv`` (one row per fold and condition) and the summary tables
(mean ± 95 % CI over folds) into ``docs/benchmarks.md`` between the
``<!-- quality -->`` markers, with the command, date, machine and version.

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

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/_doc.py

import numpy as np
import pandas as pd
from _doc import DOC, device_label, machine_label, write_doc  # noqa: E402, F401
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

import sk_eeg2music
from sk_eeg2music import MeanSpectrumBaseline, ShuffledPairs, SubjectTimeSplit, make_simulated
from sk_eeg2music.evaluation import cross_validate_reconstruction, summarize
from sk_eeg2music.model_selection import WithinSubjectTimeSplit
from sk_eeg2music.pipelines import make_gan_pipeline, make_linear_pipeline

#: ``--quick`` simulates shorter stimuli to stay within 20 min on 2 cores: NMED-T
#: songs of 12 s (4 segments, the fewest :class:`SubjectTimeSplit` with 4 folds
#: accepts) and MOS chorales of 12 s (4 segments instead of 9).
QUICK_STIMULUS_SECONDS = {"nmedt": 12.0, "mos": 12.0}
#: ``--quick`` resamples NMED-T's 125-Hz EEG to 64 Hz in every pipeline's front end
#: (the usual rate of temporal-response-function work): the lagged ridge's Gram is
#: then 2125² instead of 4000² and its inner CV 3-5x faster. ``benchmarks/nmedt_rate.py``
#: compares the two rates in the same harness.
QUICK_NMEDT_RATE = 64.0


def warmup_epochs(epochs):
    """GAN warm-up that lets the discriminator start within the run.

    The default of 5 epochs would make a short run reconstruction-only, the
    same model as the ``lambda_adv=0`` ablation.
    """
    return min(5, max(1, epochs // 3))


def models(sfreq, epochs, device, seed, preprocessing=None):
    """Model name -> factory of a fresh estimator; every pipeline shares ``preprocessing``."""
    gan = dict(
        preprocessing=preprocessing,
        max_epochs=epochs,
        warmup_epochs=warmup_epochs(epochs),
        random_state=seed,
        verbose=0,
        device=device,
    )
    if str(device).startswith("cuda"):
        gan["preset"] = "gpu"
    return {
        "GAN": lambda: make_gan_pipeline(sfreq, **gan),
        "GAN, lambda_adv=0": lambda: make_gan_pipeline(sfreq, lambda_adv=0.0, **gan),
        "Linear (mel)": lambda: make_linear_pipeline(
            sfreq, target="mel", preprocessing=preprocessing
        ),
        "Linear (envelope)": lambda: make_linear_pipeline(
            sfreq, target="envelope", preprocessing=preprocessing
        ),
        "ShuffledPairs(GAN)": lambda: ShuffledPairs(
            make_gan_pipeline(sfreq, **gan), random_state=seed
        ),
        # Ignores the EEG, so it has no front end: it sees the recorded rate.
        "Mean spectrum": lambda: MeanSpectrumBaseline(sfreq=sfreq, random_state=seed),
    }


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


def markdown(summary):
    cols = ["mel_r", "envelope_r", "mcd", "id_acc", "song_acc"]
    head = "| data | split | condition | model | folds | " + " | ".join(cols)
    head += " | id chance | song chance | id p (binomial, mean) |"
    lines = [head, "|" + "---|" * (len(cols) + 8)]
    for _, r in summary.iterrows():
        vals = []
        for c in cols:
            m, ci = r.get(c, np.nan), r.get(f"{c}_ci", np.nan)
            vals.append(
                "n/a" if pd.isna(m) else f"{m:.3f} ± {ci:.3f}" if pd.notna(ci) else f"{m:.3f}"
            )
        lines.append(
            f"| {r['data']} | {r['split']} | {r['condition']} | {r['model']} | {r['n_folds']} | "
            + " | ".join(vals)
            + f" | {r.get('id_chance', np.nan):.3f} | {r.get('song_chance', np.nan):.3f} "
            f"| {r.get('id_p', np.nan):.3g} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small CPU configuration")
    parser.add_argument("--kinds", nargs="+", default=["mos", "nmedt"])
    parser.add_argument("--splits", nargs="+", default=["within", "loso", "gkf", "subject-time"])
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--max-folds", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--n-subjects", type=int, default=None)
    parser.add_argument(
        "--nmedt-rate",
        type=float,
        default=None,
        help=f"resample NMED-T's EEG to this rate (Hz) in every pipeline "
        f"(default: {QUICK_NMEDT_RATE:g} with --quick, else the recorded 125)",
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
    args = parser.parse_args(argv)
    n_subjects = args.n_subjects or (4 if args.quick else 8)
    epochs = args.epochs or (4 if args.quick else 60)
    max_folds = args.max_folds or (2 if args.quick else None)
    n_jobs = args.n_jobs or (2 if args.quick and args.device == "cpu" else 1)
    nmedt_rate = args.nmedt_rate or (QUICK_NMEDT_RATE if args.quick else None)
    t_start = time.perf_counter()
    label = device_label(args.device)
    # ``timeout`` sends SIGTERM: stop like Ctrl-C and write what was finished.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    rows, stopped = [], None
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    try:
        for kind in args.kinds:
            data = make_simulated(
                kind,
                n_subjects=n_subjects,
                segment_seconds=3.0,
                stimulus_seconds=QUICK_STIMULUS_SECONDS.get(kind) if args.quick else None,
                random_state=args.seed,
            )
            print(data, file=sys.stderr)
            resample = nmedt_rate if kind == "nmedt" and nmedt_rate != data.sfreq else None
            preprocessing = {"resample": resample} if resample else None
            all_models = models(data.sfreq, epochs, args.device, args.seed, preprocessing)
            for split_name, cv in splits(n_subjects, args.seed).items():
                family = "gkf" if split_name.startswith("gkf") else split_name
                if family not in args.splits and split_name not in args.splits:
                    continue
                for name, factory in all_models.items():
                    if args.models and name not in args.models:
                        continue
                    s = cross_validate_reconstruction(
                        factory(),
                        data,
                        cv,
                        model=name,
                        split=split_name,
                        max_folds=max_folds,
                        n_jobs=n_jobs,
                    )
                    s["data"] = f"simulated {kind}"
                    s["device"] = label
                    rows.append(s)
                    pd.concat(rows, ignore_index=True).to_csv(args.csv, index=False)
                    print(summarize(s).to_string(), file=sys.stderr)
    except KeyboardInterrupt:
        stopped = len(rows)
        print(f"stopped: writing the {stopped} finished model runs", file=sys.stderr)
    if not rows:
        print("no model finished; nothing written", file=sys.stderr)
        return 1
    scores = pd.concat(rows, ignore_index=True)
    scores.to_csv(args.csv, index=False)
    summary = pd.concat(
        [summarize(g).assign(data=d) for d, g in scores.groupby("data", sort=False)],
        ignore_index=True,
    )
    elapsed = time.perf_counter() - t_start
    header = (
        f"Command: `python benchmarks/quality.py {' '.join(argv or sys.argv[1:])}` — "
        f"{datetime.date.today()}, {label}, {machine_label()}, "
        f"sk_eeg2music {sk_eeg2music.__version__}, "
        f"{n_subjects} subjects, 3-s segments"
        + (
            f", stimuli cut to {QUICK_STIMULUS_SECONDS['nmedt']:g} s (NMED-T) and "
            f"{QUICK_STIMULUS_SECONDS['mos']:g} s (MOS)"
            if args.quick
            else ""
        )
        + (f", NMED-T EEG resampled to {nmedt_rate:g} Hz" if nmedt_rate else "")
        + f", GAN {epochs} epochs ({warmup_epochs(epochs)} of warm-up), "
        f"{max_folds or 'all'} folds per split ({n_jobs} in parallel), {elapsed / 60:.1f} min."
    )
    if stopped is not None:
        header += f" Stopped early (time limit): {stopped} (split, model) runs finished."
    table = markdown(summary)
    print(header + "\n\n" + table)
    if not args.no_doc:
        marker = "quality" if args.device == "cpu" else f"quality-{args.device.split(':')[0]}"
        write_doc(header + "\n\n" + table, marker=marker, path=args.doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
