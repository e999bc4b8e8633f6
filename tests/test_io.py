import errno
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sk_eeg2music import _io
from sk_eeg2music._io import (
    MARKER,
    OutputDirError,
    atomic_output_dir,
    atomic_output_file,
    atomic_write,
    check_output_dir,
    check_output_file,
    write_wav,
)

SFREQ = 8000

linux_proc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not Path("/proc/self").exists(),
    reason="needs Linux's /proc (a folder nobody can create files in, root included)",
)


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*"))


# ------------------------------------------------------------------ probing
@linux_proc
@pytest.mark.parametrize("check", [check_output_dir, check_output_file])
def test_unwritable_place_is_refused_by_the_probe(check):
    # os.access says yes to root; only creating a file tells.
    with pytest.raises(OutputDirError, match=r"cannot write to /proc .*Pick"):
        check("/proc/sk_eeg2music_new")


def test_probe_leaves_nothing_and_reports_the_reason(tmp_path, monkeypatch):
    assert check_output_dir(tmp_path / "a" / "b") == (tmp_path / "a" / "b").resolve()
    assert check_output_file(tmp_path / "m.safetensors").name == "m.safetensors"
    assert _tree(tmp_path) == []

    def full(*args, **kwargs):
        raise OSError(errno.EDQUOT, "Disk quota exceeded")

    monkeypatch.setattr(_io.tempfile, "mkstemp", full)
    with pytest.raises(OutputDirError, match="Disk quota exceeded"):
        check_output_dir(tmp_path / "out")
    with pytest.raises(OutputDirError, match="Disk quota exceeded"):
        check_output_file(tmp_path / "m.safetensors")


@pytest.mark.parametrize("case", ["folder", "exists", "parent-is-file"])
def test_check_output_file_refusals(case, tmp_path):
    (tmp_path / "a.txt").write_text("x")
    path, message = {
        "folder": (tmp_path, "is a folder"),
        "exists": (tmp_path / "a.txt", "pass --overwrite"),
        "parent-is-file": (tmp_path / "a.txt" / "m.safetensors", "is a file, not a folder"),
    }[case]
    with pytest.raises(OutputDirError, match=message):
        check_output_file(path)
    assert check_output_file(tmp_path / "a.txt", overwrite=True) == (tmp_path / "a.txt")


# ---------------------------------------------------------------- write_wav
def test_write_wav_turns_libsndfile_errors_into_oserror(tmp_path, monkeypatch):
    path = tmp_path / "a.wav"
    write_wav(path, np.ones(100), SFREQ)
    before = path.read_bytes()

    def full_disk(file, *args, **kwargs):  # writes part of the file, then fails
        Path(file).write_bytes(b"RIFF")
        raise sf.LibsndfileError(2, prefix=f"Error writing {file}: ")

    monkeypatch.setattr(sf, "write", full_disk)
    with pytest.raises(OSError, match=rf"cannot write {path}: Error writing .*System error"):
        write_wav(path, np.zeros(100), SFREQ)
    assert path.read_bytes() == before  # the previous file is intact
    assert _tree(tmp_path) == ["a.wav"]  # and no partial file is left


# ------------------------------------------------------------ output folders
def _write_run(out, label, n_files=3):
    with atomic_output_dir(out) as tmp:
        for i in range(n_files):
            (tmp / f"{i}.txt").write_text(label)


def test_interrupted_block_leaves_the_previous_output(tmp_path):
    out = tmp_path / "out"
    _write_run(out, "first")
    with pytest.raises(KeyboardInterrupt):
        with atomic_output_dir(out) as tmp:
            (tmp / "0.txt").write_text("second")
            raise KeyboardInterrupt
    assert _tree(tmp_path) == ["out", f"out/{MARKER}", "out/0.txt", "out/1.txt", "out/2.txt"]
    assert (out / "0.txt").read_text() == "first"


def test_concurrent_writers_leave_one_complete_output_and_no_leftovers(tmp_path):
    out = tmp_path / "out"
    errors = []
    start = threading.Barrier(4)

    def writer(k):
        start.wait()
        try:
            for i in range(15):
                _write_run(out, f"writer{k}-run{i}")
        except BaseException as exc:  # noqa: BLE001 - any failure fails the test
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _tree(tmp_path) == ["out", f"out/{MARKER}", "out/0.txt", "out/1.txt", "out/2.txt"]
    # The three files come from one run, never a mix.
    assert len({(out / f"{i}.txt").read_text() for i in range(3)}) == 1


def test_failed_final_rename_restores_the_previous_output(tmp_path, monkeypatch):
    out = tmp_path / "out"
    _write_run(out, "first")
    real = os.rename

    def rename(src, dst):
        if Path(dst) == out and ".tmp-" in Path(src).name:
            raise OSError(errno.EIO, "Input/output error")
        return real(src, dst)

    # The first rename fails as if the destination were taken, the next for real.
    calls = []

    def racing(src, dst):
        calls.append((src, dst))
        if len(calls) == 1:
            raise OSError(errno.ENOTEMPTY, "Directory not empty")
        return rename(src, dst)

    monkeypatch.setattr(_io.os, "rename", racing)
    with pytest.raises(OSError, match="Input/output error"):
        _write_run(out, "second")
    assert _tree(tmp_path) == ["out", f"out/{MARKER}", "out/0.txt", "out/1.txt", "out/2.txt"]
    assert (out / "0.txt").read_text() == "first"


def test_a_foreign_folder_that_appears_meanwhile_is_not_replaced(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(OutputDirError, match="did not write"):
        with atomic_output_dir(out) as tmp:
            (tmp / "0.txt").write_text("ours")
            out.mkdir()
            (out / "notes.txt").write_text("someone else's")
    assert _tree(tmp_path) == ["out", "out/notes.txt"]


# -------------------------------------------------------------- output files
def test_atomic_output_file_refuses_a_file_created_meanwhile(tmp_path):
    out = tmp_path / "sub" / "model.safetensors"
    with pytest.raises(OutputDirError, match="created while this run was working"):
        with atomic_output_file(out) as tmp:
            tmp.write_text("ours")
            out.write_text("another run's")
    assert out.read_text() == "another run's"
    assert _tree(tmp_path) == ["sub", "sub/model.safetensors"]


@pytest.mark.parametrize("hard_links", [True, False])
def test_atomic_output_file_publishes(hard_links, tmp_path, monkeypatch):
    if not hard_links:

        def no_link(src, dst):
            raise OSError(errno.EPERM, "Operation not permitted")

        monkeypatch.setattr(_io.os, "link", no_link)
    out = tmp_path / "model.safetensors"
    with atomic_output_file(out) as tmp:
        tmp.write_text("first")
        assert not out.exists()
    assert out.read_text() == "first"
    with pytest.raises(OutputDirError, match="pass --overwrite"):
        with atomic_output_file(out):
            pass
    with atomic_output_file(out, overwrite=True) as tmp:
        tmp.write_text("second")
    assert out.read_text() == "second"
    with pytest.raises(KeyboardInterrupt):
        with atomic_output_file(out, overwrite=True) as tmp:
            tmp.write_text("third")
            raise KeyboardInterrupt
    assert out.read_text() == "second"
    assert _tree(tmp_path) == ["model.safetensors"]


def test_atomic_write_replaces_only_once_complete(tmp_path, monkeypatch):
    path = atomic_write(tmp_path / "f.bin", b"one")
    assert path.read_bytes() == b"one"

    def fail(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_io.os, "fsync", fail)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(path, b"two")
    assert path.read_bytes() == b"one"
    assert _tree(tmp_path) == ["f.bin"]
