"""A reconstruction report: a folder with ``report.html``, WAV files and spectrograms.

The page follows the published demos of EEG-to-music reconstruction: for each
stimulus segment, the original audio and every reconstruction get an audio
player and a log-mel spectrogram, conditions (listening, imagery) side by
side, above a metrics table that states the split and the chance level. The
page is self-contained (inline CSS, no script, no external asset), so it opens
offline and can be archived as is.

Every folder is written atomically: files go to a uniquely named temporary
sibling folder that replaces ``out_dir`` only once complete, so a failure (or
a Ctrl-C) never leaves a half-written report behind.
"""

import datetime
import html
import json
import numbers
import re
from pathlib import Path

import numpy as np

from ._io import OutputDirError, _check_clip, _check_int_rate, atomic_output_dir, write_wav
from .audio import log_mel_spectrogram
from .utils._validation import check_sfreq

# OutputDirError and write_wav live in the private ``_io`` module (every output
# of the package goes through it) and are public here, next to write_report.
__all__ = [
    "OutputDirError",
    "plot_log_mel",
    "write_report",
    "write_wav",
]

_CONDITION_ORDER = ("listening", "imagery")


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


def _slug(text):
    """A short file-name-safe version of a label."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", str(text)).strip("-").lower()
    return slug[:40] or "clip"


_SUBJECT = re.compile(r"^(?P<system>.+?),\s*(?:held-out\s+)?(?P<subject>sub-[\w.-]+)$")


def split_label(label):
    """Split a report row label into (system, subject).

    Parameters
    ----------
    label : str
        A row label of the report, e.g. ``"GAN, held-out sub-01"``.

    Returns
    -------
    system : str
        The label without its subject part.
    subject : str
        The held-out subject, or ``""`` when the label names none.

    Examples
    --------
    >>> from sk_eeg2music.report import split_label
    >>> split_label("GAN, held-out sub-01")
    ('GAN', 'sub-01')
    >>> split_label("Mean-spectrum baseline (no EEG)")
    ('Mean-spectrum baseline (no EEG)', '')
    """
    match = _SUBJECT.match(label.strip())
    if match:
        return match["system"].strip(), match["subject"]
    return label.strip(), ""


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
        # Who made each clip, for the clips.csv manifest (listening tests read it).
        sources = [("Original", "")]
        for j, rec in enumerate(recs):
            name = f"items[{i}]['reconstructions'][{j}]['audio']"
            clips.append((str(rec["label"]), _check_clip(rec["audio"], name)))
            system, subject = split_label(str(rec["label"]))
            sources.append((str(rec.get("system", system)), str(rec.get("subject", subject))))
        checked.append(
            dict(
                stimulus=str(item["stimulus"]),
                segment=int(item["segment"]),
                condition=str(item["condition"]),
                clips=clips,
                sources=sources,
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


def _html_cell(value):
    """One escaped metrics cell; numbers carry the class that right-aligns them."""
    text = html.escape(_format_cell(value))
    return f"<span class='num'>{text}</span>" if isinstance(value, numbers.Number) else text


def _metrics_table(df):
    if df.empty:
        return "<p>No metrics were computed.</p>"
    # escape=False because every header and cell is escaped here (numbers need markup).
    return df.rename(columns=lambda c: html.escape(str(c))).to_html(
        index=False,
        border=0,
        classes="metrics",
        justify="left",
        escape=False,
        na_rep="<span class='num'>—</span>",
        formatters=[_html_cell] * df.shape[1],
    )


def _condition_key(condition):
    known = _CONDITION_ORDER.index(condition) if condition in _CONDITION_ORDER else 99
    return (known, condition)


def _write_clips(folder, items, sfreq, normalize):
    """Write one WAV and one PNG per clip, and the ``clips.csv`` manifest.

    Returns ``{(stim, seg): {cond: [(label, wav, png)]}}``.
    """
    import pandas as pd

    (folder / "audio").mkdir()
    (folder / "spectrograms").mkdir()
    groups = {}
    manifest = []
    n = 0
    for item in items:
        cells = groups.setdefault((item["stimulus"], item["segment"]), {})
        if item["condition"] in cells:
            raise ValueError(
                f"two items share stimulus={item['stimulus']!r}, segment={item['segment']}, "
                f"condition={item['condition']!r}; merge their reconstructions into one item."
            )
        cells[item["condition"]] = []
        for (label, audio), (system, subject) in zip(item["clips"], item["sources"]):
            stem = (
                f"{n:03d}_{_slug(item['stimulus'])}_seg{item['segment']}_"
                f"{_slug(item['condition'])}_{_slug(label)}"
            )
            wav = write_wav(folder / "audio" / f"{stem}.wav", audio, sfreq, normalize=normalize)
            png = plot_log_mel(folder / "spectrograms" / f"{stem}.png", audio, sfreq)
            cells[item["condition"]].append(
                (label, wav.relative_to(folder), png.relative_to(folder))
            )
            manifest.append(
                dict(
                    file=wav.relative_to(folder).as_posix(),
                    stimulus=item["stimulus"],
                    segment=item["segment"],
                    condition=item["condition"],
                    system=system,
                    subject=subject,
                    label=label,
                )
            )
            n += 1
    columns = ["file", "stimulus", "segment", "condition", "system", "subject", "label"]
    pd.DataFrame(manifest, columns=columns).to_csv(folder / "clips.csv", index=False)
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
table.metrics span.num{display:block;text-align:right;font-variant-numeric:tabular-nums}
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
    tables=None,
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
        within an item. A label names a page row, e.g. ``"GAN, held-out sub-01"``;
        optional ``"system"`` and ``"subject"`` keys say which model made the
        clip for which held-out subject (written to ``clips.csv``, one row per
        WAV: ``file``, ``stimulus``, ``segment``, ``condition``, ``system``
        (``"Original"`` for the music), ``subject``, ``label``; the label
        is split by :func:`split_label` when they are absent).
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
    tables : dict of str -> pandas.DataFrame | None, default=None
        More tables shown under the metrics table, each under its title (e.g.
        the paired tests, so no table is wider than the page); also saved in
        ``metrics.json`` under ``tables``.

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
    ... # doctest: +NORMALIZE_WHITESPACE
    ('report.html', ['audio', 'clips.csv', 'metrics.csv', 'metrics.json', 'report.html',
     'spectrograms'])
    >>> tmp.cleanup()
    """
    items = _check_items(items)
    sfreq = _check_int_rate(sfreq)
    df = _metrics_frame(metrics)
    extra = {str(name): _metrics_frame(t) for name, t in (tables or {}).items()}
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
            tables={name: json.loads(t.to_json(orient="records")) for name, t in extra.items()},
        )
        (tmp / "metrics.json").write_text(json.dumps(payload, indent=2))
        page = _render_html(
            title,
            split_description,
            meta,
            _metrics_table(df)
            + "".join(f"<h3>{html.escape(n)}</h3>{_metrics_table(t)}" for n, t in extra.items()),
            _clips_section(groups, durations),
            notes,
            normalize,
        )
        (tmp / "report.html").write_text(page, encoding="utf-8")
    return Path(out_dir).expanduser().resolve() / "report.html"
