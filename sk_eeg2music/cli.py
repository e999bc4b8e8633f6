"""Command line: ``python -m sk_eeg2music demo --out DIR``."""

import argparse
import sys
import time

import numpy as np


def _demo(args):
    from . import make_simulated
    from .datasets.simulated import within_subject_envelope_r

    t0 = time.perf_counter()
    data = make_simulated(kind=args.kind, n_subjects=args.n_subjects, random_state=args.seed)
    print(f"simulated {data} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    rs = {s: within_subject_envelope_r(data, s) for s in np.unique(data.subject)}
    print("within-subject backward envelope decoder (time-disjoint segments):")
    for s, r in rs.items():
        print(f"  {s}: test Pearson r = {r:.3f}")
    print(f"  mean r = {np.mean(list(rs.values())):.3f}")
    return 0


def build_parser():
    """The argument parser with one sub-command per task."""
    parser = argparse.ArgumentParser(
        prog="python -m sk_eeg2music",
        description="Reconstruct perceived and imagined music from EEG.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="simulate data, fit, evaluate and write a report",
        epilog="example: python -m sk_eeg2music demo --out demo_output --kind mos",
    )
    demo.add_argument("--out", default="demo_output", help="output folder")
    demo.add_argument("--kind", choices=["mos", "nmedt"], default="mos")
    demo.add_argument("--n-subjects", type=int, default=4)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None):
    """Entry point of ``python -m sk_eeg2music`` and the ``eeg2music`` script."""
    args = build_parser().parse_args(argv)
    return args.func(args)
