"""docs/api.md names every public name: a name added to ``__all__`` must be documented there."""

import re
from pathlib import Path

import fieldstream

API = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def test_every_public_name_is_in_the_api_reference() -> None:
    documented = set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)", API.read_text("utf-8")))
    missing = sorted(set(fieldstream.__all__) - documented)
    assert not missing, f"add these public names to docs/api.md: {missing}"
