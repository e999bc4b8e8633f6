"""NMED-T at its recorded 125 Hz or resampled to 64 Hz: the same harness, both rates.

``benchmarks/quality.py --quick`` resamples NMED-T's EEG to 64 Hz in every
pipeline (the lagged ridge's inner CV is then several times faster). This
script measures what that costs: leave-one-subject-out on the ``--quick`` data
(4 subjects, 3-s segments, 12-s songs), the first ``--max-folds`` folds, the
registry's two linear decoders and GAN (``--quick`` budget) at both rates, all
through :func:`sk_eeg2music.evaluation.evaluate_models` (the rate is the
``resample`` step of the registry's shared front end).

Usage::

    OMP_NUM_THREADS=2 python benchmarks/nmedt_rate.py   # ~11 min on 2 cores

The table goes to stdout and between the ``<!-- nmedt-rate -->`` markers of
``docs/benchmarks.md`` (``--no-doc``: stdout only); the per-fold rows to ``--csv``.
"""

import argparse
import datetime
import sys
from pathlib import Path

import pandas as pd
from sklearn.model_selection import LeaveOneGroupOut

import sk_eeg2music
from sk_eeg2music import make_simulated
from sk_eeg2music.benchmarking import (
    command_line,
    device_label,
    format_number,
    machine_label,
    markdown_table,
    write_block,
)
from sk_eeg2music.evaluation import evaluate_models
from sk_eeg2music.pipelines import MODELS as REGISTRY
from sk_eeg2music.pipelines import make_models

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
#: The registry models whose cost and scores depend on the EEG rate.
MODELS = ("linear-mel", "linear-envelope", "gan")
#: Songs cut to 12 s, as ``quality.py --quick`` does.
STIMULUS_SECONDS = 12.0
#: Summary columns of the table, with their headers.
COLUMNS = {
    "model": "model",
    "n_folds": "folds",
    "feature_r": "feature r",
    "mel_r": "mel r",
    "envelope_r": "envelope r",
    "feature_id_acc": "feature id",
    "song_acc": "song id",
    "fit_seconds": "fit s",
}


def rate_models(sfreq, rates, names=MODELS, epochs=4, seed=0):
    """Registry models at each EEG rate: ``"<name> @ <rate> Hz"`` -> unfitted estimator.

    Parameters
    ----------
    sfreq : float
        Recorded EEG rate (Hz); a rate equal to it adds no resampling.
    rates : sequence of float
        EEG rates (Hz) of the front end.
    names : sequence of str, default=MODELS
        Registry names.
    epochs : int, default=4
        GAN epochs.
    seed : int, default=0

    Returns
    -------
    models : dict of str -> estimator
    """
    out = {}
    for rate in rates:
        pre = None if rate == sfreq else {"resample": rate}
        built = make_models(sfreq, names, epochs=epochs, seed=seed, preprocessing=pre)
        out.update({f"{name} @ {rate:g} Hz": est for name, est in built.items()})
    return out


def rate_table(summary):
    """Formatted table of a summary: one row per (model, condition), headers of :data:`COLUMNS`."""
    table = pd.DataFrame(index=summary.index)
    for c, h in COLUMNS.items():
        values = summary[c] if c in summary else pd.Series(float("nan"), summary.index)
        if c in ("model", "n_folds"):
            table[h] = values
        else:
            table[h] = [format_number(v, 0 if c == "fit_seconds" else 3) for v in values]
    return table.reset_index(drop=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", nargs="+", type=float, default=[125.0, 64.0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(REGISTRY))
    parser.add_argument("--max-folds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--n-subjects", type=int, default=4)
    parser.add_argument("--stimulus-seconds", type=float, default=STIMULUS_SECONDS)
    parser.add_argument("--csv", type=Path, default=Path("benchmarks/nmedt_rate.csv"))
    parser.add_argument("--doc", type=Path, default=DOC)
    parser.add_argument("--no-doc", action="store_true", help="do not update the markdown")
    args = parser.parse_args(argv)
    data = make_simulated(
        "nmedt",
        n_subjects=args.n_subjects,
        segment_seconds=3.0,
        stimulus_seconds=args.stimulus_seconds,
        random_state=0,
    )
    print(data, file=sys.stderr)
    ev = evaluate_models(
        rate_models(data.sfreq, args.rates, args.models, args.epochs),
        data,
        LeaveOneGroupOut(),
        split="loso",
        max_folds=args.max_folds,
        n_jobs=args.n_jobs,
        progress=False,
        log=lambda m: print(m, file=sys.stderr),
    )
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    ev.folds.to_csv(args.csv, index=False)
    summary = ev.summary()
    header = (
        f"`{command_line('benchmarks/nmedt_rate.py', argv)}` ({datetime.date.today()}, "
        f"{device_label('cpu')}, {machine_label()}, sk_eeg2music {sk_eeg2music.__version__}): "
        f"simulated NMED-T, {args.n_subjects} subjects, 3-s segments, "
        f"{args.stimulus_seconds:g}-s songs, leave-one-subject-out, first {args.max_folds} "
        f"fold(s), {args.n_jobs} in parallel; GAN {args.epochs} epochs; fit s per fold."
    )
    table = markdown_table(rate_table(summary))
    print(header + "\n\n" + table)
    if not args.no_doc:
        write_block(args.doc, "nmedt-rate", header + "\n\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
