"""Errors raised by storage code; their messages are written for the person who gave the input."""

from __future__ import annotations


class ImportFormatError(ValueError):
    """A file given to an importer is not in the expected format; the message says where and why."""


class EncryptionKeyError(Exception):
    """The key of the stored account tokens is malformed, missing while tokens are stored, or not
    theirs: start-up stops, and the message names the file or setting and what to restore."""
