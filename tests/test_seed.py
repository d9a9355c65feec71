"""`cliftonsites db seed`: every status, consistent rows, deterministic, empty-only."""

from __future__ import annotations

import itertools

import psycopg
import pytest
from click.testing import CliRunner
from markupsafe import escape

from dashboard.cli import cli
from dashboard.seed import SeedError, seed_database

N = 2_000


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def scalar(url: str, query: str) -> object:
    return rows(url, query)[0][0]


@pytest.fixture
def seeded(db_url: str) -> str:
    report = seed_database(db_url, businesses=N, targets=150, seed=7)
    assert report.seeded, report.message
    return db_url


def test_it_seeds_every_pipeline_status(seeded: str) -> None:
    counts = dict(rows(seeded, "select status, count(*) from pipeline_businesses group by 1"))
    assert set(counts) == {"queued", "started", "deployed", "failed", "skipped"}
    assert sum(counts.values()) == N  # type: ignore[arg-type]


def test_it_gives_qualified_rows_to_deployed_businesses_only(seeded: str) -> None:
    assert (
        scalar(
            seeded,
            "select count(*) from qualified_businesses q join pipeline_businesses p"
            " on p.id = q.pipeline_business_id where p.status <> 'deployed'",
        )
        == 0
    )
    assert (
        scalar(
            seeded,
            "select count(*) from pipeline_businesses p where status = 'deployed'"
            " and not exists (select 1 from qualified_businesses q"
            " where q.pipeline_business_id = p.id)",
        )
        == 0
    )


def test_it_spreads_outreach_and_site_states(seeded: str) -> None:
    outreach = {
        r[0] for r in rows(seeded, "select distinct outreach_status from qualified_businesses")
    }
    assert {"pending", "started", "replied", "bounced", "failed", "stopped"} <= outreach
    sites = {r[0] for r in rows(seeded, "select distinct site_status from qualified_businesses")}
    assert {"deployed", "active"} <= sites


def test_it_makes_claimed_businesses_consistent(seeded: str) -> None:
    assert scalar(seeded, "select count(*) from qualified_businesses where claimed") > 0  # type: ignore[operator]
    assert (
        scalar(
            seeded,
            "select count(*) from qualified_businesses where claimed and (stripe_payment_id is null"
            " or customer_email is null or claimed_at is null or claimed_at < deployed_at)",
        )
        == 0
    )
    assert (
        scalar(
            seeded,
            "select count(*) from qualified_businesses q where claimed and not exists (select 1"
            " from stripe_events e where e.qualified_business_id = q.id and e.status = 'processed'"
            " and e.payload -> 'data' -> 'object' ->> 'client_reference_id' = q.uuid)",
        )
        == 0
    )
    assert (
        scalar(
            seeded,
            "select count(*) from qualified_businesses"
            " where not claimed and claimed_at is not null",
        )
        == 0
    )


def test_it_uses_short_unique_uuids_and_site_urls(seeded: str) -> None:
    bad = scalar(
        seeded,
        "select count(*) from qualified_businesses where uuid !~ '^[a-z0-9]{8}$'"
        " or preview_url <> '/sites/' || uuid || '/'",
    )
    assert bad == 0


def test_the_demo_seed_gives_site_urls_on_the_sites_origin(db_url: str) -> None:
    seed_database(db_url, businesses=100, targets=10, sites_url="http://localhost:8080/")
    bad = scalar(
        db_url,
        "select count(*) from qualified_businesses"
        " where preview_url <> 'http://localhost:8080/sites/' || uuid || '/'",
    )
    assert bad == 0 and scalar(db_url, "select count(*) from qualified_businesses") != 0


def test_every_seeded_site_that_is_up_has_its_page(seeded: str) -> None:
    up = scalar(seeded, "select count(*) from qualified_businesses"
                        " where site_status in ('deployed', 'active')")  # fmt: skip
    assert isinstance(up, int) and up > 0
    missing = scalar(
        seeded,
        "select count(*) from qualified_businesses q where site_status in ('deployed', 'active')"
        " and not exists (select 1 from admin_private.site_files f"
        " where f.uuid = q.uuid and f.name = 'index.html')",
    )
    assert missing == 0
    [(name, page)] = rows(
        seeded,
        "select q.name, convert_from(f.content, 'utf8') from qualified_businesses q"
        " join admin_private.site_files f on f.uuid = q.uuid and f.name = 'index.html'"
        " order by q.id limit 1",
    )
    assert isinstance(page, str) and str(escape(str(name))) in page and "site.css" in page


def test_it_builds_a_target_grid_with_one_in_progress(seeded: str) -> None:
    counts = dict(rows(seeded, "select status, count(*) from identification_targets group by 1"))
    assert counts["in_progress"] == 1 and counts["done"] > 0 and counts["pending"] > 0
    found = scalar(seeded, "select sum(businesses_found) from identification_targets")
    assert found == N


def test_the_views_agree_with_the_tables(seeded: str) -> None:
    view = dict(rows(seeded, "select status, count from v_queue_status"))
    table = dict(rows(seeded, "select status, count(*) from pipeline_businesses group by 1"))
    assert view == table
    progress = rows(
        seeded, "select total, in_progress, businesses_found from v_identification_progress"
    )
    assert progress == [(150, 1, N)]


def test_it_writes_history_for_charts_and_logs(seeded: str) -> None:
    assert scalar(seeded, "select count(distinct status) from automation_runs") == 3
    assert scalar(seeded, "select count(*) from outreach_events") > 0  # type: ignore[operator]
    days = scalar(
        seeded, "select count(distinct date_trunc('day', finished_at)) from pipeline_businesses"
    )
    assert days > 7  # type: ignore[operator]
    assert scalar(seeded, "select count(*) from automation_logs where level = 'error'") > 0  # type: ignore[operator]


def test_it_keeps_identity_sequences_ahead_of_the_seeded_ids(seeded: str) -> None:
    with psycopg.connect(seeded) as conn:
        conn.execute(
            "insert into pipeline_businesses (place_id, name, city, region, category)"
            " values ('after-seed', 'After Seed', 'Austin', 'TX', 'plumber')"
        )
        conn.execute("insert into automation_runs (process) values ('implementation')")


def test_it_restores_the_outreach_setting(seeded: str) -> None:
    assert scalar(seeded, "select outreach_enabled from automation_config") is True


def test_reseeding_a_database_with_businesses_does_nothing(seeded: str) -> None:
    before = scalar(seeded, "select count(*) from pipeline_businesses")
    report = seed_database(seeded, businesses=100, targets=10)
    assert not report.seeded and "already holds businesses" in report.message
    assert scalar(seeded, "select count(*) from pipeline_businesses") == before


def test_the_same_seed_gives_the_same_data(db_url: str) -> None:
    query = "select string_agg(name || uuid, ',' order by id) from qualified_businesses"
    seed_database(db_url, businesses=300, targets=20, seed=3)
    first = scalar(db_url, query)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "truncate pipeline_businesses, qualified_businesses, identification_targets,"
            " outreach_events, stripe_events, stripe_idempotency, automation_runs,"
            " automation_logs restart identity cascade"
        )
    seed_database(db_url, businesses=300, targets=20, seed=3)
    assert scalar(db_url, query) == first


@pytest.mark.parametrize(("businesses", "targets"), [(0, 1), (10, 0), (10, 20), (10, 100_000)])
def test_it_rejects_bad_sizes_before_writing(db_url: str, businesses: int, targets: int) -> None:
    with pytest.raises(SeedError):
        seed_database(db_url, businesses=businesses, targets=targets)
    assert scalar(db_url, "select count(*) from identification_targets") == 0


def test_the_command_seeds_and_then_refuses(db_url: str) -> None:
    runner = CliRunner()
    args = ["db", "seed", "--database-url", db_url, "--businesses", "200", "--targets", "10"]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "seeded" in first.output and "200 businesses" in first.output
    second = runner.invoke(cli, args)
    assert second.exit_code == 0 and "left as it is" in second.output
    bad = runner.invoke(cli, [*args[:4], "--businesses", "0"])
    assert bad.exit_code != 0 and "--businesses must be between" in bad.output


def test_the_target_grid_never_repeats_a_cell_up_to_its_limit() -> None:
    from dashboard.seed.vocabulary import CATEGORIES, CITIES, target_grid

    limit = len(CITIES) * len(CATEGORIES)
    cells = target_grid(limit)
    assert len(set(cells)) == limit
    # neighbours differ in city, so a partial grid still spreads over the map
    assert all(a[0] != b[0] for a, b in itertools.pairwise(cells[: len(CITIES)]))
