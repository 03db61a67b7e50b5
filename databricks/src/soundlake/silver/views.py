"""Metadata-driven business views: joins described in conf/views.yml, rendered by Jinja.

A description names a base table and joins, each with `table`, `alias`, `columns` and
(for joins) `condition` and optional `type`. `validate` checks every field and raises
`ViewSpecError` naming the exact field (e.g. `views[0].joins[1].condition`) before any
SQL is rendered; `render` turns a valid description into CREATE VIEW SQL.

Tables and columns are checked against the catalog (`check_views`, when the medallion, the
silver job or a deploy loads): a view may name only silver tables the catalog has, and only
columns they have: the declared contract, the columns transforms add and the lineage columns.
Columns of a table whose contract is held rather than declared are checked against the silver
table itself when the views are created.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Callable, Collection, Mapping, Union

import jinja2
import yaml

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from soundlake import lake as lk
    from soundlake.catalog import Catalog

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
JOIN_TYPES = ("inner", "left", "right", "full")
ALIAS_USE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\.\s*`?([A-Za-z_][A-Za-z0-9_]*)")
FORBIDDEN = re.compile(r";|--|/\*|\*/")

# silver table -> its columns, or None where they are not known yet (a held contract)
KnownTables = Union[Mapping[str, Union[Collection[str], None]], Collection[str]]


class ViewSpecError(ValueError):
    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field


@dataclass(frozen=True)
class Col:
    alias: str
    name: str


def _ident(value: Any, field: str) -> str:
    if value is None or value == "":
        raise ViewSpecError(field, "is missing")
    if not isinstance(value, str) or not IDENT.match(value):
        raise ViewSpecError(field, f"{value!r} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)")
    return value


def _columns(value: Any, field: str) -> list[str]:
    if value is None:
        raise ViewSpecError(field, "is missing")
    if not isinstance(value, list) or not value:
        raise ViewSpecError(field, "must be a non-empty list of column names")
    return [_ident(c, f"{field}[{i}]") for i, c in enumerate(value)]


def _known_columns(known_tables: KnownTables | None, table: str) -> Collection[str] | None:
    return known_tables.get(table) if isinstance(known_tables, Mapping) else None


def _table(t: Any, field: str, known_tables: KnownTables | None) -> dict:
    if not isinstance(t, dict):
        raise ViewSpecError(field, "must be a mapping with table, alias and columns")
    name = _ident(t.get("table"), f"{field}.table")
    if known_tables is not None and name not in known_tables:
        raise ViewSpecError(f"{field}.table", f"unknown table {name!r}; known: {sorted(known_tables)}")
    out = {"table": name, "alias": _ident(t.get("alias"), f"{field}.alias"),
           "columns": _columns(t.get("columns"), f"{field}.columns")}
    has = _known_columns(known_tables, name)
    for k, c in enumerate(out["columns"]):
        if has is not None and c not in has:
            raise ViewSpecError(f"{field}.columns[{k}]", f"silver table {name!r} has no column {c!r}; "
                                f"it has: {', '.join(has)}")
    return out


def validate(view: Any, where: str = "view", known_tables: KnownTables | None = None) -> dict:
    """Check one view description; return it normalised. Raises ViewSpecError(field)."""
    if not isinstance(view, dict):
        raise ViewSpecError(where, "must be a mapping")
    out = {"name": _ident(view.get("name"), f"{where}.name"),
           "description": view.get("description") or "",
           "base": _table(view.get("base"), f"{where}.base", known_tables), "joins": []}
    joins = view.get("joins", [])
    if not isinstance(joins, list):
        raise ViewSpecError(f"{where}.joins", "must be a list")
    aliases = {out["base"]["alias"]}
    for i, j in enumerate(joins):
        f = f"{where}.joins[{i}]"
        t = _table(j, f, known_tables)
        if t["alias"] in aliases:
            raise ViewSpecError(f"{f}.alias", f"alias {t['alias']!r} is already used")
        aliases.add(t["alias"])
        jtype = str(j.get("type", "inner")).lower()
        if jtype not in JOIN_TYPES:
            raise ViewSpecError(f"{f}.type", f"{jtype!r} is not one of {JOIN_TYPES}")
        cond = j.get("condition")
        if not isinstance(cond, str) or not cond.strip():
            raise ViewSpecError(f"{f}.condition", "is missing")
        if FORBIDDEN.search(cond):
            raise ViewSpecError(f"{f}.condition", "must not contain ';' or comments")
        refs = ALIAS_USE.findall(cond)
        used = {a for a, _c in refs}
        if not used:
            raise ViewSpecError(f"{f}.condition", "must compare columns as alias.column")
        unknown = used - aliases
        if unknown:
            raise ViewSpecError(f"{f}.condition",
                                f"uses alias(es) {sorted(unknown)} not defined before this join")
        tables = {out["base"]["alias"]: out["base"]["table"], **{j["alias"]: j["table"] for j in out["joins"]},
                  t["alias"]: t["table"]}
        for a, c in refs:
            has = _known_columns(known_tables, tables[a])
            if has is not None and c not in has:
                raise ViewSpecError(f"{f}.condition", f"{a}.{c}: silver table {tables[a]!r} has no column {c!r}")
        out["joins"].append({**t, "type": jtype, "condition": cond.strip()})
    seen: dict[str, str] = {}
    for t in [out["base"], *out["joins"]]:
        for c in t["columns"]:
            if c in seen:
                raise ViewSpecError(f"{where}.columns",
                                    f"column {c!r} selected from both {seen[c]} and {t['alias']}")
            seen[c] = t["alias"]
    return out


def load_views(text: str | None = None) -> list[Any]:
    text = text if text is not None else resources.files("soundlake").joinpath(
        "conf/views.yml").read_text()
    doc = yaml.safe_load(text) or {}
    views = doc.get("views")
    if not isinstance(views, list):
        raise ViewSpecError("views", "must be a list")
    return views


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("soundlake", "templates"),
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
    )
    from soundlake.lake import sql_string

    env.filters["sql_string"] = sql_string
    return env


def render(view: dict, view_name: str, table_ref: Callable[[str], str], temporary: bool = False) -> str:
    """Render a validated description to CREATE VIEW SQL."""
    cols = [Col(view["base"]["alias"], c) for c in view["base"]["columns"]]
    for j in view["joins"]:
        cols += [Col(j["alias"], c) for c in j["columns"]]
    return _env().get_template("join_view.sql.j2").render(
        view=view, view_name=view_name, columns=cols, table_ref=table_ref, temporary=temporary)


def catalog_tables(catalog: "Catalog") -> dict[str, list[str] | None]:
    """What a view may name: each silver table with its columns (None: held, not declared)."""
    from soundlake.catalog import LINEAGE_COLUMNS

    return {t.silver_name: (None if t.silver_columns is None else [*t.silver_columns, *LINEAGE_COLUMNS])
            for t in catalog.tables}


def check_views(catalog: "Catalog", text: str | None = None,
                known: Mapping[str, list[str] | None] | None = None) -> list[dict]:
    """Validate every described view against the catalog; ViewSpecError names the field."""
    from soundlake.catalog import silver_tables_of

    tables = known if known is not None else catalog_tables(catalog)
    taken = {s: t for t in catalog.tables for s in silver_tables_of(t.silver_name)}
    out = []
    for i, raw in enumerate(load_views(text)):
        v = validate(raw, f"views[{i}]", tables)
        if v["name"] in taken:
            t = taken[v["name"]]
            raise ViewSpecError(f"views[{i}].name", f"{v['name']!r} is a silver table of the catalog's "
                                f"tables[{t.index}] ({t.name}); a view needs a name of its own")
        out.append(v)
    return out


def create_views(
    spark: "SparkSession", lake: "lk.Lake", catalog: "Catalog", temporary: bool = False,
    text: str | None = None,
) -> list[str]:
    """Validate, render and run every described view. Returns the view names created.

    On Databricks the views are `<catalog>.silver.<name>`; locally (`temporary=True`) they
    are session views named `silver_<name>` over the silver Delta folders. Tables whose
    contract is held are checked against their silver table as it is now.
    """
    from soundlake import lake as lk

    known = catalog_tables(catalog)
    for name, cols in known.items():
        if cols is None and lk.exists(spark, lake, "silver", name):
            known[name] = lk.read(spark, lake, "silver", name).columns
    names = []
    for v in check_views(catalog, text, known):
        for t in [v["base"], *v["joins"]]:
            if known[t["table"]] is None:
                raise ViewSpecError(
                    f"view {v['name']}", f"silver table {t['table']!r} does not exist yet (no committed "
                    "bronze slice of its table): the view waits for it")
        if temporary:
            name = f"silver_{v['name']}"
        else:
            name = lk.sql_name_for(lake, "silver", v["name"])
        spark.sql(render(v, name, lambda t: lake.sql_name("silver", t), temporary))
        names.append(name)
    return names
