"""The EEG-to-waveform GAN: generator, discriminators, losses and the estimator."""

from .discriminators import MultiPeriodDiscriminator, MultiScaleDiscriminator
from .estimator import EEG2MusicGAN
from .generator import Generator, plan_upsampling
from .losses import ReconstructionLoss

__all__ = [
    "EEG2MusicGAN",
    "Generator",
    "MultiScaleDiscriminator",
    "MultiPeriodDiscriminator",
    "ReconstructionLoss",
    "plan_upsampling",
]
