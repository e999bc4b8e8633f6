"""The ``listen`` and ``listen-report`` sub-commands (wired in by :mod:`sk_eeg2music.cli`)."""

import argparse
import sys
import textwrap


def _log(message):
    print(message, file=sys.stderr, flush=True)


def _listen(args):
    from ._build import make_test
    from ._serve import serve

    if args.run_dir is None and not args.serve:
        raise ValueError("pass --from RUN_DIR to build a test, or --serve to serve one.")
    if args.run_dir is not None:
        page = make_test(
            args.run_dir,
            args.out,
            seed=args.seed,
            afc=not args.no_afc,
            anchor_hz=args.anchor_hz,
            overwrite_ratings=args.overwrite_ratings,
        )
        print(f"listening test: {page}")
    if args.serve:
        server = serve(args.out, port=args.port)
        print(
            f"serving {args.out} on http://127.0.0.1:{server.server_port}/ (127.0.0.1 only); "
            "ratings are stored in its ratings/ folder. Stop with Ctrl-C.",
            flush=True,
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0


def _listen_report(args):
    from ._analyze import write_summary

    page, summary = write_summary(
        args.test_dir,
        args.out,
        ratings=args.ratings,
        screen=not args.no_screening,
        baselines=args.baselines,
    )
    cols = ["condition", "system", "n_ratings", "median", "q1", "q3", "afc_accuracy", "afc_p"]
    table = summary[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}")
    print(table)
    friedman = summary.attrs["friedman"]
    for row in friedman.itertuples():
        print(
            f"Friedman ({row.condition}): chi2={row.statistic:.3g}, p={row.p:.3g}, "
            f"{row.n_blocks} blocks, {row.n_systems} systems"
        )
    excluded = summary.attrs["excluded"]
    print(f"post-screening excluded: {', '.join(excluded) if excluded else 'none'}")
    print(f"summary: {page}")
    return 0


def _port(text):
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number 0-65535; got {text}")
    return value


def _wrap(text):
    return textwrap.fill(text, width=79)


def add_listen_parsers(subparsers):
    """Add the ``listen`` and ``listen-report`` sub-commands to a CLI.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers()`` returned; each new parser sets
        ``func`` to its handler (called with the parsed arguments, returns the
        exit status).

    Returns
    -------
    parsers : tuple of argparse.ArgumentParser
        The ``listen`` and ``listen-report`` parsers.

    Examples
    --------
    >>> import argparse
    >>> from sk_eeg2music.listening._cli import add_listen_parsers
    >>> parser = argparse.ArgumentParser(prog="eeg2music")
    >>> _ = add_listen_parsers(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["listen", "--from", "demo_output", "--out", "test"])
    >>> args.run_dir, args.out, args.seed
    ('demo_output', 'test', 0)
    """
    return _add_listen_parser(subparsers), _add_report_parser(subparsers)


def _add_listen_parser(subparsers):
    """The ``listen`` parser: build a test from a run folder, serve it."""
    listen = subparsers.add_parser(
        "listen",
        help="build a MUSHRA-style listening test from a run (and serve it)",
        description=_wrap(
            "Build a self-contained listening test from a run folder (what demo writes, or a "
            "folder with a clips.csv manifest): TEST_DIR/index.html plus the audio, working "
            "offline from the file system. One MUSHRA trial (ITU-R BS.1534-3) per stimulus, "
            "segment and condition, with the reference, a hidden reference, a 3.5 kHz "
            "low-pass anchor and the run's systems, in an order drawn per listener from "
            "--seed; then a 2AFC block (which of two originals is X?). Listeners download "
            "their ratings as CSV; with --serve a server on 127.0.0.1 stores them in "
            "TEST_DIR/ratings/."
        ),
        epilog="examples:\n"
        "  eeg2music listen --from demo_output --out listening_test\n"
        "  eeg2music listen --from demo_output --out listening_test --serve --port 8000\n"
        "  eeg2music listen --out listening_test --serve     # serve an existing test",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    listen.add_argument(
        "--from",
        dest="run_dir",
        metavar="RUN_DIR",
        default=None,
        help="run folder (demo output or clips.csv)",
    )
    listen.add_argument("--out", required=True, metavar="TEST_DIR", help="test folder")
    listen.add_argument("--seed", type=int, default=0, help="randomisation seed (default: 0)")
    listen.add_argument("--no-afc", action="store_true", help="leave out the 2AFC block")
    listen.add_argument(
        "--anchor-hz",
        type=float,
        default=3500.0,
        help="cut-off of the low-pass anchor in Hz (default: 3500)",
    )
    listen.add_argument(
        "--overwrite-ratings",
        action="store_true",
        help="rebuild even if TEST_DIR/ratings/ holds ratings (they are deleted)",
    )
    listen.add_argument(
        "--serve", action="store_true", help="serve TEST_DIR on 127.0.0.1 and store ratings"
    )
    listen.add_argument(
        "--port", type=_port, default=8000, help="server port, 0 for any free one (default: 8000)"
    )
    listen.set_defaults(func=_listen)
    return listen


def _add_report_parser(subparsers):
    """The ``listen-report`` parser: statistics and plots of the ratings."""
    report = subparsers.add_parser(
        "listen-report",
        help="statistics and plots of a listening test's ratings",
        description=_wrap(
            "Read TEST_DIR/ratings/*.csv, apply the BS.1534-3 post-screening, and write "
            "TEST_DIR/summary/summary.html: per-system median and IQR, Friedman test, "
            "Holm-corrected Wilcoxon signed-rank tests against the linear decoder and the "
            "nulls, 2AFC accuracy with binomial p-values, boxplots, and the run's objective "
            "metrics."
        ),
        epilog="examples:\n"
        "  eeg2music listen-report listening_test\n"
        "  eeg2music listen-report listening_test --ratings a.csv b.csv --out results",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("test_dir", help="test folder written by listen")
    report.add_argument(
        "--ratings",
        nargs="+",
        metavar="CSV",
        default=None,
        help="ratings CSV files (default: TEST_DIR/ratings/*.csv)",
    )
    report.add_argument(
        "--out", metavar="DIR", default=None, help="output folder (default: TEST_DIR/summary)"
    )
    report.add_argument(
        "--no-screening", action="store_true", help="keep the listeners post-screening excludes"
    )
    report.add_argument(
        "--baselines",
        nargs="+",
        metavar="SYSTEM",
        default=None,
        help="systems to test the others against (default: linear and null systems)",
    )
    report.set_defaults(func=_listen_report)
    return report
