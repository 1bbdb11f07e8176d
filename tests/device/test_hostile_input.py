"""Hostile input on the device side (issue: hostile input, defects 2-4, 7, 8, 10-12): each test is
named after the defect it covers. Coral's MobileNet with a labels file stands in for a model whose
labels an attacker chose; no TensorFlow needed."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import pytest
from conftest import assert_one_clear_error, browse, chromium, error_lines, free_port, png_bomb, shared

HOSTILE = ["<img src=x onerror=\"document.title='pwned'\">", "../../../escaped", "cat/dog", "nul\x00byte",
           "\x1b[2J\x1b[31mred", "x" * 100_000]


def _labels(tmp: Path, label: str) -> Path:
    path = tmp / "labels.txt"
    path.write_text("\n".join([label] * 1001), encoding="utf-8")  # every class: the label under test
    return path


def _model() -> Path:
    return shared("coral", "mobilenet_v1_0.25_128_quant.tflite")


def _video(path: Path, frames: int = 600) -> Path:
    """60 s at 10 fps: with --realtime the web view lives as long as --duration 60 (a 10 s video ended
    the server before a loaded CI machine had finished looking at it)."""
    image = cv2.imread(str(shared("coral", "cat.bmp")))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (image.shape[1], image.shape[0]))
    for _ in range(frames):
        writer.write(image)
    writer.release()
    return path


def _serve(tmp: Path, host: str = "127.0.0.1", *extra: str, labels: Path | None = None) -> tuple[subprocess.Popen, int]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    port = free_port(family, host)
    shown = f"[{host}]" if ":" in host else host
    cmd = [sys.executable, "-m", "edgecnn", "detect", str(_model()), "--source", str(_video(tmp / "v.avi")),
           "--realtime", "--duration", "60", "--threshold", "0", "--serve", f"{shown}:{port}",
           "--events", str(tmp / "events.jsonl"), *extra]
    if labels is not None:
        cmd += ["--labels", str(labels)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return proc, port
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"detect ended: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.2)
    proc.kill()
    pytest.fail("the web view never came up")


def _get(host: str, port: int, path: str, host_header: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.putrequest("GET", path, skip_host=True)
    conn.putheader("Host", host_header)
    conn.endheaders()
    response = conn.getresponse()
    return response.status, response.read(4096)


def _stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    return proc.communicate(timeout=30)[1]


def test_defect02_hostile_label_is_text_in_the_status_page(tmp_path: Path) -> None:
    chromium()
    proc, port = _serve(tmp_path, labels=_labels(tmp_path, HOSTILE[0]))
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and b"onerror" not in _get("127.0.0.1", port, "/status", "127.0.0.1")[1]:
            time.sleep(0.3)
        dom = browse(f"http://127.0.0.1:{port}/", tmp_path / "profile", ready=lambda d: 'class="event"' in d)
    finally:
        _stop(proc)
    assert 'class="event"' in dom, dom[-2000:]
    assert "&lt;img src=x onerror=" in dom  # shown as text ...
    assert "<img src=\"x\"" not in dom and "<img src=x" not in dom  # ... no element was created
    assert "pwned" not in dom.split("<body")[0]


@pytest.mark.parametrize("label", HOSTILE[1:], ids=["traversal", "slash", "nul", "escape", "100kB"])
def test_defect03_snapshot_names_stay_in_the_folder(tmp_path: Path, run_cli, label: str) -> None:
    snaps = tmp_path / "a" / "b" / "snaps"
    r = run_cli("detect", _model(), "--source", shared("coral"), "--threshold", "0", "--snapshots", snaps,
                "--labels", _labels(tmp_path, label), "--events", tmp_path / "e.jsonl", "--no-window")
    assert r.code == 0, r.err
    files = sorted(snaps.iterdir())
    assert files and all(p.is_file() and p.suffix == ".jpg" and len(p.name) < 100 for p in files), files
    assert all(set(p.name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") for p in files)
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and snaps not in p.parents
               and p.name not in ("labels.txt", "e.jsonl")]
    assert outside == []


def test_defect04_web_view_refuses_foreign_host_headers(tmp_path: Path) -> None:
    proc, port = _serve(tmp_path)
    try:
        for path in ("/", "/status", "/snapshot.jpg"):
            assert _get("127.0.0.1", port, path, "rebind.evil.example")[0] == 403
            assert _get("127.0.0.1", port, path, f"rebind.evil.example:{port}")[0] == 403
        assert _get("127.0.0.1", port, "/status", f"127.0.0.1:{port}")[0] == 200
        assert _get("127.0.0.1", port, "/status", f"localhost:{port}")[0] == 200
    finally:
        _stop(proc)


def test_defect07_image_bomb_is_one_line_for_a_file_and_skipped_in_a_folder(tmp_path: Path, run_cli) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb(60000, 60000))
    assert_one_clear_error(run_cli("classify", _model(), bomb), 1, "60000x60000", "MP")
    folder = tmp_path / "frames"
    folder.mkdir()
    shutil.copy(shared("coral", "cat.bmp"), folder / "a.bmp")
    shutil.copy(bomb, folder / "b.png")
    shutil.copy(shared("coral", "parrot.jpg"), folder / "c.jpg")
    r = run_cli("detect", _model(), "--source", folder, "--events", tmp_path / "e.jsonl", "--summary",
                tmp_path / "s.json", "--no-window")
    assert r.code == 0, r.err
    summary = (tmp_path / "s.json").read_text()
    assert '"frames": 2' in summary and '"failed_reads": 1' in summary, summary


@pytest.mark.parametrize("args, fragment", [
    (("--std", "nan"), "--std"), (("--mean", "inf"), "--mean"), (("--threads", "100000"), "--threads"),
    (("--threads", "0"), "--threads"), (("--top-k", "0"), "--top-k")])
def test_defect08_bad_numbers_are_usage_errors(run_cli, args: tuple[str, ...], fragment: str) -> None:
    assert_one_clear_error(run_cli("classify", _model(), shared("coral", "cat.bmp"), *args), 2, fragment)


def test_defect08_detect_numbers(run_cli, tmp_path: Path) -> None:
    for args, fragment in ((("--threshold", "nan"), "--threshold"), (("--duration", "inf"), "--duration"),
                           (("--duration", "-1"), "--duration")):
        assert_one_clear_error(run_cli("detect", _model(), "--source", shared("coral"), *args), 2, fragment)


def _no_hang(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgecnn", *cmd], capture_output=True, text=True, timeout=60)


def test_defect10_fifos_as_inputs_never_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    for cmd in (["classify", str(_model()), str(fifo)], ["classify", str(fifo), str(shared("coral", "cat.bmp"))],
                ["inspect", str(fifo)],
                ["detect", str(_model()), "--source", str(shared("coral")), "--events", str(fifo)]):
        r = _no_hang(cmd)
        assert r.returncode in (1, 2) and len(error_lines(r.stderr)) == 1 and "Traceback" not in r.stderr, (cmd, r)


def test_defect10_special_and_linked_outputs_are_written_through(tmp_path: Path, run_cli) -> None:
    real = tmp_path / "real.json"
    real.write_text("{}")
    link = tmp_path / "summary.json"
    link.symlink_to(real)
    fifo = tmp_path / "summary.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))  # noqa: SIM115
    reader.start()
    time.sleep(0.2)
    for target in (link, fifo):
        r = run_cli("detect", _model(), "--source", shared("coral"), "--max-frames", "2", "--summary", target,
                    "--events", tmp_path / "e.jsonl", "--no-window")
        assert r.code == 0, r.err
    reader.join(timeout=30)
    assert link.is_symlink() and '"frames": 2' in real.read_text()
    assert fifo.is_fifo() and b'"frames": 2' in got[0]


def test_defect11_labels_reach_the_terminal_escaped(tmp_path: Path, run_cli) -> None:
    r = run_cli("classify", _model(), shared("coral", "cat.bmp"), "--labels", _labels(tmp_path, HOSTILE[4]))
    assert r.code == 0 and "\x1b" not in r.out and "\\x1b[2J" in r.out, r.out


def test_defect12_roi_outside_the_frame_is_a_usage_error(run_cli, tmp_path: Path) -> None:
    r = run_cli("detect", _model(), "--source", shared("coral"), "--roi", "5000,5000,10,10", "--events",
                tmp_path / "e.jsonl")
    assert_one_clear_error(r, 2, "--roi", "outside")


def test_defect12_serve_on_ipv6_loopback(tmp_path: Path) -> None:
    try:
        free_port(socket.AF_INET6, "::1")
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    proc, port = _serve(tmp_path, "::1")
    try:
        assert _get("::1", port, "/status", f"[::1]:{port}")[0] == 200
    finally:
        _stop(proc)


def test_defect12_fifty_stream_viewers_all_get_frames(tmp_path: Path, report_metric) -> None:
    proc, port = _serve(tmp_path)
    firsts: list[float] = []

    def watch() -> None:
        start = time.monotonic()
        conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        conn.sendall(f"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        data = b""
        while b"\xff\xd8" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        firsts.append(time.monotonic() - start if b"\xff\xd8" in data else float("inf"))
        conn.close()

    try:
        threads = [threading.Thread(target=watch) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)
    finally:
        _stop(proc)
    report_metric(f"web view: 50 simultaneous MJPEG viewers, slowest first frame {max(firsts):.2f} s")
    assert len(firsts) == 50 and max(firsts) < 2.0, sorted(firsts)[-5:]


def test_defect12_read_only_snapshot_folder_is_named_as_such(tmp_path: Path, run_cli) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["mount", "--bind", str(ro), str(ro)], capture_output=True).returncode != 0:
        pytest.skip("cannot bind-mount here (needs root)")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)], check=True)
        r = run_cli("detect", _model(), "--source", shared("coral"), "--snapshots", ro, "--events",
                    tmp_path / "e.jsonl", "--no-window")
        assert_one_clear_error(r, 1, "cannot write snapshots", "Read-only")
    finally:
        subprocess.run(["umount", "-l", str(ro)], capture_output=True)
