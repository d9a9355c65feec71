"""`charts.SharedOptionsSelect` overrides NiceGUI's private `ChoiceElement._update_options`
so that every page showing the funnel's ~120 targets holds one option list instead of a
copy each (docs/PERFORMANCE.md, memory). NiceGUI 3.18 has no public way to hand a select
a list it keeps as is: `set_options` and `update()` always rebuild the list through that
private method. So the override is pinned: the first test fails as soon as NiceGUI
changes any code the override relies on. When it fails, read the new NiceGUI source,
adapt `SharedOptionsSelect._update_options` (or drop it if a public way exists), check
the behaviour tests below still pass, then update the hashes."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from typing import Any

import nicegui
from nicegui.elements.choice_element import ChoiceElement
from nicegui.elements.select import Select
from nicegui.testing.user_simulation import user_simulation

from dashboard.components.charts import SharedOptionsSelect, shared_options

#: The NiceGUI code the override replaces or calls into, as of NiceGUI 3.18.0.
PINNED: dict[str, tuple[Callable[..., Any], str]] = {
    "ChoiceElement.__init__": (
        ChoiceElement.__init__,
        "c469e33ed89e13b1b4469a44464093768d5639e4f3a28529a2088acddf1cb1ae",
    ),
    "ChoiceElement._update_values_and_labels": (
        ChoiceElement._update_values_and_labels,
        "c1c2f6f6ff9b63c34452ef29cccfbeaf235f8f5ea289bdbd9fa89f81189b712f",
    ),
    "ChoiceElement._update_options": (
        ChoiceElement._update_options,
        "405c2ca5bae8360f5faccbe956f30d0d180d8457b0a2f87d451730707ee7ea28",
    ),
    "ChoiceElement.update": (
        ChoiceElement.update,
        "300d73d13c1949ce4c9c794a9f2f390abd758ed1e276ce4f29a07f7ef4113005",
    ),
    "ChoiceElement.set_options": (
        ChoiceElement.set_options,
        "78e8d377183b6b72c765e3903c72bef69ec68cdc7879735d40db266c1b25122a",
    ),
    "Select._value_to_model_value": (
        Select._value_to_model_value,
        "d1ccf4f3a5bb313a9226280dca8403090a19643a3793fa0369e72d7f00449287",
    ),
}


def test_the_nicegui_code_the_override_relies_on_is_unchanged() -> None:
    changed = [
        name
        for name, (function, digest) in PINNED.items()
        if hashlib.sha256(inspect.getsource(function).encode()).hexdigest() != digest
    ]
    assert changed == [], (
        f"NiceGUI {nicegui.__version__} changed {changed}: re-check"
        " SharedOptionsSelect._update_options (see this module's docstring)"
    )


async def test_every_page_keeps_the_one_shared_option_list() -> None:
    options = {10: "plumber in Austin", 20: "roofer in Boise"}
    shared = shared_options(options)
    made: list[SharedOptionsSelect] = []

    def page() -> None:
        made.append(SharedOptionsSelect(options, shared, value=20, label="Target"))

    async with user_simulation(root=page) as user:
        await user.open("/")
        await user.open("/")
        first, second = made
        assert first.props["options"] is shared and second.props["options"] is shared
        assert first.value == 20 and first.props["model-value"] == {
            "value": 1,
            "label": "roofer in Boise",
        }
        more = {**options, 30: "florist in Reno"}
        first.show_options(more, shared_options(more), 30)
        assert first.value == 30 and first.props["options"] is not shared
        assert [o["label"] for o in first.props["options"]] == list(more.values())


async def test_a_list_of_other_options_falls_back_to_nicegui_s_own_copy() -> None:
    made: list[SharedOptionsSelect] = []

    def page() -> None:
        stale = shared_options({1: "old"})
        made.append(SharedOptionsSelect({1: "new", 2: "other"}, stale, value=1))

    async with user_simulation(root=page) as user:
        await user.open("/")
        (select,) = made
        assert [o["label"] for o in select.props["options"]] == ["new", "other"]
        assert select.value == 1
