"""The project's documents: every ``docs/<page>.md §N`` citation in the code lands on a heading.

Docstrings and comments cite sections as ``docs/algorithms.md §1.2``, ranges as
``§1.2-1.5`` or ``§1-§2``, and lists as ``§0.3, §10.3`` or ``§0.3 and §10.3``. Every number
must be a heading of that page (``## 1.`` / ``### 1.2``); a citation of a page that does not
exist fails too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: Where citations live: the library, the models, the scripts and the tests, plus the README.
CITING = [ROOT / d for d in ("metaheur", "models", "benchmarks", "examples", "tests")]


def _sources() -> list[Path]:
    files = [p for d in CITING if d.exists() for p in sorted(d.rglob("*.py"))]
    return [p for p in files if p.resolve() != Path(__file__).resolve()]  # not these examples

_CITATION = re.compile(  # a citation may wrap onto the next line of a docstring or comment
    r"docs/([a-z_]+\.md)((?:[\s,;#]*(?:and\s+)?§\d+(?:\.\d+)*(?:\s*[-–]\s*§?\d+(?:\.\d+)*)?)*)"
)
_SECTION = re.compile(r"§?(\d+(?:\.\d+)*)(?:\s*[-–]\s*§?(\d+(?:\.\d+)*))?")
_HEADING = re.compile(r"^#{2,4}\s+(\d+(?:\.\d+)*)\.?\s", re.MULTILINE)


def _headings(page: Path) -> set[str]:
    return set(_HEADING.findall(page.read_text(encoding="utf-8")))


def _citations() -> list[tuple[str, str, str]]:
    """(where, page, section) for every section number cited in the code and the README."""
    files = [*_sources(), ROOT / "README.md"]
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for m in _CITATION.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            where = f"{path.relative_to(ROOT)}:{line}"
            tail = m.group(2)
            if "§" not in tail:  # a bare page reference ("spec: docs/models.md")
                found.append((where, m.group(1), ""))
                continue
            for start, end in _SECTION.findall(tail):
                found.append((where, m.group(1), start))
                if end:
                    found.append((where, m.group(1), end))
    return found


def test_the_parser_reads_every_citation_form() -> None:
    text = ("docs/algorithms.md §1.2-1.5; docs/models.md §1-§2, docs/models.md §0.3 and §10.3 "
            "docs/models.md §3.1 step 2 (docs/algorithms.md\n    §0.3, §10.3) docs/models.md 3")
    got = [
        s for m in _CITATION.finditer(text) for pair in _SECTION.findall(m.group(2))
        for s in pair if s
    ]
    assert got == ["1.2", "1.5", "1", "2", "0.3", "10.3", "3.1", "0.3", "10.3"]


def test_the_code_cites_the_documents() -> None:
    cited = {(page, sec) for _, page, sec in _citations()}
    assert ("algorithms.md", "2.2") in cited and ("models.md", "4.3") in cited


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_each_page_numbers_its_sections_uniquely(page: str) -> None:
    numbers = _HEADING.findall((DOCS / page).read_text(encoding="utf-8"))
    assert len(numbers) == len(set(numbers)), f"{page}: a section number appears twice"


def test_every_citation_resolves_to_a_heading() -> None:
    headings = {p.name: _headings(p) for p in DOCS.glob("*.md")}
    bad = [
        f"{where}: docs/{page} §{sec}" if sec else f"{where}: docs/{page} (no such page)"
        for where, page, sec in _citations()
        if page not in headings or (sec and sec not in headings[page])
    ]
    assert not bad, "citations that land on no heading:\n" + "\n".join(bad)


def test_no_code_cites_the_team_notes() -> None:
    """The documents live in docs/; nothing may point outside the repository for them."""
    pattern = re.compile(r"\.\./shared|(?<![/\w])(ALGORITHMS|MODELS)\.md")
    files = [*_sources(), ROOT / "README.md", *DOCS.glob("*.md")]
    bad = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in files
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not bad, f"references to documents outside docs/: {bad}"
