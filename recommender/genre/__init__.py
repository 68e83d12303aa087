"""The genre classifier: catalog labels for artists it knows, an audio and name model for the rest.

``classifier`` holds the model (fit / predict / save / load), ``training`` fits its parts,
``calibration`` blends them, ``forest`` is its flat RandomForest, ``prior`` the catalog's label
counts and ``text`` the naive-Bayes model of track names.
"""

from recommender.genre.classifier import (
    GenreClassifier,
    GenreModelFormatError,
    catalog_genres,
    numeric_matrix,
)
from recommender.genre.training import GenreSettings

__all__ = [
    "GenreClassifier",
    "GenreModelFormatError",
    "GenreSettings",
    "catalog_genres",
    "numeric_matrix",
]
