"""The container every loader and the simulator return."""

from dataclasses import dataclass, field

import mne
import numpy as np

from ..utils._validation import check_rate_ratio, check_sfreq


@dataclass
class EEGMusicData:
    """EEG trials paired with the music heard or imagined during them.

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_times), float32
        EEG in volts, one row per (subject, stimulus, condition, segment).
    y : ndarray, shape (n_trials, n_audio), float32 | None
        Mono waveforms with ``n_audio == n_times * audio_sfreq / sfreq``; ``None``
        when the audio is not available (e.g. NMED-T loaded without ``audio_dir``).
    subject : ndarray of str, shape (n_trials,)
        Subject id of each trial: the ``groups`` for cross-subject CV.
    stimulus : ndarray of str, shape (n_trials,)
        Song or melody id (e.g. ``"song21"``, ``"chor-096"``).
    condition : ndarray of str, shape (n_trials,)
        ``"listening"`` or ``"imagery"``.
    segment : ndarray of int, shape (n_trials,)
        Index of the segment inside its stimulus (its time position).
    sfreq : float
        EEG sampling rate (Hz).
    audio_sfreq : int
        Audio sampling rate (Hz); ``audio_sfreq / sfreq`` is an integer.
    info : mne.Info
        Channel names, types and montage.
    description : dict, default={}
        Free-form provenance (dataset name, files read, simulator settings).
    ground_truth : dict, default={}
        Simulator only: the known generative parameters (TRF kernels, dipoles).
    repetition : ndarray of int, shape (n_trials,) | None, default=None
        Which presentation of its (subject, stimulus, condition) each trial is
        (0-based), when a design repeats stimuli (the simulator's
        ``n_repetitions``); ``None`` when unknown.

    Examples
    --------
    >>> from sk_eeg2music import make_simulated
    >>> data = make_simulated(kind="mos", n_subjects=2, segment_seconds=4.0, stimuli=["chor-019"])
    >>> data.X.shape[1:], data.y.shape[1] // data.X.shape[2]
    ((64, 256), 250)
    """

    X: np.ndarray
    y: np.ndarray | None
    subject: np.ndarray
    stimulus: np.ndarray
    condition: np.ndarray
    segment: np.ndarray
    sfreq: float
    audio_sfreq: int
    info: mne.Info
    description: dict = field(default_factory=dict)
    ground_truth: dict = field(default_factory=dict, repr=False)
    repetition: np.ndarray | None = None

    def __post_init__(self):
        self.sfreq = check_sfreq(self.sfreq)
        factor = check_rate_ratio(self.audio_sfreq, self.sfreq)
        self.audio_sfreq = int(round(self.audio_sfreq))
        self.X = np.asarray(self.X, dtype=np.float32)
        if self.X.ndim != 3:
            raise ValueError(
                f"X must have shape (n_trials, n_channels, n_times); got {self.X.shape}."
            )
        n_trials, n_channels, n_times = self.X.shape
        if self.y is not None:
            self.y = np.asarray(self.y, dtype=np.float32)
            expected = (n_trials, n_times * factor)
            if self.y.shape != expected:
                raise ValueError(f"y must have shape {expected}; got {self.y.shape}.")
        for name, dtype in (("subject", str), ("stimulus", str), ("condition", str)):
            setattr(self, name, np.asarray(getattr(self, name)).astype(dtype))
        self.segment = np.asarray(self.segment, dtype=int)
        if self.repetition is not None:
            self.repetition = np.asarray(self.repetition, dtype=int)
        for name in ("subject", "stimulus", "condition", "segment", "repetition"):
            if getattr(self, name) is not None and getattr(self, name).shape != (n_trials,):
                raise ValueError(
                    f"{name} must have shape ({n_trials},); got {getattr(self, name).shape}."
                )
        if len(self.info["ch_names"]) != n_channels:
            raise ValueError(
                f"info has {len(self.info['ch_names'])} channels but X has {n_channels}."
            )

    @property
    def groups(self):
        """ndarray of str, shape (n_trials,): the subject ids, for grouped CV."""
        return self.subject

    @property
    def ch_names(self):
        """list of str: channel names in the order of ``X``'s second axis."""
        return list(self.info["ch_names"])

    @property
    def factor(self):
        """int: audio samples per EEG sample (``audio_sfreq / sfreq``)."""
        return int(round(self.audio_sfreq / self.sfreq))

    @property
    def segment_id(self):
        """ndarray of str, shape (n_trials,): ``"stimulus/segment"``, one id per distinct music."""
        return np.char.add(np.char.add(self.stimulus, "/"), self.segment.astype(str))

    def __len__(self):
        return len(self.X)

    def require_y(self):
        """Return ``y`` or raise a ValueError explaining how to get the audio."""
        if self.y is None:
            raise ValueError(
                "this dataset has no audio (y is None). NMED-T does not distribute its "
                "stimuli: pass audio_dir= (files named song21.wav ... song30.wav) to load_nmedt."
            )
        return self.y

    def select(self, mask=None, **criteria):
        """Return the trials selected by a mask/indices and/or by field values.

        Parameters
        ----------
        mask : array-like of bool, shape (n_trials,) | array-like of int | None, default=None
            Trials to keep.
        **criteria : str | list of str
            Keep trials whose field (``subject``, ``stimulus``, ``condition``,
            ``segment``, or ``repetition`` when known) is in the given value(s),
            e.g. ``condition="imagery"``.

        Returns
        -------
        data : EEGMusicData
            A new container sharing ``info``; arrays are copies.
        """
        keep = np.ones(len(self), bool)
        if mask is not None:
            mask = np.asarray(mask)
            sub = np.zeros(len(self), bool)
            sub[mask] = True
            keep &= sub
        for key, values in criteria.items():
            if key not in ("subject", "stimulus", "condition", "segment", "repetition") or (
                key == "repetition" and self.repetition is None
            ):
                raise ValueError(
                    f"cannot select on {key!r}; use subject, stimulus, condition or segment "
                    "(or repetition when the data has it)."
                )
            values = np.atleast_1d(values)
            keep &= np.isin(getattr(self, key), values.astype(getattr(self, key).dtype))
        idx = np.flatnonzero(keep)
        return EEGMusicData(
            X=self.X[idx],
            y=None if self.y is None else self.y[idx],
            subject=self.subject[idx],
            stimulus=self.stimulus[idx],
            condition=self.condition[idx],
            segment=self.segment[idx],
            sfreq=self.sfreq,
            audio_sfreq=self.audio_sfreq,
            info=self.info,
            description=dict(self.description),
            ground_truth=self.ground_truth,
            repetition=None if self.repetition is None else self.repetition[idx],
        )

    @classmethod
    def concatenate(cls, datasets):
        """Join several containers (e.g. one per subject) into one.

        Parameters
        ----------
        datasets : sequence of EEGMusicData
            Same channels (names and order), ``sfreq``, ``audio_sfreq`` and
            ``n_times``; either all or none have audio.

        Returns
        -------
        data : EEGMusicData
            Trials in the order given; ``info`` and ``description`` from the first;
            ``repetition`` only when every input has it.
        """
        datasets = list(datasets)
        if not datasets:
            raise ValueError("concatenate needs at least one EEGMusicData.")
        first = datasets[0]
        for other in datasets[1:]:
            same = (
                other.ch_names == first.ch_names
                and other.sfreq == first.sfreq
                and other.audio_sfreq == first.audio_sfreq
                and other.X.shape[2] == first.X.shape[2]
                and (other.y is None) == (first.y is None)
            )
            if not same:
                raise ValueError(
                    "concatenate needs the same channels, sfreq, audio_sfreq, n_times and "
                    f"audio presence; got {first!r} and {other!r}."
                )
        cat = lambda name: np.concatenate([getattr(d, name) for d in datasets])  # noqa: E731
        return cls(
            X=cat("X"),
            y=None if first.y is None else cat("y"),
            subject=cat("subject"),
            stimulus=cat("stimulus"),
            condition=cat("condition"),
            segment=cat("segment"),
            sfreq=first.sfreq,
            audio_sfreq=first.audio_sfreq,
            info=first.info,
            description=dict(first.description),
            ground_truth=first.ground_truth,
            repetition=(
                cat("repetition") if all(d.repetition is not None for d in datasets) else None
            ),
        )

    def to_epochs(self):
        """Return the EEG as :class:`mne.EpochsArray` with the labels as metadata.

        Returns
        -------
        epochs : mne.EpochsArray
            ``n_trials`` epochs; ``epochs.metadata`` has the subject, stimulus,
            condition and segment columns.
        """
        import pandas as pd

        meta = pd.DataFrame(
            dict(
                subject=self.subject,
                stimulus=self.stimulus,
                condition=self.condition,
                segment=self.segment,
            )
        )
        return mne.EpochsArray(self.X, self.info, metadata=meta, verbose="error")

    def __repr__(self):
        y = "None" if self.y is None else f"{self.y.shape}"
        return (
            f"<EEGMusicData | {len(self)} trials, {self.X.shape[1]} ch, {self.X.shape[2]} samples "
            f"@ {self.sfreq:g} Hz, y={y} @ {self.audio_sfreq} Hz, "
            f"{len(np.unique(self.subject))} subjects, {len(np.unique(self.stimulus))} stimuli, "
            f"conditions={sorted(map(str, set(self.condition)))}>"
        )
