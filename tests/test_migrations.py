"""Migrations: idempotent, recorded, and a broken one leaves the database as it was."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dashboard.backends.migrate import MIGRATIONS_DIR, MigrationError, migrate, migration_files
from tests.dbutil import create_database, drop_database


def test_applying_twice_changes_nothing(database_url: str) -> None:
    report = migrate(database_url)
    assert report.applied == []
    assert len(report.already) == len(migration_files())


def test_every_migration_is_recorded(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        versions = [
            r[0]
            for r in conn.execute(
                "select version from supabase_migrations.schema_migrations order by version"
            )
        ]
    assert versions == [v for v, _, _ in migration_files()]


def test_a_broken_migration_leaves_the_database_as_it_was(
    admin_url_for: dict[str, str], tmp_path: Path
) -> None:
    admin_url = admin_url_for["embedded"]
    url = create_database(admin_url)
    try:
        for _, _, path in migration_files():
            (tmp_path / path.name).write_text(path.read_text())
        (tmp_path / "29990101000000_break_things.sql").write_text(
            "create table public.half_written (id int);\nselect 1/0;\n"
        )
        with pytest.raises(MigrationError, match=r"29990101000000_break_things\.sql"):
            migrate(url, directory=tmp_path)
        with psycopg.connect(url) as conn:
            assert conn.execute("select to_regclass('public.half_written')").fetchone() == (None,)
            recorded = conn.execute(
                "select count(*) from supabase_migrations.schema_migrations"
                " where version = '29990101000000'"
            ).fetchone()
            assert recorded == (0,)
        # The good migrations before it were applied and recorded.
        report = migrate(url)
        assert report.applied == []
    finally:
        drop_database(admin_url, url)


def test_a_misnamed_migration_is_refused(tmp_path: Path) -> None:
    (tmp_path / "create_stuff.sql").write_text("select 1;")
    with pytest.raises(MigrationError, match="timestamp"):
        migration_files(tmp_path)


def test_migrations_folder_holds_only_well_named_files() -> None:
    assert all(p.name[:14].isdigit() for p in MIGRATIONS_DIR.glob("*.sql"))
