"""Hit features and target: the windows hold, SCD2 versions at release, nothing after release leaks."""
from __future__ import annotations

import pytest

from hit_gold import hand_made, to_spark
from soundlake.ml.dataset import TARGET_COLUMNS, build_dataset
from soundlake.ml.features import LeakageError, StreamFeature
from soundlake.ml.settings import HitSettings

SETTINGS = HitSettings(window_days=7, lookback_days=10, min_period_tracks=2)
ARTISTS = [
    (1, "jazz", "2025-12-01", "2026-03-05"),  # changes genre four days after track 10's release
    (1, "pop", "2026-03-05", None),
    (2, "rock", "2025-12-01", "2026-02-01"),  # changes before track 11's release
    (2, "folk", "2026-02-01", None),
]
TRACKS = [
    (1, 1, "2020-01-01"),   # artist 1's catalogue
    (10, 1, "2026-03-01"),  # labelled (window closed)
    (11, 2, "2026-03-02"),  # labelled, same month
    (12, 2, "2026-03-30"),  # window open at as-of: scored
    (13, 2, "2026-01-03"),  # released before the history covers its lookback
    (14, 1, "2026-05-01"),  # not released yet
]
STREAMS = [
    ("2026-01-01 00:00:00", 1, 1),      # first stream: the history starts here
    ("2026-02-20 23:59:59", 1, 1),      # 9 days before track 10: inside the 10-day lookback
    ("2026-02-18 23:59:59", 1, 1),      # 10 days and 1 s before: outside the lookback
    ("2026-02-28 23:59:59", 1, 1),      # 1 s before release: inside
    ("2026-03-01 00:00:00", 1, 1),      # at the release instant: after, so not a feature
    ("2026-03-01 00:00:00", 10, 1),     # window opens (inclusive)
    ("2026-03-07 23:59:59", 10, 1),     # window's last second
    ("2026-03-08 00:00:00", 10, 1),     # window closed (exclusive)
    ("2026-03-02 10:00:00", 11, 2),
    ("2026-04-01 00:00:00", 1, 1),      # last stream: as-of
]


def _dataset(spark, streams=STREAMS, artists=ARTISTS, tracks=TRACKS, settings=SETTINGS, **kw):
    return build_dataset(to_spark(spark, hand_made(streams, artists, tracks)), settings, **kw)


@pytest.fixture(scope="module")
def ds(spark):
    return _dataset(spark)


def _row(ds, track_id):
    return ds.frame.set_index("track_id").loc[track_id]


def test_roles_follow_what_the_history_can_show(ds):
    roles = {int(t): (r, why) for t, r, why in ds.frame[["track_id", "role", "reason"]].itertuples(index=False)}
    assert roles[10] == ("train", "window closed") and roles[11] == ("train", "window closed")
    assert roles[12] == ("score", "window still open")
    assert roles[13] == ("excluded", "released before the history covers its lookback")
    assert roles[14] == ("excluded", "not released yet")
    assert roles[1][0] == "excluded"


def test_target_window_is_release_inclusive_to_window_end_exclusive(ds):
    assert _row(ds, 10)["window_streams"] == 2
    assert _row(ds, 11)["window_streams"] == 1
    assert _row(ds, 10)["period_median"] == 1.5
    assert (_row(ds, 10)["hit"], _row(ds, 11)["hit"]) == (1, 0)
    scored = _row(ds, 12)
    assert scored["window_streams"] != scored["window_streams"]  # NaN: an open window has no target yet
    assert scored["hit"] != scored["hit"]


def test_artist_stream_features_end_strictly_before_release(ds):
    r = _row(ds, 10)
    assert r["artist_streams_lookback"] == 2      # 02-20 23:59:59 and 02-28 23:59:59
    assert r["artist_streams_before"] == 4        # + 01-01 and 02-18; not the one at 03-01 00:00
    assert r["artist_listeners_lookback"] == 2


def test_dimension_versions_are_those_valid_at_release(ds):
    assert _row(ds, 10)["genre"] == "jazz"   # the change to pop came after the release
    assert _row(ds, 11)["genre"] == "folk"   # the change to folk came before
    assert _row(ds, 10)["artist_prior_releases"] == 1 and _row(ds, 10)["days_since_artist_release"] > 2000
    assert _row(ds, 10)["release_month"] == 3 and _row(ds, 10)["release_day_of_week"] == 7  # a Sunday


def test_features_ignore_everything_after_release(spark, ds):
    """Streams at or after track 10's release, of the track or its artist, change its target
    and nothing else; so does a later genre change."""
    more = STREAMS + [("2026-03-01 00:00:00", 1, 1), ("2026-03-03 12:00:00", 10, 1),
                      ("2026-03-20 00:00:00", 10, 1), ("2026-03-25 00:00:00", 1, 1)] * 5
    artists = ARTISTS[:1] + [(1, "pop", "2026-03-05", "2026-03-10"), (1, "metal", "2026-03-10", None)] + ARTISTS[2:]
    other = _dataset(spark, streams=more, artists=artists)
    before, after = _row(ds, 10), _row(other, 10)
    for f in ds.features:
        assert before[f] == after[f] or (before[f] != before[f] and after[f] != after[f]), f
    assert after["window_streams"] == before["window_streams"] + 5


def test_a_feature_reading_streams_after_release_is_refused(spark):
    leaky = (StreamFeature("artist_streams_first_week", "streams", 0, 7),)
    with pytest.raises(LeakageError, match="artist_streams_first_week.*after release"):
        _dataset(spark, stream_features=leaky)


def test_no_target_column_is_a_feature(ds):
    assert not set(ds.features) & set(TARGET_COLUMNS)
    assert not set(ds.features) & {"track_id", "artist_id", "album_id", "release_ts", "role", "reason",
                                   "window_closes_at", "period_start"}


def test_settings_are_checked():
    with pytest.raises(ValueError, match="window_days"):
        HitSettings(window_days=0)
    with pytest.raises(ValueError, match="period"):
        HitSettings(period="fortnight")
    with pytest.raises(ValueError, match="candidates"):
        HitSettings(candidates=("svm",))
