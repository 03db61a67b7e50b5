"""What gold reads from silver, checked against the catalog.

Gold's star schema is code (modelling), built on five silver tables. Whether the catalog still
gives them is checked when gold loads (the local engine), when the bundle deploys (the silver
job's catalog mutator) and in the tests of the repository's catalog, so that a table or column
gold needs cannot quietly leave soundlake.yaml: the error names each silver table and column
gold reads, which dataset reads it, and what the catalog has instead.

Plain data, no Spark: the deploy-time check runs where Spark is not installed.
"""
from __future__ import annotations

from soundlake.catalog import LINEAGE_COLUMNS, Catalog

STREAMS = "streams"
# FactStream's (and DimDate's) columns of silver.streams (gold/fact_stream.py selects these)
STREAM_COLUMNS = ("stream_id", "user_id", "track_id", "streamed_at", "ms_played", "device_type",
                  "updated_at")

# The Spotify daily pull (examples/sources.soundlake.yaml): gold's Spotify facts
# (gold/spotify_daily.py) are built when the catalog has this silver table, and read these columns
SPOTIFY_TRACKS = "spotify_tracks"
SPOTIFY_TRACK_COLUMNS = ("spotify_track_id", "isrc", "search_rank", "popularity", "track_name",
                         "spotify_artist_id", "artist_name", "_loaded_at")
SPOTIFY_DATASET = "fact_spotify_track_daily"
# The gold pipeline's conf naming that silver table ("" when the catalog has none), set at deploy
# from the catalog (resources/catalog_mutator.py): the Spotify facts exist only where it is pulled.
SPOTIFY_PULL_CONF = "soundlake.spotify_pull"


def spotify_pull(catalog: Catalog) -> str | None:
    """The silver table of the Spotify daily pull, when the catalog has one."""
    return SPOTIFY_TRACKS if SPOTIFY_TRACKS in catalog.by_silver_name() else None


class GoldNeedsError(ValueError):
    def __init__(self, file: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"gold cannot be built from the catalog {file}:\n"
                         + "\n".join(f"  - {p}" for p in problems))


def silver_inputs(catalog: Catalog | None = None) -> dict[str, dict[str, tuple[str, ...]]]:
    """silver table -> gold dataset -> the columns it reads (the Spotify pull's when `catalog`
    has it)."""
    from soundlake.gold.dims import DIMENSIONS

    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for spec in DIMENSIONS.values():
        out.setdefault(spec.silver, {})[spec.name] = spec.columns
    out.setdefault(STREAMS, {})["fact_stream"] = STREAM_COLUMNS
    out[STREAMS]["dim_date"] = ("streamed_at",)
    if catalog is not None and spotify_pull(catalog):
        out[SPOTIFY_TRACKS] = {SPOTIFY_DATASET: SPOTIFY_TRACK_COLUMNS}
    return out


def held_columns(spark, lake, catalog: Catalog) -> dict[str, list[str]]:
    """Columns of the silver tables whose contract the catalog does not declare, as they are."""
    from soundlake import lake as lk

    return {t.silver_name: lk.read(spark, lake, "silver", t.silver_name).columns
            for t in catalog.tables
            if t.columns is None and lk.exists(spark, lake, "silver", t.silver_name)}


def problems(catalog: Catalog, held: dict[str, list[str]] | None = None) -> list[str]:
    """What gold needs and the catalog does not give. `held`: columns of silver tables whose
    contract is held rather than declared (their silver table as it is), where known."""
    tables = catalog.by_silver_name()
    out = []
    for silver, readers in silver_inputs(catalog).items():
        who = ", ".join(readers)
        entry = tables.get(silver)
        if entry is None:
            out.append(f"silver table {silver!r} (read by {who}): no catalog table has silver name "
                       f"{silver!r}; the catalog's silver tables are {', '.join(sorted(tables))}")
            continue
        has = entry.silver_columns
        if has is None:
            has = (held or {}).get(silver)
        if has is None:
            continue  # a contract not held yet: nothing to check against until silver has it
        has = [*has, *LINEAGE_COLUMNS]
        for dataset, columns in readers.items():
            for c in columns:
                if c not in has:
                    out.append(f"column {c!r} of silver table {silver!r} (read by {dataset}): "
                               f"tables[{entry.index}] ({entry.name}) has no such column")
    return out


def check(catalog: Catalog, held: dict[str, list[str]] | None = None) -> None:
    found = problems(catalog, held)
    if found:
        raise GoldNeedsError(catalog.file, found)
