"""The identification grid: the current target, advancing it, and de-duplication."""

from __future__ import annotations

from dashboard.backends.postgres import PostgresBackend
from dashboard.data import identification


async def add_targets(backend: PostgresBackend, n: int) -> None:
    async with backend.owner() as conn:
        await conn.execute(
            "insert into public.identification_targets (position, city, region, category)"
            " select g, 'City ' || g, 'England', 'baker' from generate_series(1, %s) g",
            [n],
        )


async def test_nothing_is_current_before_the_first_advance(backend: PostgresBackend) -> None:
    await add_targets(backend, 2)
    assert await identification.get_current_identification_target(backend) is None


async def test_advancing_walks_the_grid_in_position_order(backend: PostgresBackend) -> None:
    await add_targets(backend, 3)
    first = await identification.advance_identification_position(backend)
    assert first is not None and first.position == 1 and first.status == "in_progress"
    current = await identification.get_current_identification_target(backend)
    assert current is not None and current.id == first.id and current.started_at is not None
    second = await identification.advance_identification_position(backend, 7)
    assert second is not None and second.position == 2
    third = await identification.advance_identification_position(backend, 2, "skipped")
    assert third is not None and third.position == 3
    assert await identification.advance_identification_position(backend, 1) is None
    assert await identification.get_current_identification_target(backend) is None
    async with backend.owner() as conn:
        cur = await conn.execute(
            "select position, status, businesses_found, completed_at is not null as closed"
            " from public.identification_targets order by position"
        )
        assert await cur.fetchall() == [
            {"position": 1, "status": "done", "businesses_found": 7, "closed": True},
            {"position": 2, "status": "skipped", "businesses_found": 2, "closed": True},
            {"position": 3, "status": "done", "businesses_found": 1, "closed": True},
        ]


async def test_progress_view_reports_the_current_target_and_percent(
    backend: PostgresBackend,
) -> None:
    await add_targets(backend, 4)
    await identification.advance_identification_position(backend)
    await identification.advance_identification_position(backend, 5)
    async with backend.owner() as conn:
        cur = await conn.execute("select * from public.v_identification_progress")
        rows = await cur.fetchall()
    assert len(rows) == 1
    row = rows[0]
    assert (row["total"], row["done"], row["in_progress"], row["pending"]) == (4, 1, 1, 2)
    assert row["current_position"] == 2 and row["current_city"] == "City 2"
    assert float(row["percent_complete"]) == 25.0 and row["businesses_found"] == 5


async def test_known_place_ids_come_from_the_target_and_its_location(
    backend: PostgresBackend,
) -> None:
    await add_targets(backend, 2)
    async with backend.owner() as conn:
        await conn.execute(
            "insert into public.pipeline_businesses (place_id, name, category, city, region,"
            " target_id) values"
            " ('by-target', 'A', 'florist', 'Elsewhere', 'Wales', 1),"
            " ('same-place', 'B', 'baker', 'CITY 1', 'England', null),"
            " ('other-category', 'C', 'florist', 'City 1', 'England', null),"
            " ('other-target', 'D', 'baker', 'City 2', 'England', 2)"
        )
    known = await identification.get_existing_businesses_for_target(backend, 1)
    assert known == {"by-target", "same-place"}
    assert await identification.get_existing_businesses_for_target(backend, 2) == {"other-target"}
