"""``metaheur list``: the registered algorithms and the test functions."""

from __future__ import annotations

import argparse
import inspect
import json
import re
from typing import Any

NO_PARAMS = "(no hyper-parameters)"


def add_parser(subparsers: Any, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``list`` sub-parser."""
    from metaheur.cli import HelpFormatter

    p = subparsers.add_parser(
        "list",
        parents=[common],
        help="list algorithms and test functions",
        description="List the registered algorithms (with plugins) and the test functions.",
        epilog="examples:\n  metaheur list\n  metaheur list --params --json",
        formatter_class=HelpFormatter,
    )
    p.add_argument("--json", action="store_true",
                   help="print JSON instead of a table (an infinite default as the string "
                   "\"inf\"/\"-inf\", as bench --json writes it)")
    p.add_argument("--params", "-p", action="store_true",
                   help="also show each algorithm's hyper-parameters and published defaults "
                   "(None: derived from other settings, as explained)")
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


def none_meaning(cls: type, key: str) -> str | None:
    """What a ``None`` default of ``key`` means, from the class docstring's
    ``"``key`` (...; ``None`` means ...)"`` (or ``"``None``: ..."``) phrase, or ``None``
    when it does not say. A restart variant (``inner_algo``) also asks its inner algorithm."""
    doc = " ".join((inspect.getdoc(cls) or "").split())
    said = r"``None``(?: means|:) ([^)]*)\)"
    m = re.search(rf"``{re.escape(key)}``(?:/``\w+``)*\s*\([^()]*?{said}", doc)
    if m is None:  # the second name of a pair: ``c1``/``c2`` (...)
        m = re.search(rf"``\w+``/``{re.escape(key)}``\s*\([^()]*?{said}", doc)
    if m is None and isinstance(getattr(cls, "inner_algo", None), str):
        import metaheur

        return none_meaning(metaheur.get(cls.inner_algo), key)
    return m[1].replace("``", "").strip() if m else None


def _shown(cls: type, params: dict[str, Any]) -> str:
    if not params:
        return NO_PARAMS
    parts = []
    for k, v in params.items():
        meaning = none_meaning(cls, k) if v is None else None
        if v is None:
            meaning = meaning or "derived from the other settings; see the class docstring"
            parts.append(f"{k}=None ({meaning})")
        else:
            parts.append(f"{k}={v!r}")
    return ", ".join(parts)


def run(args: argparse.Namespace) -> int:
    """Print the lists; returns 0."""
    import metaheur

    data: dict[str, Any] = collect()
    params = hyper_parameters() if args.params else {}
    if args.json:
        from metaheur.harness.jsondata import json_safe

        if args.params:  # a plug-in's default may be inf or a NumPy scalar: strict JSON
            data["params"] = json_safe(params)
        print(json.dumps(data, indent=2, allow_nan=False))
        return 0
    for title, items in (("algorithms", data["algorithms"]), ("functions", data["functions"])):
        print(f"{title}:")
        width = max((len(k) for k in items), default=0)
        for key, text in items.items():
            print(f"  {key:<{width}}  {text}")
            if key in params:
                print(f"  {'':<{width}}    {_shown(metaheur.get(key), params[key])}")
    return 0
