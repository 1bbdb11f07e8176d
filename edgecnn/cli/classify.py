"""`edgecnn classify`: its work, and a quick parser that runs it without click.

A device runs `edgecnn classify` most, and from cold: a cron job, a motion trigger, a shell loop.
click, with what it imports, is 10-13 ms and 1.3 MB of that start-up (2-vCPU EPYC), so a plain
classify command line (MODEL IMAGE... and the options below, as `--opt value` or `--opt=value`) is
parsed here and run without it. Anything else -- --help, a value click would refuse, `-k5`, `--`,
an option it does not know -- returns None and goes to the click command, which answers or refuses
it as always. Tests parse many command lines both ways and require the same values, and the same
output from both paths. (`edgecnn bench` measures its cold start through this path: it passes its
runtime options as `--opt=value`.)
"""

from __future__ import annotations

import json
import math
import os
import stat
import sys
from collections.abc import Callable
from typing import Any

from edgecnn.text import printable

MAX_THREADS = 64  # interpreter threads (LiteRT crashes on absurd counts; no Pi has more cores)
DEFAULTS: dict[str, Any] = {"top_k": 3, "as_json": False, "backend": None, "device": "cpu", "threads": None,
                            "labels": None, "mean": None, "std": None}


def _int_within(low: int, high: int | None) -> Callable[[str], int | None]:
    def convert(text: str) -> int | None:
        try:
            value = int(text)
        except ValueError:
            return None
        return value if low <= value and (high is None or value <= high) else None
    return convert


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _file_path(text: str) -> str | None:
    return text if _readable(text, dir_okay=False) else None


# option spelling -> (parameter, converter: text -> value, or None when click would refuse it)
VALUED: dict[str, tuple[str, Callable[[str], Any]]] = {
    "--top-k": ("top_k", _int_within(1, None)),
    "-k": ("top_k", _int_within(1, None)),
    "--backend": ("backend", str),
    "--device": ("device", str),
    "--threads": ("threads", _int_within(1, MAX_THREADS)),
    "--labels": ("labels", _file_path),
    "--mean": ("mean", _finite),
    "--std": ("std", _finite),
}
FLAGS = {"--json": "as_json"}


def _readable(path: str, dir_okay: bool) -> bool:
    """What click.Path(dir_okay=...) accepts: a missing path (the command reports it), or an
    existing readable one that is not a folder unless folders are allowed."""
    try:
        st = os.stat(path)
    except OSError:
        return True
    except ValueError:  # an embedded NUL: click's to answer
        return False
    return (dir_okay or not stat.S_ISDIR(st.st_mode)) and os.access(path, os.R_OK)


def parse_quick(argv: list[str]) -> dict[str, Any] | None:
    """The parameters of a plain `classify` command line, or None when click should parse it."""
    if len(argv) < 3 or argv[0] != "classify":
        return None
    params = dict(DEFAULTS)
    positional: list[str] = []
    words = iter(argv[1:])
    for word in words:
        option, attached, value = word.partition("=") if word.startswith("--") else (word, "", "")
        if not word.startswith("-") or word == "-":
            positional.append(word)
        elif word in FLAGS:
            params[FLAGS[word]] = True
        elif option in VALUED:
            if not attached:
                value = next(words, None)
                if value is None or value.startswith("-"):
                    return None
            name, convert = VALUED[option]
            params[name] = convert(value)
            if params[name] is None:
                return None
        else:
            return None
    if len(positional) < 2 or not _readable(positional[0], dir_okay=False):
        return None
    if not all(_readable(p, dir_okay=True) for p in positional[1:]):
        return None
    return {"model": positional[0], "images": tuple(positional[1:]), **params}


def say(text: str, err: bool = False) -> None:
    """One line on stdout (stderr with `err`), flushed: what both paths print with. Like
    click.echo, it prints nothing when there is no stream (closed stdout), and UTF-8 bytes where the
    stream's encoding cannot hold the text (PYTHONIOENCODING=ascii)."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:
        return
    line = text + "\n"
    try:
        stream.write(line)
    except UnicodeEncodeError:
        stream.flush()
        stream.buffer.write(line.encode("utf-8", "replace"))
    stream.flush()


def emit_json(obj: Any) -> None:
    """Print `obj` as JSON on stdout."""
    say(json.dumps(obj, indent=2))


def run_classify(model: str, images: tuple[str, ...], top_k: int, as_json: bool, *, backend: str | None,
                 device: str, threads: int | None, labels: str | None, mean: float | None,
                 std: float | None) -> None:
    """Classify `images` with `model` and print the results (JSON with `as_json`)."""
    from edgecnn.runtime import Classifier

    clf = Classifier(model, threads, backend=backend, device=device, labels=labels, mean=mean, std=std)
    results = [(path, clf.classify_file(path, top_k)) for path in images]
    if as_json:
        emit_json([{"image": path, "top": [c._asdict() for c in top]} for path, top in results])
        return
    m = clf.model
    say(printable(f"# {m.name} on {m.backend.name} {m.backend.version}, {m.device}"), err=True)
    for path, top in results:
        say(printable(f"{path}: " + ", ".join(f"{c.index} {c.label} ({c.score:.3f})" for c in top)))
