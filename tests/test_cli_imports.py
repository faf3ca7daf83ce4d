"""What the command line imports: the root parser loads neither numpy nor torch, each command's
module is imported only when that command runs, and no command module imports torch at its top
(the run that trains imports it). Each check is a fresh interpreter's ``sys.modules``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from vgtui.cli import COMMANDS

HEAVY = ("numpy", "torch", "textual")


def loaded_after(code: str) -> dict[str, bool]:
    """Which of `HEAVY` and the command modules a fresh interpreter holds after ``code``."""
    modules = [*HEAVY, *(c.module for c in COMMANDS.values())]
    probe = f"""
import contextlib, json, sys
with contextlib.redirect_stdout(sys.stderr), contextlib.suppress(SystemExit):
{chr(10).join("    " + line for line in code.strip().splitlines())}
print(json.dumps({{m: m in sys.modules for m in {modules!r}}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_importing_the_cli_loads_no_numpy_and_no_torch():
    loaded = loaded_after("import vgtui.cli")
    assert not loaded["numpy"] and not loaded["torch"] and not loaded["textual"]


def test_help_loads_no_torch_and_no_command():
    loaded = loaded_after("from vgtui.cli import main\nmain(['--help'])")
    assert not loaded["torch"] and not loaded["numpy"]
    assert not any(loaded[c.module] for c in COMMANDS.values())


@pytest.mark.parametrize("word", list(COMMANDS))
def test_a_commands_help_imports_that_command_alone_and_no_torch(word):
    loaded = loaded_after(f"from vgtui.cli import main\nmain([{word!r}, '--help'])")
    assert not loaded["torch"]
    assert {c.module for c in COMMANDS.values() if loaded[c.module]} == {COMMANDS[word].module}


def test_no_command_module_imports_torch_at_its_top():
    from pathlib import Path

    import vgtui.commands

    folder = Path(vgtui.commands.__file__).parent
    modules = [f"vgtui.commands.{p.stem}" for p in sorted(folder.glob("[a-z]*.py"))]
    modules += [c.module for c in COMMANDS.values()]
    assert "vgtui.commands.headless" in modules and "vgtui.commands.train" in modules
    loaded = loaded_after("\n".join(f"import {m}" for m in modules))
    assert not loaded["torch"]


@pytest.mark.xfail(
    strict=True,
    reason="the datasets' and optimizers' descriptions live in torch modules until the "
    "registry moves them to core (issue 17, stream B-core)",
)
def test_list_loads_no_torch():
    loaded = loaded_after("from vgtui.cli import main\nmain(['--list'])")
    assert not loaded["torch"]
