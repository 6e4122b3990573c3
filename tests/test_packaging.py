"""The built distributions: what a user's ``pip install`` actually gets.

The wheel and the sdist are built with setuptools' PEP 517 hooks (what pip calls), without
build isolation, so the test needs no network.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _build(kind: str, out: Path) -> Path:
    code = (
        "import sys, setuptools.build_meta as b; "
        f"print(b.build_{kind}(sys.argv[1]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out / proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    whl = _build("wheel", tmp_path_factory.mktemp("wheel"))
    with zipfile.ZipFile(whl) as z:
        return z.namelist()


def _source_packages() -> set[str]:
    """Import names of every package folder in the repository's library code."""
    names = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "metaheur").rglob("__init__.py")
    }
    names |= {
        ".".join(("metaheur",) + p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "models").rglob("__init__.py")
    }
    return names


def test_wheel_top_level_is_metaheur_alone(wheel_names: list[str]) -> None:
    top = {n.split("/")[0] for n in wheel_names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"metaheur"}, f"the wheel installs other top-level names: {sorted(top)}"


def test_wheel_holds_every_package(wheel_names: list[str]) -> None:
    in_wheel = {
        n[: -len("/__init__.py")].replace("/", ".")
        for n in wheel_names if n.endswith("/__init__.py")
    }
    missing = _source_packages() - in_wheel
    assert not missing, f"packages missing from pyproject's package list: {sorted(missing)}"
    assert "metaheur/models/objectives/__init__.py" in wheel_names
    assert "metaheur/py.typed" in wheel_names


def test_sdist_ships_a_complete_test_suite(tmp_path: Path) -> None:
    sdist = _build("sdist", tmp_path)
    with tarfile.open(sdist) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    tests = {n for n in names if n.startswith("tests/")}
    assert tests, "the sdist ships no tests"
    tracked = subprocess.run(
        ["git", "ls-files", "tests", "examples", "docs"], cwd=ROOT,
        capture_output=True, text=True, check=True,
    ).stdout.split()
    if not tracked:  # not a git checkout (an unpacked sdist): nothing to compare with
        pytest.skip("not a git checkout")
    missing = sorted(set(tracked) - names)
    assert not missing, f"the sdist lacks files its tests need: {missing[:10]}"
