"""The EEG-to-waveform GAN: generator, discriminators, losses and the estimator."""

from ._checkpoint import ResumableCheckpoint, fit_or_resume
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
    "ResumableCheckpoint",
    "fit_or_resume",
    "plan_upsampling",
]
