"""Third-party algorithms: the README's plug-in path end to end, in fresh processes.

An entry-point plug-in is installed here as a real distribution would be (a ``*.dist-info``
folder with ``entry_points.txt`` on ``sys.path``), and every check that depends on the
order of imports runs in a subprocess, where ``import metaheur`` happens for real.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_walk() -> str:
    """The README's RandomWalk example, as a module that does not register itself."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S)
                 if "class RandomWalk" in b)
    assert block.startswith("import metaheur\nfrom metaheur import Field, Real")
    return block.replace("@metaheur.register\n", "")


def _install(site: Path, *, entry_point: bool = True) -> Path:
    """``mywalk_pkg.walk:RandomWalk`` under ``site``, published through the entry-point
    group when ``entry_point``."""
    pkg = site / "mywalk_pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "walk.py").write_text(_readme_walk())
    if entry_point:
        info = site / "mywalk_pkg-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mywalk-pkg\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(
            "[metaheur.optimizers]\nrandom-walk = mywalk_pkg.walk:RandomWalk\n")
    return site


def _python(site: Path, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-c", code, *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_entry_point_plugin_with_the_documented_imports_loads(tmp_path: Path) -> None:
    """``import metaheur`` must not load plug-ins: a plug-in module that itself imports
    metaheur would meet a half-initialised package (a circular import)."""
    site = _install(tmp_path / "site")
    out = _python(site, "import metaheur; print(metaheur.available())")
    assert out.returncode == 0, out.stderr
    assert "random-walk" in eval(out.stdout), out.stdout  # noqa: S307 - our own list
    out = _python(site, "import metaheur; print(metaheur.get('random-walk').__module__)")
    assert out.returncode == 0 and out.stdout.strip() == "mywalk_pkg.walk", out.stderr


def test_import_metaheur_loads_no_plugin(tmp_path: Path) -> None:
    code = ("import importlib.metadata as md, sys\n"
            "seen = []\n"
            "real = md.entry_points\n"
            "md.entry_points = lambda **kw: seen.append(kw) or real(**kw)\n"
            "import metaheur, metaheur.optimizers, metaheur.restarts\n"
            "assert seen == [], seen\n"
            "metaheur.available()\n"
            "assert seen == [{'group': 'metaheur.optimizers'}], seen\n")
    out = _python(tmp_path, code)
    assert out.returncode == 0, out.stderr
