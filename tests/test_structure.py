"""The package's shape, read from its source: no import cycles, one retry decision, one
module on aiohttp's client, one list of lazily loaded names."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import payven_async
import payven_sync
from payven_async._lazy import LAZY, homed_in

PACKAGE = Path(payven_async.__file__).parent
SYNC = Path(payven_sync.__file__).parent


def modules() -> dict[str, Path]:
    """Every module of both packages, by dotted name."""
    found = {}
    for root, package in ((PACKAGE, "payven_async"), (SYNC, "payven_sync")):
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def run_time_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """The imports a module runs when it is imported: at module level (in any if or try
    there), not inside a function or class, not under ``if TYPE_CHECKING``."""
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and not _is_type_checking(node):
            stack += node.body + node.orelse
        elif isinstance(node, ast.Try):
            stack += node.body + node.orelse + node.finalbody
            for handler in node.handlers:
                stack += handler.body


def imported_names(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules an import statement loads, as dotted names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".")
        is_package = modules()[module].name == "__init__.py"
        anchor = package if is_package else package[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join(anchor + ([base] if base else []))
    known = modules()
    names = [base]
    names += [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
    return names


def graph() -> dict[str, set[str]]:
    """Each module's run-time imports of the packages' own modules."""
    known = modules()
    edges: dict[str, set[str]] = {}
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges[module] = {
            name
            for node in run_time_imports(tree)
            for name in imported_names(module, node)
            if name in known and name != module
        }
    return edges


def test_no_import_cycle_at_run_time() -> None:
    """No module imports, at import time, a module that imports it back (at any depth)."""
    edges = graph()
    # A package imports its own submodules when they load, and that is no cycle: a
    # submodule importing its package only reaches what the package already holds.
    for module in edges:
        edges[module] = {name for name in edges[module] if not module.startswith(f"{name}.")}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = [*path[path.index(module) :], module]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for name in sorted(edges[module]):
            visit(name, [*path, module])
        done.add(module)

    for module in sorted(edges):
        visit(module, [])


def calls_to(attribute: str) -> list[str]:
    """Where the packages call a method named ``attribute``, as ``module:line``."""
    places = []
    for module, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == attribute
            ):
                places.append(f"{module}:{node.lineno}")
    return places


def test_the_retry_decision_is_asked_in_one_place() -> None:
    """RetryPolicy.next_delay is called from exactly one place: the pipeline's loop."""
    (place,) = calls_to("next_delay")
    assert place.startswith("payven_async._pipeline:")


def test_only_the_adapter_imports_aiohttps_client() -> None:
    """aiohttp and multidict are imported by _aiohttp alone (the emulator's server aside)."""
    importers = set()
    for module, path in modules().items():
        if module.startswith("payven_async.testing"):
            continue  # the emulator serves with aiohttp.web
        for node in run_time_imports(ast.parse(path.read_text(encoding="utf-8"))):
            for name in imported_names(module, node):
                if name.split(".")[0] in ("aiohttp", "multidict"):
                    importers.add(module)
    assert importers == {"payven_async._aiohttp"}


def type_checking_names(path: Path) -> set[str]:
    """The names a module imports under ``if TYPE_CHECKING:``."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom):
                    names |= {alias.asname or alias.name for alias in statement.names}
    return names


def test_lazy_names_are_listed_once_and_mirrored_for_type_checkers() -> None:
    """What type checkers see of the lazy names is exactly _lazy.LAZY, in both packages."""
    assert type_checking_names(PACKAGE / "__init__.py") == set(LAZY)
    assert type_checking_names(SYNC / "__init__.py") == set(LAZY)
    operation_models = set(homed_in("payven_async._operation_models"))
    assert type_checking_names(PACKAGE / "models.py") - {"PayvenError"} == operation_models
    assert set(LAZY) <= set(payven_async.__all__)


def test_no_lazily_loaded_module_is_imported_with_the_package() -> None:
    """Importing payven_async loads none of the modules the lazy names live in."""
    import subprocess
    import sys

    homes = sorted(set(LAZY.values()))
    code = f"import sys, payven_async; print(sorted(m for m in sys.modules if m in {homes!r}))"
    loaded = subprocess.run(  # noqa: S603 - our own interpreter, our own code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"


def test_the_emulators_lazy_names_are_listed_once() -> None:
    """payven_async.testing's __all__ and type-checker mirror are its one table."""
    from payven_async import testing

    assert testing.__all__ == sorted(testing._HOMES)
    assert type_checking_names(PACKAGE / "testing" / "__init__.py") == set(testing._HOMES)
    for name in testing.__all__:
        assert getattr(testing, name) is not None, name
