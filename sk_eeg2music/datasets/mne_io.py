"""Any MNE-readable EEG recording plus its stimulus audio -> :class:`EEGMusicData`."""

import numbers
from pathlib import Path

import mne
import numpy as np

from ..utils._validation import check_rate_ratio, check_sfreq
from ._audio_io import audio_window, read_audio, resample_audio, to_mono
from ._base import EEGMusicData
from ._common import segment_length

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
            if not np.isfinite(wave).all():
                raise ValueError(f"the waveform of {name} contains NaN or infinite values.")
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


def _parse_name(name, sources, single, default_condition):
    """Event name -> (stimulus, condition); names may be 'stimulus/condition' tags."""
    tags = str(name).split("/")
    if single:
        stimulus = next(iter(sources))
    else:
        hits = [t for t in tags if t in sources]
        if len(hits) != 1:
            raise ValueError(
                f"event {name!r} names no audio: its tags {tags} should contain exactly one "
                f"stimulus of the audio dict {sorted(sources)}."
            )
        stimulus = hits[0]
    conds = [t.lower() for t in tags if t.lower() in CONDITIONS]
    if len(conds) > 1:
        raise ValueError(f"event {name!r} names two conditions.")
    if conds:
        return stimulus, conds[0]
    if isinstance(default_condition, dict):
        if stimulus not in default_condition:
            raise ValueError(f"condition has no entry for stimulus {stimulus!r}.")
        return stimulus, str(default_condition[stimulus])
    return stimulus, str(default_condition)


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
    if isinstance(inst, (str, Path)):
        path = Path(inst).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"EEG recording {path} does not exist.")
        try:
            inst = mne.io.read_raw(path, preload=False, verbose="error")
        except Exception as exc:
            raise ValueError(f"MNE could not read {path}: {exc}") from exc
    is_epochs = isinstance(inst, mne.BaseEpochs)
    if not is_epochs and not isinstance(inst, mne.io.BaseRaw):
        raise ValueError(
            f"inst must be an mne Raw or Epochs object or a file path; got {type(inst).__name__}."
        )
    info = inst.info
    sfreq = float(info["sfreq"])
    factor = check_rate_ratio(audio_sfreq, sfreq)
    if isinstance(tmin, bool) or not isinstance(tmin, numbers.Real) or not np.isfinite(tmin):
        raise ValueError(f"tmin must be a finite number of seconds; got {tmin!r}.")
    idx = _picks(info, picks)
    sources, single = _audio_sources(audio, int(audio_sfreq))

    if is_epochs:
        if events is not None:
            raise ValueError("Epochs carry their own events; pass events=None.")
        codes = inst.events[:, 2]
        names = event_id if event_id is not None else inst.event_id
        onsets = np.arange(len(codes))  # epoch index
    elif events is None:
        if not single:
            raise ValueError("without events, audio must be a single file or waveform.")
        codes = np.array([0])
        names = {next(iter(sources)): 0}
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

    if duration is None:
        n_total = min(int((len(sources[s]) / audio_sfreq - tmin) * sfreq) for _, s, _ in trials)
        if n_total < 1:
            raise ValueError(f"the audio is shorter than tmin={tmin:g} s.")
    else:
        n_total = int(round(check_sfreq(duration, "duration") * sfreq))
    seg_len = segment_length(segment_seconds, sfreq, n_total, "a trial")
    n_seg = n_total // seg_len
    n_used = n_seg * seg_len
    shift = int(round(tmin * sfreq))

    if is_epochs:
        first = int(round((tmin - inst.tmin) * sfreq))
        if first < 0 or first + n_used > len(inst.times):
            raise ValueError(
                f"the epochs span {inst.tmin:g} to {inst.tmax:g} s but the trials need "
                f"{tmin:g} to {tmin + n_used / sfreq:g} s; epoch longer or shorten duration."
            )
        epochs_data = inst.get_data(picks=idx)

    X = np.empty((len(trials) * n_seg, len(idx), seg_len), np.float32)
    y = np.empty((len(trials) * n_seg, seg_len * factor), np.float32)
    labels = []
    for i, (onset, stim, cond) in enumerate(trials):
        if is_epochs:
            eeg = epochs_data[use[i], :, first : first + n_used]
        else:
            start = onset - inst.first_samp + shift
            if start < 0 or start + n_used > inst.n_times:
                raise ValueError(
                    f"event {i} ({stim}) at {(onset - inst.first_samp) / sfreq:.2f} s needs EEG "
                    f"from {start / sfreq:.2f} to {(start + n_used) / sfreq:.2f} s but the "
                    f"recording lasts {inst.n_times / sfreq:.2f} s; shorten duration or drop "
                    "the event."
                )
            eeg = inst.get_data(picks=idx, start=start, stop=start + n_used)
        wave = audio_window(sources[stim], int(audio_sfreq), tmin, n_used * factor, stim)
        for k in range(n_seg):
            row = len(labels)
            X[row] = eeg[:, k * seg_len : (k + 1) * seg_len]
            y[row] = wave[k * seg_len * factor : (k + 1) * seg_len * factor]
            labels.append((stim, cond, k))
    if subject is None:
        his_id = (info.get("subject_info") or {}).get("his_id")
        subject = str(his_id) if his_id else "unknown"
    stimulus, cond, segment = (np.array(c) for c in zip(*labels))
    return EEGMusicData(
        X=X,
        y=y,
        subject=np.full(len(labels), str(subject)),
        stimulus=stimulus,
        condition=cond,
        segment=segment.astype(int),
        sfreq=sfreq,
        audio_sfreq=int(audio_sfreq),
        info=mne.pick_info(info, idx),
        description=dict(
            dataset="mne",
            source=[str(f) for f in (getattr(inst, "filenames", None) or []) if f],
            n_events=len(trials),
            tmin=float(tmin),
            duration=n_used / sfreq,
            segment_seconds=segment_seconds,
        ),
    )
