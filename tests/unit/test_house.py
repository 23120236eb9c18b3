"""The house as designed (../shared/DESIGN.md): floors, who may import whom, no cycles.

Read from the code's own imports with :mod:`ast` (imports inside functions
count too). A room is a top-level package; ``alerting/notify`` is a sub-room
with rules of its own. Fails on any upward import, any two rooms importing
each other, any import cycle between modules, and the forbidden pairs.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLOORS = {
    "trucban": 4,
    "api": 3, "poller": 3, "reports": 3, "storm": 3,
    "alerting": 2, "collectors": 2, "lab": 2, "runbooks": 2,
    "store": 1, "inventory": 1, "common": 1,
}
# (importing module prefix, imported module prefix): never, whatever the floors say
FORBIDDEN = (
    ("alerting", "api"), ("alerting", "poller"),
    ("alerting.notify", "alerting.states"), ("alerting.notify", "store"),
    # notify reads incidents through its IncidentReader, never the table or the repository; the
    # typhoon threshold shift is evaluation's (alerting.rules.thresholds), the core built at the root
    ("alerting.notify", "alerting.db"), ("alerting.notify", "alerting.repository"),
    ("alerting.notify", "alerting.rules"), ("alerting.notify", "alerting.core"),
    ("alerting", "collectors.ssh.collector"), ("alerting", "collectors.netconf.collector"),
    # evaluation is handed delivery health as a callable; it never reads notify's outbox
    ("alerting.rules", "alerting.notify"),
)


def modules() -> dict[str, Path]:
    """Every module of the project's rooms, by dotted name."""
    out = {}
    for room in FLOORS:
        for path in (ROOT / room).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def imports(path: Path, name: str) -> set[str]:
    """Project modules ``path`` imports (absolute and relative, anywhere in the file)."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m.split(".")[0] in FLOORS}


def graph() -> dict[str, set[str]]:
    """Module → project modules it imports (resolved to existing modules)."""
    mods = modules()
    out: dict[str, set[str]] = {}
    for name, path in mods.items():
        targets = set()
        for imported in imports(path, name):
            while imported and imported not in mods:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        out[name] = targets
    return out


def room(module: str) -> str:
    return module.split(".")[0]


def test_no_room_imports_a_floor_above_it() -> None:
    upward = sorted(f"{a} → {b}" for a, bs in graph().items() for b in bs
                    if FLOORS[room(b)] > FLOORS[room(a)])
    assert upward == []


def test_no_two_rooms_import_each_other() -> None:
    arrows: dict[str, set[str]] = defaultdict(set)
    for a, bs in graph().items():
        for b in bs:
            if room(a) != room(b):
                arrows[room(a)].add(room(b))
    both = sorted(f"{a} ↔ {b}" for a in list(arrows) for b in arrows[a]
                  if a < b and a in arrows.get(b, set()))
    assert both == []


def test_no_import_cycles() -> None:
    g = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(g):
        if v not in index:
            visit(v)
    assert cycles == []


def test_forbidden_pairs() -> None:
    bad = sorted(f"{a} → {b}" for a, bs in graph().items() for b in bs for src, dst in FORBIDDEN
                 if (a == src or a.startswith(src + ".")) and (b == dst or b.startswith(dst + ".")))
    assert bad == []


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from trucban.settings import Settings\n", encoding="utf-8")
    assert "trucban.settings" in imports(source, "store.m")
