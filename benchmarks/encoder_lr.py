"""Ablation of ``EEG2MusicGAN(lr_encoder=...)`` in the demo's short-training regime.

The registry's GAN (:func:`sk_eeg2music.pipelines.make_models`: band-pass,
scaler, clip, per-subject Euclidean Alignment, ``EEG2MusicGAN``) is trained
for a few epochs with the encoder's own learning rate (the default, 3e-3) and
with ``lr_encoder=None`` (the encoder at the upsampler's ``lr``), each beside
the same GAN on shuffled EEG-music pairs (the registry's ``shuffled-gan``
null) and the linear mel decoder (``linear-mel``), leave-one-subject-out on
simulated MOS, through :func:`sk_eeg2music.evaluation.evaluate_models`.
Listening and imagery trials are scored separately; the table gives feature
level (decoded log-mel at the EEG rate) and waveform level scores.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/encoder_lr.py                 # ~5 min on 2 cores
    python benchmarks/encoder_lr.py --snr -28 -15 --epochs 5 --folds 2

The table goes to stdout and between the ``<!-- encoder-lr -->`` markers of
``docs/benchmarks.md`` (``--no-doc``: stdout only).
"""

import argparse
import datetime
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd
from sklearn.model_selection import LeaveOneGroupOut

import sk_eeg2music
from sk_eeg2music import make_simulated
from sk_eeg2music.benchmarking import (
    command_line,
    device_label,
    format_number,
    machine_label,
    markdown_table,
    write_block,
)
from sk_eeg2music.evaluation import evaluate_models
from sk_eeg2music.pipelines import make_models

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
#: ``lr_encoder`` settings compared: table label -> value.
SETTINGS = {"lr_encoder=3e-3 (default)": 3e-3, "lr_encoder=None": None}
#: Summary columns of the table (chance: 0 for r, 0.5 for mm, ``id_chance`` for id).
COLUMNS = ["feature_r", "feature_id_acc", "mel_r", "mm_acc", "id_acc", "song_acc"]


def models(sfreq, epochs, seed, gan_params=None):
    """Pipelines compared at one SNR: name -> unfitted estimator, from the registry.

    Parameters
    ----------
    sfreq : float
        EEG rate (Hz).
    epochs : int
        GAN fine-tuning epochs (warm-up by the registry's rule).
    seed : int
    gan_params : dict | None
        More ``EEG2MusicGAN`` parameters for every GAN (``lr_encoder`` is set here).

    Returns
    -------
    models : dict of str -> estimator
        ``gan`` and ``shuffled-gan`` per setting of :data:`SETTINGS` (named
        ``"<registry name>, <setting>"``) and ``linear-mel``.
    """
    out = {}
    for label, lr_encoder in SETTINGS.items():
        params = {**(gan_params or {}), "lr_encoder": lr_encoder}
        built = make_models(
            sfreq, ["gan", "shuffled-gan"], epochs=epochs, seed=seed, gan_params=params
        )
        out.update({f"{name}, {label}": est for name, est in built.items()})
    out.update(make_models(sfreq, ["linear-mel"], seed=seed, n_iter=16))
    return out


def encoder_lr_table(summary):
    """Formatted table: one row per (SNR, condition, model), columns :data:`COLUMNS`."""
    table = summary.sort_values(["snr_db", "condition"], kind="stable")
    out = pd.DataFrame(
        {
            "SNR (dB)": [f"{v:g}" for v in table["snr_db"]],
            "condition": table["condition"],
            "model": table["model"],
        }
    )
    for c in COLUMNS:
        out[c] = [format_number(v) for v in table.get(c, pd.Series(float("nan"), table.index))]
    out["id chance"] = [format_number(v) for v in table["id_chance"]]
    return out.reset_index(drop=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snr", type=float, nargs="+", default=[-15.0, -28.0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--folds", type=int, default=1, help="held-out subjects (first ones)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-subjects", type=int, default=None, help="default: the simulator's")
    parser.add_argument("--stimulus-seconds", type=float, default=None)
    parser.add_argument("--decoder-steps", type=int, default=None, help="default: the preset's")
    parser.add_argument("--encoder-epochs", type=int, default=None, help="default: the preset's")
    parser.add_argument("--doc", type=Path, default=DOC)
    parser.add_argument("--no-doc", action="store_true", help="do not update the markdown")
    args = parser.parse_args(argv)
    sim = {k: v for k, v in (("n_subjects", args.n_subjects),) if v is not None}
    if args.stimulus_seconds is not None:
        sim["stimulus_seconds"] = args.stimulus_seconds
    # Every GAN fits the same decoder on the same training audio: pre-train it once.
    cache = tempfile.mkdtemp(prefix="sk_eeg2music_decoder_")  # ours, removed below
    gan_params = {"memory": cache}
    if args.decoder_steps is not None:
        gan_params["decoder_steps"] = args.decoder_steps
    if args.encoder_epochs is not None:
        gan_params["encoder_epochs"] = args.encoder_epochs
    rows = []
    try:
        for snr in args.snr:
            data = make_simulated("mos", snr_db=snr, random_state=args.seed, **sim)
            print(data, file=sys.stderr)
            ev = evaluate_models(
                models(data.sfreq, args.epochs, args.seed, gan_params),
                data,
                LeaveOneGroupOut(),
                split="loso",
                max_folds=args.folds,
                progress=False,
                log=lambda m: print(m, file=sys.stderr),
            )
            rows.append(ev.summary().assign(snr_db=snr))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    summary = pd.concat(rows, ignore_index=True)
    n_sub = len(set(data.groups))
    omp = os.environ.get("OMP_NUM_THREADS")
    threads = f"OMP_NUM_THREADS={omp} " if omp else ""
    header = (
        f"`{threads}{command_line('benchmarks/encoder_lr.py', argv)}` "
        f"({datetime.date.today()}, {device_label('cpu')}, {machine_label()}, "
        f"sk_eeg2music {sk_eeg2music.__version__}): simulated MOS, {n_sub} subjects, "
        f"GAN preset cpu, {args.epochs} epochs, leave-one-subject-out, first {args.folds} "
        f"fold(s); feature_* at the EEG rate, mel_r trimmed, mm match–mismatch (chance 0.5)."
    )
    table = markdown_table(encoder_lr_table(summary))
    print(header + "\n\n" + table)
    if not args.no_doc:
        write_block(args.doc, "encoder-lr", header + "\n\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
