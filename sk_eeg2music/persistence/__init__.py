"""Model files: save and load fitted estimators and pipelines as data only.

A model file is one `safetensors <https://huggingface.co/docs/safetensors>`_
file. Its tensors are every array of the fitted model (numpy attributes such as
``coef_``, and the ``state_dict`` of each torch network of a skorch estimator);
its header's metadata holds one JSON document with

* ``format`` / ``format_version`` / ``package_version`` (checked on load),
* ``sfreq`` (EEG rate the model expects), ``audio_sfreq`` (rate of its
  waveforms), ``n_channels`` and ``ch_names`` (when known),
* the estimator tree: for each estimator its class, its hyper-parameters
  (``get_params(deep=False)``) and its fitted attributes,
* a SHA-256 checksum of everything above and of all arrays (an integrity
  check against damaged files, not a signature: anyone can recompute it).

**Loading runs no code from the file.** Nothing is unpickled and no
``torch.load`` runs. The file names classes only as keys into a fixed table
of exact classes (:func:`allowed_classes`); the loader never imports a module
the file names and never accepts a function where a class is expected.

* *estimators* (tree nodes): the package's public estimators (every
  ``BaseEstimator`` of :mod:`sk_eeg2music.models`,
  :mod:`sk_eeg2music.preprocessing` and :mod:`sk_eeg2music.model_selection`)
  and :class:`sklearn.pipeline.Pipeline`;
* *classes* a hyper-parameter may take (:data:`CLASS_PARAMETERS`: the GAN's
  networks and loss, ``torch.optim.AdamW``, skorch's ``Dataset`` and torch's
  ``DataLoader``);
* *objects* rebuilt from their constructor arguments (:data:`OBJECTS`: the
  CV splitters ``train_split=`` / ``cv=`` take).

Every other value is plain data: numbers, strings, booleans, ``None``, lists,
tuples and dicts of those, numeric arrays and tensors. Fitted state may only set
attributes that end in ``_`` (or are listed in :data:`PRIVATE_STATE`) and that
the class does not define as a method or property, and never a
hyper-parameter. Hyper-parameters that would make an estimator read pickles
later (``memory=``, a joblib cache; skorch's ``torch_load_kwargs``), compile
code (skorch's ``compile=True``) or build callbacks (skorch ``callbacks``
other than ``None`` / ``"disable"``) are reset to their defaults on save, with
a warning, and refused on load. Any malformed file (bad JSON, nesting deeper
than 64, a wrong type anywhere, a class outside the table, a checksum
mismatch, an estimator that cannot be rebuilt) raises a ``ValueError`` that
names the file.

**Adding a class.** A new public estimator in one of the three modules above
is allowed automatically. A new class that a hyper-parameter takes goes into
:data:`CLASS_PARAMETERS`, a new splitter-like object into :data:`OBJECTS`, a
third-party estimator into :data:`EXTRA_ESTIMATORS` (import paths; a path that
does not import on this installation is skipped). Only add classes whose
construction with arbitrary data arguments does nothing but build the object.

**Why not skops.io.** ``skops.io`` (scikit-learn's recommended secure format)
was considered for the tree. It rebuilds objects through their
``__setstate__``, and skorch's ``NeuralNet.__setstate__`` unpickles the
networks from bytes in the state (with ``torch_load_kwargs`` taken from that
same state), so a skorch estimator would still need a hand-written reduction,
and skops would need the torch classes as trusted types: the same trust
decisions as here, plus a second file format and a dependency. The table of
exact classes here is small, fixed and read in one place, which is simpler to
keep correct.

**Not guaranteed.** The checksum detects damage, not tampering: trust comes
from the class table, not from the file's origin. A crafted file can still ask
for large networks (sizes are data), so loading an untrusted file may use much
memory or time before it is refused.

**Channels.** An EEG array carries no channel names, so a model cannot check
them by itself at ``predict`` time (the estimators do check the channel *count*).
Pass ``ch_names=`` (or ``info=``) to :func:`save_model` (or fit on data whose
estimator carries ``ch_names_``), then either ``load_model(path,
ch_names=raw.ch_names)`` or :func:`check_channels` raises a ``ValueError``
naming missing, extra or reordered channels.

**Compatibility.** A file is read by the package series that wrote it (same
major version; for ``0.x`` the same minor version) and by readers of its
``format_version`` or newer; anything else raises a ``ValueError`` naming the
version that wrote it.

The code lives in private modules by responsibility: ``_allowlist`` (the
class table and the rules for parameters and state), ``_format`` (header,
checksum, versions, reading the file), ``_encode`` (saving), ``_decode``
(loading), ``_common`` (errors and value checks) and ``_api`` (the public
functions).
"""

from ._allowlist import CLASS_PARAMETERS as CLASS_PARAMETERS
from ._allowlist import EXTRA_ESTIMATORS as EXTRA_ESTIMATORS
from ._allowlist import OBJECTS as OBJECTS
from ._allowlist import PRIVATE_STATE as PRIVATE_STATE
from ._allowlist import allowed_classes
from ._api import check_channels, load_model, model_info, save_model
from ._format import FORMAT as FORMAT
from ._format import FORMAT_VERSION as FORMAT_VERSION
from ._format import MAX_DEPTH as MAX_DEPTH

__all__ = ["allowed_classes", "save_model", "model_info", "check_channels", "load_model"]
