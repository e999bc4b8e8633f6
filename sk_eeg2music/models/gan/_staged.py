"""Pre-training stages of the staged GAN: the decoder on the training music, the encoder on EEG.

:class:`~sk_eeg2music.EEG2MusicGAN` with ``training="staged"`` runs them in
``fit`` before skorch's epochs (the joint adversarial fine-tuning):

1. :func:`pretrain_decoder` teaches the decode stage (the upsampler or the
   DDSP synthesiser) to render the *true*
   z-scored log-mel of the training audio as waveforms (mel + multi-resolution
   STFT losses). It sees only the ``y`` passed to ``fit``, de-duplicated
   (:func:`unique_audio`: the same music heard by several subjects is one
   example), and draws batches and crops from its own seeded generator, so its
   result depends only on the set of training segments, the initial weights
   and the settings: :func:`decoder_cache_key` hashes exactly those, and a
   cached result equals a refit.
2. :func:`train_encoder` fits the EEG encoder and its log-mel head with the
   L1 loss plus a segment-level contrastive (CLIP) loss, with early stopping
   on a validation split of the training trials (grouped by subject when
   groups are given).
"""

import contextlib
import copy
import hashlib
import inspect
import json

import numpy as np
import torch

from ...metrics._common import EDGE_FRAMES
from .losses import aux_mel_l1_loss, contrastive_loss, weighted_sum, zscore_over_time


def unique_audio(y):
    """The distinct rows of ``y`` in a canonical order (by content hash).

    Parameters
    ----------
    y : ndarray, shape (n_trials, n_audio)

    Returns
    -------
    y_unique : ndarray, shape (n_unique, n_audio)
        Each distinct waveform once, ordered by the SHA-256 of its bytes, so
        any permutation or repetition of the same rows gives the same array.
    """
    y = np.ascontiguousarray(y)
    digests = {}
    for i, row in enumerate(y):
        digests.setdefault(hashlib.sha256(row.tobytes()).hexdigest(), i)
    order = [digests[d] for d in sorted(digests)]
    return y[order]


def decoder_cache_key(y_unique, state, settings):
    """SHA-256 of everything the decoder pre-training result depends on.

    Parameters
    ----------
    y_unique : ndarray, shape (n_unique, n_audio)
        :func:`unique_audio` of the training audio.
    state : dict of str -> Tensor
        The decode stage's initial ``state_dict`` entries (architecture and seed).
    settings : dict
        JSON-serialisable training settings (steps, batch, crop, rates, weights).

    Returns
    -------
    key : str
        Hex digest.
    """
    h = hashlib.sha256()
    h.update(str(y_unique.dtype).encode() + str(y_unique.shape).encode())
    h.update(np.ascontiguousarray(y_unique).tobytes())
    for name in sorted(state):
        h.update(name.encode())
        h.update(state[name].detach().cpu().numpy().tobytes())
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return h.hexdigest()


def pretrain_decoder(
    module,
    criterion,
    y,
    *,
    steps,
    batch_size,
    n_crop,
    factor,
    weights,
    lr,
    betas=(0.8, 0.99),
    grad_clip=10.0,
    seed=0,
    device="cpu",
):
    """Train a generator's upsampler to render true log-mels (teacher-forced vocoder).

    Parameters
    ----------
    module : Generator
        Its ``decode`` and ``decoder_parameters()`` are used; updated in place.
        A ``decode`` that accepts ``generator=`` (the DDSP decoder's noise)
        gets the private generator below.
    criterion : ReconstructionLoss
        Gives the z-scored EEG-rate log-mel (``aux_target``) and the losses.
    y : Tensor, shape (n_segments, n_audio)
        Training waveforms (on ``device``), ``n_audio = n_frames * factor``.
    steps : int
        Optimiser steps.
    batch_size : int
    n_crop : int | None
        Crop length in EEG frames (``None``: whole segments).
    factor : int
        Audio samples per frame.
    weights : dict
        Loss weights (``mel``, ``stft_sc``, ``stft_mag``, ``wav``).
    lr : float
        AdamW learning rate.
    betas : tuple, default=(0.8, 0.99)
    grad_clip : float | None, default=10.0
    seed : int, default=0
        Seeds a private generator for batches, crops and any noise the
        decoder draws (the global RNG is not touched).
    device : str, default="cpu"

    Returns
    -------
    losses : list of float
        The weighted loss of every step.
    """
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        mel = criterion.aux_target(y)
    n, n_frames = len(y), mel.shape[-1]
    crop = n_frames if n_crop is None else min(int(n_crop), n_frames)
    params = list(module.decoder_parameters())
    optimizer = torch.optim.AdamW(params, lr=lr, betas=betas)
    components = tuple(c for c in ("mel", "stft", "wav") if weights.get(c, weights.get(c + "_sc")))
    # The DDSP decoder draws noise: from the private generator, so the result
    # depends only on the seed (the cache's promise).
    decode_kw = {}
    with contextlib.suppress(TypeError, ValueError):
        if "generator" in inspect.signature(module.decode).parameters:
            decode_kw = {"generator": gen}
    losses = []
    module.train()
    for _ in range(int(steps)):
        idx = torch.randint(0, n, (min(batch_size, n),), generator=gen)
        offsets = torch.randint(0, n_frames - crop + 1, (len(idx),), generator=gen).tolist()
        z = torch.stack([mel[i, :, o : o + crop] for i, o in zip(idx.tolist(), offsets)])
        target = torch.stack(
            [y[i, o * factor : (o + crop) * factor] for i, o in zip(idx.tolist(), offsets)]
        )
        optimizer.zero_grad()
        parts = criterion(module.decode(z.to(device), **decode_kw), target, components=components)
        loss = weighted_sum(parts, weights)
        loss.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(params, grad_clip)
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


def encode_mel(module, x, condition=None):
    """Encoder features and decoded log-mel of ``module`` for EEG ``x``.

    :meth:`~.generator.Generator.encode_mel` where the module has it (the
    linear path included), else ``encode`` then ``predict_mel``.

    Returns
    -------
    features : Tensor, shape (batch, n_features, n_times)
    mel : Tensor, shape (batch, n_mels, n_times) | None
    """
    if hasattr(module, "encode_mel"):
        return module.encode_mel(x, condition)
    features = module.encode(x, condition)
    return features, module.predict_mel(features)


def _encoder_objective(module, x, condition, target, weights, temperature):
    pred = encode_mel(module, x, condition)[1]
    parts = aux_mel_l1_loss(pred, target)[1]
    if weights.get("clip"):
        parts.update(contrastive_loss(pred, target, temperature)[1])
    return weighted_sum(parts, weights), parts


def train_encoder(
    module,
    X,
    target,
    condition,
    train,
    valid,
    *,
    epochs,
    patience,
    batch_size,
    lr,
    weights,
    temperature=0.1,
    grad_clip=10.0,
):
    """Fit the EEG encoder and its log-mel head, with early stopping on ``valid``.

    Parameters
    ----------
    module : Generator
        Its ``encode``, ``predict_mel`` and ``encoder_parameters()`` are used;
        updated in place and left at the best validation epoch.
    X : Tensor, shape (n_trials, n_channels, n_times)
    target : Tensor, shape (n_trials, n_mels, n_times)
        z-scored true log-mel at the EEG rate.
    condition : Tensor of int, shape (n_trials,) | None
    train, valid : ndarray of int
        Trial indices; an empty ``valid`` trains all ``epochs``.
    epochs : int
        Maximum epochs.
    patience : int
        Epochs without a better validation loss before stopping.
    batch_size : int
        Trials per step; also the candidates of the contrastive loss.
    lr : float
        AdamW learning rate.
    weights : dict
        ``aux`` (L1) and ``clip`` (contrastive) weights.
    temperature : float, default=0.1
    grad_clip : float | None, default=10.0

    Returns
    -------
    history : list of dict
        Per epoch: ``epoch``, ``train_loss``, ``valid_loss`` (NaN without a
        validation set), ``train_aux``, ``train_clip``; with a validation set,
        a first row ``epoch=0`` holds the starting weights' ``valid_loss``.
    best_epoch : int
        The epoch whose weights are kept (1-based; 0: the starting weights,
        which are a candidate too, e.g. the generator's linear path alone).
    """
    params = list(module.encoder_parameters())
    optimizer = torch.optim.AdamW(params, lr=lr)
    pick = (lambda idx: condition[idx]) if condition is not None else (lambda idx: None)
    history, best, best_state, best_epoch, waited = [], np.inf, None, int(epochs), 0
    if len(valid):
        best = _validation_loss(module, X, target, pick, valid, batch_size, weights, temperature)
        best_state, best_epoch = copy.deepcopy(module.state_dict()), 0
        history.append({"epoch": 0, "valid_loss": best})
    for epoch in range(1, int(epochs) + 1):
        module.train()
        order = np.asarray(train)[torch.randperm(len(train)).numpy()]
        sums = {}
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            if len(idx) < 2 and len(order) >= 2:
                continue  # a contrastive batch needs candidates
            optimizer.zero_grad()
            loss, parts = _encoder_objective(
                module, X[idx], pick(idx), target[idx], weights, temperature
            )
            loss.backward()
            if grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(params, grad_clip)
            optimizer.step()
            for k, v in {"loss": loss, **parts}.items():
                sums.setdefault(k, []).append(float(v.detach()))
        row = {"epoch": epoch, **{f"train_{k}": float(np.mean(v)) for k, v in sums.items()}}
        row["valid_loss"] = _validation_loss(
            module, X, target, pick, valid, batch_size, weights, temperature
        )
        history.append(row)
        if not len(valid):
            continue
        if row["valid_loss"] < best:
            best, best_epoch, waited = row["valid_loss"], epoch, 0
            best_state = copy.deepcopy(module.state_dict())
        else:
            waited += 1
            if waited >= patience:
                break
    if best_state is not None:
        module.load_state_dict(best_state)
    return history, best_epoch


def _validation_loss(module, X, target, pick, valid, batch_size, weights, temperature):
    if not len(valid):
        return float("nan")
    module.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(valid), batch_size):
            idx = np.asarray(valid[start : start + batch_size])
            loss, _ = _encoder_objective(
                module, X[idx], pick(idx), target[idx], weights, temperature
            )
            total, count = total + float(loss) * len(idx), count + len(idx)
    return total / count


def _unit_rows(x, trim):
    """z-scored over time, ``trim`` frames dropped at each edge, flattened to unit rows."""
    if trim and x.shape[-1] > 2 * trim:
        x = x[..., trim:-trim]
    return torch.nn.functional.normalize(zscore_over_time(x).flatten(1), dim=1)


def retrieve_from_bank(query, bank, trim_frames=EDGE_FRAMES):
    """The window of the training music most similar to each stretch of a decoded log-mel.

    A query longer than the bank's segments is cut into chunks of the
    segments' length; each chunk picks the bank window (stride a quarter of
    its length) with the highest cosine similarity after z-scoring over time,
    ``trim_frames`` dropped at each edge of both: the identification rule of
    :mod:`sk_eeg2music.metrics`. Without the trim, an encoder whose padding
    makes its first frames large (the L1-only ablation) matched every trial
    to the few windows that start with a transient.

    Parameters
    ----------
    query : Tensor, shape (batch, n_mels, n_times)
        Decoded log-mel (any scale).
    bank : Tensor, shape (n_segments, n_mels, n_frames)
        z-scored log-mel of the distinct training segments.
    trim_frames : int, default=EDGE_FRAMES
        Frames left out of the similarity at each edge of a chunk (not of
        the returned windows, which are whole).

    Returns
    -------
    retrieved : Tensor, shape (batch, n_mels, n_times)
        z-scored over time per chunk.
    """
    n_times, n_frames = query.shape[-1], bank.shape[-1]
    length = min(n_times, n_frames)
    out = []
    for start in range(0, n_times, length):
        chunk = query[..., start : start + length]
        n = chunk.shape[-1]
        raw = bank.unfold(-1, n, max(1, n // 4))  # (n_bank, n_mels, n_win, n)
        raw = raw.permute(0, 2, 1, 3).reshape(-1, bank.shape[1], n)
        sims = _unit_rows(chunk, trim_frames) @ _unit_rows(raw, trim_frames).T
        out.append(zscore_over_time(raw[sims.argmax(dim=1)]))
    return torch.cat(out, dim=-1)


def blend_with_prior(decoded, bank, weight):
    """``zscore((1 - weight) * zscore(decoded) + weight * retrieved)``: the upsampler's input.

    Parameters
    ----------
    decoded : Tensor, shape (batch, n_mels, n_times)
    bank : Tensor, shape (n_segments, n_mels, n_frames)
    weight : float
        0 keeps the decoded log-mel, 1 the retrieved training music.

    Returns
    -------
    z : Tensor, shape (batch, n_mels, n_times)
    """
    z = zscore_over_time(decoded)
    if not weight:
        return z
    return zscore_over_time((1.0 - weight) * z + weight * retrieve_from_bank(decoded, bank))
