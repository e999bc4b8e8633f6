"""Ready-made pipelines: the method and its baselines, wired for grouped CV.

Each factory returns a plain :class:`~sklearn.pipeline.Pipeline` whose
subject-aware steps already request ``groups`` through scikit-learn's metadata
routing, so inside ``sklearn.config_context(enable_metadata_routing=True)``
``pipe.fit(X, y, groups=subject)`` aligns and selects penalties per subject and
``pipe.predict(X, groups=subject)`` aligns each test subject with its own EEG.
Outside routing they work as ordinary pipelines (the batch is one domain).
:func:`predict_features` gives any fitted pipeline's decoded features.
"""

import sklearn
from sklearn.pipeline import Pipeline

from .models import (
    BeatTemplateBaseline,
    ByCondition,
    EEG2MusicGAN,
    LinearDecoder,
    MeanSpectrumBaseline,
    ReducedRankDecoder,
    ShuffledPairs,
    TimeShiftedPairs,
)
from .models._features import predict_features
from .preprocessing import BandpassFilter, ChannelScaler, Clip, EuclideanAlignment, Resample

__all__ = [
    "MODELS",
    "front_end_sfreq",
    "gan_mel_bands",
    "gan_warmup_epochs",
    "make_gan_pipeline",
    "make_linear_pipeline",
    "make_models",
    "make_preprocessing",
    "make_reduced_rank_by_condition_pipeline",
    "make_reduced_rank_pipeline",
    "predict_features",
]


def make_preprocessing(sfreq, l_freq=1.0, h_freq=None, clip=20.0, align=True, resample=None):
    """The front end: band-pass → (resample) → robust scaling → clip → Euclidean Alignment.

    Parameters
    ----------
    sfreq : float
        EEG rate (Hz).
    l_freq : float | None, default=1.0
        High-pass edge (Hz). MNE's default transition band makes the filter
        ``3.3 / l_freq`` seconds long: keep trials longer than that, or filter
        the continuous recording before cutting it into trials.
    h_freq : float | None, default=None
        Low-pass edge (Hz); ``None`` uses ``min(30, 0.45 * rate)`` with ``rate``
        the lower of ``sfreq`` and ``resample``.
    clip : float | None, default=20.0
        Clamp at this many robust standard deviations (``None``: no clipping).
    align : bool, default=True
        Add :class:`~sk_eeg2music.EuclideanAlignment` (requests ``groups``).
    resample : float | None, default=None
        Resample to this rate (Hz) after the band-pass
        (:class:`~sk_eeg2music.preprocessing.Resample`), e.g. NMED-T's 125 Hz
        to the 64 Hz of most temporal-response-function work; the model after
        the front end then runs at ``resample`` Hz (see
        :func:`front_end_sfreq`).

    Returns
    -------
    steps : list of (str, transformer)
        ``filter``, ``resample`` if set, ``scale`` and, if enabled, ``clip`` and
        ``align``; each transformer maps ``(n_trials, n_channels, n_times)`` to
        the same shape, except ``resample`` (``n_times * resample / sfreq``
        samples).

    Examples
    --------
    >>> from sklearn.pipeline import Pipeline
    >>> from sk_eeg2music.pipelines import make_preprocessing
    >>> steps = make_preprocessing(sfreq=64.0)
    >>> [name for name, _ in steps]
    ['filter', 'scale', 'clip', 'align']
    >>> steps[0][1].h_freq  # min(30, 0.45 * sfreq)
    28.8
    >>> front_end = Pipeline(make_preprocessing(sfreq=64.0, clip=None, align=False))
    >>> [name for name, _ in make_preprocessing(sfreq=125.0, resample=64.0)]
    ['filter', 'resample', 'scale', 'clip', 'align']
    """
    rate = sfreq if resample is None else min(sfreq, resample)
    h_freq = min(30.0, 0.45 * rate) if h_freq is None else h_freq
    steps = [("filter", BandpassFilter(l_freq=l_freq, h_freq=h_freq, sfreq=sfreq))]
    if resample is not None:
        steps.append(("resample", Resample(sfreq=sfreq, new_sfreq=resample)))
    steps.append(("scale", ChannelScaler(robust=True)))
    if clip is not None:
        steps.append(("clip", Clip(threshold=clip)))
    if align:
        # set_*_request is only callable while routing is on; the requests persist.
        with sklearn.config_context(enable_metadata_routing=True):
            ea = (
                EuclideanAlignment().set_fit_request(groups=True).set_transform_request(groups=True)
            )
        steps.append(("align", ea))
    return steps


def front_end_sfreq(sfreq, preprocessing=None):
    """Rate (Hz) of the EEG leaving :func:`make_preprocessing` with these arguments.

    Parameters
    ----------
    sfreq : float
        Rate of the recorded EEG (Hz).
    preprocessing : dict | None, default=None
        Keyword arguments of :func:`make_preprocessing`.

    Returns
    -------
    sfreq : float
        ``preprocessing["resample"]`` if set, else ``sfreq``.

    Examples
    --------
    >>> from sk_eeg2music.pipelines import front_end_sfreq
    >>> front_end_sfreq(125.0), front_end_sfreq(125.0, {"resample": 64.0})
    (125.0, 64.0)
    """
    resample = (preprocessing or {}).get("resample")
    return float(sfreq if resample is None else resample)


def make_gan_pipeline(sfreq, *, preprocessing=None, **gan_params):
    """Pre-processing followed by :class:`~sk_eeg2music.EEG2MusicGAN`.

    Parameters
    ----------
    sfreq : float
        EEG rate (Hz), passed to the filter and (unless ``preprocessing``
        resamples) the GAN.
    preprocessing : dict | None, default=None
        Keyword arguments of :func:`make_preprocessing`.
    **gan_params
        Parameters of :class:`~sk_eeg2music.EEG2MusicGAN` (``lambda_adv=0`` gives the
        reconstruction-only ablation).

    Returns
    -------
    pipe : sklearn.pipeline.Pipeline
        Maps EEG ``(n_trials, n_channels, n_times)`` to waveforms
        ``(n_trials, n_audio)``. The GAN requests ``condition`` in ``fit``
        and ``predict`` by default (metadata routing), so the evaluation
        harness hands it each trial's condition.

    Examples
    --------
    >>> from sk_eeg2music.pipelines import make_gan_pipeline
    >>> pipe = make_gan_pipeline(64.0, preset="tiny", max_epochs=1, preprocessing={"align": False})
    >>> [name for name, _ in pipe.steps]
    ['filter', 'scale', 'clip', 'gan']
    """
    gan = EEG2MusicGAN(sfreq=front_end_sfreq(sfreq, preprocessing), **gan_params)
    return Pipeline([*make_preprocessing(sfreq, **(preprocessing or {})), ("gan", gan)])


def make_linear_pipeline(sfreq, *, target="mel", preprocessing=None, **linear_params):
    """Pre-processing followed by :class:`~sk_eeg2music.LinearDecoder`.

    The decoder requests ``groups`` so its penalty is chosen by an inner CV
    grouped by subject.

    Parameters
    ----------
    sfreq : float
        EEG rate (Hz), passed to the filter and (unless ``preprocessing``
        resamples) the decoder.
    target : {"mel", "envelope"}, default="mel"
        What the decoder reconstructs (see :class:`~sk_eeg2music.LinearDecoder`).
    preprocessing : dict | None, default=None
        Keyword arguments of :func:`make_preprocessing`.
    **linear_params
        Parameters of :class:`~sk_eeg2music.LinearDecoder`.

    Returns
    -------
    pipe : sklearn.pipeline.Pipeline
        Maps EEG ``(n_trials, n_channels, n_times)`` to waveforms
        ``(n_trials, n_audio)``.

    Examples
    --------
    >>> import sklearn
    >>> from sk_eeg2music.pipelines import make_linear_pipeline
    >>> pipe = make_linear_pipeline(64.0, target="envelope", alphas=[1.0, 100.0])
    >>> [name for name, _ in pipe.steps]
    ['filter', 'scale', 'clip', 'align', 'linear']

    With routing on, ``pipe.fit(X, y, groups=subject)`` aligns each training
    subject and picks the penalty by an inner CV grouped by subject:

    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     pipe.fit(X, y, groups=subject)  # doctest: +SKIP
    """
    decoder = LinearDecoder(
        target=target, sfreq=front_end_sfreq(sfreq, preprocessing), **linear_params
    )
    return _grouped_decoder_pipeline(sfreq, "linear", decoder, preprocessing)


def _grouped_decoder_pipeline(sfreq, name, decoder, preprocessing):
    """Front end + a decoder whose inner CV is grouped by subject (it requests ``groups``)."""
    with sklearn.config_context(enable_metadata_routing=True):
        decoder.set_fit_request(groups=True)
    return Pipeline([*make_preprocessing(sfreq, **(preprocessing or {})), (name, decoder)])


def make_reduced_rank_pipeline(sfreq, *, preprocessing=None, **params):
    """Pre-processing followed by :class:`~sk_eeg2music.models.ReducedRankDecoder`.

    The strongest linear baseline: a reduced-rank lagged ridge with one penalty
    per mel band and the rank chosen by an inner CV grouped by subject.

    Parameters
    ----------
    sfreq : float
        EEG rate (Hz).
    preprocessing : dict | None, default=None
        Keyword arguments of :func:`make_preprocessing`.
    **params
        Parameters of :class:`~sk_eeg2music.models.ReducedRankDecoder`.

    Returns
    -------
    pipe : sklearn.pipeline.Pipeline
        Maps EEG ``(n_trials, n_channels, n_times)`` to waveforms
        ``(n_trials, n_audio)``.

    Examples
    --------
    >>> from sk_eeg2music.pipelines import make_reduced_rank_pipeline
    >>> [name for name, _ in make_reduced_rank_pipeline(64.0).steps]
    ['filter', 'scale', 'clip', 'align', 'reduced_rank']
    """
    decoder = ReducedRankDecoder(sfreq=front_end_sfreq(sfreq, preprocessing), **params)
    return _grouped_decoder_pipeline(sfreq, "reduced_rank", decoder, preprocessing)


def make_reduced_rank_by_condition_pipeline(sfreq, *, preprocessing=None, **params):
    """Pre-processing followed by one reduced-rank decoder per condition.

    The strongest linear baseline for a condition-aware model: imagery EEG
    responses are weaker, delayed and of inverted polarity, so one decoder
    pooled over listening and imagery averages imagery away.
    :class:`~sk_eeg2music.models.ByCondition` fits one
    :class:`~sk_eeg2music.models.ReducedRankDecoder` per condition, each with
    its band penalties and rank chosen by an inner CV grouped by subject over
    that condition's trials. The front end is shared (as the GAN's).

    Parameters
    ----------
    sfreq : float
        EEG rate (Hz).
    preprocessing : dict | None, default=None
        Keyword arguments of :func:`make_preprocessing`.
    **params
        Parameters of :class:`~sk_eeg2music.models.ReducedRankDecoder`.

    Returns
    -------
    pipe : sklearn.pipeline.Pipeline
        Maps EEG ``(n_trials, n_channels, n_times)`` to waveforms
        ``(n_trials, n_audio)``; requests ``condition`` in ``fit`` and
        ``predict`` and ``groups`` in ``fit`` (metadata routing).

    Examples
    --------
    >>> from sk_eeg2music.pipelines import make_reduced_rank_by_condition_pipeline
    >>> pipe = make_reduced_rank_by_condition_pipeline(64.0, rank=[1, 2])
    >>> [name for name, _ in pipe.steps]
    ['filter', 'scale', 'clip', 'align', 'by_condition']
    >>> type(pipe[-1].estimator).__name__
    'ReducedRankDecoder'
    """
    decoder = ReducedRankDecoder(sfreq=front_end_sfreq(sfreq, preprocessing), **params)
    with sklearn.config_context(enable_metadata_routing=True):
        decoder.set_fit_request(groups=True)
    steps = make_preprocessing(sfreq, **(preprocessing or {}))
    return Pipeline([*steps, ("by_condition", ByCondition(decoder))])


#: The registry: every model the CLI, the demo and the benchmarks compare, in
#: display order, with what it is. :func:`make_models` builds them.
MODELS = {
    "gan": "GAN (EEG2MusicGAN: decoder pre-trained on the training audio, then encoder, "
    "then joint fine-tuning of the decoder; the preset's decoder, DDSP-style on the cpu preset)",
    "gan-ddsp": "GAN with the DDSP-style harmonic-plus-noise decoder (the cpu preset's)",
    "gan-upsampler": "GAN with the HiFi-GAN-style upsampler decoder (the gpu preset's)",
    "gan-end-to-end": "GAN ablation: the seed's configuration, one network (upsampler) "
    "trained end to end, no decoder pre-training",
    "gan-recon-only": "GAN ablation: reconstruction losses only (lambda_adv=0)",
    "gan-l1-encoder": "GAN ablation: encoder trained with L1 only (no contrastive loss)",
    "gan-finetune-encoder": "GAN ablation: the joint fine-tuning also updates the "
    "early-stopped encoder (finetune_encoder=True)",
    "gan-no-linear": "GAN ablation: no linear path (the encoder's convolutions alone decode "
    "the log-mel)",
    "reduced-rank": "Strongest linear: reduced-rank lagged ridge, one alpha per mel band, "
    "lags -0.1 to 0.5 s",
    "reduced-rank-by-condition": "Strongest linear, per condition: one reduced-rank lagged "
    "ridge per condition (listening, imagery)",
    "linear-mel": "Linear decoder: lagged ridge to log-mel, Griffin-Lim",
    "linear-envelope": "Linear decoder: lagged ridge to the envelope, modulated noise",
    "beat-template": "Beat template (no EEG): the training segments' mean log-mel time course",
    "mean-spectrum": "Mean spectrum (no EEG): noise with the training music's mean spectrum",
    "shuffled-gan": "Null: the GAN trained on EEG paired with the wrong music",
    "time-shifted-gan": "Null: the GAN trained on its own music at a wrong time (>= 1 s)",
}

#: The models a comparison runs unless told otherwise (the ablations and the
#: envelope decoder cost extra fits).
DEFAULT_MODELS = (
    "gan",
    "reduced-rank",
    "linear-mel",
    "beat-template",
    "mean-spectrum",
    "shuffled-gan",
    "time-shifted-gan",
)


def gan_warmup_epochs(epochs):
    """Reconstruction-only epochs before the discriminator starts, for a run of ``epochs``.

    Parameters
    ----------
    epochs : int
        ``max_epochs`` of the GAN.

    Returns
    -------
    warmup : int
        ``min(5, max(1, epochs // 3))``: short runs still get adversarial epochs.

    Examples
    --------
    >>> from sk_eeg2music.pipelines import gan_warmup_epochs
    >>> [gan_warmup_epochs(e) for e in (1, 5, 12, 30)]
    [1, 1, 4, 5]
    """
    return min(5, max(1, int(epochs) // 3))


def gan_mel_bands(gan_params):
    """Mel bands the GAN built from ``gan_params`` decodes (its ``aux_mels``).

    Parameters
    ----------
    gan_params : dict
        :class:`~sk_eeg2music.EEG2MusicGAN` parameters.

    Returns
    -------
    n_mels : int
        ``module__aux_mels`` if given, else the preset's.

    Examples
    --------
    >>> from sk_eeg2music.pipelines import gan_mel_bands
    >>> gan_mel_bands({}), gan_mel_bands({"preset": "gpu"}), gan_mel_bands({"module__aux_mels": 16})
    (64, 80, 16)
    """
    if "module__aux_mels" in gan_params:
        return int(gan_params["module__aux_mels"])
    # The estimator's own default preset and preset check.
    return int(EEG2MusicGAN(**gan_params)._preset()["module"]["aux_mels"])


def make_models(
    sfreq,
    names=DEFAULT_MODELS,
    *,
    epochs=None,
    seed=0,
    preprocessing=None,
    gan_params=None,
    n_iter=32,
    beat_period=None,
    n_mels=None,
):
    """The registry: named, unfitted models to compare in one harness.

    Every mel decoder of one call decodes the same number of mel bands, so
    feature-level scores compare like with like: feature r is a mean over
    bands, and finer bands are harder to decode (one fold of the 21-subject
    comparison: a per-condition reduced-rank model scored 0.048 at 32 bands
    and 0.038 at 64).

    Parameters
    ----------
    sfreq : float
        EEG rate (Hz) of the recorded data.
    names : sequence of str, default=DEFAULT_MODELS
        Keys of :data:`MODELS`, in the order wanted.
    epochs : int | None, default=None
        ``max_epochs`` of every GAN (its warm-up follows
        :func:`gan_warmup_epochs`); ``None`` keeps the GAN's defaults.
    seed : int, default=0
        Seeds the GANs, the Griffin-Lim phases and the nulls' pairings.
    preprocessing : dict | None, default=None
        Keyword arguments of :func:`make_preprocessing`, shared by every EEG model.
    gan_params : dict | None, default=None
        More :class:`~sk_eeg2music.EEG2MusicGAN` parameters for every GAN
        (ablations keep their own setting on top).
    n_iter : int, default=32
        Griffin-Lim iterations of the mel decoders and the beat template.
    beat_period : float | None, default=None
        Beat period (s) of the music, for the time-shifted null (see
        :class:`~sk_eeg2music.models.TimeShiftedPairs`).
    n_mels : int | None, default=None
        Mel bands decoded by every model: the GANs' ``module__aux_mels`` and the
        linear decoders' and beat template's ``n_mels``. ``None`` uses the GAN
        preset's (64 for ``"cpu"``; ``gan_params`` may set ``preset`` or
        ``module__aux_mels``).

    Returns
    -------
    models : dict of str -> estimator
        Name to unfitted model; each maps EEG ``(n_trials, n_channels,
        n_times)`` to waveforms ``(n_trials, n_audio)`` and has decoded features
        through :func:`predict_features`.

    Raises
    ------
    ValueError
        If a name is not in :data:`MODELS`.

    Examples
    --------
    >>> from sk_eeg2music.pipelines import make_models
    >>> list(make_models(64.0, ["gan", "reduced-rank", "beat-template", "time-shifted-gan"]))
    ['gan', 'reduced-rank', 'beat-template', 'time-shifted-gan']
    """
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise ValueError(f"unknown model name(s) {unknown}; choose from {list(MODELS)}.")
    gan = {"random_state": seed, "verbose": 0, **(gan_params or {})}
    if epochs is not None:
        gan.update(max_epochs=int(epochs), warmup_epochs=gan_warmup_epochs(epochs))
    bands = gan_mel_bands(gan) if n_mels is None else int(n_mels)
    gan["module__aux_mels"] = bands
    front = dict(preprocessing=preprocessing)
    mel = dict(n_iter=n_iter, random_state=seed, n_mels=bands)

    def make_gan(**overrides):
        return make_gan_pipeline(sfreq, **front, **{**gan, **overrides})

    factories = {
        "gan": make_gan,
        "gan-ddsp": lambda: make_gan(decoder="ddsp"),
        "gan-upsampler": lambda: make_gan(decoder="upsampler"),
        "gan-end-to-end": lambda: make_gan(training="end_to_end", decoder="upsampler"),
        "gan-recon-only": lambda: make_gan(lambda_adv=0.0),
        "gan-l1-encoder": lambda: make_gan(lambda_clip=0.0),
        "gan-finetune-encoder": lambda: make_gan(finetune_encoder=True),
        "gan-no-linear": lambda: make_gan(module__linear_window=None),
        "reduced-rank": lambda: make_reduced_rank_pipeline(sfreq, **mel, **front),
        "reduced-rank-by-condition": lambda: make_reduced_rank_by_condition_pipeline(
            sfreq, **mel, **front
        ),
        "linear-mel": lambda: make_linear_pipeline(sfreq, target="mel", **mel, **front),
        "linear-envelope": lambda: make_linear_pipeline(sfreq, target="envelope", **front),
        # The no-EEG baselines and the controls see the recorded EEG (no front end).
        "beat-template": lambda: BeatTemplateBaseline(sfreq=sfreq, **mel),
        "mean-spectrum": lambda: MeanSpectrumBaseline(sfreq=sfreq, random_state=seed),
        "shuffled-gan": lambda: ShuffledPairs(make_gan(), random_state=seed),
        "time-shifted-gan": lambda: TimeShiftedPairs(
            make_gan(), beat_period=beat_period, random_state=seed, sfreq=sfreq
        ),
    }
    return {name: factories[name]() for name in names}
