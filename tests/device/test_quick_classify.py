"""`edgecnn classify` without click: the quick parser reads every command line it accepts as the
click command does, hands every other one to click, both paths print the same, and a cold
classify loads neither click nor logging unless it has something to say."""

from __future__ import annotations

import json
import os
import random
import shutil
import site
import subprocess
import sys
from pathlib import Path

import click
import pytest
from conftest import REPO, shared

from edgecnn.cli import main as entry_main
from edgecnn.cli.app import cli
from edgecnn.cli.app import main as click_main
from edgecnn.cli.classify import parse_quick
from edgecnn.runtime.bench import cold_start_args, option_args

MODEL = ("coral", "mobilenet_v1_0.25_128_quant.tflite")


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """An existing model, two images and a labels file (only their names matter to the parsers)."""
    paths = {"model": tmp_path / "m.tflite", "image": tmp_path / "a.png", "image2": tmp_path / "b.jpg",
             "labels": tmp_path / "labels.txt"}
    for path in paths.values():
        path.write_bytes(b"x")
    return {name: str(path) for name, path in paths.items()} | {"folder": str(tmp_path)}


def click_params(argv: list[str]) -> dict:
    command = cli.get_command(None, "classify")
    with command.make_context("classify", list(argv[1:])) as ctx:
        return dict(ctx.params)


def test_the_quick_parser_reads_command_lines_as_click_does(files: dict[str, str]) -> None:
    """300 command lines: random subsets of the options, in random order, among the arguments."""
    options = [["--json"], ["-k", "2"], ["--top-k", "5"], ["-k", "+3"], ["--top-k", " 7"], ["--threads", "1"],
               ["--threads", "64"], ["--backend", "litert"], ["--backend", "tflite-runtime"], ["--device", "cpu"],
               ["--device", "edgetpu:usb"], ["--labels", files["labels"]], ["--labels", "/no/such/labels.txt"],
               ["--mean", "127.5"], ["--mean", "0"], ["--std", "1e2"], ["--std", "128"], ["-k", "1_0"],
               ["--top-k=4"], ["--threads=2"], ["--device=cpu"], ["--backend=litert"], ["--mean=-1.5"],
               ["--labels=" + files["labels"]]]
    rng = random.Random(7)
    for _ in range(300):
        chosen = [list(o) for o in rng.sample(options, rng.randint(0, 6))]
        images = rng.choice([[files["image"]], [files["image"], files["image2"]], ["missing.png"],
                             [files["folder"]]])
        units = [[files["model"]], *[[image] for image in images]]
        for option in chosen:  # options go anywhere, before the model too
            units.insert(rng.randint(0, len(units)), option)
        argv = ["classify", *[word for unit in units for word in unit]]
        quick = parse_quick(argv)
        assert quick is not None, argv
        expected = click_params(argv)
        assert quick == expected, argv


@pytest.mark.parametrize("case", [
    "no image", "help", "short help", "top-k 0", "top-k text", "top-k float", "threads 65", "threads 0",
    "mean nan", "std inf", "flag with value", "empty value", "attached short value", "model is a folder",
    "labels is a folder", "unknown option", "missing value", "global option first", "negative value",
    "double dash", "other command",
])
def test_the_quick_parser_leaves_the_rest_to_click(case: str, files: dict[str, str]) -> None:
    m, i = files["model"], files["image"]
    argv = {
        "no image": ["classify", m],
        "help": ["classify", m, i, "--help"],
        "short help": ["classify", "-h"],
        "top-k 0": ["classify", m, i, "-k", "0"],
        "top-k text": ["classify", m, i, "--top-k", "three"],
        "top-k float": ["classify", m, i, "-k", "2.0"],
        "threads 65": ["classify", m, i, "--threads", "65"],
        "threads 0": ["classify", m, i, "--threads", "0"],
        "mean nan": ["classify", m, i, "--mean", "nan"],
        "std inf": ["classify", m, i, "--std", "inf"],
        "flag with value": ["classify", m, i, "--json=yes"],
        "empty value": ["classify", m, i, "--top-k="],
        "attached short value": ["classify", m, i, "-k2"],
        "model is a folder": ["classify", files["folder"], i],
        "labels is a folder": ["classify", m, i, "--labels", files["folder"]],
        "unknown option": ["classify", m, i, "--nope"],
        "missing value": ["classify", m, i, "-k"],
        "global option first": ["--debug", "classify", m, i],
        "negative value": ["classify", m, i, "--mean", "-1"],
        "double dash": ["classify", m, "--", i],
        "other command": ["inspect", m, i],
    }[case]
    assert parse_quick(argv) is None


def test_the_bench_measures_the_cold_start_of_the_quick_path(files: dict[str, str]) -> None:
    """What `edgecnn bench --threads 1` runs for a classifier's cold start: the options it passes
    (--device is never None) must not send it to click."""
    opts = {"backend": None, "device": "cpu", "threads": 1, "labels": files["labels"], "mean": None, "std": 0.5}
    argv = cold_start_args(files["model"], files["image"], ["classify"], option_args(opts))
    assert parse_quick(argv) == click_params(argv) and parse_quick(argv)["threads"] == 1


def _run(entry, argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        entry(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("extra", [[], ["--json"], ["-k", "1", "--json"], ["--labels", "LABELS"], ["--mean", "128",
                                                                                                    "--std", "128"]],
                         ids=["text", "json", "top-1", "labels", "mean-std"])
def test_both_paths_print_the_same(extra: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(f"class {i}" for i in range(1001)))
    argv = ["classify", str(shared(*MODEL)), str(shared("coral", "cat.bmp")), str(shared("coral", "parrot.jpg")),
            *[str(labels) if e == "LABELS" else e for e in extra]]
    assert parse_quick(argv) is not None
    quick, slow = _run(entry_main, argv, capsys), _run(click_main, argv, capsys)
    assert quick == slow
    assert quick[0] == 0 and quick[1], quick


def test_errors_are_the_same_line_on_both_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["classify", str(shared(*MODEL)), str(tmp_path / "missing.png")],
                 ["classify", str(tmp_path / "missing.tflite"), str(shared("coral", "cat.bmp"))],
                 ["classify", str(shared("coral", "cat.bmp")), str(shared("coral", "cat.bmp"))]):
        quick, slow = _run(entry_main, argv, capsys), _run(click_main, argv, capsys)
        assert quick == slow
        assert quick[0] == 1 and quick[2].startswith("error: ") and len(quick[2].splitlines()) == 1, quick


def test_a_hostile_model_file_name_reaches_the_terminal_escaped(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "m\x1b[2J\x07.tflite"
    shutil.copy(shared(*MODEL), model)
    for entry in (entry_main, click_main):
        code, out, err = _run(entry, ["classify", str(model), str(shared("coral", "cat.bmp"))], capsys)
        assert code == 0, err
        assert "\x1b" not in out + err and "\x07" not in out + err
        assert "m\\x1b[2J\\x07.tflite on " in err


PROBE = r"""
import importlib, json, sys
WATCH = ("click", "logging", "pathlib")
# the libraries under edgecnn first: what they load is theirs (numpy 1.x, for one, imports pathlib)
for name in ("numpy", "cv2", "ai_edge_litert.interpreter", "tflite_runtime.interpreter", "tflite"):
    try:
        importlib.import_module(name)
    except ImportError:
        pass
before = {m for m in WATCH if m in sys.modules}
from edgecnn.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": sorted(m for m in WATCH if m in sys.modules and m not in before)}))
"""


@pytest.mark.parametrize("device, loaded", [("cpu", []), ("edgetpu:usb", ["logging"])])
def test_a_cold_classify_loads_logging_only_to_say_something(device: str, loaded: list[str]) -> None:
    """A CPU model with --device edgetpu is a warning (nothing to delegate): logging is loaded for
    it, and the warning still has edgecnn's form. edgecnn loads neither click nor pathlib. (Python
    runs without `site` and with the packages' folders on PYTHONPATH: an editable install's import
    hook, run from a .pth file at start-up, imports pathlib itself.)"""
    path = os.pathsep.join([str(REPO), *site.getsitepackages()])
    proc = subprocess.run([sys.executable, "-S", "-c", PROBE, "classify", str(shared(*MODEL)),
                           str(shared("coral", "cat.bmp")), "--json", "--device", device],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": path})
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (result["code"], result["loaded"]) == (0, loaded), proc.stderr
    warnings = [ln for ln in proc.stderr.splitlines() if "nothing will be delegated" in ln]
    assert len(warnings) == (device != "cpu") and all(w.startswith("warning: ") for w in warnings), proc.stderr
    assert json.loads("\n".join(proc.stdout.strip().splitlines()[:-1]))[0]["top"]


def test_ctrl_c_is_the_same_on_both_paths(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from edgecnn.runtime.classify import Classifier

    def interrupted(self, path, top_k=3):
        raise KeyboardInterrupt

    monkeypatch.setattr(Classifier, "classify_file", interrupted)
    argv = ["classify", str(shared(*MODEL)), str(shared("coral", "cat.bmp"))]
    quick, slow = _run(entry_main, argv, capsys), _run(click_main, argv, capsys)
    assert quick == slow and quick[0] == 130 and "error: interrupted" in quick[2], (quick, slow)
    monkeypatch.setenv("EDGECNN_DEBUG", "1")  # --debug: the traceback, on both paths the same exception
    for entry in (entry_main, click_main):
        with pytest.raises(click.exceptions.Abort):
            entry(argv)


# (shell command, what it shows): the quick path against the click path (`-k3` sends the same
# request to click), each time the same exit code and the same bytes on stdout and stderr
STREAMS = {
    # `true` reads nothing and is gone long before the first result (like `| head -1` once it has its line)
    "reader gone": ("{cmd} {images} 2>{err} | true; echo ${{PIPESTATUS[0]}} >{code}", 3),
    "stdout closed": ("{cmd} {images} --json >&- 2>{err}; echo $? >{code}", 1),
    "ascii stdout": ("PYTHONIOENCODING=ascii {cmd} {images} --labels {labels} >{out} 2>{err}; echo $? >{code}", 2),
}


@pytest.mark.parametrize("case", sorted(STREAMS))
def test_both_paths_treat_the_output_streams_alike(case: str, tmp_path: Path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(f"café {i}" for i in range(1001)), encoding="utf-8")
    template, count = STREAMS[case]
    results = []
    for path, extra in (("quick", ""), ("click", "-k3")):
        files = {name: tmp_path / f"{path}.{name}" for name in ("out", "err", "code")}
        cmd = f"'{sys.executable}' -m edgecnn classify '{shared(*MODEL)}' {extra}"
        images = " ".join([f"'{shared('coral', 'cat.bmp')}'"] * count)
        shell = template.format(cmd=cmd, images=images, labels=labels, **files)
        subprocess.run(["bash", "-c", shell], timeout=300, check=True)
        results.append(tuple(files[n].read_bytes() if files[n].exists() else None for n in ("out", "err", "code")))
    quick, slow = results
    assert quick == slow, (quick, slow)
    out, err, code = quick
    assert err.count(b"\n") <= 1 and b"error" not in err and b"Traceback" not in err, err
    assert code.strip() == {"reader gone": b"1", "stdout closed": b"0", "ascii stdout": b"0"}[case]
    if case == "ascii stdout":
        assert "café".encode() in out
