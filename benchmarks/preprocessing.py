"""Time and peak extra memory of each preprocessing transformer on NMED-T-sized EEG.

The default input is the size of NMED-T: 200 trials (20 subjects x 10 songs) x
125 channels x 37,000 samples (~4.9 min at 125 Hz), float32, i.e. 3.7 GB.
Peak extra memory is measured with :mod:`tracemalloc` (numpy reports its
buffers to it) as the peak during the call minus the memory held before it,
so it includes the returned array: "1.0 copies" means the output and nothing
else. CPU time (all threads) is printed next to wall time because the
benchmark machine may be shared.

Usage::

    python benchmarks/preprocessing.py                  # NMED-T size (needs ~9 GB RAM)
    python benchmarks/preprocessing.py --n-trials 20    # 10x smaller
    python benchmarks/preprocessing.py --only alignment scaler
"""

import argparse
import gc
import os
import time
import tracemalloc

import numpy as np

from sk_eeg2music.preprocessing import (
    BandpassFilter,
    ChannelScaler,
    Clip,
    EuclideanAlignment,
    Resample,
)

SFREQ = 125.0
N_SUBJECTS = 20


def make_input(n_trials, n_channels, n_times, seed=0):
    """Random float32 EEG, filled trial by trial so no float64 copy is ever made."""
    rng = np.random.default_rng(seed)
    X = np.empty((n_trials, n_channels, n_times), dtype=np.float32)
    for trial in X:
        rng.standard_normal(out=trial, dtype=np.float32)
    X *= 1e-5  # volts
    return X


def cases(n_trials):
    groups = np.arange(n_trials) % N_SUBJECTS
    return {
        "filter": ("BandpassFilter(0.5, 30, 125).fit_transform", BandpassFilter(0.5, 30.0, SFREQ)),
        "resample": ("Resample(125, 64).fit_transform", Resample(SFREQ, 64.0)),
        "scaler": ("ChannelScaler().fit_transform", ChannelScaler()),
        "robust_scaler": ("ChannelScaler(robust=True).fit_transform", ChannelScaler(robust=True)),
        "clip": ("Clip(20).fit_transform", Clip(20.0)),
        "alignment": ("EuclideanAlignment().fit + .transform, 20 subjects", EuclideanAlignment()),
    }, groups


def measure(run):
    """Return (wall s, CPU s, peak extra bytes) of ``run()``, its result freed afterwards."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    start, start_cpu = time.perf_counter(), time.process_time()
    result = run()
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    del result
    return seconds, cpu, peak


def run_cases(X, only=None):
    """Time each preprocessing case on ``X``; yield one dict per case.

    Parameters
    ----------
    X : ndarray of shape (n_trials, n_channels, n_times)
        float32 EEG at 125 Hz; trials are assigned to 20 subjects round-robin.
    only : list of str | None, default=None
        Keys of :func:`cases` to run; None runs them all.

    Yields
    ------
    row : dict
        ``key``, ``label``, ``wall`` and ``cpu`` (seconds), ``peak`` (bytes)
        and ``copies`` (peak / ``X.nbytes``).
    """
    table, groups = cases(len(X))
    for key, (label, transformer) in table.items():
        if only and key not in only:
            continue
        if key == "alignment":

            def run(t=transformer):
                return t.fit(X, groups=groups).transform(X, groups=groups)

        else:

            def run(t=transformer):
                return t.fit_transform(X)

        seconds, cpu, peak = measure(run)
        yield dict(key=key, label=label, wall=seconds, cpu=cpu, peak=peak, copies=peak / X.nbytes)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-trials", type=int, default=200)
    parser.add_argument("--n-channels", type=int, default=125)
    parser.add_argument("--n-times", type=int, default=37000)
    parser.add_argument("--only", nargs="*", help="subset of cases to run")
    args = parser.parse_args(argv)

    X = make_input(args.n_trials, args.n_channels, args.n_times)
    size = X.nbytes
    print(f"input: {X.shape} float32 = {size / 1e9:.2f} GB; load average {os.getloadavg()}")
    print(
        f"{'transformer':<52} {'wall (s)':>9} {'CPU (s)':>8} {'peak extra (GB)':>16} "
        f"{'copies of X':>12}"
    )
    for r in run_cases(X, args.only):
        print(
            f"{r['label']:<52} {r['wall']:>9.1f} {r['cpu']:>8.1f} {r['peak'] / 1e9:>16.2f} "
            f"{r['copies']:>12.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
