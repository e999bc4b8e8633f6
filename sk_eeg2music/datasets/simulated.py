"""Simulated EEG-music data with known ground truth: the package's embedded default.

Music is synthesised (:mod:`._music`); EEG is produced by a real forward model
(:mod:`._forward`): bilateral auditory-cortex dipoles driven by the stimulus
envelope, its onsets and its band energies through subject-specific TRF
kernels (P1-N1-P2), plus 1/f background activity from many dipoles, occipital
alpha bursts, eye blinks, line noise (NMED-T only) and sensor noise.

Calibration
-----------
``snr_db`` is the ratio (dB) of the stimulus-driven sensor power to the power of
everything else, over a subject's listening trials. The defaults
(:data:`DEFAULT_SNR_DB`) were chosen with ``benchmarks/calibrate_simulator.py``
so that the within-subject backward envelope decoder of
:func:`within_subject_envelope_r` (lags 0-250 ms, EEG following the stimulus,
train on 75 % of the segments, test on the rest) reaches a test Pearson r in the
0.1-0.2 range reported for real EEG; ``tests/datasets/test_simulated.py`` keeps
that true.
"""

import numbers

import numpy as np
from scipy.signal import fftconvolve

from ..audio import frame_envelope, log_mel_spectrogram
from ..utils._validation import check_rate_ratio, check_sfreq
from ._base import EEGMusicData
from ._forward import forward_model
from ._music import (
    MOS_IDS,
    NMEDT_BPM,
    NMEDT_IDS,
    normalize_peak,
    synthesize_melody,
    synthesize_song,
)

DEFAULT_SNR_DB = {"mos": -28.0, "nmedt": -31.0}

_KINDS = {
    "mos": dict(
        sfreq=64.0,
        stimuli=MOS_IDS,
        stimulus_seconds=1803 / 64.0,  # one MOS trial: 1803 samples at 64 Hz
        conditions=("listening", "imagery"),
        line_freq=None,  # MOS was low-passed at 30 Hz: no line noise survives
    ),
    "nmedt": dict(
        sfreq=125.0,
        stimuli=NMEDT_IDS,
        stimulus_seconds=30.0,
        conditions=("listening",),
        line_freq=60.0,  # recorded in the US; a notch leaves a residual
    ),
}
_N_BANDS = 4
_TRF_SECONDS = 0.5


def trf_kernel(sfreq, latency_scale=1.0, amplitudes=(0.5, -1.0, 0.7)):
    """A P1-N1-P2 temporal response function.

    Parameters
    ----------
    sfreq : float
        Sampling rate (Hz).
    latency_scale : float
        Multiplies the component latencies (50, 100, 180 ms) and widths.
    amplitudes : tuple of float
        Amplitudes of P1, N1 and P2.

    Returns
    -------
    kernel : ndarray, shape (round(0.5 * sfreq),)
        The kernel at lags 0 .. 0.5 s.
    """
    t = np.arange(int(round(_TRF_SECONDS * sfreq))) / sfreq
    lat = np.array([0.05, 0.10, 0.18]) * latency_scale
    width = np.array([0.015, 0.025, 0.04]) * latency_scale
    return np.sum(
        np.asarray(amplitudes)[:, None] * np.exp(-0.5 * ((t - lat[:, None]) / width[:, None]) ** 2),
        axis=0,
    )


def stimulus_drives(audio, audio_sfreq, sfreq, n_bands=_N_BANDS):
    """The stimulus features that drive the simulated auditory sources.

    Parameters
    ----------
    audio : ndarray, shape (n_audio,)
        Waveform; ``n_audio`` is a multiple of ``audio_sfreq / sfreq``.
    audio_sfreq : int
        Audio rate (Hz).
    sfreq : float
        EEG rate (Hz).
    n_bands : int
        Number of spectral bands (tonotopic sources per hemisphere).

    Returns
    -------
    drives : dict
        ``envelope`` and ``onset``, each shape (n_times,), and ``bands``, shape
        (n_bands, n_times); each row z-scored over time.
    """
    hop = int(round(audio_sfreq / sfreq))
    envelope = frame_envelope(audio, hop, power=0.6).astype(np.float64)
    onset = np.maximum(np.diff(envelope, prepend=envelope[0]), 0.0)
    logmel = log_mel_spectrogram(audio, audio_sfreq, hop, n_mels=8 * n_bands)
    bands = np.exp(logmel).reshape(n_bands, 8, -1).sum(1) ** 0.3
    return dict(envelope=_zscore(envelope), onset=_zscore(onset), bands=_zscore(bands))


def _zscore(x):
    x = np.asarray(x, np.float64)
    std = x.std(axis=-1, keepdims=True)
    return (x - x.mean(axis=-1, keepdims=True)) / np.where(std > 0, std, 1.0)


def _pink_noise(rng, shape, sfreq, exponent=1.7, f_knee=0.5):
    """Gaussian noise with a 1/f^exponent power spectrum, flat below ``f_knee``."""
    n = shape[-1]
    spec = rng.standard_normal((*shape[:-1], n // 2 + 1)) + 1j * rng.standard_normal(
        (*shape[:-1], n // 2 + 1)
    )
    freqs = np.fft.rfftfreq(n, 1 / sfreq)
    spec *= np.maximum(freqs, f_knee) ** (-exponent / 2)
    spec[..., 0] = 0.0
    return _zscore(np.fft.irfft(spec, n=n))


def _random_orientation(rng, base, angle_std):
    """Unit vectors around ``base`` (shape (n, 3)) with an angular spread (rad)."""
    v = base + np.tan(angle_std) * rng.standard_normal(base.shape)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _subject_params(rng, sfreq, n_bands):
    """Everything that makes one simulated subject differ from another."""
    latency_scale = rng.uniform(0.85, 1.15)
    amps = np.array([0.5, -1.0, 0.7]) * rng.uniform(0.7, 1.3, 3)
    up = np.array([0.0, 0.0, 1.0])
    return dict(
        latency_scale=latency_scale,
        kernel=trf_kernel(sfreq, latency_scale, amps),
        amplitude=rng.uniform(0.7, 1.3),
        hemisphere_gain=rng.uniform(0.7, 1.3, 2),
        onset_weight=rng.uniform(0.3, 0.8),
        band_weights=rng.uniform(0.3, 1.0, n_bands),
        auditory_orientation=_random_orientation(rng, np.tile(up, (2, 1)), 0.4),
        tonotopic_orientation=_random_orientation(rng, np.tile(up, (2 * n_bands, 1)), 0.5),
        background_orientation=_random_orientation(rng, rng.standard_normal((120, 3)), 1.5),
        alpha_freq=rng.uniform(8.5, 11.5),
        imagery_delay=rng.uniform(0.04, 0.12),
        imagery_gain=rng.uniform(0.3, 0.5),
        blink_rate=rng.uniform(0.1, 0.3),
    )


def _oriented(gain, orientation):
    """Fixed-orientation gain, shape (n_channels, n_sources)."""
    return np.einsum("csk,sk->cs", gain, orientation)


def _imagery_warp(drive, rng, sfreq, delay, jitter_std=0.03):
    """Delay a drive and jitter its timing with a slow random time warp."""
    n = drive.shape[-1]
    t = np.arange(n) / sfreq
    slow = _pink_noise(rng, (n,), sfreq, exponent=4.0, f_knee=0.2)
    src_t = t - delay - jitter_std * slow
    flat = drive.reshape(-1, n)
    warped = np.stack([np.interp(src_t, t, row, left=0.0, right=0.0) for row in flat])
    return warped.reshape(drive.shape)


def _evoked(drives, subj, gains, sfreq, condition, rng):
    """Stimulus-driven sensor signal, shape (n_channels, n_times)."""
    env, onset, bands = drives["envelope"], drives["onset"], drives["bands"]
    sign, gain = 1.0, 1.0
    if condition == "imagery":
        env, onset, bands = (
            _imagery_warp(x, rng, sfreq, subj["imagery_delay"]) for x in (env, onset, bands)
        )
        sign, gain = -1.0, subj["imagery_gain"]
    kernel = sign * gain * subj["kernel"]
    n = env.shape[-1]
    conv = lambda x: fftconvolve(x, kernel[None] if x.ndim > 1 else kernel)[..., :n]  # noqa: E731
    aud = conv(env + subj["onset_weight"] * onset)
    ton = conv(bands * subj["band_weights"][:, None])
    g_aud = _oriented(gains["auditory"], subj["auditory_orientation"]) * subj["hemisphere_gain"]
    g_ton = _oriented(gains["tonotopic"], subj["tonotopic_orientation"])
    n_bands = len(bands)
    g_ton = (
        g_ton[:, :n_bands] * subj["hemisphere_gain"][0]
        + g_ton[:, n_bands:] * subj["hemisphere_gain"][1]
    )
    return g_aud.sum(1, keepdims=True) * aud[None] + 0.7 * g_ton @ ton


def _noise(subj, gains, sfreq, n_times, rng, line_freq):
    """Background activity and artefacts at unit scale, shape (n_channels, n_times)."""
    g_bg = _oriented(gains["background"], subj["background_orientation"])
    background = g_bg @ _pink_noise(rng, (g_bg.shape[1], n_times), sfreq)
    background /= np.sqrt(np.mean(background**2))
    t = np.arange(n_times) / sfreq
    bursts = np.clip(_pink_noise(rng, (2, n_times), sfreq, exponent=3.0), 0, None)
    alpha_src = bursts * np.sin(
        2 * np.pi * subj["alpha_freq"] * t + rng.uniform(0, 2 * np.pi, (2, 1))
    )
    g_alpha = _oriented(gains["alpha"], np.tile([0.0, -1.0, 0.3], (2, 1)))
    alpha = g_alpha @ alpha_src
    alpha /= np.sqrt(np.mean(alpha**2)) + 1e-30
    blink_src = np.zeros(n_times)
    n_blinks = rng.poisson(subj["blink_rate"] * n_times / sfreq)
    shape = np.hanning(max(3, int(0.3 * sfreq)))
    for onset in rng.integers(0, max(1, n_times - len(shape)), n_blinks):
        blink_src[onset : onset + len(shape)] += shape[: n_times - onset]
    blink = _oriented(gains["blink"], np.array([[0.0, 1.0, 0.0]])) @ blink_src[None]
    blink /= np.abs(blink).max() + 1e-30
    sensor = rng.standard_normal(background.shape)
    sensor -= sensor.mean(0, keepdims=True)
    out = background + 0.5 * alpha + 3.0 * blink + 0.3 * sensor
    if line_freq is not None and line_freq < sfreq / 2:
        out += 0.05 * np.sin(2 * np.pi * line_freq * t + rng.uniform(0, 2 * np.pi))
    return out


def _check_params(kind, n_subjects, segment_seconds, audio_sfreq, snr_db, stimulus_seconds):
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {sorted(_KINDS)}; got {kind!r}.")
    spec = _KINDS[kind]
    if (
        isinstance(n_subjects, bool)
        or not isinstance(n_subjects, numbers.Integral)
        or n_subjects < 1
    ):
        raise ValueError(f"n_subjects must be an integer >= 1; got {n_subjects!r}.")
    factor = check_rate_ratio(audio_sfreq, spec["sfreq"])
    duration = spec["stimulus_seconds"] if stimulus_seconds is None else stimulus_seconds
    duration = check_sfreq(duration, "stimulus_seconds")
    if segment_seconds is not None:
        segment_seconds = check_sfreq(segment_seconds, "segment_seconds")
        if segment_seconds > duration:
            raise ValueError(
                f"segment_seconds={segment_seconds:g} is longer than a stimulus "
                f"({duration:.2f} s for kind={kind!r}); use at most {duration:.2f} or None "
                "for whole stimuli."
            )
        if round(segment_seconds * spec["sfreq"]) < 1:
            raise ValueError(f"segment_seconds={segment_seconds:g} is shorter than one EEG sample.")
    if snr_db is not None and not (isinstance(snr_db, numbers.Real) and np.isfinite(snr_db)):
        raise ValueError(f"snr_db must be a finite number of dB or None; got {snr_db!r}.")
    return spec, factor, duration


def _seed_sequence(random_state):
    if isinstance(random_state, np.random.SeedSequence):
        return random_state
    if random_state is None or isinstance(random_state, numbers.Integral):
        return np.random.SeedSequence(random_state)
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(2**32)))
    if isinstance(random_state, np.random.RandomState):
        return np.random.SeedSequence(int(random_state.randint(2**31)))
    raise ValueError(
        f"random_state must be None, an int or a numpy generator; got {random_state!r}."
    )


def simulate_music(kind, audio_sfreq, n_times, sfreq, rng, stimuli=None):
    """Synthesise every stimulus of a kind.

    Parameters
    ----------
    kind : {"mos", "nmedt"}
    audio_sfreq : int
        Audio rate (Hz).
    n_times : int
        Stimulus length in EEG samples; the audio has ``n_times * audio_sfreq /
        sfreq`` samples.
    sfreq : float
        EEG rate (Hz).
    rng : numpy.random.Generator
    stimuli : sequence of str | None
        Subset of the kind's stimulus ids.

    Returns
    -------
    audio : dict of str -> ndarray, shape (n_audio,), float32
    notes : dict of str -> ndarray, shape (n_notes, 3)
    """
    spec = _KINDS[kind]
    n_audio = n_times * int(round(audio_sfreq / sfreq))
    duration = n_audio / audio_sfreq
    audio, notes = {}, {}
    for i, name in enumerate(spec["stimuli"]):
        # One child generator per stimulus: a subset gives the same audio.
        stim_rng = np.random.default_rng([rng.integers(2**32), i])
        if stimuli is not None and name not in stimuli:
            continue
        if kind == "mos":
            wav, nts = synthesize_melody(stim_rng, audio_sfreq, duration, bpm=100.0)
        else:
            wav, nts = synthesize_song(stim_rng, audio_sfreq, duration, NMEDT_BPM[i])
        audio[name] = normalize_peak(wav[:n_audio]).astype(np.float32)
        notes[name] = nts
    return audio, notes


def make_simulated(
    kind="mos",
    n_subjects=4,
    segment_seconds=4.0,
    audio_sfreq=16000,
    snr_db=None,
    random_state=0,
    *,
    stimulus_seconds=None,
    stimuli=None,
    conditions=None,
):
    """Simulate EEG recorded while music is heard (and, for MOS, imagined).

    Each (subject, stimulus, condition) recording is simulated continuously and
    then cut into ``segment_seconds`` pieces; the same stimulus and segment give
    bit-identical audio for every subject.

    Parameters
    ----------
    kind : {"mos", "nmedt"}, default="mos"
        ``"mos"``: 64-channel BioSemi at 64 Hz, 4 chorale-like melodies at 100 BPM
        (~28.2 s), listening and imagery. ``"nmedt"``: 125 EGI channels at 125 Hz,
        10 songs with drums, bass, chords and melody at 56-150 BPM (30 s by
        default), listening.
    n_subjects : int, default=4
        Number of subjects; subject ``i`` is the same whatever ``n_subjects``.
    segment_seconds : float | None, default=4.0
        Segment length in seconds; ``None`` keeps whole stimuli. The remainder of
        a stimulus that does not fill a segment is dropped.
    audio_sfreq : int, default=16000
        Audio rate; must be an integer multiple of the EEG rate (64 or 125 Hz).
    snr_db : float | None, default=None
        Stimulus-driven to background power ratio (dB) over listening trials;
        ``None`` uses the calibrated default (:data:`DEFAULT_SNR_DB`).
    random_state : int | numpy.random.Generator | None, default=0
        Seeds the music and the subjects.
    stimulus_seconds : float | None, default=None
        Stimulus length; ``None`` uses the kind's default.
    stimuli : sequence of str | None, default=None
        Simulate only these stimulus ids (the others are unchanged if added later).
    conditions : sequence of str | None, default=None
        Subset of the kind's conditions.

    Returns
    -------
    data : EEGMusicData
        ``X`` float32 (n_trials, n_channels, n_times) in volts, ``y`` float32
        (n_trials, n_times * audio_sfreq / sfreq), labels, ``info`` with the montage
        and ``ground_truth`` (TRF kernels, dipole positions, drives, notes).

    Examples
    --------
    >>> from sk_eeg2music import make_simulated
    >>> data = make_simulated("mos", n_subjects=2, segment_seconds=4.0)
    >>> data.X.shape, data.y.shape
    ((112, 64, 256), (112, 64000))
    """
    spec, factor, duration = _check_params(
        kind, n_subjects, segment_seconds, audio_sfreq, snr_db, stimulus_seconds
    )
    conditions = spec["conditions"] if conditions is None else tuple(conditions)
    bad = set(conditions) - set(spec["conditions"])
    if bad or not conditions:
        raise ValueError(f"conditions for kind={kind!r} must be among {spec['conditions']}.")
    if stimuli is not None:
        unknown = set(stimuli) - set(spec["stimuli"])
        if unknown or not len(stimuli):
            raise ValueError(f"stimuli must be among {spec['stimuli']}; got {stimuli!r}.")
    snr_db = DEFAULT_SNR_DB[kind] if snr_db is None else float(snr_db)
    sfreq = spec["sfreq"]
    n_total = int(round(duration * sfreq))
    seg_len = n_total if segment_seconds is None else int(round(segment_seconds * sfreq))
    n_seg = n_total // seg_len

    seeds = _seed_sequence(random_state).spawn(2)
    music_rng = np.random.default_rng(seeds[0])
    info, gains, positions = forward_model(kind, _N_BANDS)
    audio, notes = simulate_music(kind, int(audio_sfreq), n_total, sfreq, music_rng, stimuli)
    drives = {k: stimulus_drives(a, audio_sfreq, sfreq) for k, a in audio.items()}

    X, y, labels, truth = [], [], [], {}
    subject_seeds = seeds[1].spawn(n_subjects)
    for i_subj in range(n_subjects):
        rng = np.random.default_rng(subject_seeds[i_subj])
        subj = _subject_params(rng, sfreq, _N_BANDS)
        sid = f"sub-{i_subj + 1:02d}"
        recs = []
        for stim in audio:
            for cond in conditions:
                evoked = _evoked(drives[stim], subj, gains, sfreq, cond, rng)
                noise = _noise(subj, gains, sfreq, n_total, rng, spec["line_freq"])
                recs.append((stim, cond, evoked, noise))
        listening = [r for r in recs if r[1] == "listening"] or recs
        p_signal = np.mean([np.mean(r[2] ** 2) for r in listening])
        p_noise = np.mean([np.mean(r[3] ** 2) for r in listening])
        # Evoked sensor RMS of ~1 uV before the subject's own amplitude factor.
        scale = 1e-6 * subj["amplitude"] / np.sqrt(p_signal)
        noise_scale = np.sqrt(p_signal / (p_noise * 10 ** (snr_db / 10)))
        for stim, cond, evoked, noise in recs:
            eeg = (scale * (evoked + noise_scale * noise)).astype(np.float32)
            for k in range(n_seg):
                sl = slice(k * seg_len, (k + 1) * seg_len)
                X.append(eeg[:, sl])
                y.append(audio[stim][sl.start * factor : sl.stop * factor])
                labels.append((sid, stim, cond, k))
        truth[sid] = {k: v for k, v in subj.items()}

    subject, stimulus, condition, segment = (np.array(c) for c in zip(*labels))
    return EEGMusicData(
        X=np.stack(X),
        y=np.stack(y),
        subject=subject,
        stimulus=stimulus,
        condition=condition,
        segment=segment.astype(int),
        sfreq=sfreq,
        audio_sfreq=int(audio_sfreq),
        info=info,
        description=dict(
            dataset=f"simulated-{kind}",
            kind=kind,
            snr_db=snr_db,
            random_state=random_state if isinstance(random_state, int) else None,
            segment_seconds=segment_seconds,
            stimulus_seconds=n_total / sfreq,
        ),
        ground_truth=dict(
            subjects=truth,
            source_positions=positions,
            drives=drives,
            notes=notes,
            trf_lags_seconds=np.arange(len(trf_kernel(sfreq))) / sfreq,
        ),
    )


def within_subject_envelope_r(data, subject, alphas=None, train_fraction=0.75, random_state=0):
    """Calibration decoder: within-subject backward envelope reconstruction.

    A lagged ridge from EEG at lags 0-250 ms after each stimulus sample to the
    envelope (:func:`~sk_eeg2music.audio.frame_envelope`) at the EEG rate, trained
    on a random ``train_fraction`` of the listening segments of ``subject`` and
    tested on the others (time-disjoint: whole segments are held out; lags stay
    inside segments). ``alpha`` is chosen by leave-one-segment-block-out on the
    training segments.

    Parameters
    ----------
    data : EEGMusicData
    subject : str
    alphas : array-like | None
        Ridge penalties relative to the mean eigenvalue of the lagged covariance.
    train_fraction : float
    random_state : int

    Returns
    -------
    r : float
        Pearson r between decoded and true envelopes over the test samples.
    """
    from sklearn.model_selection import GroupKFold

    sel = data.select(subject=subject, condition="listening")
    env = frame_envelope(sel.y, sel.factor, power=0.6)
    n_lags = int(round(0.25 * sel.sfreq)) + 1
    Xs = sel.X / sel.X.std(axis=(0, 2), keepdims=True)
    n_trials, n_ch, n_times = Xs.shape
    n_valid = n_times - n_lags + 1
    lagged = np.stack([Xs[:, :, lag : lag + n_valid] for lag in range(n_lags)], axis=2)
    feats = lagged.transpose(0, 3, 1, 2).reshape(n_trials, n_valid, n_ch * n_lags)
    target = env[:, :n_valid].astype(np.float64)
    order = np.random.default_rng(random_state).permutation(n_trials)
    n_train = int(round(train_fraction * n_trials))
    train, test = order[:n_train], order[n_train:]
    alphas = np.logspace(-1, 3, 9) if alphas is None else np.asarray(alphas, float)
    groups = np.repeat(np.arange(n_train), n_valid)
    F, t = feats[train].reshape(-1, feats.shape[-1]), target[train].ravel()
    scores = np.zeros(len(alphas))
    for tr, va in GroupKFold(n_splits=min(3, n_train)).split(F, t, groups):
        for i, w in enumerate(_ridge_path(F[tr], t[tr], alphas)):
            scores[i] += np.corrcoef(F[va] @ w, t[va])[0, 1]
    (w,) = _ridge_path(F, t, alphas[[int(np.argmax(scores))]])
    pred = feats[test].reshape(-1, feats.shape[-1]) @ w
    return float(np.corrcoef(pred, target[test].ravel())[0, 1])


def _ridge_path(F, t, alphas):
    """Ridge weights for every relative alpha from one eigendecomposition."""
    F = F - F.mean(0)
    eigval, eigvec = np.linalg.eigh(F.T @ F)
    proj = eigvec.T @ (F.T @ (t - t.mean()))
    mean_eig = eigval.mean()
    return [eigvec @ (proj / (eigval + a * mean_eig)) for a in alphas]
