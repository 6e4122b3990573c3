"""End-to-end tests of the CLI dispatcher and the ``list`` / ``minimize`` subcommands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import metaheur
from metaheur import functions
from metaheur.cli import SUBCOMMANDS, main


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_list_json(capsys) -> None:
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted(data["algorithms"]) == metaheur.available()
    assert sorted(data["functions"]) == functions.available()
    assert all(isinstance(v, str) for v in data["algorithms"].values())


def test_list_table(capsys) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "algorithms:" in out and "functions:" in out and "rastrigin" in out
    for name in metaheur.available():
        assert name in out


@pytest.mark.skipif(not metaheur.available(), reason="no algorithm registered")
def test_minimize_json(capsys) -> None:
    algo = metaheur.available()[0]
    argv = ["minimize", "--function", "rastrigin", "--dim", "3", "--algo", algo,
            "--budget", "307", "--seed", "1", "--pop-size", "10", "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    res = json.loads(captured.out)
    assert res["nfev"] == 307 and res["algo"] == algo and res["function"] == "rastrigin"
    assert res["shifted"] is True and len(res["x"]) == 3
    fn = functions.get("rastrigin", 3, seed=1)
    assert res["fun"] == pytest.approx(fn(res["x"]))
    assert res["error"] == pytest.approx(res["fun"] - fn.f_opt)
    assert "307/307" in captured.err  # the tqdm bar goes to stderr
    # same seed, same result; --no-shift changes the problem
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["x"] == res["x"]
    assert main(argv + ["--no-shift", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["shifted"] is False and captured.err == ""


@pytest.mark.skipif(not metaheur.available(), reason="no algorithm registered")
def test_minimize_text(capsys) -> None:
    algo = metaheur.available()[-1]
    assert main(["minimize", "-f", "sphere", "-d", "2", "-a", algo, "-b", "100", "-q",
                 "--rotate"]) == 0
    out = capsys.readouterr().out
    assert f"{algo} on sphere (d=2, shifted, rotated" in out and "nfev     100" in out


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["minimize", "--algo", "nope-algo", "-q"], "unknown algorithm 'nope-algo'; available:"),
        (["minimize", "--function", "nope", "-q"], "unknown test function 'nope'; available:"),
        (["minimize", "--function", "rosenbrock", "--dim", "1", "-q"], "dim must be"),
        (["minimize", "--dim", "x"], "argument --dim"),
        (["minimize", "--budget", "5", "-q"], "budget must be at least one population"),
        (["minimize", "--pop-size", "0", "-q"], "pop_size"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_input_one_line_exit_2(argv, needle, capsys) -> None:
    if argv[:1] == ["minimize"] and "--algo" not in argv:
        argv = argv + ["--algo", metaheur.available()[0]]
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in captured.err
    assert lines[0].startswith("metaheur")


def test_help_and_version(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name, _ in SUBCOMMANDS:
        assert name in out
    assert main(["--version"]) == 0
    assert metaheur.__version__ in capsys.readouterr().out


def test_subcommand_modules_follow_the_protocol() -> None:
    import importlib

    names = [name for name, _ in SUBCOMMANDS]
    assert len(names) == len(set(names)) and {"list", "minimize"} <= set(names)
    for _, module_name in SUBCOMMANDS:
        module = importlib.import_module(module_name)
        assert callable(module.add_parser) and callable(module.run)


def test_python_m_list_subprocess() -> None:
    root = str(Path(metaheur.__file__).resolve().parents[1])  # works uninstalled too
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}
    proc = subprocess.run([sys.executable, "-m", "metaheur.cli", "list", "--json"],
                          capture_output=True, text=True, timeout=120, check=False, env=env)
    assert proc.returncode == 0, proc.stderr
    assert sorted(json.loads(proc.stdout)["functions"]) == functions.available()


def test_list_params_shows_published_defaults(capsys):
    from metaheur.cli import main

    assert main(["list", "--params"]) == 0
    out = capsys.readouterr().out
    assert "C1=2" in out and "levy_scale=0.1" in out and "q=0.0001" in out
    assert main(["list", "--params", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["params"]["pso"]["w"] == 0.729844
