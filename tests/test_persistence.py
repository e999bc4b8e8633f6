"""Model files: round trips, corrupted and incompatible files, channels, atomic writes.

Crafted files that try to run code are in ``test_persistence_attacks.py``.
"""

import errno
import json
import os
import threading

import numpy as np
import pytest
import sklearn
import torch
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.pipeline import make_pipeline

from sk_eeg2music import (
    BandpassFilter,
    ChannelScaler,
    Clip,
    EEG2MusicGAN,
    EuclideanAlignment,
    LinearDecoder,
    MeanSpectrumBaseline,
    Resample,
    ShuffledPairs,
    load_model,
    save_model,
)
from sk_eeg2music import persistence as P

SFREQ, FACTOR = 64.0, 16
CH_NAMES = ["Fz", "Cz", "Pz", "Oz"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, len(CH_NAMES), 64)).astype(np.float32)
    t = np.arange(64 * FACTOR) / (SFREQ * FACTOR)
    y = np.sin(2 * np.pi * rng.uniform(50, 200, (8, 1)) * t) * (
        1 + X[:, :1].repeat(FACTOR, -1)[:, 0]
    )
    return X, (0.1 * y).astype(np.float32)


@pytest.fixture(scope="module")
def fitted_gan(data):
    X, y = data
    gan = EEG2MusicGAN(
        preset="tiny", max_epochs=2, warmup_epochs=1, batch_size=4, verbose=0, random_state=0
    )
    return gan.fit(X, y)


def _decoder():
    return LinearDecoder(target="envelope", alphas=[1.0], sfreq=SFREQ)


ESTIMATORS = {
    "ChannelScaler": lambda: ChannelScaler(robust=True),
    "Clip": lambda: Clip(2.0),
    "EuclideanAlignment": lambda: EuclideanAlignment(reg=0.01),
    "BandpassFilter": lambda: BandpassFilter(1.0, 20.0, sfreq=SFREQ, method="iir"),
    "Resample": lambda: Resample(SFREQ, 32.0),
    "LinearDecoder-envelope": _decoder,
    "LinearDecoder-mel-cv": lambda: LinearDecoder(
        n_mels=8, n_iter=2, alphas=[0.1, 10.0], cv=2, tmax=0.1
    ),
    "MeanSpectrumBaseline": lambda: MeanSpectrumBaseline(sfreq=SFREQ),
    "ShuffledPairs": lambda: ShuffledPairs(_decoder(), random_state=0),
    "Pipeline": lambda: make_pipeline(ChannelScaler(), EuclideanAlignment(), _decoder()),
}


def _output(est, X):
    return est.predict(X) if hasattr(est, "predict") else est.transform(X)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_round_trip_gives_identical_output(name, data, tmp_path):
    X, y = data
    est = ESTIMATORS[name]()
    est.fit(X, y)
    path = save_model(est, tmp_path / "model.safetensors", ch_names=CH_NAMES)
    loaded = load_model(path, ch_names=CH_NAMES)
    assert type(loaded) is type(est)
    assert repr(loaded.get_params()) == repr(est.get_params())
    np.testing.assert_array_equal(_output(loaded, X[:3]), _output(est, X[:3]))
    info = P.model_info(path)
    assert info["ch_names"] == CH_NAMES and info["n_channels"] == len(CH_NAMES)
    assert info["package_version"] == P._format._package_version()


def test_gan_round_trip(fitted_gan, data, tmp_path):
    X, _ = data
    path = save_model(fitted_gan, tmp_path / "gan.safetensors")
    state = torch.random.get_rng_state()
    loaded = load_model(path, device="cpu")
    # Rebuilding the networks must not move the caller's random stream.
    assert torch.equal(torch.random.get_rng_state(), state)
    np.testing.assert_array_equal(loaded.predict(X), fitted_gan.predict(X))
    for name in ("module_", "discriminator_"):
        theirs, ours = getattr(fitted_gan, name).state_dict(), getattr(loaded, name).state_dict()
        assert all(torch.equal(theirs[k], ours[k]) for k in theirs)
    assert loaded.history[-1, "train_loss"] == fitted_gan.history[-1, "train_loss"]
    info = P.model_info(path)
    assert (info["sfreq"], info["audio_sfreq"]) == (SFREQ, SFREQ * FACTOR)
    assert info["ch_names"] is None


def test_gan_in_pipeline_round_trip(fitted_gan, data, tmp_path):
    X, y = data
    pipe = make_pipeline(ChannelScaler(), Clip(5.0), fitted_gan)
    pipe.steps[:2] = [(n, s.fit(X)) for n, s in pipe.steps[:2]]
    path = save_model(pipe, tmp_path / "pipe.safetensors")
    np.testing.assert_array_equal(load_model(path).predict(X[:2]), pipe.predict(X[:2]))


def test_metadata_routing_requests_survive(data, tmp_path):
    X, y = data
    groups = np.repeat([0, 1], 4)
    with sklearn.config_context(enable_metadata_routing=True):
        align = EuclideanAlignment().set_fit_request(groups=True).set_transform_request(groups=True)
        dec = _decoder().set_fit_request(groups=False)
        pipe = make_pipeline(ChannelScaler(), align, dec).fit(X, y, groups=groups)
        loaded = load_model(save_model(pipe, tmp_path / "m.safetensors"))
        np.testing.assert_array_equal(
            loaded.predict(X, groups=groups), pipe.predict(X, groups=groups)
        )


def test_unfitted_or_unstorable_estimators_are_refused(data, tmp_path):
    X, y = data
    with pytest.raises(ValueError, match="not fitted"):
        save_model(_decoder(), tmp_path / "m.safetensors")

    class Local(RegressorMixin, BaseEstimator):
        def fit(self, X, y):
            self.coef_ = np.ones(3)
            return self

    with pytest.raises(ValueError, match="may only name classes"):
        save_model(Local().fit(X, y), tmp_path / "m.safetensors")
    dec = _decoder().fit(X, y)
    dec.extra_ = lambda x: x
    with pytest.raises(ValueError, match="extra_"):
        save_model(dec, tmp_path / "m.safetensors")
    assert not os.listdir(tmp_path)


def test_channel_mismatch_is_a_clear_error(data, tmp_path):
    X, y = data
    path = save_model(_decoder().fit(X, y), tmp_path / "m.safetensors", ch_names=CH_NAMES)
    with pytest.raises(ValueError, match="another order"):
        load_model(path, ch_names=CH_NAMES[::-1])
    with pytest.raises(ValueError, match=r"missing \['Oz'\]"):
        P.check_channels(path, ["Fz", "Cz", "Pz", "O1"])
    assert P.check_channels(path, {"ch_names": CH_NAMES}) == CH_NAMES
    with pytest.raises(ValueError, match="fitted on 4 channels"):
        save_model(_decoder().fit(X, y), tmp_path / "n.safetensors", ch_names=CH_NAMES[:3])
    # Without stored names only the count can be checked, and the user is told so.
    bare = save_model(_decoder().fit(X, y), tmp_path / "bare.safetensors")
    with pytest.warns(UserWarning, match="no channel names"):
        P.check_channels(bare, ["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="fitted on 4"):
        load_model(bare, ch_names=["a", "b"])


def test_info_sets_channels_and_checks_sfreq(data, tmp_path):
    mne = pytest.importorskip("mne")
    X, y = data
    info = mne.create_info(CH_NAMES, SFREQ, "eeg")
    path = save_model(_decoder().fit(X, y), tmp_path / "m.safetensors", info=info)
    assert P.model_info(path)["ch_names"] == CH_NAMES
    with pytest.raises(ValueError, match="info\\['sfreq'\\]"):
        save_model(_decoder().fit(X, y), path, info=mne.create_info(CH_NAMES, 128.0, "eeg"))


def _rewrite(path, edit_meta=None, edit_arrays=None, rehash=False):
    """Edit a model file; ``rehash`` recomputes the checksum as an attacker would."""
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    meta = json.loads(json.loads(data[8 : 8 + n])["__metadata__"][P._format._META_KEY])
    arrays = st_load(data)
    if edit_meta:
        edit_meta(meta)
    if edit_arrays:
        edit_arrays(arrays)
    if rehash:
        meta["checksum"] = P._format._checksum(meta, arrays)
    path.write_bytes(st_save(arrays, metadata={P._format._META_KEY: json.dumps(meta)}))


@pytest.fixture
def saved(data, tmp_path):
    X, y = data
    return save_model(_decoder().fit(X, y), tmp_path / "m.safetensors")


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # truncated
        lambda b: b[:-1],
        lambda b: b"",
        lambda b: b[:20] + b"\xff" + b[21:],  # header
        lambda b: b[:-8] + bytes(8),  # array bytes: caught by the checksum
        lambda b: b"\x80\x04\x95garbage pickle",
    ],
)
def test_corrupted_file_raises_value_error(saved, damage):
    saved.write_bytes(damage(saved.read_bytes()))
    with pytest.raises(ValueError, match="corrupted|not .*model file|malformed"):
        load_model(saved)


def test_tampered_arrays_fail_the_checksum(saved):
    _rewrite(saved, edit_arrays=lambda a: a.update({k: v + 1 for k, v in a.items()}))
    with pytest.raises(ValueError, match="checksum"):
        load_model(saved)


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m.update(sfreq=128.0),  # the example: 64 -> 128 Hz
        lambda m: m.update(ch_names=["a", "b", "c", "d"]),
        lambda m: m["tree"]["params"].update(tmax=0.5),
        lambda m: m["tree"]["state"].update(alpha_=2.0),
    ],
)
def test_tampered_header_or_tree_fails_the_checksum(saved, edit):
    _rewrite(saved, edit_meta=edit)
    for read in (load_model, P.model_info):
        with pytest.raises(ValueError, match="checksum") as exc:
            read(saved)
        assert str(saved) in str(exc.value)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("format_version", P.FORMAT_VERSION + 1, "format version"),
        ("package_version", "99.0.0", "incompatible"),
        ("format", "something-else", "not an sk_eeg2music model"),
    ],
)
def test_incompatible_versions_raise(saved, field, value, match):
    _rewrite(saved, edit_meta=lambda m: m.update({field: value}))
    with pytest.raises(ValueError, match=match):
        load_model(saved)


@pytest.mark.parametrize(
    "ref",
    [
        {"module": "os", "qualname": "system"},
        # Reachable by attribute access from an allowed module, but defined elsewhere.
        {"module": "sklearn.utils", "qualname": "np.load"},
        {"module": "sklearn.base", "qualname": "_clone_parametrized"},
    ],
)
def test_classes_outside_the_allowlist_are_never_imported(saved, ref):
    def edit(meta):
        meta["tree"]["params"]["carrier"] = {"$ref": ref}

    _rewrite(saved, edit_meta=edit, rehash=True)
    with pytest.raises(ValueError, match="not an allowed class.*refusing"):
        load_model(saved)


def test_failed_write_leaves_the_old_file_intact(data, tmp_path, monkeypatch):
    X, y = data
    path = save_model(_decoder().fit(X, y), tmp_path / "m.safetensors")
    before = path.read_bytes()

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        save_model(LinearDecoder(target="envelope", alphas=[5.0]).fit(X, y), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.safetensors"]  # no temporary file left
    np.testing.assert_array_equal(load_model(path).predict(X), _decoder().fit(X, y).predict(X))


def test_saved_file_gets_the_umask_mode_not_mkstemps_0600(data, tmp_path):
    X, y = data
    old = os.umask(0o022)
    try:
        path = save_model(_decoder().fit(X, y), tmp_path / "m.safetensors")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_no_overwrite_refuses_an_existing_file_and_keeps_it(data, tmp_path):
    X, y = data
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match="already exists"):
        save_model(_decoder().fit(X, y), path, overwrite=False)
    assert path.read_bytes() == b"keep me"
    assert os.listdir(tmp_path) == ["m.safetensors"]
    new = save_model(_decoder().fit(X, y), tmp_path / "new.safetensors", overwrite=False)
    np.testing.assert_array_equal(load_model(new).predict(X), _decoder().fit(X, y).predict(X))


@pytest.mark.parametrize("links", [True, False], ids=["hard-link", "no-hard-links"])
def test_two_writers_racing_without_overwrite_exactly_one_wins(data, tmp_path, monkeypatch, links):
    """Both writers pass any check at the start; the publish step decides, atomically."""
    X, y = data
    models = [LinearDecoder(target="envelope", alphas=[a], sfreq=SFREQ).fit(X, y) for a in (1, 9)]
    path = tmp_path / "m.safetensors"
    barrier = threading.Barrier(2, timeout=30)
    fsync = os.fsync

    def fsync_then_wait(fd):  # both temporary files are complete before either publishes
        fsync(fd)
        barrier.wait()

    monkeypatch.setattr(os, "fsync", fsync_then_wait)
    if not links:  # a file system without hard links (FAT, some network mounts)

        def no_link(src, dst):
            raise OSError(errno.EPERM, "Operation not permitted")

        monkeypatch.setattr(os, "link", no_link)
    outcomes = [None, None]

    def write(i):
        try:
            save_model(models[i], path, overwrite=False)
            outcomes[i] = "saved"
        except FileExistsError:
            outcomes[i] = "refused"

    threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "saved"]
    winner = models[outcomes.index("saved")]
    np.testing.assert_array_equal(load_model(path).predict(X), winner.predict(X))
    assert os.listdir(tmp_path) == ["m.safetensors"]  # no temporary file left


def test_allowed_estimators_are_exactly_the_package_estimators_and_pipeline():
    """A new estimator of the package is allowed without editing the persistence package."""
    from sklearn.pipeline import Pipeline

    from sk_eeg2music.utils.discovery import all_estimators

    allowed = P.allowed_classes()
    assert set(allowed["estimator"]) == {cls for _, cls in all_estimators()} | {Pipeline}
    for kind, classes in allowed.items():
        assert all(isinstance(cls, type) for cls in classes), kind
    assert not set(allowed["estimator"]) & set(allowed["class"])


def _package_instances():
    from sk_eeg2music.utils.discovery import all_estimators

    for name, cls in all_estimators():
        hook = getattr(cls, "_test_instances", None)
        for i, est in enumerate(hook() if hook is not None else [cls()]):
            yield pytest.param(est, id=f"{name}-{i}")


@pytest.mark.parametrize("est", list(_package_instances()))
def test_every_package_estimator_round_trips(est, tmp_path):
    """The test instances of the compliance suite (``_test_instances`` hooks) save and load."""
    from sklearn.utils.estimator_checks import set_random_state

    rng = np.random.default_rng(0)
    if hasattr(type(est), "_test_data"):
        X, y = type(est)._test_data(rng)
    else:
        X = rng.standard_normal((6, 4, 64)).astype(np.float32)
        y = rng.standard_normal((6, 64 * 4)).astype(np.float32)
    set_random_state(est, 0)
    est.fit(X, y)
    path = tmp_path / "m.safetensors"
    if type(est).__name__ == "EEG2MusicGANAccelerate":
        with pytest.raises(ValueError, match="save_model cannot store"):
            save_model(est, path)
        return
    loaded = load_model(save_model(est, path), device="cpu")
    assert type(loaded) is type(est)
    np.testing.assert_array_equal(_output(loaded, X), _output(est, X))


def test_caches_and_callbacks_are_reset_with_a_warning(data, tmp_path):
    """``memory=`` (joblib pickles), skorch callbacks and torch.load options are not stored."""
    from skorch.callbacks import EpochScoring

    X, y = data
    pipe = make_pipeline(ChannelScaler(), _decoder(), memory=str(tmp_path / "cache")).fit(X, y)
    with pytest.warns(UserWarning, match="memory"):
        path = save_model(pipe, tmp_path / "pipe.safetensors")
    assert load_model(path).memory is None
    gan = EEG2MusicGAN(
        preset="tiny",
        max_epochs=1,
        warmup_epochs=1,
        batch_size=4,
        verbose=0,
        random_state=0,
        callbacks=[("score", EpochScoring("r2"))],
        callbacks__score__lower_is_better=False,
        torch_load_kwargs={"weights_only": False},
    )
    gan.fit(X, y)
    with pytest.warns(UserWarning, match="callbacks.*torch_load_kwargs"):
        path = save_model(gan, tmp_path / "gan.safetensors")
    loaded = load_model(path)
    assert loaded.callbacks is None and loaded.torch_load_kwargs is None
    assert "callbacks__score__lower_is_better" not in loaded.get_params()
