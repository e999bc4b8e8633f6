"""Training helpers of :class:`~.estimator.EEG2MusicGAN`: crops, optimizer groups, decoder stage."""

import contextlib
import inspect

import torch
from skorch.callbacks import LRScheduler
from skorch.utils import to_tensor

from ._staged import (
    pretrain_decoder,
)


class DiscriminatorLRScheduler(LRScheduler):
    """:class:`skorch.callbacks.LRScheduler` acting on ``net.optimizer_discriminator_``.

    skorch's scheduler callback only knows ``net.optimizer_``; this one gives
    the discriminator its own schedule (same parameters as ``LRScheduler``).
    """

    def _get_scheduler(self, net, policy, **scheduler_kwargs):
        return policy(net.optimizer_discriminator_, **scheduler_kwargs)

    def on_epoch_end(self, net, **kwargs):
        # The schedule counts the epochs the discriminator actually trained
        # (none during warm-up or with lambda_adv=0).
        if getattr(net, "_adversarial_active", lambda: True)():
            super().on_epoch_end(net, **kwargs)


def random_crops(X, y, factor, n_crop):
    """Aligned random crops of EEG (or EEG-rate features) and audio, one per trial.

    Parameters
    ----------
    X : Tensor, shape (batch, n_channels, n_times)
    y : Tensor, shape (batch, n_times * factor)
    factor : int
        Audio samples per EEG sample.
    n_crop : int | None
        Crop length in EEG samples; ``None`` or ``>= n_times`` keeps whole trials.

    Returns
    -------
    X_crop : Tensor, shape (batch, n_channels, n_crop)
    y_crop : Tensor, shape (batch, n_crop * factor)
        ``y_crop[i]`` is the audio heard during ``X_crop[i]``. Offsets come from
        torch's global generator (seeded by ``random_state``).
    """
    n_times = X.shape[-1]
    if n_crop is None or n_crop >= n_times:
        return X, y
    offsets = torch.randint(0, n_times - n_crop + 1, (len(X),)).tolist()
    X_crop = torch.stack([X[i, :, o : o + n_crop] for i, o in enumerate(offsets)])
    y_crop = torch.stack([y[i, o * factor : (o + n_crop) * factor] for i, o in enumerate(offsets)])
    return X_crop, y_crop


def random_windows(y_real, y_fake, n_window):
    """The same random window of real and generated audio, one offset per example.

    Parameters
    ----------
    y_real, y_fake : Tensor, shape (batch, n_audio)
    n_window : int | None
        Window length in audio samples; ``None`` or ``>= n_audio`` keeps all.

    Returns
    -------
    real, fake : Tensor, shape (batch, n_window)
    """
    n_audio = y_real.shape[-1]
    if n_window is None or n_window >= n_audio:
        return y_real, y_fake
    offsets = torch.randint(0, n_audio - n_window + 1, (len(y_real),)).tolist()
    real = torch.stack([y_real[i, o : o + n_window] for i, o in enumerate(offsets)])
    fake = torch.stack([y_fake[i, o : o + n_window] for i, o in enumerate(offsets)])
    return real, fake


def split_param_group(pgroups, selected, **settings):
    """Move selected parameters of the default group into a group of their own.

    Parameters
    ----------
    pgroups : list of dict
        Optimizer parameter groups as built by skorch's
        ``get_params_for_optimizer``: groups matched by ``param_groups``
        patterns first, then (if any parameter is left) the default group,
        which holds only ``"params"``.
    selected : iterable of torch.nn.Parameter
        Parameters to move.
    **settings
        Optimizer settings of the new group (e.g. ``lr``).

    Returns
    -------
    pgroups : list of dict
        The groups with ``{"params": moved, **settings}`` appended. Parameters
        that a pattern group already holds stay where they are (an explicit
        ``param_groups`` entry wins); without a default group, or with nothing
        to move, ``pgroups`` is returned unchanged.
    """
    if not pgroups or set(pgroups[-1]) != {"params"}:
        return pgroups
    ids = {id(p) for p in selected}
    rest = list(pgroups[-1]["params"])
    moved = [p for p in rest if id(p) in ids]
    if not moved:
        return pgroups
    kept = [p for p in rest if id(p) not in ids]
    default = [{"params": kept}] if kept else []
    return [*pgroups[:-1], *default, {"params": moved, **settings}]


#: ``state_dict`` prefixes of the upsampler, for generators without ``decoder_state_names``.
_UPSAMPLER_PREFIXES = ("conv_pre.", "stages.", "conv_post.")


def decoder_state_names(module):
    """``state_dict`` keys of a generator's decode stage (upsampler or DDSP synthesiser).

    Parameters
    ----------
    module : torch.nn.Module
        A :class:`~.generator.Generator` (its ``decoder_state_names()``), or
        a module with the upsampler's ``conv_pre`` / ``stages`` / ``conv_post``.

    Returns
    -------
    names : list of str
    """
    names = getattr(module, "decoder_state_names", None)
    if names is not None:
        return list(names())
    return [k for k in module.state_dict() if k.startswith(_UPSAMPLER_PREFIXES)]


def _fit_decoder(key, net, y, settings):
    """Stage 1 for :meth:`EEG2MusicGAN._pretrain_decoder` (joblib-cacheable by ``key``).

    Returns
    -------
    state : dict of str -> ndarray
        The decode stage's trained ``state_dict`` entries.
    losses : list of float
        Loss per step.
    """
    module = net.module_
    losses = pretrain_decoder(
        module,
        net.criterion_,
        to_tensor(y, net.device),
        steps=settings["steps"],
        batch_size=settings["batch_size"],
        n_crop=settings["n_crop"],
        factor=settings["factor"],
        weights=settings["weights"],
        lr=settings["lr"],
        betas=settings["betas"] or (0.9, 0.999),
        grad_clip=settings["grad_clip"],
        seed=settings["seed"],
        device=net.device,
    )
    names = set(decoder_state_names(module))
    state = {
        k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items() if k in names
    }
    return state, losses


@contextlib.contextmanager
def _eval_mode(module):
    """``module`` in evaluation mode inside the block, its previous mode after."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


def _accepted(cls, kwargs):
    """The subset of ``kwargs`` that ``cls``'s constructor accepts."""
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return kwargs
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return kwargs
    return {k: v for k, v in kwargs.items() if k in params}
