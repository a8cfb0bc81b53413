"""Reads an Iceberg table with PyIceberg (the Iceberg project's Python
library) from its metadata file and prints its schema and rows as JSON.
PyIceberg matches columns and nested fields by field id. Dates print as days
since the epoch and timestamps as microseconds, so no Python date limit applies."""
import json
import sys

import pyarrow as pa
from pyiceberg.table import StaticTable


def plain(array):
    t = array.type
    if pa.types.is_date32(t):
        return array.cast(pa.int32())
    if pa.types.is_timestamp(t) or pa.types.is_time(t):
        return array.cast(pa.int64())
    return array


table = StaticTable.from_metadata(sys.argv[1]).scan().to_arrow()
columns = {name: plain(table.column(name).combine_chunks()).to_pylist() for name in table.column_names}
rows = [{name: columns[name][i] for name in table.column_names} for i in range(table.num_rows)]
print(json.dumps({"columns": table.column_names, "rows": rows}, default=str))
