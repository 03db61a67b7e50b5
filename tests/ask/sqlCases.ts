import type { GuardCode } from '../../shared/ask/sqlGuard.js';

/**
 * SQL the guard must refuse, each with the reason it must give. Every case carries a marker
 * (`hx<NN>`, in a string, alias or name) so a test can look for it in the SQL endpoint's own
 * query log and prove that no refused text ever reached the engine.
 */
export interface HostileCase {
  id: string;
  sql: string;
  code: GuardCode;
  /** A word the refusal message must contain (names the thing refused). */
  mentions: string;
}

const cases: [string, GuardCode, string][] = [
  // DDL, DML and other statements that are not queries
  ["DROP TABLE gold.dim_user /*hx01*/", 'comment', 'comment'],
  ["DROP TABLE gold.hx02", 'not_select', 'DROP'],
  ["DELETE FROM gold.fact_stream WHERE stream_id > 0 AND 'hx03' = 'hx03'", 'not_select', 'DELETE'],
  ["INSERT INTO gold.dim_artist VALUES (1, 'hx04', 'pop', 'SE', now(), now(), NULL)", 'not_select', 'INSERT'],
  ["INSERT OVERWRITE DIRECTORY '/tmp/hx05' USING parquet SELECT * FROM gold.dim_user", 'not_select', 'INSERT'],
  ["UPDATE gold.dim_user SET country = 'hx06'", 'not_select', 'UPDATE'],
  ["MERGE INTO gold.dim_user t USING gold.dim_user hx07 ON t.user_id = hx07.user_id WHEN MATCHED THEN DELETE", 'not_select', 'MERGE'],
  ["CREATE TABLE gold.hx08 AS SELECT * FROM gold.fact_stream", 'not_select', 'CREATE'],
  ["CREATE OR REPLACE VIEW gold.hx09 AS SELECT 1", 'not_select', 'CREATE'],
  ["ALTER TABLE gold.dim_user SET TBLPROPERTIES ('hx10' = 'x')", 'not_select', 'ALTER'],
  ["TRUNCATE TABLE gold.fact_stream_hx11", 'not_select', 'TRUNCATE'],
  ["SET spark.sql.runSQLOnFiles = true -- hx12", 'comment', 'comment'],
  ["SET spark.sql.hx13 = true", 'not_select', 'SET'],
  ["RESET spark.sql.hx14", 'not_select', 'RESET'],
  ["USE hx15", 'not_select', 'USE'],
  ["CREATE FUNCTION hx16 AS 'com.example.Evil' USING JAR '/tmp/evil.jar'", 'not_select', 'CREATE'],
  ["CREATE TEMPORARY FUNCTION hx17 AS 'com.example.Evil'", 'not_select', 'CREATE'],
  ["CREATE FUNCTION hx18(x INT) RETURNS INT RETURN x + 1", 'not_select', 'CREATE'],
  ["ADD JAR /tmp/hx19.jar", 'not_select', 'ADD'],
  ["GRANT SELECT ON SCHEMA silver TO `hx20`", 'not_select', 'GRANT'],
  ["CACHE TABLE hx21 AS SELECT * FROM gold.fact_stream", 'not_select', 'CACHE'],
  ["VACUUM gold.fact_stream RETAIN 0 HOURS DRY RUN -- hx22", 'comment', 'comment'],
  ["OPTIMIZE gold.hx23", 'not_select', 'OPTIMIZE'],
  ["EXPLAIN SELECT 'hx24' FROM gold.dim_user", 'not_select', 'EXPLAIN'],
  ["SHOW TABLES IN hx25", 'not_select', 'SHOW'],
  ["DESCRIBE gold.hx26", 'not_select', 'DESCRIBE'],
  ["DECLARE VARIABLE hx27 INT", 'not_select', 'DECLARE'],
  ["VALUES ('hx28')", 'not_select', 'VALUES'],
  ["TABLE silver.hx29", 'not_select', 'TABLE'],
  ["FROM gold.dim_user SELECT 'hx30'", 'not_select', 'FROM'],
  // several statements, comments, string tricks
  ["SELECT count(*) FROM gold.fact_stream; DROP TABLE gold.hx31", 'multiple_statements', 'one statement'],
  ["SELECT 'hx32' FROM gold.dim_user; SELECT 2 FROM gold.dim_user", 'multiple_statements', 'one statement'],
  ["SELECT count(*) FROM gold.fact_stream /* hx33 */", 'comment', 'comment'],
  ["SELECT 1 AS hx34 /* /* nested */ ; DROP TABLE gold.dim_user; /* */ */ FROM gold.dim_user", 'comment', 'comment'],
  ["SELECT stream_id FROM gold.fact_stream -- hx35 \\\nWHERE 1 = 0", 'comment', 'comment'],
  ["SELECT /*+ REPARTITION(100000) */ stream_id AS hx36 FROM gold.fact_stream", 'comment', 'hint'],
  ["SELECT 'hx37\\'; DROP TABLE gold.dim_user; --' AS a FROM gold.dim_user", 'string_escape', 'backslash'],
  ["SELECT country FROM gold.dim_user WHERE country = 'hx38\\\\' OR 1 = 1", 'string_escape', 'backslash'],
  ["SELECT \"hx39\\\"; DROP TABLE x; --\" FROM gold.dim_user", 'string_escape', 'backslash'],
  ["SELECT '${spark.databricks.token}' AS hx40 FROM gold.dim_user", 'substitution', 'substitution'],
  ["SELECT '${env:HOME}' AS hx41 FROM gold.dim_user", 'substitution', 'substitution'],
  ["SELECT 'hx42 FROM gold.dim_user", 'unparseable', 'never closed'],
  ["SELECT hx43 FROM gold.dim_user WHERE", 'unparseable', 'parse'],
  ["SELECT 1；DROP TABLE gold.hx44", 'unparseable', 'parse'],
  ["SELECT TRANSFORM(stream_id) USING 'cat /etc/passwd' AS (hx45) FROM gold.fact_stream", 'unparseable', 'parse'],
  // other catalogs, schemas and tables
  ["SELECT * FROM silver.users AS hx46", 'table_not_allowed', 'silver'],
  ["SELECT * FROM soundlake.silver.users AS hx47", 'table_not_allowed', 'catalog'],
  ["SELECT * FROM other_catalog.gold.dim_artist AS hx48", 'table_not_allowed', 'catalog'],
  ["SELECT * FROM system.access.audit AS hx49", 'table_not_allowed', 'catalog'],
  ["SELECT * FROM information_schema.tables AS hx50", 'table_not_allowed', 'information_schema'],
  ["SELECT * FROM gold.hx51", 'table_not_allowed', 'hx51'],
  ["SELECT artist_id FROM gold.dim_artist WHERE artist_id IN (SELECT user_id FROM silver.users AS hx52)", 'table_not_allowed', 'silver'],
  ["WITH hx53 AS (SELECT * FROM silver.users) SELECT * FROM hx53", 'table_not_allowed', 'silver'],
  ["SELECT artist_id FROM gold.dim_artist UNION ALL SELECT user_id FROM bronze.hx54", 'table_not_allowed', 'bronze'],
  ["SELECT (SELECT max(stream_id) FROM silver.streams AS hx55) AS m FROM gold.dim_user", 'table_not_allowed', 'silver'],
  // files, table-valued functions, time travel
  ["SELECT * FROM parquet.`/etc/hx56`", 'file_access', 'files'],
  ["SELECT * FROM delta.`/work/lake/silver/users_hx57`", 'file_access', 'files'],
  ["SELECT * FROM csv.`file:///etc/passwd_hx58`", 'file_access', 'files'],
  ["SELECT * FROM json.`/tmp/hx59`", 'file_access', 'files'],
  ["SELECT * FROM text.`/etc/hx60`", 'file_access', 'files'],
  ["SELECT * FROM binaryFile.`/tmp/hx61`", 'file_access', 'files'],
  ["SELECT * FROM read_files('/Volumes/hx62')", 'table_function', 'read_files'],
  ["SELECT * FROM range(1000000000) AS hx63", 'table_function', 'range'],
  ["SELECT * FROM IDENTIFIER('silver.hx64')", 'table_function', 'identifier'],
  ["SELECT * FROM read_kafka(bootstrapServers => 'hx65:9092')", 'table_function', 'read_kafka'],
  ["SELECT * FROM gold.fact_stream VERSION AS OF 0 AS hx66", 'syntax_not_allowed', 'AS OF'],
  ["SELECT stream_id AS hx67 FROM gold.fact_stream TIMESTAMP AS OF '2020-01-01'", 'syntax_not_allowed', 'AS OF'],
  // functions that reach outside the query
  ["SELECT reflect('java.lang.System', 'exit', 0) AS hx68 FROM gold.dim_user", 'function_not_allowed', 'reflect'],
  ["SELECT java_method('java.lang.Runtime', 'getRuntime') AS hx69 FROM gold.dim_user", 'function_not_allowed', 'java_method'],
  ["SELECT secret('scope', 'hx70') FROM gold.dim_user", 'function_not_allowed', 'secret'],
  ["SELECT ai_query('endpoint', 'hx71') FROM gold.dim_user", 'function_not_allowed', 'ai_query'],
  ["SELECT http_request(conn => 'hx72', method => 'GET', path => '/') FROM gold.dim_user", 'function_not_allowed', 'http_request'],
  ["SELECT input_file_name() AS hx73 FROM gold.fact_stream", 'function_not_allowed', 'input_file_name'],
  ["SELECT current_user() AS hx74 FROM gold.dim_user", 'function_not_allowed', 'current_user'],
  ["SELECT gold.hx75(artist_id) FROM gold.dim_artist", 'function_not_allowed', 'hx75'],
  ["SELECT stream_id AS hx76 FROM gold.fact_stream LATERAL VIEW explode(array(1, 2)) t AS x", 'syntax_not_allowed', 'LATERAL'],
  // columns
  ["SELECT user_name AS hx77 FROM gold.dim_user", 'column_not_allowed', 'user_name'],
  ["SELECT * FROM gold.dim_user AS hx78", 'column_not_allowed', 'user_name'],
  ["SELECT hx79.* FROM gold.dim_user AS hx79", 'column_not_allowed', 'user_name'],
  ["SELECT count(*) AS hx80 FROM gold.dim_user WHERE upper(user_name) LIKE 'A%'", 'column_not_allowed', 'user_name'],
  ["SELECT hx81 FROM gold.fact_stream", 'unknown_column', 'hx81'],
  ["SELECT f.hx82 FROM gold.fact_stream AS f", 'unknown_column', 'hx82'],
  // a SELECT that writes
  ["SELECT stream_id INTO hx83 FROM gold.fact_stream", 'syntax_not_allowed', 'INTO'],
  ["", 'empty', 'no SQL'],
];

export const HOSTILE_CASES: HostileCase[] = cases.map(([sql, code, mentions], i) => ({ id: `hostile-${String(i + 1).padStart(2, '0')}`, sql, code, mentions }));

/** Spark SQL a model writes for questions over gold: all must pass the guard. */
export const GOOD_QUERIES: string[] = [
  'SELECT a.artist_name, count(*) AS streams FROM gold.fact_stream f JOIN gold.dim_artist a ON a.artist_id = f.artist_id AND a.__START_AT = f.artist_valid_from GROUP BY a.artist_name ORDER BY streams DESC LIMIT 3',
  "SELECT u.subscription_type, count(*) AS streams FROM gold.fact_stream f JOIN gold.dim_user u ON u.user_id = f.user_id AND u.__START_AT = f.user_valid_from WHERE f.streamed_at >= add_months(date_trunc('MONTH', current_date()), -1) AND f.streamed_at < date_trunc('MONTH', current_date()) GROUP BY u.subscription_type ORDER BY u.subscription_type",
  'WITH changes AS (SELECT cur.user_id FROM gold.dim_user cur JOIN gold.dim_user prev ON prev.user_id = cur.user_id AND prev.__END_AT = cur.__START_AT WHERE prev.subscription_type <> cur.subscription_type AND year(cur.__START_AT) = year(current_date())) SELECT count(DISTINCT user_id) AS users FROM changes',
  'select count(*) from GOLD.FACT_STREAM',
  'SELECT d.year, d.month, count(*) AS streams FROM gold.fact_stream f JOIN gold.dim_date d ON d.date_key = f.date_key GROUP BY d.year, d.month ORDER BY d.year, d.month',
  'SELECT device_type, round(sum(ms_played) / 3600000, 2) AS hours FROM gold.fact_stream GROUP BY device_type ORDER BY hours DESC;',
  "SELECT t.duration_flag, avg(t.energy) AS energy FROM gold.dim_track t WHERE t.__END_AT IS NULL GROUP BY ALL",
  'SELECT genre, count(*) FROM gold.dim_artist WHERE __END_AT IS NULL GROUP BY genre HAVING count(*) > 1 ORDER BY 2 DESC',
  'SELECT artist_id, streams, rank() OVER (ORDER BY streams DESC) AS r FROM (SELECT artist_id, count(*) AS streams FROM gold.fact_stream GROUP BY artist_id) s QUALIFY r <= 5',
  "SELECT max_by(a.artist_name, a.__START_AT) AS name FROM gold.dim_artist a WHERE a.genre = \"pop\"",
  'SELECT count_if(ms_played < 30000) AS skips, count(*) AS plays FROM gold.fact_stream',
  "SELECT CAST(streamed_at AS DATE) AS day, count(*) FROM gold.fact_stream WHERE streamed_at >= current_date() - INTERVAL 7 DAYS GROUP BY 1 ORDER BY 1",
  "SELECT CASE WHEN ms_played >= 30000 THEN 'full' ELSE 'skip' END AS kind, count(*) AS n FROM gold.fact_stream GROUP BY 1",
  'SELECT u.country, count(DISTINCT f.user_id) AS listeners FROM gold.fact_stream f LEFT JOIN gold.dim_user u ON u.user_id = f.user_id AND u.__START_AT = f.user_valid_from GROUP BY u.country',
  'SELECT track_id FROM gold.dim_track WHERE __END_AT IS NULL AND track_id NOT IN (SELECT track_id FROM gold.fact_stream)',
  'SELECT a.artist_id FROM gold.dim_artist a WHERE EXISTS (SELECT 1 FROM gold.fact_stream f WHERE f.artist_id = a.artist_id AND f.device_type = \'web\')',
  'SELECT `artist_id`, count(*) AS `streams` FROM gold.`fact_stream` GROUP BY `artist_id`',
  'SELECT broken_ratio FROM gold.fact_stream_quality',
  'SELECT user_id FROM gold.dim_user WHERE __END_AT IS NULL UNION SELECT user_id FROM gold.fact_stream',
  "SELECT date_format(streamed_at, 'yyyy-MM') AS month, percentile_approx(ms_played, 0.5) AS median_ms FROM gold.fact_stream GROUP BY 1",
  'SELECT t.track_name, t.tempo_bpm FROM spark_catalog.gold.dim_track t WHERE t.__END_AT IS NULL ORDER BY t.tempo_bpm DESC LIMIT 10',
  'SELECT coalesce(u.subscription_type, \'unknown\') AS plan, count(*) FROM gold.fact_stream f LEFT JOIN gold.dim_user u ON f.user_id = u.user_id AND f.user_valid_from = u.__START_AT GROUP BY plan',
  '(SELECT artist_id FROM gold.dim_artist LIMIT 2)',
];
