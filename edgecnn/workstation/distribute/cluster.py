"""The cluster a worker belongs to, from the standard TF_CONFIG variable; checked before TensorFlow
loads, so a malformed one is one clear error. TensorFlow-free (the launcher uses it too)."""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass

from edgecnn.errors import EdgeCNNError, EdgeCNNUsageError

ROLES = ("chief", "worker")  # the task types MultiWorkerMirroredStrategy runs


@dataclass(frozen=True)
class Cluster:
    """Every task's host:port (chief first, when there is one) and which of them this process is."""

    addresses: tuple[str, ...]
    role: str
    index: int
    rank: int  # position in `addresses`

    @property
    def size(self) -> int:
        return len(self.addresses)

    @property
    def is_chief(self) -> bool:
        """The chief writes the run folder: the "chief" task, else worker 0 (TensorFlow's rule)."""
        return self.rank == 0

    @property
    def peers(self) -> list[tuple[int, str]]:
        return [(i, a) for i, a in enumerate(self.addresses) if i != self.rank]


def _bad(reason: str) -> EdgeCNNUsageError:
    return EdgeCNNUsageError(f"TF_CONFIG is malformed: {reason} (expected "
                             '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": 0}})')


def split_address(address: object) -> tuple[str, int]:
    if not isinstance(address, str) or address.count(":") < 1:
        raise _bad(f"{address!r} is not host:port")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise _bad(f"{address!r} is not host:port")
    return host.strip("[]"), int(port)


def read_tf_config(text: str | None = None) -> Cluster | None:
    """TF_CONFIG (or `text`) as a Cluster; None when it is not set."""
    text = os.environ.get("TF_CONFIG") if text is None else text
    if not text or not text.strip():
        return None
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad(f"not JSON ({exc.msg} at character {exc.pos})") from None
    if not (isinstance(spec, dict) and isinstance(spec.get("cluster"), dict) and isinstance(spec.get("task"), dict)):
        raise _bad("it needs a \"cluster\" object and a \"task\" object")
    cluster, task = spec["cluster"], spec["task"]
    unknown = sorted(set(cluster) - set(ROLES))
    if unknown:
        raise _bad(f"task type {unknown[0]!r} is not supported (only chief and worker: synchronous all-reduce)")
    addresses: list[str] = []
    offsets = {}
    for role in ROLES:
        group = cluster.get(role, [])
        if not isinstance(group, list) or (role == "chief" and len(group) > 1):
            raise _bad(f"\"{role}\" must be a list of host:port{' with one entry' if role == 'chief' else ''}")
        for address in group:
            split_address(address)
        offsets[role] = len(addresses)
        addresses += group
    if not addresses:
        raise _bad("the cluster lists no worker")
    if len(set(addresses)) != len(addresses):
        raise _bad("an address appears twice")
    role, index = task.get("type"), task.get("index", 0)
    if role not in ROLES or not isinstance(index, int) or isinstance(index, bool):
        raise _bad(f"task type must be chief or worker with an integer index, got {role!r} / {index!r}")
    if not 0 <= index < len(cluster.get(role, [])):
        raise _bad(f"task index {index} is not in the cluster's {len(cluster.get(role, []))} {role} address(es)")
    return Cluster(tuple(addresses), role, index, offsets[role] + index)


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` distinct TCP ports nobody listens on right now (bound together, then released)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def local_tf_config(ports: list[int], rank: int) -> str:
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                       "task": {"type": "worker", "index": rank}})


def rendezvous(cluster: Cluster, timeout: float) -> None:
    """Meet every other task before TensorFlow's strategy starts (its start-up blocks for ever, deaf
    to signals, while a task is missing): listen on this task's port, connect to each peer's (their
    rendezvous or, once they are past it, TensorFlow's server answers), stop listening when all did.
    One clear error for a port in use or a task that did not answer within `timeout` seconds."""
    own = split_address(cluster.addresses[cluster.rank])[1]
    listener = socket.socket(socket.AF_INET6 if socket.has_dualstack_ipv6() else socket.AF_INET)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if listener.family == socket.AF_INET6:
            listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        listener.bind(("", own))
        listener.listen(64)  # the kernel completes the peers' connections; nothing to accept
    except OSError as exc:
        listener.close()
        raise EdgeCNNError(f"this worker's port {own} ({cluster.addresses[cluster.rank]}, task {cluster.rank} of "
                           f"TF_CONFIG) cannot be used: {exc.strerror or exc}") from None
    try:
        wait_for_peers(cluster, timeout)
    finally:
        listener.close()


def wait_for_peers(cluster: Cluster, timeout: float) -> None:
    """Block until every other task accepts a TCP connection; one clear error naming the first that
    did not within `timeout` seconds (TensorFlow itself would wait for ever)."""
    deadline = time.monotonic() + timeout
    for rank, address in cluster.peers:
        host, port = split_address(address)
        while True:
            try:
                socket.create_connection((host, port), timeout=2).close()
                break
            except OSError as exc:
                if time.monotonic() >= deadline:
                    raise EdgeCNNError(f"task {rank} of the cluster at {address} did not answer within {timeout:g} s "
                                       f"({exc.strerror or exc}): is it started, with the same TF_CONFIG cluster, "
                                       f"and reachable from here?") from None
                time.sleep(0.25)
