"""Attacks on the model-file loader: a crafted file must never run code.

Every crafted file here carries a *valid* checksum (the checksum is not a
signature: an attacker recomputes it), so what stops it is the class table and
the type checks of :mod:`sk_eeg2music.persistence`, never the hash. The payload
is the one of issue 15: ``sklearn.utils._testing.assert_run_python_script_without_output``
runs its ``source_code`` argument in a Python subprocess; here that source
writes a marker file, and every test asserts that the marker never appears and
that the refusal is a ``ValueError`` naming the file.
"""

import copy
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from sk_eeg2music import EEG2MusicGAN, LinearDecoder, load_model, save_model
from sk_eeg2music import persistence as P

EVIL = {"module": "sklearn.utils._testing", "qualname": "assert_run_python_script_without_output"}
GENERATOR = {"module": "sk_eeg2music.models.gan.generator", "qualname": "Generator"}
# Other things a file might try to name: functions, classes that run code or
# read pickles, private helpers, and allowed classes in the wrong role.
OTHER_REFS = [
    {"module": "builtins", "qualname": "exec"},
    {"module": "builtins", "qualname": "eval"},
    {"module": "os", "qualname": "system"},
    {"module": "subprocess", "qualname": "Popen"},
    {"module": "torch", "qualname": "load"},
    {"module": "numpy", "qualname": "load"},
    {"module": "pickle", "qualname": "loads"},
    {"module": "sklearn.utils", "qualname": "np.load"},
    {"module": "skorch.callbacks.training", "qualname": "LoadInitState"},
    {"module": "skorch.net", "qualname": "NeuralNet"},
    {"module": "sk_eeg2music.persistence", "qualname": "load_model"},
    {"module": "sk_eeg2music.models.linear", "qualname": "LinearDecoder"},  # an estimator
    {"module": "joblib.memory", "qualname": "Memory"},
    GENERATOR,  # an allowed class, but not an estimator or an object
]


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "PWNED"
    yield path
    assert not path.exists(), "a crafted model file ran code"


def _payload(marker):
    return f"open({str(marker)!r}, 'w').write('pwned')"


def _qualname(tree):
    cls = tree.get("class") if isinstance(tree, dict) else None
    return cls.get("qualname") if isinstance(cls, dict) else None


def _craft(path, tree, arrays=None, **changes):
    """Write a model file holding ``tree`` with a correct checksum."""
    arrays = {} if arrays is None else arrays
    meta = {
        "format": P.FORMAT,
        "format_version": P.FORMAT_VERSION,
        "package_version": P._format._package_version(),
        "estimator": _qualname(tree),
        "sfreq": 64.0,
        "audio_sfreq": None,
        "n_channels": 4,
        "ch_names": None,
        "tree": tree,
        **changes,
    }
    if "checksum" not in changes:
        meta["checksum"] = P._format._checksum(meta, arrays)
    path.write_bytes(st_save(arrays, metadata={P._format._META_KEY: json.dumps(meta)}))
    return path


def _parts(path):
    """``(tree, arrays)`` of a real model file."""
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    meta = json.loads(json.loads(data[8 : 8 + n])["__metadata__"][P._format._META_KEY])
    return meta["tree"], st_load(data)


def _refused(path, match="refusing|malformed|cannot be rebuilt|not an allowed"):
    with pytest.raises(ValueError, match=match) as exc:
        load_model(path)
    assert str(path) in str(exc.value)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 4, 64)).astype(np.float32)
    y = (0.1 * rng.standard_normal((6, 64 * 16))).astype(np.float32)
    return X, y


@pytest.fixture(scope="module")
def gan_parts(data, tmp_path_factory):
    X, y = data
    gan = EEG2MusicGAN(
        preset="tiny", max_epochs=1, warmup_epochs=1, batch_size=3, verbose=0, random_state=0
    ).fit(X, y)
    return _parts(save_model(gan, tmp_path_factory.mktemp("gan") / "gan.safetensors"))


@pytest.fixture(scope="module")
def linear_parts(data, tmp_path_factory):
    X, y = data
    dec = LinearDecoder(target="envelope", alphas=[1.0], sfreq=64.0).fit(X, y)
    return _parts(save_model(dec, tmp_path_factory.mktemp("lin") / "lin.safetensors"))


# ------------------------------------------------------------ the exact vector
def test_payload_runs_code_when_called_directly(tmp_path):
    """Control: the payload used below really writes the marker if it is ever run."""
    from sklearn.utils._testing import assert_run_python_script_without_output

    marker = tmp_path / "PWNED"
    assert_run_python_script_without_output(_payload(marker))
    assert marker.exists()


def test_issue_15_vector_neural_net_module_ref_is_refused(marker, tmp_path):
    """skorch NeuralNet + module=<function> + module__source_code: the reported exploit."""
    tree = {
        "class": {"module": "skorch.net", "qualname": "NeuralNet"},
        "params": {
            "module": {"$ref": EVIL},
            "module__source_code": _payload(marker),
            "criterion": {"$ref": {"module": "torch.nn.modules.loss", "qualname": "MSELoss"}},
        },
        "state": {},
        "initialized": True,
        "torch": {},
    }
    path = _craft(tmp_path / "evil.safetensors", tree)
    _refused(path, match="not an allowed estimator")
    # model_info (what the CLI reads first) refuses it too, instead of saying LinearDecoder.
    with pytest.raises(ValueError, match="not an allowed estimator"):
        P.model_info(path)


def test_issue_15_vector_through_an_allowed_net_is_refused(marker, gan_parts, tmp_path):
    """The same payload as the ``module`` of the package's own (allowed) GAN class."""
    tree, arrays = copy.deepcopy(gan_parts)
    tree["params"]["module"] = {"$ref": EVIL}
    tree["params"]["module__source_code"] = _payload(marker)
    _refused(_craft(tmp_path / "evil.safetensors", tree, arrays), match="not an allowed class")


@pytest.mark.parametrize("name", ["predict", "fit", "transform", "get_params", "__class__"])
def test_state_never_replaces_a_method(name, linear_parts, tmp_path):
    tree, arrays = copy.deepcopy(linear_parts)
    tree["state"][name] = None
    _refused(_craft(tmp_path / "m.safetensors", tree, arrays), match="refusing")


def test_state_never_replaces_a_property(linear_parts, tmp_path):
    tree, arrays = copy.deepcopy(linear_parts)
    pipe = {
        "class": {"module": "sklearn.pipeline", "qualname": "Pipeline"},
        "params": {"steps": {"$list": [{"$tuple": ["dec", {"$estimator": tree}]}]}},
        "state": {"n_features_in_": 4},  # a property of Pipeline, ending in "_"
    }
    _refused(_craft(tmp_path / "m.safetensors", pipe, arrays), match="method or property")


# ------------------------------------------------------- every place of a tree
def _set(tree, key, value):
    tree["params"][key] = value


GAN_ATTACKS = {
    "module": lambda t, p: t["params"].update(module={"$ref": EVIL}, module__source_code=p),
    "criterion": lambda t, p: t["params"].update(
        criterion={"$ref": EVIL}, criterion__source_code=p
    ),
    "optimizer": lambda t, p: t["params"].update(
        optimizer={"$ref": EVIL}, optimizer__source_code=p
    ),
    "discriminator": lambda t, p: t["params"].update(
        discriminator={"$ref": EVIL}, discriminator__source_code=p
    ),
    "dataset": lambda t, p: _set(t, "dataset", {"$ref": EVIL}),
    "iterator_valid": lambda t, p: _set(t, "iterator_valid", {"$ref": EVIL}),
    "dunder-kwarg-ref": lambda t, p: _set(t, "module__source_code", {"$ref": EVIL}),
    "dunder-kwarg-object": lambda t, p: _set(
        t, "iterator_valid__collate_fn", {"$object": {"class": EVIL, "params": {"source_code": p}}}
    ),
    "callbacks-class": lambda t, p: _set(
        t, "callbacks", {"$list": [{"$tuple": ["evil", {"$ref": EVIL}]}]}
    ),
    "callbacks-allowed-class": lambda t, p: _set(
        t,
        "callbacks",
        {
            "$list": [
                {
                    "$tuple": [
                        "evil",
                        {"$ref": {"module": "skorch.dataset", "qualname": "Dataset"}},
                    ]
                }
            ]
        },
    ),
    "callbacks-setting": lambda t, p: _set(t, "callbacks__print_log__sink", {"$ref": EVIL}),
    "train_split-object": lambda t, p: _set(
        t, "train_split", {"$object": {"class": EVIL, "params": {"source_code": p}}}
    ),
    "memory": lambda t, p: _set(t, "memory", "/tmp/attacker-joblib-cache"),
    "torch_load_kwargs": lambda t, p: _set(
        t, "torch_load_kwargs", {"$dict": {"weights_only": False}}
    ),
    "compile": lambda t, p: _set(t, "compile", True),
    "state-ref": lambda t, p: t["state"].update(n_channels_in_={"$ref": EVIL}),
    "state-object": lambda t, p: t["state"].update(
        n_channels_in_={"$object": {"class": EVIL, "params": {"source_code": p}}}
    ),
    "state-module": lambda t, p: t["state"].update(module_=None),
    "state-managed": lambda t, p: t["state"].update(callbacks_={"$list": []}),
    "state-private": lambda t, p: t["state"].update(_modules={"$list": []}),
    "state-method": lambda t, p: t["state"].update(initialize=None),
    "torch-ref": lambda t, p: t["torch"].update(module={"$ref": EVIL}),
    "torch-extra": lambda t, p: t["torch"].update(evil={"$dict": {}}),
    "torch-missing": lambda t, p: t["torch"].pop("discriminator"),
    "history-ref": lambda t, p: t.update(history={"$list": [{"$ref": EVIL}]}),
    "node-class": lambda t, p: t.update({"class": EVIL, "params": {"source_code": p}}),
    "wrong-role": lambda t, p: _set(
        t, "module", {"$ref": {"module": "sk_eeg2music.models.linear", "qualname": "LinearDecoder"}}
    ),
}


@pytest.mark.parametrize("attack", list(GAN_ATTACKS))
def test_gan_tree_attacks_are_refused(attack, marker, gan_parts, tmp_path):
    tree, arrays = copy.deepcopy(gan_parts)
    GAN_ATTACKS[attack](tree, _payload(marker))
    _refused(_craft(tmp_path / "m.safetensors", tree, arrays))


@pytest.mark.parametrize("ref", [EVIL, *OTHER_REFS], ids=lambda r: r["qualname"])
@pytest.mark.parametrize("place", ["param", "node", "object", "nested-estimator", "items-key"])
def test_no_name_outside_the_table_is_ever_built(ref, place, marker, linear_parts, tmp_path):
    tree, arrays = copy.deepcopy(linear_parts)
    evil_object = {"$object": {"class": ref, "params": {"source_code": _payload(marker)}}}
    if place == "param":
        tree["params"]["carrier"] = {"$ref": ref}
    elif place == "node":
        tree = {"class": ref, "params": {"source_code": _payload(marker)}, "state": {}}
    elif place == "object":
        tree["params"]["cv"] = evil_object
    elif place == "nested-estimator":
        step = {"class": ref, "params": {"source_code": _payload(marker)}, "state": {}}
        tree = {
            "class": {"module": "sklearn.pipeline", "qualname": "Pipeline"},
            "params": {"steps": {"$list": [{"$tuple": ["evil", {"$estimator": step}]}]}},
            "state": {},
        }
    else:
        tree["params"]["carrier"] = {"$items": [[evil_object, 1]]}
    path = _craft(tmp_path / "m.safetensors", tree, arrays)
    if place == "param" and ref is GENERATOR:
        # A class of the table is a valid hyper-parameter value: named, never built.
        from sk_eeg2music.models.gan.generator import Generator

        assert load_model(path).carrier is Generator
        return
    _refused(path)


def test_pipeline_cache_and_routing_attacks_are_refused(marker, linear_parts, tmp_path):
    tree, arrays = copy.deepcopy(linear_parts)
    pipe = {
        "class": {"module": "sklearn.pipeline", "qualname": "Pipeline"},
        "params": {
            "steps": {"$list": [{"$tuple": ["dec", {"$estimator": tree}]}]},
            "memory": str(marker.parent),  # a joblib cache would unpickle files there
        },
        "state": {},
    }
    _refused(_craft(tmp_path / "a.safetensors", pipe, arrays), match="cache")
    routed = copy.deepcopy(tree)
    routed["routing"] = {"params": {"x": True}}  # set_params_request does not exist
    _refused(_craft(tmp_path / "b.safetensors", routed, arrays), match="routing")


def test_a_function_is_refused_where_a_class_is_expected_when_saving(data, tmp_path):
    X, y = data
    dec = LinearDecoder(target="envelope", alphas=[1.0], sfreq=64.0).fit(X, y)
    dec.carrier = print  # a builtin function
    with pytest.raises(ValueError, match="function"):
        save_model(dec, tmp_path / "m.safetensors")


# ----------------------------------------------------------- malformed headers
@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda m: m.update(format_version=True), "format version"),
        (lambda m: m.update(format_version=2.0), "format version"),
        (lambda m: m.update(format_version="2"), "format version"),
        (lambda m: m.update(format_version=1), "format version"),
        (lambda m: m.update(package_version=0.1), "unreadable package version"),
        (lambda m: m.update(sfreq="64"), "sfreq"),
        (lambda m: m.update(sfreq=True), "sfreq"),
        (lambda m: m.update(n_channels=4.0), "n_channels"),
        (lambda m: m.update(ch_names="Fz"), "ch_names"),
        (lambda m: m.update(ch_names=[1, 2]), "ch_names"),
        (lambda m: m.update(checksum=5), "checksum"),
        (lambda m: m.update(estimator="EEG2MusicGAN"), "estimator"),
        (lambda m: m.update(tree=[]), "tree"),
        (lambda m: m["tree"].update(params=[]), "params"),
        (lambda m: m["tree"].update(state=[1]), "state"),
        (lambda m: m["tree"]["state"].update(coef_={"$tensor": "t0", "dtype": 5}), "dtype"),
        (lambda m: m["tree"]["state"].update(coef_={"$tensor": "t0", "dtype": [1]}), "dtype"),
        (lambda m: m["tree"]["state"].update(coef_={"$tensor": "t0", "dtype": "load"}), "dtype"),
        (lambda m: m["tree"]["state"].update(coef_={"$np": 1, "dtype": "|O"}), "dtype"),
        (lambda m: m["tree"]["state"].update(coef_={"$np": 1, "dtype": 3}), "dtype"),
        (lambda m: m["tree"]["state"].update(coef_={"$np": [1], "dtype": "<f8"}), "untagged"),
        (lambda m: m["tree"]["state"].update(coef_={"$np": 300, "dtype": "|i1"}), "scalar"),
        (lambda m: m["tree"]["state"].update(coef_={"$array": "nope"}), "lacks"),
        (lambda m: m["tree"]["state"].update(coef_={"$strarray": ["a"], "shape": [-1]}), "size"),
        (lambda m: m["tree"]["state"].update(coef_={"$float": "1e5"}), "float"),
        (lambda m: m["tree"]["state"].update(coef_=[1, 2]), "untagged"),
        (lambda m: m["tree"]["state"].update(coef_={"$list": [], "$dict": {}}), "tags"),
        (lambda m: m["tree"]["params"].update(carrier={"$device": "warp:9"}), "device"),
        (lambda m: m["tree"].update(initialized=True), "skorch"),
    ],
)
def test_malformed_headers_raise_value_error_naming_the_file(edit, match, linear_parts, tmp_path):
    tree, arrays = copy.deepcopy(linear_parts)
    meta = {"tree": tree}
    edit(meta)
    path = _craft(tmp_path / "m.safetensors", meta.pop("tree"), arrays, **meta)
    with pytest.raises(ValueError, match=match) as exc:
        load_model(path)
    assert str(path) in str(exc.value)


@pytest.mark.parametrize("where", ["model header", "safetensors header"])
def test_deep_json_is_a_value_error_not_a_recursion_error(where, tmp_path):
    deep = "[" * 200_000 + "]" * 200_000
    path = tmp_path / "deep.safetensors"
    if where == "model header":
        path.write_bytes(st_save({}, metadata={P._format._META_KEY: deep}))
    else:
        header = ('{"__metadata__": {"x": ' + deep + "}}").encode()
        path.write_bytes(len(header).to_bytes(8, "little") + header)
    with pytest.raises(ValueError, match="levels deep") as exc:
        load_model(path)
    assert str(path) in str(exc.value)


@pytest.mark.parametrize("dtype", ["BF16", "F8_E4M3", "XX"])
def test_arrays_numpy_cannot_read_are_a_value_error(dtype, linear_parts, tmp_path):
    tree, _ = copy.deepcopy(linear_parts)
    path = _craft(tmp_path / "m.safetensors", tree)
    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    header["a"] = {"dtype": dtype, "shape": [1], "data_offsets": [0, 2]}
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + b"\0\0")
    with pytest.raises(ValueError, match="arrays cannot be read") as exc:
        load_model(path)
    assert str(path) in str(exc.value)


def test_depth_scan_ignores_brackets_inside_strings():
    assert P._format._json_depth('{"a": "[[[[{{{{", "b": ["\\"]]]"]}') == 2
    assert P._format._json_depth('"unterminated [[[[') == 0


# ------------------------------------------------------------------- fuzzing
NAMES = [
    "class",
    "params",
    "state",
    "module",
    "qualname",
    "initialized",
    "torch",
    "history",
    "routing",
    "dtype",
    "shape",
    "coef_",
    "predict",
    "memory",
    "callbacks",
    *P._decode._TAGS,
]


def _json(payload):
    """JSON values built from the words a tree uses, the refs above and the payload."""
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**70), 2**70)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.sampled_from(NAMES + ["t0", "inf", "|O", "<f4", "torch.float32", "cpu", payload])
        | st.sampled_from([EVIL, *OTHER_REFS]),
        lambda children: (
            st.lists(children, max_size=4)
            # Tagged values with the keys their tag expects, holding anything.
            | st.tuples(st.sampled_from(sorted(P._decode._TAGS)), children, children).map(
                lambda t: {t[0]: t[1], **dict.fromkeys(P._decode._TAGS[t[0]], t[2])}
            )
            | st.dictionaries(
                st.sampled_from([*NAMES, "source_code", "module__source_code"])
                | st.text(max_size=3),
                children,
                max_size=4,
            )
        ),
        max_leaves=25,
    )


FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(draw=st.data())
def test_fuzzed_trees_and_headers_only_ever_raise_value_error(
    draw, linear_parts, gan_parts, tmp_path
):
    base = draw.draw(st.sampled_from(["linear", "gan"]))
    tree, arrays = copy.deepcopy(linear_parts if base == "linear" else gan_parts)
    JSON = _json(_payload(tmp_path / "PWNED"))
    meta = {}
    target = draw.draw(st.sampled_from(["tree", "node", "subtree", "header", "bytes"]))
    if target == "tree":
        tree = draw.draw(JSON)
    elif target == "node":  # class, params, state, and the GAN's torch and history
        tree[draw.draw(st.sampled_from(sorted(tree)))] = draw.draw(JSON)
    elif target == "subtree":
        section = draw.draw(st.sampled_from(["params", "state"]))
        key = draw.draw(st.sampled_from(sorted(tree[section]) + ["extra_"]))
        tree[section][key] = draw.draw(JSON)
    elif target == "header":
        field = draw.draw(
            st.sampled_from(["format_version", "sfreq", "n_channels", "ch_names", "estimator"])
        )
        meta[field] = draw.draw(JSON)
    path = _craft(tmp_path / "fuzz.safetensors", tree, arrays, **meta)
    if target == "bytes":
        raw = bytearray(path.read_bytes())
        for _ in range(draw.draw(st.integers(1, 8))):
            raw[draw.draw(st.integers(0, len(raw) - 1))] = draw.draw(st.integers(0, 255))
        path.write_bytes(bytes(raw))
    try:
        load_model(path)
    except ValueError as exc:
        assert str(path) in str(exc)
    assert not (tmp_path / "PWNED").exists()
