/**
 * Functions a question's SQL may call: aggregates, windows, dates, strings, maths and
 * conditionals that only compute over the rows already read. Everything else is refused,
 * notably what reaches outside the query: reflect/java_method (JVM calls), secret(),
 * http_request(), ai_*(), read_files(), input_file_name(), current_user() and user-defined
 * functions (any qualified name).
 */
export const FUNCTION_ALLOW_LIST: ReadonlySet<string> = new Set([
  // aggregates
  'count', 'count_if', 'sum', 'avg', 'mean', 'min', 'max', 'max_by', 'min_by', 'approx_count_distinct', 'percentile',
  'percentile_approx', 'approx_percentile', 'median', 'mode', 'stddev', 'stddev_pop', 'stddev_samp', 'std', 'variance',
  'var_pop', 'var_samp', 'first', 'last', 'first_value', 'last_value', 'any_value', 'bool_and', 'bool_or', 'every',
  'corr', 'covar_pop', 'covar_samp', 'collect_list', 'collect_set', 'array_agg', 'grouping', 'grouping_id',
  // windows
  'row_number', 'rank', 'dense_rank', 'percent_rank', 'cume_dist', 'ntile', 'lag', 'lead', 'nth_value',
  // dates and times
  'current_date', 'current_timestamp', 'now', 'curdate', 'date_trunc', 'trunc', 'date_add', 'date_sub', 'datediff',
  'date_diff', 'dateadd', 'add_months', 'months_between', 'year', 'quarter', 'month', 'day', 'dayofmonth', 'dayofweek',
  'dayofyear', 'weekofyear', 'weekday', 'hour', 'minute', 'second', 'to_date', 'to_timestamp', 'date_format', 'last_day',
  'next_day', 'make_date', 'make_timestamp', 'date_part', 'datepart', 'extract', 'unix_timestamp', 'from_unixtime',
  'timestampadd', 'timestampdiff', 'date_from_unix_date', 'unix_date', 'make_interval',
  // strings
  'lower', 'upper', 'lcase', 'ucase', 'initcap', 'length', 'char_length', 'character_length', 'concat', 'concat_ws',
  'substring', 'substr', 'left', 'right', 'trim', 'ltrim', 'rtrim', 'lpad', 'rpad', 'replace', 'split_part', 'contains',
  'startswith', 'endswith', 'instr', 'locate', 'position', 'format_number', 'format_string', 'printf', 'repeat',
  'reverse', 'translate',
  // maths
  'abs', 'round', 'bround', 'ceil', 'ceiling', 'floor', 'sqrt', 'cbrt', 'power', 'pow', 'exp', 'ln', 'log', 'log10', 'log2',
  'mod', 'pmod', 'greatest', 'least', 'sign', 'signum', 'div', 'try_divide', 'try_add', 'try_subtract', 'try_multiply',
  // conditionals and casts
  'coalesce', 'nullif', 'nvl', 'nvl2', 'ifnull', 'if', 'iff', 'isnull', 'isnotnull', 'nanvl', 'zeroifnull', 'nullifzero',
  'try_cast', 'cast', 'string', 'int', 'bigint', 'smallint', 'double', 'float', 'decimal', 'boolean', 'date', 'timestamp',
  // small collections (no generators)
  'array', 'size', 'array_contains', 'array_distinct', 'array_size', 'element_at', 'array_join', 'sort_array',
]);
