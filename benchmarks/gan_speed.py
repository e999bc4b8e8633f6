"""Speed of the default CPU ``EEG2MusicGAN``: training throughput, inference, skorch overhead.

Measures, on random 64-channel 64-Hz EEG paired with 16-kHz audio (factor 250),
4-s trials, the default ``preset="cpu"`` with the discriminator on from the
first epoch (``warmup_epochs=0``):

1. training throughput in audio-seconds per second (crops of ``crop_seconds``
   per trial per epoch, divided by the epoch's wall time);
2. inference speed as a multiple of real time (audio seconds generated per
   second of ``predict`` on whole trials);
3. skorch overhead: the same epoch run by ``partial_fit`` and by a plain-torch
   loop doing the identical step (same networks, losses, crops, optimizers),
   interleaved in one run so machine load hits both alike.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/gan_speed.py [--threads 2] [--repeats 5]
"""

import argparse
import statistics
import time

import numpy as np
import torch

from sk_eeg2music import EEG2MusicGAN
from sk_eeg2music.models.gan.estimator import random_crops, random_windows
from sk_eeg2music.models.gan.losses import (
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
    weighted_sum,
)


def make_data(n_trials, n_channels, sfreq, audio_sfreq, seconds, seed=0):
    rng = np.random.default_rng(seed)
    n_times = int(seconds * sfreq)
    X = rng.standard_normal((n_trials, n_channels, n_times)).astype(np.float32)
    t = np.arange(int(n_times * audio_sfreq / sfreq)) / audio_sfreq
    f0 = rng.uniform(200, 800, (n_trials, 1))
    y = (0.5 * np.sin(2 * np.pi * f0 * t)).astype(np.float32)
    return X, y


def plain_torch_epoch(net, X, y):
    """One epoch of the same alternating update as ``EEG2MusicGAN.train_step``, without skorch."""
    G, D, crit = net.module_, net.discriminator_, net.criterion_
    opt_g, opt_d = net.optimizer_, net.optimizer_discriminator_
    weights, components = net._weights(), net._components()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(y)),
        batch_size=net.batch_size,
        shuffle=True,
    )
    G.train()
    D.train()
    for Xb, yb in loader:
        features = G.encode(Xb)
        aux = G.predict_mel(features)
        features, y_crop = random_crops(features, yb, net.factor_, net._crop())
        y_fake = G.decode(features)
        real, fake = random_windows(y_crop, y_fake, net._discriminator_window())
        opt_d.zero_grad()
        d_loss, _ = discriminator_loss(D(real)[0], D(fake.detach())[0], net.adversarial_loss)
        d_loss.backward()
        torch.nn.utils.clip_grad_norm_(D.parameters(), net.grad_clip_discriminator)
        opt_d.step()
        opt_g.zero_grad()
        parts = crit(y_fake, y_crop, aux=aux, components=components, aux_audio=yb)
        D.requires_grad_(False)
        fake_logits, fake_fmaps = D(fake)
        with torch.no_grad():
            real_fmaps = D(real)[1]
        D.requires_grad_(True)
        parts.update(generator_adversarial_loss(fake_logits, net.adversarial_loss)[1])
        parts.update(feature_matching_loss(real_fmaps, fake_fmaps)[1])
        loss = weighted_sum(parts, weights)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(G.parameters(), net.grad_clip)
        opt_g.step()
        torch.stack([v.detach() for v in parts.values()]).tolist()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--preset", default="cpu")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    sfreq, audio_sfreq, seconds = 64.0, 16000, 4.0
    X, y = make_data(args.trials, 64, sfreq, audio_sfreq, seconds)
    net = EEG2MusicGAN(
        preset=args.preset, sfreq=sfreq, warmup_epochs=0, max_epochs=1, verbose=0, random_state=0
    )
    net.fit(X, y)  # warm-up epoch (allocations, oneDNN primitive caches)
    n_g = sum(p.numel() for p in net.module_.parameters())
    n_d = sum(p.numel() for p in net.discriminator_.parameters())
    print(
        f"preset={args.preset}: generator {n_g / 1e6:.3f} M params, "
        f"discriminator {n_d / 1e6:.3f} M params, rates {net.module_.rates}, "
        f"{torch.get_num_threads()} threads"
    )

    crop = net.crop_seconds
    audio_per_epoch = args.trials * min(crop, seconds)
    runs = {"skorch": [], "plain": []}
    for _ in range(args.repeats):
        for name, run in (
            ("skorch", lambda: net.partial_fit(X, y)),
            ("plain", lambda: plain_torch_epoch(net, X, y)),
        ):
            w0, c0 = time.perf_counter(), time.process_time()
            run()
            runs[name].append((time.perf_counter() - w0, time.process_time() - c0))
    wall = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in runs.items()}
    # CPU seconds / threads: the wall time the work would take on dedicated cores,
    # robust to other jobs sharing the machine.
    n_thr = torch.get_num_threads()
    print(
        f"training, discriminator on ({audio_per_epoch:.0f} audio-s per epoch, median of "
        f"{args.repeats}):"
    )
    for name in ("skorch", "plain"):
        print(
            f"  {name:6s}: {audio_per_epoch / wall[name]:6.1f} audio-s/s wall, "
            f"{audio_per_epoch * n_thr / cpu[name]:6.1f} audio-s/s per {n_thr} cores of CPU time"
        )
    ratios = [s[1] / p[1] for s, p in zip(runs["skorch"], runs["plain"])]
    overhead = 100 * (cpu["skorch"] / cpu["plain"] - 1)
    print(
        f"skorch overhead (CPU time, skorch / plain - 1): {overhead:+.1f} % "
        f"(per-repeat: {', '.join(f'{100 * (r - 1):+.1f}' for r in ratios)}); "
        f"wall: {100 * (wall['skorch'] / wall['plain'] - 1):+.1f} %"
    )

    X_test, _ = make_data(16, 64, sfreq, audio_sfreq, seconds, seed=1)
    net.predict(X_test[:2])
    times = []
    for _ in range(3):
        w0, c0 = time.perf_counter(), time.process_time()
        net.predict(X_test)
        times.append((time.perf_counter() - w0, time.process_time() - c0))
    audio = len(X_test) * seconds
    w, c = min(t[0] for t in times), min(t[1] for t in times)
    print(
        f"inference at {audio_sfreq} Hz: {audio / w:.0f}x real time wall, "
        f"{audio * n_thr / c:.0f}x per {n_thr} cores of CPU time "
        f"({len(X_test)} trials of {seconds:g} s)"
    )


if __name__ == "__main__":
    main()
