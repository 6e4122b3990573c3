"""The built distributions: what a user's ``pip install`` actually gets.

The wheel and the sdist are built with setuptools' PEP 517 hooks (what pip calls), without
build isolation, so the test needs no network.
"""

from __future__ import annotations

import re
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
        ["git", "ls-files", "tests", "examples", "docs", "optunahub", ".ci"], cwd=ROOT,
        capture_output=True, text=True, check=True,
    ).stdout.split()
    if not tracked:  # not a git checkout (an unpacked sdist): nothing to compare with
        pytest.skip("not a git checkout")
    missing = sorted(set(tracked) - names)
    assert not missing, f"the sdist lacks files its tests need: {missing[:10]}"


# ------------------------------------------------------------------ dependencies and floors

def _pyproject() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: pytest depends on tomli there
        import tomli as tomllib
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _requirements() -> dict[str, list]:
    """Every requirement of pyproject.toml by group: "core" and one per extra."""
    from packaging.requirements import Requirement

    project = _pyproject()["project"]
    groups = {"core": project["dependencies"], **project["optional-dependencies"]}
    return {g: [Requirement(r) for r in reqs] for g, reqs in groups.items()}


def _norm(name: str) -> str:
    return name.lower().replace("_", "-")


def _floors_file() -> dict[str, str]:
    pins = {}
    for line in (ROOT / ".ci" / "floors.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f".ci/floors.txt: {line!r} is not a name==version pin"
            pins[_norm(name)] = version.strip()
    return pins


#: Requirements whose floor CI cannot install: PyPI's Linux torch wheels are multi-GB CUDA
#: builds, so the floors run uses the local CPU wheel (see .ci/run); coco-experiment (the
#: BBOB suite, in the test extra so that its tests run in CI) is installed at its newest.
_UNPINNED = {"torch", "coco-experiment"}


def test_every_floor_is_pinned_in_the_ci_constraints() -> None:
    """Each ``>=`` floor of pyproject.toml equals its pin in .ci/floors.txt, and vice versa."""
    floors: dict[str, str] = {}
    for group, reqs in _requirements().items():
        for req in reqs:
            if _norm(req.name) == "metaheur" or _norm(req.name) in _UNPINNED:
                continue
            lows = [s.version for s in req.specifier if s.operator == ">="]
            assert len(lows) == 1, f"{group}: {req} needs exactly one '>=' floor"
            assert floors.setdefault(_norm(req.name), lows[0]) == lows[0], (
                f"{req.name} has two different floors in pyproject.toml"
            )
    from packaging.version import Version

    pins = {name: Version(v) for name, v in _floors_file().items()}
    floors = {name: Version(v) for name, v in floors.items()}  # 4.0 == 4.0.0
    assert pins == floors, (
        "pyproject.toml floors and .ci/floors.txt pins differ: "
        f"{sorted(set(pins.items()) ^ set(floors.items()))}"
    )


def test_core_install_is_light_and_extras_nest() -> None:
    """The core is what the samplers and minimize() need; plots and tables are an extra."""
    reqs = {g: {_norm(r.name) for r in rs} for g, rs in _requirements().items()}
    assert reqs["core"] == {"numpy", "optuna", "joblib", "tqdm"}
    assert {"pandas", "scipy", "matplotlib"} <= reqs["bench"]
    extras_of = {
        g: {e for r in rs if _norm(r.name) == "metaheur" for e in r.extras}
        for g, rs in _requirements().items()
    }
    assert "bench" in extras_of["models"], "the models extra must pull in bench"
    assert set(extras_of["all"]) == set(reqs) - {"core", "all", "test"}, (
        "the all extra must name every user-facing extra"
    )


def test_project_metadata_is_complete() -> None:
    project = _pyproject()["project"]
    versions = {c.rsplit(":: ", 1)[-1] for c in project["classifiers"]
                if c.startswith("Programming Language :: Python :: 3.")}
    low = project["requires-python"].removeprefix(">=")
    assert low in versions, "classifiers must list the lowest supported Python"


def test_readme_states_the_extras_and_the_torch_range_of_pyproject() -> None:
    from packaging.specifiers import SpecifierSet

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    reqs = _requirements()
    torch = next(r for r in reqs["models"] if _norm(r.name) == "torch")
    stated = {SpecifierSet(m) for m in re.findall(r"`torch((?:>=|<=|<|>|~=)[^`]*)`", readme)}
    assert stated == {torch.specifier}, (
        f"README.md states torch ranges {stated}; the models extra has {torch.specifier}"
    )
    table = set(re.findall(r"^\| `([a-z]+)` \|", readme, flags=re.MULTILINE))
    assert set(reqs) - {"core"} <= table, "README.md's extras table misses an extra"
