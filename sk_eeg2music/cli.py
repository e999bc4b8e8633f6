"""Command line: ``python -m sk_eeg2music demo --out DIR`` (also ``eeg2music demo``).

Every command that writes a folder checks ``--out`` before doing any work and
writes through :func:`sk_eeg2music.report.atomic_output_dir`, so a bad
``--out`` fails at once with exit status 2 and a failed run leaves nothing
half-written.
"""

import argparse
import sys
import time

from .report import OutputDirError, check_output_dir

#: Exit status for unusable arguments (the same as argparse's).
EXIT_USAGE = 2


def _log(message):
    print(message, file=sys.stderr, flush=True)


def _demo(args):
    from .demo import run_demo

    out = check_output_dir(args.out)
    t0 = time.perf_counter()
    report, summary = run_demo(
        out,
        kind=args.kind,
        n_subjects=args.n_subjects,
        segment_seconds=args.segment_seconds,
        audio_sfreq=args.audio_sfreq,
        n_folds=None if args.full else args.folds,
        epochs=args.epochs,
        seed=args.seed,
    )
    _print_summary(summary)
    print(f"wall time: {time.perf_counter() - t0:.0f} s")
    print(f"report: {report}")
    return 0


def _print_summary(summary):
    cols = ["mel_r", "envelope_r", "id_acc", "id_chance", "song_acc", "song_chance"]
    cols = [c for c in cols if c in summary.columns]
    print(f"{'model':<36} {'split':<22} {'condition':<10} " + " ".join(f"{c:>11}" for c in cols))
    for _, row in summary.iterrows():
        vals = " ".join(f"{row[c]:>11.3f}" for c in cols)
        print(f"{row['model']:<36} {row['split']:<22} {row['condition']:<10} {vals}")


def _evaluate(args):
    import pandas as pd
    from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

    from . import ShuffledPairs, SubjectTimeSplit
    from .evaluation import cross_validate_reconstruction, summarize
    from .pipelines import make_gan_pipeline, make_linear_pipeline
    from .report import atomic_output_dir

    out = check_output_dir(args.out)
    data = _load_dataset(args)
    splits = {
        "loso": LeaveOneGroupOut(),
        "group-kfold": GroupKFold(n_splits=min(5, len(set(data.subject)))),
        "subject-time": SubjectTimeSplit(n_splits=args.n_splits, random_state=args.seed),
    }
    gan = dict(max_epochs=args.epochs, random_state=args.seed, verbose=0)
    models = {
        "gan": lambda: make_gan_pipeline(data.sfreq, **gan),
        "gan-recon-only": lambda: make_gan_pipeline(data.sfreq, lambda_adv=0.0, **gan),
        "linear-mel": lambda: make_linear_pipeline(data.sfreq, target="mel"),
        "linear-envelope": lambda: make_linear_pipeline(data.sfreq, target="envelope"),
        "shuffled-gan": lambda: ShuffledPairs(
            make_gan_pipeline(data.sfreq, **gan), random_state=args.seed
        ),
    }
    scores = []
    for name in args.models:
        _log(f"evaluating {name} under {args.split} ...")
        scores.append(
            cross_validate_reconstruction(
                models[name](),
                data,
                splits[args.split],
                model=name,
                split=args.split,
                max_folds=args.max_folds,
            )
        )
    scores = pd.concat(scores, ignore_index=True)
    summary = summarize(scores)
    with atomic_output_dir(out) as tmp:
        scores.to_csv(tmp / "folds.csv", index=False)
        summary.to_csv(tmp / "metrics.csv", index=False)
        summary.to_json(tmp / "metrics.json", orient="records", indent=1)
    _print_summary(summary)
    print(f"metrics: {out / 'metrics.csv'}")
    return 0


def _load_dataset(args):
    from . import load_mos, load_nmedt, make_simulated

    if args.dataset == "simulated":
        return make_simulated(
            kind=args.kind,
            n_subjects=args.n_subjects,
            segment_seconds=args.segment_seconds,
            random_state=args.seed,
        )
    if args.data_dir is None:
        raise ValueError(f"--data-dir is required for --dataset {args.dataset}.")
    if args.dataset == "nmedt":
        return load_nmedt(
            args.data_dir, audio_dir=args.audio_dir, segment_seconds=args.segment_seconds
        )
    return load_mos(args.data_dir, segment_seconds=args.segment_seconds)


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number; got {text}")
    return value


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
        description="Simulate EEG and music, evaluate on held-out data and write DIR/report.html "
        "with audio players, spectrograms and a metrics table (plus WAV files, metrics.csv "
        "and metrics.json).",
        epilog="examples:\n"
        "  python -m sk_eeg2music demo --out demo_output\n"
        "  eeg2music demo --out nmedt_report --kind nmedt --n-subjects 2\n"
        "  eeg2music demo --out quick --audio-sfreq 8000 --segment-seconds 2",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--out",
        default="demo_output",
        help="output folder: new, empty, or a previous report (replaced) (default: %(default)s)",
    )
    demo.add_argument(
        "--kind", choices=["mos", "nmedt"], default="mos", help="simulated dataset (default: mos)"
    )
    demo.add_argument("--n-subjects", type=_positive_int, default=4, help="(default: 4)")
    demo.add_argument("--segment-seconds", type=_positive_float, default=4.0, help="(default: 4.0)")
    demo.add_argument(
        "--audio-sfreq",
        type=_positive_int,
        default=16000,
        help="audio rate (Hz), a multiple of the EEG rate (default: 16000)",
    )
    demo.add_argument("--seed", type=int, default=0, help="(default: 0)")
    demo.add_argument(
        "--folds", type=_positive_int, default=2, help="held-out subjects to run (default: 2)"
    )
    demo.add_argument("--full", action="store_true", help="run every leave-one-subject-out fold")
    demo.add_argument(
        "--epochs", type=_positive_int, default=8, help="GAN epochs per fold (default: 8)"
    )
    demo.set_defaults(func=_demo)

    ev = sub.add_parser(
        "evaluate",
        help="cross-validate pipelines and write a metrics table",
        description="Cross-validate the GAN, its ablation, the linear decoders and the "
        "shuffled control on a dataset; print mean +/- 95%% CI over folds and write "
        "DIR/metrics.csv, DIR/metrics.json and DIR/folds.csv.",
        epilog="examples:\n"
        "  eeg2music evaluate --out eval_mos --dataset simulated --kind mos --split loso\n"
        "  eeg2music evaluate --out eval_nmedt --dataset nmedt --data-dir NMED-T "
        "--audio-dir songs --models linear-envelope gan --split group-kfold\n"
        "  eeg2music evaluate --out eval_st --split subject-time --max-folds 2",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ev.add_argument("--out", required=True, help="output folder")
    ev.add_argument("--dataset", choices=["simulated", "nmedt", "mos"], default="simulated")
    ev.add_argument("--kind", choices=["mos", "nmedt"], default="mos", help="for simulated data")
    ev.add_argument("--data-dir", default=None, help="dataset folder (nmedt, mos)")
    ev.add_argument("--audio-dir", default=None, help="NMED-T audio folder (song21.wav, ...)")
    ev.add_argument("--n-subjects", type=_positive_int, default=4, help="simulated subjects")
    ev.add_argument("--segment-seconds", type=_positive_float, default=4.0)
    ev.add_argument("--split", choices=["loso", "group-kfold", "subject-time"], default="loso")
    ev.add_argument("--n-splits", type=_positive_int, default=4, help="for subject-time")
    ev.add_argument("--max-folds", type=_positive_int, default=None)
    ev.add_argument(
        "--models",
        nargs="+",
        default=["linear-mel", "linear-envelope"],
        choices=["gan", "gan-recon-only", "linear-mel", "linear-envelope", "shuffled-gan"],
    )
    ev.add_argument("--epochs", type=_positive_int, default=8, help="GAN epochs")
    ev.add_argument("--seed", type=int, default=0)
    ev.set_defaults(func=_evaluate)
    return parser


def main(argv=None):
    """Entry point of ``python -m sk_eeg2music`` and the ``eeg2music`` script.

    Parameters
    ----------
    argv : list of str | None
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success; 2 for bad arguments (argparse), an output folder that cannot be
        written, or input rejected with a ValueError (the message says why).
    """
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (OutputDirError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
