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


def _table_rules(t: dict, i: int, problems: list[str]) -> None:
    at = f"tables[{i}]"
    source = _obj(t.get("source"))
    extracted = _strings(source.get("columns"))
    keys = _strings(t.get("primaryKey")) or []
    watermark = _str(_obj(t.get("watermark")).get("column"))

    for moved in [k for k in ("schema", "table", "columns", "timeZone") if k in t]:
        problems.append(f"{at}.{moved}: belongs under source: (source: {{ schema, table, columns, timeZone }})")
    if extracted is not None:
        for n in [watermark, *keys]:
            if n is not None and n not in extracted:
                problems.append(f"{at}.source.columns: must include {_q(n)} "
                                "(watermark and primary key columns are always extracted)")

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
                    problems.append(f"{at}.silver.columns[{k}].name: {_q(name)} is not extracted (not in source.columns)")
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
                        "(not in source.columns)")

    # Transforms name columns the table has: the declared contract, else the extracted list
    # (a table with neither gets its columns at first sight: checked then, by silver).
    known: dict[str, str] | None = dict(types) if declared is not None else (
        {c.lower(): "" for c in extracted} if extracted is not None else None)
    where = "silver.columns" if declared is not None else "source.columns"
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


DEFAULT_SOURCE = "default"


def _source_rules(raw: dict, problems: list[str]) -> list[str] | None:
    """Sources: names unique; one app setting per source; the declared names (None: no block)."""
    sources = raw.get("sources")
    if not isinstance(sources, list):
        return None
    names: dict[str, int] = {}
    settings: dict[str, int] = {}
    for i, s in enumerate(sources):
        if not isinstance(s, dict):
            continue
        name = _str(s.get("name"))
        if name is not None:
            if name in names:
                problems.append(f"sources[{i}].name: duplicate source name {_q(name)} (first at sources[{names[name]}])")
            else:
                names[name] = i
        setting = _str(_obj(s.get("url")).get("setting"))
        if setting is not None:
            if setting in settings:
                problems.append(f"sources[{i}].url.setting: {_q(setting)} is already the setting of "
                                f"sources[{settings[setting]}]: one database is one source "
                                "(two would each get the whole maxConnections)")
            else:
                settings[setting] = i
    return list(names)


def _table_source(t: dict, i: int, declared: list[str] | None, problems: list[str]) -> None:
    if not isinstance(t.get("source"), dict):
        return
    named = _str(t["source"].get("name"))
    name = named if named is not None else DEFAULT_SOURCE
    known = declared if declared is not None else [DEFAULT_SOURCE]
    if name in known:
        return
    if declared is not None:
        listed = f"sources: {', '.join(_q(n) for n in declared) or 'none'}"
    else:
        listed = f"no sources: block, so the only source is {_q(DEFAULT_SOURCE)} (SOURCE_KIND / SOURCE_URL)"
    if named is not None:
        problems.append(f"tables[{i}].source.name: unknown source {_q(name)} ({listed})")
    else:
        problems.append(f"tables[{i}].source.name: is missing, and no source is named {_q(DEFAULT_SOURCE)} ({listed})")


def cross_check(raw: Any) -> list[str]:
    """The rules across fields (shared/config/catalogRules.ts says the same, in TypeScript)."""
    problems: list[str] = []
    declared = _source_rules(raw, problems) if isinstance(raw, dict) else None
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
        _table_rules(t, i, problems)
        _table_source(t, i, declared, problems)
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
    source: dict                                      # schema, table (+ name, columns, timeZone)
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
    return TableEntry(
        name=t["name"], source=dict(t["source"]), keys=tuple(t["primaryKey"]),
        watermark_column=t["watermark"]["column"], enabled=t.get("enabled", True),
        silver_name=silver.get("name") or t["name"],
        sequence_column=silver.get("sequenceColumn") or t["watermark"]["column"],
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
