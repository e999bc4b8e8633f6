"""Output files and folders: checked before any work, written atomically.

Every output of the package goes through this module:

- :func:`check_output_dir` and :func:`check_output_file` refuse an unusable
  destination *before* any work starts. Besides the path checks they probe
  the folder that will receive the output by creating and removing a
  temporary file there, so a read-only mount, ``/proc`` or a full quota is
  caught at once (``os.access`` is not enough: it says yes to root, and knows
  nothing of mounts).
- :func:`atomic_output_dir` and :func:`atomic_output_file` stage the output
  under a unique temporary name next to its destination and rename it into
  place only once complete, so a failure or a Ctrl-C never leaves a
  half-written result, and concurrent writers to one destination never
  corrupt each other: each stages its own copy, and the last complete one
  wins.
- :func:`write_wav` writes one WAV file the same way, and turns libsndfile's
  errors (a full disk, ...) into :class:`OSError`.
- :func:`atomic_write` writes bytes to a file atomically (model files,
  training checkpoints).

Write failures surface as :class:`OSError` (:class:`OutputDirError` for a
destination refused before writing), never as a half-written file.
"""

import contextlib
import errno
import os
import shutil
import stat
import tempfile
import uuid
from pathlib import Path

import numpy as np

from .utils._validation import check_audio, check_sfreq

#: Marks a folder written by :func:`atomic_output_dir`; only such folders (or
#: empty ones) are ever replaced, so ``--out ~`` cannot wipe a home folder.
MARKER = ".sk_eeg2music-output"

#: Renames tried before a destination that other writers keep replacing is
#: given up on (each try only fails if another writer renamed in between).
_MAX_RENAMES = 50


class OutputDirError(OSError):
    """The output folder cannot be written (not writable, not a folder, not ours).

    Raised by :func:`~sk_eeg2music.report.write_report` (and the command
    line's output checks) before anything is written; its message says what to
    do.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sk_eeg2music.report import OutputDirError, write_report
    >>> tmp = tempfile.TemporaryDirectory()
    >>> _ = (Path(tmp.name) / "notes.txt").write_text("not ours")
    >>> try:
    ...     write_report(tmp.name, [], None, sfreq=8000)  # a folder this package did not write
    ... except OutputDirError:
    ...     print("refused")
    refused
    >>> tmp.cleanup()
    """


class OutputExistsError(OutputDirError, FileExistsError):
    """The output appeared while this run was writing it, and may not be replaced."""


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


def _reason(exc):
    """The short reason of an OSError (``strerror``), or its text."""
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _public_mode(path, mode):
    """Give a ``mkstemp``/``mkdtemp`` path (created 0o600/0o700) the usual mode."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)


def _probe(folder, what):
    """Create and remove a temporary file in ``folder``; OutputDirError if that fails."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".sk_eeg2music-probe-", dir=folder)
    except OSError as exc:
        raise OutputDirError(
            f"cannot write to {folder} ({_reason(exc)}). Pick {what} you can write to."
        ) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def _nearest_existing(path):
    """The nearest existing ancestor of ``path`` (its own folder if that exists)."""
    return next(p for p in path.parents if p.exists())


def write_wav(path, audio, sfreq, normalize=True, peak=0.9):
    """Write a mono waveform as a 16-bit PCM WAV file, atomically.

    The file is written under a temporary name in the same folder and renamed
    to ``path`` once complete, so a failure (a full disk) leaves any previous
    file at ``path`` untouched and no partial file behind.

    Parameters
    ----------
    path : str | Path
        Destination file (always WAV, whatever its extension).
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

    Raises
    ------
    OSError
        If the file cannot be written (libsndfile's errors included), with the
        path in the message.

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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        try:
            sf.write(tmp, audio.astype(np.float32), sfreq, subtype="PCM_16", format="WAV")
        except sf.SoundFileError as exc:  # libsndfile reports a full disk as a RuntimeError
            raise OSError(f"cannot write {path}: {exc}") from exc
        _public_mode(tmp, 0o666)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def atomic_write(path, data, overwrite=True):
    """Write ``data`` (bytes) to ``path`` through a temporary file in the same folder.

    Parameters
    ----------
    path : str | Path
        Destination file; replaced only once the new content is on disk.
    data : bytes
        The whole content.
    overwrite : bool, default=True
        Whether an existing file may be replaced. Without it, a file that
        exists at ``path`` when the new one is published (not only when writing
        starts) is kept and :class:`OutputExistsError` is raised.

    Returns
    -------
    path : Path
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _public_mode(tmp, 0o666)
        _publish(tmp, path, overwrite)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # gone after os.replace; left behind by a hard link
    return path


def check_output_dir(out_dir):
    """Check that ``out_dir`` can be (re)written, before any work is done.

    ``out_dir`` may be missing (with missing parents, created when writing
    starts), an empty folder, or a folder written earlier by
    :func:`atomic_output_dir`; anything else is refused rather than deleted.
    The folder that will receive the output is probed by creating and removing
    a temporary file; nothing else is created.

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
    >>> from sk_eeg2music._io import check_output_dir
    >>> tmp = tempfile.TemporaryDirectory()
    >>> out = check_output_dir(Path(tmp.name) / "new" / "report")  # missing: accepted
    >>> out.is_absolute(), out.exists()  # nothing is created
    (True, False)
    >>> tmp.cleanup()
    """
    out = Path(out_dir).expanduser().resolve()
    if out.parent == out:
        raise OutputDirError(f"cannot use {out} as an output folder; pick a sub-folder.")
    try:  # one stat: "exists" then "is a folder" would race with another writer's rename
        is_other = not stat.S_ISDIR(os.stat(out).st_mode)
    except (FileNotFoundError, NotADirectoryError):  # missing, or under a file (see below)
        is_other = False
    if is_other:
        raise OutputDirError(f"{out} exists and is not a folder; pick another output folder.")
    _check_ours(out)
    # The nearest existing ancestor decides: missing parents are only created
    # when writing starts, so a refused or failed run leaves no empty folders.
    existing = _nearest_existing(out)
    if not existing.is_dir():
        raise OutputDirError(
            f"cannot write to {out}: {existing} is a file, not a folder. Pick another "
            "output folder."
        )
    _probe(existing, "an output folder")
    return out


def _check_ours(out):
    """Refuse a non-empty folder that this package did not write."""
    try:
        # One listing, and the same folder before and after it: another writer may
        # move our previous output aside and delete it while it is being listed
        # (the marker already gone, the files not yet), which is not foreign.
        before = os.stat(out)
        names = os.listdir(out) if stat.S_ISDIR(before.st_mode) else []
        after = os.stat(out)
        same = (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino)
        foreign = same and bool(names) and MARKER not in names
    except (FileNotFoundError, NotADirectoryError):  # moved away meanwhile (another writer)
        foreign = False
    except OSError as exc:
        raise OutputDirError(f"cannot read {out}: {_reason(exc)}.") from exc
    if foreign:
        raise OutputDirError(
            f"{out} is a non-empty folder that sk_eeg2music did not write; it is left "
            "untouched. Pick a new or empty output folder."
        )


@contextlib.contextmanager
def atomic_output_dir(out_dir):
    """Context manager: write into a temporary folder that replaces ``out_dir`` at the end.

    The temporary folder is a uniquely named sibling of ``out_dir`` (same file
    system, so the final move is a rename). If the block raises (a
    ``KeyboardInterrupt`` included), the temporary folder is removed and
    ``out_dir`` is left as it was. Concurrent writers to one ``out_dir`` each
    stage their own folder; every one either puts a complete folder in place
    or fails with :class:`OSError`, and no temporary folder is left behind.
    Nested use is fine: writing with ``atomic_output_dir(tmp / "sub")`` inside
    the block works as usual.

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
        If ``out_dir`` cannot be written (raised before the block runs), or if
        by the end of the block something that this package did not write took
        its place.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sk_eeg2music._io import atomic_output_dir
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
            f"cannot write to {out.parent}: {_reason(exc)}. Pick an output folder you can write to."
        ) from exc
    try:
        yield tmp
        (tmp / MARKER).write_text("written by sk_eeg2music; safe to replace\n")
        _public_mode(tmp, 0o777)
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap_into_place(tmp, out):
    """Rename the folder ``tmp`` to ``out``, replacing a previous output of ours.

    A folder cannot be renamed over a non-empty one, so the previous ``out``
    is first renamed aside to a name unique to this writer. Another writer
    may put its own folder at ``out`` in between: the rename then fails with
    ENOTEMPTY/EEXIST and is retried (the last complete output wins). Every
    folder renamed aside is removed at the end; if the final rename fails for
    another reason, the previous output is put back when ``out`` is still free.
    """
    aside = []
    try:
        for _ in range(_MAX_RENAMES):
            try:
                os.rename(tmp, out)
                return
            except OSError as exc:
                # ENOTEMPTY/EEXIST: a folder is at ``out``; anything else is a real failure.
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
            _check_ours(out)  # what is there now must still be ours to replace
            old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:12]}"
            try:
                os.rename(out, old)
            except FileNotFoundError:
                continue  # another writer moved it aside first
            aside.append(old)
        raise OutputDirError(
            f"{out} kept being replaced by other writers; {_MAX_RENAMES} renames failed. "
            "Give each run its own output folder."
        )
    except BaseException:
        if aside and not out.exists():
            with contextlib.suppress(OSError):
                os.rename(aside.pop(), out)  # put the previous output back
        raise
    finally:
        for old in aside:
            shutil.rmtree(old, ignore_errors=True)


def check_output_file(path, overwrite=False):
    """Check that a file can be written at ``path``, before any work is done.

    The folder that will hold the file is probed by creating and removing a
    temporary file there; missing parent folders are created only when
    writing starts (:func:`atomic_output_file`).

    Parameters
    ----------
    path : str | Path
        Destination file.
    overwrite : bool, default=False
        Whether an existing file may be replaced.

    Returns
    -------
    path : Path
        The absolute path.

    Raises
    ------
    OutputDirError
        With a message that says what is wrong and what to do.
    """
    out = Path(path).expanduser().resolve()
    if out.is_dir():
        raise OutputDirError(
            f"{out} is a folder; --out takes the file to write, e.g. {out / 'model.safetensors'}."
        )
    if out.exists() and not overwrite:
        raise OutputDirError(f"{out} exists; pass --overwrite to replace it, or pick a new name.")
    existing = _nearest_existing(out)
    if not existing.is_dir():
        raise OutputDirError(
            f"cannot write {out}: {existing} is a file, not a folder. Pick another path."
        )
    _probe(existing, "a path")
    return out


@contextlib.contextmanager
def atomic_output_file(path, overwrite=False):
    """Context manager: write a file under a temporary name, then publish it at ``path``.

    Missing parent folders are created. If the block raises (a
    ``KeyboardInterrupt`` included), the temporary file is removed and
    nothing appears at ``path``. Without ``overwrite``, a file that appeared
    at ``path`` meanwhile (another run) is refused at the moment of
    publishing, not only when checked: the file is published with a hard
    link, which fails if ``path`` exists.

    Parameters
    ----------
    path : str | Path
        Destination file.
    overwrite : bool, default=False
        Whether an existing file may be replaced.

    Yields
    ------
    tmp : Path
        A temporary file (empty, same folder) to write to or replace.

    Raises
    ------
    OutputDirError
        If ``path`` exists and ``overwrite`` is false.
    """
    out = check_output_file(path, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        _public_mode(tmp, 0o666)
        _publish(tmp, out, overwrite)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _publish(tmp, out, overwrite):
    """Put ``tmp`` at ``out``; without ``overwrite`` only if ``out`` is absent (atomically).

    A hard link is created only if the name is free, so of two writers racing
    to one path exactly one succeeds; ``tmp`` stays and is the caller's to remove.
    """
    if overwrite:
        os.replace(tmp, out)
        return
    exists = OutputExistsError(
        f"{out} already exists: it was created while this run was working (another run?) "
        "and is left untouched. Pass overwrite=True (--overwrite on the command line) to "
        "replace it, or pick a new name."
    )
    try:
        os.link(tmp, out)
        return
    except FileExistsError:
        raise exists from None
    except OSError as exc:
        no_links = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK)
        if exc.errno not in no_links:
            raise
    # No hard links on this file system (FAT, some network mounts): reserve the
    # name with an exclusive create, then fill it.
    try:
        os.close(os.open(out, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    except FileExistsError:
        raise exists from None
    try:
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(out)  # the empty file that reserved the name
        raise
