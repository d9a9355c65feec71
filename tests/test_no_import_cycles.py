"""No module of `dashboard/` imports itself back, not even through others, lazily inside
a function or only for type checking: a cycle means two modules that are one concept
(merge them) or a type in the wrong home (move it where both may import it)."""

from __future__ import annotations

from collections import deque

import grimp


def test_no_module_imports_itself_back() -> None:
    graph = grimp.build_graph("dashboard", exclude_type_checking_imports=False, cache_dir=None)
    imports = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = {start}, deque([start])
        while todo:
            for module in imports[todo.popleft()]:
                if module == goal:
                    return True
                if module not in seen:
                    seen.add(module)
                    todo.append(module)
        return False

    cycles = sorted(
        {tuple(sorted((a, b))) for a, targets in imports.items() for b in targets if reaches(b, a)}
    )
    assert cycles == []
