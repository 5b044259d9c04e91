"""The Python examples in README.md and docs/python.md run as written."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT

DOCS = [ROOT / "README.md", ROOT / "docs" / "python.md"]


def blocks() -> list[object]:
    out = []
    for doc in DOCS:
        text = doc.read_text()
        found = re.findall(r"```python\n(.*?)```", text, re.S)
        assert found, doc
        out.append(pytest.param(doc.name, "\n".join(found), id=doc.name))
    return out


@pytest.mark.parametrize("name,code", blocks())
def test_examples_run(name: str, code: str, capsys: pytest.CaptureFixture[str]) -> None:
    # A document's blocks build on one another, so they run in order in one namespace.
    exec(compile(code, name, "exec"), {"__name__": f"docs_{name}"})
