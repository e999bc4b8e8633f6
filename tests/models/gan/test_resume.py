"""Checkpoint / resume: a killed GAN training continues to the weights of an uninterrupted run."""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sk_eeg2music import EEG2MusicGAN
from sk_eeg2music.models.gan import ResumableCheckpoint, fit_or_resume
from sk_eeg2music.models.gan._checkpoint import load_training_state

MAX_EPOCHS = 4


def make_net(dirname, extra_callbacks=()):
    return EEG2MusicGAN(
        preset="tiny",
        max_epochs=MAX_EPOCHS,
        warmup_epochs=1,  # epochs 2-4 train the discriminator and its scheduler too
        lr_decay=0.9,
        batch_size=3,
        crop_seconds=0.25,
        discriminator_crop_seconds=0.1,
        verbose=0,
        random_state=0,
        callbacks=[*extra_callbacks, ("resume", ResumableCheckpoint(dirname))],
    )


@pytest.fixture(scope="module")
def train_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 3, 32)).astype(np.float32)
    y = (0.1 * rng.standard_normal((6, 32 * 16))).astype(np.float32)
    return X, y


@pytest.fixture(scope="module")
def uninterrupted(train_data, tmp_path_factory):
    return make_net(tmp_path_factory.mktemp("full")).fit(*train_data)


def assert_same_training_state(a, b):
    for name in ("module_", "discriminator_"):
        sa, sb = getattr(a, name).state_dict(), getattr(b, name).state_dict()
        assert sa.keys() == sb.keys()
        for key in sa:
            assert torch.equal(sa[key], sb[key]), f"{name}.{key} differs"
    for name in ("optimizer_", "optimizer_discriminator_"):
        sa, sb = getattr(a, name).state_dict(), getattr(b, name).state_dict()
        assert sa["param_groups"] == sb["param_groups"], name
        for idx, slot in sa["state"].items():
            for key, value in slot.items():
                assert torch.equal(value, sb["state"][idx][key]), f"{name} state {idx}.{key}"
    assert len(a.history) == len(b.history) == MAX_EPOCHS
    np.testing.assert_array_equal(a.history[:, "train_loss"], b.history[:, "train_loss"])


class _Interrupt(Exception):
    pass


class _StopAfter(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise _Interrupt


def test_resume_after_an_exception_matches_the_uninterrupted_run(
    train_data, uninterrupted, tmp_path
):
    X, y = train_data
    # The stopper runs after the checkpoint (callbacks run in order; it is put last).
    net = make_net(tmp_path)
    net.set_params(callbacks=[*net.callbacks, ("stop", _StopAfter(2))])
    with pytest.raises(_Interrupt):
        net.fit(X, y)
    assert load_training_state(tmp_path / "resume.pt")["epoch"] == 2
    resumed = fit_or_resume(make_net(tmp_path), X, y)
    assert_same_training_state(resumed, uninterrupted)


CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np, torch
    from skorch.callbacks import Callback
    sys.path.insert(0, sys.argv[1])
    from test_resume import make_net

    torch.set_num_threads(int(sys.argv[4]))
    data = np.load(sys.argv[2])

    class Report(Callback):
        def on_epoch_end(self, net, **kwargs):
            print(f"saved {len(net.history)}", flush=True)
            if len(net.history) == 2:
                time.sleep(600)  # wait to be killed

    net = make_net(sys.argv[3])
    net.set_params(callbacks=[*net.callbacks, ("report", Report())])
    net.fit(data["X"], data["y"])
    print("finished", flush=True)
    """
)


def test_resume_after_the_process_is_killed(train_data, uninterrupted, tmp_path):
    X, y = train_data
    np.savez(tmp_path / "data.npz", X=X, y=y)
    (tmp_path / "child.py").write_text(CHILD)
    ckpt = tmp_path / "ckpt"
    args = [
        sys.executable,
        str(tmp_path / "child.py"),
        str(Path(__file__).parent),
        str(tmp_path / "data.npz"),
        str(ckpt),
        str(torch.get_num_threads()),
    ]
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in child.stdout:
            if line.strip() == "saved 2":
                break
        else:
            pytest.fail(f"the training process ended early: {child.stderr.read()}")
        child.kill()  # SIGKILL: no cleanup, no chance to finish writing anything
    finally:
        child.kill()
        child.wait(timeout=60)
    assert child.returncode != 0
    assert load_training_state(ckpt / "resume.pt")["epoch"] == 2
    resumed = fit_or_resume(make_net(ckpt), X, y)
    assert_same_training_state(resumed, uninterrupted)


def test_resume_refuses_other_training_data(train_data, tmp_path):
    X, y = train_data
    net = make_net(tmp_path)
    net.set_params(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="other training data"):
        fit_or_resume(make_net(tmp_path), X * 2, y)


def test_fit_or_resume_needs_the_callback(train_data):
    net = EEG2MusicGAN(preset="tiny", max_epochs=1, verbose=0)
    with pytest.raises(ValueError, match="ResumableCheckpoint"):
        fit_or_resume(net, *train_data)


@pytest.fixture(scope="module")
def two_epoch_checkpoint(train_data, tmp_path_factory):
    """A run interrupted after epoch 2 of MAX_EPOCHS (copied by each test that resumes it)."""
    dirname = tmp_path_factory.mktemp("two_epochs")
    net = make_net(dirname)
    net.set_params(callbacks=[*net.callbacks, ("stop", _StopAfter(2))])
    with pytest.raises(_Interrupt):
        net.fit(*train_data)
    return dirname


def _copy(dirname, tmp_path):
    shutil.copytree(dirname, tmp_path / "ckpt")
    return tmp_path / "ckpt"


def test_resume_with_another_preset_is_a_value_error(train_data, two_epoch_checkpoint):
    with pytest.raises(ValueError, match=r"preset='tiny' in the checkpoint, 'cpu' now"):
        fit_or_resume(make_net(two_epoch_checkpoint).set_params(preset="cpu"), *train_data)
    # Allowed, the networks still cannot be loaded: a ValueError, not torch's RuntimeError.
    with pytest.raises(ValueError, match=r"does not fit this net's .*another preset"):
        fit_or_resume(
            make_net(two_epoch_checkpoint).set_params(preset="cpu"),
            *train_data,
            allow_param_changes=["preset"],
        )


def test_resume_with_changed_hyper_parameters_lists_every_difference(
    train_data, two_epoch_checkpoint
):
    net = make_net(two_epoch_checkpoint).set_params(lambda_adv=3.0, lr=1e-3, random_state=5)
    with pytest.raises(ValueError) as info:
        fit_or_resume(net, *train_data)
    msg = str(info.value)
    for diff in ("lambda_adv=1.0 in the checkpoint, 3.0 now", "lr=0.0002 in the checkpoint, "
                 "0.001 now", "random_state=0 in the checkpoint, 5 now"):  # fmt: skip
        assert diff in msg
    assert "allow_param_changes=['lambda_adv', 'lr', 'random_state']" in msg
    assert not net.initialized_  # refused before anything was built or trained
    # Allowing some of them is not enough.
    with pytest.raises(ValueError, match=r"allow_param_changes=\['random_state'\]"):
        fit_or_resume(net, *train_data, allow_param_changes=["lambda_adv", "lr"])


def test_allowed_changes_apply_from_the_resumed_epoch(
    train_data, uninterrupted, two_epoch_checkpoint, tmp_path
):
    ckpt = _copy(two_epoch_checkpoint, tmp_path)
    net = make_net(ckpt).set_params(lambda_adv=3.0, lr=1e-3)
    resumed = fit_or_resume(net, *train_data, allow_param_changes=["lambda_adv", "lr"])
    assert len(resumed.history) == MAX_EPOCHS
    np.testing.assert_array_equal(  # the first two epochs are the checkpoint's
        resumed.history[:2, "train_loss"], uninterrupted.history[:2, "train_loss"]
    )
    assert resumed.history[-1, "train_loss"] != uninterrupted.history[-1, "train_loss"]
    # The new learning rate, decayed as far as the uninterrupted run's.
    lr_new = resumed.optimizer_.param_groups[0]["lr"]
    lr_old = uninterrupted.optimizer_.param_groups[0]["lr"]
    np.testing.assert_allclose(lr_new / lr_old, 1e-3 / 2e-4, rtol=1e-12)
    saved = load_training_state(ckpt / "resume.pt")["params"]
    assert saved["lambda_adv"] == 3.0 and saved["lr"] == 1e-3  # what a next resume checks
    # allow_param_changes=True allows anything that still loads.
    ckpt = _copy(two_epoch_checkpoint, tmp_path / "again")
    net = make_net(ckpt).set_params(lambda_fm=0.0, random_state=1)
    assert len(fit_or_resume(net, *train_data, allow_param_changes=True).history) == MAX_EPOCHS


def test_free_parameters_may_change_without_override(train_data, two_epoch_checkpoint, tmp_path):
    ckpt = _copy(two_epoch_checkpoint, tmp_path)
    net = make_net(ckpt).set_params(max_epochs=MAX_EPOCHS + 1, verbose=1)
    assert len(fit_or_resume(net, *train_data).history) == MAX_EPOCHS + 1


def test_training_params_are_plain_and_comparable():
    from torch.utils.data import DataLoader

    from sk_eeg2music.models.gan._checkpoint import param_differences, training_params

    net = make_net("unused").set_params(iterator_train=DataLoader, optimizer__betas=(0.5, 0.9))
    params = training_params(net)
    assert params["iterator_train"] == "torch.utils.data.dataloader.DataLoader"
    assert params["optimizer__betas"] == [0.5, 0.9]
    assert "max_epochs" not in params and "callbacks" not in params and "verbose" not in params
    other = {**params, "lr": 1.0, "new": 1}
    del other["preset"]
    assert param_differences(params, other) == {
        "lr": (params["lr"], 1.0),
        "new": ("<absent>", 1),
        "preset": ("tiny", "<absent>"),
    }
    assert param_differences(params, other, ["lr", "new", "preset"]) == {}
    assert param_differences(params, other, True) == {}


def test_checkpoint_of_an_older_format_is_refused(train_data, two_epoch_checkpoint, tmp_path):
    ckpt = _copy(two_epoch_checkpoint, tmp_path)
    state = load_training_state(ckpt / "resume.pt")
    state["format"] = 1
    torch.save(state, ckpt / "resume.pt")
    with pytest.raises(ValueError, match=r"format 1.*delete it"):
        fit_or_resume(make_net(ckpt), *train_data)
