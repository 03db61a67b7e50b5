# fact_spotify_track_daily: one row per pull date and Spotify track, matched to dim_track by ISRC
# (defined only when the catalog has the Spotify pull: soundlake.spotify_pull, set at deploy).
from pyspark import pipelines as dp
from soundlake.gold.pipeline import silver_table, spotify_pull
from soundlake.gold.spotify_daily import TRACK_DAILY_EXPECTATIONS as EXP, fact_spotify_track_daily as build

if spotify_pull(spark):  # noqa: F821
    @dp.materialized_view(name="fact_spotify_track_daily",
                          comment="One row per pull date and Spotify track; dim_track/dim_artist where the ISRC matches, else -1")
    @dp.expect_all_or_drop(EXP.drop)
    @dp.expect_all(EXP.warn)
    def fact_spotify_track_daily():
        t = spark.read.table  # noqa: F821
        return build(t(silver_table(spark, f"{spotify_pull(spark)}_changes")), t("dim_track"), t("dim_artist"))  # noqa: F821
