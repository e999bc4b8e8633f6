"""Calibrate the simulator's default SNR against real-EEG envelope decoding.

For each candidate ``snr_db``, simulate the real design of a kind (listening
only, :func:`sk_eeg2music.datasets.simulated.real_design`: MOS 11 repetitions
of 4 chorales of 28.2 s; NMED-T 10 songs of 270 s) and run the within-subject
backward envelope decoder of
:func:`sk_eeg2music.datasets.simulated.within_subject_envelope_r` for every
subject: the package's lagged ridge (lags 0-250 ms, alpha by inner CV),
trained on all but one repetition of each stimulus and tested on the held-out
repetition (NMED-T, one presentation: on the held-out song). The default
(``DEFAULT_SNR_DB``) is the SNR whose mean test r is about 0.1-0.15.

Subject ``i`` is the same whatever ``--n-subjects``, so a subset of subjects
calibrates the same population as the full design. Audio is simulated at
``--audio-sfreq`` (the envelope hardly depends on it).

Usage::

    python benchmarks/calibrate_simulator.py --kind mos --snr -36 -34 -32 --n-subjects 6
"""

import argparse
import time

import numpy as np

from sk_eeg2music import make_simulated
from sk_eeg2music.datasets.simulated import (
    DEFAULT_SNR_DB,
    real_design,
    within_subject_envelope_r,
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=["mos", "nmedt"], default="mos")
    parser.add_argument("--snr", type=float, nargs="+", default=None)
    parser.add_argument("--n-subjects", type=int, default=6)
    parser.add_argument("--n-stimuli", type=int, default=None, help="first N stimuli only")
    parser.add_argument("--max-folds", type=int, default=None, help="held-out groups per subject")
    parser.add_argument("--inner-cv", type=int, default=3)
    parser.add_argument("--audio-sfreq", type=int, default=16000)
    args = parser.parse_args(argv)
    snrs = args.snr or [DEFAULT_SNR_DB[args.kind]]
    design = real_design(
        args.kind,
        n_subjects=args.n_subjects,
        conditions=["listening"],
        audio_sfreq=args.audio_sfreq,
    )
    if args.n_stimuli is not None:
        from sk_eeg2music.datasets._music import MOS_IDS, NMEDT_IDS

        design["stimuli"] = (MOS_IDS if args.kind == "mos" else NMEDT_IDS)[: args.n_stimuli]
    shown = {k: v for k, v in design.items() if k not in ("conditions", "kind")}
    print(f"kind={args.kind} design={shown} max_folds={args.max_folds} inner_cv={args.inner_cv}")
    print("| kind | snr_db | per-subject r | mean r | seconds |\n|---|---|---|---|---|")
    for snr in snrs:
        t0 = time.perf_counter()
        data = make_simulated(**design, snr_db=snr)
        rs = [
            within_subject_envelope_r(data, s, max_folds=args.max_folds, inner_cv=args.inner_cv)
            for s in np.unique(data.subject)
        ]
        elapsed = time.perf_counter() - t0
        per = ", ".join(f"{r:.3f}" for r in rs)
        print(f"| {args.kind} | {snr:g} | {per} | {np.mean(rs):.3f} | {elapsed:.1f} |", flush=True)
        del data


if __name__ == "__main__":
    main()
