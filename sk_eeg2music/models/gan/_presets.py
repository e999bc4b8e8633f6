"""Network sizes and stage budgets of :class:`~.estimator.EEG2MusicGAN`'s presets."""

from .discriminators import MultiPeriodDiscriminator, MultiScaleDiscriminator

#: Lags (s) of the generator's linear path: those of the reduced-rank baseline.
LINEAR_WINDOW = (-0.1, 0.5)

#: Network sizes per preset; explicit ``module__*`` / ``discriminator__*`` /
#: ``criterion__*`` parameters override them.
PRESETS = {
    # ~0.3 M-parameter generator and ~0.17 M-parameter 3-scale MelGAN
    # discriminator: trains at tens of audio-seconds per second on 2 cores.
    "cpu": dict(
        module=dict(
            encoder_channels=64,
            upsample_channels=128,
            min_channels=8,
            resblock_kernel_sizes=(3,),
            resblock_dilations=((1, 3),),
            resblock_type=2,
            aux_mels=64,
            linear_window=LINEAR_WINDOW,
        ),
        discriminator=(
            MultiScaleDiscriminator,
            dict(n_scales=3, channels=4, max_channels=64, n_layers=4, downsampling=4),
        ),
        criterion=dict(n_mels=64),
        # Upsampler steps on the training music, encoder epochs (early-stopped).
        stages=dict(decoder_steps=240, encoder_epochs=60),
        # The DDSP-style decoder learns the training music in far fewer CPU
        # steps than the upsampler (docs/benchmarks.md, "DDSP-style decoder").
        decoder="ddsp",
    ),
    # HiFi-GAN V1-sized upsampler (MRF with kernels 3/7/11) and its
    # multi-period discriminator: for CUDA.
    "gpu": dict(
        module=dict(
            encoder_channels=256,
            upsample_channels=512,
            min_channels=32,
            resblock_kernel_sizes=(3, 7, 11),
            resblock_dilations=((1, 3, 5), (1, 3, 5), (1, 3, 5)),
            resblock_type=1,
            aux_mels=80,
            init_std=0.01,
            linear_window=LINEAR_WINDOW,
        ),
        discriminator=(MultiPeriodDiscriminator, dict()),
        criterion=dict(n_mels=80),
        stages=dict(decoder_steps=5000, encoder_epochs=200),
        decoder="upsampler",
    ),
    # Smallest networks that exercise every code path: for unit tests and the
    # scikit-learn compliance suite (use with max_epochs=1).
    "tiny": dict(
        module=dict(
            encoder_channels=8,
            encoder_dilations=(1, 2),
            upsample_channels=8,
            min_channels=4,
            resblock_kernel_sizes=(3,),
            resblock_dilations=((1,),),
            resblock_type=2,
            aux_mels=8,
            # A short window: the same code path, a Gram matrix 6 x smaller.
            linear_window=(0.0, 0.1),
        ),
        discriminator=(
            MultiScaleDiscriminator,
            dict(n_scales=2, channels=4, max_channels=8, n_layers=1, downsampling=4),
        ),
        criterion=dict(n_mels=8),
        stages=dict(decoder_steps=2, encoder_epochs=2),
        decoder="upsampler",
    ),
}

#: Default learning rate of the DDSP decoder (``lr_decoder=None``): the best of
#: those measured in its pre-training (``benchmarks/decoder_ddsp.py``).
DDSP_LR = 1e-3
