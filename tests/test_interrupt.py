"""Ctrl-C is never swallowed: not by skorch's fit loop, not by the command line."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from skorch import NeuralNetRegressor
from skorch.callbacks import Callback, EarlyStopping

from sk_eeg2music import EEG2MusicGAN
from sk_eeg2music.models._interrupt import InterruptibleMixin

#: Seconds from SIGINT to exit. Measured 1-2 s on 2 idle cores and 5 s at a load of
#: 10 on 2 cores (interpreter shutdown); the margin is for loaded CI machines.
STOP_SECONDS = 15

posix_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="sends POSIX signals to a process group and lists its processes in /proc",
)


class _Net(InterruptibleMixin, NeuralNetRegressor):
    pass


class _SigintAt(Callback):
    """Send this process SIGINT (a real Ctrl-C) during the given epoch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            signal.raise_signal(signal.SIGINT)


def _net(**kwargs):
    return _Net(
        torch.nn.Linear,
        module__in_features=3,
        module__out_features=1,
        max_epochs=5,
        batch_size=4,
        train_split=None,
        verbose=0,
        **kwargs,
    )


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((16, 3)).astype(np.float32), rng.standard_normal((16, 1)).astype(
        np.float32
    )


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_ctrl_c_is_reraised_after_the_epoch_is_recorded(method, data):
    net = _net(callbacks=[("sigint", _SigintAt(2))])
    with pytest.raises(KeyboardInterrupt, match="interrupted .* during epoch 2"):
        getattr(net, method)(*data)
    assert net.interrupted_ is True
    assert len(net.history) == 2  # the interrupted epoch keeps its row ...
    assert net.history[-1]["interrupted"] is True  # ... marked as such
    assert "interrupted" not in net.history[0]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_opt_in_keeps_skorchs_behaviour_with_a_warning(data):
    net = _net(callbacks=[("sigint", _SigintAt(2))], on_interrupt="warn")
    with pytest.warns(UserWarning, match="interrupted"):
        assert net.fit(*data) is net
    assert net.interrupted_ is True and len(net.history) == 2


def test_a_callback_stopping_training_is_not_an_interruption(data):
    # EarlyStopping stops skorch by raising KeyboardInterrupt itself.
    stop = EarlyStopping(monitor="train_loss", patience=1, threshold=1e9, sink=lambda *a: None)
    net = _net(callbacks=[("stop", stop)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.fit(*data)
    assert net.interrupted_ is False and len(net.history) < net.max_epochs


def test_uninterrupted_training_and_bad_value(data):
    net = _net().fit(*data)
    assert net.interrupted_ is False and len(net.history) == 5
    assert net.get_params()["on_interrupt"] == "raise"
    with pytest.raises(ValueError, match="on_interrupt must be one of"):
        _net(on_interrupt="ignore").fit(*data)


def test_eeg2music_gan_is_interruptible(make_eeg, make_audio):
    assert issubclass(EEG2MusicGAN, InterruptibleMixin)
    X = make_eeg(n_trials=4, n_channels=4, n_times=64)
    y = make_audio(n_trials=4, n_audio=64 * 125, sfreq=8000)
    gan = EEG2MusicGAN(
        preset="tiny", max_epochs=3, verbose=0, random_state=0, callbacks=[("s", _SigintAt(1))]
    )
    with pytest.raises(KeyboardInterrupt):
        gan.fit(X, y)
    assert gan.interrupted_ is True


# ---------------------------------------------------------------- command line
def _session_processes(sid):
    """Live processes of session ``sid`` (the command and everything it started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        state, _ppid, _pgrp, session = stat.rsplit(")", 1)[1].split()[:4]
        if int(session) == sid and state != "Z":
            found.append(int(entry.name))
    return found


def _interrupt(argv, cwd, ready, *, group=False, min_processes=1, timeout=120):
    """Run the CLI, send SIGINT once ``ready`` matches a stderr line; returns (rc, err, s).

    ``s`` is the number of seconds from the signal to the exit. With ``group``
    the whole process group gets the signal, as from Ctrl-C in a terminal.
    """
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sk_eeg2music", *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + timeout
        while not (
            any(re.search(ready, line) for line in list(lines))
            and len(_session_processes(proc.pid)) >= min_processes
        ):
            assert proc.poll() is None, f"exited early ({proc.returncode}):\n{''.join(lines)}"
            assert time.monotonic() < deadline, f"training never started:\n{''.join(lines)}"
            time.sleep(0.05)
        sent = time.monotonic()
        if group:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=60)
        elapsed = time.monotonic() - sent
        reader.join(timeout=5)
        # Workers are killed, not waited for: give them a moment to disappear.
        for _ in range(50):
            if not _session_processes(proc.pid):
                break
            time.sleep(0.1)
        assert _session_processes(proc.pid) == [], "a child process survived"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return rc, "".join(lines), elapsed


@posix_only
def test_ctrl_c_during_fit_exits_130_and_writes_no_model(tmp_path):
    argv = [
        "fit", "--out", "models/gan.safetensors", "--n-subjects", "2", "--segment-seconds",
        "4", "--stimulus-seconds", "4", "--audio-sfreq", "8000", "--stimuli", "chor-096",
        "--conditions", "listening", "--preset", "tiny", "--epochs", "100000",
    ]  # fmt: skip
    # The first row of skorch's epoch table: training is under way.
    rc, err, elapsed = _interrupt(argv, tmp_path, ready=r"^\s+1\s")
    assert rc == 130, err
    assert "interrupted (Ctrl-C); nothing was written." in err
    assert "Traceback" not in err
    assert elapsed < STOP_SECONDS
    assert list(tmp_path.iterdir()) == []  # no model, no temporary file, no folder


@posix_only
@pytest.mark.parametrize(
    "group",
    # SIGINT to the parent alone: it must kill its workers itself. The process
    # group (a terminal's Ctrl-C) adds ~15 s to the suite, so it runs with -m slow.
    [False, pytest.param(True, marks=pytest.mark.slow)],
    ids=["process", "process-group"],
)
def test_ctrl_c_during_demo_stops_its_workers(group, tmp_path):
    argv = [
        "demo", "--out", "report", "--n-subjects", "2", "--audio-sfreq", "8000",
        "--segment-seconds", "2", "--epochs", "100000", "--folds", "2", "--n-jobs", "2",
        "--models", "gan", "--preset", "tiny",
    ]  # fmt: skip
    # Two fold workers started (3 processes at least) while the GAN is evaluated.
    rc, err, elapsed = _interrupt(
        argv, tmp_path, ready="evaluating gan", group=group, min_processes=3
    )
    assert rc == 130, err
    assert "interrupted (Ctrl-C); nothing was written." in err
    assert elapsed < STOP_SECONDS
    assert list(tmp_path.iterdir()) == []  # no report, no temporary folder
