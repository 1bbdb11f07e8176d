"""MQTT against a real broker (Debian's mosquitto on 127.0.0.1): every event once and in order, the
loop's frame rate kept while the broker is stopped and restarted, and the bad inputs."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import cv2
import pytest
from conftest import assert_one_clear_error, free_port, shared

paho = pytest.importorskip("paho.mqtt.client", reason="MQTT tests need paho-mqtt (the mqtt extra)")


class Broker:
    """Debian's mosquitto on 127.0.0.1 with persistence on: a subscriber's session and the QoS 1
    messages queued for it survive a restart, as on a real home-automation broker."""

    def __init__(self, port: int, folder: Path) -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(exe).exists():
            if os.environ.get("CI"):
                pytest.fail("mosquitto missing in CI: tests/run.sh installs Debian's mosquitto package")
            pytest.skip("mosquitto not installed (apt-get install mosquitto)")
        self.config = folder / "mosquitto.conf"
        self.config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                               f"persistence_location {folder}/\n")
        self.exe, self.port, self.proc = exe, port, None

    def start(self) -> Broker:
        self.proc = subprocess.Popen([self.exe, "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


class Listener:
    """A subscriber that reconnects and keeps every message of PREFIX/#. Its session is persistent
    (clean_session off, QoS 1): what is published while it is away -- the broker restarted and the
    camera reconnected first -- waits for it instead of being lost."""

    def __init__(self, port: int, prefix: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="edgecnn-test-listener",
                             clean_session=False)
        client.on_connect = lambda c, *_: c.subscribe(f"{prefix}/#", qos=1)
        client.on_message = lambda c, u, m: self.messages.append((m.topic, m.payload))
        client.reconnect_delay_set(0.2, 1)
        client.connect_async("127.0.0.1", port)
        client.loop_start()
        self.client = client

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def events(self) -> list[dict]:
        return [json.loads(p) for t, p in self.messages if t.endswith("/events")]


def _video(path: Path, seconds: int = 14) -> Path:
    """Cat for 1.5 s, parrot for 1.5 s, ... at 10 fps: a label visit every 1.5 s."""
    images = [cv2.resize(cv2.imread(str(shared("coral", n))), (160, 160)) for n in ("cat.bmp", "parrot.jpg")]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (160, 160))
    for i in range(seconds * 10):
        writer.write(images[(i // 15) % 2])
    writer.release()
    return path


def test_events_arrive_once_in_order_and_the_loop_survives_a_broker_restart(tmp_path: Path, report_metric) -> None:
    from edgecnn.camera.loop import CameraLoop, DetectOptions

    port = free_port()
    broker = Broker(port, tmp_path).start()
    listener = Listener(port, "cam")
    times: list[float] = []
    outage = {}

    def operator() -> None:  # stop the broker for 3 s in the middle of the run
        time.sleep(4.5)
        outage["start"] = time.perf_counter()
        broker.stop()
        time.sleep(3)
        broker.start()
        outage["end"] = time.perf_counter()

    opts = DetectOptions(model=str(shared("coral", "mobilenet_v1_0.25_128_quant.tflite")),
                         source=str(_video(tmp_path / "v.avi")), realtime=True, window=1, threshold=0.3,
                         ignore=(), min_frames=2, max_missed=3, events=str(tmp_path / "events.jsonl"),
                         mqtt=f"mqtt://127.0.0.1:{port}/cam", window_view=False,
                         labels=str(shared("coral", "imagenet_labels.txt")))
    thread = threading.Thread(target=operator)
    try:
        time.sleep(0.5)
        thread.start()
        status = CameraLoop(opts, on_frame=lambda f, s: times.append(time.perf_counter())).run()
        thread.join()
        time.sleep(1.5)
    finally:
        listener.close()
        broker.stop()
    written = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    received = listener.events()
    before = [t for t in times if t < outage["start"]]
    during = [t for t in times if outage["start"] <= t < outage["end"]]
    fps_before = (len(before) - 1) / (before[-1] - before[0])
    fps_during = len(during) / (outage["end"] - outage["start"])
    m = status["mqtt"]
    report_metric(f"mqtt: {len(written)} events written, {len(received)} received, published {m['published']}, "
                  f"dropped {m['dropped']}, connections {m['connects']}; loop {fps_before:.1f} fps before, "
                  f"{fps_during:.1f} fps while the broker was down")
    assert len(written) >= 6 and m["connects"] == 2
    assert received == written[: len(received)] and len(received) + m["dropped"] >= len(written)
    assert m["dropped"] == 0 and received == written  # the queue held the outage's events
    assert abs(fps_during - fps_before) <= 0.1 * fps_before
    availability = [p for t, p in listener.messages if t == "cam/available"]
    assert availability.count(b"online") == 2 and availability[-1] == b"offline"  # each connection, then the end


def test_broker_unreachable_at_start_the_loop_still_runs(tmp_path: Path, run_cli) -> None:
    r = run_cli("detect", shared("coral", "mobilenet_v1_0.25_128_quant.tflite"), "--source", shared("coral"),
                "--mqtt", f"mqtt://127.0.0.1:{free_port()}/cam", "--events", tmp_path / "e.jsonl", "--no-window")
    assert r.code == 0, r.err
    assert "does not answer" in r.err and "dropped" in r.err


@pytest.mark.parametrize("url, fragment", [
    ("http://127.0.0.1/cam", "mqtt://"), ("mqtt://127.0.0.1", "PREFIX"), ("mqtt://127.0.0.1:99999/cam", "mqtt://"),
    ("mqtt://user:secret@127.0.0.1/cam", "EDGECNN_MQTT_PASSWORD"), ("mqtt://127.0.0.1/c#m", "PREFIX"),
])
def test_malformed_mqtt_urls_are_usage_errors(run_cli, tmp_path: Path, url: str, fragment: str) -> None:
    r = run_cli("detect", shared("coral", "mobilenet_v1_0.25_128_quant.tflite"), "--source", shared("coral"),
                "--mqtt", url, "--events", tmp_path / "e.jsonl")
    assert_one_clear_error(r, 2, fragment)


def test_paho_missing_is_one_line(run_cli, tmp_path: Path, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "paho.mqtt.client", None)  # as if the extra were not installed
    r = run_cli("detect", shared("coral", "mobilenet_v1_0.25_128_quant.tflite"), "--source", shared("coral"),
                "--mqtt", "mqtt://127.0.0.1/cam", "--events", tmp_path / "e.jsonl")
    assert_one_clear_error(r, 1, "pip install 'edgecnn[mqtt]'")
