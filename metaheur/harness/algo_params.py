"""An algorithm's hyper-parameters as text: ``--algo-param KEY=VALUE`` and specs.

``metaheur minimize`` and ``metaheur tune`` take any hyper-parameter of the chosen
algorithm (``metaheur list --params`` lists them), e.g. ``--algo-param boundary=reflect
--algo-param levy_scale=unscaled``; ``tune`` also takes its sampler's options
(``skip_evaluated=false``, ...). ``metaheur bench --algos`` and the benchmark scripts name
a variant by a spec, ``dlf-aoa:boundary=reflect:levy_scale=1`` (:func:`parse_spec`). A
value is read as :func:`text_value` says; the algorithm's declared constraint then checks
it (metaheur/_params.py) and a bad one is a one-line error naming what is allowed.
:func:`value_text` writes a value back as text that reads the same (the command that
resumes a study).
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["MINIMIZE_OWNED", "text_value", "value_text", "key_value", "check_algo_params",
           "check_param_names", "check_optuna_params", "as_options", "parse_spec",
           "split_specs", "spec_label"]

#: minimize()'s arguments that ``metaheur minimize`` and ``metaheur bench`` set with options
#: of their own: a spec or ``--algo-param`` naming one is refused, naming the option.
MINIMIZE_OWNED = {"pop_size": "--pop-size", "seed": "--seed", "budget": "--budget"}

_PLAIN = re.compile(r"[\w.+\-/]+")  # text written as it is; anything else is quoted JSON
_KEY = re.compile(r"\s*[A-Za-z_]\w*\s*=")
_KEY_AHEAD = re.compile(rf"{_KEY.pattern}|$")
_WORDS = {"true": True, "false": False, "none": None, "null": None}


def text_value(text: str) -> Any:
    """The value ``text`` means: ``true``/``false`` (any case) a bool, ``none``/``null``
    None, an integer, a real number (``1e-3``; ``nan`` and ``inf`` too, which the
    constraints refuse by name), a JSON list, object or string (``[...]``, ``{...}``,
    ``"1"``: the text 1, not the number), otherwise the text itself without surrounding
    spaces (``reflect``); ``ValueError`` for malformed JSON."""
    word = text.strip()
    if word.lower() in _WORDS:
        return _WORDS[word.lower()]
    for convert in (int, float):
        try:
            return convert(word)
        except ValueError:
            pass
    if word[:1] in ("[", "{", '"'):
        try:
            return json.loads(word)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{text!r} is not valid JSON ({exc.msg})") from None
    return word


def value_text(value: Any) -> str:
    """``value`` as text that :func:`text_value` reads back as an equal value (ints stay
    ints, floats round-trip by ``repr``)."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "none"}[value]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, str):
        plain = _PLAIN.fullmatch(value) and value.lower() not in _WORDS
        try:
            float(value)
        except ValueError:
            return value if plain else json.dumps(value)
        return json.dumps(value)  # "1" is text, not the number
    return json.dumps(value, sort_keys=True)


def key_value(text: str) -> tuple[str, Any]:
    """argparse ``type`` of ``--algo-param``: ``"KEY=VALUE"`` -> ``(KEY, text_value(VALUE))``."""
    key, eq, rest = text.partition("=")
    key = key.strip()
    if not eq or not key.isidentifier() or not rest.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. boundary=reflect), got "
                                         f"{text!r}")
    try:
        return key, text_value(rest)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def check_algo_params(
    cls: Any,
    pairs: Iterable[tuple[str, Any]],
    *,
    options: Iterable[str] = (),
    owned: Mapping[str, str] | None = None,
    what: str = "--algo-param",
) -> dict[str, Any]:
    """The ``--algo-param`` pairs as a dict for algorithm class ``cls``: each key once, a
    hyper-parameter of ``cls`` (its ``defaults``) or one of ``options`` (a sampler's); a key
    the command sets with an option of its own (``owned``: key -> option, e.g. ``pop_size``
    -> ``--pop-size``) is refused naming that option. Errors start with ``what`` and the
    key. Values are checked later, by the algorithm's constraints."""
    return check_param_names(cls.name, [*cls.defaults, *options], pairs, owned=owned,
                             what=what)


def check_param_names(
    name: str,
    allowed: Iterable[str] | None,
    pairs: Iterable[tuple[str, Any]],
    *,
    owned: Mapping[str, str] | None = None,
    what: str = "--algo-param",
    kind: str = "hyper-parameter",
) -> dict[str, Any]:
    """``pairs`` as a dict whose keys are each given once and are among ``allowed`` (the
    names ``name`` takes; None: not checked here); ``owned`` keys are refused naming the
    option that sets them. ``ValueError`` starting with ``what`` and the key otherwise."""
    owned = dict(owned or {})
    allowed = None if allowed is None else list(allowed)
    params: dict[str, Any] = {}
    for key, value in pairs:
        if key in params:
            raise ValueError(f"{what} {key} is given twice")
        if key in owned:
            raise ValueError(f"{what} {key}: set it with {owned[key]}")
        if allowed is not None and key not in allowed:
            raise ValueError(f"{what} {key}: {name} has no such {kind}; "
                             f"allowed: {', '.join(allowed) or 'none'}")
        params[key] = value
    return params


def check_optuna_params(
    name: str,
    pairs: Iterable[tuple[str, Any]],
    *,
    owned: Mapping[str, str] | None = None,
    what: str = "--algo-param",
) -> dict[str, Any]:
    """Like :func:`check_algo_params` for Optuna's sampler ``name`` (``tpe``, ``cmaes``,
    ``random``): each key once, none that the command owns (CMA-ES's ``popsize`` is
    ``--pop-size``); then names and values by building the sampler once
    (:func:`metaheur.optuna.make_sampler` says which options exist and what they take)."""
    import warnings

    from optuna.exceptions import ExperimentalWarning

    from metaheur.optuna._factories import make_sampler

    owned = {**(owned or {}), **({"popsize": "--pop-size"} if name == "cmaes" else {})}
    params = check_param_names(name, None, pairs, owned=owned, what=what)
    try:
        with warnings.catch_warnings():  # a check only: tune's run filters these too
            warnings.simplefilter("ignore", ExperimentalWarning)
            make_sampler(name, **params)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None
    return params


def as_options(params: Mapping[str, Any]) -> list[str]:
    """``params`` as command-line words: ``--algo-param KEY=VALUE`` per item, sorted."""
    words: list[str] = []
    for key in sorted(params):
        words += ["--algo-param", f"{key}={value_text(params[key])}"]
    return words


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"name"`` or ``"name:KEY=VALUE:KEY=VALUE"`` -> ``(name, params)``, each value read
    by :func:`text_value`; ``,`` separates items too (``name:KEY=VALUE,KEY=VALUE``), and
    either splits only before ``KEY=``, so JSON values keep theirs (``ipop:inner_params={"w":
    0.5, "c1": 2}``). ``ValueError`` naming the spec for an item that is not ``KEY=VALUE`` or
    a key given twice. The name is not checked here."""
    name, *items = _split_spec(spec)
    if ":" in name:
        raise ValueError(f"{spec!r}: expected NAME or NAME:KEY=VALUE[:KEY=VALUE...]")
    params: dict[str, Any] = {}
    for item in items:
        try:
            key, value = key_value(item)
        except argparse.ArgumentTypeError as exc:
            raise ValueError(f"{spec!r}: {exc}") from None
        if key in params:
            raise ValueError(f"{spec!r}: {key} is given twice")
        params[key] = value
    return name.strip(), params


def split_specs(text: str) -> list[str]:
    """``--algos`` text cut into specs at each ``,`` that stands outside a JSON string,
    list or object and before a name, not before ``KEY=`` (which continues the spec, see
    :func:`parse_spec`): ``'pso,ipop:inner_params={"w": 0.5, "c1": 2},pso:w=0.5,c1=2'`` is
    three specs. Items are not stripped or checked here."""
    return _split_outside_json(text, ",", lambda i: not _KEY.match(text, i + 1))


def _split_spec(spec: str) -> list[str]:
    """``spec`` cut at each ``:`` or ``,`` that stands outside a JSON string, list or
    object and before ``KEY=`` (or at the end)."""
    return _split_outside_json(spec, ":,", lambda i: bool(_KEY_AHEAD.match(spec, i + 1)))


def _split_outside_json(text: str, separators: str, cut: Callable[[int], bool]) -> list[str]:
    """``text`` cut at each character of ``separators`` at index ``i`` that stands outside
    a JSON string, list or object and where ``cut(i)`` holds."""
    parts, start, depth, quoted, escaped = [], 0, 0, False, False
    for i, c in enumerate(text):
        if quoted:
            escaped, quoted = (False, True) if escaped else (c == "\\", c != '"')
        elif c == '"':
            quoted = True
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth = max(depth - 1, 0)
        elif c in separators and depth == 0 and cut(i):
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def spec_label(name: str, params: Mapping[str, Any]) -> str:
    """The canonical spec of ``name`` with ``params`` (given order), which
    :func:`parse_spec` reads back: ``name`` alone without parameters."""
    return name + "".join(f":{k}={value_text(v)}" for k, v in params.items())
