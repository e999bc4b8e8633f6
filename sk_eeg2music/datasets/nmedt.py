"""NMED-T (Naturalistic Music EEG Dataset - Tempo; Losorelli et al., ISMIR 2017).

Twenty listeners heard ten full songs once each; the release holds one cleaned
file per song, ``songNN_Imputed.mat`` (NN = 21 ... 30), with ``dataNN``
(125 electrodes x time x 20 participants, 125 Hz), ``fs`` and ``subsNN``
(participant ids). The stimulus audio is not distributed: users supply their own
copies of the songs (see ``docs/datasets.md``).
"""

import numbers
from pathlib import Path

import mne
import numpy as np

from ..utils._validation import check_rate_ratio
from ._audio_io import (
    AUDIO_EXTENSIONS,
    audio_window,
    find_audio,
    read_audio,
    resample_audio,
    to_mono,
)
from ._common import (
    TrialSegments,
    as_scalar,
    as_strings,
    check_dir,
    check_finite_eeg,
    find_file,
    id_number,
    segment_length,
)
from ._forward import make_info
from ._matfile import iter_last_axis, mat_version, read_small, variable_shapes

NMEDT_URL = "https://purl.stanford.edu/jn859kj8079"
NMEDT_SONGS = tuple(range(21, 31))
N_CHANNELS = 125  # E1-E124 + Cz (E129); the face channels E125-E128 are not in the release


def _song_number(song):
    """21, "21", "song21" -> 21 (validated)."""
    num = id_number(song)
    if isinstance(song, bool) or num not in NMEDT_SONGS:
        raise ValueError(
            f"unknown NMED-T song {song!r}; songs are numbered 21-30 (e.g. 21, '21' or 'song21')."
        )
    return num


def _parse_songs(songs):
    if songs is None:
        return list(NMEDT_SONGS)
    if isinstance(songs, (str, numbers.Integral)):
        songs = [songs]
    nums = [_song_number(s) for s in songs]
    if not nums:
        raise ValueError("songs must name at least one song (21-30), or be None for all ten.")
    if len(set(nums)) != len(nums):
        raise ValueError(f"songs lists a song twice: {list(songs)!r}.")
    return nums


def _file_name(num):
    return f"song{num}_Imputed.mat"


def _find_song_files(data_dir, nums):
    expected = ", ".join(_file_name(n) for n in NMEDT_SONGS)
    data_dir = check_dir(data_dir, "NMED-T", expected, NMEDT_URL)
    paths = {n: find_file(data_dir, _file_name(n)) for n in nums}
    missing = [_file_name(n) for n, p in paths.items() if p is None]
    if missing:
        raise FileNotFoundError(
            f"NMED-T files missing in {data_dir}: {', '.join(missing)}. Download the cleaned "
            f"EEG files ({expected}; about 0.7 GB each) from the Stanford Digital Repository "
            f"{NMEDT_URL} into that folder (see docs/datasets.md), or load only the songs you "
            "have: songs=[...] in Python, --songs on the command line."
        )
    return paths


def _select_subjects(subs, subjects, where):
    """Indices (increasing) of the requested participants among ``subs``."""
    if subjects is None:
        return list(range(len(subs)))
    if isinstance(subjects, (str, numbers.Integral)):
        subjects = [subjects]
    chosen = set()
    for req in subjects:
        exact = [i for i, s in enumerate(subs) if isinstance(req, str) and s == req]
        num = id_number(req)
        numeric = [i for i, s in enumerate(subs) if num is not None and id_number(s) == num]
        hits = exact or numeric
        if len(hits) != 1:
            raise ValueError(
                f"subject {req!r} matches {len(hits)} participants of {where}; the "
                f"participants are {subs}. Pass ids as stored, or their numbers."
            )
        chosen.add(hits[0])
    if not chosen:
        raise ValueError("subjects must name at least one participant, or be None for all.")
    return sorted(chosen)


def _per_song(value, nums, name):
    """A number or a {song: number} mapping -> {song number: float}."""
    if isinstance(value, dict):
        out = {_song_number(k): v for k, v in value.items()}
        missing = [n for n in nums if n not in out]
        if missing:
            raise ValueError(f"{name} has no value for song(s) {missing}.")
    else:
        out = dict.fromkeys(nums, value)
    for n, v in out.items():
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v):
            raise ValueError(f"{name} for song{n} must be a finite number of seconds; got {v!r}.")
    return {n: float(out[n]) for n in nums}


def _audio_paths(nums, audio_dir, audio_files):
    """Audio file per song, or None when no audio was given."""
    if audio_dir is None and audio_files is None:
        return None
    paths = {}
    if audio_files is not None:
        if not isinstance(audio_files, dict):
            raise ValueError(
                "audio_files must be a dict like {'song21': 'path/to/file.wav'}; "
                f"got {type(audio_files).__name__}."
            )
        paths = {_song_number(k): Path(v) for k, v in audio_files.items()}
    if audio_dir is not None:
        audio_dir = Path(audio_dir)
        if not audio_dir.is_dir():
            raise FileNotFoundError(f"audio_dir {audio_dir} does not exist.")
        for n in nums:
            if n not in paths:
                found = find_audio(audio_dir, f"song{n}")
                if found is not None:
                    paths[n] = found
    missing = [n for n in nums if n not in paths]
    if missing:
        where = f" in {audio_dir}" if audio_dir is not None else ""
        names = ", ".join(f"song{n}.wav" for n in missing)
        raise FileNotFoundError(
            f"no audio for {names}{where}. NMED-T does not distribute its stimuli: put your "
            f"copy of each song there named songNN{'/'.join(AUDIO_EXTENSIONS)} (e.g. song21.wav; "
            "the song list is in docs/datasets.md), or map songs to files with "
            "audio_files={'song21': path, ...}."
        )
    return {n: paths[n] for n in nums}


def _song_header(path, num):
    """Shape of ``dataNN``, the rate and the participant ids of one song file."""
    var, subs_var = f"data{num}", f"subs{num}"
    shapes = variable_shapes(path)
    if var not in shapes:
        raise ValueError(
            f"{path} has no variable {var} (found {sorted(shapes)}); expected the NMED-T "
            f"cleaned EEG {var} of shape ({N_CHANNELS}, n_times, n_participants)."
        )
    shape, cls = shapes[var]
    if len(shape) != 3 or shape[0] != N_CHANNELS or shape[1] < 1 or shape[2] < 1:
        raise ValueError(
            f"{var} in {path} has shape {shape}; expected ({N_CHANNELS}, n_times, "
            "n_participants) (electrodes x time x participants)."
        )
    small = read_small(path, ["fs", subs_var])
    for name in ("fs", subs_var):
        if name not in small:
            raise ValueError(
                f"{path} has no variable {name}; NMED-T song files hold {var}, fs and {subs_var}."
            )
    fs = as_scalar(small["fs"], "fs", path)
    subs = as_strings(small[subs_var])
    if len(subs) != shape[2]:
        raise ValueError(
            f"{subs_var} in {path} names {len(subs)} participants but {var} has {shape[2]} "
            f"(shape {shape}); expected one id per participant."
        )
    if len(set(subs)) != len(subs):
        raise ValueError(f"{subs_var} in {path} repeats participant ids: {subs}.")
    return dict(
        song=num, path=path, var=var, shape=shape, fs=fs, subs=subs, format=mat_version(path)
    )


def nmedt_info(sfreq):
    """:class:`mne.Info` of the 125 NMED-T channels (GSN-HydroCel-129, E129 named Cz)."""
    info = make_info("nmedt")
    if sfreq == info["sfreq"]:
        return info
    new = mne.create_info(info["ch_names"], sfreq, "eeg")
    new.set_montage(info.get_montage(), verbose="error")
    return new


def load_nmedt(
    data_dir,
    audio_dir=None,
    songs=None,
    subjects=None,
    segment_seconds=10.0,
    audio_sfreq=16000,
    audio_offset=0.0,
    *,
    audio_files=None,
    eeg_scale=1e-6,
):
    """Load NMED-T cleaned EEG (``songNN_Imputed.mat``) with the songs' audio.

    Files are read one song and one participant at a time, straight into the
    returned arrays: peak memory stays close to the size of what is returned,
    and songs or subjects that are not asked for are not kept (uncompressed v5
    and v7.3 files are not even read there). The EEG is returned as stored (no
    filtering, no re-referencing), only scaled by ``eeg_scale``.

    Parameters
    ----------
    data_dir : str | Path
        Folder holding ``song21_Imputed.mat`` ... ``song30_Imputed.mat`` (searched
        recursively when not directly inside). MATLAB v5/v7 and v7.3 (HDF5) files
        are both read; the format is detected from each file's header.
    audio_dir : str | Path | None, default=None
        Folder with the user's copy of each song, named ``song21.wav`` ...
        ``song30.wav`` (``.flac`` and ``.ogg`` too; ``song21_<anything>.wav`` is
        accepted when unique). ``None`` (and no ``audio_files``) returns ``y=None``.
    songs : sequence of int or str | None, default=None
        Songs to load (``21``, ``"21"`` or ``"song21"``); ``None`` loads all ten.
    subjects : sequence of str or int | None, default=None
        Participants to load, as stored in ``subsNN`` or by the number in the id
        (``3`` matches ``"S03"``); ``None`` loads all. Subject ids in the result
        are the stored ids.
    segment_seconds : float | None, default=10.0
        Cut each song into segments of this length (the remainder is dropped);
        ``None`` keeps one trial per (subject, song), all cut to the length of
        the shortest selected song so that trials have equal length.
    audio_sfreq : int, default=16000
        Rate of ``y``; must be an integer multiple of the EEG rate (125 Hz).
    audio_offset : float | dict, default=0.0
        Time (s) in the audio file of EEG sample 0, or ``{song: seconds}``.
        Negative values mean the EEG starts before the music (silence is padded).
        Whether the first cleaned sample is exactly the audio onset is not stated
        by the release; 0.0 assumes it is.
    audio_files : dict | None, default=None
        Explicit ``{song: path}`` audio files; they take precedence over ``audio_dir``.
    eeg_scale : float, default=1e-6
        Factor from stored values to volts. The release stores microvolts (EGI
        NetStation export), so the default returns volts, the package's unit;
        ``1.0`` returns the values exactly as stored.

    Returns
    -------
    data : EEGMusicData
        ``X`` float32 (n_trials, 125, n_times), trials ordered by song, then
        participant, then segment; ``y`` float32 (n_trials, n_times *
        audio_sfreq / 125) mono music at ``audio_sfreq`` or ``None``;
        ``condition`` is ``"listening"``; ``stimulus`` is ``"song21"`` ...;
        ``info`` has channels E1-E124 + Cz with the GSN-HydroCel-129 montage.

    Examples
    --------
    >>> data = load_nmedt("~/data/nmedt", audio_dir="~/music/nmedt",
    ...                   songs=[21, 22], segment_seconds=10.0)  # doctest: +SKIP
    """
    nums = _parse_songs(songs)
    # Plan: the files' headers give every shape before any EEG is read.
    paths = _find_song_files(Path(data_dir).expanduser(), nums)
    headers = {n: _song_header(paths[n], n) for n in nums}
    rates = {h["fs"] for h in headers.values()}
    if len(rates) != 1:
        raise ValueError(f"the song files have different sampling rates fs: {sorted(rates)}.")
    sfreq = rates.pop()
    factor = check_rate_ratio(audio_sfreq, sfreq)
    offsets = _per_song(audio_offset, nums, "audio_offset")
    if isinstance(eeg_scale, bool) or not isinstance(eeg_scale, numbers.Real) or eeg_scale <= 0:
        raise ValueError(f"eeg_scale must be a positive number; got {eeg_scale!r}.")
    selected = {
        n: _select_subjects(h["subs"], subjects, h["path"].name) for n, h in headers.items()
    }
    shortest = min(headers[n]["shape"][1] for n in nums)
    seg_len = segment_length(segment_seconds, sfreq, shortest, "the shortest selected song")
    n_seg = {n: 1 if segment_seconds is None else headers[n]["shape"][1] // seg_len for n in nums}
    # The audio is read (and checked against the EEG length) before the big EEG reads.
    audio_paths = _audio_paths(nums, audio_dir, audio_files)
    n_audio = {n: n_seg[n] * seg_len * factor for n in nums}
    song_audio = _song_audio(audio_paths, offsets, audio_sfreq, n_audio)
    # Fill, one participant at a time.
    n_trials = sum(len(selected[n]) * n_seg[n] for n in nums)
    n_audio = None if song_audio is None else seg_len * factor
    out = TrialSegments(n_trials, N_CHANNELS, seg_len, n_audio)
    info = nmedt_info(sfreq)
    for n in nums:
        _fill_song(out, headers[n], selected[n], n_seg[n], song_audio, info, eeg_scale)
    description = dict(
        dataset="nmedt",
        files={f"song{n}": str(paths[n]) for n in nums},
        mat_format={f"song{n}": headers[n]["format"] for n in nums},
        n_times_per_song={f"song{n}": headers[n]["shape"][1] for n in nums},
        audio_files=None
        if audio_paths is None
        else {f"song{n}": str(p) for n, p in audio_paths.items()},
        audio_offset={f"song{n}": offsets[n] for n in nums},
        segment_seconds=segment_seconds,
        eeg_scale=float(eeg_scale),
        unit="V" if eeg_scale == 1e-6 else f"stored unit x {eeg_scale:g}",
    )
    return out.to_data(sfreq, audio_sfreq, info, description)


def _song_audio(audio_paths, offsets, audio_sfreq, n_audio):
    """{song: its first ``n_audio[song]`` mono samples at ``audio_sfreq``}, or None."""
    if audio_paths is None:
        return None
    song_audio = {}
    for n, path in audio_paths.items():
        wave, file_sfreq = read_audio(path)
        wave = resample_audio(to_mono(wave), file_sfreq, audio_sfreq)
        label = f"song{n} ({path})"
        song_audio[n] = audio_window(wave, audio_sfreq, offsets[n], n_audio[n], label)
    return song_audio


def _fill_song(out, header, participants, n_seg, song_audio, info, eeg_scale):
    """Check and cut the EEG of one song's ``participants`` into ``out`` (a TrialSegments)."""
    h, n, seg_len = header, header["song"], out.X.shape[2]
    for p, block in iter_last_axis(h["path"], h["var"], participants):
        check_finite_eeg(  # the part that is returned
            block[:, : n_seg * seg_len],
            f"{h['var']}(:, :, {p + 1}) (participant {h['subs'][p]}) in {h['path']}",
            info["ch_names"],
            sfreq=info["sfreq"],
            advice="Interpolate those channels in a copy of the file, or leave this "
            "participant out (subjects=...).",
        )
        wave = None if song_audio is None else song_audio[n]
        out.add(
            block,
            wave,
            n_seg=n_seg,
            subject=h["subs"][p],
            stimulus=f"song{n}",
            condition="listening",
            scale=eeg_scale,
        )
        del block
