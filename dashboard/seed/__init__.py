"""`cliftonsites db seed`: realistic demo data for an empty database.

- `writer.py`: the entry points (`seed_database`, `ensure_demo_data`, `run_cli_seed`),
  one transaction, COPY per table;
- `rows.py`: the `Builder` that turns positions into table rows;
- `vocabulary.py`: the names, places and failure texts the rows are made of.
"""

from dashboard.seed.writer import (
    SeedError,
    SeedReport,
    ensure_demo_data,
    run_cli_seed,
    seed_database,
    validate,
)

__all__ = [
    "SeedError",
    "SeedReport",
    "ensure_demo_data",
    "run_cli_seed",
    "seed_database",
    "validate",
]
