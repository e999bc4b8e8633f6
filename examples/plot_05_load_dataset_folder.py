"""
Loading a dataset folder (MOS, NMED-T) and MNE epochs
=====================================================

:func:`~sk_eeg2music.load_mos` and :func:`~sk_eeg2music.load_nmedt` read the
published files as they are distributed (see :doc:`/datasets`), and
:func:`~sk_eeg2music.from_mne` turns your own :class:`mne.Epochs` plus the
stimulus audio into the same :class:`~sk_eeg2music.EEGMusicData`.

The real downloads are 1.6 GB (MOS) and 7 GB (NMED-T), so this example writes
small folders *in the same format* to a temporary directory first: the same
file names, variables, shapes and nesting, with fewer subjects and random
numbers instead of EEG. Point the loaders at your download instead.
"""

# %%
# A miniature MOS folder (CND packaging)
# --------------------------------------
# ``dataCND/dataStim.mat`` holds the stimulus struct, ``dataCND/dataSubN.mat``
# one struct per subject with 88 trials of 1803 samples × 64 channels at
# 64 Hz (44 listening, then 44 imagery); the audio is in ``stimuli/audio/``,
# 44.1 kHz stereo with the metronome on the left channel.
import tempfile
from pathlib import Path

import mne
import numpy as np
import soundfile as sf
from scipy.io import savemat

from sk_eeg2music import from_mne, load_mos, load_nmedt

rng = np.random.default_rng(0)
root = Path(tempfile.mkdtemp())
mos = root / "datasetCND_musicImagery"
(mos / "dataCND").mkdir(parents=True)
(mos / "stimuli" / "audio").mkdir(parents=True)

n_trials, n_times, fs = 88, 1803, 64
chorales = ["chor-096", "chor-038", "chor-101", "chor-019"]  # stimIdx 1..4
stim_idx = np.tile(np.repeat(np.arange(1, 5), 11), 2)
cond_idx = np.repeat([1, 2], 44)
stim_data = np.empty((2, n_trials), dtype=object)
for k in range(n_trials):
    stim_data[0, k] = rng.random((n_times, 1))
    stim_data[1, k] = np.zeros((n_times, 1))
savemat(
    mos / "dataCND" / "dataStim.mat",
    {
        "stim": {
            "stimIdxs": stim_idx[None],
            "condIdxs": cond_idx[None],
            "condNames": np.array(["Listening", "Imagery"], dtype=object)[None],
            "names": np.array(["Acoustic Envelope", "Expectation Vector"], dtype=object)[None],
            "data": stim_data,
            "fs": fs,
        }
    },
)

ch_names = mne.channels.make_standard_montage("biosemi64").ch_names
chanlocs = np.zeros((1, 64), dtype=[("labels", object)])
chanlocs["labels"][0] = ch_names
for subject in (1, 2):
    eeg_data = np.empty((1, n_trials), dtype=object)
    for k in range(n_trials):
        eeg_data[0, k] = rng.standard_normal((n_times, 64)) * 20.0  # µV
    savemat(
        mos / "dataCND" / f"dataSub{subject}.mat",
        {
            "eeg": {
                "data": eeg_data,
                "fs": fs,
                "chanlocs": chanlocs,
                "origTrialPosition": rng.permutation(n_trials)[None] + 1,
            }
        },
    )

audio_fs = 44100
for name in chorales:
    stereo = rng.uniform(-0.1, 0.1, (36 * audio_fs, 2))  # (metronome, melody)
    sf.write(mos / "stimuli" / "audio" / f"{name}.wav", stereo, audio_fs, subtype="PCM_16")

print(sorted(str(p.relative_to(root)) for p in mos.rglob("*") if p.is_file()))

# %%
# Load it
# -------
# The packaging (CND or Dryad) is detected from the folder; trials are labelled
# with the chorale, condition and subject, the audio is aligned with the EEG
# and resampled so that ``audio_sfreq / sfreq`` is an integer.
data = load_mos(root, segment_seconds=4.0)
print(data)
print(data.X.shape, data.y.shape, np.unique(data.stimulus), np.unique(data.condition))

# %%
# A miniature NMED-T folder
# -------------------------
# One ``songNN_Imputed.mat`` per song with ``dataNN`` (125 electrodes × time ×
# participants) at 125 Hz and the participant ids in ``subsNN``. NMED-T does
# not distribute its audio: pass ``audio_dir`` with ``song21.wav`` ... files
# from your own copies.
nmedt = root / "nmedt"
audio_dir = root / "nmedt_audio"
nmedt.mkdir()
audio_dir.mkdir()
for song in (21, 22):
    n = 125 * 20  # 20 s (the real songs are 4.5 to 5 min)
    subs = np.array(["S02", "S03"], dtype=object)[None]
    savemat(
        nmedt / f"song{song}_Imputed.mat",
        {
            f"data{song}": rng.standard_normal((125, n, 2)) * 10.0,
            f"subs{song}": subs,
            "fs": np.array([[125.0]]),
        },
    )
    sf.write(audio_dir / f"song{song}.wav", rng.uniform(-0.1, 0.1, 20 * 44100), 44100)

songs = load_nmedt(nmedt, audio_dir=audio_dir, segment_seconds=10.0)
print(songs)

# %%
# From MNE epochs
# ---------------
# Your own recording: epochs time-locked to the stimulus onsets, with the
# subject and stimulus of each epoch in ``epochs.metadata`` and one waveform
# per stimulus.
info = mne.create_info(ch_names, 64.0, "eeg").set_montage("biosemi64")
epochs = mne.EpochsArray(rng.standard_normal((6, 64, 256)) * 1e-5, info, verbose="error")
epochs.metadata = __import__("pandas").DataFrame(
    dict(subject="sub-01", stimulus=["a", "b", "c"] * 2, condition="listening")
)
audio = {name: rng.uniform(-0.1, 0.1, 4 * 16000).astype(np.float32) for name in "abc"}
mine = from_mne(epochs, audio, audio_sfreq=16000)
print(mine)
