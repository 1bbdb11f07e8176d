"""Run the hostile-input cases against an edgecnn and tabulate how each ended.

    python tests/tools/hostile_probe.py [--python PY] [--pythonpath DIR] [--data ../shared/data]

Every case runs `edgecnn ...` in a fresh process with a timeout and is classified as: handled (a
correct result, or exactly one `error:` line with a non-zero exit), traceback, crash (killed by a
signal), hang (timeout), data lost (a reported enrolment missing, a gallery deleted) or wrong
(silently accepted, injected, or written outside its folder). Point --python/--pythonpath at an
older checkout to compare before and after. Needs TensorFlow (cases build models) and, for the web
cases, Debian's chromium.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from conftest import png_bomb  # noqa: E402

KINDS = ("handled", "traceback", "crash", "hang", "data lost", "wrong")


class Probe:
    def __init__(self, python: str, pythonpath: str | None, data: Path, work: Path) -> None:
        self.python, self.data, self.work = python, data, work
        self.env = {**os.environ, "PYTHONPATH": pythonpath or ""}
        self.results: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.model = data / "coral" / "mobilenet_v1_0.25_128_quant.tflite"

    def run(self, *args: object, timeout: float = 60) -> subprocess.CompletedProcess | None:
        try:
            return subprocess.run([self.python, "-m", "edgecnn", *map(str, args)], capture_output=True, text=True,
                                  timeout=timeout, env=self.env, cwd=self.work)
        except subprocess.TimeoutExpired:
            return None

    def popen(self, *args: object) -> subprocess.Popen:
        return subprocess.Popen([self.python, "-m", "edgecnn", *map(str, args)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env, cwd=self.work)

    def verdict(self, r: subprocess.CompletedProcess | None, ok: Callable[[subprocess.CompletedProcess], bool]
                = lambda r: True, success_is_wrong: bool = False) -> str:
        if r is None:
            return "hang"
        if r.returncode < 0 or r.returncode >= 128 and r.returncode != 130:
            return "crash"
        if "Traceback" in r.stderr:
            return "traceback"
        errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
        if r.returncode == 0:
            return "wrong" if success_is_wrong or not ok(r) else "handled"
        return "handled" if len(errors) == 1 else "wrong"

    def record(self, family: str, kind: str) -> None:
        self.results[family][kind] += 1

    def tmp(self) -> Path:
        return Path(tempfile.mkdtemp(dir=self.work))


def names_in(gallery: Path) -> set[str]:
    try:
        db = sqlite3.connect(gallery)
        try:
            return {r[0] for r in db.execute("SELECT name FROM people")}
        finally:
            db.close()
    except sqlite3.Error:
        return set()


def gallery_race(p: Probe, rounds: int = 20) -> None:
    photos = p.tmp()
    for i in range(2):
        shutil.copy(p.data / "coral" / "cat.bmp", photos / f"{i}.bmp")
    enrol = ["face", "enroll", "--images", photos, "--model", p.model]
    for _ in range(rounds):
        for family, detect_first in (("1 gallery: two first enrolments", False),
                                     ("1 gallery: failing + good first enrolment", True)):
            g = p.tmp() / "faces.sqlite"
            a = p.popen(*enrol, "--name", "a", "--gallery", g, *([] if detect_first else ["--no-detect"]))
            b = p.popen(*enrol, "--name", "b", "--gallery", g, "--no-detect")
            results = []
            for proc in (a, b):
                out, err = proc.communicate(timeout=120)
                results.append(subprocess.CompletedProcess([], proc.returncode, out, err))
            present = names_in(g)
            lost = any(r.returncode == 0 and who not in present for who, r in zip("ab", results, strict=True))
            kinds = [p.verdict(r) for r in results]
            p.record(family, "data lost" if lost else next((k for k in kinds if k != "handled"), "handled"))


def damaged_galleries(p: Probe) -> None:
    photos = p.tmp()
    shutil.copy(p.data / "coral" / "cat.bmp", photos / "0.bmp")
    damage = {
        "text dim": "UPDATE meta SET value = 'abc' WHERE key = 'dim'",
        "text threshold": "UPDATE meta SET value = 'abc' WHERE key = 'threshold'",
        "schema 2": "UPDATE meta SET value = '2' WHERE key = 'schema'",
        "no embeddings table": "DROP TABLE embeddings", "no meta table": "DROP TABLE meta",
        "short vector": "UPDATE embeddings SET vector = x'00'", "text vector": "UPDATE embeddings SET vector = 'abc'",
        "null name": ("ALTER TABLE people RENAME TO p2; CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, "
                      "enrolled REAL); INSERT INTO people SELECT id, NULL, enrolled FROM p2; DROP TABLE p2"),
        "truncated": None, "random bytes": None, "empty file": None, "a folder": None,
    }
    for how, sql in damage.items():
        for command in (("list",), ("verify", photos / "0.bmp", "--no-detect"), ("remove", "ann")):
            g = p.tmp() / "g.sqlite"
            p.run("face", "enroll", "--name", "ann", "--images", photos, "--model", p.model, "--gallery", g,
                  "--no-detect")
            if sql:
                db = sqlite3.connect(g)
                db.executescript(sql)
                db.commit()
                db.close()
            elif how == "truncated":
                g.write_bytes(g.read_bytes()[: g.stat().st_size // 2])
            elif how == "random bytes":
                g.write_bytes(bytes(range(256)) * 40)
            elif how == "empty file":
                g.write_bytes(b"")
            else:
                g.unlink()
                g.mkdir()
            r = p.run("face", *command, "--gallery", g)
            fine = how in ("short vector", "text vector") and command[0] in ("list", "remove")
            p.record("6 gallery: damaged files", p.verdict(r, success_is_wrong=not fine))


def web_cases(p: Probe) -> None:
    labels = p.tmp() / "labels.txt"
    labels.write_text("\n".join(["<img src=x onerror=\"document.title='pwned'\">"] * 1001))
    video = p.tmp() / "v.avi"
    import cv2

    image = cv2.imread(str(p.data / "coral" / "cat.bmp"))
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (image.shape[1], image.shape[0]))
    for _ in range(150):
        w.write(image)
    w.release()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = p.popen("detect", p.model, "--source", video, "--realtime", "--threshold", "0", "--labels", labels,
                   "--serve", f"127.0.0.1:{port}", "--events", p.tmp() / "e.jsonl", "--duration", "60")
    try:
        for _ in range(100):
            try:
                if b"onerror" in urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2).read():
                    break
            except OSError:
                pass
            time.sleep(0.3)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/status", headers={"Host": "rebind.evil.example"})
        try:
            served = urllib.request.urlopen(req, timeout=5).status == 200
        except OSError:
            served = False
        p.record("4 web view: foreign Host header", "wrong" if served else "handled")
        browser = shutil.which("chromium")
        if browser:
            flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                     f"--user-data-dir={p.tmp()}", "--virtual-time-budget=3000", "--dump-dom"]
            dom = subprocess.run([browser, *flags, f"http://127.0.0.1:{port}/"], capture_output=True, text=True,
                                 timeout=90).stdout
            p.record("2 web view: hostile label (XSS)", "wrong" if "<img src=" in dom else "handled")
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def snapshot_names(p: Probe) -> None:
    for label in ("../../../escaped", "cat/dog", "nul\x00byte", "x" * 100_000):
        root = p.tmp()
        (root / "labels.txt").write_text("\n".join([label] * 1001))
        snaps = root / "a" / "snaps"
        r = p.run("detect", p.model, "--source", p.data / "coral", "--threshold", "0", "--labels",
                  root / "labels.txt", "--snapshots", snaps, "--events", root / "e.jsonl")
        stray = [q for q in root.rglob("*") if q.is_file() and snaps not in q.parents
                 and q.name not in ("labels.txt", "e.jsonl")]
        nested = [q for q in snaps.rglob("*") if q.is_dir()] if snaps.exists() else []
        p.record("3 snapshot file names", "wrong" if stray or nested else p.verdict(r))


def files_and_numbers(p: Probe) -> None:
    root = p.tmp()
    cat = p.data / "coral" / "cat.bmp"
    bomb = root / "bomb.png"
    bomb.write_bytes(png_bomb(60000, 60000))
    p.record("7 image bombs", p.verdict(p.run("classify", p.model, bomb), success_is_wrong=True))
    folder = root / "frames"
    folder.mkdir()
    shutil.copy(cat, folder / "a.bmp")
    shutil.copy(bomb, folder / "b.png")
    r = p.run("detect", p.model, "--source", folder, "--events", root / "e.jsonl", "--summary", root / "s.json")
    p.record("7 image bombs", p.verdict(r, ok=lambda r: '"frames": 1' in (root / "s.json").read_text()))
    for args in (("--std", "nan"), ("--mean", "inf"), ("--threads", "100000"), ("--threads", "0")):
        p.record("8 numbers: NaN, inf, out of range", p.verdict(p.run("classify", p.model, cat, *args),
                                                                 success_is_wrong=True))
    for args in (("train", "digits", "--lr", "nan", "--epochs", "1"), ("train", "digits", "--seed", "-1"),
                 ("quantize", root, "--max-drop", "nan"), ("quantize", root, "--max-drop", "-1")):
        r = p.run(*args, "--out" if args[0] == "train" else "--data", root / "r", timeout=300)
        p.record("8 numbers: NaN, inf, out of range", p.verdict(r, success_is_wrong=True))
    fifo = root / "pipe.png"
    os.mkfifo(fifo)
    for args in (("classify", p.model, fifo), ("classify", fifo, cat), ("inspect", fifo),
                 ("detect", p.model, "--source", p.data / "coral", "--events", fifo)):
        p.record("10 special files", p.verdict(p.run(*args, timeout=20), success_is_wrong=True))
    real = root / "real.json"
    real.write_text("{}")
    (root / "link.json").symlink_to(real)
    r = p.run("detect", p.model, "--source", p.data / "coral", "--max-frames", "1", "--summary", root / "link.json",
              "--events", root / "e2.jsonl")
    p.record("10 special files", "wrong" if not (root / "link.json").is_symlink() else p.verdict(r))
    esc = root / "esc.txt"
    esc.write_text("\n".join(["\x1b[2J\x1b[31mred"] * 1001))
    r = p.run("classify", p.model, cat, "--labels", esc)
    p.record("11 terminal escapes", "wrong" if r is not None and "\x1b[2J" in r.stdout else p.verdict(r))
    r = p.run("detect", p.model, "--source", p.data / "coral", "--roi", "5000,5000,10,10", "--events", root / "e3")
    p.record("12 smaller: --roi outside the frame", p.verdict(r, success_is_wrong=True))


def interrupted_runs(p: Probe) -> None:
    run = p.tmp() / "run"
    p.run("train", "digits", "--out", run, "--epochs", "1", timeout=300)
    (run / "card.json").unlink()
    (run / ".card.json.99999999.abcd1234.tmp").write_text("{half")
    r = p.run("train", "digits", "--out", run, "--epochs", "1", timeout=300)
    p.record("9 interrupted runs", p.verdict(r) if r is not None and r.returncode == 0 else "wrong")
    p.record("9 interrupted runs", "wrong" if list(run.glob(".*tmp*")) else "handled")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--pythonpath")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="edgecnn-probe-") as work:
        probe = Probe(args.python, args.pythonpath, args.data.resolve(), Path(work))
        for family in (gallery_race, damaged_galleries, web_cases, snapshot_names, files_and_numbers,
                       interrupted_runs):
            family(probe)
            print(f"done: {family.__name__}", file=sys.stderr)
    print("| family | cases | " + " | ".join(KINDS) + " |")
    print("|---|---|" + "---|" * len(KINDS))
    for family in sorted(probe.results, key=lambda f: int(f.split()[0])):
        counts = probe.results[family]
        print(f"| {family} | {sum(counts.values())} | " + " | ".join(str(counts[k]) for k in KINDS) + " |")
    if args.json:
        args.json.write_text(json.dumps({f: dict(c) for f, c in probe.results.items()}, indent=1))


if __name__ == "__main__":
    main()
