"""Any MNE-readable EEG recording plus its stimulus audio -> :class:`EEGMusicData`."""

import numbers
from pathlib import Path

import mne
import numpy as np

from ..utils._validation import check_rate_ratio, check_sfreq
from ._audio_io import audio_window, read_audio, resample_audio, to_mono
from ._common import TrialSegments, check_finite_audio, check_finite_eeg, segment_length

CONDITIONS = ("listening", "imagery")


def _audio_sources(audio, audio_sfreq):
    """{name: mono waveform at audio_sfreq} and whether a single audio was given."""

    def load(source, name):
        if isinstance(source, (str, Path)):
            wave, sfreq = read_audio(source)
        elif isinstance(source, tuple) and len(source) == 2:
            wave, sfreq = source
            wave = np.asarray(wave, dtype=np.float32)
            sfreq = check_sfreq(sfreq, f"the audio rate of {name}")
            if not float(sfreq).is_integer():
                raise ValueError(f"the audio rate of {name} must be a whole number of Hz.")
            if wave.ndim not in (1, 2) or wave.shape[0] == 0:
                raise ValueError(
                    f"the waveform of {name} must have shape (n_samples,) or (n_samples, "
                    f"n_channels); got {wave.shape}."
                )
            check_finite_audio(
                wave, f"the waveform of {name}", sfreq, advice="Pass finite samples."
            )
        else:
            raise ValueError(
                f"audio for {name} must be a file path or a (waveform, sfreq) tuple; "
                f"got {type(source).__name__}."
            )
        return resample_audio(to_mono(wave), int(sfreq), audio_sfreq)

    if isinstance(audio, dict):
        if not audio:
            raise ValueError("audio is an empty dict; map stimulus names to files.")
        return {str(k): load(v, str(k)) for k, v in audio.items()}, False
    name = Path(audio).stem if isinstance(audio, (str, Path)) else "audio"
    return {name: load(audio, name)}, True


def _picks(info, picks):
    if isinstance(picks, str):
        try:  # a channel type; bad channels are left out, as MNE does for type picks
            idx = mne.pick_types(info, **{"meg": False, picks: True}, exclude="bads")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"picks={picks!r} is not a channel type MNE knows: {exc}") from exc
    else:
        idx = mne.pick_channels(info["ch_names"], include=list(picks), ordered=True)
    if not len(idx):
        raise ValueError(f"picks={picks!r} selects no channel of {info['ch_names'][:5]}...")
    return np.asarray(idx)


def _event_tags(name):
    """Event name -> (its other tags, its condition tag or None); tags are split on '/'."""
    tags = str(name).split("/")
    conds = [t.lower() for t in tags if t.lower() in CONDITIONS]
    if len(conds) > 1:
        raise ValueError(f"event {name!r} names two conditions.")
    return [t for t in tags if t.lower() not in CONDITIONS], (conds[0] if conds else None)


def _parse_name(name, sources, single, default_condition):
    """Event name -> (stimulus, condition); names may be 'stimulus/condition' tags.

    With ``sources`` None, the stimulus is the name without its condition tag
    and the condition is ``default_condition`` when the name has none.
    """
    tags, condition = _event_tags(name)
    if sources is None:
        stimulus = "/".join(tags)
    elif single:
        stimulus = next(iter(sources))
    else:
        hits = [t for t in tags if t in sources]
        if len(hits) != 1:
            raise ValueError(
                f"event {name!r} names no audio: its tags {str(name).split('/')} should contain "
                f"exactly one stimulus of the audio dict {sorted(sources)}."
            )
        stimulus = hits[0]
    if condition is not None:
        return stimulus, condition
    if isinstance(default_condition, dict):
        if stimulus not in default_condition:
            raise ValueError(f"condition has no entry for stimulus {stimulus!r}.")
        return stimulus, str(default_condition[stimulus])
    return stimulus, str(default_condition)


def _as_mne(inst):
    """A Raw or Epochs object (a path is opened with :func:`mne.io.read_raw`)."""
    if isinstance(inst, (str, Path)):
        path = Path(inst).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"EEG recording {path} does not exist.")
        try:
            inst = mne.io.read_raw(path, preload=False, verbose="error")
        except Exception as exc:
            raise ValueError(f"MNE could not read {path}: {exc}") from exc
    if not isinstance(inst, (mne.BaseEpochs, mne.io.BaseRaw)):
        raise ValueError(
            f"inst must be an mne Raw or Epochs object or a file path; got {type(inst).__name__}."
        )
    return inst


def _plan_trials(inst, events, event_id, sources, single, condition):
    """The events used: their indices and ``(onset sample, stimulus, condition)`` each."""
    if isinstance(inst, mne.BaseEpochs):
        if events is not None:
            raise ValueError("Epochs carry their own events; pass events=None.")
        codes = inst.events[:, 2]
        names = event_id if event_id is not None else inst.event_id
        onsets = np.arange(len(codes))  # epoch index
    elif events is None:
        if not single:
            raise ValueError("without events, audio must be a single file or waveform.")
        codes, names = np.array([0]), {next(iter(sources)): 0}
        onsets = np.array([inst.first_samp])
    else:
        events = np.asarray(events)
        if events.ndim != 2 or events.shape[1] != 3 or events.dtype.kind not in "iu":
            raise ValueError(
                f"events must be an integer array of shape (n_events, 3) (MNE events); got "
                f"{events.dtype} {events.shape}."
            )
        codes, onsets = events[:, 2], events[:, 0]
        names = event_id if event_id is not None else {str(c): int(c) for c in np.unique(codes)}
    by_code = {int(c): n for n, c in names.items()}
    use = np.flatnonzero(np.isin(codes, list(by_code)))
    if not len(use):
        raise ValueError(f"no events with the codes of event_id {names}; found {np.unique(codes)}.")
    trials = [(int(onsets[i]), *_parse_name(by_code[int(codes[i])], sources, single, condition))
              for i in use]  # fmt: skip
    return use, trials


def _trial_samples(trials, sources, audio_sfreq, sfreq, tmin, duration):
    """EEG samples per trial: ``duration`` or the shortest audio from ``tmin``."""
    if duration is not None:
        return int(round(check_sfreq(duration, "duration") * sfreq))
    n_total = min(int((len(sources[s]) / audio_sfreq - tmin) * sfreq) for _, s, _ in trials)
    if n_total < 1:
        raise ValueError(f"the audio is shorter than tmin={tmin:g} s.")
    return n_total


def _trial_starts(inst, trials, tmin, n_used):
    """First EEG sample of each trial (in its epoch, or in the recording); checks the bounds."""
    sfreq = inst.info["sfreq"]
    if isinstance(inst, mne.BaseEpochs):
        first = int(round((tmin - inst.tmin) * sfreq))
        if first < 0 or first + n_used > len(inst.times):
            raise ValueError(
                f"the epochs span {inst.tmin:g} to {inst.tmax:g} s but the trials need "
                f"{tmin:g} to {tmin + n_used / sfreq:g} s; epoch longer or shorten duration."
            )
        return [first] * len(trials)
    starts = [onset - inst.first_samp + int(round(tmin * sfreq)) for onset, _, _ in trials]
    for i, ((onset, stim, _), start) in enumerate(zip(trials, starts)):
        if start < 0 or start + n_used > inst.n_times:
            raise ValueError(
                f"event {i} ({stim}) at {(onset - inst.first_samp) / sfreq:.2f} s needs EEG "
                f"from {start / sfreq:.2f} to {(start + n_used) / sfreq:.2f} s but the "
                f"recording lasts {inst.n_times / sfreq:.2f} s; shorten duration or drop "
                "the event."
            )
    return starts


def _fill_trials(out, inst, idx, use, trials, starts, sources, *, tmin, n_seg, subject):
    """Read, check and cut each trial's EEG and audio into ``out`` (a TrialSegments)."""
    sfreq = inst.info["sfreq"]
    seg_len, n_audio = out.X.shape[2], out.y.shape[1]  # per segment
    audio_sfreq = int(round(sfreq * n_audio / seg_len))  # an integer multiple of sfreq
    files = [str(f) for f in (getattr(inst, "filenames", None) or []) if f]
    is_epochs = isinstance(inst, mne.BaseEpochs)
    source = files[0] if files else f"the {'Epochs' if is_epochs else 'Raw'} object"
    ch_names = [inst.info["ch_names"][k] for k in idx]
    advice = (
        "Mark those channels bad (inst.info['bads']; picks='eeg' then leaves them out) or "
        "interpolate them (inst.interpolate_bads()), or drop this event."
    )
    epochs_data = inst.get_data(picks=idx) if is_epochs else None
    for i, ((_, stim, cond), start) in enumerate(zip(trials, starts)):
        if is_epochs:
            eeg = epochs_data[use[i], :, start : start + n_seg * seg_len]
            what, t0 = f"epoch {use[i]} ({stim}) of {source}", tmin  # time from the onset
        else:
            eeg = inst.get_data(picks=idx, start=start, stop=start + n_seg * seg_len)
            what, t0 = f"event {i} ({stim}) of {source}", start / sfreq  # recording time
        check_finite_eeg(eeg, what, ch_names, sfreq=sfreq, t0=t0, advice=advice)
        wave = audio_window(sources[stim], audio_sfreq, tmin, n_seg * n_audio, stim)
        out.add(eeg, wave, n_seg=n_seg, subject=subject, stimulus=stim, condition=cond)
    return files


def from_mne(
    inst,
    audio,
    events=None,
    event_id=None,
    *,
    audio_sfreq=16000,
    tmin=0.0,
    duration=None,
    segment_seconds=None,
    subject=None,
    condition="listening",
    picks="eeg",
):
    """Pair any MNE recording with the music played (or imagined) during it.

    Each trial starts ``tmin`` seconds after an audio onset and lasts ``duration``;
    its EEG is taken from the recording and its ``y`` from the stimulus audio at
    the same times (audio time 0 = the event). The EEG is returned as MNE holds
    it (volts), unfiltered; resample or filter the recording first with MNE if
    needed (``audio_sfreq / sfreq`` must be an integer, e.g. 512 Hz EEG with
    16384 Hz audio, or ``raw.resample(128)`` for 16000 Hz).

    Parameters
    ----------
    inst : mne.io.BaseRaw | mne.BaseEpochs | str | Path
        A continuous recording with audio-onset events, epochs whose time 0 is
        the audio onset, or a file that :func:`mne.io.read_raw` opens (FIF, EDF,
        BDF, BrainVision, EEGLAB ...; e.g. an OpenMIIR ``Pxx-raw.fif``).
    audio : str | Path | tuple | dict
        The stimulus: a sound file, a ``(waveform, sfreq)`` tuple (waveform of
        shape (n_samples,) or (n_samples, n_channels), downmixed), or a dict
        ``{stimulus: file or (waveform, sfreq)}`` when events name several.
    events : ndarray, shape (n_events, 3) | None, default=None
        Raw only: audio onsets as MNE events (sample index including
        ``raw.first_samp``, as from :func:`mne.find_events` or
        :func:`mne.events_from_annotations`). ``None``: one trial whose audio
        starts at the first sample. Epochs use their own events.
    event_id : dict | None, default=None
        ``{name: code}`` of the events to use. A name is a stimulus (a key of
        ``audio``) or MNE's tag form ``"stimulus/condition"`` (e.g.
        ``"chor-096/imagery"``). ``None``: all events, named by their code; for
        Epochs, ``epochs.event_id``.
    audio_sfreq : int, default=16000
        Rate of ``y``; an integer multiple of the EEG rate.
    tmin : float, default=0.0
        Trial start relative to the audio onset (s); before the onset the audio
        is silence.
    duration : float | None, default=None
        Trial length (s); ``None`` uses the shortest audio (from ``tmin``) so
        that every trial has the same length.
    segment_seconds : float | None, default=None
        Cut each trial into segments (remainder dropped); ``None`` keeps trials whole.
    subject : str | None, default=None
        Subject id; ``None`` uses ``info["subject_info"]["his_id"]`` or ``"unknown"``.
    condition : str | dict, default="listening"
        Condition of trials whose event name has no ``listening``/``imagery`` tag,
        or ``{stimulus: condition}``.
    picks : str | list of str, default="eeg"
        A channel type (channels marked bad in ``info["bads"]`` are left out, as
        in MNE) or channel names (in that order).

    Returns
    -------
    data : EEGMusicData
        ``X`` float32 (n_trials, n_channels, n_times) in volts, trials in event
        order then segment; ``y`` float32 (n_trials, n_times * audio_sfreq / sfreq).

    Examples
    --------
    A continuous recording with two onsets of the same 4 s tone:

    >>> import mne
    >>> import numpy as np
    >>> from sk_eeg2music import from_mne
    >>> info = mne.create_info(["Fz", "Cz", "Pz"], sfreq=64.0, ch_types="eeg")
    >>> eeg = 1e-5 * np.random.default_rng(0).standard_normal((3, 20 * 64))  # 20 s, volts
    >>> raw = mne.io.RawArray(eeg, info, verbose=False)
    >>> events = np.array([[64, 0, 1], [640, 0, 1]])  # onsets at 1 s and 10 s
    >>> tone = np.sin(2 * np.pi * 440 * np.arange(4 * 8000) / 8000)  # 4 s at 8 kHz
    >>> data = from_mne(raw, {"tone": (tone, 8000)}, events, {"tone": 1},
    ...                 audio_sfreq=8000, segment_seconds=2.0, subject="sub-01")
    >>> data.X.shape, data.y.shape  # 2 onsets x 2 segments of 2 s
    ((4, 3, 128), (4, 16000))

    With a real recording, the onsets usually come from its annotations:

    >>> events, event_id = mne.events_from_annotations(raw)  # doctest: +SKIP
    >>> data = from_mne(raw, {"song1": "song1.wav"}, events, {"song1": 1})  # doctest: +SKIP
    """
    inst = _as_mne(inst)
    info = inst.info
    sfreq = float(info["sfreq"])
    factor = check_rate_ratio(audio_sfreq, sfreq)
    if isinstance(tmin, bool) or not isinstance(tmin, numbers.Real) or not np.isfinite(tmin):
        raise ValueError(f"tmin must be a finite number of seconds; got {tmin!r}.")
    idx = _picks(info, picks)
    sources, single = _audio_sources(audio, int(audio_sfreq))
    # Plan: which events, and how long each trial and segment is.
    use, trials = _plan_trials(inst, events, event_id, sources, single, condition)
    n_total = _trial_samples(trials, sources, audio_sfreq, sfreq, tmin, duration)
    seg_len = segment_length(segment_seconds, sfreq, n_total, "a trial")
    n_seg = n_total // seg_len
    n_used = n_seg * seg_len
    # Verify that every trial lies inside the recording before reading any.
    starts = _trial_starts(inst, trials, tmin, n_used)
    # Fill.
    if subject is None:
        his_id = (info.get("subject_info") or {}).get("his_id")
        subject = str(his_id) if his_id else "unknown"
    out = TrialSegments(len(trials) * n_seg, len(idx), seg_len, seg_len * factor)
    files = _fill_trials(
        out, inst, idx, use, trials, starts, sources, tmin=tmin, n_seg=n_seg, subject=str(subject)
    )
    description = dict(
        dataset="mne",
        source=files,
        n_events=len(trials),
        tmin=float(tmin),
        duration=n_used / sfreq,
        segment_seconds=segment_seconds,
    )
    return out.to_data(sfreq, audio_sfreq, mne.pick_info(info, idx), description)


def read_epochs(path, sfreq=None, *, ch_names=None, subject=None):
    """EEG trials from an MNE Epochs file or a ``.npy`` array, with their labels.

    No audio is read: these are trials to reconstruct (see ``eeg2music
    reconstruct --eeg``). Event names are parsed as in :func:`from_mne`: a
    ``listening`` or ``imagery`` tag gives the condition, the other tags the
    stimulus (``"chor-096/imagery"`` -> ``chor-096``, ``imagery``).

    Parameters
    ----------
    path : str | Path
        An MNE Epochs file (``*-epo.fif``, ``.fif.gz``) or a ``.npy`` array of
        shape (n_trials, n_channels, n_times) in volts (read without pickle).
    sfreq : float | None, default=None
        Rate (Hz) of a ``.npy`` array (required there); for a ``.fif`` file,
        ``None`` or the stored rate.
    ch_names : list of str | None, default=None
        Channels wanted, in this order, when the file has them all (e.g. a
        model's training channels); otherwise (and for ``None``) the EEG
        channels not marked bad.
    subject : str | None, default=None
        Subject id of every trial; ``None`` uses the file's
        ``subject_info["his_id"]`` or ``"unknown"``.

    Returns
    -------
    X : ndarray, shape (n_trials, n_channels, n_times), float32
        EEG as stored (volts).
    labels : pandas.DataFrame, shape (n_trials, 4)
        Columns ``subject``, ``stimulus`` (the event name less its condition
        tag, or the file name's stem for ``.npy``), ``condition`` (``""`` when
        unknown) and ``segment`` (the trial's index).
    sfreq : float
        EEG rate (Hz).
    ch_names : list of str | None
        Channel names in the order of ``X``'s second axis; ``None`` for ``.npy``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import mne
    >>> import numpy as np
    >>> from sk_eeg2music.datasets import read_epochs
    >>> info = mne.create_info(["Fz", "Cz"], 64.0, "eeg")
    >>> events = np.array([[0, 0, 1], [100, 0, 2]])
    >>> event_id = {"song1/listening": 1, "song1/imagery": 2}
    >>> epochs = mne.EpochsArray(np.zeros((2, 2, 64)), info, events, event_id=event_id,
    ...                          verbose=False)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = epochs.save(Path(folder) / "sub-01-epo.fif", verbose=False)
    ...     X, labels, sfreq, ch_names = read_epochs(Path(folder) / "sub-01-epo.fif")
    >>> X.shape, list(labels.stimulus), list(labels.condition), sfreq
    ((2, 2, 64), ['song1', 'song1'], ['listening', 'imagery'], 64.0)
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file.")
    name = path.name.lower()
    if name.endswith(".npy"):
        X = _read_npy(path, sfreq)
        labels = _labels(subject or "unknown", path.stem, "", len(X))
        return X, labels, float(sfreq), None
    if not name.endswith((".fif", ".fif.gz")):
        raise ValueError(
            f"{path}: expected an MNE Epochs file (*-epo.fif) or a .npy array of shape "
            "(n_trials, n_channels, n_times) with its sampling rate."
        )
    epochs = _read_fif_epochs(path, sfreq, ch_names)
    names = {code: event for event, code in epochs.event_id.items()}
    parsed = [_parse_name(names.get(c, c), None, False, "") for c in epochs.events[:, 2]]
    stimulus = [stim or str(code) for (stim, _), code in zip(parsed, epochs.events[:, 2])]
    his_id = (epochs.info.get("subject_info") or {}).get("his_id")
    labels = _labels(subject or his_id or "unknown", stimulus, [c for _, c in parsed], len(epochs))
    X = epochs.get_data().astype(np.float32)
    return X, labels, float(epochs.info["sfreq"]), list(epochs.ch_names)


def _labels(subject, stimulus, condition, n_trials):
    import pandas as pd

    return pd.DataFrame(
        {
            "subject": subject,
            "stimulus": stimulus,
            "condition": condition,
            "segment": np.arange(n_trials),
        }
    )


def _read_npy(path, sfreq):
    if sfreq is None:
        raise ValueError(f"{path}: a .npy array carries no sampling rate; pass sfreq (Hz).")
    check_sfreq(sfreq, "sfreq")
    try:
        X = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{path} is not a plain numeric .npy array ({exc}).") from None
    if X.ndim != 3 or not np.issubdtype(X.dtype, np.number):
        raise ValueError(
            f"{path} must hold EEG of shape (n_trials, n_channels, n_times) in volts; "
            f"got shape {X.shape}, dtype {X.dtype}."
        )
    return X.astype(np.float32)


def _read_fif_epochs(path, sfreq, ch_names):
    try:
        epochs = mne.read_epochs(path, preload=True, verbose="error")
    except (ValueError, OSError, RuntimeError) as exc:
        raise ValueError(
            f"{path} is not a readable MNE Epochs file ({exc}). A continuous recording "
            "must be cut into epochs first (mne.Epochs(raw, events, ...).save(...))."
        ) from None
    if sfreq is not None and not np.isclose(sfreq, epochs.info["sfreq"]):
        raise ValueError(
            f"sfreq={sfreq:g} differs from the rate stored in {path} "
            f"({epochs.info['sfreq']:g} Hz); leave it out for .fif files."
        )
    if ch_names and set(ch_names) <= set(epochs.ch_names):
        epochs.pick(list(ch_names)).reorder_channels(list(ch_names))
    else:
        epochs.pick("eeg", exclude="bads")
    return epochs
