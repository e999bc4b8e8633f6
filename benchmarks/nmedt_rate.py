"""NMED-T at its recorded 125 Hz or resampled to 64 Hz: the same harness, both rates.

``benchmarks/quality.py --quick`` resamples NMED-T's EEG to 64 Hz in every
pipeline (the lagged ridge's inner CV is then several times faster). This
script measures what that costs: leave-one-subject-out on the ``--quick`` data
(4 subjects, 3-s segments, 12-s songs), the first ``--max-folds`` folds, the two
linear decoders and the GAN (``--quick`` budget) at both rates.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/nmedt_rate.py   # ~11 min on 2 cores
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/quality.py

import pandas as pd
from quality import QUICK_STIMULUS_SECONDS, models  # noqa: E402
from sklearn.model_selection import LeaveOneGroupOut

from sk_eeg2music import make_simulated
from sk_eeg2music.evaluation import cross_validate_reconstruction, summarize

#: The models of ``quality.py`` whose cost and scores depend on the EEG rate.
MODELS = ("Linear (mel)", "Linear (envelope)", "GAN")

COLUMNS = ["model", "n_folds", "mel_r", "envelope_r", "id_acc", "song_acc", "fit_seconds"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", nargs="+", type=float, default=[125.0, 64.0])
    parser.add_argument("--max-folds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--csv", type=Path, default=Path("benchmarks/nmedt_rate.csv"))
    args = parser.parse_args(argv)
    data = make_simulated(
        "nmedt",
        n_subjects=4,
        segment_seconds=3.0,
        stimulus_seconds=QUICK_STIMULUS_SECONDS["nmedt"],
        random_state=0,
    )
    rows = []
    for rate in args.rates:
        pre = None if rate == data.sfreq else {"resample": rate}
        # The same factories as quality.py, so both scripts fit identical pipelines.
        factories = models(data.sfreq, args.epochs, "cpu", 0, pre)
        for name in MODELS:
            s = cross_validate_reconstruction(
                factories[name](),
                data,
                LeaveOneGroupOut(),
                model=f"{name} @ {rate:g} Hz",
                split="loso",
                max_folds=args.max_folds,
                n_jobs=args.n_jobs,
            )
            rows.append(s)
            pd.concat(rows, ignore_index=True).to_csv(args.csv, index=False)
    summary = summarize(pd.concat(rows, ignore_index=True))
    print(summary[[c for c in COLUMNS if c in summary]].round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
