"""Time every metric on 1,000 trials of 4 s at 16 kHz (target: all of them < 30 s on 2 cores).

Worst case for the identification metrics: 1,000 *distinct* segments (50
stimuli x 20 segments), each reconstruction a noisy copy; features at 64 Hz.
Waveform metrics run inside :func:`sk_eeg2music.metrics.shared_spectrograms`,
so each array's log-mel is computed once, as an evaluation harness would; the
first metric's time includes both log-mels. librosa's one-off start-up (~3 s)
is left out.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/metrics_speed.py [--n-trials 1000]
"""

import argparse
import time

import numpy as np

from sk_eeg2music import metrics as m


def make_data(n_trials, seconds=4.0, sfreq=16000, eeg_sfreq=64.0, seed=0):
    """Amplitude-modulated noise ``y``, a noisy copy ``y_pred``, labels and features."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sfreq)
    t = np.arange(n, dtype=np.float32) / sfreq
    rate = rng.uniform(1, 4, (n_trials, 1)).astype(np.float32)
    y = (1.1 + np.sin(2 * np.pi * rate * t)) * rng.standard_normal((n_trials, n), np.float32)
    y *= np.float32(0.1)
    y_pred = y + np.float32(0.1) * rng.standard_normal((n_trials, n), np.float32)
    stimulus = np.repeat([f"s{i}" for i in range(n_trials // 20 + 1)], 20)[:n_trials]
    segment = np.tile(np.arange(20), n_trials // 20 + 1)[:n_trials]
    return y, y_pred, stimulus, segment, sfreq, eeg_sfreq


def run(n_trials=1000):
    """Wall and CPU seconds per metric (dict of (wall, cpu)) and the total wall time.

    CPU seconds (all threads of this process) say what the metric costs when the
    machine is shared; wall seconds what it takes on an idle one.
    """
    y, y_pred, stimulus, segment, sfreq, eeg_sfreq = make_data(n_trials)
    labels = dict(stimulus=stimulus, segment=segment)
    m.mel_correlation(y[:2], y_pred[:2], sfreq=sfreq)  # librosa's one-off start-up, untimed
    times = {}

    def timed(name, f, *args, **kwargs):
        t0, c0 = time.perf_counter(), time.process_time()
        out = f(*args, **kwargs)
        times[name] = (time.perf_counter() - t0, time.process_time() - c0)
        return out

    with m.shared_spectrograms():
        timed("mel_correlation", m.mel_correlation, y, y_pred, sfreq=sfreq)
        timed("envelope_correlation", m.envelope_correlation, y, y_pred, sfreq=sfreq)
        timed("waveform_correlation", m.waveform_correlation, y, y_pred, sfreq=sfreq)
        timed("mel_cepstral_distortion", m.mel_cepstral_distortion, y, y_pred, sfreq=sfreq)
        timed("log_spectral_distance", m.log_spectral_distance, y, y_pred, sfreq=sfreq)
        timed("si_sdr", m.si_sdr, y, y_pred, sfreq=sfreq)
        timed("identification_accuracy", m.identification_accuracy, y, y_pred, sfreq=sfreq)
        timed("rank_accuracy", m.rank_accuracy, y, y_pred, sfreq=sfreq)
        timed("song_identification", m.song_identification_accuracy, y, y_pred, stimulus, sfreq)
        timed("permutation_p_value", m.permutation_p_value, y, y_pred, sfreq, random_state=0)
        timed("match_mismatch (wave)", m.match_mismatch_accuracy, y, y_pred, sfreq, **labels)
        timed("frechet_mel_distance", m.frechet_mel_distance, y, y_pred, sfreq=sfreq)
        timed("frechet_mel_floor", m.frechet_mel_floor, y, sfreq, random_state=0)
    F_true = timed("feature_target", m.feature_target, y, sfreq, eeg_sfreq)
    F_pred = timed("feature_target (pred)", m.feature_target, y_pred, sfreq, eeg_sfreq)
    timed("feature_correlation", m.feature_correlation, F_true, F_pred)
    timed("feature_identification", m.feature_identification_accuracy, F_true, F_pred)
    timed(
        "match_mismatch (features)", m.match_mismatch_accuracy, F_true, F_pred, eeg_sfreq, **labels
    )
    return times, sum(wall for wall, _ in times.values())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trials", type=int, default=1000)
    args = parser.parse_args(argv)
    times, total = run(args.n_trials)
    print(f"{'metric':<28}{'wall s':>9}{'cpu s':>9}")
    for name, (wall, cpu) in times.items():
        print(f"{name:<28}{wall:>9.2f}{cpu:>9.2f}")
    cpu_total = sum(cpu for _, cpu in times.values())
    print(f"{'total':<28}{total:>9.2f}{cpu_total:>9.2f}")
    return times, total


if __name__ == "__main__":
    main()
