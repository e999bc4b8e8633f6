"""Shared helpers of the benchmark scripts: marker blocks in docs/benchmarks.md, machine labels.

Pure functions (no heavy imports) so that ``tests/test_benchmarks.py`` can check
them in milliseconds.
"""

import os
import platform
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def replace_block(doc, marker, text):
    """Return ``doc`` with the block between ``<!-- marker -->`` and ``<!-- /marker -->`` replaced.

    Parameters
    ----------
    doc : str
        Markdown text.
    marker : str
        Block name.
    text : str
        New content of the block (markers excluded).

    Returns
    -------
    doc : str
        The text with the block replaced, or appended at the end when absent.
        Everything outside the block is kept byte for byte.
    """
    start, end = f"<!-- {marker} -->", f"<!-- /{marker} -->"
    block = f"{start}\n{text}\n{end}"
    i = doc.find(start)
    j = doc.find(end, i + len(start)) if i >= 0 else -1
    if i >= 0 and j >= 0:
        return doc[:i] + block + doc[j + len(end) :]
    return doc.rstrip() + "\n\n" + block + "\n"


def write_doc(text, marker="quality", path=DOC):
    """Write ``text`` between the ``marker`` comments of ``path`` (created if missing)."""
    path = Path(path)
    doc = path.read_text() if path.exists() else ""
    path.write_text(replace_block(doc, marker, text))


def cpu_model():
    """The CPU's model name from /proc/cpuinfo (``platform.processor()`` elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
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
        Torch device string.
    threads : int | None, default=None
        CPU threads used; None reads ``torch.get_num_threads()``.
    """
    import torch

    if str(device).startswith("cuda"):
        return f"CUDA {torch.cuda.get_device_name(torch.device(device))}"
    threads = threads or torch.get_num_threads()
    return f"CPU {threads} threads ({cpu_model()})"


def machine_label():
    """Cores, memory and torch version of this machine."""
    import torch

    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        mem = f", {mem:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        mem = ""
    return f"{os.cpu_count()} cores{mem}, torch {torch.__version__}"
