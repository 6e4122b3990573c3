"""How long ``metaheur tune`` takes to stop after Ctrl-C or SIGTERM, and what it leaves.

Starts ``metaheur tune --quick`` (tiny models, so trials are short and a stop lands at a
random point of one), waits until the first trial is COMPLETE (or, for ``early``, until the
study exists while the workers still start), sends the signal, and prints one row per
case: seconds from the signal to the exit, the exit status, the trials left RUNNING, whether
an SQLite journal was left behind, and the stderr lines. Run with ``nice`` and note the
load average beside the numbers: they measure this machine at this load.

    python benchmarks/stop_latency.py --repeats 2
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = [  # (name, --n-jobs, signal, to the process group, wait for a COMPLETE trial)
    ("sigterm n-jobs 2", "2", signal.SIGTERM, False, True),
    ("sigterm n-jobs 1", "1", signal.SIGTERM, False, True),
    ("ctrl-c n-jobs 2", "2", signal.SIGINT, True, True),
    ("ctrl-c n-jobs 1", "1", signal.SIGINT, True, True),
    ("early ctrl-c n-jobs 2", "2", signal.SIGINT, True, False),
]


def _states(db: Path) -> list[str]:
    with sqlite3.connect(db) as con:
        return [r[0] for r in con.execute("SELECT state FROM trials")]


def one(case: tuple, folder: Path) -> dict:
    """Run one case; returns its row."""
    name, n_jobs, signum, group, wait_complete = case
    out = folder / name.replace(" ", "-")
    cmd = [sys.executable, "-m", "metaheur", "tune", "--quick", "--algo", "random",
           "--trials", "500", "--n-jobs", n_jobs, "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    db = out / "study.db"
    while proc.poll() is None:
        try:
            if db.is_file() and (not wait_complete or "COMPLETE" in _states(db)):
                break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.1)
    if not wait_complete:
        time.sleep(1.0)
    t0 = time.monotonic()
    if group:
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    _, err = proc.communicate(timeout=600)
    seconds = time.monotonic() - t0
    return {"case": name, "stop_s": seconds, "exit": proc.returncode,
            "running_left": _states(db).count("RUNNING"),
            "journal_left": (out / "study.db-journal").exists(),
            "stderr_lines": len(err.strip().splitlines()),
            "traceback": "Traceback" in err}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for case in CASES:
                rows.append(one(case, Path(tmp) / str(r)))
    head = ["case", "stop_s", "exit", "running_left", "journal_left", "stderr_lines",
            "traceback"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for row in rows:
        print("| " + " | ".join(f"{row[k]:.1f}" if k == "stop_s" else str(row[k])
                                for k in head) + " |")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
