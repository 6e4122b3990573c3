"""``metaheur tune`` resumed on another dataset folder (regression, session 27's audit)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from metaheur.cli import main

pytest.importorskip("torch")


def _iq_folder(root: Path, seed: int) -> Path:
    """An IQ-OTH/NCCD layout with 20 small noise images per class (the fewest that the
    split's 20 folds of ``--quick`` allow)."""
    rng = np.random.default_rng(seed)
    for cls in ("Normal", "Bengin", "Malignant"):
        d = root / f"{cls} cases"
        d.mkdir(parents=True)
        for i in range(1, 21):
            gray = rng.integers(0, 256, (32, 32), dtype=np.uint8)
            Image.fromarray(np.stack([gray] * 3, -1)).save(d / f"{cls} case ({i}).jpg")
    return root


def test_a_study_resumed_on_another_data_folder_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """Only the data *format* was compared: ``--data dsB`` continued a study made on
    ``--data dsA``, and its best trial compared scores from two datasets."""
    monkeypatch.setenv("METAHEUR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    a, b = _iq_folder(tmp_path / "dsA", 0), _iq_folder(tmp_path / "dsB", 1)
    tune = ["tune", "--quick", "--n-jobs", "1", "--algo", "random", "--out", "rd", "-q"]
    assert main([*tune, "--trials", "2", "--data", "dsA"]) == 0
    assert json.loads((tmp_path / "rd" / "best.json").read_text())["data_path"] == str(a)
    capsys.readouterr()
    assert main([*tune, "--trials", "3", "--data", str(b)]) == 2
    err = capsys.readouterr().err
    assert "data_path" in err and f"--data {a}" in err and len(err.strip().splitlines()) == 1
    assert main([*tune, "--trials", "3", "--data", str(a)]) == 0  # the same folder, spelt
    assert json.loads((tmp_path / "rd" / "best.json").read_text())["trials"]["total"] == 3
