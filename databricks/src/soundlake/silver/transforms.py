"""Silver transformations: pure DataFrame -> DataFrame functions, one per bronze table."""
from __future__ import annotations

from typing import Callable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from soundlake.config import DurationThresholds, settings

# Java regular expressions (Spark's regexp_replace), where `\s` alone is ASCII-only. What an
# artist name keeps: letters and digits of any script, combining marks (Indic and Thai vowel
# signs, decomposed accents), the zero-width (non-)joiners some scripts spell with, and every
# Unicode white space (no-break, ideographic, ...), which becomes one ASCII space.
WHITE_SPACE = r"\p{IsWhite_Space}"
SPECIAL_CHARACTERS = r"[^\p{L}\p{M}\p{N}\p{IsJoin_Control}" + WHITE_SPACE + "]"


def upper_user_names(df: DataFrame) -> DataFrame:
    return df.withColumn("user_name", F.upper(F.col("user_name")))


def strip_special_characters(df: DataFrame, column: str = "artist_name") -> DataFrame:
    """Remove punctuation and symbols, then collapse runs of white space and trim."""
    cleaned = F.regexp_replace(F.col(column), SPECIAL_CHARACTERS, "")
    cleaned = F.trim(F.regexp_replace(cleaned, WHITE_SPACE + "+", " "))
    return df.withColumn(column, cleaned)


def add_duration_flag(df: DataFrame, thresholds: DurationThresholds | None = None) -> DataFrame:
    """short below `short_below_sec`, long from `long_from_sec`, medium between; NULL stays NULL."""
    t = thresholds or settings().duration
    d = F.col("duration_sec")
    flag = (
        F.when(d.isNull(), F.lit(None).cast("string"))
        .when(d < t.short_below_sec, "short")
        .when(d < t.long_from_sec, "medium")
        .otherwise("long")
    )
    return df.withColumn("duration_flag", flag)


def identity(df: DataFrame) -> DataFrame:
    return df


TRANSFORMS: dict[str, Callable[[DataFrame], DataFrame]] = {
    "dim_users": upper_user_names,
    "dim_artists": strip_special_characters,
    "dim_tracks": add_duration_flag,
    "dim_albums": identity,
    "fact_streams": identity,
}


def transform(table: str, df: DataFrame) -> DataFrame:
    return TRANSFORMS[table](df)
