"""Writers of small files in the exact on-disk layouts of the published datasets.

Shared by the loader tests and ``benchmarks/loading.py``. Layouts follow
``shared/reference/datasets.md`` sections 1 and 2: NMED-T ``songNN_Imputed.mat``
(v5 with ``scipy.io.savemat``, optionally compressed, or v7.3 written with h5py
the way MATLAB lays it out), the MOS CND files (``stim`` / ``eeg`` structs with
cells) and the Dryad ``ImageryData.mat`` (nested cells). Channel counts, axis
orders and variable types are the real ones; only the numbers of samples,
trials and subjects are small.

The EEG carries markers so that tests can check which stored value lands where:
NMED-T channel 0 holds the participant number, channel 1 the song number and
channel 2 the sample index; MOS channels labelled Fp1, AF7, AF3, F1 and F3 hold
the melody number (1-4 in ``CHORALES`` order), the condition (1 listening,
2 imagery), the subject number, the stored trial number and the sample index.
"""

import struct
from pathlib import Path

import numpy as np
import scipy.io as sio

NMEDT_CHANNELS = 125
CHORALES = ("chor-096", "chor-038", "chor-101", "chor-019")  # CND stimIdx 1..4
NOTE_COUNTS = {"chor-096": 27, "chor-038": 28, "chor-019": 29, "chor-101": 38}
BIOSEMI64 = (
    "Fp1 AF7 AF3 F1 F3 F5 F7 FT7 FC5 FC3 FC1 C1 C3 C5 T7 TP7 CP5 CP3 CP1 P1 P3 P5 P7 P9 PO7 "
    "PO3 O1 Iz Oz POz Pz CPz Fpz Fp2 AF8 AF4 AFz Fz F2 F4 F6 F8 FT8 FC6 FC4 FC2 FCz Cz C2 C4 "
    "C6 T8 TP8 CP6 CP4 CP2 P2 P4 P6 P8 P10 PO8 PO4 O2"
).split()
# How the CND chanlocs spell some of them.
STORED_LABELS = {"T7": "T7 (T3)", "T8": "T8 (T4)", "Iz": "Iz (inion)", "AFz": "Afz"}
MOS_MARKERS = ("Fp1", "AF7", "AF3", "F1", "F3")


# ----------------------------------------------------------------------------- MATLAB v7.3


def _v73_header():
    text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 "
    text += b"HDF5 schema 1.00 ."
    return text.ljust(116, b" ") + b" " * 8 + struct.pack("<H", 0x0200) + b"IM"


def write_mat73(path, variables):
    """Write numeric arrays and cellstrs as MATLAB v7.3 does (HDF5, axes reversed).

    Parameters
    ----------
    path : str | Path
    variables : dict
        ``name -> ndarray`` (numeric, MATLAB axis order) or ``name -> list of str``
        (a 1 x n cell of char row vectors).
    """
    import h5py

    path = Path(path)
    with h5py.File(path, "w", userblock_size=512) as f:
        refs = f.create_group("#refs#")
        for name, value in variables.items():
            if isinstance(value, list):
                ref_list = []
                for i, s in enumerate(value):
                    codes = np.array([[ord(c)] for c in s], dtype=np.uint16)  # 1 x k -> (k, 1)
                    ds = refs.create_dataset(f"{name}_{i}", data=codes)
                    ds.attrs["MATLAB_class"] = np.bytes_("char")
                    ds.attrs["MATLAB_int_decode"] = np.int32(2)
                    ref_list.append(ds.ref)
                cell = f.create_dataset(
                    name, data=np.array(ref_list, dtype=h5py.ref_dtype).reshape(len(value), 1)
                )
                cell.attrs["MATLAB_class"] = np.bytes_("cell")
            else:
                arr = np.asarray(value)
                ds = f.create_dataset(name, data=arr.T)
                ds.attrs["MATLAB_class"] = np.bytes_(
                    "double" if arr.dtype == np.float64 else "single"
                )
    with open(path, "r+b") as f:
        f.write(_v73_header())
    return path


# ----------------------------------------------------------------------------- NMED-T


def nmedt_eeg(song, n_times, n_subjects, seed=0, dtype=np.float64):
    """EEG of one song, shape (125, n_times, n_subjects), with markers in channels 0-2."""
    rng = np.random.default_rng([seed, song])
    data = (10.0 * rng.standard_normal((NMEDT_CHANNELS, n_times, n_subjects))).astype(dtype)
    data[0] = np.arange(1, n_subjects + 1)[None, :]
    data[1] = song
    data[2] = np.arange(n_times)[:, None]
    return data


def nmedt_subject_ids(n_subjects):
    """Ids like the third-party config's "S02" ... (no S01)."""
    return [f"S{i + 2:02d}" for i in range(n_subjects)]


def write_nmedt_song(folder, song, data, subs=None, fmt="v5", fs=125.0):
    """Write ``song{song}_Imputed.mat`` with ``data{song}``, ``fs`` and ``subs{song}``.

    Parameters
    ----------
    folder : Path
    song : int
    data : ndarray, shape (125, n_times, n_subjects)
    subs : list of str | None
    fmt : {"v5", "v5z", "v73"}
        Uncompressed v5, compressed v5 (MATLAB's ``-v7`` default) or v7.3/HDF5.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"song{song}_Imputed.mat"
    subs = nmedt_subject_ids(data.shape[2]) if subs is None else list(subs)
    if fmt == "v73":
        return write_mat73(path, {f"data{song}": data, "fs": np.array([[fs]]), f"subs{song}": subs})
    cell = np.empty((1, len(subs)), dtype=object)
    cell[0, :] = subs
    sio.savemat(
        path,
        {f"data{song}": data, f"subs{song}": cell, "fs": np.array([[fs]])},
        do_compression=fmt == "v5z",
    )
    return path


def write_wav(path, audio, sfreq, subtype=None):
    """Write a (n_samples,) or (n_samples, n_channels) float waveform with soundfile."""
    import soundfile as sf

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.asarray(audio, dtype=np.float32), int(sfreq), subtype=subtype)
    return Path(path)


def click_track(duration, sfreq, click_times, n_channels=2, seed=0):
    """Quiet noise with loud 2 ms clicks at ``click_times`` (s); shape (n, n_channels)."""
    rng = np.random.default_rng(seed)
    n = int(round(duration * sfreq))
    audio = 0.01 * rng.standard_normal((n, n_channels))
    width = max(1, int(0.002 * sfreq))
    for t in click_times:
        i = int(round(t * sfreq))
        audio[i : i + width] = 0.9
    return audio


# ----------------------------------------------------------------------------- MOS


def make_mos_stimuli(
    n_times=320, sfreq=64, audio_sfreq=44100, first_click=0.7, click_period=0.35, seed=0
):
    """Synthetic chorale WAVs and their stored stimulus features.

    Each melody has ``NOTE_COUNTS[chorale]`` decaying tones at random EEG samples;
    the left channel is a metronome whose 7th click is EEG sample 0.

    Returns
    -------
    stimuli : dict
        ``chorale -> dict(wav (n, 2), envelope (n_times,), expectation (n_times,),
        onsets (note samples), start_seconds)`` and ``"sfreq"``, ``"audio_sfreq"``.
    """
    rng = np.random.default_rng(seed)
    start = first_click + 6 * click_period
    total = start + n_times / sfreq + 1.0
    n_audio = int(round(total * audio_sfreq))
    clicks = np.arange(first_click, total - 0.05, click_period)
    t_note = np.arange(int(0.12 * audio_sfreq)) / audio_sfreq
    out = {"sfreq": sfreq, "audio_sfreq": audio_sfreq}
    for chorale in CHORALES:
        onsets = np.sort(rng.choice(np.arange(4, n_times - 12), NOTE_COUNTS[chorale], False))
        melody = np.zeros(n_audio)
        for o in onsets:
            i = int(round((start + o / sfreq) * audio_sfreq))
            f0 = rng.uniform(220, 660)
            melody[i : i + len(t_note)] += (
                0.5 * np.exp(-t_note / 0.03) * np.sin(2 * np.pi * f0 * t_note)
            )
        metronome = np.zeros(n_audio)
        for c in clicks:
            i = int(round(c * audio_sfreq))
            metronome[i : i + 88] = 0.8 * np.hanning(88)[: n_audio - i]
        # Stored envelope: RMS of the melody in each 1/64 s frame after EEG sample 0.
        edges = np.round((start + np.arange(n_times + 1) / sfreq) * audio_sfreq).astype(int)
        env = np.array([np.sqrt(np.mean(melody[a:b] ** 2)) for a, b in zip(edges[:-1], edges[1:])])
        expectation = np.zeros(n_times)
        expectation[onsets] = rng.uniform(1.0, 10.0, len(onsets))
        out[chorale] = dict(
            wav=np.stack([metronome, melody], axis=1),
            envelope=env,
            expectation=expectation,
            onsets=onsets,
            start_seconds=clicks[6],
        )
    return out


def write_mos_audio(folder, stimuli, swap=None):
    """Write ``chor-XXX.wav`` (16-bit stereo); ``swap=(a, b)`` exchanges two files' contents."""
    folder = Path(folder)
    for chorale in CHORALES:
        src = chorale
        if swap is not None and chorale in swap:
            src = swap[1] if chorale == swap[0] else swap[0]
        write_wav(folder / f"{chorale}.wav", stimuli[src]["wav"], stimuli["audio_sfreq"], "PCM_16")


def _mos_trial(rng, n_times, chorale_number, cond, subject, trial, channels):
    data = 20.0 * rng.standard_normal((n_times, len(channels)))
    values = (chorale_number, cond, subject, trial, np.arange(n_times))
    for name, value in zip(MOS_MARKERS, values):
        data[:, channels.index(name)] = value
    return data


def _cell(items, shape=None):
    arr = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        arr[i] = item
    return arr.reshape((1, len(items)) if shape is None else shape)


def _record(fields):
    """A 1 x 1 MATLAB struct as a numpy structured array (the raw ``[0, 0]`` layout)."""
    rec = np.empty((1, 1), dtype=[(k, object) for k in fields])
    for k, v in fields.items():
        rec[k][0, 0] = v
    return rec


def write_mos_cnd(
    root,
    stimuli,
    subjects=(1, 2),
    n_reps=2,
    layout="dict",
    channel_order=None,
    stim_map=None,
    seed=0,
):
    """Write the CND packaging under ``root/datasetCND_musicImagery``.

    Parameters
    ----------
    root : Path
    stimuli : dict
        From :func:`make_mos_stimuli`.
    subjects : sequence of int
        ``dataSubN.mat`` numbers.
    n_reps : int
        Trials per melody per condition (11 in the real data).
    layout : {"dict", "record"}
        ``"dict"``: structs from Python dicts, cellstr names, double indices.
        ``"record"``: structs from (1, 1) structured arrays, char-matrix names,
        uint8 indices. Both are what MATLAB's structs look like to loadmat.
    channel_order : list of str | None
        Order of the stored channels (BioSemi names); ``None`` is the A1-B32 order.
    stim_map : dict | None
        stimIdx -> chorale used to write the stored envelopes/expectations
        (defaults to the published mapping; a different one simulates a
        contradiction between labels and audio).

    Returns
    -------
    dataset_dir : Path
    """
    rng = np.random.default_rng(seed)
    n_times = len(stimuli[CHORALES[0]]["envelope"])
    stim_map = dict(enumerate(CHORALES, start=1)) if stim_map is None else stim_map
    channels = list(BIOSEMI64) if channel_order is None else list(channel_order)
    base = Path(root) / "datasetCND_musicImagery"
    cnd = base / "dataCND"
    cnd.mkdir(parents=True, exist_ok=True)
    stim_idx = np.tile(np.repeat(np.arange(1, 5), n_reps), 2)
    cond_idx = np.repeat([1, 2], 4 * n_reps)
    n_trials = len(stim_idx)
    feats = np.empty((2, n_trials), dtype=object)
    for t, k in enumerate(stim_idx):
        feats[0, t] = stimuli[stim_map[k]]["envelope"][:, None]
        feats[1, t] = stimuli[stim_map[k]]["expectation"][:, None]
    fields = dict(
        stimIdxs=stim_idx[None].astype(float),
        condIdxs=cond_idx[None].astype(float),
        condNames=_cell(["Listening", "Imagery"]),
        data=feats,
        names=_cell(["Acoustic Envelope", "Expectation Vector"]),
        fs=np.array([[64.0]]),
    )
    if layout == "record":
        fields.update(
            stimIdxs=stim_idx[None].astype(np.uint8),
            condIdxs=cond_idx[None].astype(np.uint8),
            condNames=np.array(["Listening", "Imagery  "]),  # char matrix, padded rows
            names=np.array(["Acoustic Envelope ", "Expectation Vector"]),
        )
        sio.savemat(cnd / "dataStim.mat", {"stim": _record(fields)})
    else:
        sio.savemat(cnd / "dataStim.mat", {"stim": fields})

    loc_dtype = [
        (k, object) for k in ("labels", "type", "theta", "radius", "X", "Y", "Z", "urchan")
    ]
    chanlocs = np.empty((1, len(channels)), dtype=loc_dtype)
    for i, name in enumerate(channels):
        label = STORED_LABELS.get(name, name)
        chanlocs[0, i] = (label, "EEG", float(i), 0.5, 0.1 * i, 0.2, 0.3, float(i + 1))
    for subject in subjects:
        trials = [
            _mos_trial(rng, n_times, CHORALES.index(stim_map[k]) + 1, c, subject, t + 1, channels)
            for t, (k, c) in enumerate(zip(stim_idx, cond_idx))
        ]
        eeg = dict(
            dataType="EEG",
            fs=np.array([[64.0]]),
            data=_cell(trials),
            chanlocs=chanlocs,
            origTrialPosition=rng.permutation(n_trials)[None].astype(float) + 1,
            extChan=_cell([_cell([rng.standard_normal((n_times, 2))])]),
        )
        var = _record(eeg) if layout == "record" else eeg
        sio.savemat(cnd / f"dataSub{subject}.mat", {"eeg": var})
    write_mos_audio(base / "stimuli" / "audio", stimuli)
    return base


def write_mos_dryad(root, stimuli, n_participants=2, n_reps=2, swap_audio=None, seed=0):
    """Write the Dryad packaging: ``ImageryData.mat`` and ``original_stim/original_stim/audio``.

    Trials are stored in a different random order for each participant and
    condition; the melody of a trial is only recoverable from its note count.

    Returns
    -------
    order : dict
        ``(participant, condition) -> list of chorales`` in stored trial order.
    """
    rng = np.random.default_rng(seed)
    root = Path(root)
    n_times = len(stimuli[CHORALES[0]]["envelope"])
    eeg_p, stim_p, order = [], [], {}
    for p in range(1, n_participants + 1):
        eeg_c, stim_c = [], []
        for c in (1, 2):
            seq = [CHORALES[i] for i in rng.permutation(np.repeat(np.arange(4), n_reps))]
            order[(p, c)] = seq
            eeg_t = [
                _mos_trial(rng, n_times, CHORALES.index(ch) + 1, c, p, t + 1, list(BIOSEMI64))
                for t, ch in enumerate(seq)
            ]
            stim_t = [stimuli[ch]["expectation"][:, None] for ch in seq]
            eeg_c.append(_cell(eeg_t))
            stim_c.append(_cell(stim_t))
        eeg_p.append(_cell(eeg_c))
        stim_p.append(_cell(stim_c))
    root.mkdir(parents=True, exist_ok=True)
    sio.savemat(
        root / "ImageryData.mat",
        {"eeg": _cell(eeg_p), "stim": _cell(stim_p), "downFs": np.array([[64.0]])},
    )
    write_mos_audio(root / "original_stim" / "original_stim" / "audio", stimuli, swap=swap_audio)
    return order
