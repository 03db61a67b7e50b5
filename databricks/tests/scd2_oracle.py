"""An independent, brute-force SCD Type 2 oracle in plain Python (no Spark).

Rules (AUTO CDC SCD2, as documented in soundlake.gold.scd2): per key, one event per
sequence value (the greatest by the other columns in declared order, None smallest);
events ordered by sequence; consecutive events equal on the tracked columns form one
version showing its latest event's values; __START_AT = first event's sequence,
__END_AT = next version's start (None for the current one).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Sequence


def _sortable(values: Sequence[Any]) -> tuple:
    return tuple((0, 0) if v is None else (1, v) for v in values)


def scd2_oracle(events: list[dict], keys: Sequence[str], seq: str, columns: Sequence[str],
                untracked: Sequence[str]) -> list[dict]:
    tiebreak = [c for c in columns if c not in keys and c != seq]
    tracked = [c for c in tiebreak if c not in untracked]
    by_key: dict[tuple, list[dict]] = defaultdict(list)
    for e in events:
        by_key[tuple(e[k] for k in keys)].append(e)
    out = []
    for evs in by_key.values():
        winners: dict[Any, dict] = {}
        for e in evs:
            w = winners.get(e[seq])
            if w is None or _sortable([e[c] for c in tiebreak]) > _sortable([w[c] for c in tiebreak]):
                winners[e[seq]] = e
        versions: list[dict] = []
        for s in sorted(winners):
            e = winners[s]
            t = tuple(e[c] for c in tracked)
            if versions and versions[-1]["tracked"] == t:
                versions[-1]["last"] = e
            else:
                versions.append({"start": s, "tracked": t, "last": e})
        for i, v in enumerate(versions):
            end = versions[i + 1]["start"] if i + 1 < len(versions) else None
            out.append({**{c: v["last"][c] for c in columns}, "__START_AT": v["start"], "__END_AT": end})
    return out


def canonical(rows: list[dict]) -> list[tuple]:
    return sorted((tuple(sorted(r.items(), key=lambda kv: kv[0])) for r in rows), key=repr)
