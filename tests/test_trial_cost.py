"""``benchmarks/trial_cost.py``: the former and the current trial path, compared in one run,
store the same numbers, and the former path is restored on exit."""

from __future__ import annotations

import pytest
from helpers import load_benchmark, restored_process_state


@pytest.fixture(scope="module")
def tc():
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    import torch  # noqa: F401  (loaded first, so its thread count is restored afterwards)

    with restored_process_state():
        yield load_benchmark("trial_cost")


def test_legacy_path_is_restored_on_exit(tc):
    from metaheur.models.lstm_elu import LSTMELU
    from metaheur.models.objectives.lstm_elu import LSTMELUObjective

    current = LSTMELU._run, LSTMELUObjective._score
    with pytest.raises(RuntimeError), tc.legacy():
        assert LSTMELU._run is tc._former_run
        assert LSTMELUObjective._score is tc._former_score
        raise RuntimeError
    assert (LSTMELU._run, LSTMELUObjective._score) == current


@pytest.mark.slow  # two tiny trials per path: about 8 s on 2 cores
def test_quick_run_prints_a_table_of_identical_pairs(tc, capsys):
    assert tc.main(["--quick", "--datasets", "digits", "--trials", "2"]) == 0
    out = capsys.readouterr().out
    header, row = out.splitlines()[:2]
    assert header.split() == ["dataset", "trials", "former_s", "current_s", "speed-up",
                              "cpu_former_s", "cpu_current_s", "cpu_speed-up",
                              "optuna_former_s", "optuna_current_s", "identical"]
    cells = row.split()
    assert cells[0] == "digits" and cells[1] == "2" and cells[-1] == "yes"
    assert float(cells[4]) > 0
    assert "load average" in out


def test_bad_arguments_are_refused(tc, capsys):
    with pytest.raises(SystemExit):
        tc.main(["--datasets", "mnist"])
    assert "unknown dataset(s) ['mnist']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tc.main(["--trials", "0"])
    assert "--trials must be >= 1" in capsys.readouterr().err
