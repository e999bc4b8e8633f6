"""Speed of the linear baseline and of the reconstruction metrics.

1. **Alpha path vs one MNE fit.** On simulated MOS-sized data (64 channels at
   64 Hz, lags 0-250 ms: 1088 lagged features), the whole ridge path over
   ``--n-alphas`` penalties (:func:`sk_eeg2music.models._lagged_ridge.fit_lagged_ridge`:
   centring, lagged Gram matrix, one eigendecomposition, every alpha) against ONE
   :class:`mne.decoding.ReceptiveField` fit at one alpha on the same data and
   lags, with ``estimator=Ridge(alpha)`` (explicit lagged design) and with
   ``estimator=alpha`` (MNE's FFT-based ``TimeDelayingRidge``; its numba JIT is
   compiled on a warm-up fit first). Also the full ``LinearDecoder.fit`` with
   its subject-grouped inner CV, for reference. Every timing in one run, the
   best of ``--repeat``.
2. **Metrics.** Each metric of :func:`sk_eeg2music.metrics.make_scorers` on 100
   trials x 10 s at 16 kHz, and all of them in a row as ``cross_validate`` calls
   them (sharing the cached log-mel spectrograms).

On a machine whose cores are already busy, OpenBLAS threads spinning on shared
cores can slow the eigendecomposition (and small matrix products) by 10-50x:
compare ``OMP_NUM_THREADS=1`` and ``2`` before reading a ratio.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/linear.py            # both parts
    OMP_NUM_THREADS=2 python benchmarks/linear.py --quick    # smaller data
"""

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402


def _best(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_alpha_path(n_subjects, n_alphas, repeat, with_tdr):
    """Print and return the timings (best of ``repeat``, seconds) of part 1.

    Returns a dict with ``path`` (our alpha path), ``rf_ridge`` (one
    ``ReceptiveField(Ridge)`` fit), ``rf_tdr`` (one ``TimeDelayingRidge`` fit, or
    None), ``decoder_fit`` (``LinearDecoder.fit``), ``n_samples``, ``n_features``
    and ``n_alphas``.
    """
    import mne
    from sklearn.linear_model import Ridge

    from sk_eeg2music import make_simulated
    from sk_eeg2music.audio import frame_envelope
    from sk_eeg2music.models import LinearDecoder
    from sk_eeg2music.models._lagged_ridge import fit_lagged_ridge, lag_samples

    mne.set_log_level("ERROR")
    data = make_simulated("mos", n_subjects=n_subjects, segment_seconds=4.0)
    X = data.X.astype(np.float64)
    Y = frame_envelope(data.y, data.factor)[:, np.newaxis].astype(np.float64)
    tmin, tmax = 0.0, 0.25
    lags = lag_samples(tmin, tmax, data.sfreq)
    alphas = np.logspace(-3, 5, n_alphas)
    print(
        f"data: {X.shape[0]} trials x {X.shape[1]} channels x {X.shape[2]} samples "
        f"({X.shape[0] * X.shape[2]} samples), {len(lags)} lags -> "
        f"{X.shape[1] * len(lags)} features; {n_alphas} alphas; OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS')}"
    )
    X_mne = X.transpose(2, 0, 1)  # MNE's time-first layout
    Y_mne = Y.transpose(2, 0, 1)

    # Warm up (imports, BLAS threads, numba for TDR) on a slice.
    fit_lagged_ridge(X[:4], Y[:4], lags, alphas[:2])
    t_path = _best(lambda: fit_lagged_ridge(X, Y, lags, alphas), repeat)
    _, _, _, G = fit_lagged_ridge(X, Y, lags, alphas[:1])
    abs_alpha = float(np.trace(G) / len(G))  # relative alpha 1

    def rf(estimator, fit_intercept):
        return mne.decoding.ReceptiveField(
            -tmax, -tmin, data.sfreq, estimator=estimator, fit_intercept=fit_intercept
        )

    rows = [(f"ours: alpha path ({n_alphas} alphas, one eigh)", t_path)]
    t_ridge = _best(lambda: rf(Ridge(abs_alpha), True).fit(X_mne, Y_mne), repeat)
    rows.append(("MNE ReceptiveField(Ridge), 1 alpha", t_ridge))
    if with_tdr:
        rf(abs_alpha, True).fit(X_mne[:, :2], Y_mne[:, :2])  # numba JIT
        t_tdr = _best(lambda: rf(abs_alpha, True).fit(X_mne, Y_mne), 1)
        rows.append(("MNE ReceptiveField(TimeDelayingRidge), 1 alpha", t_tdr))
    dec = LinearDecoder("envelope", sfreq=data.sfreq, alphas=alphas, cv=5)
    t_fit = _best(lambda: dec.fit(data.X, data.y, groups=data.subject), 1)
    n_folds = min(5, len(np.unique(data.subject)))
    rows.append((f"ours: LinearDecoder.fit, {n_folds}-fold subject CV + refit", t_fit))

    print("\n| step | seconds | ratio to the alpha path |\n|---|---|---|")
    for name, t in rows:
        print(f"| {name} | {t:.2f} | {t / t_path:.2f} |")
    print(f"\nalpha path / one ReceptiveField(Ridge) fit = {t_path / t_ridge:.2f} (target <= 1.2)")
    if with_tdr:
        print(f"alpha path / one ReceptiveField(TDR) fit = {t_path / t_tdr:.2f} (target <= 1.2)")
    return dict(
        n_samples=X.shape[0] * X.shape[2],
        n_features=X.shape[1] * len(lags),
        n_alphas=n_alphas,
        path=t_path,
        rf_ridge=t_ridge,
        rf_tdr=t_tdr if with_tdr else None,
        decoder_fit=t_fit,
    )


def bench_metrics(n_trials, seconds, sfreq, repeat):
    from sk_eeg2music import metrics

    rng = np.random.default_rng(0)
    n = int(seconds * sfreq)
    t = np.arange(n) / sfreq
    env = 1 + np.sin(2 * np.pi * rng.uniform(0.5, 3, (n_trials, 1)) * t)
    y_true = (env * rng.standard_normal((n_trials, n))).astype(np.float32)
    y_pred = (0.5 * y_true + rng.standard_normal((n_trials, n))).astype(np.float32)
    scorers = metrics.make_scorers(sfreq)
    metrics.mel_correlation(y_true[:2], y_pred[:2], sfreq=sfreq)  # warm-up

    def run(name):
        # A fresh scorer dict: nothing shared with the previous call.
        scorer = metrics.make_scorers(sfreq)[name]
        return scorer._score_func(y_true, y_pred, **scorer._kwargs)

    print(f"\nmetrics on {n_trials} trials x {seconds:g} s at {sfreq} Hz, one at a time")
    print("| metric | seconds |\n|---|---|")
    for name in scorers:
        print(f"| {name} | {_best(lambda name=name: run(name), repeat):.2f} |")

    def all_scorers():
        for scorer in metrics.make_scorers(sfreq).values():
            scorer._score_func(y_true, y_pred, **scorer._kwargs)

    total = _best(all_scorers, repeat)
    print(f"| all {len(scorers)} scorers in a row (shared log-mel) | {total:.2f} |")
    print(f"\nall metrics: {total:.2f} s (target < 5 s)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data, one repeat")
    parser.add_argument("--n-alphas", type=int, default=17)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-tdr", action="store_true", help="skip MNE's TimeDelayingRidge")
    parser.add_argument("--part", choices=["path", "metrics", "both"], default="both")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    if args.part in ("path", "both"):
        bench_alpha_path(2 if args.quick else 4, args.n_alphas, repeat, not args.no_tdr)
    if args.part in ("metrics", "both"):
        bench_metrics(20 if args.quick else 100, 10.0, 16000, repeat)


if __name__ == "__main__":
    main()
