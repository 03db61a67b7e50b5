package soundlake.endpoint;

import java.util.Set;

import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.catalyst.catalog.CatalogTable;
import org.apache.spark.sql.catalyst.catalog.HiveTableRelation;
import org.apache.spark.sql.catalyst.expressions.CallMethodViaReflection;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.plans.logical.Command;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.ScriptTransformation;
import org.apache.spark.sql.execution.command.SetCommand;
import org.apache.spark.sql.execution.datasources.LogicalRelation;
import org.apache.spark.sql.execution.datasources.v2.DataSourceV2Relation;

import scala.Function1;
import scala.runtime.BoxedUnit;

/**
 * Makes the local SQL endpoint read-only for its clients: a check rule, run by Spark's analyzer
 * on every statement before anything executes, refuses
 *   - every command except a few that only read the catalogue (USE, SHOW, DESCRIBE, SET key),
 *     so no DDL, DML, CACHE, ADD JAR, CREATE FUNCTION, SET key=value, RESET ...;
 *   - script transformation (SELECT TRANSFORM ... USING 'program');
 *   - reflect()/java_method() (JVM calls);
 *   - any relation that is not a table of the gold schema (files by path, other schemas).
 * It is armed by the endpoint after it has registered the gold tables (that needs DDL).
 * Compiled at endpoint start (javac) against the pyspark jars; see sql_endpoint.py.
 */
public final class ReadOnlyGold implements Function1<SparkSessionExtensions, BoxedUnit> {
  private static volatile boolean armed = false;
  private static volatile String schema = "gold";

  private static final Set<String> READ_ONLY_COMMANDS = Set.of(
      "SetCatalogAndNamespace", "SetNamespaceCommand", "ShowTables", "ShowTablesCommand", "ShowTablesExtended",
      "ShowNamespaces", "ShowNamespacesCommand", "ShowColumns", "ShowColumnsCommand", "DescribeRelation",
      "DescribeTableCommand", "DescribeColumn", "DescribeColumnCommand", "DescribeNamespace", "DescribeNamespaceCommand",
      "ShowFunctions", "ShowFunctionsCommand", "ShowCatalogsCommand", "ShowCurrentNamespaceCommand", "ShowCatalogs");

  /** From now on, every statement is checked; `goldSchema` is the only schema that may be read. */
  public static void arm(String goldSchema) {
    schema = goldSchema;
    armed = true;
  }

  public static boolean isArmed() {
    return armed;
  }

  @Override
  public BoxedUnit apply(SparkSessionExtensions extensions) {
    Function1<SparkSession, Function1<LogicalPlan, BoxedUnit>> builder = session -> plan -> {
      if (armed) check(plan);
      return BoxedUnit.UNIT;
    };
    extensions.injectCheckRule(builder);
    return BoxedUnit.UNIT;
  }

  private static RuntimeException refuse(String what) {
    return new UnsupportedOperationException("the soundlake SQL endpoint is read-only: " + what + " is not allowed");
  }

  static void check(LogicalPlan root) {
    Function1<LogicalPlan, BoxedUnit> visit = node -> {
      String name = node.nodeName();
      if (node instanceof SetCommand set) {
        if (set.kv().isDefined() && set.kv().get()._2().isDefined()) throw refuse("SET key=value");
      } else if (node instanceof Command && !READ_ONLY_COMMANDS.contains(name)) {
        throw refuse(name);
      }
      if (node instanceof ScriptTransformation) throw refuse("TRANSFORM ... USING");
      if (node instanceof LogicalRelation rel) {
        if (rel.catalogTable().isEmpty()) throw refuse("reading files by path");
        checkTable(rel.catalogTable().get());
      }
      if (node instanceof HiveTableRelation hive) checkTable(hive.tableMeta());
      if (node instanceof DataSourceV2Relation v2) {
        if (v2.identifier().isEmpty()) throw refuse("reading files by path");
        String[] ns = v2.identifier().get().namespace();
        if (ns.length == 0 || !ns[ns.length - 1].equalsIgnoreCase(schema)) throw refuse("reading " + v2.identifier().get() + " (only " + schema + ")");
      }
      scala.collection.Iterator<Expression> exprs = node.expressions().iterator();
      while (exprs.hasNext()) {
        Function1<Expression, BoxedUnit> visitExpr = e -> {
          if (e instanceof CallMethodViaReflection) throw refuse("reflect()/java_method()");
          return BoxedUnit.UNIT;
        };
        exprs.next().foreach(visitExpr);
      }
      return BoxedUnit.UNIT;
    };
    root.foreachWithSubqueries(visit);
  }

  private static void checkTable(CatalogTable table) {
    String db = table.identifier().database().isDefined() ? table.identifier().database().get() : "";
    if (!db.equalsIgnoreCase(schema)) throw refuse("reading " + table.identifier().unquotedString() + " (only " + schema + ")");
  }
}
