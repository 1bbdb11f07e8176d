"""Hostile input and faults around the face gallery (issue: hostile input, defects 1, 6, 8, 11).

The embedder here is Coral's MobileNet (its 1001 scores act as an embedding) on --no-detect images:
no TensorFlow, so these run in the device environments too.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import assert_one_clear_error, error_lines, shared

ROUNDS = 20


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("gallery-kit")
    photos = tmp / "photos"
    photos.mkdir()
    for i in range(2):
        shutil.copy(shared("coral", "cat.bmp"), photos / f"{i}.bmp")
    return {"model": shared("coral", "mobilenet_v1_0.25_128_quant.tflite"), "photos": photos, "tmp": tmp}


def _enroll_cmd(kit: dict, gallery: Path, name: str, detect: bool = False) -> list[str]:
    cmd = [sys.executable, "-m", "edgecnn", "face", "enroll", "--name", name, "--images", str(kit["photos"]),
           "--model", str(kit["model"]), "--gallery", str(gallery)]
    return cmd + ([] if detect else ["--no-detect"])


def _names(gallery: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(gallery)) as db:
        return {r[0] for r in db.execute("SELECT name FROM people")}


def _together(*cmds: list[str]) -> list[subprocess.CompletedProcess]:
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in cmds]
    out = []
    for p, c in zip(procs, cmds, strict=True):
        stdout, stderr = p.communicate(timeout=120)
        out.append(subprocess.CompletedProcess(c, p.returncode, stdout, stderr))
    return out


def test_defect01_two_first_enrolments_both_land(kit: dict, report_metric) -> None:
    """Two enrolments into a gallery that does not exist yet: every one that says 'enrolled' is in it."""
    busy = 0
    for n in range(ROUNDS):
        gallery = kit["tmp"] / f"race{n}" / "faces.sqlite"
        results = _together(_enroll_cmd(kit, gallery, f"ann{n}"), _enroll_cmd(kit, gallery, f"bob{n}"))
        present = _names(gallery)
        for who, r in zip((f"ann{n}", f"bob{n}"), results, strict=True):
            assert "Traceback" not in r.stderr, r.stderr
            if r.returncode == 0:
                assert "enrolled" in r.stdout and who in present, (n, who, present)
            else:  # the only acceptable failure: one clear "busy" line
                assert r.returncode == 1 and len(error_lines(r.stderr)) == 1 and "busy" in r.stderr, r.stderr
                busy += 1
    report_metric(f"gallery race: {ROUNDS} rounds of two first enrolments, every reported enrolment present, "
                  f"{busy} 'busy' refusals")


def test_defect01_failing_first_enrolment_never_deletes_another(kit: dict) -> None:
    """A first enrolment that fails (no face in a cat photo) beside one that succeeds."""
    for n in range(ROUNDS):
        gallery = kit["tmp"] / f"fail{n}" / "faces.sqlite"
        bad, good = _together(_enroll_cmd(kit, gallery, f"nobody{n}", detect=True),
                              _enroll_cmd(kit, gallery, f"ann{n}"))
        assert good.returncode == 0, good.stderr
        assert bad.returncode == 1 and len(error_lines(bad.stderr)) == 1 and "no face" in bad.stderr, bad.stderr
        assert _names(gallery) == {f"ann{n}"}


def test_defect01_sigkilled_first_enrolment_leaves_no_gallery(kit: dict, tmp_path: Path, run_cli) -> None:
    gallery = tmp_path / "faces.sqlite"
    child = textwrap.dedent(f"""
        import os, signal, numpy as np
        from edgecnn.face.gallery import Gallery
        class Dying(list):
            def __iter__(self):
                for i, v in enumerate(list.__iter__(self)):
                    if i == 2:
                        os.kill(os.getpid(), signal.SIGKILL)
                    yield v
        Gallery.create({str(gallery)!r}, "a" * 64, 8, None, "ann", Dying(np.ones(8, np.float32) for _ in range(4)),
                       ["s"] * 4)
    """)
    assert subprocess.run([sys.executable, "-c", child], capture_output=True, timeout=60).returncode == -9
    assert not gallery.exists() and len(list(tmp_path.glob(".faces.sqlite.*.tmp"))) == 1
    r = run_cli(*_enroll_cmd(kit, gallery, "bob")[3:])
    assert r.code == 0, r.err
    assert _names(gallery) == {"bob"} and not list(tmp_path.glob(".faces.sqlite.*.tmp"))  # stale file cleaned


def _damage(db: sqlite3.Connection, how: str) -> None:
    statements = {
        "text dim": "UPDATE meta SET value = 'abc' WHERE key = 'dim'",
        "text threshold": "UPDATE meta SET value = 'abc' WHERE key = 'threshold'",
        "nan threshold": "UPDATE meta SET value = 'nan' WHERE key = 'threshold'",
        "threshold 5": "UPDATE meta SET value = '5' WHERE key = 'threshold'",
        "schema 2": "UPDATE meta SET value = '2' WHERE key = 'schema'",
        "no fingerprint": "DELETE FROM meta WHERE key = 'model_sha256'",
        "no embeddings table": "DROP TABLE embeddings",
        "no meta table": "DROP TABLE meta",
        "short vector": "UPDATE embeddings SET vector = x'00'",
        "text vector": "UPDATE embeddings SET vector = 'abc'",
        "nan vector": "UPDATE embeddings SET vector = zeroblob(4004)",
        "null name": ("ALTER TABLE people RENAME TO p2; CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, "
                      "enrolled REAL); INSERT INTO people SELECT id, NULL, enrolled FROM p2; DROP TABLE p2"),
    }
    db.executescript(statements[how])
    if how == "nan vector":
        db.execute("UPDATE embeddings SET vector = ?", (b"\x00\x00\xc0\x7f" * 1001,))
    db.commit()


DAMAGE = ["text dim", "text threshold", "nan threshold", "threshold 5", "schema 2", "no fingerprint",
          "no embeddings table", "no meta table", "short vector", "text vector", "nan vector", "null name",
          "truncated", "random bytes", "empty file"]


@pytest.mark.parametrize("how", DAMAGE)
def test_defect06_damaged_gallery_is_one_line_and_stays_as_it_was(kit: dict, tmp_path: Path, run_cli,
                                                                  how: str) -> None:
    gallery = tmp_path / "g.sqlite"
    assert run_cli(*_enroll_cmd(kit, gallery, "ann")[3:]).code == 0
    if how == "truncated":
        gallery.write_bytes(gallery.read_bytes()[: gallery.stat().st_size // 2])
    elif how == "random bytes":
        gallery.write_bytes(bytes(range(256)) * 40)
    elif how == "empty file":
        gallery.write_bytes(b"")
    else:
        with contextlib.closing(sqlite3.connect(gallery)) as db:
            _damage(db, how)
    before = gallery.read_bytes()
    image = kit["photos"] / "0.bmp"
    row_damage = how in ("nan vector", "short vector", "text vector")  # the file is sound, one row is not
    commands = [("verify", image, "--no-detect"), ("list",)]
    if not row_damage:  # a damaged row may still be listed and removed (that is how to repair it)
        commands += [("remove", "ann"), ("enroll", "--name", "carl", "--images", kit["photos"], "--no-detect",
                                         "--model", kit["model"])]
    for args in commands:
        r = run_cli("face", *args, "--gallery", gallery)
        assert "Traceback" not in r.err, (how, args, r.err)
        if row_damage and args[0] == "list":
            assert r.code == 0, r.err
            continue
        assert r.code in (1, 2) and len(error_lines(r.err)) == 1, (how, args, r.code, r.out, r.err)
    assert gallery.read_bytes() == before, how


@contextlib.contextmanager
def _tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "edgecnn-test", str(where)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root): the read-only / disk-full cases need one")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_defect06_read_only_file_system(kit: dict, tmp_path: Path, run_cli) -> None:
    with _tmpfs(tmp_path / "card", "4m") as card:
        gallery = card / "faces.sqlite"
        assert run_cli(*_enroll_cmd(kit, gallery, "ann")[3:]).code == 0
        before = gallery.read_bytes()
        assert subprocess.run(["mount", "-o", "remount,ro", str(card)]).returncode == 0
        for args in (("enroll", "--name", "bob", "--images", kit["photos"], "--no-detect"), ("remove", "ann")):
            r = run_cli("face", *args, "--gallery", gallery)
            assert_one_clear_error(r, 1, "read-only")
        r = run_cli("face", "verify", kit["photos"] / "0.bmp", "--no-detect", "--gallery", gallery)
        assert r.code == 0 and "match: ann" in r.out, r.err  # reading still works
        assert gallery.read_bytes() == before


def test_defect06_disk_full(kit: dict, tmp_path: Path, run_cli) -> None:
    with _tmpfs(tmp_path / "card", "256k") as card:
        gallery = card / "faces.sqlite"
        assert run_cli(*_enroll_cmd(kit, gallery, "ann")[3:]).code == 0
        before = gallery.read_bytes()
        filler = card / "filler"
        with contextlib.suppress(OSError), open(filler, "wb", buffering=0) as fh:
            while True:
                fh.write(b"\0" * 4096)
        many = tmp_path / "many"
        many.mkdir()
        for i in range(40):
            shutil.copy(kit["photos"] / "0.bmp", many / f"{i}.bmp")
        r = run_cli("face", "enroll", "--name", "bob", "--images", many, "--no-detect", "--gallery", gallery)
        assert_one_clear_error(r, 1, "disk is full")
        assert gallery.read_bytes() == before and _names(gallery) == {"ann"}


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1.5"])
def test_defect08_threshold_must_be_a_finite_cosine(kit: dict, tmp_path: Path, run_cli, value: str) -> None:
    gallery = tmp_path / "g.sqlite"
    r = run_cli(*_enroll_cmd(kit, gallery, "ann")[3:], "--set-threshold", value)
    assert_one_clear_error(r, 2, "threshold")
    assert not gallery.exists()


@pytest.mark.parametrize("name", ["evil\x1b[2J", "two\nlines", "nul\x00", "rtl\u202eevil", "x" * 101, "  "])
def test_defect11_names_with_control_characters_are_refused(kit: dict, tmp_path: Path, run_cli,
                                                           name: str) -> None:
    gallery = tmp_path / "g.sqlite"
    assert_one_clear_error(run_cli(*_enroll_cmd(kit, gallery, name)[3:]), 2, "--name")
    assert not gallery.exists()


def test_defect11_face_list_escapes_what_a_hand_edited_gallery_holds(kit: dict, tmp_path: Path, run_cli) -> None:
    gallery = tmp_path / "g.sqlite"
    assert run_cli(*_enroll_cmd(kit, gallery, "ann")[3:]).code == 0
    with contextlib.closing(sqlite3.connect(gallery)) as db:
        db.execute("UPDATE people SET name = ?", ("ann\n  mallory             3 embeddings\x1b[31m",))
        db.commit()
    r = run_cli("face", "list", "--gallery", gallery)
    assert r.code == 0 and "\x1b" not in r.out and len(r.out.strip().splitlines()) == 2, r.out


def test_defect09_ctrl_c_after_the_commit_says_what_happened(kit: dict, tmp_path: Path, run_cli,
                                                            monkeypatch) -> None:
    from edgecnn.cli import face_device

    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(face_device, "_notes", interrupt)  # Ctrl-C right after the enrolment committed
    gallery = tmp_path / "g.sqlite"
    r = run_cli(*_enroll_cmd(kit, gallery, "ann")[3:])
    assert_one_clear_error(r, 130, "interrupted after", "ann", "written")
    assert _names(gallery) == {"ann"}
    r = run_cli(*_enroll_cmd(kit, gallery, "bob")[3:])
    assert_one_clear_error(r, 130, "interrupted after", "committed (bob enrolled)")
    assert _names(gallery) == {"ann", "bob"}
