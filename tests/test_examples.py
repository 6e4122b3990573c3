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


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_example_runs(script: str, tmp_path: Path) -> None:
    if script in ("tune_lstm_elu.py", "optuna_plugin.py"):
        pytest.importorskip("sklearn")
    if script == "tune_lstm_elu.py":
        pytest.importorskip("torch")
    args, expected = SCRIPTS[script]
    env = {**os.environ, "METAHEUR_EXAMPLE_QUICK": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *[a.format(tmp=tmp_path) for a in args]],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert expected in proc.stdout
    if script == "tune_lstm_elu.py":
        assert (tmp_path / "tune" / "best.json").is_file()
        assert (tmp_path / "tune" / "trials.csv").is_file()


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
