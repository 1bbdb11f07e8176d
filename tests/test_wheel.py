"""The wheel is what users install: build it, install it with [train] in a fresh venv outside the
repository, and train with the shipped recipes by name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import REPO, shared


def _run(cmd: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # From a copy of what the wheel is made of: setuptools writes build/ and *.egg-info into the
    # source folder, and CI builds the wheel for the emulated Pi at the same time.
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "edgecnn", src / "edgecnn", ignore=shutil.ignore_patterns("__pycache__"))
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(src)], out)
    (found,) = out.glob("edgecnn-*.whl")
    return found


def test_wheel_holds_the_package_and_its_recipes_only(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for kind, recipe in (("train", "digits"), ("train", "faces"), ("quantize", "int8")):
        assert f"edgecnn/workstation/presets/{kind}/{recipe}.toml" in names
    assert "edgecnn/runtime/classify.py" in names and "edgecnn/workstation/training.py" in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "deploy/"))]
    for shipped in ("blazeface_short_range.tflite", "LICENSE-mediapipe", "README.md"):  # face finder + licence
        assert f"edgecnn/face/models/{shipped}" in names


@pytest.mark.slow
def test_installed_wheel_trains_with_recipes_by_name(wheel: Path, tmp_path: Path, report_metric) -> None:
    """pip install WHEEL[train] in a new venv in a folder with no checkout, then the recipes by name."""
    faces = shared("att_faces")
    people = tmp_path / "people"
    people.mkdir()
    for n in (1, 2, 3):
        (people / f"s{n}").symlink_to(faces / f"s{n}", target_is_directory=True)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    _run([str(py), "-m", "pip", "install", "--quiet", f"{wheel}[train]"], tmp_path, timeout=1500)
    edgecnn = str(env_dir / "bin" / "edgecnn")
    where = _run([str(py), "-c", "import edgecnn; print(edgecnn.__file__)"], tmp_path).stdout
    assert str(env_dir) in where and str(REPO) not in where  # the installed copy, not the checkout
    finder = _run([str(py), "-c", "from edgecnn.face.detect import default_detector; print(default_detector().name)"],
                  tmp_path)
    assert finder.stdout.strip() == "blazeface" and "Haar" not in finder.stderr  # the shipped model loads
    _run([edgecnn, "train", "digits", "--recipe", "digits", "--epochs", "2", "--out", "d"], tmp_path)
    _run([edgecnn, "train", str(people), "--recipe", "faces", "--epochs", "2", "--out", "f"], tmp_path)
    card = (tmp_path / "f" / "card.json").read_text()
    assert '"height": 56' in card and '"width": 46' in card  # the faces recipe's input size
    bad = subprocess.run([edgecnn, "train", "digits", "--recipe", "nosuch", "--out", "x"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "digits, faces" in bad.stderr and "Traceback" not in bad.stderr
    report_metric(f"wheel: {wheel.name} {wheel.stat().st_size / 1024:.0f} kB, installed with [train] "
                  f"outside the repository; train --recipe digits / faces by name ok")
