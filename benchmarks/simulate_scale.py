"""Time and peak memory of simulating the real datasets' designs.

Each configuration runs in a fresh process (``ru_maxrss`` is a per-process
peak) and reports wall time of :func:`sk_eeg2music.make_simulated`, the peak
resident memory of the whole process (package imported), the resident memory
just before the call, the size of the returned ``X`` and ``y``, the CPU time
of the process (all threads) and the 1-minute load average at the end: on a
shared machine the wall time exceeds the CPU time when other work competes.
Designs come from :func:`sk_eeg2music.datasets.simulated.real_design`. Target
(issue 16): real-scale MOS in < 60 s and < 6 GB peak at 16 kHz on 2 cores.

    OMP_NUM_THREADS=2 PYTHONPATH=. python benchmarks/simulate_scale.py \\
        [--configs mos-16k mos-8k nmedt-8k nmedt-16k]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

CONFIGS = {
    "mos-16k": ("mos", 16000),
    "mos-8k": ("mos", 8000),
    "nmedt-8k": ("nmedt", 8000),
    "nmedt-16k": ("nmedt", 16000),
}


def _rss_gb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def job(name):
    """Simulate one configuration; return its measurements as a dict."""
    import sk_eeg2music  # noqa: F401  (imported before the baseline RSS is read)
    from sk_eeg2music import make_simulated
    from sk_eeg2music.datasets.simulated import real_design

    kind, audio_sfreq = CONFIGS[name]
    design = real_design(kind, audio_sfreq=audio_sfreq)
    before = _rss_gb()
    t0, c0 = time.perf_counter(), time.process_time()
    data = make_simulated(**design)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return dict(
        config=name,
        trials=len(data),
        X_shape=list(data.X.shape),
        X_gb=data.X.nbytes / 2**30,
        y_gb=data.y.nbytes / 2**30,
        seconds=seconds,
        cpu_seconds=cpu,
        load=os.getloadavg()[0],
        rss_before_gb=before,
        peak_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--job", choices=list(CONFIGS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.job:
        print(json.dumps(job(args.job)))
        return
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(f"OMP_NUM_THREADS={threads}, {os.cpu_count()} CPUs visible")
    print(
        "| design | trials | X shape | X (GB) | y (GB) | time (s) | CPU time (s) | load avg "
        "| RSS before (GB) | peak RSS (GB) |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    for name in args.configs:
        out = subprocess.run(
            [sys.executable, __file__, "--job", name], capture_output=True, text=True
        )
        if out.returncode != 0:
            print(f"| {name} | failed: {out.stderr.strip().splitlines()[-1:]} |||||||")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"| {name} | {r['trials']} | {tuple(r['X_shape'])} | {r['X_gb']:.2f} | "
            f"{r['y_gb']:.2f} | {r['seconds']:.1f} | {r['cpu_seconds']:.1f} | {r['load']:.1f} | "
            f"{r['rss_before_gb']:.2f} | "
            f"{r['peak_gb']:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
