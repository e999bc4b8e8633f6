"""Waveform discriminators returning ``(logits, feature_maps)``.

Both take waveforms of shape ``(batch, n_audio)`` (or ``(batch, 1, n_audio)``)
and return two lists with one entry per sub-discriminator: the logit maps and,
for the feature-matching loss, the list of intermediate activations.
"""

import torch.nn.functional as F
from torch import nn

from ._layers import WNConv1d, WNConv2d, as_channels_first, leaky_relu


class ScaleDiscriminator(nn.Module):
    """MelGAN's ``NLayerDiscriminator``: strided grouped 1-D convolutions.

    Parameters
    ----------
    channels : int, default=16
        Channels of the first convolution.
    max_channels : int, default=1024
        Cap on the channels of any layer.
    n_layers : int, default=4
        Number of strided (downsampling) layers.
    downsampling : int, default=4
        Stride of each strided layer (kernel ``10 * downsampling + 1``).
    groups_divisor : int, default=4
        Strided layers use ``in_channels // groups_divisor`` groups.
    leaky_relu_slope : float, default=0.2
    """

    def __init__(
        self,
        channels=16,
        max_channels=1024,
        n_layers=4,
        downsampling=4,
        groups_divisor=4,
        leaky_relu_slope=0.2,
    ):
        super().__init__()
        self.slope = leaky_relu_slope
        layers = [WNConv1d(1, channels, 15)]
        nf = channels
        for _ in range(n_layers):
            prev, nf = nf, min(nf * downsampling, max_channels)
            layers.append(
                WNConv1d(
                    prev,
                    nf,
                    kernel_size=downsampling * 10 + 1,
                    stride=downsampling,
                    padding=downsampling * 5,
                    groups=max(1, prev // groups_divisor),
                )
            )
        prev, nf = nf, min(nf * 2, max_channels)
        layers.append(WNConv1d(prev, nf, kernel_size=5, padding=2))
        self.layers = nn.ModuleList(layers)
        self.conv_post = WNConv1d(nf, 1, kernel_size=3, padding=1)

    def forward(self, y):
        """Waveforms ``(batch, 1, n_audio)`` -> logits ``(batch, 1, n_frames)``, feature maps."""
        # Reflection padding (MelGAN) needs more samples than the pad; very
        # short inputs fall back to zero padding.
        x = F.pad(y, (7, 7), mode="reflect" if y.shape[-1] > 7 else "constant")
        fmaps = []
        for layer in self.layers:
            x = leaky_relu(layer(x), self.slope)
            fmaps.append(x)
        return self.conv_post(x), fmaps


class MultiScaleDiscriminator(nn.Module):
    """MelGAN multi-scale discriminator: the same architecture on 1x, 1/2x, 1/4x ... audio.

    The CPU default of :class:`~sk_eeg2music.EEG2MusicGAN`.

    Parameters
    ----------
    n_scales : int, default=3
        Number of sub-discriminators; scale ``k`` sees the waveform average-pooled
        ``k`` times (``AvgPool1d(4, 2)``).
    channels, max_channels, n_layers, downsampling, groups_divisor, leaky_relu_slope
        Passed to every :class:`ScaleDiscriminator`.

    References
    ----------
    Kumar et al. (2019). MelGAN: Generative adversarial networks for conditional
    waveform synthesis. NeurIPS. arXiv:1910.06711.
    """

    def __init__(
        self,
        n_scales=3,
        channels=16,
        max_channels=1024,
        n_layers=4,
        downsampling=4,
        groups_divisor=4,
        leaky_relu_slope=0.2,
    ):
        super().__init__()
        self.discriminators = nn.ModuleList(
            ScaleDiscriminator(
                channels, max_channels, n_layers, downsampling, groups_divisor, leaky_relu_slope
            )
            for _ in range(n_scales)
        )
        self.pool = nn.AvgPool1d(4, stride=2, padding=1, count_include_pad=False)

    def forward(self, y, **kwargs):
        """Waveforms ``(batch, n_audio)`` -> (list of logits, list of lists of feature maps)."""
        x = as_channels_first(y)
        logits, fmaps = [], []
        for i, disc in enumerate(self.discriminators):
            if i:
                x = self.pool(x) if x.shape[-1] >= 4 else x
            logit, fmap = disc(x)
            logits.append(logit)
            fmaps.append(fmap)
        return logits, fmaps


class PeriodDiscriminator(nn.Module):
    """HiFi-GAN ``DiscriminatorP``: 2-D convolutions over the waveform folded by a period.

    Parameters
    ----------
    period : int
        The waveform ``(n_audio,)`` is reshaped to ``(n_audio / period, period)``.
    channels : tuple of int, default=(32, 128, 512, 1024, 1024)
        Output channels of the successive ``(kernel_size, 1)`` convolutions; all
        but the last have stride ``stride``.
    kernel_size : int, default=5
    stride : int, default=3
    leaky_relu_slope : float, default=0.1
    """

    def __init__(
        self,
        period,
        channels=(32, 128, 512, 1024, 1024),
        kernel_size=5,
        stride=3,
        leaky_relu_slope=0.1,
    ):
        super().__init__()
        self.period = int(period)
        self.slope = leaky_relu_slope
        convs, prev = [], 1
        for i, ch in enumerate(channels):
            s = stride if i < len(channels) - 1 else 1
            convs.append(
                WNConv2d(prev, ch, (kernel_size, 1), (s, 1), padding=((kernel_size - 1) // 2, 0))
            )
            prev = ch
        self.convs = nn.ModuleList(convs)
        self.conv_post = WNConv2d(prev, 1, (3, 1), 1, padding=(1, 0))

    def forward(self, y):
        """Waveforms ``(batch, 1, n_audio)`` -> logits ``(batch, n_frames)``, feature maps."""
        b, c, t = y.shape
        if t % self.period:
            n_pad = self.period - t % self.period
            y = F.pad(y, (0, n_pad), mode="reflect" if t > n_pad else "constant")
            t = t + n_pad
        x = y.view(b, c, t // self.period, self.period)
        fmaps = []
        for conv in self.convs:
            x = leaky_relu(conv(x), self.slope)
            fmaps.append(x)
        return self.conv_post(x).flatten(1), fmaps


class MultiPeriodDiscriminator(nn.Module):
    """HiFi-GAN multi-period discriminator (the GPU preset's discriminator).

    Parameters
    ----------
    periods : tuple of int, default=(2, 3, 5, 7, 11)
        One :class:`PeriodDiscriminator` per period.
    channels, kernel_size, stride, leaky_relu_slope
        Passed to every :class:`PeriodDiscriminator`.

    References
    ----------
    Kong, Kim & Bae (2020). HiFi-GAN: Generative adversarial networks for
    efficient and high fidelity speech synthesis. NeurIPS. arXiv:2010.05646.
    """

    def __init__(
        self,
        periods=(2, 3, 5, 7, 11),
        channels=(32, 128, 512, 1024, 1024),
        kernel_size=5,
        stride=3,
        leaky_relu_slope=0.1,
    ):
        super().__init__()
        self.discriminators = nn.ModuleList(
            PeriodDiscriminator(p, channels, kernel_size, stride, leaky_relu_slope) for p in periods
        )

    def forward(self, y, **kwargs):
        """Waveforms ``(batch, n_audio)`` -> (list of logits, list of lists of feature maps)."""
        x = as_channels_first(y)
        logits, fmaps = [], []
        for disc in self.discriminators:
            logit, fmap = disc(x)
            logits.append(logit)
            fmaps.append(fmap)
        return logits, fmaps
