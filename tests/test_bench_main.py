"""`python -m rlx.bench` (rlx/bench/__main__.py): suites, JSON lines, and a `--help` that imports no torch or Ray."""

import json
import subprocess
import sys

import pytest

from rlx.bench.__main__ import main


def test_cli_appends_json_lines(tmp_path, capsys):
    out = tmp_path / "bench.jsonl"
    assert main(["model", "--quick", "--out", str(out)]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    saved = [json.loads(line) for line in out.read_text().splitlines()]
    assert printed == saved and len(saved) >= 4
    assert set(saved[0]) == {"name", "value", "unit", "baseline", "candidate", "details"}


def test_help_and_argument_errors_import_neither_torch_nor_ray():
    code = (
        "import sys\n"
        "from rlx.bench.__main__ import main\n"
        "for argv in (['--help'], ['nope']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in ('torch', 'ray', 'mlflow') if m in sys.modules))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip().splitlines()[-1] == "[]"
    assert "invalid choice: 'nope'" in run.stderr


def test_unknown_suite_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        main(["everything"])
    assert "invalid choice: 'everything' (choose from 'data', 'model', 'train', 'families', 'tune', 'gpu', 'all')" in (
        capsys.readouterr().err
    )
