"""The enrolled people: an SQLite file (standard library) tied to one embedding model.

Tables: meta (model fingerprint, embedding length, threshold), people, embeddings (float32 blobs).
The file is created with mode 0600 (faces are personal data), already holding its first person:
it is built under a private temporary name and hard-linked into place, which fails if another
process created the gallery first (then the person is enrolled into that one). So a gallery never
exists half-made or empty because an enrolment failed or was killed, and a concurrent first
enrolment never replaces another's. Every change is one transaction (a busy gallery is waited for);
a gallery made with another model is refused; every SQLite failure (read-only card, full disk,
damaged file) is one GalleryError that leaves the file as it was.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import math
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from edgecnn import atomic, log
from edgecnn.errors import EdgeCNNError, EdgeCNNUsageError, check_regular
from edgecnn.face.metrics import l2_normalize
from edgecnn.text import has_control

SCHEMA_VERSION = "1"
DEFAULT_THRESHOLD = 0.8  # untuned; `face evaluate` gives the threshold for a target FAR
BUSY_SECONDS = 15.0
MAX_NAME = 100
_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, enrolled REAL NOT NULL);
CREATE TABLE embeddings (id INTEGER PRIMARY KEY, person INTEGER NOT NULL REFERENCES people(id)
    ON DELETE CASCADE, vector BLOB NOT NULL, source TEXT NOT NULL);
"""


class GalleryError(EdgeCNNError):
    """The gallery file is missing, busy, damaged, read-only, or belongs to another model."""


class Match(NamedTuple):
    name: str | None  # best enrolled person (None: empty gallery)
    score: float      # cosine similarity to that person's template
    accepted: bool    # score >= threshold


def model_fingerprint(path: str | Path) -> str:
    """sha256 of the model file: the gallery's key to "same model"."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_name(name: str) -> str:
    """A person's name as stored: not empty, no control characters, at most MAX_NAME characters."""
    if not name.strip():
        raise EdgeCNNUsageError("--name must not be empty")
    if has_control(name) or len(name) > MAX_NAME:
        raise EdgeCNNUsageError(f"--name must be at most {MAX_NAME} characters without control characters "
                                "(escape sequences, newlines)")
    return name


def check_threshold(value: float) -> float:
    if not (math.isfinite(value) and -1.0 <= value <= 1.0):
        raise EdgeCNNUsageError(f"the threshold must be a cosine between -1 and 1, got {value!r}")
    return float(value)


class Gallery:
    """An existing gallery at `path`, for the model with `fingerprint` and embedding length `dim`
    (fingerprint None: any model, for listing and removing)."""

    def __init__(self, path: str | Path, fingerprint: str | None = None, dim: int = 0) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise GalleryError(f"no gallery at {self.path}; enrol someone first (edgecnn face enroll)")
        check_regular(self.path, "gallery", GalleryError)
        with self._errors("read"):
            self.db = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, timeout=BUSY_SECONDS,
                                      isolation_level=None)
        try:
            with self._errors("read"):
                self.db.execute("PRAGMA foreign_keys = ON")
                self.meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
                tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            self.dim = self._check_meta(tables)
        except BaseException:
            self.db.close()
            raise
        if fingerprint is not None and self.meta["model_sha256"] != fingerprint:
            self.db.close()
            raise GalleryError(f"{self.path} was made with another model (sha256 {self.meta['model_sha256'][:12]}..., "
                               f"this one is {fingerprint[:12]}...); use that model or a new --gallery")

    def _check_meta(self, tables: set[str]) -> int:
        damaged = f"{self.path} is not a usable edgecnn gallery"
        if not {"meta", "people", "embeddings"} <= tables:
            raise GalleryError(f"{damaged} (tables missing); remove it and enrol again")
        if self.meta.get("schema") != SCHEMA_VERSION:
            raise GalleryError(f"{damaged}: schema version {self.meta.get('schema')!r}, this edgecnn reads "
                               f"{SCHEMA_VERSION!r}")
        sha = self.meta.get("model_sha256")
        if not isinstance(sha, str) or len(sha) != 64:
            raise GalleryError(f"{damaged} (no model fingerprint)")
        try:
            dim = int(self.meta["dim"])
            check_threshold(float(self.meta.get("threshold", DEFAULT_THRESHOLD)))
        except (KeyError, TypeError, ValueError, EdgeCNNUsageError):
            raise GalleryError(f"{damaged}: its embedding length or threshold is damaged") from None
        if not 1 <= dim <= 65536:
            raise GalleryError(f"{damaged}: embedding length {dim}")
        return dim

    @classmethod
    def create(cls, path: str | Path, fingerprint: str, dim: int, model_path: str | Path | None,
               name: str, vectors: list[np.ndarray], sources: list[str]) -> tuple[Gallery, bool]:
        """Enrol `name` into a new gallery at `path`, or into the one another process created first.
        Returns the open gallery and whether this call created it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.clean_stale(path.parent)  # private files of enrolments that were killed
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            with cls._errors_for(tmp, "create"):
                db = sqlite3.connect(tmp, isolation_level=None)
                try:
                    db.executescript(_SCHEMA)
                    db.executemany("INSERT INTO meta VALUES (?, ?)", [
                        ("schema", SCHEMA_VERSION), ("model_sha256", fingerprint), ("dim", str(dim)),
                        ("threshold", str(DEFAULT_THRESHOLD)), ("threshold_source", "default"),
                        ("model_path", str(Path(model_path).resolve()) if model_path else "")])
                    db.execute("BEGIN")
                    _insert(db, name, vectors, sources, dim)
                    db.execute("COMMIT")
                finally:
                    db.close()
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            created = _link_into_place(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        gallery = cls(path, fingerprint, dim)
        if created:
            log.completed(f"the new gallery {path} was written with {name}")
        else:
            gallery.enroll(name, vectors, sources)
        return gallery, created

    @property
    def threshold(self) -> float:
        return float(self.meta.get("threshold", DEFAULT_THRESHOLD))

    @property
    def threshold_source(self) -> str:
        return self.meta.get("threshold_source", "default")

    def set_threshold(self, value: float, source: str) -> None:
        value = check_threshold(value)
        with self._tx("change"):
            self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                [("threshold", repr(value)), ("threshold_source", source)])
        self.meta.update(threshold=repr(value), threshold_source=source)
        log.completed(f"the gallery's threshold was set to {value:g}")

    def enroll(self, name: str, vectors: list[np.ndarray], sources: list[str], replace: bool = False) -> None:
        """Add `name` with its embeddings, all or nothing."""
        check_name(name)
        if not vectors:
            raise EdgeCNNError(f"no face embeddings to enrol for {name!r}")
        with self._tx("change"):
            row = self.db.execute("SELECT id FROM people WHERE name = ?", (name,)).fetchone()
            if row and not replace:
                raise EdgeCNNUsageError(f"{name!r} is already enrolled; pass --replace, or remove them first")
            if row:
                self.db.execute("DELETE FROM people WHERE id = ?", row)
            _insert(self.db, name, vectors, sources, self.dim)
        log.completed(f"the gallery change was committed ({name} enrolled)")

    def remove(self, name: str) -> int:
        """Delete a person; returns how many embeddings went with them."""
        with self._tx("change"):
            row = self.db.execute("SELECT id FROM people WHERE name = ?", (name,)).fetchone()
            if row is None:
                known = ", ".join(self.names()) or "nobody"
                raise EdgeCNNUsageError(f"{name!r} is not enrolled (enrolled: {known})")
            n = self.db.execute("SELECT COUNT(*) FROM embeddings WHERE person = ?", row).fetchone()[0]
            self.db.execute("DELETE FROM people WHERE id = ?", row)
        log.completed(f"the gallery change was committed ({name} removed)")
        return int(n)

    def names(self) -> list[str]:
        with self._errors("read"):
            names = [r[0] for r in self.db.execute("SELECT name FROM people ORDER BY name")]
        if not all(isinstance(n, str) for n in names):
            raise GalleryError(f"{self.path} is damaged (a person without a name); remove it and enrol again")
        return names

    def people(self) -> list[dict]:
        with self._errors("read"):
            rows = self.db.execute("SELECT p.name, p.enrolled, COUNT(e.id) FROM people p "
                                   "LEFT JOIN embeddings e ON e.person = p.id GROUP BY p.id ORDER BY p.name").fetchall()
        if not all(isinstance(n, str) for n, _, _ in rows):
            raise GalleryError(f"{self.path} is damaged (a person without a name); remove it and enrol again")
        return [{"name": n, "enrolled": t, "embeddings": int(c)} for n, t, c in rows]

    def templates(self) -> tuple[list[str], np.ndarray]:
        """Names and their unit-length mean embeddings (the same templates `face evaluate` scores)."""
        vecs: dict[str, list[np.ndarray]] = {}
        with self._errors("read"):
            rows = self.db.execute("SELECT p.name, e.vector FROM embeddings e "
                                   "JOIN people p ON p.id = e.person ORDER BY p.name, e.id").fetchall()
        for name, blob in rows:
            if not isinstance(name, str) or not isinstance(blob, bytes) or len(blob) != 4 * self.dim:
                raise GalleryError(f"{self.path} is damaged (an embedding that is not {self.dim} float32 "
                                   "values, or a person without a name); remove it and enrol again")
            vector = np.frombuffer(blob, dtype=np.float32)
            if not np.isfinite(vector).all():
                raise GalleryError(f"{self.path} is damaged (an embedding holds NaN or infinity)")
            vecs.setdefault(name, []).append(vector)
        names = list(vecs)
        if not names:
            return [], np.zeros((0, self.dim), np.float32)
        means = np.stack([l2_normalize(np.stack(v)).mean(axis=0) for v in vecs.values()])
        return names, l2_normalize(means).astype(np.float32)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _tx(self, doing: str) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT; ROLLBACK on any exception (Ctrl-C included); SQLite errors
        become one GalleryError and leave the gallery as it was."""
        with self._errors(doing):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self.db.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self.db.execute("ROLLBACK")
                raise

    def _errors(self, doing: str) -> contextlib.AbstractContextManager[None]:
        return self._errors_for(self.path, doing)

    @staticmethod
    @contextlib.contextmanager
    def _errors_for(path: Path, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise GalleryError(_explain(exc, path, doing)) from None
        except OSError as exc:
            raise GalleryError(f"cannot {doing} the gallery {path}: {exc.strerror}") from None


def _explain(exc: sqlite3.Error, path: Path, doing: str) -> str:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return f"the gallery {path} is busy (another edgecnn is changing it); try again"
    if "readonly" in text or "read-only" in text:
        return f"cannot {doing} the gallery {path}: it is read-only (a file system mounted read-only?); nothing changed"
    if "full" in text:
        return f"cannot {doing} the gallery {path}: the disk is full; nothing changed"
    if "unable to open" in text:
        return f"cannot open the gallery {path}: {exc}"
    return f"{path} is not a usable edgecnn gallery ({exc}); remove it and enrol again"


def _insert(db: sqlite3.Connection, name: str, vectors: list[np.ndarray], sources: list[str], dim: int) -> None:
    pid = db.execute("INSERT INTO people (name, enrolled) VALUES (?, ?)", (name, time.time())).lastrowid
    for vec, src in zip(vectors, sources, strict=True):
        vec = np.asarray(vec, dtype=np.float32).reshape(-1)
        if vec.size != dim:
            raise GalleryError(f"embedding of length {vec.size} does not fit this gallery ({dim})")
        db.execute("INSERT INTO embeddings (person, vector, source) VALUES (?, ?, ?)", (pid, vec.tobytes(), src))


def _link_into_place(tmp: Path, path: Path) -> bool:
    """Put the finished file at `path` unless one is there already; True when this call did."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
        if path.exists():  # no hard links here (FAT): a rename, checked first
            return False
        os.replace(tmp, path)
    atomic.fsync_dir(path.parent)
    return True


def best_match(names: list[str], templates: np.ndarray, embedding: np.ndarray, threshold: float) -> Match:
    """The enrolled person whose template is closest to `embedding` (cosine)."""
    if not names:
        return Match(None, -1.0, False)
    scores = templates @ l2_normalize(embedding).astype(np.float32)
    i = int(np.argmax(scores))
    return Match(names[i], float(scores[i]), bool(scores[i] >= threshold))
