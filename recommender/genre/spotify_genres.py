"""Spotify's artist genres (Exportify's "Genres" column) mapped onto the catalog's genres.

Spotify names ~6,000 artist genres ("east coast hip hop", "german hip hop", "jazz rap"); the
catalog has 114 ("hip-hop", "german", "hardcore" …). The map is learned from tracks that have
both — a listener's library tracks whose artists the catalog labels — and backed by the names
themselves: a catalog genre whose words occur in a Spotify genre ("hip hop" in "german hip hop")
counts a little even when no track taught it, as do a few aliases ("rap" → hip-hop). A Spotify
genre the map never saw falls back on its telling words ("german"; not "rap" or "modern"), which
count less than a genre learnt whole. The result is evidence for tracks whose artists the catalog does not know,
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
#: How much a Spotify genre read only through its words (never seen whole, no catalog genre named
#: in it) counts against one learnt whole: words are a guess ("emo" of "emo rap" or "emo punk").
WORD_WEIGHT = 0.3
#: Spotify words that name a catalog genre by another name. They count as that name, and are never
#: read through what a library taught: a listener's rappers may be labelled "club" in the catalog,
#: which must not make every "… rap" club (the issue's Tay-K, "cloud rap" → club 77 %).
ALIASES: dict[tuple[str, ...], str] = {
    ("rap",): "hip-hop",
    ("trap",): "hip-hop",
    ("drill",): "hip-hop",
    ("r", "b"): "r-n-b",
    ("rnb",): "r-n-b",
    ("dnb",): "drum-and-bass",
}
#: Words that say nothing of a genre on their own: not read through what a library taught.
GENERIC_WORDS = frozenset(
    {"modern", "classic", "contemporary", "underground", "new", "old", "school", "music"}
    | {word for alias in ALIASES for word in alias}
)
#: How many times the audio model's probabilities the artist-genre evidence weighs, and the
#: temperature of the soft vote (its log-probabilities are scaled by 1 / this; below 1 sharpens):
#: the pair of least log-loss over a grid (weights 0.25–4, temperatures 0.5–2) on the shared
#: listener's 294 library tracks with Genres and catalog-labelled artists, each track's evidence
#: from a map that never saw its artist (``bench/quality_genre.py``: log-loss 1.352, ECE 0.099).
EVIDENCE_WEIGHT = 1.0
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
        """Pseudo-counts for the catalog genres named inside a Spotify genre's words (or by an
        alias: "rap" → hip-hop); a name inside a longer one that matched ("pop" in "k-pop") does
        not count."""
        words = _words(genre)
        named = {c for c in self.classes if _contains(words, _words(c))}
        named |= {
            c for alias, c in ALIASES.items() if c in self.classes and _contains(words, alias)
        }
        longest = {
            c for c in named if not any(o != c and _contains(_words(o), _words(c)) for o in named)
        }
        return np.array([NAME_MATCH if c in longest else 0.0 for c in self.classes])

    def _one(self, genre: str) -> tuple[np.ndarray, float]:
        """Label counts for one Spotify genre and how much they count: learnt whole (1), else its
        telling words' (``WORD_WEIGHT``, or 1 when a catalog genre is named in it), plus name
        matches."""
        names = self._name_matches(genre)
        counts = self.by_genre.get(genre)
        if counts is not None:
            return counts + names, 1.0
        rows = [
            self.by_word[w] for w in _words(genre) if w in self.by_word and w not in GENERIC_WORDS
        ]
        words = np.mean(rows, axis=0) if rows else np.zeros(len(self.classes))
        return words + names, 1.0 if names.any() else WORD_WEIGHT

    def evidence(self, cells: Sequence[object]) -> np.ndarray:
        """Label distributions (n, n_classes) for "Genres" cells, each Spotify genre a share by
        how much it counts; a row sums to less than 1 when the cell is read only through words,
        and is all zeros when a cell says nothing the map can read (empty, or no genre, word or
        name it knows)."""
        out = np.zeros((len(cells), len(self.classes)))
        for i, cell in enumerate(cells):
            total, weights = np.zeros(len(self.classes)), 0.0
            for genre in split_genres(cell):
                counts, weight = self._one(genre)
                if counts.sum() > 0:
                    counts = counts + SMOOTHING * self.prior
                    total += weight * counts / counts.sum()
                    weights += weight
            if weights > 0:
                out[i] = total / total.sum() * min(1.0, weights)
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
