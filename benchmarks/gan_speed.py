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

Each timed epoch also counts the process's minor page faults. With glibc's
default (dynamic) malloc thresholds, freed blocks of a few MB go back to the
kernel and are faulted in again on the next allocation, and how often that
happens depends on which tensors happen to be alive: the skorch epoch took 2-3
times the plain loop's page faults for identical calls (measured), which made
up most of the "skorch overhead". ``--malloc fixed`` (:func:`fix_malloc_thresholds`,
what ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` set from the shell)
keeps freed memory in the process, so both loops run without that noise.
It changes allocator settings only, never the computation.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/gan_speed.py [--threads 2] [--repeats 5]
    python benchmarks/gan_speed.py --malloc fixed
    python benchmarks/gan_speed.py --device cuda --preset gpu

:func:`measure_gan` returns the numbers; ``benchmarks/speed.py`` collects them.
"""

import argparse
import ctypes
import json
import resource
import statistics
import time

import numpy as np
import torch

from sk_eeg2music import EEG2MusicGAN
from sk_eeg2music.models.gan._training import random_crops, random_windows
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
    """One epoch of the same alternating update as ``EEG2MusicGAN.train_step``, without skorch.

    ``X`` (n_trials, n_channels, n_times) and ``y`` (n_trials, n_audio) are float32
    arrays; each batch is moved to ``net.device`` as skorch does.
    """
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
        Xb, yb = Xb.to(net.device), yb.to(net.device)
        features, aux = net._fine_tuning_encode(Xb)
        with torch.no_grad():
            aux_target = crit.aux_target(yb)
        z = G.decoder_input_from(features, aux)
        teach = torch.rand(len(z), device=z.device) < net.teacher_forcing
        z = torch.where(teach[:, None, None], aux_target, z)
        z, y_crop = random_crops(z, yb, net.factor_, net._crop())
        y_fake = G.decode(z)
        real, fake = random_windows(y_crop, y_fake, net._discriminator_window())
        opt_d.zero_grad()
        d_loss, _ = discriminator_loss(D(real)[0], D(fake.detach())[0], net.adversarial_loss)
        d_loss.backward()
        torch.nn.utils.clip_grad_norm_(D.parameters(), net.grad_clip_discriminator)
        opt_d.step()
        opt_g.zero_grad()
        parts = crit(y_fake, y_crop, aux=aux, components=components, aux_target=aux_target)
        D.requires_grad_(False)
        fake_logits, fake_fmaps = D(fake)
        with torch.no_grad():
            real_fmaps = D(real)[1]
        D.requires_grad_(True)
        parts.update(generator_adversarial_loss(fake_logits, net.adversarial_loss)[1])
        parts.update(feature_matching_loss(real_fmaps, fake_fmaps)[1])
        loss = weighted_sum(parts, weights)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net._optimized_parameters(), net.grad_clip)
        opt_g.step()
        torch.stack([v.detach() for v in parts.values()]).tolist()


#: ``mallopt`` parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def fix_malloc_thresholds(mmap_threshold=32 * 2**20, trim_threshold=2**30):
    """Fix glibc's mmap and trim thresholds for this process; False off glibc.

    Setting them turns off glibc's dynamic adjustment (for the rest of the
    process: it cannot be undone). Allocations under ``mmap_threshold`` bytes
    (32 MiB is glibc's maximum on 64-bit) come from the heap, and freed heap
    memory is returned to the kernel only above ``trim_threshold`` bytes, so
    training steps reuse pages instead of faulting fresh ones in.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold))) and bool(
        libc.mallopt(_M_TRIM_THRESHOLD, int(trim_threshold))
    )


def _minor_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _timed(fn, device):
    """Wall seconds, CPU seconds and minor page faults of ``fn()`` (CUDA synchronised)."""
    cuda = str(device).startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
    w0, c0, f0 = time.perf_counter(), time.process_time(), _minor_faults()
    fn()
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - w0, time.process_time() - c0, _minor_faults() - f0


def measure_gan(
    preset="cpu", threads=2, trials=32, repeats=5, device="cpu", infer_trials=16, malloc="default"
):
    """Training throughput, skorch overhead and inference speed of one GAN preset.

    Parameters
    ----------
    preset : str, default="cpu"
        ``EEG2MusicGAN`` preset.
    threads : int, default=2
        ``torch.set_num_threads``.
    trials : int, default=32
        4-s training trials (64 channels at 64 Hz, 16-kHz audio).
    repeats : int, default=5
        Interleaved skorch / plain-torch epochs; medians are reported.
    device : str, default="cpu"
        Torch device (``"cuda"`` synchronises before reading each clock).
    infer_trials : int, default=16
        4-s trials generated per timed ``predict``.
    malloc : {"default", "fixed"}, default="default"
        ``"fixed"`` calls :func:`fix_malloc_thresholds` first (irreversible for
        the process: measure ``"default"`` first when measuring both).

    Returns
    -------
    result : dict
        ``train_wall`` / ``train_cpu`` (audio-s per s for ``"skorch"`` and
        ``"plain"``; the CPU figure is audio-s per ``threads`` cores of CPU time),
        ``overhead_cpu_pct`` / ``overhead_wall_pct`` (skorch / plain - 1, %),
        ``overhead_per_repeat_pct``, ``faults`` (median minor page faults per
        epoch, ``"skorch"`` and ``"plain"``), ``infer_wall`` / ``infer_cpu``
        (multiples of real time), ``seconds_wall`` / ``seconds_cpu`` (whole
        measurement), ``n_params_g`` / ``n_params_d``, ``rates``, ``threads``,
        ``audio_per_epoch``, ``malloc`` (as applied: ``"fixed"`` only where
        glibc accepted it).
    """
    if malloc not in ("default", "fixed"):
        raise ValueError(f"malloc must be 'default' or 'fixed'; got {malloc!r}.")
    if malloc == "fixed" and not fix_malloc_thresholds():
        malloc = "default (mallopt unavailable)"
    torch.set_num_threads(threads)
    w_start, c_start = time.perf_counter(), time.process_time()
    sfreq, audio_sfreq, seconds = 64.0, 16000, 4.0
    X, y = make_data(trials, 64, sfreq, audio_sfreq, seconds)
    net = EEG2MusicGAN(
        preset=preset,
        sfreq=sfreq,
        warmup_epochs=0,
        max_epochs=1,
        # The measured path is skorch's (fine-tuning) epoch and prediction; the
        # staged pre-training runs once in fit, barely, to reach them.
        decoder_steps=2,
        encoder_epochs=2,
        verbose=0,
        random_state=0,
        device=device,
    )
    net.fit(X, y)  # warm-up epoch (allocations, oneDNN primitive caches, cuDNN autotuning)
    # Each path once more untimed: the first partial_fit after fit, and the first
    # plain epoch, are several times slower than the following ones.
    net.partial_fit(X, y)
    plain_torch_epoch(net, X, y)
    n_thr = torch.get_num_threads()
    audio_per_epoch = trials * min(net.crop_seconds, seconds)
    runs = {"skorch": [], "plain": []}
    for _ in range(repeats):
        for name, run in (
            ("skorch", lambda: net.partial_fit(X, y)),
            ("plain", lambda: plain_torch_epoch(net, X, y)),
        ):
            runs[name].append(_timed(run, device))
    wall = {k: statistics.median(r[0] for r in v) for k, v in runs.items()}
    cpu = {k: statistics.median(r[1] for r in v) for k, v in runs.items()}
    faults = {k: statistics.median(r[2] for r in v) for k, v in runs.items()}

    X_test, _ = make_data(infer_trials, 64, sfreq, audio_sfreq, seconds, seed=1)
    net.predict(X_test[:2])
    times = [_timed(lambda: net.predict(X_test), device) for _ in range(3)]
    audio = infer_trials * seconds
    # CPU seconds / threads: the wall time the work would take on dedicated cores,
    # robust to other jobs sharing the machine.
    return dict(
        preset=preset,
        device=str(device),
        malloc=malloc,
        threads=n_thr,
        n_params_g=sum(p.numel() for p in net.module_.parameters()),
        n_params_d=sum(p.numel() for p in net.discriminator_.parameters()),
        rates=net.module_.rates,
        repeats=repeats,
        audio_per_epoch=audio_per_epoch,
        train_wall={k: audio_per_epoch / v for k, v in wall.items()},
        train_cpu={k: audio_per_epoch * n_thr / v for k, v in cpu.items()},
        overhead_cpu_pct=100 * (cpu["skorch"] / cpu["plain"] - 1),
        overhead_wall_pct=100 * (wall["skorch"] / wall["plain"] - 1),
        overhead_per_repeat_pct=[
            100 * (s[1] / p[1] - 1) for s, p in zip(runs["skorch"], runs["plain"])
        ],
        faults=faults,
        infer_trials=infer_trials,
        infer_wall=audio / min(t[0] for t in times),
        infer_cpu=audio * n_thr / min(t[1] for t in times),
        seconds_wall=time.perf_counter() - w_start,
        seconds_cpu=time.process_time() - c_start,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--malloc", choices=("default", "fixed"), default="default")
    parser.add_argument("--json", default=None, help="also write the result dict to this file")
    args = parser.parse_args(argv)
    r = measure_gan(
        args.preset, args.threads, args.trials, args.repeats, args.device, malloc=args.malloc
    )
    if args.json is not None:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(r, f)
    n_thr = r["threads"]
    print(
        f"preset={r['preset']} on {r['device']}: generator {r['n_params_g'] / 1e6:.3f} M params, "
        f"discriminator {r['n_params_d'] / 1e6:.3f} M params, rates {r['rates']}, "
        f"{n_thr} threads, malloc {r['malloc']}"
    )
    print(
        f"training, discriminator on ({r['audio_per_epoch']:.0f} audio-s per epoch, median of "
        f"{args.repeats}):"
    )
    for name in ("skorch", "plain"):
        print(
            f"  {name:6s}: {r['train_wall'][name]:6.1f} audio-s/s wall, "
            f"{r['train_cpu'][name]:6.1f} audio-s/s per {n_thr} cores of CPU time, "
            f"{r['faults'][name]:.0f} minor page faults per epoch"
        )
    print(
        f"skorch overhead (CPU time, skorch / plain - 1): {r['overhead_cpu_pct']:+.1f} % "
        f"(per-repeat: {', '.join(f'{o:+.1f}' for o in r['overhead_per_repeat_pct'])}); "
        f"wall: {r['overhead_wall_pct']:+.1f} %"
    )
    print(
        f"inference at 16000 Hz: {r['infer_wall']:.0f}x real time wall, "
        f"{r['infer_cpu']:.0f}x per {n_thr} cores of CPU time "
        f"({r['infer_trials']} trials of 4 s)"
    )


if __name__ == "__main__":
    main()
