"""Resume an interrupted GAN training exactly where it stopped.

skorch's :class:`~skorch.callbacks.Checkpoint` saves the networks and the
optimizers of the best epoch; resuming also needs the learning-rate schedulers,
the history and the random-number state, or the continued run draws other
batches and crops than the uninterrupted one. :class:`ResumableCheckpoint`
saves all of it at the end of every epoch (atomically: a kill during the write
leaves the previous checkpoint), and :func:`fit_or_resume` starts a fit or,
when the folder holds a checkpoint, continues it.

Usage: run the same script again after a crash::

    from sk_eeg2music import EEG2MusicGAN
    from sk_eeg2music.models.gan import ResumableCheckpoint, fit_or_resume

    gan = EEG2MusicGAN(max_epochs=200, random_state=0,
                       callbacks=[("resume", ResumableCheckpoint("ckpt/fold0"))])
    fit_or_resume(gan, X_train, y_train)  # trains, or continues from ckpt/fold0

On CPU the resumed run reaches bit-identical weights to an uninterrupted one
(same data, parameters and thread count); on CUDA only up to cuDNN's
non-determinism.
"""

import io
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback
from skorch.history import History

CHECKPOINT_NAME = "resume.pt"
_FORMAT = 1


def _plain(obj):
    """History entries as plain lists/dicts, loadable with ``weights_only=True``."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return repr(obj)


def _schedulers(net):
    return {name: cb for name, cb in getattr(net, "callbacks_", []) if hasattr(cb, "lr_scheduler_")}


def training_state(net):
    """Everything needed to continue ``net``'s training, as a ``weights_only``-safe dict.

    Parameters
    ----------
    net : skorch.NeuralNet
        An initialised net (e.g. :class:`~sk_eeg2music.EEG2MusicGAN`).

    Returns
    -------
    state : dict
        State dicts of every module, criterion and optimizer, of the LR
        schedulers of callbacks, the history, the fitted ``*_`` arrays and
        scalars, and torch's random-number state (CPU and CUDA).
    """
    fitted = {}
    for name in ("factor_", "audio_sfreq_", "n_channels_in_", "n_features_in_"):
        if hasattr(net, name):
            fitted[name] = getattr(net, name)
    for name in ("input_mean_", "input_scale_"):
        if hasattr(net, name):
            fitted[name] = torch.from_numpy(np.asarray(getattr(net, name)).copy())
    return {
        "format": _FORMAT,
        "epoch": len(net.history),
        "parts": {
            name: getattr(net, f"{name}_").state_dict()
            for name in (*net._modules, *net._criteria, *net._optimizers)
        },
        "schedulers": {
            name: cb.lr_scheduler_.state_dict() for name, cb in _schedulers(net).items()
        },
        "history": _plain(list(net.history)),
        "fitted": fitted,
        "rng": {
            "cpu": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
        },
    }


def load_training_state(path):
    """Read a checkpoint written by :class:`ResumableCheckpoint` (no unpickling of code).

    Parameters
    ----------
    path : str | path-like

    Returns
    -------
    state : dict
        As returned by :func:`training_state`.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for damaged files
        raise ValueError(f"{path} is not a readable training checkpoint: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a training checkpoint of this version.")
    return state


class ResumableCheckpoint(Callback):
    """Save the complete training state at the end of every ``every`` epochs.

    Unlike :class:`skorch.callbacks.Checkpoint` (best-epoch weights), this
    keeps what :func:`fit_or_resume` needs to continue a run as if it had not
    stopped: both networks, both optimizers, the criterion, the LR schedulers
    of ``net.callbacks_``, the history and torch's random-number state. The
    file ``dirname/resume.pt`` is replaced atomically.

    Parameters
    ----------
    dirname : str | path-like
        Folder of the checkpoint (created if needed); use one per CV fold.
    every : int, default=1
        Save after every ``every``-th epoch (and always after the last one).

    Notes
    -----
    Put it last in ``callbacks`` (skorch runs user callbacks after its
    defaults), so the saved history row and schedulers are those of the
    finished epoch.
    """

    def __init__(self, dirname, every=1):
        self.dirname = dirname
        self.every = every

    def initialize(self):
        self.pending_ = None
        return self

    @property
    def path(self):
        return Path(self.dirname) / CHECKPOINT_NAME

    def on_train_begin(self, net, **kwargs):
        state, self.pending_ = self.pending_, None
        if state is None:
            return
        # skorch's LRScheduler callbacks build new schedulers in their
        # on_train_begin, which ran before this one; building a scheduler
        # rewrites the optimizer's ``initial_lr``, so restore the optimizers
        # first, then the schedulers.
        for name in net._optimizers:
            getattr(net, f"{name}_").load_state_dict(state["parts"][name])
        schedulers = _schedulers(net)
        for name, sched_state in state["schedulers"].items():
            if name in schedulers:
                schedulers[name].lr_scheduler_.load_state_dict(sched_state)
        # Last: nothing may draw random numbers between here and the first batch.
        torch.set_rng_state(state["rng"]["cpu"])
        if state["rng"]["cuda"]:
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history)
        if epoch % max(1, int(self.every)) and epoch < net.max_epochs:
            return
        from ...persistence import _atomic_write

        buffer = io.BytesIO()
        torch.save(training_state(net), buffer)
        Path(self.dirname).mkdir(parents=True, exist_ok=True)
        _atomic_write(self.path, buffer.getvalue())


def _find_callback(net):
    for _, cb in net.callbacks_:
        if isinstance(cb, ResumableCheckpoint):
            return cb
    raise ValueError(
        "fit_or_resume needs a ResumableCheckpoint among the net's callbacks, e.g. "
        "callbacks=[('resume', ResumableCheckpoint('ckpt'))]."
    )


def fit_or_resume(net, X, y, **fit_params):
    """Fit ``net``, or continue the run saved by its :class:`ResumableCheckpoint`.

    Parameters
    ----------
    net : EEG2MusicGAN
        With a :class:`ResumableCheckpoint` in ``callbacks``.
    X : array-like, shape (n_trials, n_channels, n_times)
        The training EEG of the interrupted run (checked against the
        checkpoint's channel statistics).
    y : array-like, shape (n_trials, n_times * factor)
    **fit_params
        Passed to ``fit`` / ``partial_fit``.

    Returns
    -------
    net : EEG2MusicGAN
        Trained for ``max_epochs`` epochs in total.

    Raises
    ------
    ValueError
        If the checkpoint is unreadable or was written for other data.
    """
    net.initialize_callbacks()
    path = _find_callback(net).path
    if not path.exists():
        return net.fit(X, y, **fit_params)
    state = load_training_state(path)
    X, y = net._validate_fit_data(X, y, reset=True)
    for name, value in state["fitted"].items():
        ours = getattr(net, name, None)
        theirs = value.numpy() if isinstance(value, torch.Tensor) else value
        if ours is None or not np.array_equal(np.asarray(ours), np.asarray(theirs)):
            raise ValueError(
                f"{path} was written for other training data ({name} differs); resume with "
                "the same X and y, or delete the checkpoint to start over."
            )
    net.initialize()
    # Optimizers too: skorch's LRScheduler resumes with last_epoch from the
    # history, which needs the optimizers' ``initial_lr``.
    for name in (*net._modules, *net._criteria, *net._optimizers):
        getattr(net, f"{name}_").load_state_dict(state["parts"][name])
    net.history_ = History(state["history"])
    remaining = net.max_epochs - len(net.history)
    if remaining > 0:
        # Found again: initialize() re-initialised the callbacks.
        _find_callback(net).pending_ = state
        net.partial_fit(X, y, epochs=remaining, **fit_params)
    return net
