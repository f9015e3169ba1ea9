"""No import cycles among the package's modules (the rule: private modules with one concern each, no cycles).

Only imports run at import time count (module level, outside ``if TYPE_CHECKING``):
an import inside a function is how an optional integration loads lazily.
``from . import name`` depends on the submodule ``name``, not on the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "fieldstream"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _top_level(body: list[ast.stmt]) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for node in body:
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
            if name == "TYPE_CHECKING":
                continue
            out += _top_level(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            out += _top_level(node.body + node.orelse + [n for h in node.handlers for n in h.body])
        else:
            out.append(node)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in _top_level(ast.parse(path.read_text("utf-8")).body):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                subs = [f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in modules]
                deps.update(subs)
                if target in modules and len(subs) < len(node.names):
                    deps.add(target)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                deps.update(n for n in names if n in modules)
        graph[name] = deps - {name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the modules along it, or ``None`` (an iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in graph:
        if root in state:
            continue
        path: list[str] = [root]
        todo = [iter(sorted(graph[root]))]
        state[root] = 1
        while todo:
            nxt = next(todo[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                todo.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                todo.append(iter(sorted(graph[nxt])))
    return None


def test_the_graph_sees_the_stream_layers() -> None:
    graph = _graph()
    assert {"fieldstream._framing", "fieldstream._targets", "fieldstream._providers"} <= graph["fieldstream._stream"]
    assert "fieldstream._stream" not in graph["fieldstream._framing"] | graph["fieldstream._targets"]


def test_no_import_cycles() -> None:
    assert _cycle(_graph()) is None


def test_a_cycle_is_found() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
