"""Helpers shared by the listening-test tests (imported by their conftest and tests)."""

import numpy as np

from sk_eeg2music import write_report

SFREQ = 8000
SECONDS = 1.0
SYSTEMS = [
    "GAN, held-out sub-01",
    "Linear decoder (mel), held-out sub-01",
    "Shuffled-pairs GAN (null control), sub-01",
]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def _tones(n_clips, n_audio, seed):
    """Seeded noisy tones with slow amplitude modulation, shape (n_clips, n_audio)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_audio) / SFREQ
    f0 = rng.uniform(200, 800, (n_clips, 1))
    env = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.5, 3, (n_clips, 1)) * t)
    return env * np.sin(2 * np.pi * f0 * t) + 0.05 * rng.standard_normal((n_clips, n_audio))


def write_tiny_run(
    out, conditions=("listening",), stimuli=("chor-019", "chor-038"), layout="manifest"
):
    """A run folder with originals and three systems per (stimulus, condition).

    ``layout="report"`` writes what ``demo`` writes (``write_report``: the page
    names the clips); ``"manifest"`` writes the WAVs and a ``clips.csv``, which
    is much faster (no spectrograms) and reads back as the same clip table.
    """
    import pandas as pd

    from sk_eeg2music._io import write_wav
    from sk_eeg2music.listening._runs import split_label

    n_audio = int(SECONDS * SFREQ)
    keys = [(s, c) for s in stimuli for c in conditions]
    originals = _tones(len(keys), n_audio, seed=0)
    rng = np.random.default_rng(1)
    items = []
    for original, (stim, cond) in zip(originals, keys, strict=True):
        recon = [
            # Decreasing similarity to the original, so a listener who rates by
            # similarity orders the systems GAN > linear > shuffled.
            dict(label=label, audio=w * original + (1 - w) * rng.standard_normal(n_audio))
            for label, w in zip(SYSTEMS, (0.8, 0.5, 0.1), strict=True)
        ]
        items.append(
            dict(stimulus=stim, segment=0, condition=cond, original=original, reconstructions=recon)
        )
    metrics = [dict(model="GAN (EEG2MusicGAN)", split="leave-one-subject-out", mel_r=0.1)]
    if layout == "report":
        write_report(out, items, metrics, sfreq=SFREQ, split_description="tiny run for tests")
        return out
    out.mkdir(parents=True)
    rows = []
    for k, item in enumerate(items):
        clips = [("Original", item["original"])]
        clips += [(r["label"], r["audio"]) for r in item["reconstructions"]]
        for j, (label, audio) in enumerate(clips):
            name = f"clip{k:02d}_{j}.wav"
            write_wav(out / name, audio, SFREQ)
            system, subject = split_label(label)
            rows.append(
                dict(
                    file=name,
                    stimulus=item["stimulus"],
                    segment=item["segment"],
                    condition=item["condition"],
                    system=system,
                    subject=subject,
                )
            )
    pd.DataFrame(rows).to_csv(out / "clips.csv", index=False)
    pd.DataFrame(metrics).to_csv(out / "metrics.csv", index=False)
    return out


#: Mean rating a simulated listener gives each system (by name prefix).
MEANS = {"Hidden reference": 100, "Anchor": 20, "GAN": 70, "Linear": 40, "Shuffled": 40, "Mean": 25}


def simulated_ratings(test, listeners, seed=0, hidden_miss=None):
    """Page-format ratings rows for ``listeners``, in the page's seeded order.

    Ratings are ``MEANS`` + N(0, 10), clipped to 0-100 and rounded; the hidden
    reference gets 100 except in the first ``hidden_miss[listener]`` trials
    shown, where it gets 70. 2AFC answers are correct for GAN clips, wrong
    for the others.
    """
    from sk_eeg2music.listening import presentation_order

    rng = np.random.default_rng(seed)
    rows = []
    for listener in listeners:
        order = presentation_order(test, listener)
        trials = {t["id"]: t for t in test["mushra"]}
        for pos, tid in enumerate(order["mushra"], start=1):
            trial = trials[tid]
            clips = {c["id"]: c for c in trial["clips"]}
            for shown, cid in enumerate(order["clips"][tid], start=1):
                system = clips[cid]["system"]
                mean = next(v for k, v in MEANS.items() if system.startswith(k))
                rating = float(np.clip(round(mean + rng.normal(0, 10)), 0, 100))
                if system == "Hidden reference":
                    missed = pos <= (hidden_miss or {}).get(listener, 0)
                    rating = 70.0 if missed else 100.0
                rows.append(
                    dict(
                        listener=listener,
                        seed=order["seed"],
                        block="mushra",
                        trial=tid,
                        trial_position=pos,
                        stimulus=trial["stimulus"],
                        segment=trial["segment"],
                        condition=trial["condition"],
                        system=system,
                        subject=clips[cid]["subject"],
                        clip=cid,
                        rating=rating,
                        choice="",
                        correct="",
                        play_count=1,
                        time_spent_s=12.5,
                        order_shown=shown,
                    )
                )
        afc = {t["id"]: t for t in test["afc"]}
        for pos, tid in enumerate(order["afc"], start=1):
            t = afc[tid]
            right = t["system"].startswith("GAN")
            target = order["afc_target"][tid]
            choice = target if right else ("B" if target == "A" else "A")
            rows.append(
                dict(
                    listener=listener,
                    seed=order["seed"],
                    block="2afc",
                    trial=tid,
                    trial_position=pos,
                    stimulus=t["stimulus"],
                    segment=t["segment"],
                    condition=t["condition"],
                    system=t["system"],
                    subject=t["subject"],
                    clip=t["clip"],
                    rating="",
                    choice=choice,
                    correct=int(right),
                    play_count=3,
                    time_spent_s=4.0,
                    order_shown=1 if target == "A" else 2,
                )
            )
    return rows


def write_ratings(path, rows):
    """Write rows as the page does (its column order)."""
    import pandas as pd

    from sk_eeg2music.listening import COLUMNS

    pd.DataFrame(rows, columns=COLUMNS).to_csv(path, index=False)
    return path
