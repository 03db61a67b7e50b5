"""Data-quality expectations: one description, applied by DLT on Databricks and here locally.

`drop`  rows that violate are removed (DLT: expect_all_or_drop)
`warn`  rows that violate are kept and counted (DLT: expect_all)
`fail`  any violating row stops the update (DLT: expect_all_or_fail)
A row violates an expectation when its condition is not TRUE (FALSE or NULL); the
conditions below are written NULL-safe so DLT and the local engine agree.
"""
from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from soundlake.gold.spec import Expectations  # noqa: F401  (plain data, re-exported)


@dataclass(frozen=True)
class QualityReport:
    dataset: str
    rows_in: int
    rows_out: int
    dropped: dict[str, int]
    warned: dict[str, int]
    failed: dict[str, int]

    def lines(self) -> list[str]:
        out = [f"{self.dataset}: {self.rows_in} in, {self.rows_out} out"]
        for kind, d in (("dropped", self.dropped), ("warned", self.warned), ("failed", self.failed)):
            for name, n in d.items():
                if n:
                    out.append(f"  {kind} {n} row(s): {name}")
        return out


class ExpectationFailed(RuntimeError):
    def __init__(self, dataset: str, failures: dict[str, int]):
        detail = ", ".join(f"{k} ({v} row(s))" for k, v in failures.items())
        super().__init__(f"{dataset}: expectation(s) failed: {detail}")
        self.dataset = dataset
        self.failures = failures


def _violates(condition: str):
    return ~F.coalesce(F.expr(condition), F.lit(False))


def apply(df: DataFrame, exp: Expectations, dataset: str) -> tuple[DataFrame, QualityReport]:
    """Count violations (one aggregation), raise on `fail`, return rows kept and the report."""
    named = [("drop", k, v) for k, v in exp.drop.items()]
    named += [("warn", k, v) for k, v in exp.warn.items()]
    named += [("fail", k, v) for k, v in exp.fail.items()]
    aggs = [F.count(F.lit(1)).alias("__n")]
    keep = F.lit(True)
    for kind, name, cond in named:
        aggs.append(F.sum(_violates(cond).cast("long")).alias(f"{kind}:{name}"))
    for cond in exp.drop.values():
        keep = keep & ~_violates(cond)
    aggs.append(F.sum((~keep).cast("long")).alias("__dropped"))
    row = df.agg(*aggs).first()
    total = int(row["__n"])
    counts = {k: int(row[k] or 0) for k in row.asDict() if ":" in k}
    report = QualityReport(
        dataset=dataset,
        rows_in=total,
        rows_out=total - int(row["__dropped"] or 0),
        dropped={k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("drop:")},
        warned={k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("warn:")},
        failed={k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("fail:")},
    )
    failures = {k: v for k, v in report.failed.items() if v}
    if failures:
        raise ExpectationFailed(dataset, failures)
    return df.where(keep), report


def keep_only(df: DataFrame, exp: Expectations) -> DataFrame:
    """Apply only the `drop` expectations, without counting (re-reads of already counted rows)."""
    keep = F.lit(True)
    for cond in exp.drop.values():
        keep = keep & ~_violates(cond)
    return df.where(keep)
