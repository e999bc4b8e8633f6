"""Does ``EEG2MusicGAN`` learn? Leave-one-subject-out on simulated MOS data.

For each held-out subject, the default CPU ``EEG2MusicGAN`` is trained for a
fixed CPU budget on the other subjects' trials, twice:

* ``real``: EEG paired with the music heard during it;
* ``shuffled``: the same EEG paired with the music of a random other training
  trial (the null control: identical model, data and budget, no EEG-music
  correspondence).

The held-out subject's whole trials are then reconstructed and scored with

* mel-spectrogram correlation (:func:`sk_eeg2music.metrics.mel_correlation`);
* n-way identification: each reconstruction's z-scored log-mel is correlated
  with that of every distinct true test segment (stimulus x segment); top-1
  accuracy, chance 1 / n_segments.

Each subject's EEG is whitened with its own covariance (Euclidean Alignment), then
channels are standardised with statistics of the training subjects only.
Nothing of the held-out subject is seen in training (its music is: the same
four melodies are heard by every subject, as in the real MOS design).

Usage::

    OMP_NUM_THREADS=2 python benchmarks/gan_learning.py --budget 180 --threads 2 [--subjects sub-04]

``--ablation`` instead compares the staged GAN's design choices in the package's
own pipelines (:func:`~sk_eeg2music.pipelines.make_gan_pipeline`, groups routed to
Euclidean Alignment and the encoder's early stopping), one held-out subject
per row: the default (L1 + contrastive encoder, decoder pre-training, retrieval
prior), the L1-only encoder (``lambda_clip=0``), the condition-aware model
(``condition`` routed), the end-to-end ablation, the reconstruction-only
ablation (``lambda_adv=0``) and the linear mel decoder. Feature level: the
decoded log-mel at the EEG rate against the true one (r, and identification
among the distinct test segments); waveform level: identification from the
reconstruction's log-mel; realism: how far each mel band's level moves over
time (5-95 % range in dB after 50-ms smoothing; ~30 dB for the simulated
chorales, ~1-2 dB for stationary noise)::

    OMP_NUM_THREADS=1 python benchmarks/gan_learning.py --ablation --threads 1 \
        --subjects sub-01 --snr -15 --set max_epochs=5 memory=/tmp/gan_cache
"""

import argparse
import ast
import time

import numpy as np
import torch
from skorch.callbacks import Callback

from sk_eeg2music import EEG2MusicGAN, make_simulated
from sk_eeg2music.audio import log_mel_spectrogram
from sk_eeg2music.metrics import mel_correlation_per_trial
from sk_eeg2music.preprocessing import EuclideanAlignment


class CPUBudget(Callback):
    """Stop training after the first epoch that ends past ``seconds`` of process CPU time.

    CPU time (all threads of this process) rather than wall time, so that other
    jobs on a shared machine do not shrink the budget: 180 s on 2 cores is
    360 CPU-seconds.
    """

    def __init__(self, seconds):
        self.seconds = seconds

    def on_train_begin(self, net, **kwargs):
        self.start_ = time.process_time()

    def on_epoch_end(self, net, **kwargs):
        if time.process_time() - self.start_ > self.seconds:
            raise KeyboardInterrupt  # skorch's way to end fit early (cf. EarlyStopping)


def standardize(X_train, X_test):
    """Per-channel z-scoring with training statistics only."""
    mean = X_train.mean(axis=(0, 2), keepdims=True)
    std = X_train.std(axis=(0, 2), keepdims=True)
    return (X_train - mean) / std, (X_test - mean) / std


def identification_accuracy(y_true, y_pred, segment_ids, audio_sfreq):
    """n-way top-1 identification among the distinct true segments.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (n_trials, n_audio)
    segment_ids : ndarray, shape (n_trials,)
        Identity of each trial's true audio (stimulus and segment).
    audio_sfreq : float

    Returns
    -------
    accuracy : float
    n_way : int
        Number of distinct segments (chance = 1 / n_way).
    """
    ids, first = np.unique(segment_ids, return_index=True)
    hop = int(round(0.008 * audio_sfreq))

    def features(y):
        m = log_mel_spectrogram(y, audio_sfreq, hop, n_mels=32)
        m = (m - m.mean(-1, keepdims=True)) / (m.std(-1, keepdims=True) + 1e-8)
        m = m.reshape(len(y), -1)
        m = m - m.mean(1, keepdims=True)
        return m / (np.linalg.norm(m, axis=1, keepdims=True) + 1e-12)

    sims = features(y_pred) @ features(y_true[first]).T  # (n_trials, n_way)
    correct = ids[np.argmax(sims, axis=1)] == segment_ids
    return float(correct.mean()), len(ids)


def parse_params(items):
    """``["module__aux_mels=8", "lr=1e-3"]`` -> ``{"module__aux_mels": 8, "lr": 0.001}``."""
    params = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return params


def run_fold(data, test_subject, budget, shuffle, seed, params=None):
    train = data.subject != test_subject
    # The package's front end: each subject whitened with its own EEG
    # covariance (unsupervised, per subject, so the test subject's alignment
    # uses only its own EEG), then channel z-scoring with training statistics.
    X = EuclideanAlignment().fit_transform(data.X, groups=data.subject)
    X_train, X_test = standardize(X[train], X[~train])
    y_train = data.y[train]
    if shuffle:
        y_train = y_train[np.random.default_rng(seed).permutation(len(y_train))]
    gan = EEG2MusicGAN(
        sfreq=data.sfreq,
        max_epochs=10_000,
        callbacks=[("budget", CPUBudget(budget))],
        random_state=seed,
        verbose=0,
    ).set_params(**(params or {}))
    t0 = time.process_time()
    gan.fit(X_train, y_train)
    fit_s = time.process_time() - t0
    y_pred = gan.predict(X_test)
    y_true = data.y[~train]
    r = mel_correlation_per_trial(y_true, y_pred, sfreq=data.audio_sfreq)
    cond = data.condition[~train]
    out = dict(epochs=len(gan.history), fit_s=fit_s, mel_r=float(r.mean()))
    for c in np.unique(cond):
        out[f"mel_r_{c}"] = float(r[cond == c].mean())
        acc, n_way = identification_accuracy(
            y_true[cond == c],
            y_pred[cond == c],
            data.segment_id[~train][cond == c],
            data.audio_sfreq,
        )
        out[f"id_{c}"], out["n_way"] = acc, n_way
    return out


def _zscore(F):
    return (F - F.mean(-1, keepdims=True)) / (F.std(-1, keepdims=True) + 1e-8)


def feature_scores(F_true, F_pred, segment_ids):
    """Mean per-band Pearson r over time, and identification among distinct segments.

    Parameters
    ----------
    F_true, F_pred : ndarray, shape (n_trials, n_mels, n_frames)
    segment_ids : ndarray, shape (n_trials,)

    Returns
    -------
    r : float
    accuracy : float
    n_way : int
    """
    zt, zp = _zscore(F_true), _zscore(F_pred)
    r = float((zt * zp).mean(-1).mean())
    ids, first = np.unique(segment_ids, return_index=True)
    sims = zp.reshape(len(zp), -1) @ zt[first].reshape(len(ids), -1).T
    return r, float((ids[np.argmax(sims, axis=1)] == segment_ids).mean()), len(ids)


def band_modulation(y, audio_sfreq):
    """Mean over 32 mel bands of the 5-95 % range (dB) of each band's level (50-ms smoothing)."""
    from scipy.ndimage import uniform_filter1d

    hop = int(round(0.01 * audio_sfreq))
    M = 10 * np.log10(np.exp(log_mel_spectrogram(y, audio_sfreq, hop, n_mels=32)))
    M = uniform_filter1d(M, 5, axis=-1)[..., 10:-10]  # 50 ms, edges dropped
    return float(np.mean(np.percentile(M, 95, -1) - np.percentile(M, 5, -1)))


ABLATIONS = {
    "staged (default)": {},
    "L1-only encoder": {"lambda_clip": 0.0},
    "condition-aware": {"_condition": True},
    "end-to-end": {"training": "end_to_end"},
    "reconstruction-only": {"lambda_adv": 0.0},
}


def run_ablation(data, test_subject, name, params, seed):
    """Fit one variant on the other subjects; scores per condition (see module docstring)."""
    import sklearn

    from sk_eeg2music.models._features import predict_features
    from sk_eeg2music.pipelines import make_gan_pipeline, make_linear_pipeline

    params = dict(params)
    use_condition = params.pop("_condition", False)
    train, test = data.subject != test_subject, data.subject == test_subject
    hop = int(round(data.audio_sfreq / data.sfreq))
    with sklearn.config_context(enable_metadata_routing=True):
        if name == "linear (mel)":
            pipe = make_linear_pipeline(data.sfreq, target="mel", n_mels=64)
        else:
            gan = dict(max_epochs=5, warmup_epochs=1, random_state=seed, verbose=0)
            pipe = make_gan_pipeline(data.sfreq, **{**gan, **params})
            if use_condition:
                pipe[-1].set_fit_request(condition=True).set_predict_request(condition=True)
        fit_kw = {"groups": data.subject[train]}
        pred_kw = {"groups": data.subject[test]}
        if use_condition:
            fit_kw["condition"], pred_kw["condition"] = data.condition[train], data.condition[test]
        t0 = time.process_time()
        pipe.fit(data.X[train], data.y[train], **fit_kw)
        fit_s = time.process_time() - t0
        F_pred = predict_features(pipe, data.X[test], **pred_kw)
        y_pred = pipe.predict(data.X[test], **pred_kw)
    y_true = data.y[test]
    F_true = log_mel_spectrogram(y_true, data.audio_sfreq, hop, n_mels=F_pred.shape[1])
    F_true = F_true[..., : F_pred.shape[-1]]
    out = dict(fit_s=fit_s, modulation=band_modulation(y_pred, data.audio_sfreq))
    for c in np.unique(data.condition):
        m = data.condition[test] == c
        seg = data.segment_id[test][m]
        out[f"r_{c}"], out[f"id_{c}"], out["n_way"] = feature_scores(F_true[m], F_pred[m], seg)
        out[f"wav_id_{c}"] = identification_accuracy(y_true[m], y_pred[m], seg, data.audio_sfreq)[0]
    return out


def ablation_main(data, subjects, seed, params):
    print(
        "| held out | model | fit CPU-s | feature r listening | feature r imagery | feature id "
        "listening | feature id imagery | waveform id listening | waveform id imagery "
        "| band modulation (dB) | chance |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    variants = {k: {**params, **v} for k, v in ABLATIONS.items()}
    variants["linear (mel)"] = {}
    for subject in subjects:
        for name, variant in variants.items():
            res = run_ablation(data, subject, name, variant, seed)
            print(
                f"| {subject} | {name} | {res['fit_s']:.0f} | {res['r_listening']:.3f} "
                f"| {res['r_imagery']:.3f} | {res['id_listening']:.3f} | {res['id_imagery']:.3f} "
                f"| {res['wav_id_listening']:.3f} | {res['wav_id_imagery']:.3f} "
                f"| {res['modulation']:.1f} | {1 / res['n_way']:.3f} |",
                flush=True,
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--budget", type=float, default=180.0, help="seconds of training per fit on --threads cores"
    )
    parser.add_argument("--subjects", nargs="*", default=None, help="held-out subjects")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--snr", type=float, default=None, help="simulator snr_db (default: its calibrated -28 dB)"
    )
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="PARAM=VALUE",
        help="EEG2MusicGAN parameters, e.g. module__aux_mels=8",
    )
    parser.add_argument(
        "--ablation", action="store_true", help="compare the staged GAN's variants (see above)"
    )
    args = parser.parse_args(argv)
    params = parse_params(args.set)
    torch.set_num_threads(args.threads)

    # 4 subjects, 4-s segments, 64 Hz EEG, 16 kHz audio
    data = make_simulated("mos", snr_db=args.snr)
    subjects = args.subjects or list(np.unique(data.subject))
    if args.ablation:
        print(f"{data!r}\nsnr_db={args.snr}, params {params}, {args.threads} threads\n")
        ablation_main(data, subjects, args.seed, params)
        return
    print(
        f"{data!r}\nsnr_db={args.snr}, budget {args.budget:g} s x {args.threads} threads = "
        f"{args.budget * args.threads:g} CPU-s per fit, params {params}\n"
    )
    print(
        "| held out | pairs | epochs | fit CPU-s | mel r (all) | mel r listening | mel r imagery "
        "| id listening | id imagery | chance |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for subject in subjects:
        for shuffle in (False, True):
            res = run_fold(data, subject, args.budget * args.threads, shuffle, args.seed, params)
            rows.append((shuffle, res))
            print(
                f"| {subject} | {'shuffled' if shuffle else 'real'} | {res['epochs']} "
                f"| {res['fit_s']:.0f} | {res['mel_r']:.3f} | {res['mel_r_listening']:.3f} "
                f"| {res['mel_r_imagery']:.3f} | {res['id_listening']:.3f} "
                f"| {res['id_imagery']:.3f} | {1 / res['n_way']:.3f} |",
                flush=True,
            )
    for shuffle in (False, True):
        sel = [r for s, r in rows if s == shuffle]
        keys = ("mel_r", "mel_r_listening", "mel_r_imagery", "id_listening", "id_imagery")
        means = " | ".join(f"{np.mean([r[k] for r in sel]):.3f}" for k in keys)
        print(f"| mean | {'shuffled' if shuffle else 'real'} | | | {means} | |")


if __name__ == "__main__":
    main()
