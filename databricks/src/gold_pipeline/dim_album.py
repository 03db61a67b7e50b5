# dim_album: SCD Type 2 through AUTO CDC (keys, sequence_by updated_at, stored_as_scd_type 2).
from pyspark import pipelines as dp
from soundlake.gold.dims import DIM_ALBUM as SPEC

dp.create_streaming_table(name=SPEC.name, comment=f"SCD2 {SPEC.name} from silver.{SPEC.silver_changes}")
dp.create_auto_cdc_flow(**SPEC.auto_cdc_args())
