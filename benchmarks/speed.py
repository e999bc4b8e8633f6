"""Speed and memory against the issue targets: one table per machine, merged across devices.

Runs the measurements of the other scripts (loaded by path with
:func:`sibling`, not copied) and records
each figure as one row of ``--csv`` keyed by (device, measurement):

* ``gan``: :func:`gan_speed.measure_gan` -- ``EEG2MusicGAN`` training throughput
  (audio-seconds per second, discriminator on), skorch against a plain-torch
  loop running the same step, inference as a multiple of real time at 16 kHz;
  on each ``--device`` (CUDA adds the ``gpu`` preset);
* ``linear``: :func:`linear.bench_alpha_path` -- the whole ridge alpha path
  against ONE :class:`mne.decoding.ReceptiveField` fit;
* ``preprocessing``: :func:`preprocessing.run_cases` -- each transformer on
  NMED-T-sized EEG (200 x 125 x 37,000; 1/10 of the trials under ``--quick``,
  the full-size time then extrapolated linearly and labelled so);
* ``loading``: :func:`loading.run_loading` -- peak RSS of ``load_nmedt`` on
  synthetic files of the real size (``--loading-scale``, 0.1 under ``--quick``);
* ``demo``: wall time of ``python -m sk_eeg2music demo`` in a subprocess
  (skipped under ``--quick`` unless named in ``--only``).

Rows of other devices already in the CSV are kept; the markdown table between
``<!-- speed -->`` and ``<!-- /speed -->`` in docs/benchmarks.md is regenerated
from the whole CSV. The machine may be shared: each row gives the wall and CPU
seconds of its measurement and the 1-min load average when it started.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/speed.py --quick          # a few minutes on 2 cores
    python benchmarks/speed.py --only demo                         # add the demo row
    python benchmarks/speed.py --device cpu cuda --only gan        # CUDA rows next to CPU ones
    python benchmarks/speed.py --merge-only results/speed.csv      # fold in another machine's CSV
"""

import argparse
import datetime
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __name__ == "__main__":
    # OpenMP and BLAS read their thread count when loaded: set it from --threads
    # before numpy and torch are imported, so rows labelled "CPU n threads" are.
    _early = argparse.ArgumentParser(add_help=False)
    _early.add_argument("--threads", type=int, default=2)
    _threads = str(_early.parse_known_args()[0].threads)
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _threads

import importlib.util  # noqa: E402

import pandas as pd  # noqa: E402

from sk_eeg2music.benchmarking import (  # noqa: E402
    command_line,
    device_label,
    machine_label,
    write_block,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOC = ROOT / "docs" / "benchmarks.md"


def sibling(name):
    """The benchmark script ``benchmarks/<name>.py`` as a module, loaded by its path.

    The scripts are not a package; loading them by path (as ``bench_<name>``)
    keeps their folder off ``sys.path``, where names such as ``linear`` or
    ``preprocessing`` would shadow other modules.
    """
    module_name = f"bench_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, HERE / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


SECTIONS = ("gan", "linear", "preprocessing", "loading", "demo")
COLUMNS = [
    "device",
    "section",
    "measurement",
    "value",
    "unit",
    "target",
    "status",
    "notes",
    "wall_s",
    "cpu_s",
    "load_avg",
    "command",
    "date",
    "machine",
    "version",
]
KEY = ["device", "measurement"]
NMEDT_SHAPE = (200, 125, 37000)  # 20 subjects x 10 songs, 125 channels, ~4.9 min at 125 Hz


def check(value, op, threshold):
    """``"met"`` / ``"missed"`` for ``value op threshold`` (op in ``>=``, ``<=``, ``<``)."""
    ok = {">=": value >= threshold, "<=": value <= threshold, "<": value < threshold}[op]
    return "met" if ok else "missed"


class Recorder:
    """Collects rows with the context shared by a run (command, date, machine, version)."""

    def __init__(self, command):
        import sk_eeg2music

        self.rows = []
        self.context = dict(
            command=command,
            date=datetime.date.today().isoformat(),
            machine=machine_label(),
            version=sk_eeg2music.__version__,
        )

    def add(self, device, section, measurement, value, unit, target=None, notes="", **timing):
        """Add one row; ``target`` is ``(op, threshold, text)`` or None.

        ``timing`` holds ``wall_s``, ``cpu_s`` and ``load_avg`` of the measurement.
        """
        status = "no target" if target is None else check(value, target[0], target[1])
        load, cores = timing.get("load_avg", 0.0), os.cpu_count() or 1
        if load > cores:
            # Flagged in the row itself: a reader of the table may not read the page's notes.
            notes = f"{notes}; " if notes else ""
            notes += f"oversubscribed (load {load:.1f} on {cores} cores): timings noisy"
        self.rows.append(
            dict(
                device=device,
                section=section,
                measurement=measurement,
                value=float(value),
                unit=unit,
                target="" if target is None else target[2],
                status=status,
                notes=notes,
                **timing,
                **self.context,
            )
        )


class Clock:
    """Wall and CPU seconds (this process and finished children) since creation, load at start."""

    def __init__(self):
        self.load_avg = os.getloadavg()[0]
        self.wall, self.cpu = time.perf_counter(), self._cpu()

    @staticmethod
    def _cpu():
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def timing(self):
        return dict(
            wall_s=round(time.perf_counter() - self.wall, 2),
            cpu_s=round(self._cpu() - self.cpu, 2),
            load_avg=round(self.load_avg, 2),
        )


# ---------------------------------------------------------------- sections


def section_gan(rec, args):
    measure_gan = sibling("gan_speed").measure_gan

    for device in args.device:
        on_cpu = not device.startswith("cuda")
        presets = ["cpu"] if on_cpu else ["cpu", "gpu"]
        # On CPU, glibc's default malloc and fixed thresholds (see gan_speed's docstring).
        mallocs = ["default", "fixed"] if on_cpu else ["default"]
        for preset in presets:
            for malloc in mallocs:
                _gan_rows(rec, args, measure_gan, device, preset, malloc)


def _measure_gan(measure_gan, args, device, preset, malloc):
    """:func:`gan_speed.measure_gan`; with fixed malloc thresholds in a child process.

    Fixing glibc's thresholds cannot be undone in-process, and the later
    sections must run with the allocator a user has.
    """
    repeats = 3 if args.quick else 5
    if malloc == "default":
        return measure_gan(preset, threads=args.threads, trials=32, repeats=repeats, device=device)
    with tempfile.TemporaryDirectory(prefix="gan_speed_") as tmp:
        out = Path(tmp) / "gan_speed.json"
        subprocess.run(
            [
                sys.executable, str(HERE / "gan_speed.py"), "--preset", preset,
                "--threads", str(args.threads), "--trials", "32", "--repeats", str(repeats),
                "--device", device, "--malloc", malloc, "--json", str(out),
            ],
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        return json.loads(out.read_text(encoding="utf-8"))


def _gan_rows(rec, args, measure_gan, device, preset, malloc):
    clock = Clock()  # counts a child's CPU time too
    r = _measure_gan(measure_gan, args, device, preset, malloc)
    t = clock.timing()
    label = device_label(device, r["threads"])
    on_cpu = not device.startswith("cuda")
    # The targets are for the default CPU preset on CPU cores.
    targeted = on_cpu and preset == "cpu"
    cores = f"{r['threads']} cores"
    size = (
        f"{r['audio_per_epoch']:.0f} audio-s per epoch, median of {r['repeats']}; "
        f"G {r['n_params_g'] / 1e6:.2f} M, D {r['n_params_d'] / 1e6:.2f} M params"
    )
    train_t = (">=", 20.0, "≥ 20 audio-s/s on 2 cores") if targeted else None
    infer_t = (">=", 100.0, "≥ 100× real time on 2 cores") if targeted else None
    # Host CPU time means little while kernels run on a GPU: no target there.
    over_t = ("<=", 5.0, "≤ 5 %") if on_cpu else None
    p = f"GAN preset {preset}"
    if malloc == "fixed":
        p += ", glibc malloc thresholds fixed"
        if r["malloc"] != "fixed":
            size += f"; NOT applied: {r['malloc']}"
    faults = (
        f"minor page faults per epoch: skorch {r['faults']['skorch']:.0f}, "
        f"plain {r['faults']['plain']:.0f}"
    )
    rec.add(
        label,
        "gan",
        f"{p}: training, skorch, wall",
        r["train_wall"]["skorch"],
        "audio-s/s",
        train_t,
        size,
        **t,
    )
    if on_cpu:
        rec.add(
            label,
            "gan",
            f"{p}: training, skorch, per {cores} of CPU time",
            r["train_cpu"]["skorch"],
            "audio-s/s",
            train_t,
            "CPU seconds / threads: the wall time on dedicated cores",
            **t,
        )
    rec.add(
        label,
        "gan",
        f"{p}: training, plain-torch loop, wall",
        r["train_wall"]["plain"],
        "audio-s/s",
        None,
        "same step, no skorch",
        **t,
    )
    per = ", ".join(f"{o:+.1f}" for o in r["overhead_per_repeat_pct"])
    if on_cpu:
        rec.add(
            label,
            "gan",
            f"{p}: skorch overhead vs plain torch, CPU time",
            r["overhead_cpu_pct"],
            "%",
            over_t,
            f"per repeat: {per}; {faults}",
            **t,
        )
    ratio = r["train_wall"]["skorch"] / r["train_wall"]["plain"]
    rec.add(
        label,
        "gan",
        f"{p}: skorch overhead vs plain torch, wall",
        r["overhead_wall_pct"],
        "%",
        over_t,
        f"throughput ratio skorch / plain = {ratio:.3f}",
        **t,
    )
    if malloc == "fixed":
        return  # inference is measured once, with the default allocator
    rec.add(
        label,
        "gan",
        f"{p}: inference at 16 kHz, wall",
        r["infer_wall"],
        "× real time",
        infer_t,
        f"{r['infer_trials']} trials of 4 s",
        **t,
    )
    if on_cpu:
        rec.add(
            label,
            "gan",
            f"{p}: inference at 16 kHz, per {cores} of CPU time",
            r["infer_cpu"],
            "× real time",
            infer_t,
            "",
            **t,
        )


def section_linear(rec, args):
    bench_alpha_path = sibling("linear").bench_alpha_path

    clock = Clock()
    n_alphas = 17
    r = bench_alpha_path(2 if args.quick else 4, n_alphas, 1 if args.quick else 3, not args.quick)
    t = clock.timing()
    label = device_label("cpu", args.threads)
    size = f"{r['n_samples']} samples × {r['n_features']} lagged features"
    target = ("<", 1.0, "< 1 (faster than one fit)")
    rec.add(
        label,
        "linear",
        f"Linear: alpha path ({n_alphas} alphas) / one ReceptiveField(Ridge) fit",
        r["path"] / r["rf_ridge"],
        "ratio",
        target,
        f"{size}; {r['path']:.2f} s vs {r['rf_ridge']:.2f} s",
        **t,
    )
    if r["rf_tdr"] is not None:
        rec.add(
            label,
            "linear",
            f"Linear: alpha path ({n_alphas} alphas) / one ReceptiveField(TimeDelayingRidge) fit",
            r["path"] / r["rf_tdr"],
            "ratio",
            target,
            f"{size}; {r['path']:.2f} s vs {r['rf_tdr']:.2f} s",
            **t,
        )


def section_preprocessing(rec, args):
    make_input, run_cases = sibling("preprocessing").make_input, sibling("preprocessing").run_cases

    n_trials, n_channels, n_times = NMEDT_SHAPE
    if args.quick:
        n_trials //= 10
    clock = Clock()
    X = make_input(n_trials, n_channels, n_times)
    scale = NMEDT_SHAPE[0] / n_trials
    label = device_label("cpu", args.threads)
    size = f"{n_trials} × {n_channels} × {n_times} float32 ({X.nbytes / 1e9:.2f} GB)"
    for r in run_cases(X):
        t = clock.timing()
        notes = (
            f"{size}: {r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU, peak extra "
            f"{r['copies']:.2f} × X"
        )
        rec.add(
            label,
            "preprocessing",
            f"Preprocessing: {r['label']}, throughput",
            X.nbytes / 1e6 / r["wall"],
            "MB/s",
            None,
            notes,
            **t,
        )
        if r["key"] == "alignment":
            extrapolated = scale != 1
            rec.add(
                label,
                "preprocessing",
                "Preprocessing: EuclideanAlignment on full NMED-T size, wall",
                r["wall"] * scale,
                "s",
                ("<", 30.0, "< 30 s"),
                f"extrapolated linearly ×{scale:g} from {size}" if extrapolated else size,
                **t,
            )
        clock = Clock()


def section_loading(rec, args):
    run_loading = sibling("loading").run_loading

    scale = args.loading_scale if args.loading_scale else (0.1 if args.quick else 1.0)
    clock = Clock()
    r = run_loading(scale, "v5", "load_nmedt", log=lambda m: print(m, file=sys.stderr))
    t = clock.timing()
    rec.add(
        device_label("cpu", args.threads),
        "loading",
        "Loading NMED-T-sized files: peak RSS increase / returned arrays",
        r["ratio"],
        "ratio",
        ("<=", 1.3, "≤ 1.3"),
        f"scale {scale:g} (MAT v5, 10 songs, {r['on_disk_mb']:.0f} MiB on disk): returned "
        f"{r['returned_mb']:.0f} MiB in {r['seconds']:.1f} s",
        **t,
    )


def section_demo(rec, args):
    clock = Clock()
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "PYTHONPATH": str(ROOT)}
    limit = args.demo_timeout
    finished = True
    with tempfile.TemporaryDirectory(prefix="demo_bench_") as tmp:
        out = Path(tmp) / "demo"
        try:
            subprocess.run(
                [sys.executable, "-m", "sk_eeg2music", "demo", "--out", str(out)],
                check=True,
                env=env,
                stdout=subprocess.DEVNULL,
                timeout=limit,
            )
        except subprocess.TimeoutExpired:
            finished = False
    t = clock.timing()
    target = ("<=", 180.0, "≤ 3 min on 2 cores")
    notes = f"OMP_NUM_THREADS={args.threads}, fresh process, imports included"
    if not finished:
        # A lower bound: it decides the target only once the limit exceeds it.
        notes = f"stopped at the {limit:g}-s limit, unfinished: the time is a lower bound; " + notes
        if limit <= target[1]:
            target = None
    rec.add(
        device_label("cpu", args.threads),
        "demo",
        "Demo: `python -m sk_eeg2music demo` (defaults), wall",
        t["wall_s"],
        "s" if finished else "s (lower bound)",
        target,
        notes,
        **t,
    )


RUNNERS = dict(
    gan=section_gan,
    linear=section_linear,
    preprocessing=section_preprocessing,
    loading=section_loading,
    demo=section_demo,
)


# ------------------------------------------------------- CSV and markdown


def merge_rows(old, new):
    """Rows of ``old`` whose (device, measurement) is not in ``new``, then ``new``.

    Parameters
    ----------
    old, new : DataFrame
        Rows with at least the ``device`` and ``measurement`` columns.

    Returns
    -------
    merged : DataFrame
        Sorted by device, then section in :data:`SECTIONS` order, keeping the
        order of rows within a section; columns :data:`COLUMNS` first.
    """
    frames = [f for f in (old, new) if f is not None and len(f)]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    if len(frames) == 2:
        replaced = old.set_index(KEY).index.isin(new.set_index(KEY).index)
        frames = [old[~replaced], new]
    merged = pd.concat(frames, ignore_index=True)
    order = {s: i for i, s in enumerate(SECTIONS)}
    rank = merged["section"].map(order).fillna(len(order))
    merged = merged.assign(_rank=rank).sort_values(["device", "_rank"], kind="stable")
    extra = [c for c in merged.columns if c not in COLUMNS and c != "_rank"]
    return merged[[c for c in COLUMNS if c in merged.columns] + extra].reset_index(drop=True)


def _fmt(value):
    if pd.isna(value):
        return "n/a"
    a = abs(value)
    return f"{value:.3f}" if a < 10 else f"{value:.1f}" if a < 1000 else f"{value:.0f}"


RUN = ["device", "command", "date", "machine", "version"]


def markdown_table(rows):
    """Markdown tables of ``rows``: one per run (device, command, date, machine, version).

    Each table is preceded by a line naming its run; groups follow the order of
    ``rows`` (device first, as :func:`merge_rows` sorts them).
    """
    head = "| measurement | measured | target | status | notes | wall / CPU s | load avg at start |"
    blocks = []
    for run, group in rows.groupby(RUN, sort=False):
        ctx = dict(zip(RUN, run))
        lines = [
            f"**{ctx['device']}** — `{ctx['command']}`, {ctx['date']}, {ctx['machine']}, "
            f"sk_eeg2music {ctx['version']}",
            "",
            head,
            "|" + "---|" * 7,
        ]
        for _, r in group.iterrows():
            cells = [
                r["measurement"],
                f"{_fmt(r['value'])} {r['unit']}",
                r["target"] if isinstance(r["target"], str) and r["target"] else "—",
                f"**{r['status']}**" if r["status"] == "missed" else r["status"],
                r["notes"] if isinstance(r["notes"], str) else "",
                f"{r['wall_s']:.1f} / {r['cpu_s']:.1f}",
                f"{r['load_avg']:.2f}",
            ]
            lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def read_csv(path):
    path = Path(path)
    return pd.read_csv(path, keep_default_na=False, na_values=[""]) if path.exists() else None


def write_outputs(rows, csv, doc):
    """Merge ``rows`` into ``csv`` and regenerate the speed table of ``doc`` (None: no doc)."""
    merged = merge_rows(read_csv(csv), rows)
    Path(csv).parent.mkdir(parents=True, exist_ok=True)
    merged.to_csv(csv, index=False)
    if doc is not None:
        write_block(doc, "speed", markdown_table(merged))
    return merged


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=None)
    parser.add_argument("--quick", action="store_true", help="a few-minute CPU run")
    parser.add_argument("--device", nargs="+", default=["cpu"], help="cpu and/or cuda (GAN)")
    parser.add_argument("--threads", type=int, default=2, help="torch / BLAS threads")
    parser.add_argument("--loading-scale", type=float, default=None, help="default 1 (0.1 quick)")
    parser.add_argument(
        "--demo-timeout", type=float, default=900, help="stop the demo after this many seconds"
    )
    parser.add_argument("--csv", type=Path, default=HERE / "speed.csv")
    parser.add_argument("--doc", type=Path, default=DOC)
    parser.add_argument("--no-doc", action="store_true", help="do not update the markdown")
    parser.add_argument(
        "--merge-only",
        nargs="+",
        type=Path,
        default=None,
        metavar="CSV",
        help="merge these CSVs (e.g. from a GPU machine) and rewrite the table; runs nothing",
    )
    args = parser.parse_args(argv)
    doc = None if args.no_doc else args.doc
    if args.merge_only:
        rows = None
        for path in args.merge_only:
            rows = merge_rows(rows, read_csv(path))
        merged = write_outputs(rows, args.csv, doc)
        print(markdown_table(merged))
        return 0

    import torch

    torch.set_num_threads(args.threads)
    if any(d.startswith("cuda") for d in args.device) and not torch.cuda.is_available():
        parser.error(f"--device cuda: torch {torch.__version__} sees no CUDA device.")
    if args.only:
        sections = args.only
    else:
        sections = [s for s in SECTIONS if not (args.quick and s == "demo")]
    rec = Recorder(command_line("benchmarks/speed.py", argv))
    # ``timeout`` sends SIGTERM: stop like Ctrl-C and keep the rows measured so far.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        for name in sections:
            load = os.getloadavg()[0]
            print(f"== {name} (load average {load:.2f})", file=sys.stderr, flush=True)
            RUNNERS[name](rec, args)
            # Written after every section so a run stopped by a time limit keeps what it measured.
            write_outputs(pd.DataFrame(rec.rows, columns=COLUMNS), args.csv, doc)
    except KeyboardInterrupt:
        print(f"stopped: keeping the {len(rec.rows)} rows measured", file=sys.stderr)
        merged = write_outputs(pd.DataFrame(rec.rows, columns=COLUMNS), args.csv, doc)
        print(markdown_table(merged))
        return 1
    print(markdown_table(merge_rows(read_csv(args.csv), None)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
