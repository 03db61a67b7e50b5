"""SCD Type 2 with the semantics of Lakeflow AUTO CDC (`stored_as_scd_type=2`).

`scd2_history(events, spec)` is the whole history that AUTO CDC would hold after seeing
`events`, in any order and any batching:
  * per key, events are ordered by `sequence_by` (late events land in the right place);
  * equal `sequence_by` values for one key resolve to one event (the greatest by the
    row's values in declared column order, NULL smallest), so duplicates are harmless;
  * consecutive events that agree on every tracked column (all selected non-key columns
    except `track_history_except_column_list`) form one version; the version shows the
    values of its latest event (untracked columns update in place);
  * `__START_AT` is the sequence value of a version's first event, `__END_AT` the start of
    the next version, NULL for the current one. No deletes (bronze has none).
The local engine (`apply_incremental`) keeps a Delta table equal to this function of all
events seen so far: per micro-batch it rebuilds the affected keys from the append-only
silver change feed and swaps their versions in one MERGE.
"""
from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

# the spec is plain data (gold/spec.py), importable without Spark; re-exported here
from soundlake.gold.spec import END_AT, START_AT, ScdSpec  # noqa: F401


def feed(spec: ScdSpec, silver_changes: DataFrame) -> DataFrame:
    """The CDC source of a dimension: the selected columns of the silver change feed."""
    return silver_changes.select(*spec.columns)


def scd2_history(events: DataFrame, spec: ScdSpec) -> DataFrame:
    keys, seq = list(spec.keys), spec.sequence_by
    cols = list(spec.columns)
    tiebreak = [c for c in cols if c not in keys and c != seq]
    ev = events.select(*cols)

    # 1. one event per (key, sequence value)
    w_tie = Window.partitionBy(*keys, seq).orderBy(*[F.col(c).desc_nulls_last() for c in tiebreak])
    ev = ev.withColumn("__r", F.row_number().over(w_tie)).where("__r = 1").drop("__r")

    # 2. a new version starts where the tracked columns change
    w_key = Window.partitionBy(*keys).orderBy(seq)
    tracked = F.struct(*[F.col(c) for c in spec.tracked]) if spec.tracked else F.lit(0)
    ev = (
        ev.withColumn("__t", tracked)
        .withColumn("__i", F.row_number().over(w_key))
        .withColumn("__new", (F.col("__i") == 1) | ~F.lag("__t").over(w_key).eqNullSafe(F.col("__t")))
        .withColumn("__v", F.sum(F.col("__new").cast("int")).over(
            w_key.rowsBetween(Window.unboundedPreceding, Window.currentRow)))
    )

    # 3. a version shows its latest event's values, starts at its first event
    w_ver = Window.partitionBy(*keys, "__v")
    ev = (
        ev.withColumn(START_AT, F.min(seq).over(w_ver))
        .withColumn("__last", F.row_number().over(w_ver.orderBy(F.col(seq).desc())))
        .where("__last = 1")
    )
    # 4. a version ends where the next one starts
    ev = ev.withColumn(END_AT, F.lead(START_AT).over(Window.partitionBy(*keys).orderBy(START_AT)))
    return ev.select(*cols, START_AT, END_AT)


def apply_incremental(
    spark: SparkSession,
    target,  # delta.tables.DeltaTable
    spec: ScdSpec,
    all_events: DataFrame,
    batch_keys: DataFrame,
) -> None:
    """Make `target` hold `scd2_history(all_events)` for the keys in `batch_keys`."""
    keys = list(spec.keys)
    affected = batch_keys.select(*keys).distinct()
    fresh = scd2_history(all_events.join(affected, keys, "left_semi"), spec)
    current = target.toDF().join(affected, keys, "left_semi")
    stale = current.join(fresh.select(*keys, START_AT), [*keys, START_AT], "left_anti")
    src = fresh.withColumn("__delete", F.lit(False)).unionByName(
        stale.select(*fresh.columns).withColumn("__delete", F.lit(True))
    )
    cols = [*spec.columns, START_AT, END_AT]
    on = " AND ".join([f"t.`{k}` <=> s.`{k}`" for k in keys] + [f"t.{START_AT} = s.{START_AT}"])
    changed = " OR ".join(f"NOT (t.`{c}` <=> s.`{c}`)" for c in cols)
    (
        target.alias("t")
        .merge(src.alias("s"), on)
        .whenMatchedDelete(condition="s.__delete")
        .whenMatchedUpdate(condition=f"NOT s.__delete AND ({changed})",
                           set={f"`{c}`": f"s.`{c}`" for c in cols})
        .whenNotMatchedInsert(condition="NOT s.__delete",
                              values={f"`{c}`": f"s.`{c}`" for c in cols})
        .execute()
    )
