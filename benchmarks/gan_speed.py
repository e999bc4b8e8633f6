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
from sk_eeg2music.models.gan.estimator import random_crops
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
    """One epoch of the same alternating update, without skorch."""
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
        Xb, yb = random_crops(Xb, yb, net.factor_, net._crop())
        y_fake, aux = G(Xb, return_aux=True)
        opt_d.zero_grad()
        d_loss, _ = discriminator_loss(D(yb)[0], D(y_fake.detach())[0], net.adversarial_loss)
        d_loss.backward()
        torch.nn.utils.clip_grad_norm_(D.parameters(), net.grad_clip_discriminator)
        opt_d.step()
        opt_g.zero_grad()
        parts = crit(y_fake, yb, aux=aux, components=components)
        D.requires_grad_(False)
        fake_logits, fake_fmaps = D(y_fake)
        with torch.no_grad():
            real_fmaps = D(yb)[1]
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
    t_skorch, t_plain = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        net.partial_fit(X, y)
        t_skorch.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        plain_torch_epoch(net, X, y)
        t_plain.append(time.perf_counter() - t0)
    med_s, med_p = statistics.median(t_skorch), statistics.median(t_plain)
    print(
        f"training, discriminator on: {audio_per_epoch / med_s:.1f} audio-s/s via skorch "
        f"({audio_per_epoch:.0f} audio-s per epoch, median epoch {med_s:.2f} s)"
    )
    print(
        f"plain torch loop, same step: {audio_per_epoch / med_p:.1f} audio-s/s "
        f"(median epoch {med_p:.2f} s)"
    )
    print(
        f"skorch overhead: {100 * (med_s / med_p - 1):+.1f} % "
        f"(per-repeat ratios: {', '.join(f'{s / p:.3f}' for s, p in zip(t_skorch, t_plain))})"
    )

    X_test, _ = make_data(16, 64, sfreq, audio_sfreq, seconds, seed=1)
    net.predict(X_test[:2])
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        net.predict(X_test)
        times.append(time.perf_counter() - t0)
    rtf = len(X_test) * seconds / min(times)
    print(
        f"inference: {rtf:.0f}x real time at {audio_sfreq} Hz "
        f"({len(X_test)} trials of {seconds:g} s in {min(times):.2f} s)"
    )


if __name__ == "__main__":
    main()
