"""JSON from the outside world, parsed safely: `loads_bounded` never raises anything but
`ValueError` (so a route answers 400, never 500), whatever the bytes.

Python's parser recurses once per nesting level, so a body of 5,000 `[` raises
`RecursionError`; and a document just under the interpreter's limit would still make
every later recursive walk (NUL checks, `json.dumps` for storage) fail. So depth is
capped at `MAX_DEPTH`, far above any real webhook or form (Stripe's events nest about
six levels), and checked without recursion.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64


def loads_bounded(body: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """The parsed value; ValueError for bytes that are not UTF-8 JSON or nest deeper
    than `max_depth` arrays and objects."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise ValueError(f"the JSON nests deeper than {max_depth} levels") from None
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8") from None
    if depth_over(value, max_depth):
        raise ValueError(f"the JSON nests deeper than {max_depth} levels")
    return value


def depth_over(value: Any, max_depth: int) -> bool:
    """Whether arrays and objects in `value` nest deeper than `max_depth` (iterative)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        )
        if children is None:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
