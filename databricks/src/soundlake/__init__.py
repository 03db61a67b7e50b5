"""soundlake lakehouse: silver and gold on Databricks and on local Spark."""
