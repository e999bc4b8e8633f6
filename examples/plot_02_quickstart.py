"""
Quickstart: simulate, cross-validate across subjects, listen
============================================================

The whole package in twenty lines: simulated MOS data, a scikit-learn
:class:`~sklearn.pipeline.Pipeline` of per-subject preprocessing and the
waveform GAN, :func:`~sklearn.model_selection.cross_validate` with
:class:`~sklearn.model_selection.LeaveOneGroupOut` over subjects, and a
reconstruction written to a WAV file.

To run in seconds on a CPU, the data are small (three subjects, listening
trials, 8 kHz audio) and the GAN is the smallest network (``preset="tiny"``)
trained for one reconstruction-only epoch on half-second crops. This page shows
the workflow; its numbers are not the package's performance (see :ref:`gan`
for real settings and :doc:`/benchmarks` for full-size results).
"""

# %%
# The twenty lines
# ----------------
# START QUICKSTART
import sklearn
import soundfile as sf
from sklearn.model_selection import LeaveOneGroupOut, cross_validate
from sklearn.pipeline import make_pipeline

from sk_eeg2music import ChannelScaler, EEG2MusicGAN, EuclideanAlignment, make_simulated
from sk_eeg2music.metrics import make_scorers

sklearn.set_config(enable_metadata_routing=True)  # subject ids reach EuclideanAlignment
data = make_simulated(kind="mos", n_subjects=3, conditions=["listening"], audio_sfreq=8000)
ea = EuclideanAlignment().set_fit_request(groups=True).set_transform_request(groups=True)
gan = EEG2MusicGAN(sfreq=data.sfreq, preset="tiny", max_epochs=1, crop_seconds=0.5, random_state=0)
cv = cross_validate(make_pipeline(ChannelScaler(), ea, gan), data.X, data.y,
                    cv=LeaveOneGroupOut(), params={"groups": data.groups},
                    scoring=make_scorers(data.audio_sfreq), return_estimator=True)  # fmt: skip
print({name: round(float(s.mean()), 3) for name, s in cv.items() if name.startswith("test_")})

held_out = data.groups == min(data.groups)  # LeaveOneGroupOut's fold 0 tests this subject
reconstruction = cv["estimator"][0].predict(data.X[held_out])  # all its trials: EA needs them
sf.write("reconstruction.wav", reconstruction[0], data.audio_sfreq)
# END QUICKSTART

# %%
# Listen
# ------
# The first trial of the first held-out subject: the music presented, then the
# GAN's reconstruction from that subject's EEG alone (a subject the model never
# saw during training).
import base64  # noqa: E402
import io  # noqa: E402

import numpy as np  # noqa: E402


class Audio:
    """An HTML audio player for a waveform (what the gallery shows below a cell)."""

    def __init__(self, wave, sfreq):
        buffer = io.BytesIO()
        sf.write(buffer, np.clip(wave, -1, 1), sfreq, format="WAV", subtype="PCM_16")
        self.src = "data:audio/wav;base64," + base64.b64encode(buffer.getvalue()).decode()

    def _repr_html_(self):
        return f'<audio controls src="{self.src}"></audio>'


Audio(data.y[held_out][0], data.audio_sfreq)

# %%
Audio(reconstruction[0], data.audio_sfreq)
