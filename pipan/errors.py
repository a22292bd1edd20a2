"""pipan's own exceptions. The CLI turns every one of them into a one-line message and a
non-zero exit code in one place (``pipan.cli``); anything else is a bug and may traceback."""
from __future__ import annotations


class PipanError(Exception):
    """Base of every error pipan reports to a user. ``exit_code`` is the process status."""

    exit_code = 1


class DatasetError(PipanError):
    """A skeleton dataset file that is missing, malformed or inconsistent."""


class ModelError(PipanError):
    """A model file that cannot be read, or is not what it is being loaded as."""


class VideoError(PipanError):
    """A video file or camera that cannot be opened or decoded."""


class MissingDependencyError(PipanError):
    """An optional package is needed for what was asked (e.g. TensorFlow, picamera2)."""

    exit_code = 3
