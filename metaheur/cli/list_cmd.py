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
    p.add_argument("--params", "-p", action="store_true",
                   help="also show each algorithm's hyper-parameters and published defaults")
    return p


def collect() -> dict[str, dict[str, str]]:
    """``{"algorithms": {name: summary}, "functions": {name: description}}``."""
    import metaheur
    from metaheur import functions

    algos = {name: metaheur.get(name).summary for name in metaheur.available()}
    return {"algorithms": algos, "functions": dict(sorted(functions.FUNCTIONS.items()))}


def hyper_parameters() -> dict[str, dict[str, Any]]:
    """``{name: {parameter: default}}`` for every registered algorithm."""
    import metaheur

    return {name: dict(metaheur.get(name).defaults) for name in metaheur.available()}


def run(args: argparse.Namespace) -> int:
    """Print the lists; returns 0."""
    data: dict[str, Any] = collect()
    params = hyper_parameters() if args.params else {}
    if args.json:
        if args.params:
            data["params"] = params
        print(json.dumps(data, indent=2))
        return 0
    for title, items in (("algorithms", data["algorithms"]), ("functions", data["functions"])):
        print(f"{title}:")
        width = max((len(k) for k in items), default=0)
        for key, text in items.items():
            print(f"  {key:<{width}}  {text}")
            if key in params:
                shown = ", ".join(f"{k}={v!r}" for k, v in params[key].items())
                print(f"  {'':<{width}}    {shown}")
    return 0
