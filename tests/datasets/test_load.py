"""load_dataset: every dataset by name, narrowed to a selection."""

import numpy as np
import pytest

import sk_eeg2music
from sk_eeg2music.datasets import DATASETS, load_dataset

TINY = dict(segment_seconds=4.0, stimulus_seconds=4.0, audio_sfreq=8000)


def test_simulated_subjects_are_picked_by_number():
    selection = dict(stimuli=["chor-096"], conditions=["imagery"], **TINY)
    part = load_dataset("simulated", subjects=["3", "sub-01"], **selection)
    assert sorted(set(part.subject)) == ["sub-01", "sub-03"]
    assert set(part.stimulus) == {"chor-096"} and set(part.condition) == {"imagery"}
    # Subject 3 is the third simulated subject, not a new one.
    full = load_dataset("simulated", n_subjects=3, **selection)
    np.testing.assert_array_equal(part.select(subject="sub-03").X, full.select(subject="sub-03").X)


def test_file_datasets_are_narrowed_after_loading(tmp_path, monkeypatch):
    data = sk_eeg2music.make_simulated("mos", n_subjects=1, stimuli=["chor-096", "chor-038"],
                                       **TINY)  # fmt: skip
    monkeypatch.setattr(sk_eeg2music, "load_mos", lambda path, **kwargs: data)
    kept = load_dataset("mos", tmp_path, stimuli=["chor-038"], conditions=["listening"])
    assert len(kept) == len(data.select(stimulus="chor-038", condition="listening")) > 0
    with pytest.raises(ValueError, match="the selection .* matches no trial"):
        load_dataset("mos", tmp_path, stimuli=["song21"])


def test_file_datasets_get_their_arguments(tmp_path, monkeypatch):
    seen = {}

    def fake(name):
        def loader(path, **kwargs):
            seen[name] = (path, kwargs)
            raise ValueError("stop")

        return loader

    monkeypatch.setattr(sk_eeg2music, "load_nmedt", fake("nmedt"))
    monkeypatch.setattr(sk_eeg2music, "load_mos", fake("mos"))
    for name in ("nmedt", "mos"):
        with pytest.raises(ValueError, match="stop"):
            load_dataset(name, tmp_path, subjects=[1], songs=[21] if name == "nmedt" else None)
    assert seen["nmedt"] == (
        tmp_path,
        dict(audio_dir=None, songs=[21], subjects=[1], segment_seconds=4.0, audio_sfreq=16000),
    )
    assert seen["mos"] == (tmp_path, dict(subjects=[1], segment_seconds=4.0, audio_sfreq=16000))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(name="eeglab"), "unknown dataset 'eeglab'"),
        (dict(name="mos"), "path is required for the mos dataset"),
        (dict(name="mos", path=".", songs=[21]), "songs selects NMED-T songs"),
        (dict(subjects=["sub-x"]), "simulated subjects are sub-01"),
    ],
)
def test_bad_requests_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_dataset(**kwargs, **TINY)


def test_missing_folder_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dataset("nmedt", tmp_path / "nowhere")
    assert DATASETS == ("simulated", "nmedt", "mos")
