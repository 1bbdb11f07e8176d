"""The one-way rule, read from the source (AST): the device side never imports the workstation side
or TensorFlow / Keras, nothing imports in a circle, and only the CLI imports inside functions."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest
from conftest import REPO

PACKAGE = REPO / "edgecnn"
HEAVY = ("tensorflow", "keras", "tf_keras")
WORKSTATION = "edgecnn.workstation"


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path = PACKAGE) -> list[tuple[str, bool]]:
    """(imported module, inside a function?) for every import statement of a source file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((alias.name, nested) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - child.level + 1] + [base]).strip(".")
                found.append((base, nested))
                # "from edgecnn.cli import camera" imports the submodule edgecnn.cli.camera
                found.extend((f"{base}.{alias.name}", nested) for alias in child.names
                             if (root.parent / Path(*f"{base}.{alias.name}".split("."))).with_suffix(".py").exists()
                             or (root.parent / Path(*f"{base}.{alias.name}".split("."))).is_dir())
            visit(child, inner)

    visit(tree, False)
    return found


def graph(root: Path = PACKAGE) -> dict[str, list[tuple[str, bool]]]:
    return {module_name(p, root): imports(p, root) for p in sorted(root.rglob("*.py"))}


def is_device(module: str) -> bool:
    return module.startswith("edgecnn") and not module.startswith(WORKSTATION)


def violations(modules: dict[str, list[tuple[str, bool]]]) -> list[str]:
    """Every break of the rules, as sentences."""
    found = []
    for module, deps in modules.items():
        for dep, nested in deps:
            top = dep.split(".")[0]
            cli = module.startswith("edgecnn.cli")
            if is_device(module) and top in HEAVY:
                found.append(f"{module} imports {dep} (device side)")
            if is_device(module) and dep.startswith(WORKSTATION) and not (cli and nested):
                found.append(f"{module} imports {dep} (device side; only the CLI may, inside a command)")
            if nested and top in ("edgecnn", *HEAVY) and not cli:
                found.append(f"{module} imports {dep} inside a function (only the CLI loads lazily)")
    found += [f"import circle: {' -> '.join(c)}" for c in circles(modules)]
    return found


def circles(modules: dict[str, list[tuple[str, bool]]]) -> list[list[str]]:
    """Cycles among edgecnn modules, counting module-level and function-level imports alike."""
    edges = {m: sorted({d for d, _ in deps if d in modules and d != m}) for m, deps in modules.items()}
    found, state = [], dict.fromkeys(edges, 0)  # 0 new, 1 on the stack, 2 done

    def dfs(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in edges[node]:
            if state[nxt] == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif state[nxt] == 0:
                dfs(nxt, stack)
        stack.pop()
        state[node] = 2

    for m in edges:
        if state[m] == 0:
            dfs(m, [])
    return found


def test_device_never_imports_workstation_and_nothing_circles() -> None:
    modules = graph()
    assert any(m.startswith(WORKSTATION) for m in modules) and any(m.startswith("edgecnn.runtime") for m in modules)
    assert violations(modules) == []


@pytest.mark.parametrize("bad, expected", [
    ("from edgecnn.workstation.training import train\n", "device side"),
    ("import tensorflow as tf\n", "device side"),
    ("def f():\n    from edgecnn.card import Card\n", "inside a function"),
    ("from edgecnn.runtime.classify import Classifier\n", "import circle"),  # classify -> tensors -> classify
])
def test_the_check_fails_when_a_forbidden_import_is_added(tmp_path: Path, bad: str, expected: str) -> None:
    """Copy the package, add one forbidden import to a device module, and the check must object."""
    copy = tmp_path / "edgecnn"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / "runtime" / "tensors.py"
    target.write_text(target.read_text(encoding="utf-8") + "\n" + bad, encoding="utf-8")
    problems = violations(graph(copy))
    assert any(expected in p and "edgecnn.runtime.tensors" in p for p in problems), problems


def test_train_and_quantize_folders_link_to_the_shipped_recipes() -> None:
    """One source of truth: the readable train/ and quantize/ recipes are the packaged ones."""
    for kind in ("train", "quantize"):
        links = sorted((REPO / kind).glob("*.toml"))
        assert links, kind
        for link in links:
            assert link.is_symlink(), link
            assert link.resolve() == (PACKAGE / "workstation" / "presets" / kind / link.name).resolve()


def test_edgecnn_modules_log_through_get_logger() -> None:
    """edgecnn.log.get_logger imports `logging` (and applies the CLI's setup) at the first message;
    a module-level logging.getLogger for an edgecnn logger would load it on every start and could
    log before the setup is applied."""
    pattern = re.compile(r"getLogger\(\s*(__name__|[\"']edgecnn)")
    offenders = [str(p.relative_to(REPO)) for p in sorted(PACKAGE.rglob("*.py"))
                 if p.name != "log.py" and pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
