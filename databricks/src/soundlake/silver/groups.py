"""Which catalog tables one silver task runs: the tables of one source, at most N per task.

The silver job's for_each iterates over group keys (`<source>/<k>`), set at deploy by
resources/catalog_mutator.py, not over table names: a for_each's inputs are limited to 10,000
characters, which a few hundred table names already pass, while a key is a few characters. The
task looks its key up in the catalog packaged in its wheel (the file the deploy grouped), with
the same function and the same size, so both sides agree on what a key holds.

Grouping by source keeps one database's tables together: an outage of a source fails its own
groups, and one group's streams read one source's folders.
"""
from __future__ import annotations

from typing import Iterable

from soundlake.catalog import TableEntry


def source_of(entry: TableEntry) -> str:
    """The catalog source a table is read from (`default` when the table names none)."""
    return str(entry.source.get("name") or "default")


def silver_groups(tables: Iterable[TableEntry], per_task: int) -> dict[str, list[TableEntry]]:
    """`<source>/<k>` -> that source's tables k*per_task .. (k+1)*per_task-1, in catalog order."""
    if per_task < 1:
        raise ValueError(f"silver_tables_per_task: must be at least 1, got {per_task}")
    by_source: dict[str, list[TableEntry]] = {}
    for t in tables:
        by_source.setdefault(source_of(t), []).append(t)
    return {f"{src}/{k // per_task}": ts[k:k + per_task]
            for src, ts in by_source.items() for k in range(0, len(ts), per_task)}
