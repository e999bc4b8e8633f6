"""Simulated EEG-music data with known ground truth: the package's embedded default.

Music is synthesised (:mod:`._music`); EEG is produced by a real forward model
(:mod:`._forward`): bilateral auditory-cortex dipoles driven by the stimulus
envelope, its onsets and its band energies through subject-specific TRF
kernels (P1-N1-P2), plus 1/f background activity from many dipoles, occipital
alpha bursts, eye blinks, line noise (NMED-T only) and sensor noise.

Calibration
-----------
``snr_db`` is the ratio (dB) of the stimulus-driven sensor power to the power of
everything else, over a subject's listening trials (first repetition). The
defaults (:data:`DEFAULT_SNR_DB`: MOS -34 dB, NMED-T -37 dB) were chosen with
``benchmarks/calibrate_simulator.py`` on the real designs (:func:`real_design`)
so that a within-subject backward envelope decoder with a realistic amount of
training data reaches a test Pearson r of about 0.1-0.15:
:func:`within_subject_envelope_r`, the package's lagged ridge
(:func:`~sk_eeg2music.models._lagged_ridge.fit_lagged_ridge`, lags 0-250 ms, alpha by
inner CV), trained on all but one repetition of each stimulus (MOS: 10 x 4
chorales x 28.2 s = 18.8 min) and tested on the held-out repetition. Measured
(6 subjects, 4 held-out repetitions each, 2026-12-06): mean r 0.094 at -36 dB,
0.129 at -34 dB, 0.149 at -33 dB, 0.171 at -32 dB. NMED-T (one presentation
per song: train on 9 songs of 270 s, test on the tenth) gave r 0.123 at -37 dB
(one subject, two held-out songs: each fit takes minutes with 125 channels x
33 lags). Both defaults are 6 dB below the earlier ones, which had been
calibrated with 84 s of training data. ``tests/datasets/test_simulated.py``
keeps the MOS figure true.
"""

import numbers

import librosa
import numpy as np
import scipy.fft
from scipy.signal import fftconvolve
from threadpoolctl import threadpool_limits

from ..audio import frame_envelope, log_mel_spectrogram
from ..utils._validation import check_rate_ratio, check_sfreq
from ._base import EEGMusicData
from ._common import cut_segments
from ._forward import forward_model
from ._music import (
    MOS_IDS,
    NMEDT_BPM,
    NMEDT_IDS,
    synthesize_melody,
    synthesize_song,
)

DEFAULT_SNR_DB = {"mos": -34.0, "nmedt": -37.0}
# The real datasets' designs (see :func:`real_design`).
REAL_DESIGNS = {
    "mos": dict(
        n_subjects=21,
        n_repetitions=11,
        conditions=("listening", "imagery"),
        stimulus_seconds=1803 / 64.0,
        segment_seconds=None,
    ),
    "nmedt": dict(
        n_subjects=20,
        n_repetitions=1,
        conditions=("listening",),
        stimulus_seconds=270.0,
        segment_seconds=None,
    ),
}

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


def _zscore(x, dtype=np.float64):
    x = np.asarray(x, dtype)
    std = x.std(axis=-1, keepdims=True)
    return (x - x.mean(axis=-1, keepdims=True)) / np.where(std > 0, std, 1.0)


def _pink_noise(rng, shape, sfreq, exponent=1.7, f_knee=0.5, fast=False):
    """Gaussian noise with a 1/f^exponent power spectrum, flat below ``f_knee``.

    ``fast=True`` works in float32 at the next FFT-friendly length and crops
    the result: the same process, several times faster when ``shape[-1]`` has a
    large prime factor (MOS trials have 1803 = 3 x 601 samples). The first
    repetition is not fast, so that its values are those of earlier versions.
    """
    n = shape[-1]
    n_fft, dtype = (scipy.fft.next_fast_len(n, real=True), np.float32) if fast else (n, float)
    size = (*shape[:-1], n_fft // 2 + 1)
    spec = rng.standard_normal(size, dtype=dtype) + 1j * rng.standard_normal(size, dtype=dtype)
    freqs = np.fft.rfftfreq(n_fft, 1 / sfreq)
    spec *= (np.maximum(freqs, f_knee) ** (-exponent / 2)).astype(dtype)
    spec[..., 0] = 0.0
    return _zscore(np.fft.irfft(spec, n=n_fft)[..., :n], dtype)


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


def _imagery_warp(drive, rng, sfreq, delay, jitter_std=0.03, fast=False):
    """Delay a drive and jitter its timing with a slow random time warp."""
    n = drive.shape[-1]
    t = np.arange(n) / sfreq
    slow = _pink_noise(rng, (n,), sfreq, exponent=4.0, f_knee=0.2, fast=fast)
    src_t = t - delay - jitter_std * slow
    flat = drive.reshape(-1, n)
    warped = np.stack([np.interp(src_t, t, row, left=0.0, right=0.0) for row in flat])
    return warped.reshape(drive.shape)


def _evoked(drives, subj, gains, sfreq, condition, rng, fast=False):
    """Stimulus-driven sensor signal, shape (n_channels, n_times)."""
    env, onset, bands = drives["envelope"], drives["onset"], drives["bands"]
    sign, gain = 1.0, 1.0
    if condition == "imagery":
        env, onset, bands = (
            _imagery_warp(x, rng, sfreq, subj["imagery_delay"], fast=fast)
            for x in (env, onset, bands)
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


def _noise(subj, gains, sfreq, n_times, rng, line_freq, fast=False):
    """Background activity and artefacts at unit scale, shape (n_channels, n_times).

    ``fast=True`` (repetitions after the first) computes the two largest terms,
    the background and the sensor noise, in float32.
    """
    dtype = np.float32 if fast else float
    g_bg = _oriented(gains["background"], subj["background_orientation"]).astype(dtype)
    background = g_bg @ _pink_noise(rng, (g_bg.shape[1], n_times), sfreq, fast=fast)
    background /= np.sqrt(np.mean(background**2))
    t = np.arange(n_times) / sfreq
    bursts = np.clip(_pink_noise(rng, (2, n_times), sfreq, exponent=3.0, fast=fast), 0, None)
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
    sensor = rng.standard_normal(background.shape, dtype=dtype)
    sensor -= sensor.mean(0, keepdims=True)
    out = background + 0.5 * alpha + 3.0 * blink + 0.3 * sensor
    if line_freq is not None and line_freq < sfreq / 2:
        out += 0.05 * np.sin(2 * np.pi * line_freq * t + rng.uniform(0, 2 * np.pi))
    return out


def _segments(evoked, noise, scale, noise_scale, seg_len):
    """Scaled float32 EEG cut into segments, shape (n_segments, n_channels, seg_len)."""
    eeg = (scale * (evoked + noise_scale * noise)).astype(np.float32)
    return cut_segments(eeg, seg_len)


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
        audio[name] = (0.9 * librosa.util.normalize(wav[:n_audio])).astype(np.float32)
        notes[name] = nts
    return audio, notes


def _check_design(kind, spec, n_repetitions, conditions, stimuli):
    """Validated ``n_repetitions`` (int) and ``conditions`` (tuple); ``stimuli`` checked."""
    if (
        isinstance(n_repetitions, bool)
        or not isinstance(n_repetitions, numbers.Integral)
        or n_repetitions < 1
    ):
        raise ValueError(f"n_repetitions must be an integer >= 1; got {n_repetitions!r}.")
    conditions = spec["conditions"] if conditions is None else tuple(conditions)
    bad = set(conditions) - set(spec["conditions"])
    if bad or not conditions:
        raise ValueError(f"conditions for kind={kind!r} must be among {spec['conditions']}.")
    if stimuli is not None:
        unknown = set(stimuli) - set(spec["stimuli"])
        if unknown or not len(stimuli):
            raise ValueError(f"stimuli must be among {spec['stimuli']}; got {stimuli!r}.")
    return int(n_repetitions), conditions


def _segment_lengths(duration, segment_seconds, sfreq):
    """Samples per stimulus, per segment, and segments per stimulus (remainder dropped)."""
    n_total = int(round(duration * sfreq))
    seg_len = n_total if segment_seconds is None else int(round(segment_seconds * sfreq))
    return n_total, seg_len, n_total // seg_len


def _fill_audio(y, audio, recordings, index, seg_audio):
    """Write each recording's audio segments into ``y`` rows given by ``index``.

    ``index`` has shape (n_subjects, n_recordings, n_repetitions, n_seg); the
    same segment goes to every subject and repetition.
    """
    n_seg = index.shape[-1]
    for i_rec, (stim, _) in enumerate(recordings):
        segments = cut_segments(audio[stim], seg_audio, n_seg)  # (n_seg, seg_audio)
        for k in range(n_seg):
            y[index[:, i_rec, :, k].ravel()] = segments[k]


def _scales(recs, conditions, amplitude, snr_db):
    """EEG scale and noise scale that give ``snr_db`` over the listening recordings.

    ``recs`` holds (evoked, noise) pairs, each (n_channels, n_times), one per
    entry of ``conditions``; all recordings count when none is a listening one.
    """
    listening = [r for r, c in zip(recs, conditions, strict=True) if c == "listening"] or recs
    p_signal = np.mean([np.mean(r[0] ** 2) for r in listening])
    p_noise = np.mean([np.mean(r[1] ** 2) for r in listening])
    # Evoked sensor RMS of ~1 uV before the subject's own amplitude factor.
    scale = 1e-6 * amplitude / np.sqrt(p_signal)
    noise_scale = np.sqrt(p_signal / (p_noise * 10 ** (snr_db / 10)))
    return scale, noise_scale


def _simulate_subject(
    X,
    rows,
    rng,
    rep_seeds,
    *,
    recordings,
    drives,
    gains,
    sfreq,
    n_total,
    line_freq,
    snr_db,
    seg_len,
):
    """Simulate one subject's recordings into ``X[rows]``; returns its parameters.

    ``rows`` (n_recordings, n_repetitions, n_seg) indexes ``X``; ``rng`` is the
    subject's own generator (repetition 0, consumed as in earlier versions),
    ``rep_seeds`` seed the later repetitions, one independent generator each.
    The keyword arguments are those shared by every subject.
    """
    subj = _subject_params(rng, sfreq, _N_BANDS)
    recs = []
    for stim, cond in recordings:
        evoked = _evoked(drives[stim], subj, gains, sfreq, cond, rng)
        noise = _noise(subj, gains, sfreq, n_total, rng, line_freq)
        recs.append((evoked, noise))
    conds = [cond for _, cond in recordings]
    scale, noise_scale = _scales(recs, conds, subj["amplitude"], snr_db)
    for i_rec, (evoked, noise) in enumerate(recs):
        X[rows[i_rec, 0]] = _segments(evoked, noise, scale, noise_scale, seg_len)
    # The listening response draws nothing random, so repetition 0's is reused.
    listening_evoked = {
        stim: rec[0] for rec, (stim, cond) in zip(recs, recordings) if cond == "listening"
    }
    del recs
    for i_rep, rep_seed in enumerate(rep_seeds, 1):
        rep_rng = np.random.default_rng(rep_seed)
        for i_rec, (stim, cond) in enumerate(recordings):
            if cond == "listening":
                evoked = listening_evoked[stim]
            else:
                evoked = _evoked(drives[stim], subj, gains, sfreq, cond, rep_rng, fast=True)
            noise = _noise(subj, gains, sfreq, n_total, rep_rng, line_freq, fast=True)
            X[rows[i_rec, i_rep]] = _segments(evoked, noise, scale, noise_scale, seg_len)
    return dict(subj)


def _trial_labels(n_subjects, recordings, n_repetitions, n_seg):
    """Labels of trials ordered (subject, recording, repetition, segment), each (n_trials,)."""
    grid = np.meshgrid(
        [f"sub-{i + 1:02d}" for i in range(n_subjects)],
        np.arange(len(recordings)),
        np.arange(n_repetitions),
        np.arange(n_seg),
        indexing="ij",
    )
    subject, i_rec, repetition, segment = (g.ravel() for g in grid)
    return dict(
        subject=subject,
        stimulus=np.array([recordings[i][0] for i in i_rec]),
        condition=np.array([recordings[i][1] for i in i_rec]),
        segment=segment.astype(int),
        repetition=repetition.astype(int),
    )


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
    n_repetitions=1,
):
    """Simulate EEG recorded while music is heard (and, for MOS, imagined).

    Each (subject, stimulus, condition) recording is simulated continuously and
    then cut into ``segment_seconds`` pieces; the same stimulus and segment give
    bit-identical audio for every subject and repetition.

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
    n_repetitions : int, default=1
        Presentations of each (subject, stimulus, condition). Every repetition
        has the same labels and bit-identical audio, and its own background
        activity, artefacts, sensor noise and (imagery) timing jitter.
        Repetition 0 is the same whatever ``n_repetitions`` (so ``1`` gives the
        data of earlier versions), and so is repetition ``r`` for any
        ``n_repetitions > r``.

    Returns
    -------
    data : EEGMusicData
        ``X`` float32 (n_trials, n_channels, n_times) in volts, ``y`` float32
        (n_trials, n_times * audio_sfreq / sfreq), labels, ``repetition`` (int,
        shape (n_trials,)), ``info`` with the montage and ``ground_truth`` (TRF
        kernels, dipole positions, drives, notes). Trials are ordered by subject,
        stimulus, condition, repetition, then segment.

    See Also
    --------
    real_design : the arguments that simulate the real datasets' scale (MOS:
        21 subjects x 4 chorales x 11 repetitions x 2 conditions; NMED-T: 20
        subjects x 10 songs of 4.5 min).

    Notes
    -----
    Memory is dominated by ``X`` and ``y``, both float32: ``y`` alone takes
    ``4 * n_trials * n_audio`` bytes (3.3 GB for real-scale MOS at 16 kHz, half
    at ``audio_sfreq=8000``). The arrays are filled in place, and the audio is
    synthesised once per stimulus; ``benchmarks/simulate_scale.py`` measures
    time and peak memory.

    Examples
    --------
    >>> from sk_eeg2music import make_simulated
    >>> data = make_simulated("mos", n_subjects=2, segment_seconds=4.0)
    >>> data.X.shape, data.y.shape
    ((112, 64, 256), (112, 64000))
    >>> rep = make_simulated("mos", n_subjects=1, stimulus_seconds=8.0, n_repetitions=3)
    >>> rep.X.shape, np.unique(rep.repetition).tolist()
    ((48, 64, 256), [0, 1, 2])
    """
    spec, factor, duration = _check_params(
        kind, n_subjects, segment_seconds, audio_sfreq, snr_db, stimulus_seconds
    )
    n_repetitions, conditions = _check_design(kind, spec, n_repetitions, conditions, stimuli)
    snr_db = DEFAULT_SNR_DB[kind] if snr_db is None else float(snr_db)
    sfreq = spec["sfreq"]
    n_total, seg_len, n_seg = _segment_lengths(duration, segment_seconds, sfreq)

    # Child 2 seeds the repetitions after the first: children 0 and 1 (music,
    # subjects) are those of earlier versions, so repetition 0 is unchanged.
    seeds = _seed_sequence(random_state).spawn(3)
    music_rng = np.random.default_rng(seeds[0])
    info, gains, positions = forward_model(kind, _N_BANDS)
    audio, notes = simulate_music(kind, int(audio_sfreq), n_total, sfreq, music_rng, stimuli)
    drives = {k: stimulus_drives(a, audio_sfreq, sfreq) for k, a in audio.items()}

    # Trials are ordered (subject, stimulus, condition, repetition, segment);
    # X and y are filled in place so that no per-trial list doubles the memory.
    recordings = [(stim, cond) for stim in audio for cond in conditions]
    n_trials = n_subjects * len(recordings) * n_repetitions * n_seg
    X = np.empty((n_trials, len(info["ch_names"]), seg_len), np.float32)
    y = np.empty((n_trials, seg_len * factor), np.float32)
    index = np.arange(n_trials).reshape(n_subjects, len(recordings), n_repetitions, n_seg)
    _fill_audio(y, audio, recordings, index, seg_len * factor)

    shared = dict(
        recordings=recordings,
        drives=drives,
        gains=gains,
        sfreq=sfreq,
        n_total=n_total,
        line_freq=spec["line_freq"],
        snr_db=snr_db,
        seg_len=seg_len,
    )
    subject_seeds = seeds[1].spawn(n_subjects)
    repetition_seeds = seeds[2].spawn(n_subjects)
    truth = {}
    # The matrix products here are small: BLAS threads cost more than they save
    # (about 2x slower with 2 threads on 2 cores).
    with threadpool_limits(limits=1, user_api="blas"):
        for i_subj in range(n_subjects):
            rng = np.random.default_rng(subject_seeds[i_subj])
            rep_seeds = repetition_seeds[i_subj].spawn(n_repetitions - 1)
            truth[f"sub-{i_subj + 1:02d}"] = _simulate_subject(
                X, index[i_subj], rng, rep_seeds, **shared
            )

    return EEGMusicData(
        X=X,
        y=y,
        **_trial_labels(n_subjects, recordings, n_repetitions, n_seg),
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
            n_repetitions=n_repetitions,
        ),
        ground_truth=dict(
            subjects=truth,
            source_positions=positions,
            drives=drives,
            notes=notes,
            trf_lags_seconds=np.arange(len(trf_kernel(sfreq))) / sfreq,
        ),
    )


def real_design(kind="mos", **overrides):
    """Arguments of :func:`make_simulated` that match a real dataset's design.

    - ``"mos"`` (Marion et al. 2021): 21 subjects, 4 chorales x 11 repetitions x
      listening and imagery = 88 trials of 1803 samples (28.2 s) at 64 Hz each.
    - ``"nmedt"`` (Losorelli et al. 2017): 20 subjects, 10 songs presented once,
      at 125 Hz. The real songs last 271-298 s; every simulated song lasts
      270 s (the arrays are rectangular).

    Trials are whole presentations (``segment_seconds=None``), as recorded;
    override ``segment_seconds`` to cut them.

    Parameters
    ----------
    kind : {"mos", "nmedt"}, default="mos"
    **overrides
        Any other :func:`make_simulated` argument; it replaces the design's value
        (e.g. ``n_subjects=2`` for a quick run, ``audio_sfreq=8000`` to halve
        ``y``'s memory).

    Returns
    -------
    kwargs : dict
        Keyword arguments for :func:`make_simulated`, ``kind`` included.

    Examples
    --------
    >>> from sk_eeg2music.datasets.simulated import real_design
    >>> real_design("mos")["n_repetitions"]
    11
    >>> kwargs = real_design("mos", n_subjects=1, stimuli=["chor-019"], audio_sfreq=8000)
    >>> data = make_simulated(**kwargs)  # 1 subject x 1 chorale x 2 conditions x 11 repetitions
    >>> data.X.shape
    (22, 64, 1803)
    """
    if kind not in REAL_DESIGNS:
        raise ValueError(f"kind must be one of {sorted(REAL_DESIGNS)}; got {kind!r}.")
    import inspect

    allowed = set(inspect.signature(make_simulated).parameters) - {"kind"}
    unknown = set(overrides) - allowed
    if unknown:
        raise ValueError(
            f"unknown make_simulated argument(s) {sorted(unknown)}; use {sorted(allowed)}."
        )
    return {"kind": kind, **REAL_DESIGNS[kind], **overrides}


def within_subject_envelope_r(
    data, subject, *, tmin=0.0, tmax=0.25, alphas=None, inner_cv=3, max_folds=None
):
    """Calibration decoder: within-subject backward envelope reconstruction.

    The package's lagged ridge (:func:`~sk_eeg2music.models._lagged_ridge.fit_lagged_ridge`,
    EEG at lags ``tmin``..``tmax`` after each stimulus sample, lags kept inside
    trials) maps the listening EEG of ``subject`` to the envelope
    (:func:`~sk_eeg2music.audio.frame_envelope`, power 0.6) at the EEG rate. The
    held-out unit is one repetition of every stimulus: train on all the other
    repetitions, test on it (leave-one-repetition-out). Data with a single
    repetition hold out one stimulus at a time instead, or, with one stimulus,
    one segment position. ``alpha`` is chosen on the training trials only, by
    ``inner_cv`` folds grouped the same way
    (:func:`~sk_eeg2music.models._lagged_ridge.cv_alpha_scores`).

    Parameters
    ----------
    data : EEGMusicData
        With audio; its listening trials of ``subject`` are used.
    subject : str
    tmin, tmax : float, default=0.0, 0.25
        Lag window (s); positive lags: the EEG follows the stimulus.
    alphas : array-like of float, shape (n_alphas,) | None, default=None
        Ridge penalties relative to the mean eigenvalue of the lagged Gram
        matrix; ``None`` is ``np.logspace(-2, 4, 13)``.
    inner_cv : int, default=3
        Inner folds for ``alpha``.
    max_folds : int | None, default=None
        Evaluate only this many held-out groups (evenly spaced), to save time;
        ``None`` evaluates them all.

    Returns
    -------
    r : float
        Pearson r between decoded and true envelopes over all samples of the
        held-out trials, averaged over the folds.
    """
    from ..models._lagged_ridge import (
        cv_alpha_scores,
        fit_lagged_ridge,
        inner_splits,
        lag_samples,
        predict_lagged,
    )

    sel = data.select(subject=subject, condition="listening")
    if len(sel) < 2:
        raise ValueError(
            f"subject {subject!r} needs >= 2 listening trials to calibrate; got {len(sel)}."
        )
    groups = _held_out_groups(sel)
    env = frame_envelope(sel.require_y(), sel.factor, power=0.6)[:, np.newaxis, :]
    X = sel.X / sel.X.std(dtype=np.float64)  # scale-free (alphas are relative anyway)
    lags = lag_samples(tmin, tmax, sel.sfreq)
    alphas = np.logspace(-2, 4, 13) if alphas is None else np.asarray(alphas, float)
    folds = np.unique(groups)
    if max_folds is not None and max_folds < len(folds):
        folds = folds[np.linspace(0, len(folds) - 1, int(max_folds)).round().astype(int)]
    rs = []
    for held_out in folds:
        train, test = groups != held_out, groups == held_out
        splits = inner_splits(inner_cv, int(train.sum()), groups[train])
        scores = cv_alpha_scores(X[train], env[train], lags, alphas, splits)[:, 0]
        alpha = alphas[int(np.argmax(scores))]
        coef, x_mean, y_mean, _ = fit_lagged_ridge(X[train], env[train], lags, [alpha])
        pred = predict_lagged(X[test], coef[0], x_mean, y_mean, lags)
        rs.append(np.corrcoef(pred.ravel(), env[test].ravel())[0, 1])
    return float(np.mean(rs))


def _held_out_groups(data):
    """Repetition, else stimulus, else segment: the first label with >= 2 values."""
    candidates = [data.stimulus, data.segment]
    if data.repetition is not None:
        candidates.insert(0, data.repetition)
    for labels in candidates:
        if len(np.unique(labels)) >= 2:
            return np.unique(labels, return_inverse=True)[1]
    raise ValueError("calibration needs >= 2 repetitions, stimuli or segments to hold out.")
