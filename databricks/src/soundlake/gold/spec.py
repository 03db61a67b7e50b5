"""Gold's specifications as plain data: what a dimension's CDC flow and a dataset's
expectations are, importable without Spark (the bundle's deploy-time check of the catalog
against what gold reads runs where no Spark is installed). The functions that apply them are in
scd2.py and expectations.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Expectations:
    drop: dict[str, str] = field(default_factory=dict)
    warn: dict[str, str] = field(default_factory=dict)
    fail: dict[str, str] = field(default_factory=dict)


START_AT = "__START_AT"
END_AT = "__END_AT"


@dataclass(frozen=True)
class ScdSpec:
    """What AUTO CDC needs (and the local engine reads): one dimension's CDC flow."""

    name: str                     # target, e.g. dim_user
    silver: str                   # silver table whose change feed is the source, e.g. users
    keys: tuple[str, ...]
    columns: tuple[str, ...]      # selected columns, keys first, including sequence_by
    sequence_by: str = "updated_at"
    track_history_except: tuple[str, ...] = ("updated_at",)
    expectations: Expectations = field(default_factory=Expectations)

    @property
    def feed_name(self) -> str:
        return f"{self.name}_feed"

    @property
    def silver_changes(self) -> str:
        return f"{self.silver}_changes"

    @property
    def tracked(self) -> list[str]:
        return [c for c in self.columns
                if c not in self.keys and c != self.sequence_by
                and c not in self.track_history_except]

    def auto_cdc_args(self) -> dict:
        """Arguments of `pyspark.pipelines.create_auto_cdc_flow` (Lakeflow) for this dimension."""
        return dict(
            target=self.name,
            source=self.feed_name,
            keys=list(self.keys),
            sequence_by=self.sequence_by,
            column_list=list(self.columns),
            stored_as_scd_type=2,
            track_history_except_column_list=list(self.track_history_except),
        )
