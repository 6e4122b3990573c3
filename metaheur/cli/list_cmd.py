"""``metaheur list``: the registered algorithms and the test functions."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``list`` sub-parser."""
    p = subparsers.add_parser(
        "list",
        help="list algorithms and test functions",
        description="List the registered algorithms (with plugins) and the test functions.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


def collect() -> dict[str, dict[str, str]]:
    """``{"algorithms": {name: summary}, "functions": {name: description}}``."""
    import metaheur
    from metaheur import functions

    algos = {name: metaheur.get(name).summary for name in metaheur.available()}
    return {"algorithms": algos, "functions": dict(sorted(functions.FUNCTIONS.items()))}


def run(args: argparse.Namespace) -> int:
    """Print the lists; returns 0."""
    data = collect()
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    for title, items in (("algorithms", data["algorithms"]), ("functions", data["functions"])):
        print(f"{title}:")
        width = max((len(k) for k in items), default=0)
        for key, text in items.items():
            print(f"  {key:<{width}}  {text}")
    return 0
