"""Files on disk that other processes may read while they are written: the one way to
replace a file or folder all at once, and the one sha256 of a file's bytes.

Used by the model cache (:mod:`tracker.embedding`) and the index files
(:mod:`tracker.index`). Not the post files users give (that is :mod:`tracker.ingest.files`).

May import: the standard library only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["sha256_file", "write_atomically"]


def sha256_file(path: Path) -> str:
    """The sha256 of the file's bytes, as 64 hex digits (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomically(
    target: Path, write: Callable[[Path], object], *, folder: bool = False
) -> None:
    """Make ``target`` all at once: ``write(tmp)`` fills a temporary file beside it (or,
    with ``folder``, a temporary folder), which is then flushed to disk and renamed onto
    ``target``; a reader, in this process or another, sees the old target or the new one,
    never half of one. It is made readable by everyone (``0o644``, a folder ``0o755``,
    as a plain ``open`` or ``mkdir`` would); a folder replaces one already there (removed
    just before the rename).
    Whatever ``write`` raises is raised again, and the temporary is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name}."
    if folder:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
        tmp.chmod(0o755)
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, dir=target.parent)
        os.close(fd)
        tmp = Path(name)
        tmp.chmod(0o644)
    try:
        write(tmp)
        if folder:
            if target.exists():
                shutil.rmtree(target)
        else:
            with tmp.open("rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        if folder:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise
