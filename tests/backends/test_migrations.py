"""Migrations: idempotent, recorded, and a broken one leaves the database as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dashboard.backends.migrate import (
    HISTORY_TABLE,
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


def supabase_like_database(admin_url: str, history: str) -> str:
    """A database as a Supabase project has it before our first migrate: Supabase's own
    pieces (roles, `auth`, the publication; our local bootstrap stands in for them), and
    the CLI's history in state `history`: "missing" (no `supabase_migrations` schema) or
    "schema only" (the schema without its table)."""
    url = create_database(admin_url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute((LOCAL_DIR / "bootstrap.sql").read_text().encode())
        if history == "missing":
            conn.execute("drop schema supabase_migrations cascade")
        else:
            conn.execute("drop table supabase_migrations.schema_migrations")
    return url


@pytest.mark.parametrize(
    ("history", "created"),
    [
        ("missing", ["schema supabase_migrations", f"table {HISTORY_TABLE}"]),
        ("schema only", [f"table {HISTORY_TABLE}"]),
    ],
)
def test_migrate_on_a_supabase_project_without_the_history_table_creates_it_and_says_so(
    admin_url_for: dict[str, str], history: str, created: list[str]
) -> None:
    for admin_url in admin_url_for.values():
        url = supabase_like_database(admin_url, history)
        try:
            report = migrate(url, local=False)
            assert report.created == created
            assert report.applied == [path.name for _, _, path in migration_files()]
            lines = report.lines()
            assert [f"created  {what} (it did not exist yet)" for what in created] == [
                line for line in lines if line.startswith("created")
            ]
            assert lines[-1] == f"{len(migration_files())} applied, 0 already applied"
            with psycopg.connect(url) as conn:
                recorded = conn.execute(f"select count(*) from {HISTORY_TABLE}").fetchone()
                assert recorded == (len(migration_files()),)
            again = migrate(url, local=False)
            assert (again.created, again.applied) == ([], [])
        finally:
            drop_database(admin_url, url)


def test_db_migrate_prints_what_it_did(admin_url_for: dict[str, str]) -> None:
    from click.testing import CliRunner

    from dashboard.cli import cli

    admin_url = admin_url_for["embedded"]
    url = create_database(admin_url)
    try:
        result = CliRunner().invoke(cli, ["db", "migrate", "--database-url", url])
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert lines[0] == "local bootstrap applied"
        assert f"applied  {migration_files()[0][2].name}" in lines
        assert lines[-1] == f"{len(migration_files())} applied, 0 already applied"
    finally:
        drop_database(admin_url, url)
