"""How the classifier's parts are combined, and how the combination is tuned on held-out tracks.

Every number here is chosen on tracks the models were not fitted on (a slice of the *training*
catalog, never the test set): the RandomForest/XGBoost mix and the audio temperature on held-out
tracks whose artists the fit never saw, the prior weights and the known-artist temperature on
held-out tracks of artists it did see. A track "hits" when the top genre is any of its labels, and
log-loss is the loss of the probability given to the track's label *set*.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import numpy as np

TEMPERATURES = np.exp(np.linspace(np.log(0.25), np.log(4.0), 41))
FOREST_SHARES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
AUDIO_WEIGHTS = (0.25, 0.5, 1.0, 2.0, 4.0)  # pseudo-counts the audio model adds to the prior
RELEASE_WEIGHTS = (0.0, 1.0, 3.0)
RECORDING_WEIGHTS = (0.0, 1.0, 3.0)


@dataclass(frozen=True)
class Blend:
    """The tuned combination weights (defaults are used when there is nothing to tune on)."""

    forest_share: float = 0.3  # RandomForest share of the audio model, XGBoost has the rest
    audio_temperature: float = 1.0
    audio_weight: float = 1.0
    release_weight: float = 1.0
    recording_weight: float = 1.0
    known_temperature: float = 1.0
    reccobeats_forest_share: float = 0.3  # the same two, for rows ReccoBeats-only features
    reccobeats_temperature: float = 1.0

    def as_dict(self) -> dict[str, float]:
        """The weights as a JSON-ready dict."""
        return asdict(self)


def sharpen(p: np.ndarray, temperature: float) -> np.ndarray:
    """Rows of ``p`` (n, k) raised to 1/temperature and renormalised."""
    logp = np.log(np.maximum(p, 1e-12)) / temperature
    logp -= logp.max(axis=1, keepdims=True)
    out = np.exp(logp)
    return out / out.sum(axis=1, keepdims=True)


def set_log_loss(p: np.ndarray, y: np.ndarray) -> float:
    """Mean −log of the probability on each row's label set; ``p``, ``y`` are (n, k)."""
    mass = (p * (y > 0)).sum(axis=1)
    return float(-np.log(np.maximum(mass, 1e-12)).mean())


def top1_hit_rate(p: np.ndarray, y: np.ndarray) -> float:
    """Share of rows whose top class is one of its labels; ``p``, ``y`` are (n, k)."""
    return float((y[np.arange(len(p)), p.argmax(axis=1)] > 0).mean())


def best_temperature(p: np.ndarray, y: np.ndarray) -> float:
    """The temperature from TEMPERATURES with the lowest set log-loss."""
    losses = [set_log_loss(sharpen(p, t), y) for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])


def audio_mix(forest: np.ndarray, boosted: np.ndarray, share: float) -> np.ndarray:
    """The soft vote of both audio models, (n, k)."""
    return share * forest + (1.0 - share) * boosted


def known_artist_mix(
    artist: np.ndarray,
    release: np.ndarray,
    recording: np.ndarray,
    audio: np.ndarray,
    blend: Blend,
) -> np.ndarray:
    """Dirichlet-style posterior: label counts plus the audio model as pseudo-counts, (n, k).

    An artist with hundreds of catalog tracks is barely moved by the audio model; one with a single
    track is moved a lot, which is what "smoothed" should mean.
    """
    counts = artist + blend.release_weight * release + blend.recording_weight * recording
    mixed = counts + blend.audio_weight * audio
    return mixed / np.maximum(mixed.sum(axis=1, keepdims=True), 1e-12)


def tune_audio(forest: np.ndarray, boosted: np.ndarray, y: np.ndarray, blend: Blend) -> Blend:
    """Pick the forest share and the audio temperature on held-out unseen-artist rows."""
    if len(y) == 0:
        return blend
    losses = [set_log_loss(audio_mix(forest, boosted, s), y) for s in FOREST_SHARES]
    share = FOREST_SHARES[int(np.argmin(losses))]
    temperature = best_temperature(audio_mix(forest, boosted, share), y)
    return Blend(**{**blend.as_dict(), "forest_share": share, "audio_temperature": temperature})


def tune_known(
    artist: np.ndarray,
    release: np.ndarray,
    recording: np.ndarray,
    audio: np.ndarray,
    y: np.ndarray,
    blend: Blend,
) -> Blend:
    """Pick prior weights (by top-1 hits, then log-loss) and a temperature on known-artist rows."""
    if len(y) == 0:
        return blend
    best: tuple[float, float] | None = None
    chosen = blend
    for audio_w, release_w, recording_w in itertools.product(
        AUDIO_WEIGHTS, RELEASE_WEIGHTS, RECORDING_WEIGHTS
    ):
        trial = Blend(
            **{
                **blend.as_dict(),
                "audio_weight": audio_w,
                "release_weight": release_w,
                "recording_weight": recording_w,
            }
        )
        p = known_artist_mix(artist, release, recording, audio, trial)
        score = (top1_hit_rate(p, y), -set_log_loss(p, y))
        if best is None or score > best:
            best, chosen = score, trial
    p = known_artist_mix(artist, release, recording, audio, chosen)
    return Blend(**{**chosen.as_dict(), "known_temperature": best_temperature(p, y)})
