# fact_spotify_artist_daily: one row per pull date and Spotify artist, rolled up from the track fact
# (defined only when the catalog has the Spotify pull: soundlake.spotify_pull, set at deploy).
from pyspark import pipelines as dp
from soundlake.gold.pipeline import spotify_pull
from soundlake.gold.spotify_daily import ARTIST_DAILY_EXPECTATIONS as EXP, fact_spotify_artist_daily as build

if spotify_pull(spark):  # noqa: F821
    @dp.materialized_view(name="fact_spotify_artist_daily",
                          comment="One row per pull date and Spotify artist; dim_artist through its best-placed matched track, else -1")
    @dp.expect_all_or_drop(EXP.drop)
    @dp.expect_all(EXP.warn)
    def fact_spotify_artist_daily():
        return build(spark.read.table("fact_spotify_track_daily"))  # noqa: F821
