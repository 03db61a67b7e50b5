import datetime as dt

import pytest
from pyspark.sql import Row

from soundlake.config import DurationThresholds, parse_settings, settings
from soundlake.silver import transforms as tr


def test_user_names_are_upper_cased(spark):
    df = spark.createDataFrame([(1, "alice"), (2, "Émile o'Brien"), (3, None)], "user_id int, user_name string")
    out = [(r.user_id, r.user_name) for r in tr.upper(df, "user_name").orderBy("user_id").collect()]
    assert out == [(1, "ALICE"), (2, "ÉMILE O'BRIEN"), (3, None)]


@pytest.mark.parametrize("raw, clean", [
    ("AC/DC", "ACDC"),
    ("Beyoncé!", "Beyoncé"),
    ("Guns N' Roses", "Guns N Roses"),
    ("Earth, Wind & Fire", "Earth Wind Fire"),
    ("  P!nk  ", "Pnk"),
    ("Ke$ha", "Keha"),
    ("Sigur Rós", "Sigur Rós"),
    ("blink-182", "blink182"),
    ("坂本 龍一", "坂本 龍一"),
    ("!!!", ""),
    (None, None),
])
def test_special_characters_are_stripped_from_artist_names(spark, raw, clean):
    df = spark.createDataFrame([(1, raw)], "artist_id int, artist_name string")
    assert tr.strip_special_characters(df, "artist_name").first().artist_name == clean


NBSP, IDEOGRAPHIC_SPACE, NARROW_NBSP, ZWNJ = "\u00a0", "\u3000", "\u202f", "\u200c"


@pytest.mark.parametrize("raw, clean", [
    # Devanagari: vowel signs and virama are combining marks (Mc/Mn), part of the word
    ("अरिजीत सिंह!", "अरिजीत सिंह"),
    ("श्रेया घोषाल", "श्रेया घोषाल"),
    # Thai: vowel and tone marks (Mn) above and below the consonants
    ("ธงไชย แมคอินไตย์", "ธงไชย แมคอินไตย์"),
    # Japanese with an ideographic space (U+3000) between family and given name
    (f"宇多田{IDEOGRAPHIC_SPACE}ヒカル", "宇多田 ヒカル"),
    ("坂本 龍一 (Ryuichi Sakamoto)", "坂本 龍一 Ryuichi Sakamoto"),
    # Cyrillic
    ("Кино!", "Кино"),
    ("Би-2", "Би2"),
    # decomposed é (e + U+0301 COMBINING ACUTE ACCENT) keeps its accent
    ("Beyonce\u0301!", "Beyonce\u0301"),
    ("Zoe\u0308 & Co", "Zoe\u0308 Co"),
    # no-break spaces are spaces: one ASCII space, never deleted
    (f"Sigur{NBSP}Rós", "Sigur Rós"),
    (f"{NBSP}Sigur{NARROW_NBSP}{NBSP}Rós{IDEOGRAPHIC_SPACE}", "Sigur Rós"),
    ("Daft\tPunk\n", "Daft Punk"),
    # Persian: the zero-width non-joiner is part of the spelling
    (f"می{ZWNJ}خواهم", f"می{ZWNJ}خواهم"),
    # Arabic-Indic digits are digits
    ("فرقة ٣٠٣", "فرقة ٣٠٣"),
])
def test_artist_names_keep_every_script_its_marks_and_unicode_spaces(spark, raw, clean):
    """Run through Spark: the pattern is a Java regex, not Python's `re`."""
    df = spark.createDataFrame([(1, raw)], "artist_id int, artist_name string")
    assert tr.strip_special_characters(df, "artist_name").first().artist_name == clean


def test_duration_flag_boundaries_follow_the_thresholds(spark):
    t = DurationThresholds(short_below_sec=150, long_from_sec=300)
    secs = [0, 149, 150, 299, 300, 3600, None]
    df = spark.createDataFrame([(i, s) for i, s in enumerate(secs)], "track_id int, duration_sec int")
    out = [r.duration_flag for r in tr.duration_flag(df, "duration_sec", thresholds=t).orderBy("track_id").collect()]
    assert out == ["short", "short", "medium", "medium", "long", "long", None]


def test_duration_flag_uses_the_configured_thresholds_by_default(spark):
    s = settings().duration
    df = spark.createDataFrame([(1, s.short_below_sec - 1), (2, s.short_below_sec), (3, s.long_from_sec)],
                               "track_id int, duration_sec int")
    out = [r.flag for r in tr.duration_flag(df, "duration_sec", "flag").orderBy("track_id").collect()]
    assert out == ["short", "medium", "long"]


def test_thresholds_must_be_ordered():
    with pytest.raises(ValueError, match="short_below_sec <= long_from_sec"):
        DurationThresholds(short_below_sec=300, long_from_sec=200)


def test_settings_parse_the_config_file():
    s = settings()
    assert s.duration == DurationThresholds(150, 300)
    assert s.dim_date_start == dt.date(2020, 1, 1) and s.max_broken_reference_ratio == 0.01
    with pytest.raises(KeyError):
        parse_settings({"silver": {}, "gold": {}})


def test_the_registry_offers_exactly_the_transforms_of_the_catalog_schema():
    """The catalog's JSON Schema (generated from shared/config/catalogSchema.ts) names the
    transforms and their arguments; each must be a function here taking exactly those."""
    import inspect

    from soundlake.catalog import json_schema

    branches = json_schema()["properties"]["tables"]["items"]["properties"]["silver"]["properties"][
        "transforms"]["items"]["oneOf"]
    schema = {b["properties"]["fn"]["const"]: [p for p in b["properties"] if p != "fn"] for b in branches}
    assert set(schema) == set(tr.REGISTRY)
    for name, args in schema.items():
        params = list(inspect.signature(tr.REGISTRY[name]).parameters)
        assert params[0] == "df" and params[1:1 + len(args)] == args, (name, params, args)


@pytest.mark.parametrize("fn, column_type, value", [
    ("upper", "string", "a"), ("strip_special_characters", "string", "a!"),
])
def test_in_place_transforms_keep_the_column_type(spark, fn, column_type, value):
    """A held contract is read back from the silver table less the columns transforms add, so
    a transform that works in place must not change its column's type."""
    df = spark.createDataFrame([(value,)], f"c {column_type}")
    assert tr.REGISTRY[fn](df, "c").schema == df.schema


def test_a_table_gets_the_transforms_its_catalog_entry_lists_in_order(spark):
    from soundlake.catalog import Transform

    df = spark.createDataFrame([(1, "bo!", 200)], "user_id int, user_name string, secs int")
    out = tr.apply(df, [Transform("strip_special_characters", "user_name"), Transform("upper", "user_name"),
                        Transform("duration_flag", "secs", "length")]).first()
    assert (out.user_name, out.length) == ("BO", "medium")
    assert tr.apply(df, ()).collect() == df.collect()
