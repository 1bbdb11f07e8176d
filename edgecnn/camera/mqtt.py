"""Events, counts and snapshots to an MQTT broker (paho-mqtt, the `edgecnn[mqtt]` extra).

`mqtt://[user@]host[:port]/PREFIX` (`mqtts://` for TLS). Topics: PREFIX/events (every event as JSON,
QoS 1, in order), PREFIX/available (online / offline, retained; offline is also the last will),
PREFIX/zone/NAME/occupancy and PREFIX/line/NAME/in|out (retained, on change), PREFIX/LABEL/present
(ON / OFF, retained), PREFIX/snapshot/LABEL (the best JPEG of each ended object). Passwords come from
a file or EDGECNN_MQTT_PASSWORD, never from the command line. Publishing runs on its own thread
from a bounded queue: a broker that is down or slow never stops the camera loop; what does not fit
is dropped and counted; paho reconnects with backoff.
"""

from __future__ import annotations

import json
import os
import queue
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from edgecnn.errors import EdgeCNNError, EdgeCNNUsageError, read_file
from edgecnn.log import get_logger
from edgecnn.text import safe_filename

log = get_logger(__name__)
_PREFIX = re.compile(r"^[A-Za-z0-9_./-]{1,100}$")


@dataclass(frozen=True)
class MqttTarget:
    host: str
    port: int
    prefix: str
    username: str | None
    password: str | None
    tls: bool
    ca_file: str | None = None

    @property
    def address(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}/{self.prefix}"


def parse_mqtt_url(url: str, password_file: str | None = None, ca_file: str | None = None) -> MqttTarget:
    """The broker and topic prefix from the URL; credentials from the environment or a file."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise EdgeCNNUsageError(f"--mqtt must be mqtt://[user@]host[:port]/PREFIX, got {url!r}") from None
    prefix = parts.path.strip("/")
    if (parts.scheme not in ("mqtt", "mqtts") or not parts.hostname or not prefix or not _PREFIX.match(prefix)
            or parts.query or parts.fragment or "#" in url or "+" in prefix):
        raise EdgeCNNUsageError(f"--mqtt must be mqtt://[user@]host[:port]/PREFIX (or mqtts:// for TLS), "
                                f"with a topic prefix of letters, digits and . _ - /, got {url!r}")
    if parts.password is not None:
        raise EdgeCNNUsageError("a password on the command line is visible to every user of the machine: put it "
                                "in EDGECNN_MQTT_PASSWORD or a file given with --mqtt-password-file")
    password = os.environ.get("EDGECNN_MQTT_PASSWORD")
    if password_file:
        password = read_file(Path(password_file), "MQTT password file").decode("utf-8", "replace").strip()
    tls = parts.scheme == "mqtts"
    return MqttTarget(parts.hostname, port or (8883 if tls else 1883), prefix,
                      parts.username or os.environ.get("EDGECNN_MQTT_USER"), password, tls, ca_file)


class MqttSink:
    """An event sink publishing to MQTT from a background thread (see the module notes)."""

    def __init__(self, target: MqttTarget, labels: tuple[str, ...] = (), queue_size: int = 1000,
                 discovery: bool = False, zones: tuple[str, ...] = (), lines: tuple[str, ...] = ()) -> None:
        try:
            import paho.mqtt.client as paho  # the optional extra
        except ImportError:
            raise EdgeCNNError("--mqtt needs paho-mqtt: pip install 'edgecnn[mqtt]'") from None
        self.target, self.labels, self.discovery = target, labels, discovery
        self.zones, self.lines = zones, lines
        self.queue: queue.Queue[tuple[str, bytes, bool]] = queue.Queue(maxsize=queue_size)
        self.published = self.dropped = self.connects = 0
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._last: dict[str, bytes] = {}
        self._warned = False
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"edgecnn-{os.getpid()}")
        if target.username:
            client.username_pw_set(target.username, target.password)
        if target.tls:
            client.tls_set(ca_certs=target.ca_file)
        client.will_set(self.topic("available"), b"offline", qos=1, retain=True)
        client.reconnect_delay_set(1, 30)
        client.on_connect, client.on_disconnect = self._on_connect, self._on_disconnect
        client.on_connect_fail = self._on_fail
        self.client = client
        self._no_connection = paho.MQTT_ERR_NO_CONN
        self.seen: set[str] = set()  # labels present at least once: their presence topics and sensors
        self.thread = threading.Thread(target=self._publish_loop, name="edgecnn-mqtt", daemon=True)

    def topic(self, *parts: str) -> str:
        return "/".join([self.target.prefix, *parts])

    def start(self) -> MqttSink:
        try:
            self.client.connect_async(self.target.host, self.target.port, keepalive=30)
        except (OSError, ValueError) as exc:
            raise EdgeCNNError(f"cannot use the MQTT broker {self.target.address}: {exc}") from None
        self.client.loop_start()
        self.thread.start()
        return self

    def emit(self, event: Any) -> None:
        record = event.to_dict()
        self._put(self.topic("events"), json.dumps(record).encode(), False)

    def snapshot(self, label: str, jpeg: bytes) -> None:
        self._put(self.topic("snapshot", safe_filename(label)), jpeg, False)

    def state(self, counts: dict[str, Any], present: set[str]) -> None:
        """Retained counts and presence, sent only when they change."""
        for name, inside in counts.get("zones", {}).items():
            self._changed(self.topic("zone", safe_filename(name), "occupancy"), str(inside).encode())
        for name, c in counts.get("lines", {}).items():
            for way in ("in", "out"):
                self._changed(self.topic("line", safe_filename(name), way), str(c[way]).encode())
        for label in present - self.seen:  # a label's topic (and sensor) exists once it has been seen
            self.seen.add(label)
            if self.discovery and self.connected.is_set():
                for topic, config in _presence_discovery(self, [label]):
                    self._put(topic, json.dumps(config).encode(), True)
        for label in self.seen:
            self._changed(self.topic(safe_filename(label), "present"), b"ON" if label in present else b"OFF")

    def close(self, timeout: float = 3.0) -> None:
        """Say offline, send what is queued (for up to `timeout` s while connected), disconnect."""
        self._put(self.topic("available"), b"offline", True)
        deadline = time.monotonic() + timeout
        while not self.queue.empty() and self.connected.is_set() and time.monotonic() < deadline:
            time.sleep(0.02)
        self._stop.set()
        self.thread.join(timeout=2)
        self.dropped += self.queue.qsize()
        self.client.disconnect()
        self.client.loop_stop()

    def stats(self) -> dict[str, Any]:
        return {"broker": self.target.address, "connected": self.connected.is_set(), "published": self.published,
                "dropped": self.dropped, "queued": self.queue.qsize(), "connects": self.connects}

    def _changed(self, topic: str, payload: bytes) -> None:
        if self._last.get(topic) != payload:
            self._last[topic] = payload
            self._put(topic, payload, True)

    def _put(self, topic: str, payload: bytes, retain: bool) -> None:
        try:
            self.queue.put_nowait((topic, payload, retain))
        except queue.Full:
            self.dropped += 1

    def _publish_loop(self) -> None:
        while not self._stop.is_set():
            if not self.connected.wait(0.2):
                continue
            try:
                topic, payload, retain = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            info = self.client.publish(topic, payload, qos=1, retain=retain)
            if info.rc in (0, self._no_connection):  # paho keeps a QoS 1 message for the reconnection
                self.published += 1
            else:
                self.dropped += 1

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any = None) -> None:
        if getattr(reason, "is_failure", False):
            self._on_fail(client, userdata)
            return
        self.connects += 1
        if self.connects > 1 or self._warned:
            log.info(f"MQTT: connected to {self.target.address}")
        client.publish(self.topic("available"), b"online", qos=1, retain=True)
        for topic, payload in list(self._last.items()):  # a restarted broker may have lost retained state
            client.publish(topic, payload, qos=1, retain=True)
        if self.discovery:
            for topic, config in discovery_messages(self):
                client.publish(topic, json.dumps(config).encode(), qos=1, retain=True)
        self.connected.set()

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any = None, reason: Any = None,
                       props: Any = None) -> None:
        if self.connected.is_set() and not self._stop.is_set():
            log.warning(f"MQTT: lost {self.target.address}; reconnecting, events queue meanwhile")
        self.connected.clear()

    def _on_fail(self, client: Any, userdata: Any) -> None:
        if not self._warned:
            self._warned = True
            log.warning(f"MQTT: {self.target.address} does not answer; the camera keeps running and events "
                        "queue until it does")


def discovery_messages(sink: MqttSink) -> list[tuple[str, dict[str, Any]]]:
    """Home Assistant MQTT discovery: a sensor per zone and line count, a binary sensor per label."""
    node, device = _node(sink)
    available = {"availability_topic": sink.topic("available"), "payload_available": "online",
                 "payload_not_available": "offline", "device": device}
    counters = [("zone", name, "occupancy") for name in sink.zones]
    counters += [("line", name, way) for name in sink.lines for way in ("in", "out")]
    out = []
    for kind, name, what in counters:
        oid = f"{node}_{kind}_{safe_filename(name)}_{what}"
        out.append((f"homeassistant/sensor/{oid}/config",
                    {"name": f"{kind} {name} {what}", "state_topic": sink.topic(kind, safe_filename(name), what),
                     "unique_id": oid, **available}))
    return out + _presence_discovery(sink, sorted(sink.seen))


def _presence_discovery(sink: MqttSink, labels: list[str]) -> list[tuple[str, dict[str, Any]]]:
    node, device = _node(sink)
    out = []
    for label in labels:
        oid = f"{node}_{safe_filename(label)}_present"
        out.append((f"homeassistant/binary_sensor/{oid}/config",
                    {"name": f"{label} present", "state_topic": sink.topic(safe_filename(label), "present"),
                     "unique_id": oid, "device_class": "occupancy", "availability_topic": sink.topic("available"),
                     "payload_available": "online", "payload_not_available": "offline", "device": device}))
    return out


def _node(sink: MqttSink) -> tuple[str, dict[str, Any]]:
    node = safe_filename(sink.target.prefix.replace("/", "_"))
    device = {"identifiers": [f"edgecnn_{node}"], "name": f"edgecnn {sink.target.prefix}", "manufacturer": "edgecnn"}
    return node, device
