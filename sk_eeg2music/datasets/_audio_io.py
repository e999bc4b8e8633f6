"""Reading stimulus audio files and bringing them to the package's audio rate."""

from fractions import Fraction
from pathlib import Path

import numpy as np

from ._common import check_finite_audio

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")


def read_audio(path):
    """Read a sound file with :mod:`soundfile`.

    Parameters
    ----------
    path : str | Path
        WAV, FLAC or OGG file.

    Returns
    -------
    audio : ndarray, shape (n_samples, n_channels), float32
        Samples in [-1, 1] (integer formats are scaled by soundfile); a float file
        with NaN or infinite samples raises a ValueError naming it and the channel.
    sfreq : int
        The file's sampling rate (Hz).
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"audio file {path} does not exist.")
    try:
        audio, sfreq = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises LibsndfileError / RuntimeError / TypeError
        raise ValueError(
            f"could not read the audio file {path}: {exc}. Use a WAV, FLAC or OGG file "
            "that soundfile can open."
        ) from exc
    if audio.shape[0] == 0:
        raise ValueError(f"the audio file {path} is empty.")
    check_finite_audio(audio, f"the audio file {path}", sfreq)
    return audio, int(sfreq)


def resample_audio(x, sfreq, new_sfreq):
    """Resample along the first axis with a polyphase anti-aliasing filter.

    Parameters
    ----------
    x : ndarray, shape (n_samples, ...) or (n_samples,)
    sfreq, new_sfreq : int
        Current and target rates (Hz).

    Returns
    -------
    y : ndarray, shape (ceil(n_samples * new_sfreq / sfreq), ...), float32
        Sample 0 of ``y`` is at the time of sample 0 of ``x`` (zero-phase filter).
    """
    from scipy.signal import resample_poly

    ratio = Fraction(int(round(new_sfreq)), int(round(sfreq)))
    if ratio == 1:
        return np.asarray(x, dtype=np.float32)
    y = resample_poly(x, ratio.numerator, ratio.denominator, axis=0)
    return y.astype(np.float32, copy=False)


def to_mono(audio):
    """Average the channels: (n_samples, n_channels) -> (n_samples,)."""
    audio = np.asarray(audio)
    return audio if audio.ndim == 1 else audio.mean(axis=1, dtype=np.float32)


def audio_window(wave, audio_sfreq, start_seconds, n_samples, label):
    """Cut ``n_samples`` starting at ``start_seconds`` (silence before time 0).

    Parameters
    ----------
    wave : ndarray, shape (n_audio,)
    audio_sfreq : int
    start_seconds : float
        Audio time of the first returned sample; negative values pad with zeros.
    n_samples : int
    label : str
        Names the audio in the error message.

    Returns
    -------
    window : ndarray, shape (n_samples,), float32
    """
    start = int(round(start_seconds * audio_sfreq))
    stop = start + n_samples
    if stop > len(wave):
        raise ValueError(
            f"the audio of {label} is too short for its EEG: it lasts "
            f"{len(wave) / audio_sfreq:.2f} s but the EEG needs audio up to "
            f"{stop / audio_sfreq:.2f} s (from {start_seconds:.3f} s). Check that it is the "
            "right recording and the audio offset, or use a shorter segment_seconds/duration."
        )
    out = np.zeros(n_samples, np.float32)
    lo = max(start, 0)
    if stop > lo:
        out[lo - start :] = wave[lo:stop]
    return out


def find_audio(directory, stem):
    """The audio file of ``stem`` in ``directory`` (``stem.wav`` / ``.flac`` / ``.ogg``).

    Exact names win; otherwise one file whose name starts with ``stem`` followed
    by ``_``, ``-``, ``.`` or a space (e.g. ``song21_16k.wav``) is accepted.

    Returns
    -------
    path : Path | None
        ``None`` when no file matches.
    """
    directory = Path(directory)
    files = [p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS]
    exact = sorted(p for p in files if p.stem.lower() == stem.lower())
    if exact:
        if len(exact) > 1:
            raise ValueError(
                f"several audio files for {stem} in {directory}: {[p.name for p in exact]}; "
                "keep one or pass the file explicitly."
            )
        return exact[0]
    loose = sorted(
        p
        for p in files
        if p.stem.lower().startswith(stem.lower())
        and p.stem[len(stem) : len(stem) + 1] in ("_", "-", ".", " ")
    )
    if len(loose) > 1:
        raise ValueError(
            f"several audio files could be {stem} in {directory}: {[p.name for p in loose]}; "
            f"rename one to {stem}.wav or pass the file explicitly."
        )
    return loose[0] if loose else None
