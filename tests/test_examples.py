"""Every example runs as written (tiny budgets via ``METAHEUR_EXAMPLE_QUICK=1``)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from metaheur.cli import build_parser

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = {
    "minimize_quickstart.py": ([], "ask/tell: best error"),
    "optuna_plugin.py": ([], "best accuracy"),
    "custom_algorithm.py": ([], "my-es as an Optuna sampler"),
    "tune_lstm_elu.py": (["--out", "{tmp}/tune"], "not for clinical use"),
}


def _run_example(script: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "METAHEUR_EXAMPLE_QUICK": "1", "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_example_runs(script: str, tmp_path: Path) -> None:
    if script in ("tune_lstm_elu.py", "optuna_plugin.py"):
        pytest.importorskip("sklearn")
    if script == "tune_lstm_elu.py":
        pytest.importorskip("torch")
    args, expected = SCRIPTS[script]
    proc = _run_example(script, [a.format(tmp=tmp_path) for a in args], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert expected in proc.stdout
    if script == "tune_lstm_elu.py":
        assert (tmp_path / "tune" / "best.json").is_file()
        assert (tmp_path / "tune" / "trials.csv").is_file()


def test_tune_example_continues_only_its_own_study(tmp_path: Path) -> None:
    """Regression: ``tune_lstm_elu.py --data synthetic`` run into the folder of a ``--data
    digits`` study went on in that study, and reported a digits trial as the best of the
    synthetic run (best.json said ``"data": "synthetic"``). Another data set, seed or
    quick mode is now refused, naming both settings; the same settings continue."""
    pytest.importorskip("sklearn")
    pytest.importorskip("torch")
    import optuna

    out = str(tmp_path / "tune")
    first = _run_example("tune_lstm_elu.py",
                         ["--data", "digits", "--trials", "2", "--pop-size", "2", "--out", out],
                         tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    other = _run_example("tune_lstm_elu.py",
                         ["--data", "synthetic", "--trials", "4", "--pop-size", "2", "--out", out],
                         tmp_path)
    assert other.returncode == 2, other.stderr[-3000:]
    assert "digits" in other.stderr and "synthetic" in other.stderr and "--out" in other.stderr
    storage = f"sqlite:///{out}/study.db"
    assert len(optuna.load_study(study_name="lstm-elu-dlf-aoa", storage=storage).trials) == 2
    again = _run_example("tune_lstm_elu.py",
                         ["--data", "digits", "--trials", "3", "--pop-size", "2", "--out", out],
                         tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(optuna.load_study(study_name="lstm-elu-dlf-aoa", storage=storage).trials) == 3


def test_distributed_recipe_commands_parse() -> None:
    """The commands of distributed_postgres.md are valid ``metaheur`` command lines."""
    text = (EXAMPLES / "distributed_postgres.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line.startswith("metaheur "):
                commands.append(line)
    assert any(c.startswith("metaheur tune") and "--storage" in c for c in commands)
    assert any(c.startswith("metaheur report") for c in commands)
    parser = build_parser()
    for cmd in commands:
        argv = shlex.split(cmd.replace("$(hostname)", "host").replace('"$algo"', "pso"))[1:]
        args = parser.parse_args(argv)  # SystemExit on an unknown option
        assert args.storage.startswith("$METAHEUR_STORAGE")
