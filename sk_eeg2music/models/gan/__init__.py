"""The EEG-to-waveform GAN: generator, discriminators, losses and the estimator.

``EEG2MusicGANAccelerate`` (multi-GPU / mixed precision with Hugging Face
accelerate) is imported on first access: ``skorch.hf`` is slow to import.
"""

from ._checkpoint import ResumableCheckpoint, fit_or_resume
from .discriminators import MultiPeriodDiscriminator, MultiScaleDiscriminator
from .estimator import EEG2MusicGAN
from .generator import Generator, plan_upsampling
from .losses import ReconstructionLoss

__all__ = [
    "EEG2MusicGAN",
    "EEG2MusicGANAccelerate",
    "Generator",
    "MultiScaleDiscriminator",
    "MultiPeriodDiscriminator",
    "ReconstructionLoss",
    "ResumableCheckpoint",
    "fit_or_resume",
    "plan_upsampling",
]


def __getattr__(name):
    if name == "EEG2MusicGANAccelerate":
        from ._accelerate import EEG2MusicGANAccelerate

        return EEG2MusicGANAccelerate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
