"""``EEG2MusicGAN``: the EEG-to-waveform GAN as a skorch regressor.

The generator (:class:`~.generator.Generator`) is skorch's ``module``; the
discriminator and its optimizer are registered as extra skorch components
(``discriminator_``, ``optimizer_discriminator_``), so ``discriminator__*`` and
``optimizer_discriminator__*`` parameters, device moves, pickling and
``save_params(f_discriminator=..., f_optimizer_discriminator=...)`` work as for
the built-in ones. The reconstruction losses live in skorch's ``criterion``
(:class:`~.losses.ReconstructionLoss`, which holds the mel filterbank).

Only documented skorch hooks are overridden: ``initialize_module``,
``initialize_criterion`` and ``initialize_optimizer`` build the parts,
``train_step`` does the alternating discriminator/generator update,
``get_loss`` gives the validation loss, ``get_dataset`` and
``get_split_datasets`` validate input and guard the inner split, ``infer``
adds the retrieval prior at prediction, ``score`` returns mel-spectrogram
correlation, and ``fit``/``partial_fit`` infer shapes from the data (as
braindecode does), scope the random seed and (``fit``, staged training) run
the two pre-training stages of :mod:`._staged` before skorch's epochs.
The presets' sizes and budgets are in :mod:`._presets`; crops, optimizer
groups and the cached decoder stage in :mod:`._training`.
"""

import contextlib
import numbers

import numpy as np
import torch
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_memory
from skorch import NeuralNetRegressor
from skorch.callbacks import EpochTimer, LRScheduler, PassthroughScoring, PrintLog
from skorch.dataset import ValidSplit, unpack_data
from skorch.utils import TeeGenerator, to_tensor

from ...metrics import mel_correlation_per_trial
from ...utils._validation import (
    check_audio,
    check_eeg,
    check_sfreq,
    check_y_for_eeg,
    expected_failed_checks_2d_eeg,
)
from .._interrupt import InterruptibleMixin
from ._linear_path import fit_linear_path
from ._presets import DDSP_LR, PRESETS
from ._staged import (
    blend_with_prior,
    decoder_cache_key,
    encode_mel,
    train_encoder,
    unique_audio,
)
from ._training import (
    DiscriminatorLRScheduler,
    _accepted,
    _eval_mode,
    _fit_decoder,
    decoder_state_names,
    random_crops,
    random_windows,
    split_param_group,
)
from .generator import DECODERS, Generator
from .losses import (
    ADVERSARIAL_LOSSES,
    ReconstructionLoss,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
    weighted_sum,
    zscore_over_time,
)

#: Loss components recorded per batch (``train_<name>``) and per epoch.
LOGGED_COMPONENTS = (
    "mel",
    "stft_sc",
    "stft_mag",
    "wav",
    "aux",
    "adv",
    "fm",
    "d_loss",
    "d_real",
    "d_fake",
)


_ADVERSARIAL_COMPONENTS = ("adv", "fm", "d_loss", "d_real", "d_fake")


class EEG2MusicGAN(InterruptibleMixin, NeuralNetRegressor):
    """Reconstruct music waveforms from EEG with a GAN (skorch regressor).

    A generator maps EEG trials ``(n_trials, n_channels, n_times)`` straight to
    waveforms ``(n_trials, n_times * factor)`` (no vocoder, no Griffin-Lim): an
    EEG encoder (1x1 spatial convolution, residual dilated temporal
    convolutions with a receptive field of at least 0.5 s) whose head decodes
    a log-mel spectrogram at the EEG rate, followed by a HiFi-GAN-style
    upsampler whose rates are planned from ``factor = y.shape[1] //
    X.shape[2]``, inferred in ``fit`` (or, with ``decoder="ddsp"``, a
    DDSP-style harmonic-plus-noise synthesiser).

    With ``training="staged"`` (the default) ``fit`` runs four stages
    (:ref:`gan-staged` in the user guide says why each exists):

    1. **Decoder pre-training**: the upsampler learns to render the z-scored
       true log-mel of the training ``y`` (each distinct segment once) for
       ``decoder_steps`` steps; the result is cached by a hash of that audio
       (``decoder_key_``; also in ``memory`` if given) and equals a refit.
    2. **Linear path** (the generator's ``linear_window``; the presets set
       it): a lagged reduced-rank ridge from EEG to log-mel, fitted in closed
       form on the encoder's training trials (one per condition); the
       encoder's output is added to it times a gain that starts at 0.
    3. **Encoder training**: L1 plus segment-level contrastive (CLIP) loss,
       early-stopped on held-out training subjects (trials without
       ``groups``), at most ``encoder_epochs`` epochs.
    4. **Joint fine-tuning** (skorch's ``max_epochs`` epochs): adversarial and
       reconstruction losses on random crops, the discriminator starting
       after ``warmup_epochs``; the encoder stays frozen unless
       ``finetune_encoder=True``.

    The decoded log-mel is standardised over time before the upsampler, the
    distribution it was pre-trained on. ``training="end_to_end"`` is the
    ablation: one network trained only by skorch's epochs (no pre-training,
    no standardisation). Prediction runs on whole trials.

    A per-trial ``condition`` (e.g. listening / imagery), given to ``fit`` and
    ``predict`` directly or by metadata routing (on by default), gives each
    condition its own linear map and feature-wise affine map in the encoder;
    a model fitted on several conditions needs it in ``predict``.

    Parameters
    ----------
    module : type or torch.nn.Module, default=Generator
        The generator. A class receives ``n_channels``, ``factor`` and
        ``sfreq`` (inferred / from this estimator), the preset's sizes and any
        ``module__*`` parameters.
    discriminator : type or torch.nn.Module | None, default=None
        Returns ``(logits, feature_maps)`` for waveforms ``(batch, n_audio)``;
        ``None`` uses the preset's (MelGAN multi-scale for ``"cpu"``, HiFi-GAN
        multi-period for ``"gpu"``). ``discriminator__*`` reach it.
    sfreq : float, default=64.0
        EEG sampling rate (Hz); the audio rate is ``sfreq * factor``.
    preset : {"cpu", "gpu", "tiny"}, default="cpu"
        Network sizes and stage budgets (see :data:`PRESETS`): ``"cpu"`` is
        sized for 2 CPU cores, ``"gpu"`` is a larger generator with the
        multi-period discriminator and longer pre-training, ``"tiny"`` is for
        tests.
    training : {"staged", "end_to_end"}, default="staged"
        ``"staged"``: decoder pre-training, encoder training, then joint
        fine-tuning (see above). ``"end_to_end"``: only skorch's epochs on one
        network (the ablation).
    decoder : {"upsampler", "ddsp"} | None, default=None
        The generator's decode stage; ``None`` uses the preset's (``"ddsp"``
        for ``"cpu"``, ``"upsampler"`` otherwise). ``"upsampler"``: the
        HiFi-GAN-style transposed-convolution upsampler. ``"ddsp"``: a
        harmonic-plus-noise synthesiser
        (:class:`~sk_eeg2music.models.gan._ddsp.HarmonicNoiseDecoder`), which
        learns the training music in far fewer CPU steps
        (:ref:`gan-decoder-choice`); its settings are
        ``module__ddsp_params=dict(...)``, and its prediction is
        deterministic.
    decoder_steps : int | None, default=None
        Steps of decoder pre-training (batches of ``batch_size`` crops of
        ``crop_seconds``); ``None`` uses the preset's (240 for ``"cpu"``:
        about a minute on one core, enough for notes and onsets; more gives
        cleaner audio). A longer CPU budget is this parameter.
    encoder_epochs : int | None, default=None
        Maximum epochs of encoder training; ``None`` uses the preset's.
    encoder_patience : int, default=8
        Encoder epochs without a better validation loss before stopping.
    encoder_batch_size : int, default=32
        Trials per encoder step (also the candidates of the contrastive loss).
    encoder_validation : float, default=0.2
        Fraction of training subjects (``groups`` given) or trials held out
        to early-stop the encoder; 0 trains all ``encoder_epochs``.
    finetune_encoder : bool, default=False
        Whether the joint fine-tuning epochs (``training="staged"``) also
        update the encoder. By default it keeps its early-stopped weights and
        runs as at prediction (evaluation mode, no gradient), because updating
        it there lost identification on held-out subjects (:ref:`gan-staged`);
        ``True`` is that ablation. Ignored with ``training="end_to_end"``.
        ``partial_fit`` from scratch runs no encoder stage, so there the
        encoder trains only with ``True``.
    lambda_clip : float, default=1.0
        Weight of the contrastive loss in encoder training (0: L1 only).
    clip_temperature : float, default=0.1
        Softmax temperature of the contrastive loss.
    memory : str | joblib.Memory | None, default=None
        Where to cache the pre-trained decoder across estimators (e.g. folds
        that share the training music), as scikit-learn's ``Pipeline(memory=)``;
        the in-estimator cache always applies to refits of the same estimator.
        joblib's cache pickles: point it only at a folder you control.
    prior_weight : float, default=0.8
        At prediction (``training="staged"``) the upsampler decodes
        ``zscore((1 - w) * decoded + w * retrieved)``, ``retrieved`` being the
        window of the *training* music closest to the decoded log-mel
        (``prior_bank_``): the output commits to notes of the training music,
        right when the EEG identifies the segment and wrong otherwise, so
        measure identification against the nulls. 0 decodes the EEG alone;
        ``predict_features`` never uses the prior.
    lambda_adv : float, default=1.0
        Weight of the adversarial loss; 0 is the reconstruction-only ablation
        (the discriminator is never run or updated).
    lambda_fm : float, default=2.0
        Weight of the feature-matching loss (HiFi-GAN).
    lambda_mel : float, default=45.0
        Weight of the log-mel L1 loss (HiFi-GAN).
    lambda_stft : float, default=2.5
        Weight of each multi-resolution STFT term (spectral convergence and log
        magnitude; UnivNet's 2.5).
    lambda_wav : float, default=0.0
        Weight of the waveform L1 loss. Off by default: it is phase-sensitive
        and pulls outputs towards silence.
    lambda_aux : float, default=10.0
        Weight of the auxiliary loss on the generator's EEG-rate log-mel head;
        it trains the encoder directly on the spectrogram it must decode.
    adversarial_loss : {"lsgan", "hinge"}, default="lsgan"
    warmup_epochs : int, default=5
        Epochs of reconstruction-only training before the discriminator starts.
    crop_seconds : float | None, default=1.0
        Length of the random training crops (s); ``None`` trains on whole trials.
    discriminator_crop_seconds : float | None, default=0.25
        The discriminator sees one random window of this length (s) from each
        real and generated crop (the same window for both). Vocoder
        discriminators judge ~0.3-s segments; shorter windows cut its cost,
        which dominates a CPU training step. ``None``: the whole crop.
    teacher_forcing : float, default=0.5
        With the generator's ``decoder_input="mel"`` (the default), the
        fraction of fine-tuning examples whose upsampler input is the true
        z-scored log-mel instead of the EEG-decoded one, so the upsampler
        learns from fully informative inputs. Prediction always uses the
        EEG-decoded log-mel.
    max_epochs : int, default=30
    batch_size : int, default=8
    lr : float, default=2e-4
        Generator learning rate (AdamW): the upsampler's.
    lr_encoder : float | None, default=3e-3
        Learning rate of the EEG encoder (``encoder_parameters()``): of the
        encoder stage with ``training="staged"``, else a parameter group of
        the generator's optimizer (at the vocoder rate the encoder learns
        almost nothing in a CPU budget). ``None`` uses ``lr``. The staged
        fine-tuning epochs move the encoder (``finetune_encoder=True``) at
        ``lr``. An ``optimizer__param_groups`` pattern that matches encoder
        parameters takes precedence.
    lr_decoder : float | None, default=None
        Learning rate of decoder pre-training (``training="staged"``), or a
        parameter group of the decoder's parameters with
        ``training="end_to_end"``. ``None``: ``lr`` for the upsampler (no
        separate group), 1e-3 for ``decoder="ddsp"``. The staged fine-tuning
        epochs move the decoder at ``lr``.
    lr_discriminator : float, default=2e-4
        Discriminator learning rate, applied when the optimizers are built
        (``optimizer_discriminator__lr`` takes precedence); never inherited
        from ``lr``.
    optimizer, optimizer_discriminator : type, default=torch.optim.AdamW
    optimizer__betas, optimizer_discriminator__betas : tuple, default=(0.8, 0.99)
    grad_clip : float | None, default=10.0
        Max gradient norm of the generator (``None``: no clipping).
    grad_clip_discriminator : float | None, default=1.0
        Max gradient norm of the discriminator.
    lr_decay : float, default=0.999
        Per-epoch ``ExponentialLR`` factor of both optimizers (the
        ``lr_scheduler`` and ``lr_scheduler_discriminator`` callbacks).
    standardize_input : bool, default=True
        Standardise each EEG channel with its mean and standard deviation over
        the training trials (held in the generator, so EEG in volts works).
    criterion : type, default=ReconstructionLoss
        Holds the reconstruction losses; ``criterion__*`` (e.g. ``n_mels``)
        reach it.
    train_split : callable | None, default=None
        Inner validation split. ``None`` (no split) by default; for early
        stopping use a split grouped by subject, e.g.
        ``skorch.dataset.ValidSplit(GroupKFold(5))`` and ``fit(X, y,
        groups=subject)``. A random split (``ValidSplit(5)``) together with
        groups is refused: it would put trials of one subject on both sides.
    iterator_train__shuffle : bool, default=True
    random_state : int | numpy.random.RandomState | None, default=None
        Seeds weight initialisation, batch order, crops and dropout for
        ``fit`` (torch's global generator is restored afterwards); with an int,
        two CPU fits give identical predictions.
    device : str, default="cpu"
        ``"cuda"`` works; pair it with ``preset="gpu"``.
    verbose : int, default=1
    on_interrupt : {"raise", "warn"}, default="raise"
        What a Ctrl-C during ``fit`` does once the current epoch is recorded:
        re-raise ``KeyboardInterrupt`` (skorch would swallow it), or keep
        skorch's behaviour with a warning and ``interrupted_ = True`` (see
        ``docs/limits.md``, "Interrupted training").
    **kwargs
        Any other :class:`skorch.NeuralNet` parameter (``callbacks``,
        ``iterator_valid__batch_size``, ``module__encoder_channels``, ...).

    Attributes
    ----------
    module_ : Generator
    discriminator_ : torch.nn.Module
    optimizer_, optimizer_discriminator_ : torch.optim.Optimizer
    criterion_ : ReconstructionLoss
    factor_ : int
        Audio samples per EEG sample, inferred in ``fit``.
    audio_sfreq_ : float
        ``sfreq * factor_``.
    n_channels_in_ : int
        EEG channels seen in ``fit``.
    n_features_in_ : int
        Same as ``n_channels_in_`` (scikit-learn's name).
    input_mean_, input_scale_ : ndarray, shape (n_channels,)
        Channel statistics of the training EEG.
    interrupted_ : bool
        Whether the last ``fit`` was cut short by a Ctrl-C.
    output_dtype_ : numpy.dtype
        dtype of ``predict``'s output: float64 if ``y`` was float64 in
        ``fit``, float32 otherwise (training itself runs in float32).
    conditions_ : ndarray of str | None
        Condition labels seen in ``fit`` (sorted; code ``i`` is
        ``conditions_[i]``); ``None`` without ``condition`` or with a single
        label (one mapping, which then serves any condition in ``predict``,
        e.g. to test a listening model on imagery).
    mel_mean_, mel_scale_ : ndarray, shape (aux_mels,)
        Per-band mean and mean time-course standard deviation of the training
        audio's log-mel (:meth:`predict_features` maps back to this scale).
    prior_bank_ : ndarray, shape (n_segments, aux_mels, n_times) | None
        z-scored log-mel of the distinct training segments (the retrieval
        prior; ``None`` for ``training="end_to_end"``).
    decoder_key_ : str
        Hash of the decoder pre-training's inputs: training audio, the decode
        stage's kind, settings and initial state (staged only).
    decoder_losses_ : list of float
        Decoder pre-training loss per step (staged only).
    encoder_history_ : list of dict
        Encoder training per epoch: ``epoch``, ``train_loss``, ``train_aux``,
        ``train_clip``, ``valid_loss`` (staged only); with a validation split
        the first row (``epoch=0``) is the starting weights' ``valid_loss``.
    encoder_best_epoch_ : int
        The encoder epoch kept by early stopping (staged only; 0: the
        starting weights, i.e. the linear path alone when there is one).
    linear_fits_ : list of dict | None
        Per head of the generator's linear path (see its ``linear_window``;
        the ``"cpu"`` and ``"gpu"`` presets set it): ``n_trials``, ``alpha``
        (one per band) and ``rank`` chosen by grouped inner CV on the
        encoder's training trials. ``None`` without a linear path or for
        ``training="end_to_end"``.
    history_ : skorch.History
        Per epoch and per batch: ``train_loss`` (generator objective),
        ``train_d_loss`` and every loss component as ``train_<name>``.

    Notes
    -----
    With ``train_split=None`` the default ``Checkpoint`` monitor
    (``valid_loss_best``) does not exist; use ``monitor="train_loss_best"`` and
    pass ``f_discriminator=`` and ``f_optimizer_discriminator=`` so both
    networks and both optimizers are saved.

    Examples
    --------
    >>> from sk_eeg2music import EEG2MusicGAN, make_simulated
    >>> data = make_simulated("mos", n_subjects=1, segment_seconds=2.0, audio_sfreq=8000)
    >>> gan = EEG2MusicGAN(preset="tiny", max_epochs=1, verbose=0, random_state=0)
    >>> gan.fit(data.X, data.y).predict(data.X[:2]).shape
    (2, 16000)
    """

    # Metadata routing: subject ids reach ``fit`` by default (the encoder's
    # early-stopping split holds out whole subjects, as EuclideanAlignment
    # aligns per subject), and each trial's condition reaches ``fit`` and
    # ``predict`` (a model file keeps no routing requests, so defaults, not
    # set_*_request calls, must carry them).
    __metadata_request__fit = {"groups": True, "condition": True}
    __metadata_request__predict = {"condition": True}

    def __init__(
        self,
        module=Generator,
        discriminator=None,
        *,
        sfreq=64.0,
        preset="cpu",
        lambda_adv=1.0,
        lambda_fm=2.0,
        lambda_mel=45.0,
        lambda_stft=2.5,
        lambda_wav=0.0,
        lambda_aux=10.0,
        adversarial_loss="lsgan",
        warmup_epochs=5,
        training="staged",
        decoder=None,
        decoder_steps=None,
        encoder_epochs=None,
        encoder_patience=8,
        encoder_batch_size=32,
        encoder_validation=0.2,
        finetune_encoder=False,
        lambda_clip=1.0,
        clip_temperature=0.1,
        memory=None,
        prior_weight=0.8,
        crop_seconds=1.0,
        discriminator_crop_seconds=0.25,
        teacher_forcing=0.5,
        max_epochs=30,
        batch_size=8,
        lr=2e-4,
        lr_encoder=3e-3,
        lr_decoder=None,
        lr_discriminator=2e-4,
        optimizer=torch.optim.AdamW,
        optimizer_discriminator=torch.optim.AdamW,
        optimizer__betas=(0.8, 0.99),
        optimizer_discriminator__betas=(0.8, 0.99),
        grad_clip=10.0,
        grad_clip_discriminator=1.0,
        lr_decay=0.999,
        standardize_input=True,
        criterion=ReconstructionLoss,
        train_split=None,
        iterator_train__shuffle=True,
        random_state=None,
        device="cpu",
        verbose=1,
        **kwargs,
    ):
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            device=device,
            verbose=verbose,
            optimizer__betas=optimizer__betas,
            optimizer_discriminator__betas=optimizer_discriminator__betas,
            iterator_train__shuffle=iterator_train__shuffle,
            **kwargs,
        )
        self.discriminator = discriminator
        self.sfreq = sfreq
        self.preset = preset
        self.lambda_adv = lambda_adv
        self.lambda_fm = lambda_fm
        self.lambda_mel = lambda_mel
        self.lambda_stft = lambda_stft
        self.lambda_wav = lambda_wav
        self.lambda_aux = lambda_aux
        self.adversarial_loss = adversarial_loss
        self.warmup_epochs = warmup_epochs
        self.training = training
        self.decoder = decoder
        self.decoder_steps = decoder_steps
        self.encoder_epochs = encoder_epochs
        self.encoder_patience = encoder_patience
        self.encoder_batch_size = encoder_batch_size
        self.encoder_validation = encoder_validation
        self.finetune_encoder = finetune_encoder
        self.lambda_clip = lambda_clip
        self.clip_temperature = clip_temperature
        self.memory = memory
        self.prior_weight = prior_weight
        self.crop_seconds = crop_seconds
        self.discriminator_crop_seconds = discriminator_crop_seconds
        self.teacher_forcing = teacher_forcing
        self.lr_encoder = lr_encoder
        self.lr_decoder = lr_decoder
        self.lr_discriminator = lr_discriminator
        self.optimizer_discriminator = optimizer_discriminator
        self.grad_clip = grad_clip
        self.grad_clip_discriminator = grad_clip_discriminator
        self.lr_decay = lr_decay
        self.standardize_input = standardize_input
        self.random_state = random_state

    # ------------------------------------------------------------------ skorch
    @property
    def _default_callbacks(self):
        scorers = [
            (f"train_{name}", PassthroughScoring(name=f"train_{name}", on_train=True))
            for name in LOGGED_COMPONENTS
        ]
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            *scorers,
            (
                "lr_scheduler",
                LRScheduler(torch.optim.lr_scheduler.ExponentialLR, gamma=self.lr_decay),
            ),
            (
                "lr_scheduler_discriminator",
                DiscriminatorLRScheduler(
                    torch.optim.lr_scheduler.ExponentialLR,
                    gamma=self.lr_decay,
                    event_name="event_lr_discriminator",
                ),
            ),
            ("print_log", PrintLog(keys_ignored=("train_d_real", "train_d_fake"))),
        ]

    def initialize_module(self):
        """Build the generator and the discriminator for the shapes seen in ``fit``."""
        self._check_shapes_known()
        preset = self._preset()
        kwargs = self.get_params_for("module")
        if isinstance(self.module, type):
            inferred = dict(
                n_channels=self.n_channels_in_,
                factor=self.factor_,
                sfreq=self.sfreq,
                decoder_input_norm="zscore" if self.training == "staged" else None,
                decoder=self._decoder(),
                n_conditions=self._n_conditions(),
            )
            defaults = preset["module"] if issubclass(self.module, Generator) else {}
            if self.training == "end_to_end":
                # The ablation is one network trained end to end: nothing fitted in closed form.
                defaults = {k: v for k, v in defaults.items() if k != "linear_window"}
            kwargs = {**_accepted(self.module, inferred), **defaults, **kwargs}
        module = self.initialized_instance(self.module, kwargs)
        built = getattr(module, "decoder", None)
        built = built if isinstance(built, str) else "upsampler"  # e.g. a custom nn.Module
        if built != self._decoder() and "decoder" not in self.get_params_for("module"):
            raise ValueError(
                f"decoder={self._decoder()!r} needs a generator that builds it (the Generator "
                f"class); the module given has decoder {built!r}."
            )
        standardize = getattr(module, "standardize", None)
        if self.standardize_input and hasattr(standardize, "set_statistics"):
            standardize.set_statistics(self.input_mean_, self.input_scale_)
        self.module_ = module

        disc_cls, disc_defaults = preset["discriminator"]
        disc = disc_cls if self.discriminator is None else self.discriminator
        kwargs = self.get_params_for("discriminator")
        if disc is disc_cls:
            kwargs = {**disc_defaults, **kwargs}
        self.discriminator_ = self.initialized_instance(disc, kwargs)
        return self

    def initialize_criterion(self):
        """Build the reconstruction losses for the audio rate seen in ``fit``."""
        self._check_shapes_known()
        kwargs = self.get_params_for("criterion")
        if isinstance(self.criterion, type):
            inferred = dict(
                sample_rate=self.audio_sfreq_,
                hop_length=self.factor_,
                aux_hop_length=self.factor_,
                aux_mels=getattr(self.module_, "aux_mels", 0),
            )
            defaults = (
                self._preset()["criterion"]
                if issubclass(self.criterion, ReconstructionLoss)
                else {}
            )
            kwargs = {**_accepted(self.criterion, inferred), **defaults, **kwargs}
        self.criterion_ = self.initialized_instance(self.criterion, kwargs)
        return self

    def initialize_optimizer(self, *args, **kwargs):
        """One optimizer per network; the generator's holds only generator parameters.

        With ``training="end_to_end"`` the encoder's parameters form a group
        with ``lr_encoder``; staged training leaves them out unless
        ``finetune_encoder``.
        """
        encoder = getattr(self.module_, "encoder_parameters", None)
        named = self.module_.named_parameters()
        if self._encoder_frozen():
            frozen = {id(p) for p in encoder()}
            named = [(n, p) for n, p in named if id(p) not in frozen]
        (pgroups,), kw = self.get_params_for_optimizer("optimizer", named)
        # Staged: the encoder was fitted (early-stopped) at lr_encoder before
        # skorch's epochs; it is frozen there (finetune_encoder=False) or, the
        # ablation, fine-tuned at the upsampler's rate.
        lr_encoder = self.lr_encoder if self.training == "end_to_end" else None
        decoder = getattr(self.module_, "decoder_parameters", None)
        lr_decoder = self._decoder_lr(explicit_only=True)
        decoder_group = []
        if self.training == "end_to_end" and lr_decoder is not None and decoder is not None:
            split = split_param_group(pgroups, decoder(), lr=lr_decoder)
            if split is not pgroups:  # the new group is last; the default one before it
                pgroups, decoder_group = split[:-1], split[-1:]
        if lr_encoder is not None and encoder is not None:
            pgroups = split_param_group(pgroups, encoder(), lr=lr_encoder)
        pgroups = [*pgroups, *decoder_group]
        self.optimizer_ = self.optimizer(pgroups, **kw)
        pgroups, kw = self.get_params_for_optimizer(
            "optimizer_discriminator", self.discriminator_.named_parameters()
        )
        if "lr" not in self.get_params_for("optimizer_discriminator"):
            # skorch would fill in the generator's lr here; the discriminator's
            # learning rate must be a deliberate choice.
            kw["lr"] = self.lr_discriminator
        self.optimizer_discriminator_ = self.optimizer_discriminator(*pgroups, **kw)
        return self

    def train_step(self, batch, **fit_params):
        """One discriminator update (once warm-up is over) then one generator update.

        Follows HiFi-GAN's order: the discriminator sees real audio and the
        detached generator output; the generator then minimises the weighted
        reconstruction losses plus, once the discriminator is active, the
        adversarial and feature-matching losses. Every component is recorded
        in ``history`` for the batch.

        Returns
        -------
        step : dict
            ``loss`` (the generator objective) and ``y_pred`` (the generated
            crops).
        """
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        y_full = to_tensor(yi, device=self.device)
        y_fake, yi, aux, aux_target = self._generate(
            to_tensor(Xi, device=self.device), y_full, **fit_params
        )

        adversarial = self._adversarial_active()
        # Inactive adversarial terms are logged as NaN ("not computed") so every
        # epoch has the same history keys and printed columns.
        logged = {k: torch.tensor(float("nan")) for k in _ADVERSARIAL_COMPONENTS}
        if adversarial:
            d_real, d_fake = random_windows(yi, y_fake, self._discriminator_window())
            logged.update(self._discriminator_step(d_real, d_fake.detach()))

        self.optimizer_.zero_grad()
        parts = self.criterion_(
            y_fake, yi, aux=aux, components=self._components(), aux_target=aux_target
        )
        if adversarial:
            parts.update(self._adversarial_terms(d_real, d_fake))
        loss = weighted_sum(parts, self._weights())
        self._backward(loss)
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.module_.named_parameters()),
            batch=batch,
            training=True,
        )
        if self.grad_clip is not None:
            # The optimised parameters only: a frozen encoder's are not stepped.
            self._clip_grad_norm(self._optimized_parameters(), self.grad_clip)
        self.optimizer_.step()

        logged.update(parts)
        self._record_batch(logged)
        return {"loss": loss.detach(), "y_pred": y_fake.detach()}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Weighted reconstruction loss (mel, STFT, waveform) on whole trials.

        Used for ``valid_loss``; the adversarial terms need a discriminator
        step and are only part of the training objective.
        """
        y_true = to_tensor(y_true, device=self.device)
        components = [c for c in self._components() if c != "aux"]
        return weighted_sum(self.criterion_(y_pred, y_true, components=components), self._weights())

    def get_dataset(self, X, y=None):
        """Validate EEG (and audio) before wrapping them in skorch's dataset.

        EEG must have the channel count seen in ``fit``; float64 is cast to
        float32. Every prediction path (``predict``, ``forward``, ``score``)
        goes through here.
        """
        if isinstance(X, dict) and "x" in X:
            self.check_is_fitted(["n_channels_in_"])
            eeg = check_eeg(X["x"], n_channels=self.n_channels_in_, estimator=type(self).__name__)
            X = {**X, "x": eeg}
            if y is not None:
                y = check_audio(y)
                self._check_factor(eeg, y)
        elif not isinstance(X, torch.utils.data.Dataset):
            self.check_is_fitted(["n_channels_in_"])
            X = check_eeg(X, n_channels=self.n_channels_in_, estimator=type(self).__name__)
            if y is not None:
                y = check_audio(y)
                self._check_factor(X, y)
        return super().get_dataset(X, y)

    def get_split_datasets(self, X, y=None, **fit_params):
        """skorch's split, refusing a random split of trials when groups are given."""
        cv = getattr(self.train_split, "cv", None)
        if (
            fit_params.get("groups") is not None
            and isinstance(self.train_split, ValidSplit)
            and isinstance(cv, numbers.Number)
        ):
            raise ValueError(
                f"train_split=ValidSplit({cv!r}) splits trials at random and would put trials "
                "of one subject in both the training and the validation set. Use "
                "ValidSplit(GroupKFold(k)) (split by groups) or train_split=None."
            )
        return super().get_split_datasets(X, y, **fit_params)

    def fit(self, X, y, groups=None, condition=None, **fit_params):
        """Infer shapes from ``X`` and ``y``, initialise, pre-train (staged) and train.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
            EEG (2-D input raises a ValueError that says how to reshape it).
        y : array-like, shape (n_trials, n_times * factor)
            The waveform heard during each trial, ``factor`` an integer.
        groups : array-like, shape (n_trials,) | None
            Subject of each trial: the encoder's early-stopping split holds
            out whole subjects, and a grouped ``train_split`` gets them.
        condition : array-like, shape (n_trials,) | None
            Condition of each trial (e.g. ``"listening"``/``"imagery"``); each
            condition gets its own linear map and encoder affine map.
            ``None``: one mapping.
        **fit_params
            Passed to skorch.

        Returns
        -------
        self
        """
        reset = not (self.warm_start and self.initialized_)
        X, y = self._validate_fit_data(X, y, reset=reset)
        codes = self._condition_codes(condition, len(X), reset=reset)
        if groups is not None:
            groups = np.asarray(groups)
            if len(groups) != len(X):
                raise ValueError(f"groups has {len(groups)} entries for {len(X)} trials.")
            fit_params["groups"] = groups
        with self._seeded(0):
            if reset:
                self.initialize()
                if self.training == "staged":
                    self._pretrain(X, y, codes, groups)
                else:
                    self._set_mel_statistics(y)
                    self.prior_bank_ = self.linear_fits_ = None
            # As skorch's own fit: routing resolves the "fit" requests.
            return super().partial_fit(
                self._inputs(X, codes), y, _routing_method="fit", **fit_params
            )

    def partial_fit(self, X, y=None, classes=None, condition=None, **fit_params):
        """Continue training (initialising first, from these data, if needed).

        Only skorch's epochs run: the staged pre-training belongs to ``fit``.
        """
        reset = not self.initialized_
        X, y = self._validate_fit_data(X, y, reset=reset)
        codes = self._condition_codes(condition, len(X), reset=reset)
        with self._seeded(len(self.history) if self.history is not None else 0):
            if reset:
                self.initialize()
                self._set_mel_statistics(y)
                self.prior_bank_ = self.linear_fits_ = None
            return super().partial_fit(self._inputs(X, codes), y, classes=classes, **fit_params)

    def predict(self, X, condition=None):
        """Reconstruct the waveform of each trial.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
        condition : array-like, shape (n_trials,) | None
            Condition of each trial (labels seen in ``fit``); required when
            ``fit`` saw several conditions (a ``ValueError`` otherwise).

        Returns
        -------
        y_pred : ndarray, shape (n_trials, n_times * ``factor_``)
            In the dtype of the training targets (float32 unless ``y`` was float64).
        """
        X = self._inputs(X, self._condition_codes(condition, len(X), reset=False))
        y_pred = super().predict(X)
        return y_pred.astype(getattr(self, "output_dtype_", np.float32), copy=False)

    def infer(self, x, **fit_params):
        """skorch's forward pass; at prediction, with the retrieval prior of ``prior_weight``."""
        bank = getattr(self, "prior_bank_", None)
        module = self.module_
        if bank is None or not self.prior_weight or module.training:
            return super().infer(x, **fit_params)
        eeg, condition = self._split_inputs(to_tensor(x, device=self.device))
        mel = encode_mel(module, eeg, condition)[1]
        bank = torch.as_tensor(bank, device=mel.device, dtype=mel.dtype)
        return module.decode(blend_with_prior(mel, bank, float(self.prior_weight)))

    def predict_features(self, X, condition=None):
        """The encoder's decoded log-mel, before the upsampler.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
        condition : array-like, shape (n_trials,) | None
            As in :meth:`predict`.

        Returns
        -------
        features : ndarray, shape (n_trials, n_mels, n_times)
            Natural-log mel power at the EEG frame rate (``n_mels`` is the
            generator's ``aux_mels``): the head's z-scored prediction mapped
            to the training audio's per-band level (``mel_mean_``) and
            time-course spread (``mel_scale_``).
        """
        self.check_is_fitted(["module_", "mel_mean_"])
        X = self._inputs(X, self._condition_codes(condition, len(X), reset=False))
        dataset = self.get_dataset(X)
        self._set_training(False)
        out = []
        with torch.no_grad():
            for batch in self.get_iterator(dataset, training=False):
                x, cond = self._split_inputs(to_tensor(unpack_data(batch)[0], self.device))
                out.append(encode_mel(self.module_, x, cond)[1].cpu())
        mel = torch.cat(out).numpy().astype(np.float64)
        return mel * self.mel_scale_[:, None] + self.mel_mean_[:, None]

    def score(self, X, y, sample_weight=None):
        """Mean band-wise log-mel correlation between predicted and true audio.

        Parameters
        ----------
        X : array-like, shape (n_trials, n_channels, n_times)
        y : array-like, shape (n_trials, n_times * ``factor_``)
        sample_weight : array-like, shape (n_trials,) | None

        Returns
        -------
        score : float
            :func:`sk_eeg2music.metrics.mel_correlation` (higher is better),
            not R² over samples.
        """
        y_pred = self.predict(X)
        y = check_audio(y)
        if y.shape != y_pred.shape:
            raise ValueError(
                f"y must have shape {y_pred.shape} (n_trials, n_times * {self.factor_}); "
                f"got {y.shape}."
            )
        r = mel_correlation_per_trial(y, y_pred, sfreq=self.audio_sfreq_)
        return float(np.average(r, weights=sample_weight))

    @classmethod
    def _test_instances(cls):
        # Hook of tests/test_common.py: a network small and short enough for the
        # generic checks.
        return [cls(preset="tiny", max_epochs=1, random_state=0, verbose=0)]

    #: Hook of tests/test_common.py: with the tiny preset and one epoch the
    #: ~50 generic checks take ~20 s on 2 cores, so they run in CI.
    _test_checks_slow = False

    def _expected_failed_checks(self):
        # Hook of tests/test_common.py: what skorch's design makes impossible, and
        # the generic checks that fit on 2-D X, which EEG estimators refuse.
        return {
            **expected_failed_checks_2d_eeg(self),
            "check_no_attributes_set_in_init": (
                "skorch's NeuralNet.__init__ sets history_, initialized_ and virtual_params_"
            ),
            "check_set_params": (
                "skorch exposes its private _params_to_validate set as a constructor "
                "parameter; the check overwrites it with a float and set_params fails"
            ),
            "check_regressors_no_decision_function": (
                "skorch defines predict_proba on every net, regressors included (it "
                "returns the module's output)"
            ),
        }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.regressor_tags.poor_score = True
        return tags

    # ----------------------------------------------------------------- helpers
    def _preset(self):
        if self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {sorted(PRESETS)}; got {self.preset!r}.")
        return PRESETS[self.preset]

    def _check_shapes_known(self):
        if getattr(self, "factor_", None) is None:
            raise ValueError(
                "EEG2MusicGAN builds its networks for the shapes of the training data: call "
                "fit(X, y) (max_epochs=0 only initialises) before initialize() or load_params()."
            )

    def _check_factor(self, X, y):
        factor = check_y_for_eeg(X, y)
        if factor != self.factor_:
            raise ValueError(
                f"y has {y.shape[1]} samples per trial, {factor} per EEG sample, but the "
                f"estimator was fitted with {self.factor_}; expected shape "
                f"({len(y)}, {X.shape[-1] * self.factor_})."
            )

    def _validate_fit_data(self, X, y, reset):
        name = type(self).__name__
        X = check_eeg(X, n_channels=None if reset else self.n_channels_in_, estimator=name)
        y_dtype = getattr(y, "dtype", None)
        y = check_audio(y)
        factor = check_y_for_eeg(X, y)
        if not reset:
            self._check_factor(X, y)
            return X, y
        sfreq = check_sfreq(self.sfreq)
        if self.adversarial_loss not in ADVERSARIAL_LOSSES:
            raise ValueError(
                f"adversarial_loss must be one of {ADVERSARIAL_LOSSES}; "
                f"got {self.adversarial_loss!r}."
            )
        if not isinstance(self.finetune_encoder, (bool, np.bool_)):
            raise ValueError(f"finetune_encoder must be a bool; got {self.finetune_encoder!r}.")
        if self.training not in ("staged", "end_to_end"):
            raise ValueError(f"training must be 'staged' or 'end_to_end'; got {self.training!r}.")
        if self.decoder is not None and self.decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS} or None; got {self.decoder!r}.")
        for name in ("lr_encoder", "lr_decoder"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, numbers.Real) and 0 < value < np.inf):
                raise ValueError(f"{name} must be a positive learning rate or None; got {value!r}.")
        self._preset()
        self.factor_ = factor
        self.audio_sfreq_ = sfreq * factor
        self.n_channels_in_ = self.n_features_in_ = X.shape[1]
        # Training runs in float32; predictions come back in the precision of
        # the targets (float32 audio stays float32, float64 targets get float64).
        self.output_dtype_ = np.dtype(np.float64 if y_dtype == np.float64 else np.float32)
        mean = X.mean(axis=(0, 2), dtype=np.float64)
        scale = X.std(axis=(0, 2), dtype=np.float64)
        self.input_mean_ = mean.astype(np.float32)
        self.input_scale_ = np.where(scale > 0, scale, 1.0).astype(np.float32)
        return X, y

    @contextlib.contextmanager
    def _seeded(self, offset):
        """Seed torch's global generator inside the block, restoring it afterwards."""
        if self.random_state is None:
            yield
            return
        if isinstance(self.random_state, numbers.Integral):
            seed = np.random.SeedSequence([int(self.random_state), int(offset)])
            seed = int(seed.generate_state(1)[0])
        else:
            seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        devices = []
        if str(self.device).startswith("cuda") and torch.cuda.is_available():
            devices = [torch.device(self.device).index or torch.cuda.current_device()]
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield

    # ------------------------------------------------------ staged pre-training
    def _n_conditions(self):
        conditions = getattr(self, "conditions_", None)
        return 0 if conditions is None else len(conditions)

    def _condition_codes(self, condition, n_trials, reset):
        """Integer codes of per-trial condition labels (``conditions_`` set when ``reset``)."""
        if reset:
            self.conditions_ = None
        if condition is None:
            known = getattr(self, "conditions_", None)
            if known is not None:
                raise ValueError(
                    f"this model has one mapping per condition ({known.tolist()}); pass "
                    "condition= with each trial's label."
                )
            return None
        condition = np.asarray(condition)
        if condition.shape != (n_trials,):
            raise ValueError(
                f"condition must have one label per trial, shape ({n_trials},); "
                f"got {condition.shape}."
            )
        if reset:
            labels = np.unique(condition)
            self.conditions_ = labels if len(labels) > 1 else None
        if getattr(self, "conditions_", None) is None:
            return None  # fitted without conditions: one mapping for all
        unknown = sorted(set(condition.tolist()) - set(self.conditions_.tolist()))
        if unknown:
            raise ValueError(
                f"condition labels {unknown} were not seen in fit "
                f"(known: {self.conditions_.tolist()})."
            )
        return np.searchsorted(self.conditions_, condition).astype(np.int64)

    @staticmethod
    def _inputs(X, codes):
        # skorch hands dict inputs to the module's forward as keyword arguments.
        return X if codes is None else {"x": X, "condition": codes}

    @staticmethod
    def _split_inputs(X):
        if isinstance(X, dict):
            return X["x"], X.get("condition")
        return X, None

    def _stage_budget(self, name):
        value = getattr(self, name)
        return self._preset()["stages"][name] if value is None else value

    def _log_mel_target(self, y, batch=32):
        """z-scored log-mel at the EEG rate of waveforms ``y`` (numpy), and its level."""
        with torch.no_grad():
            mel = self.criterion_.aux_mel or self.criterion_.mel
            logmel = torch.cat(
                [mel(to_tensor(y[i : i + batch], self.device)) for i in range(0, len(y), batch)]
            )[..., : y.shape[1] // self.factor_]
        return logmel

    def _set_mel_statistics(self, y):
        """``mel_mean_``, ``mel_scale_``: per-band level and time spread of the training audio."""
        if not getattr(self.module_, "aux_mels", 0) or not hasattr(self.criterion_, "aux_mel"):
            self.mel_mean_ = self.mel_scale_ = None
            return
        logmel = self._log_mel_target(y).double()
        self.mel_mean_ = logmel.mean(dim=(0, 2)).cpu().numpy()
        self.mel_scale_ = logmel.std(dim=2, unbiased=False).mean(dim=0).cpu().numpy()

    def _pretrain(self, X, y, codes, groups):
        """Stages 1 and 2 of ``training="staged"`` (see the class docstring)."""
        module = self.module_
        needed = ("encode", "decode", "predict_mel", "decoder_parameters", "encoder_parameters")
        if not all(hasattr(module, m) for m in needed) or not getattr(module, "aux_mels", 0):
            raise ValueError(
                "training='staged' needs a Generator with its log-mel head (aux_mels >= 1); "
                "use training='end_to_end' for other modules."
            )
        self._set_mel_statistics(y)
        # The retrieval prior's bank: the distinct training segments only.
        bank = zscore_over_time(self._log_mel_target(unique_audio(y)))
        self.prior_bank_ = bank.cpu().numpy().astype(np.float32)
        seed = int(torch.randint(0, 2**31 - 1, (1,)))
        self._pretrain_decoder(y, seed)
        target = zscore_over_time(self._log_mel_target(y))
        X_t = to_tensor(X, self.device)
        cond = None if codes is None else torch.as_tensor(codes, device=self.device)
        train, valid = self._encoder_split(len(X), groups, seed)
        self.linear_fits_ = self._fit_linear_path(X_t, target, codes, groups, train)
        history, best = train_encoder(
            module,
            X_t,
            target,
            cond,
            train,
            valid,
            epochs=self._stage_budget("encoder_epochs"),
            patience=self.encoder_patience,
            batch_size=self.encoder_batch_size,
            lr=self.lr if self.lr_encoder is None else self.lr_encoder,
            weights={"aux": self.lambda_aux, "clip": self.lambda_clip},
            temperature=self.clip_temperature,
            grad_clip=self.grad_clip,
        )
        self.encoder_history_, self.encoder_best_epoch_ = history, best
        # No gradient of the stages outlives them: a frozen encoder's would
        # otherwise sit in every later gradient-norm computation.
        module.zero_grad(set_to_none=True)

    def _fit_linear_path(self, X, target, codes, groups, train):
        """Stage 2a: the generator's linear path (if any) on the encoder's training trials.

        Fitted on ``train`` only, so the validation trials that early-stop the
        encoder judge it as they judge the residual.
        """
        linear = getattr(self.module_, "linear", None)
        if linear is None:
            return None
        with torch.no_grad():
            x = self.module_.standardize(X[train]).cpu().numpy()
        return fit_linear_path(
            linear,
            x,
            target[train].cpu().numpy(),
            None if codes is None else np.asarray(codes)[train],
            None if groups is None else np.asarray(groups)[train],
        )

    def _encoder_split(self, n_trials, groups, seed):
        """Train / validation trial indices for the encoder's early stopping."""
        everything = np.arange(n_trials)
        if not self.encoder_validation or n_trials < 4:
            return everything, everything[:0]
        if groups is not None and len(np.unique(groups)) >= 2:
            cv = GroupShuffleSplit(1, test_size=self.encoder_validation, random_state=seed)
        else:
            cv = ShuffleSplit(1, test_size=self.encoder_validation, random_state=seed)
        return next(cv.split(everything, groups=groups))

    def _decoder(self):
        """The decode stage: ``decoder``, or the preset's when ``None``."""
        return self._preset()["decoder"] if self.decoder is None else self.decoder

    def _decoder_lr(self, explicit_only=False):
        """The decode stage's learning rate (see ``lr_decoder``).

        With ``explicit_only``, ``None`` where the decoder simply shares ``lr``
        (the upsampler without ``lr_decoder``).
        """
        if self.lr_decoder is not None:
            return self.lr_decoder
        if getattr(self.module_, "decoder", None) == "ddsp":
            return DDSP_LR
        return None if explicit_only else self.lr

    def _pretrain_decoder(self, y, seed):
        """Stage 1, cached by a hash of the distinct training waveforms."""
        steps = int(self._stage_budget("decoder_steps"))
        names = set(decoder_state_names(self.module_))
        init = {k: v for k, v in self.module_.state_dict().items() if k in names}
        y_unique = unique_audio(y)
        audio_terms = ("mel", "stft_sc", "stft_mag", "wav")
        weights = {k: v for k, v in self._weights().items() if k in audio_terms}
        settings = dict(
            steps=steps,
            batch_size=self.batch_size,
            n_crop=self._crop(),
            factor=self.factor_,
            weights=weights,
            lr=self._decoder_lr(),
            betas=self.get_params_for("optimizer").get("betas"),
            grad_clip=self.grad_clip,
            seed=seed,
            criterion={k: list(v.shape) for k, v in self.criterion_.state_dict().items()},
            stft=getattr(self.criterion_, "stft_resolutions", None),
            decoder=str(getattr(self.module_, "decoder", "upsampler")),
            decoder_params=getattr(self.module_, "ddsp_params", None),
        )
        key = decoder_cache_key(y_unique, init, settings)
        cache = self.__dict__.setdefault("_decoder_cache", {})
        if key not in cache:
            fit = _fit_decoder
            if self.memory is not None:
                fit = check_memory(self.memory).cache(_fit_decoder, ignore=["net", "y"])
            cache.clear()  # keep one decoder: the cache is for refits on the same music
            cache[key] = fit(key, self, y_unique, settings)
        state, losses = cache[key]
        state = {k: torch.as_tensor(v) for k, v in state.items()}
        self.module_.load_state_dict(state, strict=False)
        self.decoder_key_, self.decoder_losses_ = key, list(losses)

    def _crop(self):
        if self.crop_seconds is None:
            return None
        return max(1, int(round(self.crop_seconds * self.sfreq)))

    def _discriminator_window(self):
        if self.discriminator_crop_seconds is None:
            return None
        return max(1, int(round(self.discriminator_crop_seconds * self.audio_sfreq_)))

    def _generate(self, X, y, **fit_params):
        """Generated audio for a random crop of each trial, and the auxiliary head.

        With the :class:`Generator` interface, whole trials are encoded (cheap
        at the EEG rate: the encoder gets full context and the auxiliary loss
        sees every sample) and only a random crop of the upsampler's input is
        decoded to audio. With ``decoder_input="mel"``, a ``teacher_forcing``
        fraction of the examples is decoded from the true z-scored log-mel
        instead of the EEG-decoded one. Other modules get crops of the EEG.

        Returns
        -------
        y_fake : Tensor, shape (batch, n_crop * factor)
        y_crop : Tensor, shape (batch, n_crop * factor)
            The true audio of the same crops.
        aux : Tensor, shape (batch, aux_mels, n_times) | None
            Auxiliary log-mel prediction for the whole trials.
        aux_target : Tensor, shape (batch, aux_mels, n_times) | None
            Its target.
        """
        module = self.module_
        X, condition = self._split_inputs(X)
        if not all(hasattr(module, m) for m in ("encode", "decode", "decoder_input_from")):
            X, y_crop = random_crops(X, y, self.factor_, self._crop())
            return self.infer(X, **fit_params), y_crop, None, None
        features, aux = self._fine_tuning_encode(X, condition)
        aux_target = None
        if aux is not None and hasattr(self.criterion_, "aux_target"):
            with torch.no_grad():
                aux_target = self.criterion_.aux_target(y)[..., : aux.shape[-1]]
        z = module.decoder_input_from(features, aux)
        if getattr(module, "decoder_input", None) == "mel" and self.teacher_forcing:
            teach = torch.rand(len(z)) < self.teacher_forcing
            z = torch.where(teach.to(z.device)[:, None, None], aux_target, z)
        z, y_crop = random_crops(z, y, self.factor_, self._crop())
        return module.decode(z), y_crop, aux, aux_target

    def _backward(self, loss):
        # Hook: the accelerate variant routes both backward passes through
        # ``accelerator.backward`` (gradient scaling, accumulation).
        loss.backward()

    def _clip_grad_norm(self, parameters, max_norm):
        # Hook: ``accelerator.clip_grad_norm_`` unscales mixed-precision gradients first.
        torch.nn.utils.clip_grad_norm_(parameters, max_norm)

    def _fine_tuning_encode(self, X, condition=None):
        """Encoder features and decoded log-mel of EEG ``X`` in skorch's epochs.

        A frozen encoder runs as at prediction: no dropout, no gradient to compute.
        """
        if not self._encoder_frozen():
            return encode_mel(self.module_, X, condition)
        with torch.no_grad(), _eval_mode(self.module_):
            return encode_mel(self.module_, X, condition)

    def _optimized_parameters(self):
        return [p for group in self.optimizer_.param_groups for p in group["params"]]

    def _encoder_frozen(self):
        """Whether skorch's epochs leave the encoder as stage 3 left it.

        A function of the hyper-parameters only, so that a checkpoint's
        optimizer fits the net it resumes.
        """
        return (
            self.training == "staged"
            and not self.finetune_encoder
            and hasattr(self.module_, "encoder_parameters")
        )

    def _adversarial_active(self):
        # len(history) is 1 during the first epoch (skorch opens the row first).
        return self.lambda_adv > 0 and len(self.history) > self.warmup_epochs

    def _weights(self):
        return {
            "mel": self.lambda_mel,
            "stft_sc": self.lambda_stft,
            "stft_mag": self.lambda_stft,
            "wav": self.lambda_wav,
            "aux": self.lambda_aux,
            "adv": self.lambda_adv,
            "fm": self.lambda_fm,
        }

    def _components(self):
        weights = dict(
            mel=self.lambda_mel, stft=self.lambda_stft, wav=self.lambda_wav, aux=self.lambda_aux
        )
        return tuple(k for k, w in weights.items() if w)

    def _discriminator_step(self, y_real, y_fake):
        disc = self.discriminator_
        disc.requires_grad_(True)
        self.optimizer_discriminator_.zero_grad()
        real_logits, _ = disc(y_real)
        fake_logits, _ = disc(y_fake)
        d_loss, parts = discriminator_loss(real_logits, fake_logits, self.adversarial_loss)
        self._backward(d_loss)
        if self.grad_clip_discriminator is not None:
            self._clip_grad_norm(disc.parameters(), self.grad_clip_discriminator)
        self.optimizer_discriminator_.step()
        return {"d_loss": d_loss.detach(), **{k: v.detach() for k, v in parts.items()}}

    def _adversarial_terms(self, y_real, y_fake):
        disc = self.discriminator_
        # Gradients flow through D to G, but D's own parameters stay untouched.
        disc.requires_grad_(False)
        try:
            fake_logits, fake_fmaps = disc(y_fake)
            parts = generator_adversarial_loss(fake_logits, self.adversarial_loss)[1]
            if self.lambda_fm:
                with torch.no_grad():
                    _, real_fmaps = disc(y_real)
                parts.update(feature_matching_loss(real_fmaps, fake_fmaps)[1])
        finally:
            disc.requires_grad_(True)
        return parts

    def _record_batch(self, logged):
        names = list(logged)
        # One device synchronisation for all components.
        values = torch.stack(
            [logged[k].detach().float().reshape(()).to(self.device) for k in names]
        ).tolist()
        for name, value in zip(names, values):
            self.history.record_batch(f"train_{name}", value)
