"""Silver transformations: pure DataFrame -> DataFrame functions, parameterised by column.

The catalog (soundlake.yaml, `silver.transforms`) says which apply to a table, in order, by
name and arguments: `{ fn: upper, column: user_name }`. The names and arguments a catalog may
use are those of the catalog schema (shared/config/catalogSchema.ts, TRANSFORMS); REGISTRY here
must offer exactly those (tests/test_transforms.py holds the two together).
"""
from __future__ import annotations

from typing import Callable, Iterable

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from soundlake.config import DurationThresholds, settings

# Java regular expressions (Spark's regexp_replace), where `\s` alone is ASCII-only. What an
# artist name keeps: letters and digits of any script, combining marks (Indic and Thai vowel
# signs, decomposed accents), the zero-width (non-)joiners some scripts spell with, and every
# Unicode white space (no-break, ideographic, ...), which becomes one ASCII space.
WHITE_SPACE = r"\p{IsWhite_Space}"
SPECIAL_CHARACTERS = r"[^\p{L}\p{M}\p{N}\p{IsJoin_Control}" + WHITE_SPACE + "]"


def upper(df: DataFrame, column: str) -> DataFrame:
    """Upper-case a text column (any script; NULL stays NULL)."""
    return df.withColumn(column, F.upper(F.col(column)))


def strip_special_characters(df: DataFrame, column: str) -> DataFrame:
    """Remove punctuation and symbols, then collapse runs of white space and trim."""
    cleaned = F.regexp_replace(F.col(column), SPECIAL_CHARACTERS, "")
    cleaned = F.trim(F.regexp_replace(cleaned, WHITE_SPACE + "+", " "))
    return df.withColumn(column, cleaned)


def duration_flag(df: DataFrame, column: str, into: str = "duration_flag",
                  thresholds: DurationThresholds | None = None) -> DataFrame:
    """Add `into`: short below `short_below_sec` seconds of `column`, long from `long_from_sec`,
    medium between (conf/lakehouse.yml); NULL stays NULL."""
    t = thresholds or settings().duration
    d = F.col(column)
    flag = (
        F.when(d.isNull(), F.lit(None).cast("string"))
        .when(d < t.short_below_sec, "short")
        .when(d < t.long_from_sec, "medium")
        .otherwise("long")
    )
    return df.withColumn(into, flag)


REGISTRY: dict[str, Callable[..., DataFrame]] = {
    "upper": upper,
    "strip_special_characters": strip_special_characters,
    "duration_flag": duration_flag,
}


def apply(df: DataFrame, transforms: Iterable) -> DataFrame:
    """Apply a table's transforms (catalog.Transform: fn, column, into) in order."""
    for t in transforms:
        fn = REGISTRY[t.fn]
        df = fn(df, t.column, t.into) if t.into else fn(df, t.column)
    return df
