"""A tuned study as optuna-dashboard serves it (issue 13): every trial attribute a scalar."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
dashboard = pytest.importorskip("optuna_dashboard")

import optuna  # noqa: E402

from metaheur.cli import main  # noqa: E402


def _get(app, path: str) -> tuple[str, bytes]:  # noqa: ANN001 - a WSGI application
    env = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
           "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
           "wsgi.input": io.BytesIO(), "wsgi.url_scheme": "http"}
    seen: dict[str, str] = {}

    def start_response(status: str, headers: list, exc_info=None) -> None:  # noqa: ANN001
        seen["status"] = status

    body = b"".join(app(env, start_response))
    return seen["status"], body


def test_dashboard_shows_scalar_attributes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    rc = main(["tune", "--quick", "--quiet", "--n-jobs", "1", "--trials", "4", "--pop-size",
               "2", "--study", "dash", "--out", str(out)])
    assert rc == 0
    storage = optuna.storages.RDBStorage(f"sqlite:///{out / 'study.db'}")
    study = optuna.load_study(study_name="dash", storage=storage)
    status, body = _get(dashboard.wsgi(storage), f"/api/studies/{study._study_id}")
    assert status.startswith("200"), body[:300]
    trials = [t for t in json.loads(body)["trials"] if t["state"] == "Complete"]
    assert len(trials) == 4
    for trial in trials:
        attrs = {a["key"]: a["value"] for a in trial["user_attrs"]}
        assert any(k.startswith("val_") for k in attrs), attrs
        for key, value in attrs.items():
            # the dashboard renders each attribute as a string: a number, a short word or
            # the short list of class names; no JSON blob (predictions live in an
            # artifact, metrics are one attribute each)
            assert len(value) <= 120 and not value.startswith("{"), (key, value[:80])
            if value.startswith("["):
                assert all(isinstance(v, str) for v in json.loads(value)), (key, value)
        numbers = {k: float(v) for k, v in attrs.items() if k.startswith("val_")
                   and k != "val_predictions_artifact"}
        assert all(0.0 <= v <= 1.0 for v in numbers.values()), numbers
