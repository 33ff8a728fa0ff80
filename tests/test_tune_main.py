"""`python -m rlx.tune`: one "error: FILE: KEY: reason" line and exit 2 before anything starts; --dry-run: no Ray."""

import subprocess
import sys
from pathlib import Path

from rlx.tune.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
SMOKE = str(ROOT / "tune_spaces" / "smoke.yaml")
# With --dry-run --cluster neither local GPUs (torch) nor data paths are looked at: the fastest path through main.
DRY = ["--space", SMOKE, "--dry-run", "--cluster", str(ROOT / "clusters" / "aws-gpu.yaml")]


def test_dry_run_prints_the_plan_without_importing_ray_or_torch():
    code = (
        "import sys; from rlx.tune.__main__ import main; rc = main(sys.argv[1:]); "
        "print(rc, 'ray' in sys.modules, 'torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code, *DRY], capture_output=True, text=True, cwd=ROOT, check=True)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("search smoke: ") and lines[-2].startswith("total")
    assert lines[-1] == "0 False False"  # exit 0; Ray and torch are not imported


def test_overrides_show_in_the_plan(capsys):
    assert main([*DRY, "--set", "optim.epochs=2"]) == 0
    total = [line for line in capsys.readouterr().out.splitlines() if line.startswith("total")][0].split()
    assert total[1:3] == ["3", "6"]  # 3 archs × 2 epochs


def test_invalid_overrides_exit_2_naming_the_key(capsys):
    assert main([*DRY, "--set", "optim.epochs=0"]) == 2
    assert capsys.readouterr().err == (
        f"error: {SMOKE} (with --set): fixed.optim.epochs: optim.epochs: 0 must be >= 1\n"
    )
    assert main([*DRY, "--set", "model.arch=tsn"]) == 2
    assert capsys.readouterr().err == (
        f"error: {SMOKE}: --set model.arch: the key is an axis or searched; only fixed keys can be set "
        "(resources: edit the space)\n"
    )
    assert main([*DRY, "--set", "optim.epochs"]) == 2
    assert capsys.readouterr().err == "error: --set expects key=value, got 'optim.epochs'\n"


def test_invalid_space_exits_2_with_file_key_and_reason(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(SMOKE).read_text().replace("mode: max", "mode: maximum"))
    assert main(["--space", str(bad), *DRY[2:]]) == 2
    assert capsys.readouterr().err == f"error: {bad}: mode: 'maximum' is not max or min\n"
    assert main(["--space", str(tmp_path / "missing.yaml"), *DRY[2:]]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path / 'missing.yaml'}: file not found\n"
