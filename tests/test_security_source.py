"""Security of what we read: no code execution from data, no reads outside a loader root.

1. The package source never evaluates or unpickles anything: a static scan (AST, so
   comments and strings do not count) of every module for `eval`, `exec`, `compile`,
   `pickle`/`marshal`/`shelve`/`dill` loads, `yaml.load` without a safe loader,
   `numpy.load(allow_pickle=True)`, `torch.load` without `weights_only=True`, and
   `os.system` / `shell=True`.
2. `DirectoryLoader` never escapes its root, whatever links and patterns are thrown at
   it: a secret file outside the root must never show up in any loaded document.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from chromabridge.loaders import DirectoryLoader

REPO = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = ["chromabridge", "vectorstores", "embedders", "loaders", "chunkers", "retrievers"]
SECRET = "TOP-SECRET-OUTSIDE-THE-ROOT-4242"

_BANNED_CALLS = {"eval", "exec", "compile", "__import__"}
_BANNED_ATTRS = {
    ("pickle", "load"),
    ("pickle", "loads"),
    ("pickle", "Unpickler"),
    ("cPickle", "loads"),
    ("marshal", "load"),
    ("marshal", "loads"),
    ("shelve", "open"),
    ("dill", "load"),
    ("dill", "loads"),
    ("cloudpickle", "loads"),
    ("joblib", "load"),
    ("os", "system"),
    ("os", "popen"),
}


def _sources() -> list[Path]:
    files = [p for d in PACKAGE_DIRS for p in sorted((REPO / d).rglob("*.py"))]
    assert len(files) > 30, "package sources not found"
    return files


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _findings(path: Path, base: Path = REPO) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names]
            module = node.module if isinstance(node, ast.ImportFrom) else None
            for name in [module, *names]:
                if name and name.split(".")[0] in {
                    "pickle",
                    "cPickle",
                    "marshal",
                    "shelve",
                    "dill",
                }:
                    found.append(f"{path.name}:{node.lineno} imports {name}")
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        where = f"{path.relative_to(base)}:{node.lineno}"
        if name in _BANNED_CALLS:
            found.append(f"{where} calls {name}()")
        parts = tuple(name.rsplit(".", 1))
        if len(parts) == 2 and (parts[0].split(".")[-1], parts[1]) in _BANNED_ATTRS:
            found.append(f"{where} calls {name}()")
        if name.endswith("yaml.load"):
            loader = _kw(node, "Loader")
            if loader is None or "Safe" not in _dotted(loader):
                found.append(f"{where} calls yaml.load without SafeLoader")
        if name.endswith("yaml.unsafe_load") or name.endswith("yaml.full_load"):
            found.append(f"{where} calls {name}()")
        if name in {"np.load", "numpy.load"}:
            allow = _kw(node, "allow_pickle")
            if not (isinstance(allow, ast.Constant) and allow.value is False) and allow is not None:
                found.append(f"{where} calls numpy.load with allow_pickle")
        if name == "torch.load":
            safe = _kw(node, "weights_only")
            if not (isinstance(safe, ast.Constant) and safe.value is True):
                found.append(f"{where} calls torch.load without weights_only=True")
        shell = _kw(node, "shell")
        if isinstance(shell, ast.Constant) and shell.value is True:
            found.append(f"{where} runs a shell (shell=True)")
    return found


def test_no_eval_exec_or_unpickling_anywhere_in_the_package() -> None:
    findings = [f for path in _sources() for f in _findings(path)]
    assert findings == []


def test_the_scanner_does_catch_what_it_bans(tmp_path: Path) -> None:
    """Guard against a scanner that silently finds nothing."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import pickle, yaml, numpy as np, torch, subprocess, os\n"
        "eval('1')\nexec('x=1')\npickle.loads(b'')\nyaml.load('a')\n"
        "yaml.load('a', Loader=yaml.SafeLoader)\nnp.load('f', allow_pickle=True)\n"
        "torch.load('m')\nsubprocess.run('ls', shell=True)\nos.system('ls')\n"
    )
    text = "\n".join(_findings(bad, tmp_path))
    for needle in [
        "imports pickle",
        "eval()",
        "exec()",
        "pickle.loads()",
        "yaml.load without SafeLoader",
        "allow_pickle",
        "torch.load",
        "shell=True",
        "os.system()",
    ]:
        assert needle in text, needle
    assert text.count("yaml.load without SafeLoader") == 1  # the SafeLoader call is fine


# -- DirectoryLoader containment --------------------------------------------------------


@pytest.fixture
def trap(tmp_path: Path) -> Path:
    """A root full of ways out, next to a secret it must never read."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    (outside / "nested").mkdir()
    (outside / "nested" / "deep.md").write_text(SECRET)
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "ok.txt").write_text("an honest file inside the root")
    (root / "sub" / "fine.md").write_text("another honest file")
    os.symlink(outside / "secret.txt", root / "abs-link.txt")  # absolute link out
    os.symlink("../../outside/secret.txt", root / "sub" / "rel-link.txt")  # relative link out
    os.symlink(outside, root / "linked-dir")  # directory link out
    os.symlink(root / "abs-link.txt", root / "chain.txt")  # inside link -> link out
    os.symlink(root, root / "sub" / "loop")  # a cycle back to the root
    os.symlink(tmp_path / "missing", root / "dangling.txt")
    os.symlink("/etc/passwd", root / "passwd.txt")
    return root


def _assert_contained(loader: DirectoryLoader, root: Path) -> list[str]:
    docs = loader.load()
    real_root = os.path.realpath(root)
    for doc in docs:
        assert SECRET not in doc.text, doc.source
        assert "root:" not in doc.text, doc.source  # /etc/passwd
        assert doc.source is not None
        real = os.path.realpath(doc.source)
        assert real == real_root or real.startswith(real_root + os.sep), doc.source
    return sorted(doc.id for doc in docs)


@pytest.mark.parametrize("follow", [False, True])
def test_links_out_of_the_root_are_never_read(trap: Path, follow: bool) -> None:
    loader = DirectoryLoader(trap, follow_symlinks=follow, include_hidden=True)
    ids = _assert_contained(loader, trap)
    assert "ok.txt" in ids and "sub/fine.md" in ids
    reported = {Path(f.path).name for f in loader.report.failures}
    assert {"abs-link.txt", "rel-link.txt", "chain.txt", "passwd.txt"} <= reported
    if follow:
        assert "linked-dir" in reported


@pytest.mark.parametrize(
    "include",
    [["../outside/*"], ["../**/*"], [str(Path("/etc/passwd"))], ["**/*.txt"], ["*", "../*"]],
)
def test_patterns_cannot_reach_outside(trap: Path, include: list[str]) -> None:
    _assert_contained(DirectoryLoader(trap, include=include, follow_symlinks=True), trap)


def test_root_given_through_a_symlink_or_dotdot_stays_contained(trap: Path) -> None:
    alias = trap.parent / "alias"
    os.symlink(trap, alias)
    _assert_contained(DirectoryLoader(alias, follow_symlinks=True), alias)
    _assert_contained(DirectoryLoader(trap / "sub" / ".."), trap)


def test_strict_mode_refuses_instead_of_reading(trap: Path) -> None:
    with pytest.raises(Exception) as info:
        DirectoryLoader(trap, on_error="raise").load()
    from chromabridge.errors import LoaderError

    assert isinstance(info.value, LoaderError)
    assert SECRET not in str(info.value)
