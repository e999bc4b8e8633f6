"""Montages and the EEG forward model used by the simulator.

The gain matrices come from MNE: a three-shell sphere head model fitted to the
montage (:func:`mne.make_sphere_model`) and a free-orientation dipole forward
solution (:func:`mne.make_forward_solution`) over a fixed set of source
positions. They are computed once per montage and cached for the process.
"""

from functools import lru_cache

import mne
import numpy as np

# Head coordinates (m) relative to the sphere centre: x right, y front, z up.
_A1 = np.array([0.050, -0.015, -0.005])
# Tonotopic axis of Heschl's gyrus: low frequencies anterolateral, high posteromedial.
_TONOTOPIC_AXIS = np.array([0.6, 0.8, 0.0])
_N_BACKGROUND = 120


def make_info(kind):
    """The channel layout of a simulated or real dataset.

    Parameters
    ----------
    kind : {"mos", "nmedt"}
        ``"mos"``: BioSemi 64 at 64 Hz. ``"nmedt"``: EGI GSN-HydroCel-129 reduced
        to the 125 NMED-T channels E1-E124 + Cz at 125 Hz.

    Returns
    -------
    info : mne.Info
        EEG channels with the montage set.
    """
    if kind == "mos":
        montage = mne.channels.make_standard_montage("biosemi64")
        info = mne.create_info(montage.ch_names, 64.0, "eeg")
    elif kind == "nmedt":
        montage = mne.channels.make_standard_montage("GSN-HydroCel-129")
        ch_names = [f"E{i}" for i in range(1, 125)] + ["Cz"]
        info = mne.create_info(ch_names, 125.0, "eeg")
    else:
        raise ValueError(f"kind must be 'mos' or 'nmedt'; got {kind!r}.")
    info.set_montage(montage, on_missing="raise", verbose="error")
    return info


def _source_positions(n_bands, rng):
    """Auditory (envelope/onset), tonotopic and background dipole positions."""
    auditory = np.array([_A1, _A1 * [-1, 1, 1]])
    offsets = np.linspace(-0.008, 0.008, n_bands)
    tonotopic = []
    for hemi in (1, -1):
        axis = _TONOTOPIC_AXIS * [hemi, 1, 1]
        centre = _A1 * [hemi, 1, 1] + [0.0, 0.0, 0.008]
        tonotopic.extend(centre + o * axis for o in offsets)
    # Background sources spread through the cortex shell (55-75 mm from the centre).
    direction = rng.standard_normal((_N_BACKGROUND, 3))
    direction[:, 2] = np.abs(direction[:, 2])
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    background = direction * rng.uniform(0.055, 0.075, (_N_BACKGROUND, 1))
    occipital = np.array([[0.02, -0.065, 0.01], [-0.02, -0.065, 0.01]])
    frontal_pole = np.array([[0.0, 0.07, -0.005]])
    return dict(
        auditory=auditory,
        tonotopic=np.array(tonotopic),
        background=background,
        alpha=occipital,
        blink=frontal_pole,
    )


@lru_cache(maxsize=4)
def forward_model(kind, n_bands=4):
    """Free-orientation gain matrices for every simulated source group.

    Parameters
    ----------
    kind : {"mos", "nmedt"}
    n_bands : int
        Number of tonotopic sources per hemisphere.

    Returns
    -------
    info : mne.Info
    gains : dict of ndarray, each shape (n_channels, n_sources, 3)
        Average-referenced gain (V per A·m) of each source group.
    positions : dict of ndarray, each shape (n_sources, 3)
        Source positions in head coordinates (m).
    """
    info = make_info(kind)
    sphere = mne.make_sphere_model("auto", "auto", info, verbose="error")
    positions = _source_positions(n_bands, np.random.default_rng(12345))
    names = list(positions)
    rr = np.concatenate([positions[k] for k in names]) + sphere["r0"]
    nn = np.tile([0.0, 0.0, 1.0], (len(rr), 1))
    src = mne.setup_volume_source_space(pos=dict(rr=rr, nn=nn), sphere=sphere, verbose="error")
    fwd = mne.make_forward_solution(info, None, src, sphere, eeg=True, meg=False, verbose="error")
    gain = fwd["sol"]["data"].reshape(len(info["ch_names"]), -1, 3)
    gain = gain - gain.mean(axis=0, keepdims=True)  # average reference
    gains, start = {}, 0
    for k in names:
        stop = start + len(positions[k])
        gains[k] = gain[:, start:stop]
        start = stop
    return info, gains, positions
