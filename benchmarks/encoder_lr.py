"""Ablation of ``EEG2MusicGAN(lr_encoder=...)`` in the demo's short-training regime.

The default GAN pipeline (band-pass, scaler, clip, per-subject Euclidean
Alignment, ``EEG2MusicGAN``) is trained for a few epochs with the encoder's own
learning rate (the default) and with ``lr_encoder=None`` (the encoder at the
upsampler's ``lr``), each beside the same pipeline on shuffled EEG-music pairs
(the null control) and the linear mel decoder, leave-one-subject-out on
simulated MOS, in the package's evaluation harness. Listening and imagery
trials are scored separately.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/encoder_lr.py                 # ~5 min on 2 cores
    python benchmarks/encoder_lr.py --snr -28 -15 --epochs 5 --folds 2
"""

import argparse
import sys

import pandas as pd
from sklearn.model_selection import LeaveOneGroupOut

from sk_eeg2music import ShuffledPairs, make_simulated
from sk_eeg2music.evaluation import cross_validate_reconstruction, summarize
from sk_eeg2music.pipelines import make_gan_pipeline, make_linear_pipeline

COLUMNS = ["mel_r", "envelope_r", "id_acc", "rank_acc", "song_acc"]


def models(sfreq, epochs, seed):
    """Pipelines compared at one SNR: name -> unfitted estimator."""
    gan = dict(max_epochs=epochs, warmup_epochs=max(1, epochs // 3), random_state=seed, verbose=0)
    out = {}
    for label, lr_encoder in (("lr_encoder=3e-3 (default)", 3e-3), ("lr_encoder=None", None)):
        out[f"GAN, {label}"] = make_gan_pipeline(sfreq, lr_encoder=lr_encoder, **gan)
        out[f"ShuffledPairs(GAN), {label}"] = ShuffledPairs(
            make_gan_pipeline(sfreq, lr_encoder=lr_encoder, **gan), random_state=seed
        )
    out["Linear (mel)"] = make_linear_pipeline(sfreq, target="mel", n_iter=16)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snr", type=float, nargs="+", default=[-15.0, -28.0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--folds", type=int, default=1, help="held-out subjects (first ones)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = []
    for snr in args.snr:
        data = make_simulated("mos", snr_db=snr, random_state=args.seed)
        print(data, file=sys.stderr)
        for name, model in models(data.sfreq, args.epochs, args.seed).items():
            s = cross_validate_reconstruction(
                model, data, LeaveOneGroupOut(), model=name, split="loso", max_folds=args.folds
            )
            rows.append(summarize(s).assign(snr_db=snr))
    table = pd.concat(rows, ignore_index=True)
    print(
        f"Command: `python benchmarks/encoder_lr.py {' '.join(argv or sys.argv[1:])}` "
        f"(simulated MOS, 4 subjects, 4-s segments, GAN preset cpu, {args.epochs} epochs, "
        f"leave-one-subject-out, first {args.folds} fold(s))\n"
    )
    print("| SNR (dB) | condition | model | " + " | ".join(COLUMNS) + " | id chance |")
    print("|---" * (len(COLUMNS) + 4) + "|")
    for _, r in table.sort_values(["snr_db", "condition"], kind="stable").iterrows():
        vals = " | ".join(f"{r[c]:.3f}" for c in COLUMNS)
        print(f"| {r.snr_db:g} | {r.condition} | {r.model} | {vals} | {r.id_chance:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
