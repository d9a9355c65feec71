"""In-memory filters judge a row as the database would (the live tails rely on it)."""

from __future__ import annotations

from dashboard.data.filters import audit_filters, like_pattern, log_filters, matches


def test_ilike_takes_the_admins_wildcards_literally_and_ignores_case() -> None:
    filters = log_filters(None, None, "50%_x", None)
    assert matches({"message": "Now 50%_X done"}, filters)
    assert not matches({"message": "Now 50 percent done"}, filters)
    assert like_pattern("a\\b") == "%a\\\\b%"
    assert matches({"message": "path a\\b here"}, log_filters(None, None, "a\\b", None))


def test_every_filter_must_hold_and_null_never_matches() -> None:
    filters = log_filters("implementation", "error", None, 7)
    assert matches({"process": "implementation", "level": "error", "run_id": 7}, filters)
    assert not matches({"process": "implementation", "level": "error", "run_id": 8}, filters)
    assert not matches({"actor_email": None}, audit_filters(None, "ops"))
    assert matches(
        {"actor_email": "OPS@x.test", "action": "logout"}, audit_filters("logout", "ops")
    )
