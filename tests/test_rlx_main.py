"""`rlx COMMAND …`: the console script dispatches to each command's own CLI."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from rlx.__main__ import COMMANDS, main


def test_the_rlx_console_script_is_installed():
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "rlx"]
    assert script.value == "rlx.__main__:main"


def test_help_lists_every_command_and_no_command_is_an_error(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(f"rlx {name} " in out for name in COMMANDS)
    assert main([]) == 2


def test_unknown_command_exits_2_naming_the_choices(capsys):
    assert main(["trian"]) == 2
    assert "unknown command 'trian'; choose one of: data, train, tune, report, bench, models" in capsys.readouterr().err


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_is_its_python_m_module(name):
    module = __import__(COMMANDS[name], fromlist=["main"])
    assert module.__name__ == f"rlx.{name}.__main__" and callable(module.main)


def test_arguments_reach_the_command(tmp_path, capsys):
    assert main(["train", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert f"config file not found: {tmp_path / 'missing.yaml'}" in capsys.readouterr().err


def test_python_m_rlx_works_in_a_fresh_process():
    done = subprocess.run([sys.executable, "-m", "rlx", "report", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "--experiment" in done.stdout
