"""Writing output files so that a crash or an error never leaves a half-written or clobbered file.

* :func:`check_output_file` / :func:`check_output_folder`: validate an output path before any work (a trial, a
  fit), so a bad path fails in a second, not after an hour; an output that is one of the command's inputs is
  refused (``tuneless refine -o trace.csv`` would overwrite the trace).
* :func:`atomic_path` / :func:`write_text_atomic`: write to a temporary file in the same folder, then
  ``os.replace`` it over the target (atomic on POSIX and Windows within one file system): readers see the old
  file or the new one, never a part; on an error the temporary file is removed and the target is untouched.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "check_output_file", "check_output_folder", "write_text_atomic"]


def _same(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _writable_ancestor(path: Path, option: str, value: object) -> None:
    """The folder that will hold ``path`` exists (or can be created) and is writable."""
    folder = path.parent if str(path.parent) else Path(".")
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{option} {str(value)!r}: {str(existing)!r} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {str(value)!r}: cannot write into the folder {str(existing)!r} (permission denied)")


def check_output_file(
    path: str | os.PathLike[str], option: str, inputs: Iterable[tuple[str, str | os.PathLike[str] | None]] = ()
) -> Path:
    """``path`` as a Path, after checking that it can be written as a regular file: not a folder, not a device or
    FIFO, in a writable folder (created later if missing), and not one of ``inputs`` (``(option, path)`` pairs).
    Raises ``ValueError`` naming ``option`` and the value."""
    text = os.fspath(path)
    if not text.strip():
        raise ValueError(f"{option} {text!r}: empty path")
    out = Path(text)
    if out.is_dir():
        raise ValueError(f"{option} {text!r} is a folder: give a file path")
    if out.exists() and not out.is_file():
        raise ValueError(f"{option} {text!r} is not a regular file (a device or a FIFO?): give a file path")
    if out.exists() and not os.access(out, os.W_OK):
        raise ValueError(f"{option} {text!r}: the file is read-only")
    for input_option, input_path in inputs:
        if input_path is not None and _same(out, Path(input_path)):
            raise ValueError(f"{option} {text!r} is the same file as {input_option} {os.fspath(input_path)!r}")
    _writable_ancestor(out, option, text)
    return out


def check_output_folder(path: str | os.PathLike[str], option: str) -> Path:
    """``path`` as a Path, after checking that it is (or can be created as) a writable folder."""
    text = os.fspath(path)
    if not text.strip():
        raise ValueError(f"{option} {text!r}: empty path")
    out = Path(text)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{option} {text!r} is a file, not a folder")
    if out.is_dir():
        if not os.access(out, os.W_OK | os.X_OK):
            raise ValueError(f"{option} {text!r}: cannot write into this folder (permission denied)")
        return out
    _writable_ancestor(out / "x", option, text)
    return out


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yields a temporary path in ``path``'s folder (same suffix, so writers that go by the suffix pick the same
    format); when the block ends without an error it is fsync'ed and renamed over ``path``, else removed."""
    target = Path(path)
    temporary: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=f".tmp{target.suffix}")
        os.close(handle)
        temporary = Path(name)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; the output gets the usual mode
        yield temporary
        with open(temporary, "rb") as f:
            os.fsync(f.fileno())
        os.replace(temporary, target)
    except OSError as err:
        raise ValueError(f"cannot write {str(target)!r}: {err.strerror or err}") from None
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Writes ``text`` (UTF-8) to ``path`` atomically (:func:`atomic_path`); returns ``path`` as a Path."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)
