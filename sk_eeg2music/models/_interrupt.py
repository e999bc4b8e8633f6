"""Ctrl-C stops a skorch training loudly instead of being swallowed.

skorch's :meth:`skorch.NeuralNet.partial_fit` catches ``KeyboardInterrupt``
around its fit loop, so that callbacks such as
:class:`skorch.callbacks.EarlyStopping` can stop training by raising it. A
Ctrl-C then ends training silently: ``fit`` returns normally and the caller
(a script, the command line) carries on as if training had finished, e.g. by
saving a model that looks complete.

:class:`InterruptibleMixin` tells the two apart by watching ``SIGINT``, the
signal that Ctrl-C sends: a ``KeyboardInterrupt`` raised by a callback is
still a stop request, while a ``SIGINT`` received during training is
re-raised once skorch has recorded the interrupted epoch in ``history`` and
run its ``on_train_end`` callbacks.
"""

import contextlib
import signal
import threading
import warnings

__all__ = ["InterruptibleMixin"]

_ON_INTERRUPT = ("raise", "warn")


class _SigintWatch:
    """Whether a SIGINT arrived while the watch was installed."""

    def __init__(self):
        self.seen = False


@contextlib.contextmanager
def _watch_sigint():
    """Record SIGINT while the block runs; the previous handler still runs.

    Only the main thread receives signals, and only a Python-level handler
    (the default one raises ``KeyboardInterrupt``) can be chained; elsewhere
    the watch records nothing, which is right: no Ctrl-C can reach the block.
    """
    watch = _SigintWatch()
    if threading.current_thread() is not threading.main_thread():
        yield watch
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):  # SIG_IGN, SIG_DFL or a handler set outside Python
        yield watch
        return

    def handler(signum, frame):
        watch.seen = True
        previous(signum, frame)

    signal.signal(signal.SIGINT, handler)
    try:
        yield watch
    finally:
        signal.signal(signal.SIGINT, previous)


class InterruptibleMixin:
    """Mixin for a :class:`skorch.NeuralNet`: Ctrl-C during training is not swallowed.

    Put it before the skorch class in the bases
    (``class Net(InterruptibleMixin, NeuralNetRegressor)``). It adds one
    parameter and overrides only :meth:`partial_fit` (``fit`` trains through
    it).

    When ``SIGINT`` (Ctrl-C) arrives during the fit loop, skorch stops as
    usual: the epoch in progress ends at once, keeps its (incomplete) row in
    ``history`` (marked ``interrupted=True``) and the ``on_train_end``
    callbacks run. Then, with ``on_interrupt="raise"`` (the default), the
    ``KeyboardInterrupt`` is raised again, so the caller stops too and never
    mistakes a half-trained net for a trained one. A ``KeyboardInterrupt``
    raised by a callback (:class:`skorch.callbacks.EarlyStopping` stops
    training this way) is not an interruption: training ends normally.

    Parameters
    ----------
    on_interrupt : {"raise", "warn"}, default="raise"
        What ``fit`` and ``partial_fit`` do after a Ctrl-C: ``"raise"``
        re-raises ``KeyboardInterrupt``; ``"warn"`` keeps skorch's behaviour
        (return the partly trained net), with a ``UserWarning``. Either way
        ``interrupted_`` is set.

    Attributes
    ----------
    interrupted_ : bool
        Whether the last ``fit`` / ``partial_fit`` was stopped by Ctrl-C.
    """

    def __init__(self, *args, on_interrupt="raise", **kwargs):
        super().__init__(*args, **kwargs)
        self.on_interrupt = on_interrupt

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train as skorch does; re-raise a Ctrl-C once the epoch is recorded.

        Parameters
        ----------
        X, y, classes, **fit_params
            As for :meth:`skorch.NeuralNet.partial_fit`.

        Returns
        -------
        self

        Raises
        ------
        KeyboardInterrupt
            After a Ctrl-C during training, with ``on_interrupt="raise"``.
        """
        if self.on_interrupt not in _ON_INTERRUPT:
            raise ValueError(
                f"on_interrupt must be one of {_ON_INTERRUPT}; got {self.on_interrupt!r}."
            )
        with _watch_sigint() as watch:
            super().partial_fit(X, y, classes=classes, **fit_params)
        self.interrupted_ = watch.seen
        if not watch.seen:
            return self
        epochs = len(self.history)
        if epochs:
            self.history.record("interrupted", True)
        message = (
            f"training was interrupted (Ctrl-C) during epoch {epochs}; the net holds the "
            "weights reached so far."
        )
        if self.on_interrupt == "raise":
            raise KeyboardInterrupt(message)
        warnings.warn(message, UserWarning, stacklevel=2)
        return self
