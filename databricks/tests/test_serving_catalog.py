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


def test_the_spotify_tables_come_from_the_spotify_gold_functions_and_are_conditional(spark):
    from soundlake.gold.needs import SPOTIFY_TRACKS

    schemas = cat.gold_schemas(spark)
    generated = {t["name"]: t for t in cat.catalog(schemas)["tables"]}
    spotify = {"fact_spotify_track_daily", "fact_spotify_artist_daily", "spotify_daily_quality"}
    assert {n for n, t in generated.items() if "requires" in t} == spotify
    assert all(generated[n]["requires"] == {"silver": SPOTIFY_TRACKS} for n in spotify)
    # Spark's own types: the artist fact's count and average are what its aggregates give
    cols = {c["name"]: c["type"] for c in generated["fact_spotify_artist_daily"]["columns"]}
    assert (cols["tracks_in_results"], cols["avg_popularity"], cols["matched"]) == ("bigint", "double", "boolean")
    schemas["spotify_daily_quality"] = schemas["spotify_daily_quality"].add("late_pulls", "long")
    with pytest.raises(ValueError, match="spotify_daily_quality.late_pulls has no description"):
        cat.catalog(schemas)
