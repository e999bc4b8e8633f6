"""MOS, "The Music of Silence" (Marion, Di Liberto & Shamma, J Neurosci 2021).

Twenty-one musicians heard (listening) or imagined (imagery) four Bach chorale
melodies, 11 trials of each per condition, with a metronome; 64-channel BioSemi
EEG, filtered 0.1-30 Hz, average-referenced and down-sampled to 64 Hz by the
authors. Two packagings of the same data exist and both are read:

* **CND** (CNSP workshop zip): ``dataCND/dataStim.mat`` (struct ``stim``) and one
  ``dataCND/dataSubN.mat`` per subject (struct ``eeg``), plus
  ``stimuli/audio/chor-XXX.wav``;
* **Dryad** (doi:10.5061/dryad.dbrv15f0j): ``ImageryData.mat`` with nested cells
  ``eeg{participant}{condition}{trial}`` and ``stim`` alike, plus
  ``original_stim/original_stim/audio/chor-XXX.wav``.

Neither file names the melody of a trial. CND stores an index (1-4) whose
melodies were inferred by three independent third-party analyses; Dryad trials
are identified by their number of notes. Both are checked against the audio
(see :func:`load_mos`).
"""

import numbers
import re
from functools import lru_cache
from pathlib import Path

import mne
import numpy as np

from ..audio import frame_envelope
from ..utils._validation import check_rate_ratio
from ._audio_io import audio_window, read_audio, resample_audio
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
from ._matfile import read_small

MOS_CND_URL = "https://www.data.cnspworkshop.net/data/datasetCND_musicImagery.zip"
MOS_DRYAD_URL = "https://doi.org/10.5061/dryad.dbrv15f0j"
CHORALES = ("chor-096", "chor-038", "chor-101", "chor-019")
# CND stimIdx -> melody, as inferred by three third-party analyses (checked against the audio).
CND_STIMULI = {1: "chor-096", 2: "chor-038", 3: "chor-101", 4: "chor-019"}
# Dryad: number of non-zero samples of a trial's expectation vector (one per kept note).
DRYAD_NOTE_COUNTS = {27: "chor-096", 28: "chor-038", 29: "chor-019", 38: "chor-101"}
# EEG sample 0 of every trial is the 7th metronome click of the stimulus audio.
EEG_START_CLICK = 7
CONDITIONS = ("listening", "imagery")

# Metronome click picking: a click is a rise of the left channel above this
# fraction of its peak (-14 dB, so accented and plain clicks both count), and two
# clicks are at least this far apart (a beat at 100 BPM is 0.6 s).
_CLICK_THRESHOLD = 0.2
_CLICK_MIN_INTERVAL = 0.1
# Largest shift (s) tried when matching stored stimulus features with the audio:
# it absorbs envelope-method and click-picking differences, and is below a beat.
_MAX_MATCH_LAG = 0.25


def _expected_files():
    return (
        "either the CND packaging (dataCND/dataStim.mat, dataCND/dataSub1.mat ... "
        "dataSub21.mat, stimuli/audio/chor-019.wav, chor-038.wav, chor-096.wav, "
        f"chor-101.wav; {MOS_CND_URL}, 1.65 GB) or the Dryad packaging (ImageryData.mat and "
        f"original_stim/original_stim/audio/chor-*.wav from original_stim.zip; {MOS_DRYAD_URL}, "
        "1.5 GB)"
    )


def clean_label(label):
    """BioSemi channel name from a stored label: ``'T7 (T3)'`` -> ``'T7'``, ``'Afz'`` -> ``'AFz'``.

    Parameters
    ----------
    label : str

    Returns
    -------
    name : str
        The ``biosemi64`` montage spelling when the label matches one of its
        channels (case-insensitively), else the label without its parenthesis.
    """
    base = str(label).split("(")[0].strip()
    canonical = {n.lower(): n for n in _biosemi_names()}
    return canonical.get(base.lower(), base)


@lru_cache(maxsize=1)
def _biosemi_names():
    return tuple(mne.channels.make_standard_montage("biosemi64").ch_names)


def mos_info(ch_names, sfreq):
    """:class:`mne.Info` with the ``biosemi64`` montage for channels in file order."""
    info = mne.create_info(list(ch_names), float(sfreq), "eeg")
    montage = mne.channels.make_standard_montage("biosemi64")
    info.set_montage(montage, match_case=False, on_missing="warn", verbose="error")
    return info


def click_onsets(x, sfreq):
    """Sample indices where metronome clicks start.

    Parameters
    ----------
    x : ndarray, shape (n_samples,)
        The metronome channel.
    sfreq : int
        Its rate (Hz).

    Returns
    -------
    onsets : ndarray of int, shape (n_clicks,)
        First sample of each click whose magnitude reaches ``0.2 x`` the channel's
        peak, clicks being at least 0.1 s apart.
    """
    mag = np.abs(np.asarray(x, dtype=np.float32))
    peak = float(mag.max()) if mag.size else 0.0
    if peak == 0.0:
        return np.array([], dtype=int)
    loud = np.flatnonzero(mag >= _CLICK_THRESHOLD * peak)
    onsets, last = [], -np.inf
    gap = _CLICK_MIN_INTERVAL * sfreq
    for i in loud:
        if i - last >= gap:
            onsets.append(i)
        last = i
    return np.array(onsets, dtype=int)


def _parse_conditions(conditions):
    if isinstance(conditions, str):
        conditions = [conditions]
    conditions = [str(c).lower() for c in conditions]
    bad = [c for c in conditions if c not in CONDITIONS]
    if bad or not conditions:
        raise ValueError(f"conditions must be among {CONDITIONS}; got {conditions!r}.")
    return conditions


def _condition_name(name):
    name = str(name).strip().lower()
    if name.startswith("listen") or name.startswith("percept"):
        return "listening"
    if name.startswith("imag"):
        return "imagery"
    raise ValueError(f"unknown MOS condition name {name!r}; expected Listening or Imagery.")


def _wanted(numbers_available, subjects, what):
    """Subject numbers to read (increasing)."""
    if subjects is None:
        return sorted(numbers_available)
    if isinstance(subjects, (str, numbers.Integral)):
        subjects = [subjects]
    nums = []
    for s in subjects:
        n = id_number(s)
        if isinstance(s, bool) or n not in numbers_available:
            raise ValueError(
                f"subject {s!r} is not in {what}; available: "
                f"{[f'sub-{k:02d}' for k in sorted(numbers_available)]} (or their numbers)."
            )
        nums.append(n)
    if not nums:
        raise ValueError("subjects must name at least one subject, or be None for all.")
    return sorted(set(nums))


def _cells(value):
    """The items of a cell array as ``loadmat(simplify_cells=True)`` returns it."""
    if isinstance(value, list):
        return value
    if isinstance(value, np.ndarray) and value.dtype == object:
        return list(value.ravel())
    return [value]  # a 1x1 cell is squeezed to its content


def _find_layout(data_dir, layout):
    data_dir = check_dir(data_dir, "MOS", _expected_files(), f"{MOS_CND_URL} or {MOS_DRYAD_URL}")
    if layout not in (None, "cnd", "dryad"):
        raise ValueError(f"layout must be None, 'cnd' or 'dryad'; got {layout!r}.")
    cnd = dryad = None
    if layout in (None, "cnd"):
        stim = find_file(data_dir, "dataStim.mat")
        cnd = None if stim is None else stim.parent
    if layout in (None, "dryad"):
        dryad = find_file(data_dir, "ImageryData.mat")
    if cnd is not None and dryad is not None:
        raise ValueError(
            f"{data_dir} holds both MOS packagings ({cnd} and {dryad}); pass layout='cnd' or "
            "layout='dryad', or point data_dir at one of them."
        )
    if cnd is None and dryad is None:
        raise FileNotFoundError(f"no MOS files found in {data_dir}; expected {_expected_files()}.")
    return ("cnd", cnd) if cnd is not None else ("dryad", dryad)


def _find_audio_files(roots, layout):
    paths = {}
    for chorale in CHORALES:
        for root in roots:
            found = find_file(root, f"{chorale}.wav")
            if found is not None:
                paths[chorale] = found
                break
    missing = [f"{c}.wav" for c in CHORALES if c not in paths]
    if missing:
        hint = (
            "stimuli/audio/ of the CND zip"
            if layout == "cnd"
            else "original_stim.zip of the Dryad record (unzip it next to ImageryData.mat)"
        )
        raise FileNotFoundError(
            f"MOS audio missing under {roots[0]}: {', '.join(missing)}. The four chorales "
            f"(chor-019, chor-038, chor-096, chor-101 .wav) come with {hint}; see "
            "docs/datasets.md."
        )
    return paths


def _chorale_audio(paths, sfreq, n_times, audio_sfreq, audio_offset):
    """Melody of a whole trial at ``audio_sfreq`` and its features at the EEG rate, per chorale."""
    factor = int(round(audio_sfreq / sfreq))
    out = {}
    for chorale, path in paths.items():
        wav, file_sfreq = read_audio(path)
        if wav.shape[1] < 2:
            raise ValueError(
                f"{path} has {wav.shape[1]} channel(s); MOS stimuli are stereo with the "
                "metronome on the left and the melody on the right."
            )
        offset = audio_offset.get(chorale) if isinstance(audio_offset, dict) else audio_offset
        if offset is None:
            clicks = click_onsets(wav[:, 0], file_sfreq)
            if len(clicks) < EEG_START_CLICK:
                raise ValueError(
                    f"found {len(clicks)} metronome clicks in the left channel of {path}; the "
                    f"EEG starts at click {EEG_START_CLICK}. Pass audio_offset=<seconds> (4.80 s "
                    "in the published files) to set the start by hand."
                )
            start = int(clicks[EEG_START_CLICK - 1])
        else:
            if not isinstance(offset, numbers.Real) or not np.isfinite(offset) or offset < 0:
                raise ValueError(
                    f"audio_offset for {chorale} must be seconds >= 0; got {offset!r}."
                )
            start = int(round(offset * file_sfreq))
        melody = wav[start:, 1]
        label = f"{chorale} ({path})"
        wave = resample_audio(melody, file_sfreq, audio_sfreq)
        trial = audio_window(wave, audio_sfreq, 0.0, n_times * factor, label)
        # Features at the EEG rate over the whole trial, for the stimulus check.
        env = frame_envelope(trial, factor, power=1.0).astype(np.float64)
        out[chorale] = dict(
            wave=trial,
            envelope=env,
            onsets=np.maximum(np.diff(env, prepend=env[0]), 0.0),
            start_seconds=start / file_sfreq,
            path=str(path),
        )
    return out


def _lagged_r(a, b, max_lag):
    """Largest Pearson r between ``a`` and ``b`` shifted by at most ``max_lag`` samples."""
    best = -np.inf
    for lag in range(-max_lag, max_lag + 1):
        x = a[max(lag, 0) : len(a) + min(lag, 0)]
        z = b[max(-lag, 0) : len(b) + min(-lag, 0)]
        if x.std() > 0 and z.std() > 0:
            best = max(best, float(np.corrcoef(x, z)[0, 1]))
    return best


def match_stimuli(claimed, rows, audio_features, sfreq):
    """Check a label -> melody mapping against the audio.

    Parameters
    ----------
    claimed : dict
        Group key (CND stimIdx or Dryad note count) -> melody id.
    rows : dict
        Group key -> stored stimulus feature of that group, shape (n_times,)
        (envelope or note-onset train, averaged over the group's trials).
    audio_features : dict
        Melody id -> the matching feature computed from the audio, shape (n_times,).
    sfreq : float

    Returns
    -------
    scores : dict
        ``{key: {melody: r}}``: lagged correlation of each group with each melody.

    Raises
    ------
    ValueError
        If the assignment that maximises the summed correlation (each melody used
        at most once) differs from ``claimed``.
    """
    from scipy.optimize import linear_sum_assignment

    keys, melodies = list(rows), list(audio_features)
    max_lag = int(round(_MAX_MATCH_LAG * sfreq))
    score = np.array(
        [[_lagged_r(rows[k], audio_features[m], max_lag) for m in melodies] for k in keys]
    )
    score = np.where(np.isfinite(score), score, -1.0)
    r_idx, c_idx = linear_sum_assignment(-score)
    best = {keys[i]: melodies[j] for i, j in zip(r_idx, c_idx)}
    table = {
        k: {m: round(float(score[i, j]), 3) for j, m in enumerate(melodies)}
        for i, k in enumerate(keys)
    }
    wrong = {k: (claimed[k], best[k]) for k in keys if claimed[k] != best[k]}
    if wrong:
        detail = "; ".join(f"{k}: assumed {a}, audio says {b}" for k, (a, b) in wrong.items())
        raise ValueError(
            f"the melody labels contradict the audio ({detail}). Correlation of each stored "
            f"stimulus feature with each melody: {table}. Check that the audio files are the "
            "ones of this dataset; pass verify_stimuli=False to keep the published labels anyway."
        )
    return table


def _stim_matrix(stim, n_trials, where):
    data = stim.get("data")
    if data is None:
        return None
    arr = np.asarray(data, dtype=object)
    if arr.ndim == 1 and len(arr) == n_trials:
        arr = arr[np.newaxis]
    if arr.ndim != 2 or arr.shape[1] != n_trials:
        raise ValueError(
            f"stim.data in {where} has shape {arr.shape}; expected (n_features, {n_trials}) "
            "(a cell with one row per feature and one column per trial)."
        )
    return arr


def _read_cnd_stim(path):
    small = read_small(path, ["stim"])
    stim = small.get("stim")
    if not isinstance(stim, dict):
        raise ValueError(f"{path} has no struct variable 'stim' (CND stimulus file).")
    for field in ("stimIdxs", "condIdxs", "fs"):
        if field not in stim:
            raise ValueError(f"stim in {path} has no field {field!r}; found {sorted(stim)}.")
    stim_idx = np.asarray(stim["stimIdxs"]).ravel().astype(int)
    cond_idx = np.asarray(stim["condIdxs"]).ravel().astype(int)
    if stim_idx.shape != cond_idx.shape:
        raise ValueError(
            f"stim.stimIdxs {stim_idx.shape} and stim.condIdxs {cond_idx.shape} in {path} must "
            "have one entry per trial (shape (n_trials,))."
        )
    unknown = sorted(set(stim_idx) - set(CND_STIMULI))
    if unknown:
        raise ValueError(f"stim.stimIdxs in {path} holds {unknown}; expected 1-4.")
    names = as_strings(stim["condNames"]) if "condNames" in stim else ["Listening", "Imagery"]
    cond_map = {i + 1: _condition_name(n) for i, n in enumerate(names)}
    if not set(cond_idx) <= set(cond_map):
        raise ValueError(f"stim.condIdxs in {path} holds {sorted(set(cond_idx))}; expected 1-2.")
    feats = _stim_matrix(stim, len(stim_idx), path)
    feat_names = (
        [n.lower() for n in as_strings(stim["names"])]
        if "names" in stim
        else ["acoustic envelope", "expectation vector"]
    )
    return dict(
        stim_idx=stim_idx,
        condition=np.array([cond_map[c] for c in cond_idx]),
        fs=as_scalar(stim["fs"], "stim.fs", path),
        features=feats,
        feature_names=feat_names,
        path=path,
    )


def _feature_row(info, word):
    if info["features"] is None:
        return None
    for i, name in enumerate(info["feature_names"][: len(info["features"])]):
        if word in name:
            return i
    return None


def _trial_vector(x, n_times, what):
    v = np.asarray(x, dtype=np.float64).ravel()
    if v.shape != (n_times,):
        raise ValueError(f"{what} has {v.size} samples; expected {n_times} (one per EEG sample).")
    if not np.isfinite(v).all():  # would read as notes, or as a melody that contradicts
        raise ValueError(
            f"{what} (a stored stimulus feature) holds {int(np.sum(~np.isfinite(v)))} NaN or "
            "infinite value(s) from sample "
            f"{int(np.flatnonzero(~np.isfinite(v))[0])}; the file is damaged: download it again."
        )
    return v


def _eeg_trial(x, n_times, n_channels, what, ch_names=None, sfreq=None):
    """One stored trial, shape (n_times, n_channels), checked for shape and NaN/inf."""
    arr = np.asarray(x)
    if arr.shape != (n_times, n_channels):
        raise ValueError(
            f"{what} has shape {arr.shape}; expected ({n_times}, {n_channels}) (time x channels)."
        )
    check_finite_eeg(
        arr,
        what,
        ch_names,
        sfreq=sfreq,
        channel_axis=1,
        advice="Interpolate the bad channels or remove the trial in a copy of the file, or "
        "leave this subject out (subjects=...).",
    )
    return arr


def load_mos(
    data_dir,
    conditions=("listening", "imagery"),
    subjects=None,
    segment_seconds=None,
    audio_sfreq=16000,
    *,
    layout=None,
    audio_offset=None,
    verify_stimuli=True,
    eeg_scale=1e-6,
):
    """Load MOS ("The Music of Silence") EEG with the melodies heard or imagined.

    The packaging (CND or Dryad) is detected from the files under ``data_dir``.
    The EEG is returned as stored (already filtered 0.1-30 Hz and
    average-referenced by the authors), only scaled by ``eeg_scale``.

    Alignment: EEG sample 0 of every trial is the 7th metronome click of the
    stimulus; it is found in each WAV's left (metronome) channel and ``y`` is the
    right (melody) channel from there on, resampled to ``audio_sfreq``. Imagery
    trials get the melody that was imagined.

    Melody labels: CND ``stimIdxs`` 1-4 are chor-096, chor-038, chor-101 and
    chor-019 (inferred by third parties; the file has no names). Dryad trials are
    identified by their number of notes (non-zero expectation samples 27, 28, 29,
    38 -> chor-096, chor-038, chor-019, chor-101). With ``verify_stimuli=True``
    either mapping is checked against the audio (the stored acoustic envelope,
    or else the note onsets, correlated with each melody) and a contradiction
    raises a ValueError.

    Parameters
    ----------
    data_dir : str | Path
        Folder holding the unpacked CND zip (``dataCND/`` is searched for) or the
        Dryad files (``ImageryData.mat`` and the unzipped ``original_stim``).
    conditions : sequence of {"listening", "imagery"}, default=("listening", "imagery")
        Conditions to keep.
    subjects : sequence of int or str | None, default=None
        Subjects to load by number (``3``, ``"3"`` or ``"sub-03"``); ``None`` loads
        all. CND: only those ``dataSubN.mat`` files are read. Dryad: the single
        ``ImageryData.mat`` (1.5 GB) is read in full and the others dropped.
    segment_seconds : float | None, default=None
        Cut each trial into segments of this length (remainder dropped); ``None``
        keeps whole trials (1803 samples, 28.2 s).
    audio_sfreq : int, default=16000
        Rate of ``y``; an integer multiple of the EEG rate (64 Hz).
    layout : {None, "cnd", "dryad"}, default=None
        Force a packaging when ``data_dir`` holds both.
    audio_offset : float | dict | None, default=None
        Time (s) in the WAV files of EEG sample 0 (or ``{chorale: seconds}``);
        ``None`` detects the 7th metronome click (about 4.80 s).
    verify_stimuli : bool, default=True
        Check the melody labels against the audio (see above).
    eeg_scale : float, default=1e-6
        Factor from stored values to volts. The unit is not documented; the
        magnitudes match microvolts (BioSemi data exported by EEGLAB), so the
        default returns volts, the package's unit. ``1.0`` keeps stored values.

    Returns
    -------
    data : EEGMusicData
        ``X`` float32 (n_trials, 64, n_times) with channels in the file's order
        (CND ``chanlocs``; BioSemi A1-B32 order for Dryad, which stores no labels),
        trials ordered by subject, then stored trial, then segment; ``y`` float32
        (n_trials, n_times * audio_sfreq / 64); ``subject`` ``"sub-01"`` ...;
        ``stimulus`` ``"chor-096"`` ...; ``condition`` ``"listening"`` or
        ``"imagery"``; ``description`` records the files, the detected EEG start
        in each WAV and the stimulus-check correlations.

    Examples
    --------
    Needs the downloaded data (see :doc:`/datasets`):

    >>> from sk_eeg2music import load_mos
    >>> data = load_mos("~/data/mos", conditions=["imagery"], subjects=[1, 2],
    ...                 segment_seconds=4.0)  # doctest: +SKIP
    >>> data.X.shape[1:], data.sfreq  # doctest: +SKIP
    ((64, 256), 64.0)
    """
    conditions = _parse_conditions(conditions)
    if isinstance(eeg_scale, bool) or not isinstance(eeg_scale, numbers.Real) or eeg_scale <= 0:
        raise ValueError(f"eeg_scale must be a positive number; got {eeg_scale!r}.")
    data_dir = Path(data_dir).expanduser()
    layout, where = _find_layout(data_dir, layout)
    reader = _load_cnd if layout == "cnd" else _load_dryad
    return reader(
        data_dir,
        where,
        conditions=conditions,
        subjects=subjects,
        segment_seconds=segment_seconds,
        audio_sfreq=audio_sfreq,
        audio_offset=audio_offset,
        verify_stimuli=verify_stimuli,
        eeg_scale=float(eeg_scale),
    )


def _description(layout, files, audio, check, segment_seconds, eeg_scale, **extra):
    return dict(
        dataset="mos",
        layout=layout,
        files=files,
        audio_files={c: a["path"] for c, a in audio.items()},
        eeg_start_seconds={c: a["start_seconds"] for c, a in audio.items()},
        stimulus_check=check,
        **extra,
        segment_seconds=segment_seconds,
        eeg_scale=eeg_scale,
    )


def _cnd_subject_files(cnd_dir):
    """{subject number: dataSubN.mat}."""
    sub_files = {}
    for p in cnd_dir.glob("dataSub*.mat"):
        m = re.fullmatch(r"dataSub(\d+)\.mat", p.name)
        if m:
            sub_files[int(m.group(1))] = p
    if not sub_files:
        raise FileNotFoundError(
            f"no subject files dataSub1.mat ... dataSub21.mat in {cnd_dir}; expected "
            f"{_expected_files()}."
        )
    return sub_files


def _read_cnd_eeg(path, stim, sfreq):
    """The trials (a list of (n_times, n_channels) arrays) and channel labels of one subject."""
    eeg = read_small(path, ["eeg"]).get("eeg")
    if not isinstance(eeg, dict) or "data" not in eeg:
        raise ValueError(f"{path} has no struct variable 'eeg' with a 'data' field (CND EEG).")
    trials = _cells(eeg["data"])
    n_trials_file = len(stim["stim_idx"])
    if len(trials) != n_trials_file:
        raise ValueError(
            f"eeg.data in {path} has {len(trials)} trials but {stim['path']} describes "
            f"{n_trials_file}; expected a cell of shape (1, {n_trials_file})."
        )
    if "fs" in eeg and as_scalar(eeg["fs"], "eeg.fs", path) != sfreq:
        raise ValueError(f"eeg.fs in {path} differs from stim.fs ({sfreq:g} Hz).")
    locs = _cells(eeg.get("chanlocs", []))
    labels = [clean_label(c["labels"]) for c in locs if isinstance(c, dict)]
    if not labels or len(labels) != len(locs):
        raise ValueError(f"eeg.chanlocs in {path} has no 'labels'; expected 64 channel labels.")
    return trials, labels


def _channel_order(labels, ch_names, path):
    """Indices that put a subject's channels ``labels`` in the first subject's order."""
    if sorted(labels) != sorted(ch_names):
        raise ValueError(
            f"the channels of {path} differ from those of the first subject: "
            f"{sorted(set(labels) ^ set(ch_names))}."
        )
    return np.array([labels.index(c) for c in ch_names])


def _load_cnd(
    data_dir,
    cnd_dir,
    *,
    conditions,
    subjects,
    segment_seconds,
    audio_sfreq,
    audio_offset,
    verify_stimuli,
    eeg_scale,
):
    # Plan: the trials kept, their length (from stim.data, else the first subject's EEG).
    stim = _read_cnd_stim(cnd_dir / "dataStim.mat")
    sfreq = stim["fs"]
    factor = check_rate_ratio(audio_sfreq, sfreq)
    sub_files = _cnd_subject_files(cnd_dir)
    wanted = _wanted(set(sub_files), subjects, f"{cnd_dir} (dataSubN.mat files)")
    keep = np.flatnonzero(np.isin(stim["condition"], conditions))
    if not len(keep):
        raise ValueError(f"{stim['path']} has no trials of conditions {conditions}.")
    n_times = None if stim["features"] is None else np.asarray(stim["features"][0, 0]).size
    audio_paths = _find_audio_files([cnd_dir.parent, data_dir], "cnd")

    out = ch_names = None
    for n in wanted:
        path = sub_files[n]
        trials, labels = _read_cnd_eeg(path, stim, sfreq)
        if out is None:  # the first subject sets the channel order
            ch_names = labels
            n_times = n_times or np.asarray(trials[keep[0]]).shape[0]
            seg_len = segment_length(segment_seconds, sfreq, n_times, "a MOS trial")
            n_seg = n_times // seg_len
            # Verify the melody labels before reading more subjects.
            audio = _chorale_audio(audio_paths, sfreq, n_times, audio_sfreq, audio_offset)
            check = _check_cnd(stim, audio, n_times, sfreq, verify_stimuli)
            out = TrialSegments(
                len(wanted) * len(keep) * n_seg, len(ch_names), seg_len, seg_len * factor
            )
        order = _channel_order(labels, ch_names, path)
        for t in keep:  # Fill.
            what = f"eeg.data{{{t + 1}}} in {path}"
            trial = _eeg_trial(trials[t], n_times, len(ch_names), what, labels, sfreq)
            chorale = CND_STIMULI[int(stim["stim_idx"][t])]
            out.add(
                trial[:, order],
                audio[chorale]["wave"],
                n_seg=n_seg,
                subject=f"sub-{n:02d}",
                stimulus=chorale,
                condition=stim["condition"][t],
                scale=eeg_scale,
                time_axis=0,
            )
        del trials

    files = [str(stim["path"]), *(str(sub_files[n]) for n in wanted)]
    description = _description("cnd", files, audio, check, segment_seconds, eeg_scale)
    return out.to_data(sfreq, audio_sfreq, mos_info(ch_names, sfreq), description)


def _check_cnd(stim, audio, n_times, sfreq, verify):
    if not verify:
        return "not checked (verify_stimuli=False)"
    env_row, exp_row = _feature_row(stim, "envelope"), _feature_row(stim, "expectation")
    row, feature = (env_row, "envelope") if env_row is not None else (exp_row, "onsets")
    if row is None:
        return "not checked (stim.data holds neither an envelope nor an expectation vector)"
    groups = {}
    for t, idx in enumerate(stim["stim_idx"]):
        where = f"stim.data{{{row + 1},{t + 1}}} in {stim['path']}"
        v = _trial_vector(stim["features"][row, t], n_times, where)
        if feature == "onsets":
            v = (v != 0).astype(float)
        groups.setdefault(int(idx), []).append(v)
    rows = {k: np.mean(v, axis=0) for k, v in sorted(groups.items())}
    claimed = {k: CND_STIMULI[k] for k in rows}
    feats = {c: a[feature] for c, a in audio.items()}
    scores = match_stimuli(claimed, rows, feats, sfreq)
    return dict(feature=feature, scores={f"stimIdx {k}": v for k, v in scores.items()})


def _read_dryad(path):
    """``(eeg, stim, sfreq)``: the nested cells ``eeg{participant}{condition}{trial}``."""
    # Raw (unsqueezed) cells: with one participant, squeezing would drop a nesting level.
    mat = read_small(path, ["eeg", "stim", "downFs"], simplify=False)
    for name in ("eeg", "stim", "downFs"):
        if name not in mat:
            raise ValueError(
                f"{path} has no variable {name}; the Dryad ImageryData.mat holds eeg, stim and "
                "downFs."
            )
    sfreq = as_scalar(mat["downFs"], "downFs", path)
    eeg, stim = _cells(mat.pop("eeg")), _cells(mat.pop("stim"))
    if len(eeg) != len(stim):
        raise ValueError(
            f"eeg and stim in {path} hold {len(eeg)} and {len(stim)} participants; expected "
            "the same nesting eeg{participant}{condition}{trial}."
        )
    return eeg, stim, sfreq


def _plan_dryad(eeg, stim, wanted, cond_index, path):
    """Every kept trial labelled by its note count: ``[(n, c, t, count, notes)]``, n_times."""
    plan, n_times = [], None
    for n in wanted:
        per_cond_eeg, per_cond_stim = _cells(eeg[n - 1]), _cells(stim[n - 1])
        if len(per_cond_eeg) != 2 or len(per_cond_stim) != 2:
            raise ValueError(
                f"eeg{{{n}}} and stim{{{n}}} in {path} must hold 2 conditions (listening, "
                f"imagery); got {len(per_cond_eeg)} and {len(per_cond_stim)}."
            )
        for c in cond_index:
            t_eeg, t_stim = _cells(per_cond_eeg[c]), _cells(per_cond_stim[c])
            if len(t_eeg) != len(t_stim):
                raise ValueError(
                    f"eeg{{{n}}}{{{c + 1}}} has {len(t_eeg)} trials but stim{{{n}}}{{{c + 1}}} "
                    f"has {len(t_stim)}."
                )
            for t in range(len(t_eeg)):
                where = f"stim{{{n}}}{{{c + 1}}}{{{t + 1}}} in {path}"
                if n_times is None:
                    n_times = np.asarray(t_stim[t]).size
                v = _trial_vector(t_stim[t], n_times, where)
                count = int(np.count_nonzero(v))
                if count not in DRYAD_NOTE_COUNTS:
                    raise ValueError(
                        f"{where} has {count} notes (non-zero samples); the melodies have "
                        f"{sorted(DRYAD_NOTE_COUNTS)} ({DRYAD_NOTE_COUNTS}), so the trial cannot "
                        "be identified."
                    )
                plan.append((n, c, t, count, v))
    return plan, n_times


def _check_dryad(plan, audio, sfreq, verify):
    """The note-count labels checked against the melodies' onsets (see match_stimuli)."""
    if not verify:
        return "not checked (verify_stimuli=False)"
    groups = {}
    for *_, count, v in plan:
        groups.setdefault(count, []).append((v != 0).astype(float))
    rows = {k: np.mean(v, axis=0) for k, v in sorted(groups.items())}
    claimed = {k: DRYAD_NOTE_COUNTS[k] for k in rows}
    feats = {c: a["onsets"] for c, a in audio.items()}
    scores = match_stimuli(claimed, rows, feats, sfreq)
    return dict(feature="onsets", scores={f"{k} notes": v for k, v in scores.items()})


def _load_dryad(
    data_dir,
    path,
    *,
    conditions,
    subjects,
    segment_seconds,
    audio_sfreq,
    audio_offset,
    verify_stimuli,
    eeg_scale,
):
    eeg, stim, sfreq = _read_dryad(path)
    factor = check_rate_ratio(audio_sfreq, sfreq)
    wanted = _wanted(set(range(1, len(eeg) + 1)), subjects, f"{path} ({len(eeg)} participants)")
    cond_index = [CONDITIONS.index(c) for c in CONDITIONS if c in conditions]
    for i in range(len(eeg)):
        if i + 1 not in wanted:  # drop unselected participants right away
            eeg[i] = stim[i] = None
    audio_paths = _find_audio_files([path.parent, data_dir], "dryad")
    # Plan: label every kept trial from its note count (cheap), before any EEG is read.
    plan, n_times = _plan_dryad(eeg, stim, wanted, cond_index, path)
    if not plan:
        raise ValueError(f"{path} has no trials for subjects {wanted} and conditions {conditions}.")
    seg_len = segment_length(segment_seconds, sfreq, n_times, "a MOS trial")
    n_seg = n_times // seg_len
    # Verify the labels against the audio.
    audio = _chorale_audio(audio_paths, sfreq, n_times, audio_sfreq, audio_offset)
    check = _check_dryad(plan, audio, sfreq, verify_stimuli)
    # Fill.
    n_channels = 64
    out = TrialSegments(len(plan) * n_seg, n_channels, seg_len, seg_len * factor)
    for n, c, t, count, _ in plan:
        trials = _cells(_cells(eeg[n - 1])[c])
        what = f"eeg{{{n}}}{{{c + 1}}}{{{t + 1}}} in {path}"
        trial = _eeg_trial(trials[t], n_times, n_channels, what, _biosemi_names(), sfreq)
        chorale = DRYAD_NOTE_COUNTS[count]
        out.add(
            trial,
            audio[chorale]["wave"],
            n_seg=n_seg,
            subject=f"sub-{n:02d}",
            stimulus=chorale,
            condition=CONDITIONS[c],
            scale=eeg_scale,
            time_axis=0,
        )
        del trial
        _release(eeg, n, c, t)
    del eeg, stim

    description = _description(
        "dryad",
        [str(path)],
        audio,
        check,
        segment_seconds,
        eeg_scale,
        channel_order="BioSemi 64 (A1-B32) order assumed: ImageryData.mat stores no labels",
    )
    return out.to_data(sfreq, audio_sfreq, mos_info(_biosemi_names(), sfreq), description)


def _release(eeg, n, c, t):
    """Drop the stored float64 copy of a converted trial so memory shrinks as X fills."""
    conds = eeg[n - 1]
    if isinstance(conds, np.ndarray) and conds.dtype == object:
        trials = conds.ravel()[c]
        if isinstance(trials, np.ndarray) and trials.dtype == object:
            trials.ravel()[t] = None
