"""The table catalog (soundlake.yaml), read by every stage on the Python side.

The file is the one the TypeScript ingestion reads, validated here with the JSON Schema that
shared/config/catalogSchema.ts generates (conf/catalog.schema.json, in the wheel), then with the
same cross-field rules as shared/config/catalogRules.ts, worded the same way
(`tables[2].silver.columns[0].type: must be ...`); tests/fixtures/catalog/bad-catalogs.yaml
holds both sides to it. Every problem is reported at once, before anything runs.

Which file: the one named (`--catalog`), else `SOUNDLAKE_CONFIG` (the setting the Functions read,
relative to the working directory), else the copy packaged into the wheel at build time
(`soundlake/conf/catalog.yaml`, see databricks/setup.py), else the repository's soundlake.yaml
when running from a checkout.

YAML is read as the TypeScript side reads it: YAML 1.2 core scalars (`yes` is a string, dates
are strings, `010` is ten), and a key given twice is an error.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import yaml

PACKAGED = "conf/catalog.yaml"
SCHEMA = "conf/catalog.schema.json"
SETTING = "SOUNDLAKE_CONFIG"
LINEAGE_COLUMNS = ("_source_file", "_ingested_at")


class CatalogError(ValueError):
    def __init__(self, file: str, problems: list[str]):
        self.file = file
        self.problems = problems
        super().__init__(f"invalid catalog in {file}:\n" + "\n".join(f"  - {p}" for p in problems))


# ------------------------------------------------------------------------------------ YAML 1.2
class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalars and duplicate keys refused (as the `yaml` npm
    package reads the file for the TypeScript side)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) or key is None:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"map keys must be unique; {key!r} is given twice", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep)


def _int12(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    v = loader.construct_scalar(node)
    if v.startswith("0o"):
        return int(v[2:], 8)
    if v.startswith("0x"):
        return int(v[2:], 16)
    return int(v, 10)


def _float12(loader: yaml.SafeLoader, node: yaml.Node) -> float:
    v = loader.construct_scalar(node).lower()
    if v.endswith(".inf"):
        return float("-inf") if v.startswith("-") else float("inf")
    if v == ".nan":
        return float("nan")
    return float(v)


_Yaml12Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    ("tag:yaml.org,2002:float",
     r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     list("-+.0123456789")),
):
    _Yaml12Loader.add_implicit_resolver(_tag, re.compile(_pattern), _first)
_Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _int12)
_Yaml12Loader.add_constructor("tag:yaml.org,2002:float", _float12)


def parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 - a SafeLoader subclass


# ------------------------------------------------------------------------------- the schema
@lru_cache(maxsize=1)
def json_schema() -> dict:
    """The catalog's JSON Schema, generated from the zod schema (npm run catalog:schema)."""
    return json.loads(resources.files("soundlake").joinpath(SCHEMA).read_text())


def _silver_schema() -> dict:
    return json_schema()["properties"]["tables"]["items"]["properties"]["silver"]


def transform_facts() -> dict[str, dict]:
    """Per transform name: the column types it takes and the column it adds (from the schema)."""
    branches = _silver_schema()["properties"]["transforms"]["items"]["oneOf"]
    return {b["properties"]["fn"]["const"]: b["x-transform"] for b in branches}


def column_type_pattern() -> re.Pattern:
    columns = _silver_schema()["properties"]["columns"]["items"]["properties"]
    return re.compile(columns["type"]["pattern"])


def format_path(path: Iterable[Any]) -> str:
    out = ""
    for i, p in enumerate(path):
        out += f"[{p}]" if isinstance(p, int) else (p if i == 0 else f".{p}")
    return out or "(root)"


def _q(value: Any) -> str:
    """A value as JSON.stringify writes it (the TypeScript side's wording)."""
    return json.dumps(value, ensure_ascii=False)


def _number(n: Any) -> str:
    return str(int(n)) if isinstance(n, float) and n.is_integer() else str(n)


def _one_of(values: list) -> str:
    return f"must be {_q(values[0])}" if len(values) == 1 else \
        "must be one of " + ", ".join(_q(v) for v in values)


def _unknown_fields(keys: list[str]) -> str:
    return f"unknown field{'s' if len(keys) > 1 else ''} " + ", ".join(_q(k) for k in keys)


_TYPE_WORDS = {"string": "must be a string", "number": "must be a number",
               "integer": "must be a whole number", "boolean": "must be true or false",
               "array": "must be a list", "object": "must be a mapping"}


def _describe(error, base: list, validator) -> list[tuple[list, str]]:
    """One JSON Schema error as (path, problem) in the catalog's wording."""
    path = base + list(error.absolute_path)
    kw, value, schema, instance = error.validator, error.validator_value, error.schema, error.instance
    messages = schema.get("x-messages", {}) if isinstance(schema, dict) else {}
    if kw in messages:
        return [(path, messages[kw])]
    if kw == "required":
        return [(path + [p], "is missing") for p in value if p not in instance]
    if kw == "type":
        if "const" in schema or "enum" in schema:
            return []  # said by const/enum, as zod says it
        return [(path, _TYPE_WORDS.get(value, f"must be {value}"))]
    if kw == "const":
        return [(path, _one_of([value]))]
    if kw == "enum":
        return [(path, _one_of(list(value)))]
    if kw == "additionalProperties":
        known = schema.get("properties", {})
        return [(path, _unknown_fields([k for k in instance if k not in known]))]
    if kw == "minimum":
        return [(path, f"must be at least {_number(value)}")]
    if kw == "maximum":
        return [(path, f"must be at most {_number(value)}")]
    if kw == "minItems":
        return [(path, f"must have at least {value} item(s)")]
    if kw == "maxItems":
        return [(path, f"must have at most {value} item(s)")]
    if kw == "pattern":
        return [(path, f"does not match {value}")]
    if kw == "oneOf":
        return _describe_union(value, instance, path, validator)
    if kw == "anyOf":
        return _describe_any(value, instance, path, validator)
    if kw == "minLength":
        return [(path, f"must be at least {value}")]
    if kw == "maxLength":
        return [(path, f"must be at most {value}")]
    return [(path, error.message)]


def _describe_union(branches: list[dict], instance: Any, path: list, validator) -> list[tuple[list, str]]:
    """A discriminated union (transforms by `fn`): name the discriminator, or the branch's problems."""
    if not isinstance(instance, dict):
        return [(path, _TYPE_WORDS["object"])]
    keys = set.intersection(*[{k for k, s in b.get("properties", {}).items() if "const" in s} for b in branches])
    if not keys:
        return [(path, "matches none of the allowed forms")]
    key = sorted(keys)[0]
    options = [b["properties"][key]["const"] for b in branches]
    if key not in instance:
        return [(path + [key], "is missing")]
    if instance[key] not in options:
        return [(path + [key], _one_of(options))]
    branch = branches[options.index(instance[key])]
    sub = validator.evolve(schema=branch)
    return [d for e in sub.iter_errors(instance) for d in _describe(e, path, sub)]


_JSON_TYPES = {"string": str, "object": dict, "array": list, "boolean": bool}


def _describe_any(branches: list[dict], instance: Any, path: list, validator) -> list[tuple[list, str]]:
    """A plain union (a value or `{ setting: NAME }`): the branch of the value's type says what is
    wrong, as zod reports it; a value of no branch's type matches none."""
    for b in branches:
        t = _JSON_TYPES.get(b.get("type", ""))
        if t is not None and isinstance(instance, t) and not (t is not bool and isinstance(instance, bool)):
            sub = validator.evolve(schema=b)
            return [d for e in sub.iter_errors(instance) for d in _describe(e, path, sub)]
    return [(path, "matches none of the allowed forms")]


def schema_problems(raw: Any) -> list[str]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(json_schema())
    seen: dict[str, None] = {}
    for error in validator.iter_errors(raw):
        for path, problem in _describe(error, [], validator):
            seen.setdefault(f"{format_path(path)}: {problem}", None)
    return list(seen)


# ------------------------------------------------------------------------ cross-field rules
def silver_tables_of(silver_name: str) -> list[str]:
    """The silver tables one catalog table writes: its own and its three companions."""
    return [silver_name, f"{silver_name}_changes", f"{silver_name}_rescued", f"{silver_name}_ingest_log"]


def _obj(v: Any) -> dict:
    return v if isinstance(v, dict) else {}


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _strings(v: Any) -> list[str] | None:
    return [x for x in v if isinstance(x, str)] if isinstance(v, list) else None


def _family(column_type: str) -> str:
    return "decimal" if column_type.startswith("decimal(") else column_type


# Snapshot tables (files over HTTP): the lineage columns every slice carries after the record's
# fields, and the one that orders a key's versions (shared/config/sourceRules.ts).
SNAPSHOT_COLUMNS = ("_source_url", "_loaded_at")
SNAPSHOT_SEQUENCE = "_loaded_at"
_SQL_FIELDS = ("schema", "table", "columns", "timeZone")
_HTTP_FIELDS = ("urls", "format", "csv", "fields")
_REST_FIELDS = ("endpoint", "params", "records", "paginate")


def _source_kind_of(source: dict, kinds: dict[str, str]) -> str | None:
    name = _str(source.get("name")) or "default"
    if name in kinds:
        return kinds[name]
    return "sql" if name == "default" else None


def _source_rules(t: dict, at: str, kind: str | None, problems: list[str]) -> None:
    """A table's source fields by the kind of source it names (sourceRules.ts, same words)."""
    if not isinstance(t.get("source"), dict):
        return
    source = t["source"]
    if kind is None:
        problems.append(f"{at}.source.name: unknown source {_q(source.get('name'))} (not in sources:)")
        return
    if kind in ("sql", "postgres", "mssql"):
        problems.extend(f"{at}.source.{f}: is missing" for f in ("schema", "table") if f not in source)
        problems.extend(f"{at}.source.{f}: applies to http sources only" for f in _HTTP_FIELDS if f in source)
        problems.extend(f"{at}.source.{f}: applies to rest sources only" for f in _REST_FIELDS if f in source)
        if "watermark" not in t:
            problems.append(f"{at}.watermark: is missing")
        return
    problems.extend(f"{at}.source.{f}: applies to SQL sources only" for f in _SQL_FIELDS if f in source)
    if "watermark" in t:
        problems.append(f"{at}.watermark: {kind} tables have none: every slice is a snapshot, stamped _loaded_at")
    if kind == "rest":
        problems.extend(f"{at}.source.{f}: applies to http sources only" for f in ("urls", "format", "csv") if f in source)
        problems.extend(f"{at}.source.{f}: is missing" for f in ("endpoint", "fields") if f not in source)
        p = source.get("paginate") if isinstance(source.get("paginate"), dict) else None
        if p is not None and p.get("type") in ("next_url", "cursor") and "next" not in p:
            what = "next cursor" if p["type"] == "cursor" else "next page's URL"
            problems.append(f"{at}.source.paginate.next: is missing (where the {what} is in a response)")
        if p is not None and p.get("type") == "offset" and "limit" not in p:
            problems.append(f"{at}.source.paginate.limit: is missing (the page size)")
    if isinstance(source.get("fields"), list):
        for k, f in enumerate(source["fields"]):
            if isinstance(f, dict) and f.get("name") in SNAPSHOT_COLUMNS:
                problems.append(f"{at}.source.fields[{k}].name: {_q(f['name'])} is a lineage column every slice adds")
    if kind == "http":
        problems.extend(f"{at}.source.{f}: applies to rest sources only" for f in _REST_FIELDS if f in source)
        problems.extend(f"{at}.source.{f}: is missing" for f in ("urls", "format") if f not in source)
        if "csv" in source and source.get("format") is not None and source.get("format") != "csv":
            problems.append(f"{at}.source.csv: applies to format csv only")
        if isinstance(source.get("csv"), dict) and source["csv"].get("header") is False and "fields" not in source:
            problems.append(f"{at}.source.fields: is missing (a CSV without a header row needs its fields named)")
        if isinstance(source.get("fields"), list):
            for k, f in enumerate(source["fields"]):
                if isinstance(f, dict) and "path" in f:
                    problems.append(f"{at}.source.fields[{k}].path: applies to rest sources only "
                                    "(file fields are named as in the file)")


def _catalog_source_rules(sources: Any, problems: list[str]) -> dict[str, str]:
    """The `sources:` block: unique names, each kind's fields, one app setting per SQL source
    (two names for one database would each get the whole maxConnections); returns name -> kind."""
    kinds: dict[str, str] = {}
    if not isinstance(sources, list):
        return kinds
    first: dict[str, int] = {}
    settings: dict[str, int] = {}
    for i, s in enumerate(sources):
        if not isinstance(s, dict):
            continue
        name, kind, at = _str(s.get("name")), _str(s.get("kind")), f"sources[{i}]"
        if name is not None:
            if name in first:
                problems.append(f"{at}.name: duplicate source name {_q(name)} (first at sources[{first[name]}])")
            else:
                first[name] = i
                if kind is not None:
                    kinds[name] = kind
        sql = kind in ("postgres", "mssql")
        for f in ("url", "maxConnections"):
            if f in s and kind is not None and not sql:
                problems.append(f"{at}.{f}: applies to postgres and mssql sources only")
        if "baseUrl" in s and kind is not None and kind not in ("http", "rest"):
            problems.append(f"{at}.baseUrl: applies to http and rest sources only")
        if sql and "url" not in s and name != "default":
            problems.append(f"{at}.url: is missing (the setting holding the connection URL)")
        if sql and "maxConnections" not in s and name != "default":
            problems.append(f"{at}.maxConnections: is missing (the most sessions the source may see from every instance together)")
        setting = _str(_obj(s.get("url")).get("setting")) if sql else None
        if setting is not None:
            if setting in settings:
                problems.append(f"{at}.url.setting: {_q(setting)} is already the setting of "
                                f"sources[{settings[setting]}]: one database is one source "
                                "(two would each get the whole maxConnections)")
            else:
                settings[setting] = i
        if name == "default" and kind is not None and not sql:
            problems.append(f"{at}.kind: the default source is the deployment's SQL source: postgres or mssql")
        _auth_rules(s, at, problems)
    return kinds


def _auth_rules(s: dict, at: str, problems: list[str]) -> None:
    """A `sources:` entry's auth, by type (sourceRules.ts `authRules`, same words)."""
    if s.get("kind") != "rest":
        if "auth" in s and s.get("kind") is not None:
            problems.append(f"{at}.auth: applies to rest sources only")
        return
    if "baseUrl" not in s:
        problems.append(f"{at}.baseUrl: is missing")
    auth = s.get("auth") if isinstance(s.get("auth"), dict) else None
    if auth is None:
        return
    needs = ["tokenUrl", "clientId", "clientSecret"] if auth.get("type") == "client_credentials" else \
        ["token"] if auth.get("type") == "bearer" else []
    problems.extend(f"{at}.auth.{f}: is missing ({auth.get('type')})" for f in needs if f not in auth)
    problems.extend(f"{at}.auth.{f}: does not apply to auth type {auth.get('type')}"
                    for f in ("tokenUrl", "clientId", "clientSecret", "token") if f in auth and f not in needs)


def _table_rules(t: dict, i: int, problems: list[str], kinds: dict[str, str]) -> None:
    at = f"tables[{i}]"
    source = _obj(t.get("source"))
    kind = _source_kind_of(source, kinds)
    snapshot = kind in ("http", "rest")
    fields = [f["name"] for f in source["fields"] if isinstance(f, dict) and isinstance(f.get("name"), str)] \
        if isinstance(source.get("fields"), list) else None
    extracted = ([*fields, *SNAPSHOT_COLUMNS] if fields is not None else None) if snapshot \
        else _strings(source.get("columns"))
    keys = _strings(t.get("primaryKey")) or []
    watermark = SNAPSHOT_SEQUENCE if snapshot else _str(_obj(t.get("watermark")).get("column"))
    listed = "source.fields" if snapshot else "source.columns"

    for moved in [k for k in ("schema", "table", "columns", "timeZone") if k in t]:
        problems.append(f"{at}.{moved}: belongs under source: (source: {{ schema, table, columns, timeZone }})")
    if extracted is not None and not snapshot:
        for n in [watermark, *keys]:
            if n is not None and n not in extracted:
                problems.append(f"{at}.source.columns: must include {_q(n)} "
                                "(watermark and primary key columns are always extracted)")
    if extracted is not None and snapshot:
        problems.extend(f"{at}.primaryKey: {_q(n)} is not a field (not in source.fields)"
                        for n in keys if n not in extracted)
    _source_rules(t, at, kind, problems)

    silver = _obj(t.get("silver"))
    sequence = _str(silver.get("sequenceColumn")) or watermark
    columns = silver.get("columns")
    declared = [c for c in columns if isinstance(c, dict)] if isinstance(columns, list) else None
    types: dict[str, str] = {}
    type_pattern = column_type_pattern()
    if isinstance(columns, list):
        first: dict[str, int] = {}
        for k, c in enumerate(columns):
            if not isinstance(c, dict):
                continue
            name, ctype = _str(c.get("name")), _str(c.get("type"))
            if name is not None:
                if name.lower() in first:
                    problems.append(f"{at}.silver.columns[{k}].name: duplicate column {_q(name)} "
                                    f"(first at silver.columns[{first[name.lower()]}])")
                else:
                    first[name.lower()] = k
                if extracted is not None and name not in extracted:
                    problems.append(f"{at}.silver.columns[{k}].name: {_q(name)} is not extracted (not in {listed})")
                if ctype is not None and type_pattern.search(ctype):
                    types[name.lower()] = ctype
            m = re.fullmatch(r"decimal\((\d+),(\d+)\)", ctype or "")
            if m and int(m[2]) > int(m[1]):
                problems.append(f"{at}.silver.columns[{k}].type: decimal scale must not exceed its precision")
        names = [n for n in (_str(c.get("name")) for c in declared or []) if n is not None]
        for n in dict.fromkeys([*keys, *([sequence] if sequence is not None else [])]):
            if n not in names:
                problems.append(f"{at}.silver.columns: must include {_q(n)} (primary key and sequence columns)")
    elif extracted is not None and _str(silver.get("sequenceColumn")) is not None \
            and silver["sequenceColumn"] not in extracted:
        problems.append(f"{at}.silver.sequenceColumn: {_q(silver['sequenceColumn'])} is not extracted "
                        f"(not in {listed})")

    # Transforms name columns the table has: the declared contract, else the extracted list
    # (a table with neither gets its columns at first sight: checked then, by silver).
    known: dict[str, str] | None = dict(types) if declared is not None else (
        {c.lower(): "" for c in extracted} if extracted is not None else None)
    where = "silver.columns" if declared is not None else listed
    facts = transform_facts()
    transforms = silver.get("transforms")
    if not isinstance(transforms, list) or known is None:
        return
    for k, tr in enumerate(transforms):
        if not isinstance(tr, dict) or _str(tr.get("fn")) not in facts:
            continue
        fact = facts[tr["fn"]]
        column = _str(tr.get("column"))
        if column is not None:
            ctype = known.get(column.lower())
            if ctype is None:
                problems.append(f"{at}.silver.transforms[{k}].column: unknown column {_q(column)} (not in {where})")
            elif ctype != "" and _family(ctype) not in fact["columnTypes"]:
                problems.append(f"{at}.silver.transforms[{k}].column: {tr['fn']} takes a "
                                f"{' or '.join(fact['columnTypes'])} column; {_q(column)} is {ctype}")
        adds = fact.get("adds")
        if adds:
            added = _str(tr.get(adds["field"])) or adds["default"]
            if added.lower() in known:
                problems.append(f"{at}.silver.transforms[{k}].{adds['field']}: column {_q(added)} already exists")
            else:
                known[added.lower()] = adds["type"]


def cross_check(raw: Any) -> list[str]:
    """The rules across fields (shared/config/catalogRules.ts says the same, in TypeScript)."""
    problems: list[str] = []
    kinds = _catalog_source_rules(raw.get("sources") if isinstance(raw, dict) else None, problems)
    tables = raw.get("tables") if isinstance(raw, dict) else None
    if not isinstance(tables, list):
        return problems
    names: dict[str, int] = {}
    silver_owners: dict[str, int] = {}
    for i, t in enumerate(tables):
        if not isinstance(t, dict):
            continue
        name = _str(t.get("name"))
        if name is not None:
            if name in names:
                problems.append(f"tables[{i}].name: duplicate table name {_q(name)} (first at tables[{names[name]}])")
            else:
                names[name] = i
        silver = _obj(t.get("silver"))
        silver_name = _str(silver.get("name")) or name
        if silver_name is not None and not (name is not None and names.get(name) != i):
            field = f"tables[{i}].silver.name" if _str(silver.get("name")) else f"tables[{i}].name"
            clash = next((s for s in silver_tables_of(silver_name) if s in silver_owners), None)
            if clash is not None:
                problems.append(f"{field}: clashes with tables[{silver_owners[clash]}]: "
                                f"both would write silver table {_q(clash)}")
            else:
                for s in silver_tables_of(silver_name):
                    silver_owners[s] = i
        _table_rules(t, i, problems, kinds)
    return problems


# ------------------------------------------------------------------------------ the model
@dataclass(frozen=True)
class Transform:
    """One step of a table's silver transformation (silver/transforms.py): a function by name,
    the column it reads, and the column it adds (None for in-place functions)."""

    fn: str
    column: str
    into: str | None = None


@dataclass(frozen=True)
class TableEntry:
    """One catalog table, with the defaults applied: what bronze and silver need of it."""

    name: str                                         # bronze: folder, state key
    source: dict                                      # SQL: schema, table (+ columns, timeZone); http: name, urls, format, ...
    keys: tuple[str, ...]
    watermark_column: str
    enabled: bool
    silver_name: str                                  # default: the bronze name
    sequence_column: str                              # default: the watermark column
    columns: tuple[tuple[str, str], ...] | None       # the declared contract, or None: held
    transforms: tuple[Transform, ...] = ()
    index: int = 0                                    # position in the file, for messages

    @property
    def added_columns(self) -> list[tuple[str, str]]:
        """Columns the transforms add, with their types (silver has them, bronze does not)."""
        facts = transform_facts()
        return [(t.into, facts[t.fn]["adds"]["type"]) for t in self.transforms if t.into]

    @property
    def silver_columns(self) -> list[str] | None:
        """The business columns of the silver table, when the contract is declared."""
        if self.columns is None:
            return None
        return [c for c, _ in self.columns] + [c for c, _ in self.added_columns]

    def bronze_table(self, columns: Iterable[tuple[str, str]] | None = None):
        """This table as silver reads it, with `columns` as its contract (default: declared)."""
        from soundlake.bronze import BronzeTable

        cols = tuple(columns) if columns is not None else self.columns
        if cols is None:
            raise ValueError(f"{self.name}: no declared columns; the contract is inferred at first sight")
        return BronzeTable(self.name, self.silver_name, self.keys, cols, self.sequence_column,
                           self.transforms)


@dataclass(frozen=True)
class Catalog:
    file: str
    tables: tuple[TableEntry, ...]

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tables]

    def table(self, name: str) -> TableEntry:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(f"table {name!r} is not in the catalog {self.file} (it has: {', '.join(self.names)})")

    def by_silver_name(self) -> dict[str, TableEntry]:
        return {t.silver_name: t for t in self.tables}

    def without(self, *names: str) -> "Catalog":
        return Catalog(self.file, tuple(t for t in self.tables if t.name not in names))


def _entry(i: int, t: dict) -> TableEntry:
    silver = t.get("silver") or {}
    facts = transform_facts()
    transforms = []
    for tr in silver.get("transforms") or []:
        adds = facts[tr["fn"]].get("adds")
        into = (tr.get(adds["field"]) or adds["default"]) if adds else None
        transforms.append(Transform(tr["fn"], tr["column"], into))
    cols = silver.get("columns")
    # Snapshot tables (files over HTTP) have no watermark: each slice is stamped _loaded_at.
    watermark = t["watermark"]["column"] if "watermark" in t else SNAPSHOT_SEQUENCE
    return TableEntry(
        name=t["name"], source=dict(t["source"]), keys=tuple(t["primaryKey"]),
        watermark_column=watermark, enabled=t.get("enabled", True),
        silver_name=silver.get("name") or t["name"],
        sequence_column=silver.get("sequenceColumn") or watermark,
        columns=tuple((c["name"], c["type"]) for c in cols) if cols else None,
        transforms=tuple(transforms), index=i,
    )


def parse_catalog(text: str, file: str = "soundlake.yaml") -> Catalog:
    """Parse and validate catalog text; `file` names the source in error messages."""
    try:
        raw = parse_yaml(text)
    except yaml.YAMLError as e:
        problem = getattr(e, "problem", None) or str(e).strip().splitlines()[0]
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise CatalogError(file, [f"YAML: {problem}{where}"]) from None
    problems = schema_problems(raw) + cross_check(raw)
    if problems:
        raise CatalogError(file, problems)
    return Catalog(file, tuple(_entry(i, t) for i, t in enumerate(raw["tables"])))


def catalog_path(explicit: str | os.PathLike | None = None) -> tuple[str, str]:
    """(name for messages, text) of the catalog to use; see the module doc for the order."""
    if explicit is not None or os.environ.get(SETTING):
        p = Path(explicit if explicit is not None else os.environ[SETTING])
        try:
            return str(p), p.read_text()
        except OSError as e:
            raise CatalogError(str(p), [f"cannot read file: {e}"]) from None
    packaged = resources.files("soundlake").joinpath(PACKAGED)
    if packaged.is_file():
        return f"soundlake/{PACKAGED} (packaged)", packaged.read_text()
    checkout = Path(__file__).resolve().parents[3] / "soundlake.yaml"
    if checkout.is_file():
        return str(checkout), checkout.read_text()
    raise CatalogError("soundlake.yaml", [f"no catalog: pass --catalog, set {SETTING}, or build the "
                                          "wheel from the repository (it packages soundlake.yaml)"])


def repository_catalog(root: str | os.PathLike) -> Path:
    """The catalog of the repository at `root`, as the bundle builds and deploys it:
    `SOUNDLAKE_CONFIG` relative to the root (the Function App resolves it from the same
    place), else `<root>/soundlake.yaml`. databricks/setup.py applies the same rule."""
    return Path(root) / os.environ.get(SETTING, "soundlake.yaml")


def load_catalog(path: str | os.PathLike | None = None) -> Catalog:
    name, text = catalog_path(path)
    return parse_catalog(text, name)
