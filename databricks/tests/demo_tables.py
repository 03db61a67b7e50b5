"""The repository catalog (soundlake.yaml) and its five demo tables as silver reads them."""
from __future__ import annotations

from pathlib import Path

from soundlake.bronze import BronzeTable
from soundlake.catalog import load_catalog

REPO_CATALOG = Path(__file__).resolve().parents[2] / "soundlake.yaml"
CATALOG = load_catalog(REPO_CATALOG)


def table(name: str) -> BronzeTable:
    """A demo table with its declared contract and transforms."""
    return CATALOG.table(name).bronze_table()
