"""The SQLite gallery: private file, all-or-nothing enrolment (even under SIGKILL), model binding."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from edgecnn.errors import EdgeCNNError
from edgecnn.face.gallery import Gallery, GalleryError, best_match

DIM = 8


def _vec(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=DIM).astype(np.float32)


def _new(path: Path, name: str = "ann", vectors: list | None = None) -> Gallery:
    vectors = vectors or [_vec(1)]
    return Gallery.create(path, "a" * 64, DIM, None, name, vectors, ["x"] * len(vectors))[0]


def test_created_private_and_matches_the_closest_template(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "faces.sqlite"
    g = _new(path, "ann", [_vec(1), _vec(1) + 0.05])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    g.enroll("bob", [_vec(2)], ["z"])
    names, templates = g.templates()
    assert names == ["ann", "bob"] and np.allclose(np.linalg.norm(templates, axis=1), 1)
    m = best_match(names, templates, _vec(2) + 0.01, threshold=0.9)
    assert m.name == "bob" and m.accepted and m.score > 0.99
    assert not best_match(names, templates, _vec(3), threshold=0.99).accepted
    assert [p["embeddings"] for p in g.people()] == [2, 1]
    assert g.remove("ann") == 2 and g.names() == ["bob"]
    with pytest.raises(EdgeCNNError, match="'carl' is not enrolled"):
        g.remove("carl")


def test_a_failed_enrolment_changes_nothing(tmp_path: Path) -> None:
    g = _new(tmp_path / "g.sqlite")
    with pytest.raises(GalleryError, match="does not fit"):
        g.enroll("ann", [_vec(4), np.zeros(DIM + 1, np.float32)], ["p", "q"], replace=True)
    assert g.people() == [{"name": "ann", "enrolled": g.people()[0]["enrolled"], "embeddings": 1}]
    with pytest.raises(EdgeCNNError, match="already enrolled"):
        g.enroll("ann", [_vec(5)], ["r"])


def test_sigkill_mid_enrolment_leaves_the_gallery_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite"
    _new(path).close()
    child = textwrap.dedent(f"""
        import os, signal, numpy as np
        from edgecnn.face.gallery import Gallery
        class Dying(list):
            def __iter__(self):
                for i, v in enumerate(list.__iter__(self)):
                    if i == 3:
                        os.kill(os.getpid(), signal.SIGKILL)  # the power goes mid-transaction
                    yield v
        g = Gallery({str(path)!r}, "a" * 64, {DIM})
        g.enroll("bob", Dying(np.ones(({DIM},), np.float32) for _ in range(6)), ["s"] * 6)
    """)
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    g = Gallery(path, "a" * 64, DIM)
    assert g.names() == ["ann"] and len(g.templates()[0]) == 1


def test_another_model_or_a_corrupt_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite"
    _new(path).close()
    with pytest.raises(GalleryError, match="made with another model"):
        Gallery(path, "b" * 64, DIM)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(os.urandom(4096))
    with pytest.raises(GalleryError, match="not a usable edgecnn gallery"):
        Gallery(junk, "a" * 64, DIM)
    with pytest.raises(GalleryError, match="no gallery at"):
        Gallery(tmp_path / "none.sqlite", "a" * 64, DIM)
