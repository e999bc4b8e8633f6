"""The encoder's linear path: the strongest linear backward model, inside the generator.

At EEG signal-to-noise ratios a convolutional encoder trained by gradient
descent from a random start decodes less than the reduced-rank lagged ridge
(:class:`~sk_eeg2music.models.ReducedRankDecoder`) within CPU budgets
(``docs/benchmarks.md``). So the generator's decoded log-mel is that linear
model's prediction, fitted in closed form on the training trials (penalties
and rank by grouped inner CV), plus the convolutional encoder's output times
a learned gain that starts at 0: encoder training starts from the linear
solution and early stopping keeps it alone when the nonlinear residual does
not help on held-out subjects. With conditions, each condition has its own
linear map (imagery responses are weaker, delayed and of inverted polarity,
so a pooled map averages them away).
"""

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .._lagged_ridge import inner_splits
from ..reduced_rank import _ALPHAS, default_ranks, fit_reduced_rank


def n_linear_heads(n_conditions):
    """Linear maps for ``n_conditions``: one per condition (one without conditions)."""
    return max(1, int(n_conditions))


class LaggedLinear(nn.Module):
    """Lagged linear maps from EEG to log-mel, one per head (fitted, not trained).

    ``out[n, k, t] = sum_{c, j} W[h, k, c, j] (x[n, c, t + lags[j]] - m[h, c]) + b[h, k]``
    with ``h`` the head of trial ``n`` and samples outside the trial counted as
    0 after centring: exactly
    :func:`~sk_eeg2music.models._lagged_ridge.predict_lagged`. The weights are
    buffers (saved with the model, untouched by the optimisers).

    Parameters
    ----------
    n_channels : int
    n_outputs : int
        Log-mel bands.
    lags : array-like of int, shape (n_lags,)
        Consecutive lags in EEG samples (a lag ``l`` reads the EEG at ``t + l``).
    n_heads : int, default=1
    """

    def __init__(self, n_channels, n_outputs, lags, n_heads=1):
        super().__init__()
        lags = np.asarray(lags, dtype=int)
        if lags.ndim != 1 or not len(lags) or np.any(np.diff(lags) != 1):
            raise ValueError(f"lags must be consecutive integers; got {lags.tolist()}.")
        self.lag_min, self.lag_max = int(lags[0]), int(lags[-1])
        self.register_buffer("weight", torch.zeros(n_heads, n_outputs, n_channels, len(lags)))
        self.register_buffer("bias", torch.zeros(n_heads, n_outputs))
        self.register_buffer("x_mean", torch.zeros(n_heads, n_channels))

    @property
    def n_heads(self):
        return self.weight.shape[0]

    def set_head(self, head, coef, x_mean, y_mean):
        """Load one head from a lagged ridge fit.

        Parameters
        ----------
        head : int
        coef : ndarray, shape (n_outputs, n_channels, n_lags)
        x_mean : ndarray, shape (n_channels,)
        y_mean : ndarray, shape (n_outputs,)
        """
        for name, value in (("weight", coef), ("x_mean", x_mean), ("bias", y_mean)):
            buf = getattr(self, name)
            buf[head] = torch.as_tensor(np.asarray(value), dtype=buf.dtype, device=buf.device)

    def forward(self, x, head):
        """Decoded log-mel ``(batch, n_outputs, n_times)`` of EEG ``x``.

        ``x`` : Tensor, shape (batch, n_channels, n_times); ``head`` : int
        Tensor, shape (batch,), the head of each trial.
        """
        out = x.new_empty(x.shape[0], self.weight.shape[1], x.shape[-1])
        for h in torch.unique(head).tolist():
            sel = head == h
            xs = x[sel] - self.x_mean[h].to(x.dtype)[:, None]
            # conv1d is a cross-correlation: out[t] = sum_j w[j] xs[t + lag_min + j].
            xs = F.pad(xs, (-self.lag_min, self.lag_max))
            out[sel] = F.conv1d(xs, self.weight[h].to(x.dtype), self.bias[h].to(x.dtype))
        return out


def head_codes(condition, n_heads, n_trials, device=None):
    """Head of each trial: its condition code (0 with a single head).

    Returns
    -------
    head : Tensor of int64, shape (n_trials,)

    Raises
    ------
    ValueError
        If there are several heads and no condition.
    """
    if n_heads == 1:
        return torch.zeros(n_trials, dtype=torch.long, device=device)
    if condition is None:
        raise ValueError(
            f"the linear path has one map per condition ({n_heads}); pass each trial's condition."
        )
    return torch.as_tensor(condition, device=device).long().reshape(-1)


def fit_linear_path(linear, X, target, condition=None, groups=None, cv=5):
    """Fit every head of ``linear`` by reduced-rank lagged ridge, in place.

    Penalties (one per band) and the rank are chosen by inner CV over whole
    trials, grouped by subject when ``groups`` is given, as in
    :class:`~sk_eeg2music.models.ReducedRankDecoder`.

    Parameters
    ----------
    linear : LaggedLinear
    X : ndarray, shape (n_trials, n_channels, n_times)
        Standardised training EEG (as the generator sees it).
    target : ndarray, shape (n_trials, n_outputs, n_times)
        The encoder's target (z-scored log-mel).
    condition : ndarray of int, shape (n_trials,) | None
        Condition codes; head ``c`` is fitted on condition ``c`` (a single
        head on all trials).
    groups : ndarray, shape (n_trials,) | None
    cv : int, default=5
        Inner folds.

    Returns
    -------
    fits : list of dict
        Per head: ``n_trials``, ``alpha`` (n_outputs,) and ``rank``.
    """
    lags = np.arange(linear.lag_min, linear.lag_max + 1)
    ranks = default_ranks(target.shape[1])
    fits = []
    for head in range(linear.n_heads):
        pooled = condition is None or linear.n_heads == 1
        sel = np.ones(len(X), bool) if pooled else np.asarray(condition) == head
        if sel.sum() < 2:
            raise ValueError(
                f"the linear path's head {head} has {int(sel.sum())} training trial(s); "
                "it needs at least 2 (or set module__linear_window=None)."
            )
        sub_groups = None if groups is None else np.asarray(groups)[sel]
        splits = inner_splits(cv, int(sel.sum()), sub_groups)
        fit = fit_reduced_rank(X[sel], target[sel], lags, _ALPHAS, ranks, splits)
        linear.set_head(head, fit["coef"], fit["x_mean"], fit["y_mean"])
        fits.append(dict(n_trials=int(sel.sum()), alpha=fit["alpha"], rank=fit["rank"]))
    return fits
