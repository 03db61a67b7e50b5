"""The gold catalogue the question box reads is generated from the gold definitions, not copied."""
from __future__ import annotations

from pathlib import Path

import pytest

from soundlake.serving import catalog as cat

GENERATED = Path(__file__).resolve().parents[2] / "shared" / "ask" / "goldSchema.json"


def test_the_committed_catalogue_matches_the_gold_definitions(spark):
    fresh = cat.render(cat.catalog(cat.gold_schemas(spark)))
    assert GENERATED.read_text() == fresh, (
        "shared/ask/goldSchema.json is out of date: run "
        "python -m soundlake.serving.catalog --write shared/ask/goldSchema.json")


def test_a_gold_column_without_a_description_fails_generation(spark):
    schemas = cat.gold_schemas(spark)
    schemas["dim_artist"] = schemas["dim_artist"].add("label", "string")
    with pytest.raises(ValueError, match="dim_artist.label has no description"):
        cat.catalog(schemas)
