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

The checkpoint also stores the net's hyper-parameters (those that are plain
data: numbers, strings, classes by name). Resuming with other values (another
``preset``, ``lambda_*``, ``lr``, ``random_state`` ...) would silently continue
a different training, so :func:`fit_or_resume` raises a ``ValueError`` listing
the differences, unless ``allow_param_changes`` names them. Only
:data:`RESUME_FREE_PARAMS` (how long, where and how verbosely it runs) may
differ without it: raising ``max_epochs`` is how a finished run is continued.
"""

import inspect
import io
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback
from skorch.history import History

CHECKPOINT_NAME = "resume.pt"
_FORMAT = 2  # 2: with the hyper-parameters ("params")

#: Parameters that may differ from the checkpoint's without ``allow_param_changes``:
#: they change how long, where or how verbosely the training runs, not what it
#: computes (``memory`` is a cache location).
RESUME_FREE_PARAMS = frozenset(
    {
        "max_epochs",
        "verbose",
        "device",
        "compile",
        "callbacks",
        "use_caching",
        "torch_load_kwargs",
        "warm_start",
        "on_interrupt",
        "memory",
        "_params_to_validate",
    }
)
_NOT_PLAIN = object()


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


def _param_value(value):
    """A parameter as comparable plain data, or ``_NOT_PLAIN`` (objects such as callbacks)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        items = [_param_value(v) for v in value]
        return _NOT_PLAIN if any(v is _NOT_PLAIN for v in items) else items
    if isinstance(value, dict):
        items = {str(k): _param_value(v) for k, v in value.items()}
        return _NOT_PLAIN if any(v is _NOT_PLAIN for v in items.values()) else items
    if isinstance(value, type) or inspect.isfunction(value):
        return f"{value.__module__}.{value.__qualname__}"  # a class or function, by name
    return _NOT_PLAIN


def training_params(net):
    """The hyper-parameters a resumed run must share with the checkpoint's.

    Parameters
    ----------
    net : skorch.NeuralNet

    Returns
    -------
    params : dict
        ``net.get_params(deep=False)`` (with skorch's ``prefix__name``
        parameters), as plain data (classes and functions by their qualified
        name), without :data:`RESUME_FREE_PARAMS`, ``callbacks__*`` and values
        that are other objects (splitters, callback instances), which cannot
        be compared.
    """
    out = {}
    for name, value in net.get_params(deep=False).items():
        if name in RESUME_FREE_PARAMS or name.startswith("callbacks__"):
            continue
        plain = _param_value(value)
        if plain is not _NOT_PLAIN:
            out[name] = plain
    return out


def param_differences(saved, current, allowed=()):
    """``{name: (checkpoint value, current value)}`` of the parameters that differ.

    Parameters
    ----------
    saved, current : dict
        As from :func:`training_params`.
    allowed : iterable of str | True, default=()
        Names left out of the comparison; ``True`` leaves out every name.

    Returns
    -------
    diffs : dict
        A parameter missing on one side is shown as ``"<absent>"``.
    """
    if allowed is True:
        return {}
    allowed = {allowed} if isinstance(allowed, str) else set(allowed)
    absent = "<absent>"
    return {
        name: (saved.get(name, absent), current.get(name, absent))
        for name in sorted(set(saved) | set(current))
        if name not in allowed and saved.get(name, absent) != current.get(name, absent)
    }


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
        "params": training_params(net),
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
        found = state.get("format") if isinstance(state, dict) else None
        raise ValueError(
            f"{path} is not a training checkpoint of this version (format {found!r}, this "
            f"version writes {_FORMAT}); delete it to start the training over."
        )
    if not isinstance(state.get("params"), dict):
        raise ValueError(f"{path} is a damaged training checkpoint: it has no 'params'.")
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
        from ..._io import atomic_write

        buffer = io.BytesIO()
        torch.save(training_state(net), buffer)
        Path(self.dirname).mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, buffer.getvalue())


def _find_callback(net):
    for _, cb in net.callbacks_:
        if isinstance(cb, ResumableCheckpoint):
            return cb
    raise ValueError(
        "fit_or_resume needs a ResumableCheckpoint among the net's callbacks, e.g. "
        "callbacks=[('resume', ResumableCheckpoint('ckpt'))]."
    )


def _rebase_learning_rates(net, state):
    """Put the current learning rates into the saved optimizer states, keeping the decay.

    A saved group at ``lr`` with base ``initial_lr`` (the schedulers' decay so far)
    continues at ``new_base * lr / initial_lr``: the new learning rate, decayed as
    far as the interrupted run had gone.
    """
    for name in net._optimizers:
        fresh = getattr(net, f"{name}_").param_groups
        saved = state["parts"][name]["param_groups"]
        if len(fresh) != len(saved):
            continue  # load_state_dict reports the mismatch
        for new, old in zip(fresh, saved):
            base = old.get("initial_lr", old["lr"])
            if base != new["lr"] and base > 0:
                old["lr"] = new["lr"] * old["lr"] / base
                if "initial_lr" in old:
                    old["initial_lr"] = new["lr"]


def fit_or_resume(net, X, y, *, allow_param_changes=(), **fit_params):
    """Fit ``net``, or continue the run saved by its :class:`ResumableCheckpoint`.

    Parameters
    ----------
    net : EEG2MusicGAN
        With a :class:`ResumableCheckpoint` in ``callbacks``.
    X : array-like, shape (n_trials, n_channels, n_times)
        The training EEG of the interrupted run (checked against the
        checkpoint's channel statistics).
    y : array-like, shape (n_trials, n_times * factor)
    allow_param_changes : iterable of str | True, default=()
        Hyper-parameters that may differ from the checkpoint's (``True``: any).
        Without it, any difference outside :data:`RESUME_FREE_PARAMS` raises.
        An allowed change applies from the next epoch: loss weights
        (``lambda_*``) and other values read during training as they are; a
        learning rate (``lr``, ``lr_*``) replaces the saved one, decayed by the
        schedulers as far as the interrupted run had gone. The optimizers'
        moments and the random stream continue from the checkpoint, so a new
        ``random_state`` is recorded but does not reseed the run. A change of
        the networks' shapes (``preset``, ``module__*``) cannot be resumed.
    **fit_params
        Passed to ``fit`` / ``partial_fit``.

    Returns
    -------
    net : EEG2MusicGAN
        Trained for ``max_epochs`` epochs in total.

    Raises
    ------
    ValueError
        If the checkpoint is unreadable, was written for other data, or by a
        net with other hyper-parameters (the message lists them) that
        ``allow_param_changes`` does not name, or holds networks of other
        shapes (another ``preset``).

    Examples
    --------
    Continue a run with a stronger adversarial loss (the other parameters as saved):

    >>> gan.set_params(lambda_adv=2.0)  # doctest: +SKIP
    >>> fit_or_resume(gan, X, y, allow_param_changes=["lambda_adv"])  # doctest: +SKIP
    """
    net.initialize_callbacks()
    path = _find_callback(net).path
    if not path.exists():
        return net.fit(X, y, **fit_params)
    state = load_training_state(path)
    current = training_params(net)
    diffs = param_differences(state["params"], current, allow_param_changes)
    if diffs:
        listed = "; ".join(f"{k}={a!r} in the checkpoint, {b!r} now" for k, (a, b) in diffs.items())
        raise ValueError(
            f"{path} was written by a training with other hyper-parameters: {listed}. "
            "Resuming would continue a different training. Set them back to the "
            "checkpoint's values, pass allow_param_changes="
            f"{sorted(diffs)} to fit_or_resume to continue with the new ones, or delete "
            "the checkpoint to start over."
        )
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
    if param_differences(state["params"], current):  # allowed changes
        _rebase_learning_rates(net, state)
    # Optimizers too: skorch's LRScheduler resumes with last_epoch from the
    # history, which needs the optimizers' ``initial_lr``.
    try:
        for name in (*net._modules, *net._criteria, *net._optimizers):
            getattr(net, f"{name}_").load_state_dict(state["parts"][name])
    except (RuntimeError, ValueError, KeyError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        detail = detail if len(detail) <= 200 else detail[:200] + " ..."
        raise ValueError(
            f"the {name} saved in {path} does not fit this net's ({detail}): it was built "
            "with other parameters (another preset or architecture). Resume with the "
            "checkpoint's parameters, or delete it to start over."
        ) from exc
    net.history_ = History(state["history"])
    remaining = net.max_epochs - len(net.history)
    if remaining > 0:
        # Found again: initialize() re-initialised the callbacks.
        _find_callback(net).pending_ = state
        net.partial_fit(X, y, epochs=remaining, **fit_params)
    return net
