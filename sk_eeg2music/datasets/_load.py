"""One entry point for every dataset, by name (the command line's ``--dataset``)."""

from ._common import id_number

#: The names :func:`load_dataset` knows.
DATASETS = ("simulated", "nmedt", "mos")


def load_dataset(
    name="simulated",
    path=None,
    *,
    subjects=None,
    stimuli=None,
    conditions=None,
    songs=None,
    audio_dir=None,
    segment_seconds=4.0,
    audio_sfreq=16000,
    kind="mos",
    n_subjects=4,
    snr_db=None,
    stimulus_seconds=None,
    random_state=0,
):
    """Load a dataset by name, narrowed to the subjects, stimuli and conditions asked for.

    Parameters
    ----------
    name : {"simulated", "nmedt", "mos"}, default="simulated"
        :func:`~sk_eeg2music.make_simulated`, :func:`~sk_eeg2music.load_nmedt`
        or :func:`~sk_eeg2music.load_mos`.
    path : str | Path | None, default=None
        Folder holding the downloaded files; required for ``"nmedt"`` and ``"mos"``.
    subjects : list of str or int | None, default=None
        Subject ids or numbers (``3``, ``"3"``, ``"sub-03"``); ``None``: all.
        Simulated subjects are ``sub-01``, ``sub-02`` ... whatever ``n_subjects``.
    stimuli : list of str | None, default=None
        Stimulus ids to keep (e.g. ``"chor-096"``); ``None``: all.
    conditions : list of {"listening", "imagery"} | None, default=None
        Conditions to keep; ``None``: all.
    songs : list of str or int | None, default=None
        NMED-T songs to read (``21``, ``"song21"``); only for ``"nmedt"``.
    audio_dir : str | Path | None, default=None
        NMED-T audio folder (``song21.wav`` ...); ``None`` gives ``y=None``.
    segment_seconds : float | None, default=4.0
        Trial length (s).
    audio_sfreq : int, default=16000
        Rate of ``y``; an integer multiple of the EEG rate.
    kind : {"mos", "nmedt"}, default="mos"
        Simulated design.
    n_subjects : int, default=4
        Simulated subjects (raised to the largest number in ``subjects``).
    snr_db : float | None, default=None
        Simulated signal-to-noise ratio (dB); ``None``: the calibrated one.
    stimulus_seconds : float | None, default=None
        Simulated stimulus length (s); ``None``: the dataset's.
    random_state : int, default=0
        Seed of the simulation.

    Returns
    -------
    data : EEGMusicData
        ``X`` (n_trials, n_channels, n_times), ``y`` (n_trials, n_audio) or
        ``None``, and the labels of the selected trials.

    Raises
    ------
    ValueError
        For an unknown name, a missing ``path``, ``songs`` with another dataset,
        or a selection that matches no trial.
    FileNotFoundError
        When the files of ``nmedt`` or ``mos`` are not under ``path``.

    Examples
    --------
    >>> from sk_eeg2music.datasets import load_dataset
    >>> data = load_dataset("simulated", subjects=["sub-02"], stimuli=["chor-096"],
    ...                     conditions=["imagery"], segment_seconds=4.0)
    >>> len(data), set(data.subject.tolist()), set(data.condition.tolist()), data.X.shape[1:]
    (7, {'sub-02'}, {'imagery'}, (64, 256))
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose from {list(DATASETS)}.")
    if name != "simulated" and path is None:
        raise ValueError(
            f"path is required for the {name} dataset: the folder holding the downloaded "
            "files (see the datasets page of the documentation)."
        )
    if songs and name != "nmedt":
        raise ValueError(f"songs selects NMED-T songs; for {name} data select stimuli instead.")
    common = dict(subjects=subjects, segment_seconds=segment_seconds, audio_sfreq=audio_sfreq)
    # The loaders are the package's public names, looked up when called.
    from .. import load_mos, load_nmedt

    if name == "simulated":
        data = _simulate(
            kind,
            n_subjects,
            snr_db,
            stimulus_seconds,
            random_state,
            stimuli=stimuli,
            conditions=conditions,
            **common,
        )
    elif name == "nmedt":
        data = load_nmedt(path, audio_dir=audio_dir, songs=songs, **common)
    else:
        data = load_mos(path, **common)
    return _select(data, stimulus=stimuli, condition=conditions)


def _simulate(kind, n_subjects, snr_db, stimulus_seconds, random_state, *, subjects, **kwargs):
    """Simulated subjects ``subjects`` (all ``n_subjects`` for ``None``)."""
    from .. import make_simulated

    numbers = None
    if subjects:
        numbers = [id_number(s) for s in subjects]
        if any(n is None or n < 1 for n in numbers):
            raise ValueError(
                f"subjects {list(subjects)}: simulated subjects are sub-01, sub-02, ...; "
                "pass their ids or numbers."
            )
        # Subject i is the same whatever n_subjects, so simulate up to the largest asked.
        n_subjects = max(numbers)
    data = make_simulated(
        kind=kind,
        n_subjects=n_subjects,
        random_state=random_state,
        snr_db=snr_db,
        stimulus_seconds=stimulus_seconds,
        # Only what is selected is simulated (the rest would be identical if added).
        **kwargs,
    )
    return data if numbers is None else data.select(subject=[f"sub-{n:02d}" for n in numbers])


def _select(data, **criteria):
    """The trials matching every criterion given (``None`` criteria are ignored)."""
    criteria = {k: v for k, v in criteria.items() if v}
    if not criteria:
        return data
    selected = data.select(**criteria)
    if not len(selected):
        raise ValueError(
            f"the selection {criteria} matches no trial; the data has stimuli "
            f"{sorted(set(data.stimulus))} and conditions {sorted(set(data.condition))}."
        )
    return selected
