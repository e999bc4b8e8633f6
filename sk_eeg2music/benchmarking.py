"""Helpers of the benchmark scripts: result tables in markdown, marker blocks, machine labels.

The scripts in ``benchmarks/`` measure; these functions write what they
measured into ``docs/benchmarks.md`` the same way everywhere. A script owns
the block between ``<!-- name -->`` and ``<!-- /name -->`` in that page and
rewrites only it (:func:`replace_block`, :func:`write_block`); tables are pipe
tables built from a :class:`pandas.DataFrame` (:func:`markdown_table`); every
block names the command (:func:`command_line`) and the machine
(:func:`device_label`, :func:`machine_label`) that produced it.

Pure functions of their arguments and of the machine they run on; torch is
only imported by the labels that describe it.
"""

import os
import platform
import shlex
import sys
from pathlib import Path

import numpy as np

__all__ = [
    "command_line",
    "cpu_model",
    "device_label",
    "format_number",
    "format_p_value",
    "machine_label",
    "markdown_table",
    "replace_block",
    "write_block",
]


def replace_block(doc, marker, text):
    """Return ``doc`` with the block between ``<!-- marker -->`` and ``<!-- /marker -->`` replaced.

    Parameters
    ----------
    doc : str
        Markdown text.
    marker : str
        Block name, e.g. ``"speed"``.
    text : str
        New content of the block (markers excluded).

    Returns
    -------
    doc : str
        The text with the block replaced, or appended at the end when absent.
        Everything outside the block is kept byte for byte.

    Raises
    ------
    ValueError
        If ``marker`` is empty or holds characters that would end the comment.

    Examples
    --------
    >>> from sk_eeg2music.benchmarking import replace_block
    >>> doc = "# T\\n<!-- speed -->\\nold\\n<!-- /speed -->\\nafter\\n"
    >>> print(replace_block(doc, "speed", "new"))
    # T
    <!-- speed -->
    new
    <!-- /speed -->
    after
    <BLANKLINE>
    """
    if not marker or "-->" in marker or "\n" in marker:
        raise ValueError(f"marker must be a non-empty one-line name without '-->'; got {marker!r}.")
    start, end = f"<!-- {marker} -->", f"<!-- /{marker} -->"
    block = f"{start}\n{text}\n{end}"
    i = doc.find(start)
    j = doc.find(end, i + len(start)) if i >= 0 else -1
    if i >= 0 and j >= 0:
        return doc[:i] + block + doc[j + len(end) :]
    return doc.rstrip() + "\n\n" + block + "\n"


def write_block(path, marker, text):
    """Write ``text`` between the ``marker`` comments of the file ``path``.

    Parameters
    ----------
    path : str | pathlib.Path
        Markdown file; created (with only the block) when missing.
    marker : str
        Block name (see :func:`replace_block`).
    text : str
        New content of the block.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sk_eeg2music.benchmarking import write_block
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "benchmarks.md"
    >>> _ = write_block(path, "quality", "| a |\\n|---|\\n| 1 |")
    >>> print(path.read_text())
    <!-- quality -->
    | a |
    |---|
    | 1 |
    <!-- /quality -->
    <BLANKLINE>
    """
    path = Path(path)
    doc = path.read_text(encoding="utf-8") if path.exists() else ""
    out = replace_block(doc, marker, text)
    path.write_text(out.lstrip("\n") if not doc else out, encoding="utf-8")
    return path


def _cell(value):
    """One table cell: ``|`` escaped and line breaks folded, so the row stays one row."""
    return " ".join(str(value).replace("|", "\\|").split("\n")).strip()


def markdown_table(frame, index=False):
    """A markdown pipe table of a data frame (no dependency on ``tabulate``).

    Parameters
    ----------
    frame : pandas.DataFrame
        Cells are written with ``str``: format numbers first (e.g. with
        :func:`format_number`) to choose their digits.
    index : bool, default=False
        Write the index as the first column.

    Returns
    -------
    table : str
        Header row, separator and one row per frame row, joined by newlines;
        ``|`` inside a cell is escaped, line breaks become spaces.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_eeg2music.benchmarking import markdown_table
    >>> print(markdown_table(pd.DataFrame({"model": ["gan", "a|b"], "r": ["0.10", "–"]})))
    | model | r |
    |---|---|
    | gan | 0.10 |
    | a\\|b | – |
    """
    if index:
        frame = frame.reset_index()
    head = "| " + " | ".join(_cell(c) for c in frame.columns) + " |"
    sep = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join([head, sep, *body])


def format_number(value, digits=3):
    """A number with ``digits`` decimals, or ``"–"`` when missing.

    Parameters
    ----------
    value : float | None
    digits : int, default=3

    Returns
    -------
    text : str
        ``"–"`` for ``None``, NaN or infinity.

    Examples
    --------
    >>> from sk_eeg2music.benchmarking import format_number
    >>> format_number(0.12345), format_number(float("nan")), format_number(None)
    ('0.123', '–', '–')
    """
    if value is None:
        return "–"
    value = float(value)
    return f"{value:.{digits}f}" if np.isfinite(value) else "–"


def format_p_value(p):
    """A p-value with three decimals, ``"<0.001"`` below that, ``"–"`` when missing.

    Parameters
    ----------
    p : float | None

    Returns
    -------
    text : str

    Examples
    --------
    >>> from sk_eeg2music.benchmarking import format_p_value
    >>> format_p_value(0.0312), format_p_value(2e-5), format_p_value(float("nan"))
    ('0.031', '<0.001', '–')
    """
    if p is None or not np.isfinite(float(p)):
        return "–"
    return "<0.001" if p < 1e-3 else f"{p:.3f}"


def command_line(script, argv=None):
    """The command that ran a benchmark script, shell-quoted, for its doc block.

    Parameters
    ----------
    script : str
        Script path as a reader types it, e.g. ``"benchmarks/quality.py"``.
    argv : sequence of str | None, default=None
        Its arguments; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    command : str
        ``"python <script> <args>"``.

    Examples
    --------
    >>> from sk_eeg2music.benchmarking import command_line
    >>> command_line("benchmarks/quality.py", ["--models", "Linear (mel)", "--quick"])
    "python benchmarks/quality.py --models 'Linear (mel)' --quick"
    """
    argv = sys.argv[1:] if argv is None else argv
    return " ".join(["python", script, *(shlex.quote(str(a)) for a in argv)])


def cpu_model():
    """The CPU's model name.

    Returns
    -------
    name : str
        From ``/proc/cpuinfo`` on Linux, else ``platform.processor()`` or the
        machine type.

    Examples
    --------
    >>> from sk_eeg2music.benchmarking import cpu_model
    >>> isinstance(cpu_model(), str)
    True
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_label(device="cpu", threads=None):
    """Human label of a torch device, e.g. ``"CPU 2 threads (Intel Xeon)"``, ``"CUDA NVIDIA H100"``.

    Parameters
    ----------
    device : str, default="cpu"
        Torch device string (``"cpu"``, ``"cuda"``, ``"cuda:1"``).
    threads : int | None, default=None
        CPU threads used; ``None`` reads ``torch.get_num_threads()``.

    Returns
    -------
    label : str
        Results measured on different devices carry different labels, so
        tables and CSVs keep them apart.

    Examples
    --------
    >>> from sk_eeg2music.benchmarking import device_label
    >>> device_label("cpu", threads=2)
    'CPU 2 threads (...)'
    """
    import torch

    if str(device).startswith("cuda"):
        return f"CUDA {torch.cuda.get_device_name(torch.device(device))}"
    threads = threads or torch.get_num_threads()
    return f"CPU {threads} threads ({cpu_model()})"


def machine_label():
    """Cores, memory and torch version of this machine.

    Returns
    -------
    label : str
        E.g. ``"2 cores, 24 GiB RAM, torch 2.13.0+cpu"`` (memory left out
        where the platform does not report it). The CPU model is in
        :func:`device_label`.

    Examples
    --------
    >>> from sk_eeg2music.benchmarking import machine_label
    >>> machine_label()
    '... cores..., torch ...'
    """
    import torch

    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        mem = f", {mem:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        mem = ""
    return f"{os.cpu_count()} cores{mem}, torch {torch.__version__}"
