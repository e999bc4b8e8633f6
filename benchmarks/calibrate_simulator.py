"""Calibrate the simulator's default SNR against real-EEG envelope decoding.

For each kind and each candidate ``snr_db``, simulate the default dataset
(listening only) and run the within-subject backward envelope decoder of
:func:`sk_eeg2music.datasets.simulated.within_subject_envelope_r` for every
subject. The default (``DEFAULT_SNR_DB``) is the SNR whose mean test r falls in
the 0.1-0.2 range reported for real EEG.

Usage::

    python benchmarks/calibrate_simulator.py --kind mos --snr -30 -28 -26
"""

import argparse
import time

import numpy as np

from sk_eeg2music import make_simulated
from sk_eeg2music.datasets.simulated import DEFAULT_SNR_DB, within_subject_envelope_r


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=["mos", "nmedt"], default="mos")
    parser.add_argument("--snr", type=float, nargs="+", default=None)
    parser.add_argument("--n-subjects", type=int, default=4)
    args = parser.parse_args(argv)
    snrs = args.snr or [DEFAULT_SNR_DB[args.kind]]
    print("| kind | snr_db | per-subject r | mean r | seconds |\n|---|---|---|---|---|")
    for snr in snrs:
        t0 = time.perf_counter()
        data = make_simulated(
            args.kind, n_subjects=args.n_subjects, snr_db=snr, conditions=["listening"]
        )
        rs = [within_subject_envelope_r(data, s) for s in np.unique(data.subject)]
        elapsed = time.perf_counter() - t0
        per = ", ".join(f"{r:.3f}" for r in rs)
        print(f"| {args.kind} | {snr:g} | {per} | {np.mean(rs):.3f} | {elapsed:.1f} |")


if __name__ == "__main__":
    main()
