"""Ready-made pipelines: the method and its baselines, wired for grouped CV.

Each factory returns a plain :class:`~sklearn.pipeline.Pipeline` whose
subject-aware steps already request ``groups`` through scikit-learn's metadata
routing, so inside ``sklearn.config_context(enable_metadata_routing=True)``
``pipe.fit(X, y, groups=subject)`` aligns and selects penalties per subject and
``pipe.predict(X, groups=subject)`` aligns each test subject with its own EEG.
Outside routing they work as ordinary pipelines (the batch is one domain).
"""

import sklearn
from sklearn.pipeline import Pipeline

from .models import EEG2MusicGAN, LinearDecoder
from .preprocessing import BandpassFilter, ChannelScaler, Clip, EuclideanAlignment, Resample


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
        ``(n_trials, n_audio)``.

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
    with sklearn.config_context(enable_metadata_routing=True):
        decoder.set_fit_request(groups=True)
    return Pipeline([*make_preprocessing(sfreq, **(preprocessing or {})), ("linear", decoder)])
