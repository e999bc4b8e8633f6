"""Weight-normalised convolutions shared by the generator and the discriminators.

``torch.nn.utils.parametrizations.weight_norm`` modules refuse to be pickled
("Serialization of parametrized modules is only supported through
state_dict()"), which breaks skorch's pickling and scikit-learn's ``clone`` of a
fitted estimator, and the older ``torch.nn.utils.weight_norm`` is deprecated.
These layers store the same two parameters (direction ``weight_v`` and
per-output-unit norm ``weight_g``) and rebuild the weight in ``forward``.
"""

import torch.nn.functional as F
from torch import nn


def _norm_except_dim0(v):
    return v.flatten(1).norm(dim=1).reshape(-1, *([1] * (v.dim() - 1)))


class _WeightNormMixin:
    """Replace ``self.weight`` by ``weight_g * weight_v / ||weight_v||``."""

    def _split_weight(self):
        weight = self.weight.detach().clone()
        del self._parameters["weight"]
        self.weight_v = nn.Parameter(weight)
        self.weight_g = nn.Parameter(_norm_except_dim0(weight))

    def normalized_weight(self):
        """The effective weight, same shape as the unnormalised layer's."""
        return self.weight_g * self.weight_v / _norm_except_dim0(self.weight_v).clamp_min(1e-12)


class WNConv1d(_WeightNormMixin, nn.Conv1d):
    """:class:`torch.nn.Conv1d` with weight normalisation (same arguments)."""

    def __init__(self, *args, init_std=None, **kwargs):
        super().__init__(*args, **kwargs)
        if init_std is not None:
            nn.init.normal_(self.weight, 0.0, init_std)
        self._split_weight()

    def forward(self, x):
        return self._conv_forward(x, self.normalized_weight(), self.bias)


class WNConvTranspose1d(_WeightNormMixin, nn.ConvTranspose1d):
    """:class:`torch.nn.ConvTranspose1d` with weight normalisation (same arguments)."""

    def __init__(self, *args, init_std=None, **kwargs):
        super().__init__(*args, **kwargs)
        if init_std is not None:
            nn.init.normal_(self.weight, 0.0, init_std)
        self._split_weight()

    def forward(self, x):
        return F.conv_transpose1d(
            x,
            self.normalized_weight(),
            self.bias,
            self.stride,
            self.padding,
            self.output_padding,
            self.groups,
            self.dilation,
        )


class WNConv2d(_WeightNormMixin, nn.Conv2d):
    """:class:`torch.nn.Conv2d` with weight normalisation (same arguments)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._split_weight()

    def forward(self, x):
        return self._conv_forward(x, self.normalized_weight(), self.bias)


def same_padding(kernel_size, dilation=1):
    """Padding that keeps the length of a stride-1 convolution (odd kernels)."""
    return (kernel_size - 1) * dilation // 2


def as_channels_first(y):
    """Waveforms ``(batch, n_audio)`` or ``(batch, 1, n_audio)`` -> ``(batch, 1, n_audio)``."""
    if y.dim() == 2:
        return y.unsqueeze(1)
    if y.dim() == 3 and y.shape[1] == 1:
        return y
    raise ValueError(
        f"waveforms must have shape (batch, n_audio) or (batch, 1, n_audio); got {tuple(y.shape)}."
    )


def leaky_relu(x, slope):
    """LeakyReLU as a free function (kept in one place so every block agrees)."""
    return F.leaky_relu(x, slope)
