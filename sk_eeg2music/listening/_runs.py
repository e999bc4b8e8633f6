"""Read the clips of a reconstruction run folder: which WAV is which system, for which trial.

Three layouts are understood, tried in this order:

``clips.csv``
    A manifest, one row per WAV: ``file`` (relative to the folder), ``stimulus``,
    ``segment``, ``condition``, ``system`` and optionally ``subject``. The
    original music has ``system`` ``"Original"`` (or a ``role`` column with
    ``"reference"``).
``report.html`` (``demo`` and :func:`~sk_eeg2music.report.write_report`)
    The page's clip tables give, per (stimulus, segment) section and condition
    column, one row per label; the row ``"Original"`` is the reference and a
    label ``"<system>, held-out <subject>"`` names a system and a test subject.
``index.csv`` (``reconstruct``)
    One reconstruction per trial; it holds no original music, so it is only
    usable when its rows include the originals (a ``system`` column).
"""

import html.parser
import re
from pathlib import Path

import pandas as pd

from ..report import split_label

REFERENCE = "Original"
#: Columns of the clip table returned by :func:`read_run`.
CLIP_COLUMNS = ["file", "stimulus", "segment", "condition", "system", "subject", "label"]

_SECTION = re.compile(r"^(?P<stimulus>.+?)\s*·\s*segment\s+(?P<segment>-?\d+)")


class _ReportParser(html.parser.HTMLParser):
    """Collects (stimulus, segment, condition, label, src) from the report's clip tables."""

    def __init__(self):
        super().__init__()
        self.rows = []
        self._section = None  # (stimulus, segment)
        self._text = None  # text being collected, with its tag
        self._conditions = []
        self._label = None
        self._col = -1
        self._in_clips = self._in_head = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "h3" or (tag == "th" and (self._in_head or attrs.get("scope") == "row")):
            self._text = [tag, ""]
        elif tag == "table" and "clips" in (attrs.get("class") or "").split():
            self._in_clips, self._conditions = True, []
        elif tag == "thead" and self._in_clips:
            self._in_head = True
        elif tag == "tr" and self._in_clips and not self._in_head:
            self._label, self._col = None, -1
        elif tag == "td" and self._in_clips:
            self._col += 1
        elif tag == "audio" and self._in_clips and self._section and attrs.get("src"):
            if self._label is not None and self._col < len(self._conditions):
                stim, seg = self._section
                cond = self._conditions[self._col]
                self.rows.append((stim, seg, cond, self._label, attrs["src"]))

    def handle_endtag(self, tag):
        if self._text is not None and tag == self._text[0]:
            text = " ".join(self._text[1].split())
            self._text = None
            if tag == "h3":
                match = _SECTION.match(text)
                self._section = (match["stimulus"], int(match["segment"])) if match else None
            elif self._in_head:
                if text:  # the first header cell is empty
                    self._conditions.append(text)
            else:
                self._label = text
        elif tag == "thead":
            self._in_head = False
        elif tag == "table":
            self._in_clips = False

    def handle_data(self, data):
        if self._text is not None:
            self._text[1] += data


def _from_report(run_dir):
    parser = _ReportParser()
    parser.feed((run_dir / "report.html").read_text(encoding="utf-8"))
    rows = []
    for stim, seg, cond, label, src in parser.rows:
        system, subject = (REFERENCE, "") if label == REFERENCE else split_label(label)
        rows.append(
            dict(
                file=src,
                stimulus=stim,
                segment=seg,
                condition=cond,
                system=system,
                subject=subject,
                label=label,
            )
        )
    return pd.DataFrame(rows, columns=CLIP_COLUMNS)


def _from_table(path):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"file", "stimulus", "segment", "condition"} - set(df.columns)
    if missing:
        raise ValueError(f"{path} lacks the column(s) {sorted(missing)}.")
    if "system" not in df.columns:
        for alt in ("model", "label"):
            if alt in df.columns:
                df["system"] = df[alt]
                break
    if "system" not in df.columns:
        raise ValueError(
            f"{path} names no system per WAV (no 'system' column) and holds no original "
            "music: a listening test needs the original of every segment. Write a clips.csv "
            "with columns file, stimulus, segment, condition, system (system 'Original' for "
            "the originals), or build the test from a demo/report folder."
        )
    if "role" in df.columns:
        df.loc[df["role"].str.lower() == "reference", "system"] = REFERENCE
    for col in ("subject", "label"):
        if col not in df.columns:
            df[col] = df["system"] if col == "label" else ""
    for i, seg in enumerate(df["segment"]):
        if not re.fullmatch(r"-?\d+", seg.strip()):
            raise ValueError(f"{path}, row {i + 1}: segment {seg!r} is not an integer.")
    df["segment"] = df["segment"].astype(int)
    return df[CLIP_COLUMNS]


def read_run(run_dir):
    """The clips of a run folder, one row per WAV.

    Parameters
    ----------
    run_dir : str | Path
        What ``demo``, ``reconstruct`` or :func:`~sk_eeg2music.report.write_report`
        wrote, or any folder with a ``clips.csv`` manifest (see the module docstring).

    Returns
    -------
    clips : pandas.DataFrame
        Columns ``file`` (absolute path), ``stimulus``, ``segment`` (int),
        ``condition``, ``system`` (``"Original"`` for the reference music),
        ``subject`` (held-out subject or ``""``) and ``label`` (as the run names it).

    Raises
    ------
    ValueError
        If the folder holds no audio, no original music, or a listed WAV is missing.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from sk_eeg2music import write_report
    >>> from sk_eeg2music.listening._runs import read_run
    >>> rng = np.random.default_rng(0)
    >>> items = [dict(stimulus="chor-019", segment=0, condition="listening",
    ...               original=rng.standard_normal(4000),
    ...               reconstructions=[dict(label="GAN, held-out sub-01",
    ...                                     audio=rng.standard_normal(4000))])]
    >>> tmp = tempfile.TemporaryDirectory()
    >>> _ = write_report(Path(tmp.name) / "run", items, None, sfreq=8000)
    >>> read_run(Path(tmp.name) / "run")[["stimulus", "condition", "system", "subject"]]
       stimulus  condition    system subject
    0  chor-019  listening  Original
    1  chor-019  listening       GAN  sub-01
    >>> tmp.cleanup()
    """
    run_dir = Path(run_dir).expanduser()
    if not run_dir.is_dir():
        raise ValueError(f"{run_dir} is not a folder; pass the folder a run wrote.")
    if (run_dir / "clips.csv").is_file():
        clips = _from_table(run_dir / "clips.csv")
    elif (run_dir / "report.html").is_file():
        clips = _from_report(run_dir)
    elif (run_dir / "index.csv").is_file():
        clips = _from_table(run_dir / "index.csv")
    elif (run_dir / "metrics.csv").is_file():
        raise ValueError(
            f"{run_dir} holds metrics but no audio (what `evaluate` writes); build the test "
            "from a folder with WAV files: a `demo` report, or a clips.csv manifest."
        )
    else:
        raise ValueError(
            f"{run_dir} holds no clips.csv, report.html or index.csv; pass the folder a "
            "`demo` or `reconstruct` run wrote."
        )
    if clips.empty:
        raise ValueError(f"{run_dir} lists no audio clips.")
    files = []
    for i, name in enumerate(clips["file"]):
        path = (run_dir / name).resolve()
        if run_dir.resolve() not in path.parents or not path.is_file():
            raise ValueError(f"{run_dir}: clip {i + 1} ({name}) is not a file inside the run.")
        files.append(str(path))
    clips = clips.assign(file=files)
    if not (clips["system"] == REFERENCE).any():
        raise ValueError(
            f"{run_dir} holds no original music (no clip of system {REFERENCE!r}); a MUSHRA "
            "trial needs the reference. Add the originals to a clips.csv manifest."
        )
    return clips.reset_index(drop=True)
