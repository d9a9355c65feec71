"""Migrations: idempotent, recorded, and a broken one leaves the database as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dashboard.backends.migrate import (
    LOCAL_DIR,
    MIGRATIONS_DIR,
    ChangedMigrationError,
    MigrationError,
    migrate,
    migration_files,
)
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


@pytest.fixture
def empty_database(admin_url_for: dict[str, str]) -> Iterator[str]:
    admin_url = admin_url_for["embedded"]
    url = create_database(admin_url)
    yield url
    drop_database(admin_url, url)


def copy_migrations(folder: Path) -> list[Path]:
    copies = []
    for _, _, path in migration_files():
        copies.append(folder / path.name)
        copies[-1].write_text(path.read_text())
    return copies


def applied_versions(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("select version from supabase_migrations.schema_migrations")
        return sorted(r[0] for r in rows)


def test_a_migration_edited_after_it_was_applied_is_refused_before_anything_runs(
    empty_database: str, tmp_path: Path
) -> None:
    copies = copy_migrations(tmp_path)
    migrate(empty_database, directory=tmp_path)
    copies[3].write_text(copies[3].read_text() + "\n-- an afterthought\n")
    (tmp_path / "29990101000000_create_later_things.sql").write_text(
        "create table public.later_thing (id int);\n"
    )
    with pytest.raises(ChangedMigrationError, match=copies[3].name) as caught:
        migrate(empty_database, directory=tmp_path)
    assert "never edited" in str(caught.value) and "new migration" in str(caught.value)
    assert "29990101000000" not in applied_versions(empty_database)  # nothing ran


def test_a_migration_applied_before_checksums_were_kept_gets_its_checksum_once(
    empty_database: str, tmp_path: Path
) -> None:
    copies = copy_migrations(tmp_path)
    migrate(empty_database, directory=tmp_path)
    with psycopg.connect(empty_database) as conn:  # as an older runner or the CLI left it
        conn.execute("delete from supabase_migrations.cliftonsites_checksums")
    report = migrate(empty_database, directory=tmp_path)
    assert report.checksums_recorded == [p.name for p in copies] and report.applied == []
    assert migrate(empty_database, directory=tmp_path).checksums_recorded == []
    copies[0].write_text("-- edited\n" + copies[0].read_text())
    with pytest.raises(ChangedMigrationError, match=copies[0].name):
        migrate(empty_database, directory=tmp_path)


def supabase_like(url: str) -> None:
    """What a new Supabase project has: its roles and auth schema, no migration history."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(LOCAL_DIR.joinpath("bootstrap.sql").read_text())
        conn.execute("drop schema supabase_migrations cascade")


def test_a_project_with_no_migration_history_gets_the_history_table_and_every_migration(
    empty_database: str,
) -> None:
    supabase_like(empty_database)
    report = migrate(empty_database, local=False)
    assert report.created_history and not report.bootstrapped
    assert report.applied == [p.name for _, _, p in migration_files()]
    assert applied_versions(empty_database) == [v for v, _, _ in migration_files()]
    assert not migrate(empty_database, local=False).created_history


def test_a_schema_with_no_migration_history_is_refused_with_what_to_do(
    empty_database: str,
) -> None:
    migrate(empty_database)
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute("drop schema supabase_migrations cascade")  # tables applied by hand
    with pytest.raises(MigrationError, match="no migration history") as caught:
        migrate(empty_database, local=False)
    assert "supabase migration repair" in str(caught.value)
    with psycopg.connect(empty_database) as conn:  # and nothing was created
        row = conn.execute("select to_regnamespace('supabase_migrations')").fetchone()
        assert row == (None,)
