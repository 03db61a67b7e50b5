"""The four SCD2 dimensions of the star schema, described once for DLT and the local engine
(plain data: gold/needs.py checks them against the catalog without Spark)."""
from __future__ import annotations

from soundlake.config import settings
from soundlake.gold.spec import Expectations, ScdSpec


def _not_null(*cols: str) -> dict[str, str]:
    return {f"{c}_not_null": f"{c} IS NOT NULL" for c in cols}


def _track_duration() -> dict[str, str]:
    lo, hi = settings().plausible_track_sec
    return {"plausible_duration": f"coalesce(duration_sec BETWEEN {lo} AND {hi}, false)"}


DIM_USER = ScdSpec(
    name="dim_user", silver="users", keys=("user_id",),
    columns=("user_id", "user_name", "country", "subscription_type", "signup_date", "updated_at"),
    expectations=Expectations(
        drop=_not_null("user_id", "updated_at"),
        warn={"known_subscription_type":
              "coalesce(subscription_type IN ('free', 'premium', 'family', 'student'), false)"},
    ),
)
DIM_ARTIST = ScdSpec(
    name="dim_artist", silver="artists", keys=("artist_id",),
    columns=("artist_id", "artist_name", "genre", "country", "updated_at"),
    expectations=Expectations(
        drop=_not_null("artist_id", "updated_at"),
        warn={"artist_name_not_empty": "coalesce(length(artist_name) > 0, false)"},
    ),
)
DIM_ALBUM = ScdSpec(
    name="dim_album", silver="albums", keys=("album_id",),
    columns=("album_id", "album_name", "artist_id", "release_date", "updated_at"),
    expectations=Expectations(
        drop=_not_null("album_id", "updated_at"),
        warn={"release_date_known": "release_date IS NOT NULL"},
    ),
)
DIM_TRACK = ScdSpec(
    name="dim_track", silver="tracks", keys=("track_id",),
    columns=("track_id", "track_name", "artist_id", "album_id", "duration_sec", "duration_flag",
             "release_date", "explicit", "danceability", "energy", "tempo_bpm", "isrc", "updated_at"),
    expectations=Expectations(drop=_not_null("track_id", "updated_at"), warn=_track_duration()),
)

DIMENSIONS: dict[str, ScdSpec] = {d.name: d for d in (DIM_USER, DIM_ARTIST, DIM_ALBUM, DIM_TRACK)}
