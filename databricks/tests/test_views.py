"""Metadata-driven views: rendering, running the SQL, and clear errors for bad descriptions."""
from __future__ import annotations

import copy

import pytest

from soundlake.silver import views as v

from demo_tables import CATALOG

GOOD = {
    "name": "plays",
    "base": {"table": "streams", "alias": "s", "columns": ["stream_id", "ms_played"]},
    "joins": [
        {"table": "users", "alias": "u", "type": "left", "columns": ["user_name"],
         "condition": "s.user_id = u.user_id"},
        {"table": "tracks", "alias": "t", "columns": ["track_name"],
         "condition": "s.track_id = t.track_id"},
    ],
}
TABLES = {"streams", "users", "tracks", "artists", "albums"}


def test_render_produces_the_expected_sql():
    sql = v.render(v.validate(GOOD, known_tables=TABLES), "silver_plays", lambda t: f"silver_{t}",
                   temporary=True)
    assert sql.split() == """CREATE OR REPLACE TEMPORARY VIEW silver_plays AS SELECT
        s.`stream_id`, s.`ms_played`, u.`user_name`, t.`track_name`
        FROM silver_streams AS s
        LEFT JOIN silver_users AS u ON s.user_id = u.user_id
        INNER JOIN silver_tracks AS t ON s.track_id = t.track_id""".split()


def test_rendered_view_runs_and_joins_as_described(spark):
    spark.createDataFrame([(1, 1, 10, 500), (2, 9, 10, 700)], "stream_id long, user_id int, track_id int, ms_played int") \
        .createOrReplaceTempView("tv_streams")
    spark.createDataFrame([(1, "ANN")], "user_id int, user_name string").createOrReplaceTempView("tv_users")
    spark.createDataFrame([(10, "Song")], "track_id int, track_name string").createOrReplaceTempView("tv_tracks")
    spark.sql(v.render(v.validate(GOOD), "tv_plays", lambda t: f"tv_{t}", temporary=True))
    rows = spark.table("tv_plays").orderBy("stream_id").collect()
    assert [tuple(r) for r in rows] == [(1, 500, "ANN", "Song"), (2, 700, None, "Song")]


def test_configured_views_parse_and_run_on_empty_silver_tables(spark):
    from soundlake.silver.transforms import apply

    for t in CATALOG.tables:
        b = t.bronze_table()
        apply(spark.createDataFrame([], b.schema), b.transforms).createOrReplaceTempView(f"ev_{b.silver_name}")
    for i, spec in enumerate(v.check_views(CATALOG)):
        spark.sql(v.render(spec, f"ev_view_{i}", lambda t: f"ev_{t}", temporary=True))
        cols = spark.table(f"ev_view_{i}").columns
        assert cols == spec["base"]["columns"] + [c for j in spec["joins"] for c in j["columns"]]


def test_persistent_view_sql_carries_a_comment():
    sql = v.render(v.validate({**GOOD, "description": "it's a view"}), "`c`.`silver`.`plays`",
                   lambda t: f"`c`.`silver`.`{t}`")
    assert sql.startswith("CREATE OR REPLACE VIEW `c`.`silver`.`plays`\nCOMMENT 'it\\'s a view'\nAS")


def _bad(path: str, value):
    d = copy.deepcopy(GOOD)
    parts = path.split(".")
    node = d
    for p in parts[:-1]:
        node = node[int(p)] if p.isdigit() else node[p]
    if value is KeyError:
        del node[parts[-1]]
    else:
        node[parts[-1]] = value
    return d


@pytest.mark.parametrize("path, value, field, message", [
    ("name", KeyError, "views[0].name", "is missing"),
    ("name", "drop table", "views[0].name", "not a plain identifier"),
    ("base.table", KeyError, "views[0].base.table", "is missing"),
    ("base.table", "nope", "views[0].base.table", "unknown table 'nope'"),
    ("base.alias", KeyError, "views[0].base.alias", "is missing"),
    ("base.columns", [], "views[0].base.columns", "non-empty list"),
    ("base.columns", ["ok", "bad name"], "views[0].base.columns[1]", "not a plain identifier"),
    ("joins.0.condition", KeyError, "views[0].joins[0].condition", "is missing"),
    ("joins.0.condition", "s.user_id = x.user_id", "views[0].joins[0].condition", "alias(es) ['x']"),
    ("joins.0.condition", "s.user_id = t.user_id", "views[0].joins[0].condition", "alias(es) ['t']"),
    ("joins.0.condition", "1 = 1", "views[0].joins[0].condition", "alias.column"),
    ("joins.0.condition", "s.a = u.a; DROP TABLE x", "views[0].joins[0].condition", "';'"),
    ("joins.0.type", "cross", "views[0].joins[0].type", "'cross' is not one of"),
    ("joins.1.alias", "u", "views[0].joins[1].alias", "already used"),
    ("joins.1.columns", ["user_name"], "views[0].columns", "selected from both u and t"),
    ("joins", "users", "views[0].joins", "must be a list"),
])
def test_bad_descriptions_fail_naming_the_field(path, value, field, message):
    with pytest.raises(v.ViewSpecError) as e:
        v.validate(_bad(path, value), "views[0]", TABLES)
    assert e.value.field == field
    assert str(e.value).startswith(f"{field}: ") and message in str(e.value)


def test_views_file_must_hold_a_list():
    with pytest.raises(v.ViewSpecError, match="^views: must be a list"):
        v.load_views("views: {}")


def test_views_are_checked_against_the_catalog_at_load():
    """A view naming a table or a column the catalog does not have fails before any SQL runs."""
    from importlib import resources

    import yaml

    doc = yaml.safe_load(resources.files("soundlake").joinpath("conf/views.yml").read_text())

    def fails(mutate, field: str, message: str) -> None:
        d = copy.deepcopy(doc)
        mutate(d["views"][0])
        with pytest.raises(v.ViewSpecError) as e:
            v.check_views(CATALOG, yaml.safe_dump(d))
        assert e.value.field == field and message in str(e.value), str(e.value)

    v.check_views(CATALOG)  # the repository's views fit the repository's catalog
    fails(lambda x: x["base"].update(table="playlists"), "views[0].base.table", "unknown table 'playlists'")
    fails(lambda x: x["joins"][1]["columns"].append("tempo"), "views[0].joins[1].columns[3]",
          "silver table 'tracks' has no column 'tempo'")
    fails(lambda x: x["joins"][0].update(condition="s.user_id = u.id"), "views[0].joins[0].condition",
          "u.id: silver table 'users' has no column 'id'")
    fails(lambda x: x.update(name="users_changes"), "views[0].name",
          "'users_changes' is a silver table of the catalog's tables[0] (dim_users)")
    # a table leaving the catalog takes its views with it: loudly
    with pytest.raises(v.ViewSpecError, match=r"views\[0\]\.joins\[0\]\.table: unknown table 'users'"):
        v.check_views(CATALOG.without("dim_users"))
    # columns added by transforms and the lineage columns are there to use
    v.check_views(CATALOG, yaml.safe_dump({"views": [{"name": "flags", "base": {
        "table": "tracks", "alias": "t", "columns": ["duration_flag", "_ingested_at"]}}]}))


@pytest.mark.local_only
def test_a_view_over_a_table_whose_contract_is_held_is_checked_when_created(spark, tmp_path):
    """A plain catalog table has no declared columns: a view may name it, and its columns are
    checked against the silver table once silver has created it (before: a clear error)."""
    import yaml

    from soundlake import lake as lk
    from soundlake.catalog import parse_catalog

    from demo_tables import REPO_CATALOG

    catalog = parse_catalog(REPO_CATALOG.read_text() + """
  - name: dim_playlists
    source: { schema: public, table: dim_playlists }
    watermark: { column: updated_at, kind: timestamp }
    primaryKey: [playlist_id]
""")
    lake = lk.PathLake(str(tmp_path / "lake"))

    def views(columns: list[str]) -> str:
        return yaml.safe_dump({"views": [{"name": "playlist_owners", "base": {
            "table": "dim_playlists", "alias": "p", "columns": columns}, "joins": [{
                "table": "users", "alias": "u", "type": "left", "columns": ["user_name"],
                "condition": "p.owner_id = u.user_id"}]}]})

    v.check_views(catalog, views(["playlist_id", "title"]))  # at load: the table is known, its columns not yet
    with pytest.raises(v.ViewSpecError, match="silver table 'dim_playlists' does not exist yet"):
        v.create_views(spark, lake, catalog, temporary=True, text=views(["playlist_id", "title"]))
    for name, ddl in (("dim_playlists", "playlist_id int, owner_id int, title string, updated_at timestamp"),
                      ("users", "user_id int, user_name string")):
        spark.createDataFrame([], ddl).write.format("delta").save(lake.path("silver", name))
    assert v.create_views(spark, lake, catalog, temporary=True, text=views(["playlist_id", "title"])) == [
        "silver_playlist_owners"]
    assert spark.table("silver_playlist_owners").columns == ["playlist_id", "title", "user_name"]
    with pytest.raises(v.ViewSpecError, match=r"views\[0\]\.base\.columns\[1\]: silver table 'dim_playlists' has no column 'mood'"):
        v.create_views(spark, lake, catalog, temporary=True, text=views(["playlist_id", "mood"]))
