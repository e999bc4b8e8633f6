"""Build a static MUSHRA-style listening test from a reconstruction run."""

import datetime
import hashlib
import json
import shutil
from importlib import resources
from pathlib import Path

import numpy as np

from .._io import atomic_output_dir, check_output_dir
from ._runs import REFERENCE, read_run

#: Columns of a ratings CSV, in order (the page writes exactly these).
COLUMNS = [
    "listener",
    "seed",
    "block",
    "trial",
    "trial_position",
    "stimulus",
    "segment",
    "condition",
    "system",
    "subject",
    "clip",
    "rating",
    "choice",
    "correct",
    "play_count",
    "time_spent_s",
    "order_shown",
]
HIDDEN_REFERENCE = "Hidden reference"
#: The five ITU-R BS.1534-3 scale labels, from 0-20 to 80-100.
SCALE_LABELS = ["Bad", "Poor", "Fair", "Good", "Excellent"]
FORMAT = "sk_eeg2music-listening-test"
PAGE_FILES = ("index.html", "app.js", "style.css")
_CONDITION_ORDER = ("listening", "imagery")

INSTRUCTIONS = (
    "You will hear short excerpts of music. In each trial, a labelled reference is the "
    "original music; the versions below it include reconstructions of that music computed "
    "from EEG (brain) recordings of people who listened to it or imagined it. One version is "
    "the reference itself, hidden, and one is a muffled (low-passed) copy of it. Rate how "
    "close each version is to the reference, in melody, rhythm and sound, from 0 (bad) to "
    "100 (excellent). Give 100 to a version you cannot tell from the reference. Play and "
    "switch between the versions as often as you like: playback continues at the same "
    "position when you switch."
)
AFC_INSTRUCTIONS = (
    "Each question plays a reconstruction X and two original excerpts, A and B. Choose the "
    "one that is the same music as X. Guess if you are unsure."
)


def anchor_name(cutoff_hz):
    """The system name of the low-pass anchor.

    Parameters
    ----------
    cutoff_hz : float
        Cut-off frequency (Hz).

    Returns
    -------
    name : str
        E.g. ``"Anchor (3.5 kHz low-pass)"``.

    Examples
    --------
    >>> from sk_eeg2music.listening._build import anchor_name
    >>> anchor_name(3500)
    'Anchor (3.5 kHz low-pass)'
    """
    return f"Anchor ({cutoff_hz / 1000:g} kHz low-pass)"


def lowpass_anchor(audio, sfreq, cutoff_hz=3500.0, order=8):
    """The MUSHRA low-pass anchor: the reference low-passed at ``cutoff_hz``.

    A zero-phase Butterworth filter (:func:`scipy.signal.sosfiltfilt`), so the
    anchor stays aligned with the reference when the listener switches; the
    result is scaled to the reference's peak, so it is not heard as quieter.

    Parameters
    ----------
    audio : ndarray, shape (n_audio,)
        The reference waveform.
    sfreq : float
        Audio rate (Hz).
    cutoff_hz : float, default=3500.0
        Cut-off (Hz); ITU-R BS.1534-3 asks for 3.5 kHz.
    order : int, default=8
        Filter order (applied twice by the zero-phase filtering).

    Returns
    -------
    anchor : ndarray, shape (n_audio,)
        The low-passed waveform.

    Raises
    ------
    ValueError
        If ``cutoff_hz`` is not below the Nyquist frequency.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eeg2music.listening import lowpass_anchor
    >>> t = np.arange(16000) / 16000
    >>> x = np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 6000 * t)
    >>> y = lowpass_anchor(x, 16000)
    >>> spec = np.abs(np.fft.rfft(y))  # 1-Hz bins
    >>> bool(spec[6000] < 1e-3 * spec[440])
    True
    """
    from scipy.signal import butter, sosfiltfilt

    audio = np.asarray(audio, dtype=np.float64)
    if audio.ndim != 1:
        raise ValueError(f"audio must have shape (n_audio,); got {audio.shape}.")
    if not 0 < cutoff_hz < sfreq / 2:
        raise ValueError(
            f"the anchor's cut-off ({cutoff_hz:g} Hz) must lie below the Nyquist frequency "
            f"({sfreq / 2:g} Hz) of the clips."
        )
    sos = butter(order, cutoff_hz, btype="low", fs=sfreq, output="sos")
    anchor = sosfiltfilt(sos, audio)
    peak, peak_anchor = np.max(np.abs(audio)), np.max(np.abs(anchor))
    return anchor * (peak / peak_anchor) if peak_anchor > 0 else anchor


def _condition_key(condition):
    known = _CONDITION_ORDER.index(condition) if condition in _CONDITION_ORDER else 99
    return (known, condition)


def _opaque(seed, *parts):
    """A file stem that does not reveal the system (listeners can see file names)."""
    key = "|".join(str(p) for p in (seed, *parts))
    return hashlib.sha1(key.encode()).hexdigest()[:12]


def _plan(clips, seed, afc, cutoff_hz):
    """Trials as dicts (files still the run's paths) from the run's clip table."""
    trials = _mushra_trials(clips, cutoff_hz)
    if not trials:
        raise ValueError("the run holds no reconstruction beside its originals; nothing to rate.")
    afc_trials = _afc_trials(trials, np.random.default_rng(seed)) if afc else []
    return trials, afc_trials


def _mushra_trials(clips, cutoff_hz):
    """One MUSHRA trial per (condition, stimulus, segment) with a reconstruction to rate."""
    keys = sorted(
        {(r.condition, r.stimulus, r.segment) for r in clips.itertuples()},
        key=lambda k: (_condition_key(k[0]), k[1], k[2]),
    )
    anchor = anchor_name(cutoff_hz)
    trials = []
    for n, (cond, stim, seg) in enumerate(keys, start=1):
        rows = clips[(clips.condition == cond) & (clips.stimulus == stim) & (clips.segment == seg)]
        refs = rows[rows.system == REFERENCE]
        if len(refs) != 1:
            raise ValueError(
                f"stimulus {stim!r}, segment {seg}, condition {cond!r} has {len(refs)} "
                f"original clips; a trial needs exactly one reference."
            )
        systems = rows[rows.system != REFERENCE]
        if systems.empty:
            continue
        ref = refs.iloc[0].file
        entries = [
            dict(system=HIDDEN_REFERENCE, role="reference", subject="", source=ref),
            dict(system=anchor, role="anchor", subject="", source=ref, lowpass=True),
        ]
        entries += [
            dict(system=r.system, role="system", subject=r.subject, source=r.file)
            for r in systems.itertuples()
        ]
        tid = f"t{n:02d}"
        for k, entry in enumerate(entries, start=1):
            entry["id"] = f"c{k}"
        trials.append(
            dict(
                id=tid,
                stimulus=stim,
                segment=int(seg),
                condition=cond,
                reference=ref,
                clips=entries,
            )
        )
    return trials


def _afc_trials(trials, rng):
    """One 2AFC trial per rated system clip, its foil drawn among the other stimuli."""
    afc_trials = []
    for trial in trials:
        foils = [
            t
            for t in trials
            if t["condition"] == trial["condition"] and t["stimulus"] != trial["stimulus"]
        ]
        if not foils:
            continue
        for clip in trial["clips"]:
            if clip["role"] != "system":
                continue
            foil = foils[int(rng.integers(len(foils)))]
            afc_trials.append(
                dict(
                    id=f"x{len(afc_trials) + 1:02d}",
                    mushra_trial=trial["id"],
                    stimulus=trial["stimulus"],
                    segment=trial["segment"],
                    condition=trial["condition"],
                    system=clip["system"],
                    subject=clip["subject"],
                    clip=clip["id"],
                    x=clip["source"],
                    target=trial["reference"],
                    foil=foil["reference"],
                    foil_stimulus=foil["stimulus"],
                    foil_segment=foil["segment"],
                )
            )
    return afc_trials


def _write_audio(tmp, trials, afc_trials, seed, cutoff_hz):
    """Copy or render every clip under opaque names; replaces sources by relative paths."""
    import soundfile as sf

    from .._io import write_wav

    (tmp / "audio").mkdir()
    written = {}  # source path -> relative name, so a file is copied once

    def copy(source, stem):
        if source not in written:
            name = f"audio/{stem}.wav"
            shutil.copyfile(source, tmp / name)
            written[source] = name
        return written[source]

    sfreq = None
    for trial in trials:
        trial["reference"] = copy(trial["reference"], _opaque(seed, trial["id"], "reference"))
        for clip in trial["clips"]:
            stem = _opaque(seed, trial["id"], clip["id"])
            name = f"audio/{stem}.wav"
            source = clip.pop("source")
            if clip.pop("lowpass", False):
                audio, rate = sf.read(source, dtype="float64", always_2d=True)
                anchor = lowpass_anchor(audio.mean(axis=1), rate, cutoff_hz)
                write_wav(tmp / name, anchor, rate, normalize=False)
            else:
                shutil.copyfile(source, tmp / name)
            clip["file"] = name
            written.setdefault(source, name)
            info = sf.info(tmp / name)
            if sfreq not in (None, info.samplerate):
                raise ValueError(
                    f"clips of different audio rates ({sfreq} and {info.samplerate} Hz) in "
                    f"one run; a listening test needs one rate."
                )
            sfreq = info.samplerate
    for t in afc_trials:
        for key in ("x", "target", "foil"):
            t[key] = written[t[key]]
    return sfreq


def make_test(
    run_dir,
    out_dir,
    *,
    seed=0,
    afc=True,
    anchor_hz=3500.0,
    title="Listening test: music reconstructed from EEG",
    overwrite_ratings=False,
):
    """Build a MUSHRA-style listening test (a static page) from a reconstruction run.

    One MUSHRA trial per (stimulus, segment, condition) of the run. Each has
    the labelled reference (the original music), a hidden reference, a
    3.5 kHz low-passed anchor (computed here, see :func:`lowpass_anchor`) and
    every clip of the run's systems (the GAN, the linear decoder, the nulls;
    the mean-spectrum baseline, which never sees EEG, acts as a second anchor).
    The page shows the trials, and the versions within a trial, in an order
    drawn per listener from ``seed`` and the listener code, and records it
    (see :func:`presentation_order`). An optional 2AFC block follows: for each
    reconstruction X, which of two originals (its own and another stimulus's,
    same condition) is the same music?

    The folder runs offline from the file system or from any static server:
    ``index.html``, ``app.js``, ``style.css``, ``test.js`` (the test, read by
    the page), ``test.json`` (the same, for the analysis), ``audio/*.wav``
    under names that do not reveal the system, ``run_metrics.csv`` (the run's
    objective metrics, when it has them) and an empty ``ratings/`` folder.

    Parameters
    ----------
    run_dir : str | Path
        What ``demo``/``write_report`` wrote, or a folder with a ``clips.csv``
        manifest (columns ``file, stimulus, segment, condition, system`` and
        optionally ``subject``; the originals have system ``"Original"``).
    out_dir : str | Path
        The test folder; new, empty, or an earlier test (replaced atomically).
    seed : int, default=0
        Seeds the 2AFC foils and, with each listener code, the page's orders.
    afc : bool, default=True
        Add the 2AFC identification block.
    anchor_hz : float, default=3500.0
        Cut-off of the low-pass anchor (Hz).
    title : str, default="Listening test: music reconstructed from EEG"
        Page title.
    overwrite_ratings : bool, default=False
        Allow replacing a test whose ``ratings/`` folder already holds CSV files
        (they are deleted with the old test).

    Returns
    -------
    page : Path
        ``out_dir/index.html``.

    Raises
    ------
    ValueError
        If the run holds no usable clips, or ratings would be overwritten.

    Examples
    --------
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from sk_eeg2music import write_report
    >>> from sk_eeg2music.listening import make_test
    >>> rng = np.random.default_rng(0)
    >>> items = [dict(stimulus=s, segment=0, condition="listening",
    ...               original=rng.standard_normal(8000),
    ...               reconstructions=[dict(label="GAN, held-out sub-01",
    ...                                     audio=rng.standard_normal(8000))])
    ...          for s in ("chor-019", "chor-038")]
    >>> tmp = tempfile.TemporaryDirectory()
    >>> run = write_report(Path(tmp.name) / "run", items, None, sfreq=8000).parent
    >>> page = make_test(run, Path(tmp.name) / "test")
    >>> test = json.loads((page.parent / "test.json").read_text())
    >>> [c["system"] for c in test["mushra"][0]["clips"]]
    ['Hidden reference', 'Anchor (3.5 kHz low-pass)', 'GAN']
    >>> len(test["mushra"]), len(test["afc"])
    (2, 2)
    >>> tmp.cleanup()
    """
    from .. import __version__

    out = check_output_dir(out_dir)
    ratings = sorted((out / "ratings").glob("*.csv")) if (out / "ratings").is_dir() else []
    if ratings and not overwrite_ratings:
        raise ValueError(
            f"{out / 'ratings'} holds {len(ratings)} ratings file(s); rebuilding the test "
            "would delete them. Move them away, pick another folder, or pass "
            "overwrite_ratings=True (--overwrite-ratings)."
        )
    run = Path(run_dir).expanduser().resolve()
    clips = read_run(run)
    trials, afc_trials = _plan(clips, seed, afc, float(anchor_hz))
    with atomic_output_dir(out) as tmp:
        sfreq = _write_audio(tmp, trials, afc_trials, seed, float(anchor_hz))
        systems = {HIDDEN_REFERENCE: "reference", anchor_name(anchor_hz): "anchor"}
        systems.update({s: "system" for s in clips.system if s != REFERENCE})
        test = dict(
            format=FORMAT,
            version=1,
            title=title,
            seed=int(seed),
            created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            package=f"sk_eeg2music {__version__}",
            run=str(run),
            audio_sfreq=sfreq,
            anchor_hz=float(anchor_hz),
            labels=SCALE_LABELS,
            instructions=INSTRUCTIONS,
            afc_instructions=AFC_INSTRUCTIONS,
            columns=COLUMNS,
            systems=systems,
            mushra=trials,
            afc=afc_trials,
        )
        text = json.dumps(test, indent=1)
        (tmp / "test.json").write_text(text, encoding="utf-8")
        # A script, not a fetched JSON file: browsers refuse fetch() from file:// pages.
        (tmp / "test.js").write_text(f"window.LISTENING_TEST = {text};\n", encoding="utf-8")
        page = resources.files(__package__) / "_page"
        for name in PAGE_FILES:
            (tmp / name).write_bytes((page / name).read_bytes())
        if (run / "metrics.csv").is_file():
            shutil.copyfile(run / "metrics.csv", tmp / "run_metrics.csv")
        (tmp / "ratings").mkdir()
    return out / "index.html"


def read_test(test_dir):
    """The test description (``test.json``) of a test folder.

    Parameters
    ----------
    test_dir : str | Path
        A folder written by :func:`make_test`.

    Returns
    -------
    test : dict
        The parsed ``test.json``.

    Raises
    ------
    ValueError
        If the folder holds no test written by :func:`make_test`.

    Examples
    --------
    >>> from sk_eeg2music.listening import read_test
    >>> try:
    ...     read_test("no-such-folder")
    ... except ValueError as exc:
    ...     print("refused")
    refused
    """
    path = Path(test_dir).expanduser() / "test.json"
    try:
        test = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a listening test written by make_test ({exc}).") from exc
    if not isinstance(test, dict) or test.get("format") != FORMAT:
        raise ValueError(f"{path} is not a listening test written by make_test.")
    return test
