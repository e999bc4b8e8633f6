"""``EEG2MusicGANAccelerate``: the GAN trained with Hugging Face accelerate (several GPUs, AMP).

skorch's :class:`skorch.hf.AccelerateMixin` prepares every registered module,
criterion and optimizer with the ``Accelerator``, so both networks
(``module_``, ``discriminator_``) and both optimizers (``optimizer_``,
``optimizer_discriminator_``) are prepared; the data loaders are prepared and
sharded per process. This class adds what the mixin cannot know about the GAN's
own ``train_step``: both backward passes (discriminator and generator) go
through ``accelerator.backward`` and gradient clipping through
``accelerator.clip_grad_norm_``, inside ``accelerator.autocast()``.

Multi-GPU recipe (one process per GPU, data-parallel)::

    # train.py
    from accelerate import Accelerator, DistributedDataParallelKwargs
    from sk_eeg2music import load_nmedt
    from sk_eeg2music.models.gan import EEG2MusicGANAccelerate

    accelerator = Accelerator(
        mixed_precision="bf16",  # or "no" / "fp16"
        # required with several processes: each step uses part of each network
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )
    data = load_nmedt(...)
    gan = EEG2MusicGANAccelerate(accelerator=accelerator, preset="gpu",
                                 sfreq=data.sfreq, batch_size=16, max_epochs=200,
                                 random_state=0)
    gan.fit(data.X, data.y)
    gan.save_params(f_params="generator.pt", f_discriminator="discriminator.pt")

    $ accelerate config            # once: number of GPUs, mixed precision
    $ accelerate launch --num_processes 4 train.py
    $ torchrun --nproc_per_node 2 train.py   # same, e.g. 2 CPU processes (gloo)

``batch_size`` is per process (the effective batch is ``num_processes`` times
larger); scale ``lr`` / ``lr_discriminator`` accordingly. Leave ``device=None``:
the accelerator places the networks and batches.

Notes
-----
:func:`~sk_eeg2music.save_model` refuses this class (an ``Accelerator`` cannot
be written without pickle); use ``save_params`` as above (skorch saves on the
main process only).

With several processes the generator is wrapped in
``DistributedDataParallel``, which synchronises gradients only through its
``forward``. The generator's ``encode``/``decode`` path (whole-trial encoding,
crop decoding, auxiliary mel loss) bypasses ``forward``, so with more than one
process this class trains through ``forward`` on EEG crops instead: the
auxiliary loss is then not computed. A single process (one GPU, or CPU) trains
exactly as :class:`~sk_eeg2music.EEG2MusicGAN`.
"""

from skorch.callbacks import LRScheduler
from skorch.hf import AccelerateMixin

from ._training import random_crops
from .estimator import EEG2MusicGAN


class EEG2MusicGANAccelerate(AccelerateMixin, EEG2MusicGAN):
    """:class:`~sk_eeg2music.EEG2MusicGAN` trained through an ``accelerate.Accelerator``.

    Parameters
    ----------
    accelerator : accelerate.Accelerator
        Decides devices, processes, mixed precision and gradient accumulation.
    device : None, default=None
        Leave to the accelerator.
    unwrap_after_train : bool, default=True
        Unwrap the networks after ``fit`` (needed to save or pickle the model).
    **kwargs
        Every :class:`~sk_eeg2music.EEG2MusicGAN` parameter.

    See the module docstring for the ``accelerate launch`` recipe.
    """

    @classmethod
    def _test_instances(cls):
        # For tests/test_common.py: an Accelerator is a process-wide singleton
        # that neither clone nor pickle can copy; tests/models/gan/test_accelerate.py
        # covers this class.
        return []

    def _initialize_accelerator(self):
        """Prepare both networks, both optimizers and the schedulers (not the criterion).

        skorch's mixin also prepares the criterion; the GAN's holds no trainable
        parameter (only the mel filterbank), and DistributedDataParallel refuses
        such a module.
        """
        if self._wrapped_with_accelerator:
            return self
        ddp = getattr(self.accelerator, "ddp_handler", None)
        if self.accelerator.num_processes > 1 and not getattr(ddp, "find_unused_parameters", False):
            # Each step uses only part of each network (the discriminator is
            # frozen in the generator step; forward skips the auxiliary head).
            raise ValueError(
                "EEG2MusicGANAccelerate with several processes needs "
                "Accelerator(kwargs_handlers=[DistributedDataParallelKwargs("
                "find_unused_parameters=True)]) (from accelerate import "
                "DistributedDataParallelKwargs)."
            )
        with self._current_init_context("criterion"):
            for name in self._criteria:
                criterion = getattr(self, name + "_")
                if any(p.requires_grad for p in criterion.parameters()):
                    setattr(self, name + "_", self.accelerator.prepare(criterion))
        with self._current_init_context("module"):
            for name in self._modules:
                setattr(self, name + "_", self.accelerator.prepare(getattr(self, name + "_")))
        with self._current_init_context("optimizer"):
            for name in self._optimizers:
                setattr(self, name + "_", self.accelerator.prepare(getattr(self, name + "_")))
        for _, callback in self.callbacks_:
            if isinstance(callback, LRScheduler):
                callback.policy_ = self.accelerator.prepare(callback.policy_)
        self._wrapped_with_accelerator = True
        return self

    def train_step(self, batch, **fit_params):
        """The GAN's discriminator + generator step under ``accelerator.autocast()``."""
        with self.accelerator.autocast():
            return super().train_step(batch, **fit_params)

    def _backward(self, loss):
        self.accelerator.backward(loss)

    def _clip_grad_norm(self, parameters, max_norm):
        self.accelerator.clip_grad_norm_(parameters, max_norm)

    def _generate(self, X, y, **fit_params):
        if self.accelerator.num_processes > 1:
            # Through DistributedDataParallel's forward so gradients are synchronised
            # (per-trial conditions are not cropped along: one mapping in this path).
            X, _ = self._split_inputs(X)
            X, y_crop = random_crops(X, y, self.factor_, self._crop())
            return self.infer(X, **fit_params), y_crop, None, None
        return super()._generate(X, y, **fit_params)
