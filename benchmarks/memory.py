"""Peak memory per GB of EEG: preprocessing, the linear decoders, the GAN (for docs/limits.md).

Each measurement runs in a fresh process and reports, from ``ru_maxrss``, the
peak resident memory above what the process held once the package was
imported and the data allocated, divided by the size of the input.

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/memory.py [--gb 0.25]
"""

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

# NMED-T-like trials: 125 channels, 10 s at 125 Hz (filtered, then resampled to 64 Hz).
N_CHANNELS, SFREQ, SECONDS = 125, 125.0, 10.0


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def eeg(n_trials, n_times):
    rng = np.random.default_rng(0)
    X = np.empty((n_trials, N_CHANNELS, n_times), dtype=np.float32)
    for i in range(n_trials):
        X[i] = rng.standard_normal((N_CHANNELS, n_times), dtype=np.float32) * 1e-5
    return X


def job(kind, gb):
    from sklearn.pipeline import make_pipeline

    import sk_eeg2music as ske

    n_times = int(SFREQ * SECONDS)
    if kind == "preprocessing":
        n_trials = max(1, int(gb * 2**30 / (N_CHANNELS * n_times * 4)))
        X = eeg(n_trials, n_times)
        base, t0 = rss_mb(), time.perf_counter()
        pipe = make_pipeline(
            ske.BandpassFilter(0.5, 30.0, sfreq=SFREQ),
            ske.Resample(SFREQ, 64.0),
            ske.ChannelScaler(),
            ske.Clip(20.0),
            ske.EuclideanAlignment(),
        )
        pipe.fit_transform(X)
        size = X.nbytes
    else:
        # EEG already at 64 Hz, 8 kHz audio (factor 125).
        n_times, factor = int(64 * SECONDS), 125
        per_trial = N_CHANNELS * n_times * 4 + n_times * factor * 4
        n_trials = max(2, int(gb * 2**30 / per_trial))
        X = eeg(n_trials, n_times)
        y = np.random.default_rng(1).standard_normal((n_trials, n_times * factor), np.float32)
        y *= 0.1
        base, t0 = rss_mb(), time.perf_counter()
        if kind == "linear":
            ske.LinearDecoder(target="envelope", alphas=[1.0]).fit(X, y)
        elif kind == "reduced-rank":
            # Inner CV over 3 groups of trials, 2 penalties x 2 ranks, 64 bands.
            groups = np.arange(len(X)) % 3
            ske.ReducedRankDecoder(n_mels=64, alphas=[1.0, 100.0], rank=[8, 64], cv=3).fit(
                X, y, groups=groups
            )
        elif kind == "gan-staged":
            # The staged pre-training alone (max_epochs=0): decoder on the training audio,
            # linear path, encoder; the preset's fixed step and epoch budgets.
            ske.EEG2MusicGAN(max_epochs=0, verbose=0, random_state=0).fit(X, y)
        elif kind == "gan-epoch":
            ske.EEG2MusicGAN(max_epochs=1, warmup_epochs=0, verbose=0, random_state=0).fit(X, y)
        size = X.nbytes + y.nbytes
    return {
        "kind": kind,
        "input_gb": size / 2**30,
        "extra_peak_gb": (peak_mb() - base) / 1024,
        "seconds": time.perf_counter() - t0,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gb", type=float, default=0.25)
    parser.add_argument("--job", nargs=2)
    args = parser.parse_args()
    if args.job:
        print(json.dumps(job(args.job[0], float(args.job[1]))))
        return
    jobs = [
        ("preprocessing", args.gb),
        ("linear", args.gb),
        ("reduced-rank", args.gb),
        ("gan-staged", args.gb),
        ("gan-epoch", 0.02),
    ]
    for kind, gb in jobs:
        out = subprocess.run(
            [sys.executable, __file__, "--job", kind, str(gb)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['kind']:>14}: input {r['input_gb']:.3f} GB, "
            f"extra peak {r['extra_peak_gb']:.3f} GB "
            f"({r['extra_peak_gb'] / r['input_gb']:.2f} x input), {r['seconds']:.1f} s"
        )


if __name__ == "__main__":
    main()
