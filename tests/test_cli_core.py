"""End-to-end tests of the CLI dispatcher and the ``list`` / ``minimize`` subcommands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import metaheur
from metaheur import functions
from metaheur._minimize import STATUS
from metaheur.cli import SUBCOMMANDS, main
from metaheur.optuna import OPTUNA_SAMPLERS


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
    assert captured.err == ""  # stderr is not a terminal here: no progress bar
    # same seed, same result; --no-shift changes the problem
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["x"] == res["x"]
    assert main(argv + ["--no-shift", "--progress"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["shifted"] is False
    assert "307/307" in captured.err  # --progress forces the tqdm bar, on stderr


@pytest.mark.skipif(not metaheur.available(), reason="no algorithm registered")
def test_minimize_text(capsys) -> None:
    algo = metaheur.available()[-1]
    assert main(["minimize", "-f", "sphere", "-d", "2", "-a", algo, "-b", "100", "-q",
                 "--rotate"]) == 0
    out = capsys.readouterr().out
    assert f"{algo} on sphere (d=2, shifted, rotated" in out and "nfev     100" in out


def test_minimize_takes_a_budget_per_dimension_as_bench_does(capsys) -> None:
    """Regression (session 32's walk-through): ``bench --budget 1000d`` worked and
    ``minimize --budget 1000d`` was refused as not an integer."""
    assert main(["minimize", "-f", "sphere", "-d", "3", "-a", "pso", "-b", "40d",
                 "--pop-size", "10", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["nfev"] == 120


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


@pytest.mark.parametrize("module", ["metaheur", "metaheur.cli"])
def test_python_m_list_subprocess(module: str) -> None:
    root = str(Path(metaheur.__file__).resolve().parents[1])  # works uninstalled too
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}
    proc = subprocess.run([sys.executable, "-m", module, "list", "--json"],
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


def test_list_params_explains_none_and_empty(capsys) -> None:
    """Regression: GWO showed an empty line and PSO ``c1=None, c2=None`` unexplained."""
    assert main(["list", "--params"]) == 0
    lines = capsys.readouterr().out.splitlines()
    gwo = lines[[i for i, line in enumerate(lines) if line.strip().startswith("gwo ")][0] + 1]
    assert gwo.strip() == "(no hyper-parameters)"
    out = "\n".join(lines)
    assert "c1=None (1.496180 with constant inertia and 2.0 with linear inertia)" in out
    assert "n_ants=None (pop_size)" in out
    assert "=None," not in out and not out.rstrip().endswith("=None")


def test_none_meaning_falls_back_to_a_pointer() -> None:
    from metaheur.cli.list_cmd import _shown

    class Undocumented:
        """No phrase about ``x`` here."""

    assert _shown(Undocumented, {"x": None}) == (
        "x=None (derived from the other settings; see the class docstring)")


@pytest.mark.parametrize("command", [None, "list", "minimize", "tune", "bench", "report"])
def test_help_has_examples(command, capsys) -> None:
    assert main(([command] if command else []) + ["--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "metaheur " in out.split("examples:")[1]


def test_minimize_time_counts_the_optimisation_only(monkeypatch) -> None:
    """Regression: ``time`` included the imports of the first ``minimize()`` call."""
    from metaheur.cli import minimize_cmd

    clock = iter([10.0, 10.5, 11.0, 12.0])
    monkeypatch.setattr(minimize_cmd.time, "perf_counter", lambda: next(clock))
    timed = minimize_cmd._Timed(lambda X: X)
    assert timed.seconds == 0.0
    timed(1)
    timed(2)
    assert timed.seconds == pytest.approx(2.0)  # first call's start to last call's end


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["minimize", "--seed", "-1"], "argument --seed/-s: must be >= 0, got -1"),
        (["minimize", "--seed", "1.5"], "argument --seed/-s: must be an integer, got '1.5'"),
        (["bench", "--n-jobs", "100000"], "argument --n-jobs/-j: must be between -1 and"),
        (["bench", "--runs", "0"], "argument --runs: must be >= 1, got 0"),
        # a value starting with '-' and a digit reaches the option's own check, not argparse's
        # "expected one argument" (regression: `--budget -5d`, `--pop-size -3x`)
        (["bench", "--budget", "-5d"], "budget must be a positive integer or '<k>d'"),
        (["bench", "--budget=-5d"], "budget must be a positive integer or '<k>d'"),
        (["bench", "--budget", "-100"], "budget must be a positive integer or '<k>d'"),
        (["bench", "--budget", "0d"], "budget must be a positive integer or '<k>d'"),
        (["bench", "--pop-size", "-3x"], "argument --pop-size: must be an integer, got '-3x'"),
        (["bench", "--pop-size", "-3"], "argument --pop-size: must be >= 1, got -3"),
        (["tune", "--pop-size", "-3x"], "argument --pop-size: must be an integer, got '-3x'"),
        (["tune", "--timeout", "-5s"], "argument --timeout: must be a number > 0, got '-5s'"),
        (["minimize", "--budget", "-1e3"],
         "argument --budget/-b: must be an integer >= 1 or <k>d with k >= 1 (k × --dim, e.g. "
         "1000d), got '-1e3'"),
        (["minimize", "--budget", "0d"], "argument --budget/-b: must be an integer >= 1 or"),
        (["minimize", "--pop-size", "-3x"], "argument --pop-size: must be an integer, got '-3x'"),
    ],
)
def test_bad_values_name_the_argument(argv, needle, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


def test_verbosity_controls_our_and_optunas_log() -> None:
    import logging

    import optuna

    from metaheur.cli import configure_logging

    try:
        configure_logging(0)
        assert optuna.logging.get_verbosity() == logging.ERROR
        assert logging.getLogger().level == logging.WARNING
        configure_logging(1)
        assert logging.getLogger().level == logging.INFO
        configure_logging(2)  # -vv: Optuna's per-trial log is back
        assert optuna.logging.get_verbosity() == logging.INFO
        assert logging.getLogger().level == logging.DEBUG
    finally:
        configure_logging(0)


def test_sigterm_ends_a_command_like_ctrl_c(monkeypatch, capsys) -> None:
    import signal

    from metaheur.cli import list_cmd

    def terminated(args):  # noqa: ANN001, ANN202
        signal.raise_signal(signal.SIGTERM)
        raise AssertionError("SIGTERM did not stop the command")

    monkeypatch.setattr(list_cmd, "run", terminated)
    assert main(["list"]) == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    assert err.strip() == "metaheur list: interrupted"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored afterwards



def _run_child(code: str) -> tuple[int, str]:
    """Run ``code`` in a child Python whose environment lacks ``PYTHONUNBUFFERED`` (a
    user's shell rarely sets it; CI does), and return the exit status and stderr that
    the code printed on its stdout."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True, env=env).stdout
    rc, _, err = out.partition("\n")
    return int(rc), err


@pytest.mark.parametrize("argv", [["list", "--params"], ["list"], ["--version"]])
def test_closed_output_pipe_ends_quietly(argv: list[str]) -> None:
    """``metaheur list --params | head -1``: the reader closing the pipe ends the command
    quietly with 141 (128 + SIGPIPE), as for a shell tool; it used to print "error: Broken
    pipe" on stderr and exit 2, and with stdout buffered (no ``PYTHONUNBUFFERED``) a short
    output failed only at exit: "Exception ignored ... BrokenPipeError", exit 120."""
    code = (
        "import os, subprocess, sys\n"
        "r, w = os.pipe()\n"
        "os.close(r)\n"
        f"p = subprocess.run([sys.executable, '-m', 'metaheur', *{argv!r}],\n"
        "                   stdout=w, stderr=subprocess.PIPE, text=True)\n"
        "print(p.returncode); print(p.stderr, end='')\n"
    )
    assert _run_child(code) == (141, "")


def test_broken_pipe_elsewhere_is_an_error() -> None:
    """A ``BrokenPipeError`` that is not stdout's (a worker's pipe, a socket) is reported as
    an error, not taken for a reader that went away."""
    code = (
        "import subprocess, sys\n"
        "prog = ('import sys, metaheur.cli as c, metaheur.cli.list_cmd as l\\n'\n"
        "        'def run(args): raise BrokenPipeError(32, \"Broken pipe\")\\n'\n"
        "        'l.run = run\\n'\n"
        "        'sys.exit(c.main([\"list\"]))\\n')\n"
        "p = subprocess.run([sys.executable, '-c', prog], capture_output=True, text=True)\n"
        "print(p.returncode); print(p.stderr, end='')\n"
    )
    rc, err = _run_child(code)
    assert rc == 2 and err.strip() == "metaheur list: error: Broken pipe", err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_minimize_prints_the_best_so_far(monkeypatch, capsys, signum) -> None:
    """Ctrl-C or SIGTERM stops ``minimize`` "keeping what finished" (README): the best of the
    finished iterations is printed, marked as interrupted, before the interrupted exit (it
    used to print nothing but "interrupted")."""
    from metaheur.cli import minimize_cmd

    calls = []
    real = minimize_cmd._Timed.__call__

    def third_call_interrupted(self, X):  # noqa: ANN001, ANN202
        calls.append(1)
        if len(calls) == 3:
            signal.raise_signal(signum)  # SIGINT: Python's KeyboardInterrupt
        return real(self, X)

    monkeypatch.setattr(minimize_cmd._Timed, "__call__", third_call_interrupted)
    # Python's own SIGINT handler, also where the suite runs in the background (`cmd &`
    # starts it with SIGINT ignored; the CLI keeps what it inherits, as it should)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        rc = main(["minimize", "-f", "sphere", "-d", "3", "-a", "gwo", "--pop-size", "10",
                   "--budget", "1000", "--json", "--quiet"])
    finally:
        signal.signal(signal.SIGINT, previous)
    assert rc == 128 + signum
    captured = capsys.readouterr()
    res = json.loads(captured.out)
    # status 4, documented (it was -1, the status of a callback's interim result)
    assert (res["nfev"], res["nit"], res["status"], res["success"]) == (20, 1, 4, False)
    assert STATUS[4] == "interrupted (Ctrl-C or SIGTERM)"
    assert res["message"] == STATUS[4] and res["fun"] == pytest.approx(res["error"])
    assert "interrupted" in captured.err


@pytest.mark.parametrize(("missing", "argv"), [
    ("pandas", ["report", "--storage", "sqlite:///{tmp}/s.db"]),
    ("scipy", ["bench", "--algos", "pso", "--functions", "sphere", "--dim", "2", "--runs", "1",
               "--budget", "60", "--out", "{tmp}/b"]),
])
def test_a_missing_extra_is_named(missing: str, argv: list[str], tmp_path: Path, monkeypatch,
                                  capsys) -> None:
    """``report`` and ``bench`` on the core install (no ``bench`` extra) say which extra to
    install, in one line; they used to end in a ModuleNotFoundError traceback."""
    import optuna

    optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}", study_name="s")
    capsys.readouterr()
    monkeypatch.setitem(sys.modules, missing, None)  # as if not installed
    import metaheur.harness

    for name in ("report", "bench", "bench_report", "stats", "plots"):  # afresh, as on first use
        monkeypatch.delitem(sys.modules, f"metaheur.harness.{name}", raising=False)
        monkeypatch.delattr(metaheur.harness, name, raising=False)
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert missing in err and "pip install 'metaheur[bench]'" in err
    assert len(err.strip().splitlines()) == 1


def test_an_import_error_of_an_installed_package_is_not_called_missing(monkeypatch) -> None:
    """A package that is installed but lacks a name (too old: ``from scipy.stats import
    x``) raises ImportError, not ModuleNotFoundError: its traceback shows, instead of
    "needs scipy.stats, which is not installed" (review finding)."""
    from metaheur.cli import list_cmd

    def too_old(args):  # noqa: ANN001, ANN202
        raise ImportError("cannot import name 'x' from 'scipy.stats'", name="scipy.stats")

    monkeypatch.setattr(list_cmd, "run", too_old)
    with pytest.raises(ImportError, match="cannot import name"):
        main(["list"])


def test_bench_without_matplotlib_stops_before_the_runs(tmp_path: Path, monkeypatch,
                                                         capsys) -> None:
    """With matplotlib missing, ``bench`` names the extra before running anything (it used
    to run every benchmark run and fail while plotting; review finding)."""
    from metaheur.harness import bench

    def never(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the runs started")

    monkeypatch.setattr(bench, "run_benchmark", never)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    assert main(["bench", "--algos", "pso", "--functions", "sphere", "--dim", "2", "--runs",
                 "1", "--budget", "60", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "matplotlib" in err and "pip install 'metaheur[bench]'" in err


def _readme_commands() -> list[list[str]]:
    """Every ``metaheur ...`` command in the README's bash blocks (continuations joined,
    comments and ``[--json]``-style optional parts dropped)."""
    import re
    import shlex

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", readme, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\[[^\]]*\]", "", line.split("#")[0]).strip()
            if line.startswith("metaheur "):
                commands.append(shlex.split(line.replace("$METAHEUR_STORAGE", "sqlite:///x"))[1:])
    return commands


def test_readme_commands_parse_and_fit_their_samplers() -> None:
    """The README's commands use options that exist, and its bench example gives Optuna's
    samplers (one trial per evaluation) no budget the bench itself warns about: it had tpe
    at 10000d, i.e. 300,000 TPE trials per run."""
    from metaheur.cli import build_parser
    from metaheur.harness import bench

    commands = _readme_commands()
    assert {c[0] for c in commands} >= {"list", "minimize", "tune", "report", "bench"}
    parser = build_parser()
    for argv in commands:
        args = parser.parse_args(argv)
        if argv[0] == "bench":
            slow = set(OPTUNA_SAMPLERS) & set(args.algos.split(","))
            dim = max(int(d) for d in (args.dim or "10,30").split(","))
            assert not slow or bench.parse_budget(args.budget, dim) <= 2000, argv


def test_list_params_explains_none_of_the_restart_variants(capsys) -> None:
    """``pso-ipop`` showed ``c1=None (derived from the other settings; see the class
    docstring)`` where ``pso`` says what it is, and no variant explained ``restart_iters``."""
    assert main(["list", "--params"]) == 0
    lines = capsys.readouterr().out.splitlines()

    def params(name: str) -> str:
        return lines[[i for i, line in enumerate(lines) if line.split()[:1] == [name]][0] + 1]

    assert "c1=None (1.496180 with constant inertia and 2.0 with linear inertia)" in \
        params("pso-ipop")
    assert "n_ants=None (pop_size)" in params("aco")
    assert "n_ants=10," in params("aco-ipop")  # RESTART_TUNED
    assert "restart_iters=None (the whole remaining budget" in params("aoa-ipop")
    assert "see the class docstring" not in "\n".join(lines)


def test_list_params_json_is_strict_for_any_plug_in_default(monkeypatch, capsys) -> None:
    """Regression: ``list --params --json`` wrote a plug-in's default ``inf`` as the token
    ``Infinity`` (not JSON: strict parsers refuse the whole listing) and stopped with a
    traceback on a NumPy integer default (``TypeError: Object of type int64 is not JSON
    serializable``)."""
    import numpy as np

    from metaheur import _registry
    from metaheur.optimizers.gwo import GWO

    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))
    odd = type("OddDefaults", (GWO,), {"name": "odd-defaults", "__module__": "audit_plugin",
                                       "defaults": {"tol": float("inf"), "k": np.int64(3)}})
    metaheur.register(odd)
    assert main(["list", "--params", "--json"]) == 0
    out = capsys.readouterr().out

    def refuse(token: str) -> None:
        raise ValueError(f"{token} is not JSON")

    data = json.loads(out, parse_constant=refuse)
    assert data["params"]["odd-defaults"] == {"tol": "inf", "k": 3}


def test_tune_seeds_of_workers_and_resumed_runs_never_collide() -> None:
    """Regression: Optuna's samplers in ``tune`` were seeded ``seed + 1000 * worker + n``
    (``n``: the first trial the sampler asks), so worker 1 of a first run (first trial #0)
    and worker 0 of the run resumed at trial #1000 got one seed, and the random sampler
    drew the same points again. ``n`` is unique in a study: ``seed + n`` never repeats."""
    import optuna

    from metaheur.harness.seeding import tune_sampler

    def first_point(worker: int, finished: int) -> float:
        study = optuna.create_study(sampler=tune_sampler("random", 0, 4, 2000, {}, {}, worker))
        for _ in range(finished):
            study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
        return study.ask().suggest_float("x", 0.0, 1.0)

    assert first_point(1, 0) != first_point(0, 1000)
    assert first_point(1, 1001) != first_point(0, 1) != first_point(2, 2002)
    # a lone run on a new study keeps its seed: its first trial is #0
    seeded = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    assert first_point(0, 0) == seeded.ask().suggest_float("x", 0.0, 1.0)
