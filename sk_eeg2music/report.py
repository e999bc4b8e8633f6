"""A reconstruction report: a folder with ``report.html``, WAV files and spectrograms.

The page follows the published demos of EEG-to-music reconstruction: for each
stimulus segment, the original audio and every reconstruction get an audio
player and a log-mel spectrogram, conditions (listening, imagery) side by
side, above a metrics table that states the split and the chance level. The
page is self-contained (inline CSS, no script, no external asset), so it opens
offline and can be archived as is.

Every folder is written atomically (:func:`atomic_output_dir`): files go to a
temporary sibling folder that replaces ``out_dir`` only once complete, so a
failure never leaves a half-written report behind.
"""

import contextlib
import datetime
import html
import json
import numbers
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .audio import log_mel_spectrogram
from .utils._validation import check_audio, check_sfreq

__all__ = [
    "OutputDirError",
    "atomic_output_dir",
    "check_output_dir",
    "plot_log_mel",
    "write_report",
    "write_wav",
]

#: Marks a folder written by :func:`atomic_output_dir`; only such folders (or
#: empty ones) are ever replaced, so ``--out ~`` cannot wipe a home folder.
MARKER = ".sk_eeg2music-output"
_CONDITION_ORDER = ("listening", "imagery")


class OutputDirError(OSError):
    """The output folder cannot be written (not writable, not a folder, not ours).

    Raised by :func:`check_output_dir`, :func:`atomic_output_dir` and
    :func:`write_report` before anything is written; its message says what to do.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sk_eeg2music.report import OutputDirError, check_output_dir
    >>> tmp = tempfile.TemporaryDirectory()
    >>> _ = (Path(tmp.name) / "notes.txt").write_text("not ours")
    >>> try:
    ...     check_output_dir(tmp.name)  # a folder this package did not write
    ... except OutputDirError:
    ...     print("refused")
    refused
    >>> tmp.cleanup()
    """


def _check_clip(audio, name):
    """Validate one mono waveform; returns float64, shape (n_audio,)."""
    arr = np.asarray(audio)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be one mono waveform of shape (n_audio,); got shape {arr.shape}. "
            "Pass one row of y, e.g. y[i]."
        )
    return check_audio(arr[np.newaxis], name=name, dtype=np.float64)[0]


def _check_int_rate(sfreq):
    sfreq = check_sfreq(sfreq)
    if not float(sfreq).is_integer():
        raise ValueError(f"a WAV file needs an integer sampling rate; got sfreq={sfreq:g}.")
    return int(sfreq)


def write_wav(path, audio, sfreq, normalize=True, peak=0.9):
    """Write a mono waveform as a 16-bit PCM WAV file.

    Parameters
    ----------
    path : str | Path
        Destination file.
    audio : array-like, shape (n_audio,)
        Mono waveform (any scale).
    sfreq : int
        Audio rate (Hz).
    normalize : bool, default=True
        Scale the waveform so its absolute peak is ``peak``, so that clips from
        models with different output levels are heard at comparable loudness.
        With ``False`` the level is kept, except that a waveform whose peak
        exceeds 1 is scaled down to ``peak`` instead of clipping.
    peak : float, default=0.9
        Target absolute peak (full scale is 1).

    Returns
    -------
    path : Path
        The written WAV file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> import soundfile as sf
    >>> from sk_eeg2music.report import write_wav
    >>> tmp = tempfile.TemporaryDirectory()
    >>> tone = np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)  # 1 s at 8 kHz
    >>> path = write_wav(Path(tmp.name) / "tone.wav", tone, sfreq=8000)
    >>> audio, rate = sf.read(path)
    >>> audio.shape, rate, round(float(np.abs(audio).max()), 2)
    ((8000,), 8000, 0.9)
    >>> tmp.cleanup()
    """
    import soundfile as sf

    audio = _check_clip(audio, "audio")
    sfreq = _check_int_rate(sfreq)
    if not 0 < peak <= 1:
        raise ValueError(f"peak must be in (0, 1]; got {peak!r}.")
    max_abs = float(np.max(np.abs(audio)))
    if max_abs > 0 and (normalize or max_abs > 1.0):
        audio = audio * (peak / max_abs)
    path = Path(path)
    sf.write(path, audio.astype(np.float32), sfreq, subtype="PCM_16")
    return path


def plot_log_mel(path, audio, sfreq, n_mels=64, hop_seconds=0.008, top_db=80.0, title=None):
    """Save a small PNG of the log-mel spectrogram of a waveform.

    Parameters
    ----------
    path : str | Path
        Destination PNG file.
    audio : array-like, shape (n_audio,)
        Mono waveform.
    sfreq : int
        Audio rate (Hz).
    n_mels : int, default=64
        Number of mel bands.
    hop_seconds : float, default=0.008
        Frame hop (s); the same 8 ms hop as :mod:`sk_eeg2music.metrics`.
    top_db : float, default=80.0
        Dynamic range shown below the loudest bin, so the silence floor of one
        clip does not set the colours of another.
    title : str | None, default=None
        Optional title drawn above the image.

    Returns
    -------
    path : Path
        The written PNG file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from sk_eeg2music.report import plot_log_mel
    >>> tmp = tempfile.TemporaryDirectory()
    >>> noise = np.random.default_rng(0).standard_normal(8000)
    >>> path = plot_log_mel(Path(tmp.name) / "noise.png", noise, sfreq=8000, title="noise")
    >>> path.read_bytes()[1:4]
    b'PNG'
    >>> tmp.cleanup()
    """
    # The object-oriented API with an Agg canvas: no pyplot global state and no
    # dependency on the user's interactive backend.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    audio = _check_clip(audio, "audio")
    sfreq = check_sfreq(sfreq)
    hop = max(1, int(round(hop_seconds * sfreq)))
    if len(audio) < hop:
        raise ValueError(f"audio of {len(audio)} samples is shorter than one frame ({hop}).")
    db = 10 / np.log(10) * log_mel_spectrogram(audio, sfreq, hop, n_mels=n_mels, eps=1e-12)
    duration = len(audio) / sfreq
    fig = Figure(figsize=(4.0, 1.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.imshow(
        db,
        origin="lower",
        aspect="auto",
        cmap="magma",
        vmin=db.max() - top_db,
        vmax=db.max(),
        extent=(0.0, duration, 0, n_mels),
        interpolation="nearest",
    )
    ax.set_xlabel("time (s)", fontsize=7)
    ax.set_ylabel("mel band", fontsize=7)
    ax.tick_params(labelsize=6)
    if title:
        ax.set_title(title, fontsize=7)
    path = Path(path)
    fig.savefig(path, format="png")
    return path


def check_output_dir(out_dir):
    """Check that ``out_dir`` can be (re)written, before any work is done.

    ``out_dir`` may be missing (with missing parents, created when writing
    starts), an empty folder, or a folder written earlier by
    :func:`atomic_output_dir`; anything else is refused rather than deleted.
    Nothing is created here.

    Parameters
    ----------
    out_dir : str | Path
        The folder about to be written.

    Returns
    -------
    out_dir : Path
        The absolute path.

    Raises
    ------
    OutputDirError
        With a message that says what is wrong and what to do.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sk_eeg2music.report import check_output_dir
    >>> tmp = tempfile.TemporaryDirectory()
    >>> out = check_output_dir(Path(tmp.name) / "new" / "report")  # missing: accepted
    >>> out.is_absolute(), out.exists()  # nothing is created
    (True, False)
    >>> tmp.cleanup()
    """
    out = Path(out_dir).expanduser().resolve()
    if out.parent == out:
        raise OutputDirError(f"cannot use {out} as an output folder; pick a sub-folder.")
    if out.exists() and not out.is_dir():
        raise OutputDirError(f"{out} exists and is not a folder; pick another output folder.")
    try:
        foreign = out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists()
    except OSError as exc:
        raise OutputDirError(f"cannot read {out}: {exc.strerror or exc}.") from exc
    if foreign:
        raise OutputDirError(
            f"{out} is a non-empty folder that sk_eeg2music did not write; it is left "
            "untouched. Pick a new or empty output folder."
        )
    # The nearest existing ancestor decides: missing parents are only created
    # when writing starts, so a refused or failed run leaves no empty folders.
    existing = next(p for p in out.parents if p.exists())
    if not existing.is_dir():
        raise OutputDirError(
            f"cannot write to {out}: {existing} is a file, not a folder. Pick another "
            "output folder."
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputDirError(
            f"cannot write to {existing} (permission denied). Pick an output folder you can "
            "write to."
        )
    return out


@contextlib.contextmanager
def atomic_output_dir(out_dir):
    """Context manager: write into a temporary folder that replaces ``out_dir`` at the end.

    The temporary folder is a sibling of ``out_dir`` (same file system, so the
    final move is a rename). If the block raises, the temporary folder is
    removed and ``out_dir`` is left as it was. Nested use is fine: writing
    with ``atomic_output_dir(tmp / "sub")`` inside the block works as usual.

    Parameters
    ----------
    out_dir : str | Path
        Destination; see :func:`check_output_dir` for what is accepted.

    Yields
    ------
    tmp : Path
        The empty temporary folder to write into.

    Raises
    ------
    OutputDirError
        If ``out_dir`` cannot be written (raised before the block runs).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sk_eeg2music.report import atomic_output_dir
    >>> tmp = tempfile.TemporaryDirectory()
    >>> out = Path(tmp.name) / "run"
    >>> with atomic_output_dir(out) as staging:
    ...     _ = (staging / "result.txt").write_text("done")
    ...     print(out.exists())  # not in place until the block succeeds
    False
    >>> (out / "result.txt").read_text()
    'done'
    >>> tmp.cleanup()
    """
    out = check_output_dir(out_dir)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as exc:
        raise OutputDirError(
            f"cannot write to {out.parent}: {exc.strerror or exc}. Pick an output folder you "
            "can write to."
        ) from exc
    try:
        yield tmp
        (tmp / MARKER).write_text("written by sk_eeg2music; safe to replace\n")
        # mkdtemp makes a private (0o700) folder; give it the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap_into_place(tmp, out):
    """Rename ``tmp`` to ``out``, replacing an existing ``out`` only on success."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / out.name)
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old / out.name, out)
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _slug(text):
    """A short file-name-safe version of a label."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", str(text)).strip("-").lower()
    return slug[:40] or "clip"


def _check_items(items):
    """Validate report items; returns a list of normalised dicts."""
    if isinstance(items, dict) or not hasattr(items, "__iter__"):
        raise ValueError("items must be a list of dicts, one per (stimulus, segment, condition).")
    checked = []
    for i, item in enumerate(items):
        missing = {"stimulus", "segment", "condition", "original"} - set(item)
        if missing:
            raise ValueError(
                f"items[{i}] lacks {sorted(missing)}; each item needs stimulus, segment, "
                "condition, original (a waveform) and optionally reconstructions."
            )
        recs = list(item.get("reconstructions", ()))
        labels = [str(r["label"]) for r in recs]
        if len(set(labels)) != len(labels) or "Original" in labels:
            raise ValueError(
                f"items[{i}] has duplicate reconstruction labels {labels}; labels name the "
                "rows of the page and must be unique (and not 'Original')."
            )
        clips = [("Original", _check_clip(item["original"], f"items[{i}]['original']"))]
        for j, rec in enumerate(recs):
            name = f"items[{i}]['reconstructions'][{j}]['audio']"
            clips.append((str(rec["label"]), _check_clip(rec["audio"], name)))
        checked.append(
            dict(
                stimulus=str(item["stimulus"]),
                segment=int(item["segment"]),
                condition=str(item["condition"]),
                clips=clips,
            )
        )
    return checked


def _metrics_frame(metrics):
    import pandas as pd

    if metrics is None:
        return pd.DataFrame()
    return metrics.copy() if isinstance(metrics, pd.DataFrame) else pd.DataFrame(metrics)


def _format_cell(value):
    if isinstance(value, (float, np.floating)):
        return "—" if not np.isfinite(value) else f"{value:.3f}"
    if value is None:
        return "—"
    return str(value)


def _metrics_table(df):
    if df.empty:
        return "<p>No metrics were computed.</p>"
    esc = html.escape
    head = "".join(f"<th scope='col'>{esc(str(c))}</th>" for c in df.columns)
    rows = []
    for record in df.itertuples(index=False):
        cells = "".join(
            f"<td class='{'num' if isinstance(v, numbers.Number) else 'text'}'>"
            f"{esc(_format_cell(v))}</td>"
            for v in record
        )
        rows.append(f"<tr>{cells}</tr>")
    return (
        f"<table class='metrics'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _condition_key(condition):
    known = _CONDITION_ORDER.index(condition) if condition in _CONDITION_ORDER else 99
    return (known, condition)


def _write_clips(folder, items, sfreq, normalize):
    """Write one WAV and one PNG per clip; returns {(stim, seg): {cond: [(label, wav, png)]}}."""
    (folder / "audio").mkdir()
    (folder / "spectrograms").mkdir()
    groups = {}
    n = 0
    for item in items:
        cells = groups.setdefault((item["stimulus"], item["segment"]), {})
        if item["condition"] in cells:
            raise ValueError(
                f"two items share stimulus={item['stimulus']!r}, segment={item['segment']}, "
                f"condition={item['condition']!r}; merge their reconstructions into one item."
            )
        cells[item["condition"]] = []
        for label, audio in item["clips"]:
            stem = (
                f"{n:03d}_{_slug(item['stimulus'])}_seg{item['segment']}_"
                f"{_slug(item['condition'])}_{_slug(label)}"
            )
            wav = write_wav(folder / "audio" / f"{stem}.wav", audio, sfreq, normalize=normalize)
            png = plot_log_mel(folder / "spectrograms" / f"{stem}.png", audio, sfreq)
            cells[item["condition"]].append(
                (label, wav.relative_to(folder), png.relative_to(folder))
            )
            n += 1
    return groups


def _clip_cell(label, wav, png, condition):
    esc = html.escape
    alt = f"log-mel spectrogram: {label}, {condition}"
    return (
        "<td><figure>"
        f"<audio controls preload='auto' src='{esc(wav.as_posix())}'></audio>"
        f"<img src='{esc(png.as_posix())}' alt='{esc(alt)}' width='400' height='160'>"
        "</figure></td>"
    )


def _clips_section(groups, durations):
    esc = html.escape
    parts = []
    for (stimulus, segment), cells in groups.items():
        conditions = sorted(cells, key=_condition_key)
        labels = []
        for cond in conditions:
            labels += [lab for lab, _, _ in cells[cond] if lab not in labels]
        start = segment * durations[(stimulus, segment)]
        stop = start + durations[(stimulus, segment)]
        head = "".join(f"<th scope='col'>{esc(c)}</th>" for c in conditions)
        rows = []
        for label in labels:
            tds = []
            for cond in conditions:
                found = [(w, p) for lab, w, p in cells[cond] if lab == label]
                tds.append(_clip_cell(label, *found[0], cond) if found else "<td>—</td>")
            rows.append(f"<tr><th scope='row'>{esc(label)}</th>{''.join(tds)}</tr>")
        parts.append(
            f"<section class='stimulus'><h3>{esc(stimulus)} · segment {segment} "
            f"<span class='time'>({start:.1f}–{stop:.1f} s)</span></h3>"
            f"<table class='clips'><thead><tr><th></th>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></section>"
        )
    return "".join(parts)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1400px;padding:1.5rem;color:#1d1d1f;background:#fafafa;line-height:1.45}
h1{font-size:1.6rem;margin:0 0 .3rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}
h3{margin:1.2rem 0 .4rem}.time{color:#666;font-weight:normal;font-size:.9rem}
.sub{color:#555;margin:0 0 1rem}table{border-collapse:collapse}
table.metrics td,table.metrics th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
table.metrics th{background:#eee}
table.metrics td.num{text-align:right;font-variant-numeric:tabular-nums}
table.clips th[scope=row]{text-align:left;padding-right:1rem;max-width:14rem;vertical-align:top}
table.clips td{padding:.3rem .6rem;vertical-align:top}
figure{margin:0}audio{width:400px;display:block}img{display:block;margin-top:.2rem}
dl{display:grid;grid-template-columns:max-content auto;gap:.1rem 1rem}dt{font-weight:600}
dd{margin:0}.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5rem .8rem}
"""


def _render_html(title, split_description, meta, metrics_html, clips_html, notes, normalize):
    esc = html.escape
    level = "Every clip is peak-normalised. " if normalize else ""
    from . import __version__

    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    meta_html = "".join(f"<dt>{esc(str(k))}</dt><dd>{esc(str(v))}</dd>" for k, v in meta.items())
    notes_html = "".join(f"<p class='note'>{esc(str(n))}</p>" for n in notes)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{esc(title)}</h1><p class='sub'>sk_eeg2music {esc(__version__)} · {when}</p>"
        f"{notes_html}<h2>Evaluation</h2><p>{esc(split_description)}</p>"
        f"{f'<dl>{meta_html}</dl>' if meta_html else ''}{metrics_html}"
        f"<h2>Listen</h2><p>{level}Spectrograms: log-mel power, "
        "80 dB range below each clip's loudest bin.</p>"
        f"{clips_html}</body></html>"
    )


def write_report(
    out_dir,
    items,
    metrics,
    *,
    sfreq,
    title="EEG-to-music reconstruction",
    split_description="",
    meta=None,
    notes=(),
    normalize=True,
):
    """Write a reconstruction report folder, atomically.

    Creates ``out_dir/report.html``, ``out_dir/audio/*.wav`` (16-bit PCM),
    ``out_dir/spectrograms/*.png``, ``out_dir/metrics.csv`` and
    ``out_dir/metrics.json``. Items sharing a stimulus and segment form one
    section, with one column per condition (listening before imagery) and one
    row per clip label ("Original" first). The time span shown for a segment
    assumes contiguous segments of the clips' length, as every loader cuts them.

    Parameters
    ----------
    out_dir : str | Path
        Output folder; missing, empty, or written earlier by this package (it is
        then replaced). Nothing is left behind if writing fails.
    items : list of dict
        One per (stimulus, segment, condition), with keys ``stimulus`` (str),
        ``segment`` (int), ``condition`` (str), ``original`` (ndarray, shape
        (n_audio,)) and optionally ``reconstructions``: a list of
        ``{"label": str, "audio": ndarray of shape (n_audio,)}``, labels unique
        within an item. A label names a page row, e.g. ``"GAN, held-out sub-01"``.
    metrics : pandas.DataFrame | list of dict | None
        One row per (model, split, condition, ...), in the column order to
        show; include the chance level and the shuffled control as columns or
        rows so the page can be read on its own.
    sfreq : int
        Audio rate (Hz) of every waveform.
    title : str, default="EEG-to-music reconstruction"
        Page title.
    split_description : str, default=""
        How train and test data were separated (shown above the table and
        saved in ``metrics.json``).
    meta : dict | None, default=None
        Extra ``name: value`` facts shown with the split (data, seeds, ...).
    notes : sequence of str, default=()
        Highlighted remarks shown at the top of the page.
    normalize : bool, default=True
        Peak-normalise every clip (see :func:`write_wav`).

    Returns
    -------
    report : Path
        The path of ``report.html`` in its final place.

    Raises
    ------
    OutputDirError
        If ``out_dir`` cannot be written.
    ValueError
        On malformed items or metrics.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from sk_eeg2music import write_report
    >>> rng = np.random.default_rng(0)
    >>> original = rng.standard_normal(8000)  # 1 s at 8 kHz
    >>> noisy = original + rng.standard_normal(8000)
    >>> items = [{
    ...     "stimulus": "chor-019", "segment": 0, "condition": "listening",
    ...     "original": original,
    ...     "reconstructions": [{"label": "noisy copy", "audio": noisy}],
    ... }]
    >>> metrics = [{"model": "noisy copy", "condition": "listening", "mel_r": 0.5, "chance": 0.0}]
    >>> tmp = tempfile.TemporaryDirectory()
    >>> page = write_report(Path(tmp.name) / "report", items, metrics, sfreq=8000,
    ...                     split_description="illustration only: no split")
    >>> page.name, sorted(p.name for p in page.parent.iterdir() if not p.name.startswith("."))
    ('report.html', ['audio', 'metrics.csv', 'metrics.json', 'report.html', 'spectrograms'])
    >>> tmp.cleanup()
    """
    items = _check_items(items)
    sfreq = _check_int_rate(sfreq)
    df = _metrics_frame(metrics)
    meta = dict(meta or {})
    durations = {(it["stimulus"], it["segment"]): len(it["clips"][0][1]) / sfreq for it in items}
    with atomic_output_dir(out_dir) as tmp:
        groups = _write_clips(tmp, items, sfreq, normalize)
        df.to_csv(tmp / "metrics.csv", index=False)
        payload = dict(
            title=title,
            split_description=split_description,
            meta={str(k): str(v) for k, v in meta.items()},
            metrics=json.loads(df.to_json(orient="records")) if not df.empty else [],
        )
        (tmp / "metrics.json").write_text(json.dumps(payload, indent=2))
        page = _render_html(
            title,
            split_description,
            meta,
            _metrics_table(df),
            _clips_section(groups, durations),
            notes,
            normalize,
        )
        (tmp / "report.html").write_text(page, encoding="utf-8")
    return Path(out_dir).expanduser().resolve() / "report.html"
