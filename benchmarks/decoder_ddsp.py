"""DDSP-style harmonic-plus-noise decoder against the package's upsampler, at equal wall-clock time.

Issue 17, deliverable 1: does a differentiable sinusoid bank + filtered noise
(:class:`sk_eeg2music.models.gan._ddsp.HarmonicNoiseDecoder`) learn to render
the training music faster on a CPU than the HiFi-GAN-style upsampler of
:class:`sk_eeg2music.EEG2MusicGAN` (preset ``"cpu"``)?

Both decoders are trained by the package's own
:func:`sk_eeg2music.models.gan._staged.pretrain_decoder`, with the loss,
weights, batch, crop, optimiser and gradient clipping that ``EEG2MusicGAN``
passes it for the preset (mel + multi-resolution STFT, teacher-forced on the
true z-scored log-mel), on the distinct segments of a simulated MOS (or, with
``--kind nmedt``, NMED-T: drums, bass, chords and melody) set minus held-out
ones. Only the stopping rule differs from ``fit``: training runs
until the largest wall-clock budget, and each decoder's weights are copied
when it passes each budget (and, for the upsampler, at the preset's 240
steps). The copies then render the *true* log-mels of the held-out segments,
scored against the originals.

Run (one thread, as on a busy 2-core machine)::

    OMP_NUM_THREADS=1 python benchmarks/decoder_ddsp.py \
        --models upsampler upsampler@1e-3 ddsp --budgets 15 30 60 --doc
    OMP_NUM_THREADS=1 python benchmarks/decoder_ddsp.py --kind nmedt \
        --budgets 15 30 60 --png '' --doc --marker decoder-ddsp-nmedt
"""

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import torch

from sk_eeg2music import EEG2MusicGAN, make_simulated
from sk_eeg2music.benchmarking import (
    command_line,
    format_number,
    machine_label,
    markdown_table,
    write_block,
)
from sk_eeg2music.metrics import frechet_mel_distance, frechet_mel_floor, mel_correlation
from sk_eeg2music.models.gan._ddsp import HarmonicNoiseDecoder
from sk_eeg2music.models.gan._staged import pretrain_decoder, unique_audio

ROOT = Path(__file__).resolve().parents[1]
MARKER = "decoder-ddsp"
SECTION = "## DDSP-style decoder vs the upsampler (issue 17)"


class _Done(Exception):
    """Raised by :class:`TimedCriterion` once the last budget has passed."""


class TimedCriterion:
    """Wraps a ``ReconstructionLoss``: snapshots the decoder at wall-clock budgets, then stops.

    ``pretrain_decoder`` calls the criterion once per step, before that
    step's update, so at call ``i`` the weights are those after ``i - 1``
    steps. Snapshot time is excluded from the clock.
    """

    def __init__(self, criterion, state_fn, budgets, at_steps=()):
        self.criterion, self.state_fn = criterion, state_fn
        self.budgets, self.at_steps = sorted(budgets), set(at_steps)
        self.snapshots = []  # (label, seconds, steps, state)
        self.calls, self.paused, self.start = 0, 0.0, None

    def __getattr__(self, name):
        return getattr(self.criterion, name)

    def elapsed(self):
        return time.perf_counter() - self.start - self.paused

    def _snap(self, label):
        t0 = time.perf_counter()
        self.snapshots.append((label, self.elapsed(), self.calls - 1, self.state_fn()))
        self.paused += time.perf_counter() - t0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls - 1 in self.at_steps:
            self._snap(f"{self.calls - 1} steps (preset)")
        while self.budgets and self.elapsed() >= self.budgets[0]:
            self._snap(f"{self.budgets.pop(0):g} s")
        if not self.budgets:
            raise _Done
        return self.criterion(*args, **kwargs)


def train_timed(module, criterion, y_train, budgets, at_steps=(), **settings):
    """Run ``pretrain_decoder`` until the last budget; returns the snapshots."""

    def state():
        return {k: v.detach().clone() for k, v in module.state_dict().items()}

    timed = TimedCriterion(criterion, state, budgets, at_steps)
    timed.start = time.perf_counter()
    try:
        pretrain_decoder(module, timed, y_train, steps=10**9, **settings)
    except _Done:
        pass
    return timed.snapshots


def band_modulation(y, sfreq, n_mels=32):
    """Mean over mel bands of each band's standard deviation over time (dB), averaged over trials.

    A flat, stationary sound scores near 0; notes and onsets raise it. Local
    definition (the package has no such metric); 16-ms hop, 10 % edges dropped.
    """
    hop = int(round(0.016 * sfreq))
    out = []
    for row in np.asarray(y, dtype=np.float32):
        mel = librosa.feature.melspectrogram(
            y=row, sr=sfreq, n_fft=4 * hop, hop_length=hop, n_mels=n_mels
        )
        db = librosa.power_to_db(mel, ref=1.0, amin=1e-10)
        k = db.shape[1] // 10
        out.append(db[:, k : db.shape[1] - k].std(axis=1).mean())
    return float(np.mean(out))


def render(module, criterion, y, seed=0):
    """Decode the true z-scored log-mel of ``y`` (n, n_audio) -> (n, n_audio) ndarray."""
    module.eval()
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(seed)  # the DDSP noise branch draws from the global generator
        out = module.decode(criterion.aux_target(torch.as_tensor(y)))
    module.train()
    return out.numpy()


def log_mel_db(y, sfreq, n_mels=80):
    hop = int(round(0.008 * sfreq))
    mel = librosa.feature.melspectrogram(
        y=y, sr=sfreq, n_fft=8 * hop, hop_length=hop, n_mels=n_mels
    )
    return librosa.power_to_db(mel, ref=1.0, amin=1e-8, top_db=80.0)


def save_figure(path, y_test, renders, sfreq, idx=(0, 1)):
    """Log-mel spectrograms: one row per source (original first), one column per segment."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [("original", y_test)] + list(renders.items())
    fig, axes = plt.subplots(len(rows), len(idx), figsize=(5.5 * len(idx), 2.2 * len(rows)))
    axes = np.atleast_2d(axes)
    for r, (name, y) in enumerate(rows):
        for c, i in enumerate(idx):
            db = log_mel_db(y[i], sfreq)
            ax = axes[r, c]
            ax.imshow(
                db,
                origin="lower",
                aspect="auto",
                cmap="magma",
                vmin=db.max() - 80,
                extent=(0, y.shape[1] / sfreq, 0, db.shape[0]),
            )
            ax.set_title(f"{name}, held-out segment {i}", fontsize=9)
            ax.set_ylabel("mel band")
            if r == len(rows) - 1:
                ax.set_xlabel("time (s)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def make_upsampler(data, seed):
    """The preset-"cpu" generator, criterion and ``pretrain_decoder`` settings of ``EEG2MusicGAN``.

    Mirrors ``EEG2MusicGAN._pretrain_decoder`` (same settings dict), without
    fitting the encoder.
    """
    gan = EEG2MusicGAN(sfreq=data.sfreq, preset="cpu", random_state=seed, verbose=0)
    gan._validate_fit_data(data.X, data.y, reset=True)
    with gan._seeded(0):
        gan.initialize()
    weights = {
        k: v for k, v in gan._weights().items() if k in ("mel", "stft_sc", "stft_mag", "wav")
    }
    settings = dict(
        batch_size=gan.batch_size,
        n_crop=gan._crop(),
        factor=gan.factor_,
        weights=weights,
        lr=gan.lr,
        betas=gan.get_params_for("optimizer").get("betas") or (0.9, 0.999),
        grad_clip=gan.grad_clip,
        seed=seed,
    )
    return gan, settings


def n_params(params):
    return sum(p.numel() for p in params)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[30.0, 60.0, 120.0])
    parser.add_argument("--kind", default="mos", choices=["mos", "nmedt"])
    parser.add_argument("--audio-sfreq", type=int, default=16000)
    parser.add_argument("--n-test", type=int, default=8, help="held-out distinct segments")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    # 1e-3 from a pilot (MOS, MIDI 36-96; FMD after 20 s: 1e-3 139, 3e-3 80 but 154 at 10 s;
    # 2e-4: 497 after 6 s).
    parser.add_argument("--ddsp-lr", type=float, default=1e-3, help="None: the upsampler's lr")
    parser.add_argument("--n-harmonics", type=int, default=8)
    parser.add_argument("--midi", type=int, nargs=2, default=[24, 96])
    parser.add_argument(
        "--models",
        nargs="+",
        default=["upsampler", "ddsp"],
        help="'upsampler' (preset lr), 'ddsp' (--ddsp-lr), or either as NAME@LR",
    )
    parser.add_argument("--png", default=str(ROOT / "docs" / "_static" / "ddsp_vs_upsampler.png"))
    parser.add_argument("--doc", action="store_true", help="write the doc block")
    parser.add_argument("--marker", default=MARKER, help="name of the doc block")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load = os.getloadavg()

    data = make_simulated(
        args.kind,
        n_subjects=1,
        audio_sfreq=args.audio_sfreq,
        segment_seconds=4,
        conditions=["listening"],
    )
    y_all = unique_audio(data.y)
    order = np.random.default_rng(args.seed).permutation(len(y_all))
    y_test, y_train = y_all[order[: args.n_test]], y_all[order[args.n_test :]]
    sfreq = data.audio_sfreq
    gan, settings = make_upsampler(data, args.seed)
    criterion = gan.criterion_
    y_train_t = torch.as_tensor(y_train)
    n_mels = criterion.aux_target(y_train_t[:1]).shape[1]

    rows, renders = [], {}

    def score(name, module, label, seconds, steps, n_par, lr):
        y_hat = render(module, criterion, y_test, seed=args.seed)
        rows.append(
            dict(
                decoder=name,
                budget=label,
                seconds=seconds,
                steps=steps,
                params=n_par,
                lr=lr,
                fmd=frechet_mel_distance(y_test, y_hat, sfreq),
                mel_r=mel_correlation(y_test, y_hat, sfreq, trim_seconds=0.25),
                band_mod_db=band_modulation(y_hat, sfreq),
            )
        )
        print(rows[-1], flush=True)
        return y_hat

    for spec in args.models:
        name, _, lr = spec.partition("@")
        if name == "upsampler":
            module = make_upsampler(data, args.seed)[0].module_  # fresh, same initial weights
            n_par = n_params(module.decoder_parameters())
            lr = float(lr) if lr else settings["lr"]
            kw, at_steps = {**settings, "lr": lr}, (240,) if lr == settings["lr"] else ()
        elif name == "ddsp":
            torch.manual_seed(args.seed)
            module = HarmonicNoiseDecoder(
                n_mels,
                data.sfreq,
                sfreq,
                midi_min=args.midi[0],
                midi_max=args.midi[1],
                n_harmonics=args.n_harmonics,
                seed=args.seed,
            )
            n_par = n_params(module.parameters())
            lr = float(lr) if lr else settings["lr"] if args.ddsp_lr is None else args.ddsp_lr
            kw, at_steps = {**settings, "lr": lr}, ()
        else:
            raise ValueError(f"unknown model {spec!r}")
        snaps = train_timed(module, criterion, y_train_t, args.budgets, at_steps=at_steps, **kw)
        for label, seconds, steps, state in snaps:
            module.load_state_dict(state)
            y_hat = score(name, module, label, seconds, steps, n_par, lr)
            if label == f"{max(args.budgets):g} s":
                renders[f"{name}, lr {lr:g} ({label}, {steps} steps)"] = y_hat

    floor = frechet_mel_floor(y_test, sfreq, random_state=args.seed)
    n_ref = min(len(y_test), len(y_train))
    rows.append(
        dict(
            decoder="originals (training segments)",
            budget="-",
            fmd=frechet_mel_distance(y_test, y_train[:n_ref], sfreq),
            mel_r=np.nan,
            band_mod_db=band_modulation(y_train[:n_ref], sfreq),
        )
    )
    rows.append(
        dict(decoder="originals (held-out)", budget="-", band_mod_db=band_modulation(y_test, sfreq))
    )
    table = pd.DataFrame(rows)
    table["fmd/floor"] = table["fmd"] / floor
    cols = ["decoder", "budget", "seconds", "steps", "params", "lr", "fmd", "fmd/floor"]
    table = table[cols + ["mel_r", "band_mod_db"]]
    shown = table.copy()
    for col, digits in [
        ("seconds", 1),
        ("fmd", 1),
        ("fmd/floor", 2),
        ("mel_r", 3),
        ("band_mod_db", 1),
    ]:
        shown[col] = [format_number(v, digits) for v in shown[col]]
    for col in ("steps", "params"):
        shown[col] = ["–" if pd.isna(v) else str(int(v)) for v in shown[col]]
    shown["lr"] = ["–" if pd.isna(v) else f"{v:g}" for v in shown["lr"]]
    md = markdown_table(shown)
    print(md)
    print(f"Fréchet mel floor (two halves of the {len(y_test)} held-out originals): {floor:.1f}")

    if args.png:
        save_figure(Path(args.png), y_test, renders, sfreq)
        print(f"wrote {args.png}")
    if args.doc:
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        command = command_line("benchmarks/decoder_ddsp.py", argv)
        text = "\n".join(
            [
                f"`OMP_NUM_THREADS={args.threads} {command}`, {today}, {machine_label()}, "
                f"torch threads {args.threads}; load average {load[0]:.1f} / {load[1]:.1f} "
                "(1 / 5 min) at the start: the 2 cores were shared with other jobs, so the "
                "seconds are wall-clock on a busy machine, measured in the same run for all rows.",
                "",
                f"Data: simulated {args.kind}, 1 subject, listening, 4-s segments at {sfreq} Hz: "
                f"{len(y_all)} distinct segments, {len(y_train)} for training, {len(y_test)} held "
                "out (seeded split). Every decoder is trained by `_staged.pretrain_decoder` with "
                f"the preset-`cpu` settings of `EEG2MusicGAN` (batch {settings['batch_size']}, "
                f"crop {settings['n_crop']} frames, loss weights {settings['weights']}, AdamW "
                f"betas {tuple(settings['betas'])}, grad clip {settings['grad_clip']}) except the "
                f"learning rate (`lr` column). DDSP: `HarmonicNoiseDecoder`, MIDI {args.midi[0]}-"
                f"{args.midi[1]} x {args.n_harmonics} harmonics + 65-band filtered noise. Scores: "
                "the held-out segments' *true* log-mels rendered and compared with their "
                "originals. `fmd`: `metrics.frechet_mel_distance`; `fmd/floor` divides it by "
                f"`metrics.frechet_mel_floor` of the held-out originals ({floor:.1f}; halves of "
                f"{len(y_test)} segments, so it is high: the originals of {n_ref} training "
                "segments score the `fmd` of the last rows); `mel_r`: `metrics.mel_correlation` "
                "(0.25-s edges trimmed); `band_mod_db`: mean over 32 mel bands of each band's "
                "std over time in dB (local definition, see the script; flat noise ~0). "
                "`seconds`/`steps`: wall-clock and optimiser steps at the snapshot.",
                "",
                md,
            ]
        )
        doc = ROOT / "docs" / "benchmarks.md"
        if f"<!-- {MARKER} -->" not in doc.read_text():
            with doc.open("a") as fh:
                fh.write(f"\n{SECTION}\n")
        write_block(doc, args.marker, text)
        print(f"wrote the {args.marker!r} block of {doc}")
    return table


if __name__ == "__main__":
    main(sys.argv[1:])
