"""Deterministic music synthesis for the simulator.

Two repertoires stand in for the real stimuli: monophonic chorale-like melodies
(MOS: four Bach chorale melodies at 100 BPM) and multi-instrument songs with
drums, bass, chords and a melody at ten tempi (NMED-T: ten songs, 56-150 BPM).
Every function is pure: the same generator state gives bit-identical audio.
"""

import librosa
import numpy as np

MOS_IDS = ("chor-096", "chor-038", "chor-101", "chor-019")
NMEDT_IDS = tuple(f"song{n}" for n in range(21, 31))
# NMED-T's published tempi (BPM), rounded; song21 ... song30.
NMEDT_BPM = (56.0, 69.4, 74.3, 82.4, 91.5, 96.2, 108.7, 120.0, 128.2, 150.0)
_MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
_MINOR = np.array([0, 2, 3, 5, 7, 8, 10])


def _scale_pitch(degree, tonic, scale):
    octave, step = np.divmod(degree, len(scale))
    return tonic + 12 * octave + scale[step]


def _add_tone(buf, sr, onset, duration, freq, amps, decays, attack=0.005, release=0.03):
    """Add one additive-synthesis note to ``buf`` in place.

    ``amps[k]`` and ``decays[k]`` (s) are the amplitude and exponential decay time
    of harmonic ``k + 1``; harmonics above Nyquist are skipped.
    """
    start = int(round(onset * sr))
    n = min(int(round(duration * sr)), len(buf) - start)
    if n <= 0:
        return
    t = np.arange(n) / sr
    harmonics = np.arange(1, len(amps) + 1)
    keep = harmonics * freq < 0.45 * sr
    phases = 2 * np.pi * freq * np.outer(harmonics[keep], t)
    partials = np.sin(phases) * (amps[keep, None] * np.exp(-t[None] / decays[keep, None]))
    env = np.minimum(1.0, t / attack) * np.minimum(1.0, (duration - t) / release).clip(0)
    buf[start : start + n] += env * partials.sum(0)


def _add_noise_hit(buf, sr, onset, decay, rng, highpass=False, gain=1.0):
    start = int(round(onset * sr))
    n = min(int(round(6 * decay * sr)), len(buf) - start)
    if n <= 0:
        return
    noise = rng.standard_normal(n + 1)
    noise = np.diff(noise) if highpass else noise[:n]
    buf[start : start + n] += gain * noise * np.exp(-np.arange(n) / (decay * sr))


def _add_kick(buf, sr, onset, gain=1.0):
    start = int(round(onset * sr))
    n = min(int(0.3 * sr), len(buf) - start)
    if n <= 0:
        return
    t = np.arange(n) / sr
    freq = 50 + 90 * np.exp(-t / 0.03)
    phase = 2 * np.pi * np.cumsum(freq) / sr
    buf[start : start + n] += gain * np.sin(phase) * np.exp(-t / 0.12)


def _piano(n_harm=10, brightness=1.3, decay=0.9):
    k = np.arange(1, n_harm + 1)
    return k ** (-brightness), decay / k**0.7


def synthesize_melody(rng, sr, duration, bpm=100.0, tonic=None):
    """A monophonic chorale-style melody with piano-like notes.

    Parameters
    ----------
    rng : numpy.random.Generator
    sr : int
        Audio rate (Hz).
    duration : float
        Length in seconds.
    bpm : float
        Quarter notes per minute.
    tonic : int | None
        MIDI tonic; random between 60 and 67 when None.

    Returns
    -------
    audio : ndarray, shape (round(duration * sr),), float64
    notes : ndarray, shape (n_notes, 3)
        Onset (s), duration (s) and MIDI pitch of each note.
    """
    buf = np.zeros(int(round(duration * sr)))
    beat = 60.0 / bpm
    tonic = int(rng.integers(60, 68)) if tonic is None else tonic
    scale = _MAJOR if rng.random() < 0.7 else _MINOR
    amps, decays = _piano()
    notes, t, degree = [], 0.0, 0
    while t < duration:
        dur = beat * rng.choice([0.5, 1.0, 1.0, 1.0, 2.0], p=[0.15, 0.3, 0.25, 0.15, 0.15])
        degree = int(np.clip(degree + rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3]), -3, 9))
        pitch = _scale_pitch(degree, tonic, scale)
        _add_tone(buf, sr, t, min(dur, duration - t), librosa.midi_to_hz(pitch), amps, decays)
        notes.append((t, dur, pitch))
        t += dur
    return buf, np.array(notes)


def synthesize_song(rng, sr, duration, bpm):
    """A song with drums, bass, chords and a melody at a given tempo.

    Parameters
    ----------
    rng : numpy.random.Generator
    sr : int
        Audio rate (Hz).
    duration : float
        Length in seconds.
    bpm : float
        Beats per minute.

    Returns
    -------
    audio : ndarray, shape (round(duration * sr),), float64
    notes : ndarray, shape (n_notes, 3)
        Onset (s), duration (s) and MIDI pitch of each melody note.
    """
    n = int(round(duration * sr))
    drums, bass, pads = np.zeros(n), np.zeros(n), np.zeros(n)
    beat = 60.0 / bpm
    tonic = int(rng.integers(45, 57))
    scale = _MAJOR if rng.random() < 0.6 else _MINOR
    progression = rng.permutation([0, 3, 4, 5])
    patterns = ([0, 2], [0, 2.5], [0, 1.5, 2], [0, 0.75, 2])
    kick_pattern = patterns[int(rng.integers(len(patterns)))]
    bar, i_bar = 4 * beat, 0
    while i_bar * bar < duration:
        t0 = i_bar * bar
        root = _scale_pitch(progression[i_bar % 4], tonic, scale)
        for b in kick_pattern:
            _add_kick(drums, sr, t0 + b * beat, gain=0.9)
        for b in (1, 3):
            _add_noise_hit(drums, sr, t0 + b * beat, 0.06, rng, gain=0.35)
        for b in np.arange(0, 4, 0.5):
            _add_noise_hit(drums, sr, t0 + b * beat, 0.012, rng, highpass=True, gain=0.15)
        for b in range(4):
            amps = 0.5 / np.arange(1, 7)
            _add_tone(
                bass,
                sr,
                t0 + b * beat,
                0.9 * beat,
                librosa.midi_to_hz(root - 12),
                amps,
                0.4 / np.ones(6),
            )
        for d in (0, 2, 4):
            pitch = _scale_pitch(progression[i_bar % 4] + d, tonic + 12, scale)
            amps, decays = np.array([0.12, 0.05, 0.03, 0.015]), np.full(4, 2.5)
            _add_tone(
                pads, sr, t0, bar, librosa.midi_to_hz(pitch), amps, decays, attack=0.08, release=0.1
            )
        i_bar += 1
    melody, notes = synthesize_melody(rng, sr, duration, bpm=bpm, tonic=tonic + 24)
    mix = 0.8 * drums + 0.7 * bass + 0.6 * pads + 0.5 * melody
    return mix, notes
