#!/usr/bin/env bash
# Speed and a larger quality configuration on CUDA, in at most $BUDGET seconds (default 450, so with
# the kill grace of a stopped step it ends within 8 minutes).
#
# Run from anywhere on a GPU machine holding a copy of this repository; needs no internet:
#
#     PY=/path/to/python bash benchmarks/gpu.sh
#
# Steps (each under `timeout`, the time left shared out so the whole script ends in time;
# a step that fails or runs out of time is reported and the next one still runs):
#   1. benchmarks/speed.py --device cuda --only gan: EEG2MusicGAN training throughput, skorch
#      against plain torch, inference real-time factor, presets "cpu" and "gpu", on CUDA;
#   2. benchmarks/quality.py --device cuda (preset "gpu"): 8 subjects, GAN 20 epochs, LOSO then
#      subject-and-time-disjoint splits, 2 folds each (QUALITY_ARGS replaces this); stopped at
#      its time limit it writes the model runs it finished;
#   3. if time is left, speed.py --only gan linear on 2 CPU threads of this machine (its cores
#      are not shared, unlike the 2-core development machine's).
# Every row is labelled with its device ("CUDA NVIDIA H100 80GB HBM3", "CPU 2 threads (...)").
#
# Results in $OUT (default benchmarks/results): speed.csv and benchmarks.md start as copies of
# benchmarks/speed.csv and docs/benchmarks.md, so their tables hold the CPU rows next to the
# new ones; quality_cuda.csv; gpu.log. Bring them home with
#     python benchmarks/speed.py --merge-only $OUT/speed.csv    # CUDA rows into speed.csv + doc
# and copy the <!-- quality-cuda --> block of $OUT/benchmarks.md into docs/benchmarks.md.
#
# Which python: the first of $PY (default .venv/bin/python), $TORCH_CUDA_PY and python3 whose
# torch sees a GPU. The Makefile's .venv holds the CPU torch wheel, which cannot use CUDA: on a
# GPU machine pass a CUDA-capable python (TORCH_CUDA_PY=/opt/.../python3, or PY=...).
# Missing packages (skorch, mne, librosa, soundfile, ...) are installed offline from the wheels
# in $WHEELS (default .whl) into a temporary folder put on PYTHONPATH. Fetch them beforehand on
# a machine with internet for the GPU machine's python version, e.g. Python 3.12:
#     python -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#         --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
#         --platform manylinux2014_x86_64 -d .whl skorch mne librosa soundfile soxr audioread \
#         pooch platformdirs decorator cffi pycparser
#
# DEVICE=cpu runs the same steps on the CPU (a dry run of this script on a machine without a
# GPU; rows then carry the CPU label).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
START=$SECONDS
BUDGET=${BUDGET:-450}
DEVICE=${DEVICE:-cuda}
OUT=${OUT:-benchmarks/results}
WHEELS=${WHEELS:-.whl}
QUALITY_ARGS=${QUALITY_ARGS:-"--kinds mos --n-subjects 8 --epochs 20 --max-folds 2 --splits loso subject-time --models gan linear-mel mean-spectrum beat-template shuffled-gan"}
mkdir -p "$OUT"
LOG="$OUT/gpu.log"
: >"$LOG"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1

say() { echo "[gpu.sh $((SECONDS - START))s] $*" | tee -a "$LOG" >&2; }

# ---------------------------------------------------------------- python
if [ "$DEVICE" = cuda ]; then
    probe='import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'
else
    probe='import torch'
fi
PYTHON=""
for candidate in "${PY:-.venv/bin/python}" "${TORCH_CUDA_PY:-}" python3; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || [ -x "$candidate" ] || continue
    if "$candidate" -c "$probe" 2>/dev/null; then
        PYTHON=$candidate
        break
    fi
    say "$candidate: torch missing or sees no CUDA device (a CPU-only wheel?); trying the next"
done
if [ -z "$PYTHON" ]; then
    say "no python with a CUDA-capable torch found among PY=${PY:-.venv/bin/python}," \
        "TORCH_CUDA_PY=${TORCH_CUDA_PY:-<unset>} and python3. Set TORCH_CUDA_PY to one" \
        "(or DEVICE=cpu for a dry run on the CPU)."
    exit 2
fi
say "python: $PYTHON ($("$PYTHON" -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__)'))"

deps='import numpy, scipy, sklearn, pandas, h5py, skorch, mne, librosa, soundfile, sk_eeg2music'
if ! "$PYTHON" -c "$deps" 2>/dev/null; then
    if compgen -G "$WHEELS/*.whl" >/dev/null; then
        SITE=$(mktemp -d "${TMPDIR:-/tmp}/sk_eeg2music_site.XXXXXX")
        say "installing $(ls "$WHEELS"/*.whl | wc -l) wheels from $WHEELS into $SITE (offline)"
        "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
            --target "$SITE" "$WHEELS"/*.whl 2>&1 | tee -a "$LOG"
        export PYTHONPATH="$PYTHONPATH:$SITE"
    fi
    if ! "$PYTHON" -c "$deps" 2>&1 | tee -a "$LOG"; then
        say "missing packages (above); put their wheels in WHEELS=$WHEELS (see the header)."
        exit 3
    fi
fi

# ---------------------------------------------------------------- steps
FAILED=0
# step NAME CAP_SECONDS COMMAND...: run under timeout, at most CAP and what is left of BUDGET
# (keeping RESERVE seconds for the steps after it).
step() {
    local name=$1 cap=$2 reserve=$3
    shift 3
    local left=$((BUDGET - (SECONDS - START) - reserve))
    local limit=$((cap < left ? cap : left))
    if [ "$limit" -lt 20 ]; then
        say "$name: skipped, ${left}s left"
        return 0
    fi
    say "$name: start (limit ${limit}s)"
    local rc=0
    timeout -k 15 "$limit" "$@" 2>&1 | tee -a "$LOG" || rc=${PIPESTATUS[0]}
    if [ "$rc" -eq 0 ]; then
        say "$name: done"
    else
        FAILED=$((FAILED + 1))
        say "$name: exit $rc$([ "$rc" -eq 124 ] && echo ' (time limit: partial results kept)')"
    fi
}

cp benchmarks/speed.csv "$OUT/speed.csv" 2>/dev/null || true
cp docs/benchmarks.md "$OUT/benchmarks.md"
say "device $DEVICE, budget ${BUDGET}s, results in $OUT; nvidia-smi:"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee -a "$LOG" || true

step "speed ($DEVICE)" 150 300 \
    "$PYTHON" benchmarks/speed.py --device "$DEVICE" --only gan \
    --csv "$OUT/speed.csv" --doc "$OUT/benchmarks.md"

# shellcheck disable=SC2086  # QUALITY_ARGS is a list of arguments; eval keeps its quotes
eval "set -- $QUALITY_ARGS"
step "quality ($DEVICE)" 260 60 \
    "$PYTHON" benchmarks/quality.py --device "$DEVICE" "$@" \
    --csv "$OUT/quality_$DEVICE.csv" --doc "$OUT/benchmarks.md"

step "speed (CPU, 2 threads)" 120 0 \
    "$PYTHON" benchmarks/speed.py --device cpu --threads 2 --quick --only gan linear \
    --csv "$OUT/speed.csv" --doc "$OUT/benchmarks.md"

say "finished in $((SECONDS - START))s, $FAILED step(s) failed or stopped; files in $OUT:"
ls -l "$OUT" | tee -a "$LOG" >&2
exit $((FAILED > 0))
