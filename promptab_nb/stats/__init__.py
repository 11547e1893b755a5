"""Statistics over sufficient statistics (counts, sums, sums of squares). Pure: no DuckDB, no I/O."""
