"""Spotify's artist genres (Exportify's "Genres" column) mapped onto the catalog's genres.

Spotify names ~6,000 artist genres ("east coast hip hop", "german hip hop", "jazz rap"); the
catalog has 114 ("hip-hop", "german", "hardcore" …). The map is learned from tracks that have
both — a listener's library tracks whose artists the catalog labels — and backed by the names
themselves: a catalog genre whose words occur in a Spotify genre ("hip hop" in "german hip hop")
counts a little even when no track taught it. A Spotify genre the map never saw falls back on its
words ("hop", "german"). The result is evidence for tracks whose artists the catalog does not know,
where the audio model alone is often wrong (Tay-K → "sad", Erzin's German rap → "hardstyle").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recommender.genre.calibration import sharpen

#: Pseudo-count a catalog genre gets when its name's words occur in a Spotify genre.
NAME_MATCH = 0.5
#: Pseudo-counts of the label-frequency prior mixed into every learnt row (smoothing).
SMOOTHING = 0.2
#: How many times the audio model's probabilities the artist-genre evidence weighs (tuned on the
#: shared listener's library, leave-one-artist-out: ``bench/quality_genre.py``).
EVIDENCE_WEIGHT = 1.0
#: The soft vote of two opinions is less sure than it should be: its log-probabilities are scaled
#: by 1 / this (below 1 sharpens), chosen for the lowest calibration error on the same tracks.
EVIDENCE_TEMPERATURE = 0.6
_WORD = re.compile(r"[a-z0-9]+")


def split_genres(cell: object) -> list[str]:
    """The Spotify genres in one Exportify "Genres" cell (comma-separated), trimmed and lowered."""
    if not isinstance(cell, str):
        return []
    return [g.strip().casefold() for g in cell.split(",") if g.strip()]


def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.casefold()))


def _contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    """True when ``needle`` occurs as consecutive words in ``haystack``."""
    n = len(needle)
    return n > 0 and any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


@dataclass
class SpotifyGenreMap:
    """Label distributions (over ``classes``) per Spotify genre and per word of one."""

    classes: list[str]
    by_genre: dict[str, np.ndarray]
    by_word: dict[str, np.ndarray]
    prior: np.ndarray  # (n_classes,) label frequency of the tracks it learned from

    @classmethod
    def fit(
        cls, genres: Sequence[object], y: np.ndarray, classes: Sequence[str]
    ) -> SpotifyGenreMap:
        """Learn from ``genres`` (one "Genres" cell per track) and label weights ``y`` (n, k).

        A track's row of ``y`` is shared out to sum to 1 (an artist's catalog label shares, or a
        track's own labels), then added to each of its Spotify genres and their words.
        """
        k = len(classes)
        weights = np.asarray(y, dtype=np.float64).reshape(len(genres), k)
        totals = weights.sum(axis=1, keepdims=True)
        shares = np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)
        by_genre: dict[str, np.ndarray] = {}
        by_word: dict[str, np.ndarray] = {}
        for cell, row in zip(genres, shares, strict=True):
            if not row.any():
                continue
            names = split_genres(cell)
            for name in names:
                by_genre[name] = by_genre.get(name, np.zeros(k)) + row / len(names)
            words = {w for name in names for w in _words(name)}
            for word in words:
                by_word[word] = by_word.get(word, np.zeros(k)) + row / len(words)
        prior = shares.sum(axis=0) + 1.0
        return cls(list(classes), by_genre, by_word, prior / prior.sum())

    def _name_matches(self, genre: str) -> np.ndarray:
        """Pseudo-counts for the catalog genres named inside a Spotify genre's words."""
        words = _words(genre)
        return np.array([NAME_MATCH if _contains(words, _words(c)) else 0.0 for c in self.classes])

    def _one(self, genre: str) -> np.ndarray:
        """Label counts for one Spotify genre: learnt, else its words', plus name matches."""
        counts = self.by_genre.get(genre)
        if counts is None:
            rows = [self.by_word[w] for w in _words(genre) if w in self.by_word]
            counts = np.mean(rows, axis=0) if rows else np.zeros(len(self.classes))
        return counts + self._name_matches(genre)

    def evidence(self, cells: Sequence[object]) -> np.ndarray:
        """Label distributions (n, n_classes) for "Genres" cells; a row of zeros when a cell says
        nothing the map can read (empty, or no genre, word or name it knows)."""
        out = np.zeros((len(cells), len(self.classes)))
        for i, cell in enumerate(cells):
            names = split_genres(cell)
            counts = sum((self._one(g) for g in names), np.zeros(len(self.classes)))
            if counts.sum() > 0:
                counts = counts + SMOOTHING * self.prior
                out[i] = counts / counts.sum()
        return out


def with_artist_genres(
    audio: np.ndarray,
    evidence: np.ndarray,
    weight: float = EVIDENCE_WEIGHT,
    temperature: float = EVIDENCE_TEMPERATURE,
) -> np.ndarray:
    """The audio model's probabilities (n, k) moved towards artist-genre ``evidence`` (n, k).

    A soft vote, ``weight`` parts evidence to one part audio, sharpened by ``temperature``; rows
    without evidence are unchanged.
    """
    has = evidence.sum(axis=1) > 0
    out = audio / audio.sum(axis=1, keepdims=True)
    if has.any():
        mixed = audio[has] + weight * evidence[has]
        out[has] = sharpen(mixed / mixed.sum(axis=1, keepdims=True), temperature)
    return out


def artist_genre_cells(artists: Sequence[Sequence[str]], cells: Sequence[object]) -> dict[str, str]:
    """Each (case-folded) artist's Spotify genres from any library track that carries them: the
    listener's own library says what an artist is even on tracks whose "Genres" cell is empty."""
    out: dict[str, set[str]] = {}
    for names, cell in zip(artists, cells, strict=True):
        genres = split_genres(cell)
        if genres and names:
            out.setdefault(names[0], set()).update(genres)
    return {artist: ",".join(sorted(genres)) for artist, genres in out.items()}
