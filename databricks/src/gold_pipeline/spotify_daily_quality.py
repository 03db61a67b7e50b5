# spotify_daily_quality: fails the update when a Spotify fact has two rows for one grain
# (defined only when the catalog has the Spotify pull: soundlake.spotify_pull, set at deploy).
from pyspark import pipelines as dp
from soundlake.gold.pipeline import spotify_pull
from soundlake.gold.spotify_daily import QUALITY_EXPECTATIONS as EXP, spotify_daily_quality as build

if spotify_pull(spark):  # noqa: F821
    @dp.materialized_view(name="spotify_daily_quality", comment="Rows per grain and ISRC matches of the Spotify facts")
    @dp.expect_all_or_fail(EXP.fail)
    def spotify_daily_quality():
        t = spark.read.table  # noqa: F821
        return build(t("fact_spotify_track_daily"), t("fact_spotify_artist_daily"))
