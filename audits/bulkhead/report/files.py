"""Writing report files: whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class ReportWriteError(OSError):
    """A report could not be written; ``filename`` is the report's path (an older file there is untouched)."""


def write_atomically(path: Path, text: str) -> None:
    """A temporary file beside ``path``, renamed over it once whole: ``path`` is the old file or the new one.

    Any OSError (a full disk, a read-only directory) becomes a ReportWriteError naming ``path``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as error:
        raise ReportWriteError(error.errno, error.strerror, str(path)) from error
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise ReportWriteError(error.errno, error.strerror, str(path)) from error
        raise
