"""Errors the command line reports in one line, and atomic file writes.

`Error` is a user-facing failure (bad option, missing or malformed file, diverged training):
`python -m hdon_train` prints its message as one line and exits 1, without a traceback.
Every file the trainer produces is written through `atomic`: to a temporary name in the same
directory, renamed into place only when complete, so that an interrupted or failed command leaves
either the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


class Error(Exception):
    """A failure the command line reports as one line (no traceback)."""


@contextlib.contextmanager
def atomic(path):
    """Yields a temporary path next to `path` (same suffix, so numpy and safetensors write the
    same format); on success it is renamed to `path`, on failure removed."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path, text: str) -> None:
    with atomic(path) as tmp:
        tmp.write_text(text)
