"""Peak memory and time of ``load_nmedt`` on synthetic files of the real NMED-T size.

Writes ten ``songNN_Imputed.mat`` files in the published layout (``dataNN``
125 x T x 20 float64 with the real per-song T, ``fs``, ``subsNN``; about 0.7 GB
each at ``--scale 1``) to a temporary folder, then loads them all in a fresh
Python process and reports the peak resident memory (``VmHWM``) against the
size of the returned arrays. The target is a peak increase of at most 1.3 x the
returned arrays. ``--method naive`` measures, for comparison, the obvious
loader: ``scipy.io.loadmat`` of each song, float32 segments appended to a list,
one ``np.concatenate`` at the end.

Usage::

    python benchmarks/loading.py                       # real size, uncompressed v5
    python benchmarks/loading.py --scale 0.1 --format v73
    python benchmarks/loading.py --format v5z --method naive

The files are deleted at the end unless ``--keep``; ``--dir`` reuses a folder
that already holds files of the same format and scale.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Samples per song at 125 Hz in the release (blairkan/NMED_T_intro_matlab).
REAL_T = {21: 34795, 22: 33891, 23: 34469, 24: 36797, 25: 36114}
REAL_T.update({26: 34478, 27: 36454, 28: 36513, 29: 36712, 30: 37221})
N_PARTICIPANTS = 20


def write_files(folder, scale, fmt):
    import importlib.util

    import numpy as np

    # The test suite's NMED-T file writer, loaded by path (tests/ is not a package).
    spec = importlib.util.spec_from_file_location(
        "nmedt_writers", ROOT / "tests" / "datasets" / "_writers.py"
    )
    writers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(writers)
    nmedt_subject_ids, write_nmedt_song = writers.nmedt_subject_ids, writers.write_nmedt_song

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for song, n_times in REAL_T.items():
        path = folder / f"song{song}_Imputed.mat"
        if path.exists():
            continue
        n = max(1250, int(n_times * scale))
        data = np.empty((125, n, N_PARTICIPANTS), order="F")
        for p in range(N_PARTICIPANTS):  # fill in place: one array, no temporaries
            data[:, :, p] = rng.standard_normal((125, n))
        data *= 10.0
        write_nmedt_song(folder, song, data, nmedt_subject_ids(N_PARTICIPANTS), fmt=fmt)
        del data
        print(f"  wrote {path.name} ({path.stat().st_size / 1e6:.0f} MB)", flush=True)


CHILD = r"""
import json, sys, time
import numpy as np
import h5py, scipy.io, soundfile  # noqa: F401  (imported before the baseline)
from sk_eeg2music import load_nmedt
from sk_eeg2music.datasets.nmedt import nmedt_info

def rss_mb(field="VmRSS"):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) / 1024

def naive(folder, seg_len=1250):
    chunks = []
    for song in range(21, 31):
        m = scipy.io.loadmat(f"{folder}/song{song}_Imputed.mat", variable_names=[f"data{song}"])
        x = m.pop(f"data{song}")
        n_seg = x.shape[1] // seg_len
        for p in range(x.shape[2]):
            for k in range(n_seg):
                chunks.append((x[:, k * seg_len:(k + 1) * seg_len, p] * 1e-6).astype(np.float32))
        del x, m
    return np.stack(chunks)

folder, method = sys.argv[1], sys.argv[2]
nmedt_info(125.0)  # warm MNE's montage cache
baseline = rss_mb()
t0 = time.perf_counter()
if method == "naive":
    returned = naive(folder).nbytes
else:
    data = load_nmedt(folder, segment_seconds=10.0)
    returned = data.X.nbytes
seconds = time.perf_counter() - t0
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, so a child of a large
# parent (benchmarks/speed.py after the GAN) would report the parent's peak.
peak = rss_mb("VmHWM")
print(json.dumps(dict(baseline_mb=baseline, peak_mb=peak, returned_mb=returned / 2**20,
                      seconds=seconds)))
"""


def measure(folder, method):
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), method],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "2"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_loading(scale=1.0, fmt="v5", method="load_nmedt", folder=None, keep=False, log=print):
    """Write the ten song files (unless present), load them in a fresh process.

    Parameters
    ----------
    scale : float, default=1.0
        Fraction of the real song lengths.
    fmt : {"v5", "v5z", "v73"}, default="v5"
        MAT format of the files.
    method : {"load_nmedt", "naive"}, default="load_nmedt"
        Loader measured.
    folder : Path | None, default=None
        Where the files go; None uses a temporary folder, deleted afterwards
        unless ``keep``.
    keep : bool, default=False
        Keep a temporary folder.
    log : callable, default=print
        Progress messages.

    Returns
    -------
    result : dict
        The child's ``baseline_mb``, ``peak_mb``, ``returned_mb``, ``seconds``,
        plus ``on_disk_mb``, ``write_seconds`` and ``ratio`` (peak increase /
        returned arrays).
    """
    temporary = folder is None
    folder = Path(tempfile.mkdtemp(prefix="nmedt_bench_")) if temporary else Path(folder)
    try:
        log(f"writing 10 songs ({fmt}, scale {scale:g}) to {folder}")
        t0 = time.perf_counter()
        write_files(folder, scale, fmt)
        write_seconds = time.perf_counter() - t0
        log(f"  written in {write_seconds:.0f} s")
        on_disk = sum(p.stat().st_size for p in folder.glob("song*_Imputed.mat")) / 2**20
        res = measure(folder, method)
    finally:
        if temporary and not keep:
            shutil.rmtree(folder, ignore_errors=True)
    increase = res["peak_mb"] - res["baseline_mb"]
    return dict(
        res, on_disk_mb=on_disk, write_seconds=write_seconds, ratio=increase / res["returned_mb"]
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the real length")
    parser.add_argument("--format", choices=("v5", "v5z", "v73"), default="v5")
    parser.add_argument("--method", choices=("load_nmedt", "naive"), default="load_nmedt")
    parser.add_argument("--dir", type=Path, default=None, help="folder for the files")
    parser.add_argument("--keep", action="store_true", help="keep the files")
    args = parser.parse_args(argv)

    res = run_loading(
        args.scale, args.format, args.method, args.dir, args.keep, lambda m: print(m, flush=True)
    )
    print(
        f"{args.method} | files {res['on_disk_mb']:.0f} MiB ({args.format}) | returned X "
        f"{res['returned_mb']:.0f} MiB | RSS baseline {res['baseline_mb']:.0f} MiB, peak "
        f"{res['peak_mb']:.0f} MiB | peak increase / returned = "
        f"{res['ratio']:.3f} (target <= 1.3) | peak / returned = "
        f"{res['peak_mb'] / res['returned_mb']:.3f} | {res['seconds']:.1f} s"
    )


if __name__ == "__main__":
    main()
