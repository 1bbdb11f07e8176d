"""Atomic file writes: temporary file in the same folder, fsync, rename.

A crash or Ctrl-C never leaves a half-written artifact under the final name. A target that is a
symbolic link is written through it (the link stays); a special file (a FIFO, /dev/stdout) is
written to directly, never renamed over. Temporary names carry the writer's pid, so the ones a
killed process left behind can be cleaned up (`clean_stale`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_TEMP = re.compile(r"^\..+\.(\d+)\.[^.]+\.tmp")


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` on success.

    The caller writes the file at the yielded path (useful for libraries that
    insist on writing by file name, such as Keras). On any exception, including
    KeyboardInterrupt, the temporary file is removed and `target` is untouched.
    `suffix` lets the temporary name end the way a writer demands (".keras").
    """
    target = _through_links(Path(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=f".tmp{suffix}",
                                    dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; artifacts get the usual mode
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes(target: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `target` atomically (special files: directly)."""
    path = _through_links(Path(target))
    if _is_special(path):
        _write_special(path, data)
        return
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def _through_links(path: Path) -> Path:
    """The file a symbolic link points at (renaming over the link would replace the link)."""
    return path.resolve() if path.is_symlink() else path


def _is_special(path: Path) -> bool:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return False
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
    return not stat.S_ISREG(mode)


def _write_special(path: Path, data: bytes) -> None:
    """Write into a FIFO or device without blocking forever when nobody reads a FIFO."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OSError(errno.ENXIO, "no process is reading this FIFO", str(path)) from None
        raise
    try:
        os.set_blocking(fd, True)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def open_append(path: str | os.PathLike) -> IO[str]:
    """A text stream appending to `path` (a log of events); a FIFO must have a reader already."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o666)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OSError(errno.ENXIO, "no process is reading this FIFO", str(path)) from None
        raise
    os.set_blocking(fd, True)
    return open(fd, "a", encoding="utf-8", buffering=1)


def clean_stale(folder: str | os.PathLike) -> list[str]:
    """Remove temporary files that killed writers left in `folder`; return their names."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP.match(entry.name)
        if m and entry.is_file(follow_symlinks=False) and not _alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(entry.name)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_text(target: str | os.PathLike, text: str) -> None:
    """Write UTF-8 `text` to `target` atomically."""
    write_bytes(target, text.encode("utf-8"))


def write_json(target: str | os.PathLike, obj: object) -> None:
    """Write `obj` as indented JSON to `target` atomically."""
    write_text(target, json.dumps(obj, indent=2, sort_keys=False) + "\n")
