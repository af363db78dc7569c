"""README.md's Python examples type-check under ``mypy --strict``, as a user's code would.

Each fenced ``python`` block of the README is written to a file of its own and the
files are checked in one run of mypy (``mypy.api``), strict, against the installed
payven_async and payven_sync, with no ``cast`` or ``type: ignore`` in them: an example
that calls a method that does not exist, passes an optional where a value is needed,
or reads a field of a type that may be None fails here. So the blocks are complete
programs or modules (a fragment inside an ``async def`` with typed parameters).

FastAPI and Django are not installed for the tests: ``tests/data/readme_stubs`` holds
stubs of the few names of theirs that the webhook examples use, so that the examples'
use of payven is still checked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mypy import api

pytest_plugins = ["pytester"]  # runs the README's pytest examples in a fresh project

ROOT = Path(__file__).resolve().parent.parent
STUBS = Path(__file__).parent / "data" / "readme_stubs"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks() -> list[str]:
    """The README's fenced python blocks, in order."""
    return _BLOCK.findall((ROOT / "README.md").read_text("utf-8"))


def test_the_readme_has_python_examples_without_casts() -> None:
    """The README shows its examples as python blocks, none of which casts or ignores."""
    blocks = python_blocks()
    assert len(blocks) >= 10
    for block in blocks:
        assert "cast(" not in block
        assert "type: ignore" not in block
        assert "Any" not in re.findall(r"\b\w+\b", block)


def test_the_readme_examples_pass_mypy_strict(tmp_path: Path) -> None:
    """Every python block of the README, as a file of its own, passes mypy --strict."""
    files = []
    for number, block in enumerate(python_blocks(), 1):
        path = tmp_path / f"readme_example_{number:02d}.py"
        path.write_text(block, "utf-8")
        files.append(str(path))
    config = tmp_path / "mypy.ini"
    # Only this file's settings: the project's own (pyproject.toml) are for its code.
    config.write_text(
        f"[mypy]\nstrict = True\npython_version = 3.10\nmypy_path = {STUBS}\n", "utf-8"
    )
    stdout, stderr, status = api.run(
        [
            "--config-file",
            str(config),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-error-summary",
            "--show-error-codes",
            *files,
        ]
    )
    if status != 0:
        shown = stdout.replace(str(tmp_path) + "/", "")
        pytest.fail(f"mypy --strict on README.md's python blocks:\n{shown}{stderr}")


@pytest.mark.parametrize(
    "test_name", ["test_checkout", "test_refund_in_a_script", "test_webhooks_arrive"]
)
def test_the_readme_pytest_examples_pass_in_asyncio_strict_mode(
    pytester: pytest.Pytester, test_name: str
) -> None:
    """The README's pytest examples (async and blocking fixtures, webhooks end to end),
    copied as they are, pass in a fresh project in pytest-asyncio's strict mode,
    warnings as errors."""
    (example,) = [block for block in python_blocks() if f"def {test_name}(" in block]
    pytester.makepyfile(example)
    pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-W", "error", "-o", "asyncio_mode=strict",
        "-o", "asyncio_default_fixture_loop_scope=function",
    ).assert_outcomes(passed=1)  # fmt: skip
