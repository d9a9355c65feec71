"""Value lists are derived from the `Literal` types of `dashboard/data/models.py`, never
copied: a new status or command added to its type reaches every filter, choice and
check at once."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

from dashboard.api.admin import CommandBody
from dashboard.data import filters, models
from dashboard.ops import views
from dashboard.pages import overview
from dashboard.worker.command import PROCESSES as WORKER_CHOICES
from dashboard.worker.main import ORDER

ROOT = Path(__file__).resolve().parents[1] / "dashboard"
LITERALS = {
    name: frozenset(get_args(value))
    for name, value in vars(models).items()
    if getattr(value, "__origin__", None) is not None
    and get_args(value)
    and all(isinstance(v, str) for v in get_args(value))
}


def test_the_lists_are_the_values_of_their_types_in_order() -> None:
    assert filters.LOG_PROCESSES == views.PROCESSES == get_args(models.LogProcess)
    assert filters.LOG_LEVELS == views.LEVELS == get_args(models.LogLevel)
    assert filters.RUN_PROCESSES == ORDER == overview.PROCESSES == get_args(models.Process)
    assert get_args(models.RunStatus) == filters.RUN_STATUSES
    assert get_args(models.Command) == overview.COMMANDS
    assert WORKER_CHOICES["both"] == get_args(models.Process)
    assert set(WORKER_CHOICES) == {*get_args(models.Process), "both"}


def test_the_admin_api_accepts_exactly_the_typed_commands() -> None:
    fields = CommandBody.model_fields
    assert get_args(fields["command"].annotation) == get_args(models.Command)
    assert get_args(fields["process"].annotation) == get_args(models.Process)


def test_no_module_spells_out_all_the_values_of_a_type() -> None:
    copies = []
    for path in ROOT.rglob("*.py"):
        if path.name == "models.py" and path.parent.name == "data":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Tuple | ast.List | ast.Set) or len(node.elts) < 3:
                continue
            values = [e.value for e in node.elts if isinstance(e, ast.Constant)]
            if len(values) != len(node.elts) or not all(isinstance(v, str) for v in values):
                continue
            for name, members in LITERALS.items():
                if frozenset(values) == members:
                    copies.append(f"{path.relative_to(ROOT)}:{node.lineno} copies {name}")
    assert copies == [], "derive these with typing.get_args"
