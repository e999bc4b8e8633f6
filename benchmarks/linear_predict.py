"""Speed and scores of ``LinearDecoder(target="mel").predict``: librosa per trial vs batched.

``predict`` turns the decoded log-mel into waveforms: an NNLS inversion of the
mel filter bank, then Griffin-Lim. Until issue 18 it called
:func:`librosa.feature.inverse.mel_to_stft` and :func:`librosa.griffinlim` one
trial at a time; most of the time went to librosa's NNLS, an L-BFGS-B that stops
at its starting point (the clipped pseudo-inverse) after building one bound
tuple per unknown. :func:`sk_eeg2music.audio.mel_to_waveform` now computes the
same start and librosa's stopping test for all trials at once and runs
Griffin-Lim on all trials at once from the same seeded phases.

On simulated MOS data (3 subjects, 4 s segments, 16 kHz audio), leave one
subject out: for each fold one ``LinearDecoder(target="mel")`` is fitted, then
the same fitted model predicts the held-out subject both ways:

- **old**: ``predict_features`` + the previous per-trial librosa code (kept
  below as :func:`mel_to_waveform_librosa`, verbatim);
- **new**: ``predict``.

Both are timed in the same run, and scored with
:func:`~sk_eeg2music.metrics.mel_correlation`,
:func:`~sk_eeg2music.metrics.identification_accuracy` and (on the decoded
features, before synthesis, identical by construction)
:func:`~sk_eeg2music.metrics.feature_correlation`.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/linear_predict.py            # 3 folds
    OMP_NUM_THREADS=1 python benchmarks/linear_predict.py --quick    # 8 test trials per fold
    OMP_NUM_THREADS=1 python benchmarks/linear_predict.py --snr-db 10  # a decodable simulation
"""

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import librosa  # noqa: E402
import numpy as np  # noqa: E402

from sk_eeg2music import make_simulated  # noqa: E402
from sk_eeg2music.audio import log_mel_spectrogram, mel_params  # noqa: E402
from sk_eeg2music.metrics import (  # noqa: E402
    feature_correlation,
    identification_accuracy,
    mel_correlation,
)
from sk_eeg2music.models import LinearDecoder  # noqa: E402


def mel_to_waveform_librosa(logmel, audio_sfreq, hop_length, n_audio, n_iter=32, random_state=0):
    """The previous ``mel_to_waveform``: librosa's inversion, one trial at a time."""
    params = mel_params(audio_sfreq, hop_length, n_mels=logmel.shape[-2])
    params.pop("hop_length")
    params.pop("n_mels")
    sr, n_fft, power = params.pop("sr"), params.pop("n_fft"), params.pop("power")
    mel = np.clip(np.exp(logmel.astype(np.float64)) - 1e-8, 0.0, None).astype(np.float32)
    n_stft = 1 + n_audio // hop_length
    mel = np.concatenate(
        [mel[..., :n_stft], np.repeat(mel[..., -1:], max(0, n_stft - mel.shape[-1]), axis=-1)],
        axis=-1,
    )
    out = np.zeros((len(mel), n_audio), dtype=np.float32)
    for i, m in enumerate(mel):
        if not np.any(m > 0):
            continue
        stft_mag = librosa.feature.inverse.mel_to_stft(m, sr=sr, n_fft=n_fft, power=power, **params)
        rng = None if random_state is None else np.random.RandomState(random_state)
        wav = librosa.griffinlim(
            stft_mag,
            n_iter=n_iter,
            hop_length=hop_length,
            n_fft=n_fft,
            center=True,
            length=n_audio,
            pad_mode="constant",
            random_state=rng,
        )
        out[i] = np.nan_to_num(wav)
    return out


def predict_old(dec, X):
    """``dec.predict(X)`` as it was: the decoded log-mel through librosa per trial."""
    feats = dec.predict_features(X)
    n_audio = feats.shape[-1] * dec.factor_
    wave = mel_to_waveform_librosa(
        feats, dec.audio_sfreq_, dec.factor_, n_audio, dec.n_iter, dec.random_state
    )
    return wave.astype(np.float64)


def _scores(y, pred, feats_true, feats_pred, sfreq):
    return dict(
        mel_r=mel_correlation(y, pred, sfreq=sfreq),
        ident=identification_accuracy(y, pred, sfreq=sfreq),
        feat_r=feature_correlation(feats_true, feats_pred),
    )


def run(quick=False, snr_db=None):
    """Fit, predict both ways and score, one row per held-out subject."""
    data = make_simulated("mos", n_subjects=3, segment_seconds=4.0, snr_db=snr_db)
    rows = []
    for subject in np.unique(data.subject):
        train, test = data.subject != subject, np.flatnonzero(data.subject == subject)
        if quick:
            test = test[:8]
        dec = LinearDecoder(target="mel", sfreq=data.sfreq)
        dec.fit(data.X[train], data.y[train], groups=data.subject[train])
        X, y = data.X[test], data.y[test]
        t0 = time.perf_counter()
        old = predict_old(dec, X)
        t_old = time.perf_counter() - t0
        t0 = time.perf_counter()
        new = dec.predict(X)
        t_new = time.perf_counter() - t0
        feats_pred = dec.predict_features(X)
        feats_true = log_mel_spectrogram(y, data.audio_sfreq, dec.factor_, n_mels=dec.n_mels)
        s_old = _scores(y, old, feats_true, feats_pred, data.audio_sfreq)
        s_new = _scores(y, new, feats_true, feats_pred, data.audio_sfreq)
        rows.append(
            dict(
                subject=subject,
                n_trials=len(test),
                t_old=t_old,
                t_new=t_new,
                ratio=t_old / t_new,
                max_abs_diff=float(np.max(np.abs(old - new))),
                **{f"{k}_old": v for k, v in s_old.items()},
                **{f"{k}_new": v for k, v in s_new.items()},
            )
        )
        print(rows[-1], flush=True)
    return rows


def table(rows):
    """Markdown table: one row per fold, then mean ± SD over folds."""
    cols = [
        ("n_trials", "test trials", "{:.0f}"),
        ("t_old", "old predict (s)", "{:.2f}"),
        ("t_new", "new predict (s)", "{:.2f}"),
        ("ratio", "speed-up", "{:.1f}×"),
        ("mel_r_old", "mel r old", "{:.4f}"),
        ("mel_r_new", "mel r new", "{:.4f}"),
        ("feat_r_old", "feature r old", "{:.4f}"),
        ("feat_r_new", "feature r new", "{:.4f}"),
        ("ident_old", "ident. old", "{:.3f}"),
        ("ident_new", "ident. new", "{:.3f}"),
        ("max_abs_diff", "max abs wave diff", "{:.1e}"),
    ]
    lines = [
        "| fold | " + " | ".join(c[1] for c in cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for r in rows:
        lines.append(f"| {r['subject']} | " + " | ".join(f.format(r[k]) for k, _, f in cols) + " |")
    cells = []
    for k, _, f in cols:
        v = np.array([r[k] for r in rows], dtype=float)
        cells.append(f.format(v.mean()) + " ± " + f.format(v.std(ddof=1) if len(v) > 1 else 0.0))
    lines.append("| mean ± SD | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="8 test trials per fold")
    parser.add_argument(
        "--snr-db", type=float, default=None, help="EEG SNR of the simulation (default: its own)"
    )
    args = parser.parse_args(argv)
    rows = run(quick=args.quick, snr_db=args.snr_db)
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
