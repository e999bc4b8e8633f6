"""Command line: ``python -m sk_eeg2music demo --out DIR`` (also ``eeg2music demo``).

Every command that writes a folder checks ``--out`` before doing any work and
writes through :func:`sk_eeg2music.report.atomic_output_dir`, so a bad
``--out`` fails at once with exit status 2 and a failed run leaves nothing
half-written.
"""

import argparse
import sys
import time

import numpy as np

from .report import OutputDirError, check_output_dir, write_report

#: Exit status for unusable arguments (the same as argparse's).
EXIT_USAGE = 2

_BASELINE_LABEL = "Mean-spectrum baseline (no EEG)"


def _log(message):
    print(message, file=sys.stderr, flush=True)


def _mean_spectrum_noise(y_train, n_audio, n_outputs, random_state=None):
    """Noise with the average power spectrum of training waveforms.

    A reconstruction that uses no EEG: it has the right average spectrum but no
    time structure, so its band-wise mel correlation with any target is ~0. It
    is the floor an EEG decoder must beat.

    Parameters
    ----------
    y_train : ndarray, shape (n_train, n_audio_train)
        Training waveforms (never the test music).
    n_audio : int
        Length of each output waveform.
    n_outputs : int
        Number of independent noise waveforms to draw.
    random_state : int | numpy.random.Generator | None
        Seeds the random phases.

    Returns
    -------
    noise : ndarray, shape (n_outputs, n_audio), float32
        Scaled to the mean RMS of ``y_train``.
    """
    rng = np.random.default_rng(random_state)
    y_train = np.asarray(y_train, dtype=np.float64)
    power = np.zeros(n_audio // 2 + 1)
    for row in y_train:  # one row at a time: the batch FFT would hold GBs for long audio
        power += np.abs(np.fft.rfft(row, n=n_audio)) ** 2
    phase = np.exp(2j * np.pi * rng.random((n_outputs, power.size)))
    noise = np.fft.irfft(np.sqrt(power / len(y_train)) * phase, n=n_audio)
    rms_train = np.sqrt(np.mean(y_train**2))
    rms = np.sqrt(np.mean(noise**2, axis=1, keepdims=True))
    return (noise * rms_train / np.where(rms > 0, rms, 1.0)).astype(np.float32)


def _held_out_segments(n_segments, fraction, rng):
    """Sorted segment indices held out for testing (at least one, never all)."""
    n_test = min(max(1, int(round(fraction * n_segments))), n_segments - 1)
    if n_test < 1:
        raise ValueError(
            "each stimulus has a single segment, so no segment is left for training; "
            "use a shorter --segment-seconds."
        )
    return np.sort(rng.choice(n_segments, n_test, replace=False))


def _baseline_report(data, rng):
    """Items and metrics of the mean-spectrum baseline on held-out segments."""
    from .metrics import mel_correlation

    test_segments = _held_out_segments(int(data.segment.max()) + 1, 0.25, rng)
    is_test = np.isin(data.segment, test_segments)
    # The music of a (stimulus, segment, condition) is the same for every
    # subject: keep one trial of each, so no clip is scored twice.
    _, first = np.unique(
        np.char.add(data.segment_id, np.char.add("/", data.condition)), return_index=True
    )
    train = np.sort(first[~is_test[first]])
    test = np.sort(first[is_test[first]])
    y = data.require_y()
    pred = _mean_spectrum_noise(y[train], y.shape[1], len(test), rng)
    shown = set()
    items, metrics = [], []
    for k, i in enumerate(test):
        key = (data.stimulus[i], data.condition[i])
        if key in shown:  # one segment per stimulus and condition on the page
            continue
        shown.add(key)
        items.append(
            dict(
                stimulus=data.stimulus[i],
                segment=int(data.segment[i]),
                condition=data.condition[i],
                original=y[i],
                reconstructions=[dict(label=_BASELINE_LABEL, audio=pred[k])],
            )
        )
    for cond in sorted(set(data.condition[test])):
        sel = data.condition[test] == cond
        metrics.append(
            dict(
                model=_BASELINE_LABEL,
                split="held-out segments (time-disjoint)",
                condition=cond,
                n_test_clips=int(sel.sum()),
                mel_r=mel_correlation(y[test[sel]], pred[sel], sfreq=data.audio_sfreq),
                chance_mel_r=0.0,
            )
        )
    items.sort(key=lambda it: (it["stimulus"], it["segment"]))
    return items, metrics, test_segments


def _demo(args):
    from . import make_simulated

    out = check_output_dir(args.out)
    t0 = time.perf_counter()
    _log(f"simulating {args.kind} data for {args.n_subjects} subjects ...")
    data = make_simulated(
        kind=args.kind,
        n_subjects=args.n_subjects,
        segment_seconds=args.segment_seconds,
        audio_sfreq=args.audio_sfreq,
        random_state=args.seed,
    )
    _log(f"  {data} in {time.perf_counter() - t0:.1f} s")
    rng = np.random.default_rng(args.seed)
    items, metrics, test_segments = _baseline_report(data, rng)
    _log(f"writing {sum(1 + len(it['reconstructions']) for it in items)} clips to {out} ...")
    split = (
        f"Time-disjoint split: segments {', '.join(map(str, test_segments))} of every stimulus "
        "are held out; the baseline's spectrum is averaged over the other segments only. "
        "The baseline uses no EEG, so subjects play no part and its expected mel r is 0 "
        "(the chance level)."
    )
    report = write_report(
        out,
        items,
        metrics,
        sfreq=data.audio_sfreq,
        title=f"EEG-to-music reconstruction: simulated {args.kind.upper()}",
        split_description=split,
        meta={
            "data": (
                f"simulated {args.kind}: {len(set(data.subject))} subjects, "
                f"{len(set(data.stimulus))} stimuli, conditions "
                f"{', '.join(sorted(set(data.condition), reverse=True))}; EEG "
                f"{data.X.shape[1]} channels at {data.sfreq:g} Hz, audio at {data.audio_sfreq} Hz"
            ),
            "segment length": f"{args.segment_seconds:g} s",
            "seed": args.seed,
        },
        notes=[
            f"Reconstructions on this page come from the {_BASELINE_LABEL}: noise with "
            "the average spectrum of the training music. It is the floor an EEG decoder must "
            "beat."
        ],
    )
    print(f"{'model':<34} {'condition':<10} {'mel r':>7} {'chance':>7}")
    for row in metrics:
        print(
            f"{row['model']:<34} {row['condition']:<10} {row['mel_r']:>7.3f} "
            f"{row['chance_mel_r']:>7.3f}"
        )
    print(f"report: {report}")
    return 0


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
    demo.set_defaults(func=_demo)
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
