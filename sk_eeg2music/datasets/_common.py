"""Small helpers shared by the dataset loaders."""

import re
from pathlib import Path

import numpy as np

from ..utils._validation import check_sfreq
from ._base import EEGMusicData


def segment_length(segment_seconds, sfreq, n_times, what):
    """Samples per segment: ``round(segment_seconds * sfreq)``, or ``n_times`` for ``None``.

    Parameters
    ----------
    segment_seconds : float | None
    sfreq : float
        EEG rate (Hz).
    n_times : int
        Length of the shortest recording to be cut (samples).
    what : str
        Names that recording in the error message.

    Returns
    -------
    seg_len : int
    """
    if segment_seconds is None:
        return int(n_times)
    seconds = check_sfreq(segment_seconds, "segment_seconds")
    seg_len = int(round(seconds * sfreq))
    if seg_len < 1:
        raise ValueError(f"segment_seconds={seconds:g} is shorter than one EEG sample.")
    if seg_len > n_times:
        raise ValueError(
            f"segment_seconds={seconds:g} is longer than {what} ({n_times / sfreq:.2f} s); "
            f"use at most {n_times / sfreq:.2f} or None for whole recordings."
        )
    return seg_len


def cut_segments(x, seg_len, n_seg=None, *, time_axis=-1):
    """Cut ``x`` into consecutive segments along its time axis (the remainder is dropped).

    Parameters
    ----------
    x : ndarray, shape (..., n_times)
        A trial (EEG or audio), time along ``time_axis``.
    seg_len : int
        Samples per segment.
    n_seg : int | None, default=None
        Segments to cut from the start; ``None`` takes ``n_times // seg_len``.
    time_axis : int, default=-1
        The axis of ``x`` that holds time.

    Returns
    -------
    segments : ndarray, shape (n_seg, ..., seg_len)
        Segment ``k`` is samples ``k * seg_len`` to ``(k + 1) * seg_len`` of ``x``,
        with the other axes in their order; a view of ``x`` (no copy) whenever
        numpy can reshape without one.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.datasets._common import cut_segments
    >>> eeg = np.arange(2 * 7).reshape(2, 7)  # (n_channels, n_times)
    >>> cut_segments(eeg, 3).shape  # the 7th sample is dropped
    (2, 2, 3)
    >>> cut_segments(eeg, 3)[1]
    array([[ 3,  4,  5],
           [10, 11, 12]])
    """
    x = np.moveaxis(np.asarray(x), time_axis, -1)
    n_seg = x.shape[-1] // seg_len if n_seg is None else int(n_seg)
    if seg_len < 1 or n_seg * seg_len > x.shape[-1]:
        raise ValueError(
            f"cannot cut {n_seg} segments of {seg_len} samples from {x.shape[-1]} samples."
        )
    cut = x[..., : n_seg * seg_len].reshape(*x.shape[:-1], n_seg, seg_len)
    return np.moveaxis(cut, -2, 0)


class TrialSegments:
    """Segmented trials written straight into ``X``, ``y`` and their labels.

    The loaders know how many rows they return before reading any EEG; the
    arrays are allocated once (``np.empty`` pages are committed only when
    written, so memory grows with the reads) and each trial is cut into them.

    Parameters
    ----------
    n_rows : int
        Segments in all (``n_trials``).
    n_channels : int
    seg_len : int
        EEG samples per segment.
    n_audio : int | None, default=None
        Audio samples per segment (``seg_len * audio_sfreq / sfreq``); ``None``
        when there is no audio (``y`` is then ``None``).

    Attributes
    ----------
    X : ndarray, shape (n_rows, n_channels, seg_len), float32
    y : ndarray, shape (n_rows, n_audio), float32 | None
    n_filled : int
        Rows written so far.
    """

    def __init__(self, n_rows, n_channels, seg_len, n_audio=None):
        self.X = np.empty((n_rows, n_channels, seg_len), np.float32)
        self.y = None if n_audio is None else np.empty((n_rows, n_audio), np.float32)
        self._labels = []

    @property
    def n_filled(self):
        return len(self._labels)

    def add(self, eeg, audio, *, n_seg, subject, stimulus, condition, scale=1.0, time_axis=-1):
        """Cut one trial into the next ``n_seg`` rows.

        Parameters
        ----------
        eeg : ndarray, shape (n_channels, n_times) (time on ``time_axis``)
            At least ``n_seg * seg_len`` samples.
        audio : ndarray, shape (n_samples,) | None
            The trial's audio at ``audio_sfreq``, at least ``n_seg * n_audio``
            samples from the trial's start; ignored when there is no ``y``.
        n_seg : int
            Segments to cut from the start of the trial.
        subject, stimulus, condition : str
            Labels of every segment (``segment`` counts them from 0).
        scale : float, default=1.0
            Factor from the stored values to volts.
        time_axis : int, default=-1
            The axis of ``eeg`` that holds time.
        """
        rows = slice(self.n_filled, self.n_filled + n_seg)
        segments = cut_segments(eeg, self.X.shape[2], n_seg, time_axis=time_axis)
        np.multiply(segments, scale, out=self.X[rows], casting="unsafe")
        if self.y is not None:
            self.y[rows] = cut_segments(audio, self.y.shape[1], n_seg)
        self._labels.extend((subject, stimulus, condition, k) for k in range(n_seg))

    def to_data(self, sfreq, audio_sfreq, info, description):
        """The filled rows as :class:`EEGMusicData` (all rows must be filled)."""
        if self.n_filled != len(self.X):
            raise RuntimeError(f"{self.n_filled} of {len(self.X)} rows filled.")  # a loader bug
        subject, stimulus, condition, segment = (np.array(c) for c in zip(*self._labels))
        return EEGMusicData(
            X=self.X,
            y=self.y,
            subject=subject,
            stimulus=stimulus,
            condition=condition,
            segment=segment.astype(int),
            sfreq=sfreq,
            audio_sfreq=int(audio_sfreq),
            info=info,
            description=description,
        )


def as_strings(value):
    """Strings from what ``loadmat(simplify_cells=True)`` gives for a cellstr/char/number array.

    Returns
    -------
    strings : list of str
        Stripped; numbers are written without a trailing ``.0``.
    """
    if isinstance(value, str):
        return [value.strip()]
    arr = np.asarray(value, dtype=object).ravel()
    out = []
    for item in arr:
        if isinstance(item, str):
            out.append(item.strip())
        elif isinstance(item, np.ndarray) and item.dtype.kind in "US":
            out.append("".join(str(c) for c in item.ravel()).strip())
        elif isinstance(item, (int, float, np.number)) and float(item).is_integer():
            out.append(str(int(item)))
        else:
            out.append(str(item).strip())
    return out


def as_scalar(value, name, where):
    """A single number from a (1, 1) MATLAB variable."""
    arr = np.asarray(value)
    if arr.size != 1 or arr.dtype.kind not in "iuf":
        raise ValueError(
            f"{name} in {where} must be a single number; got {arr.dtype} of shape {arr.shape}."
        )
    return float(arr.ravel()[0])


def id_number(value):
    """The integer inside an id (``3``, ``"3"``, ``"S03"``, ``"sub-03"``), or None."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    match = re.search(r"\d+", str(value))
    return int(match.group()) if match else None


def find_file(root, name):
    """``root/name`` if it exists, else the only file called ``name`` below ``root``."""
    root = Path(root)
    direct = root / name
    if direct.is_file():
        return direct
    matches = sorted(root.rglob(name))
    found = [p for p in matches if p.is_file()]
    if not found and matches:  # a folder (or other non-file) carries the name
        raise IsADirectoryError(
            f"{matches[0]} is a folder, not the file {name}; replace it with the file "
            "itself (an archive unpacked under the file's name, for example)."
        )
    if len(found) > 1:
        raise ValueError(
            f"several files named {name} under {root}: {[str(p) for p in found]}; "
            "point data_dir at the folder that holds the right one."
        )
    return found[0] if found else None


def check_dir(data_dir, dataset, expected, url):
    """Raise FileNotFoundError (with the download page) unless ``data_dir`` is a folder."""
    data_dir = Path(data_dir)
    if data_dir.exists() and not data_dir.is_dir():
        raise NotADirectoryError(
            f"{dataset} folder {data_dir} is a file, not a folder; pass the folder that "
            f"holds {expected} (e.g. {data_dir.parent})."
        )
    if not data_dir.is_dir():
        raise FileNotFoundError(
            f"{dataset} folder {data_dir} does not exist. It should hold {expected}; "
            f"download them from {url} (see docs/datasets.md)."
        )
    return data_dir


def _bad_summary(finite, names, unit):
    """'Fz (3 values), Cz (1 value)' for the channels that hold non-finite values."""
    bad_per = (~finite).sum(axis=1)
    hits = np.flatnonzero(bad_per)
    listed = ", ".join(
        f"{names[i]} ({bad_per[i]} {unit}{'s' if bad_per[i] > 1 else ''})" for i in hits[:5]
    )
    if len(hits) > 5:
        listed += f" and {len(hits) - 5} more"
    return listed


def _first_bad_time(finite, sfreq, t0):
    first = int(np.flatnonzero(~finite.all(axis=0))[0])
    return f"sample {first}" if sfreq is None else f"{t0 + first / sfreq:.3f} s"


def _all_finite(arr):
    # A float64 sum is finite exactly when every value is, barring overflow of huge
    # finite values, which the full check then clears.
    return arr.dtype.kind not in "fc" or np.isfinite(arr.sum(dtype=np.float64))


def check_finite_eeg(eeg, where, ch_names=None, *, sfreq=None, t0=0.0, channel_axis=0, advice=None):
    """Raise a ValueError naming the trial, its file and the channels that hold NaN or inf.

    Parameters
    ----------
    eeg : ndarray, shape (n_channels, n_times) or (n_times, n_channels)
        One trial (or recording) as read from a file.
    where : str
        Names the trial and the file, e.g. ``"eeg.data{3} in /data/dataSub1.mat"``.
    ch_names : sequence of str | None, default=None
        Channel names along ``channel_axis``; ``None`` numbers them from 1.
    sfreq : float | None, default=None
        Sampling rate (Hz), to give the time of the first bad sample.
    t0 : float, default=0.0
        Time (s) of sample 0 of ``eeg`` in the recording.
    channel_axis : {0, 1}, default=0
        The axis of ``eeg`` that holds the channels.
    advice : str | None, default=None
        How to fix it; ``None`` is generic advice.

    Returns
    -------
    None
    """
    arr = np.asarray(eeg)
    if _all_finite(arr):
        return
    finite = np.isfinite(arr if channel_axis == 0 else arr.T)
    if finite.all():
        return
    names = [str(i + 1) for i in range(len(finite))] if ch_names is None else list(ch_names)
    advice = advice or (
        "Repair the recording and save it again (interpolate the bad channels, e.g. with "
        "MNE's interpolate_bads, or remove the trial), or leave this subject out."
    )
    raise ValueError(
        f"{where} holds NaN or infinite EEG values in channel(s) "
        f"{_bad_summary(finite, names, 'value')} of {len(finite)}, first at "
        f"{_first_bad_time(finite, sfreq, t0)}. {advice}"
    )


def check_finite_audio(audio, where, sfreq=None, advice=None):
    """Raise a ValueError naming the sound and the channels that hold NaN or inf.

    Parameters
    ----------
    audio : ndarray, shape (n_samples,) or (n_samples, n_channels)
        Samples as read from a sound file (or given as a waveform).
    where : str
        Names it, e.g. ``"the audio file /music/song21.wav"``.
    sfreq : float | None, default=None
        Its rate (Hz), to give the time of the first bad sample.
    advice : str | None, default=None
        How to fix it; ``None`` is advice for a sound file.

    Returns
    -------
    None
    """
    arr = np.asarray(audio)
    if _all_finite(arr):
        return
    finite = np.isfinite(arr.reshape(len(arr), -1).T)  # (n_channels, n_samples)
    if finite.all():
        return
    names = [str(i + 1) for i in range(len(finite))]
    advice = advice or (
        "A sound file must hold finite samples: export it again from the original "
        "recording (16-bit PCM WAV or FLAC cannot hold NaN)."
    )
    raise ValueError(
        f"{where} holds NaN or infinite samples in audio channel(s) "
        f"{_bad_summary(finite, names, 'sample')} of {len(finite)}, first at "
        f"{_first_bad_time(finite, sfreq, 0.0)}. {advice}"
    )
