"""The enrolled people: an SQLite file (standard library) tied to one embedding model.

Tables: meta (model fingerprint, embedding length, threshold), people, embeddings (float32 blobs).
The file is created with mode 0600 (faces are personal data); enrolling a person is one
transaction, so a kill mid-enrolment leaves the gallery as it was; a gallery made with another
model is refused (embeddings of different models are not comparable).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from edgecnn.errors import EdgeCNNError, EdgeCNNUsageError
from edgecnn.face.metrics import l2_normalize

SCHEMA_VERSION = "1"
DEFAULT_THRESHOLD = 0.8  # untuned; `face evaluate` gives the threshold for a target FAR
_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, enrolled REAL NOT NULL);
CREATE TABLE embeddings (id INTEGER PRIMARY KEY, person INTEGER NOT NULL REFERENCES people(id)
    ON DELETE CASCADE, vector BLOB NOT NULL, source TEXT NOT NULL);
"""


class GalleryError(EdgeCNNError):
    """The gallery file is missing, corrupt or belongs to another model."""


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


class Gallery:
    """Open (or create) the gallery at `path` for the model with `fingerprint` and embedding `dim`
    (fingerprint None: any model, for listing and removing)."""

    def __init__(self, path: str | Path, fingerprint: str | None = None, dim: int = 0, create: bool = False,
                 model_path: str | Path | None = None) -> None:
        self.path = Path(path)
        if not self.path.exists():
            if not create or fingerprint is None:
                raise GalleryError(f"no gallery at {self.path}; enrol someone first (edgecnn face enroll)")
            self._create(fingerprint, dim, model_path)
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None)
            self.db.execute("PRAGMA foreign_keys = ON")
            self.meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise GalleryError(f"{self.path} is not a readable edgecnn gallery ({exc}); "
                               "remove it and enrol again") from None
        if "model_sha256" not in self.meta or "dim" not in self.meta:
            raise GalleryError(f"{self.path} is not an edgecnn gallery (no model fingerprint)")
        if fingerprint is not None and self.meta["model_sha256"] != fingerprint:
            theirs = self.meta.get("model_sha256", "?")[:12]
            raise GalleryError(f"{self.path} was made with another model (sha256 {theirs}..., this one is "
                               f"{fingerprint[:12]}...); use that model or a new --gallery")
        self.dim = int(self.meta["dim"])

    def _create(self, fingerprint: str, dim: int, model_path: str | Path | None) -> None:
        """Build the schema in a private temp file, then rename: never a half-made gallery."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        try:
            db = sqlite3.connect(tmp)
            db.executescript(_SCHEMA)
            db.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("schema", SCHEMA_VERSION), ("model_sha256", fingerprint), ("dim", str(dim)),
                ("threshold", str(DEFAULT_THRESHOLD)), ("threshold_source", "default"),
                ("model_path", str(Path(model_path).resolve()) if model_path else "")])
            db.commit()
            db.close()
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)

    @property
    def threshold(self) -> float:
        return float(self.meta.get("threshold", DEFAULT_THRESHOLD))

    @property
    def threshold_source(self) -> str:
        return self.meta.get("threshold_source", "default")

    def set_threshold(self, value: float, source: str) -> None:
        with self._tx():
            self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                [("threshold", repr(float(value))), ("threshold_source", source)])
        self.meta.update(threshold=repr(float(value)), threshold_source=source)

    def enroll(self, name: str, vectors: list[np.ndarray], sources: list[str], replace: bool = False) -> None:
        """Add `name` with its embeddings, all or nothing."""
        if not name.strip():
            raise EdgeCNNUsageError("--name must not be empty")
        if not vectors:
            raise EdgeCNNError(f"no face embeddings to enrol for {name!r}")
        with self._tx():
            row = self.db.execute("SELECT id FROM people WHERE name = ?", (name,)).fetchone()
            if row and not replace:
                raise EdgeCNNUsageError(f"{name!r} is already enrolled; pass --replace, or remove them first")
            if row:
                self.db.execute("DELETE FROM people WHERE id = ?", row)
            pid = self.db.execute("INSERT INTO people (name, enrolled) VALUES (?, ?)",
                                  (name, time.time())).lastrowid
            for vec, src in zip(vectors, sources, strict=True):
                vec = np.asarray(vec, dtype=np.float32).reshape(-1)
                if vec.size != self.dim:
                    raise GalleryError(f"embedding of length {vec.size} does not fit this gallery ({self.dim})")
                self.db.execute("INSERT INTO embeddings (person, vector, source) VALUES (?, ?, ?)",
                                (pid, vec.tobytes(), src))

    def remove(self, name: str) -> int:
        """Delete a person; returns how many embeddings went with them."""
        with self._tx():
            row = self.db.execute("SELECT id FROM people WHERE name = ?", (name,)).fetchone()
            if row is None:
                known = ", ".join(self.names()) or "nobody"
                raise EdgeCNNUsageError(f"{name!r} is not enrolled (enrolled: {known})")
            n = self.db.execute("SELECT COUNT(*) FROM embeddings WHERE person = ?", row).fetchone()[0]
            self.db.execute("DELETE FROM people WHERE id = ?", row)
        return int(n)

    def names(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT name FROM people ORDER BY name")]

    def people(self) -> list[dict]:
        rows = self.db.execute("SELECT p.name, p.enrolled, COUNT(e.id) FROM people p "
                               "LEFT JOIN embeddings e ON e.person = p.id GROUP BY p.id ORDER BY p.name")
        return [{"name": n, "enrolled": t, "embeddings": int(c)} for n, t, c in rows]

    def templates(self) -> tuple[list[str], np.ndarray]:
        """Names and their unit-length mean embeddings (the same templates `face evaluate` scores)."""
        vecs: dict[str, list[np.ndarray]] = {}
        for name, blob in self.db.execute("SELECT p.name, e.vector FROM embeddings e "
                                          "JOIN people p ON p.id = e.person ORDER BY p.name, e.id"):
            vecs.setdefault(name, []).append(np.frombuffer(blob, dtype=np.float32))
        names = list(vecs)
        if not names:
            return [], np.zeros((0, self.dim), np.float32)
        means = np.stack([l2_normalize(np.stack(v)).mean(axis=0) for v in vecs.values()])
        return names, l2_normalize(means).astype(np.float32)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Gallery":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _tx(self) -> "_Transaction":
        return _Transaction(self.db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception (including KeyboardInterrupt)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if kind else "COMMIT")


def best_match(names: list[str], templates: np.ndarray, embedding: np.ndarray, threshold: float) -> Match:
    """The enrolled person whose template is closest to `embedding` (cosine)."""
    if not names:
        return Match(None, -1.0, False)
    scores = templates @ l2_normalize(embedding).astype(np.float32)
    i = int(np.argmax(scores))
    return Match(names[i], float(scores[i]), bool(scores[i] >= threshold))
