"""The Ray backend: the same report and the same stored rows as local runs, Ray imported only when
asked for, and one clear line when it is missing."""

import json
import subprocess
import sys
from pathlib import Path

from test_experiment import REMOVAL, tables, write

from s3core.cli import main
from s3core.experiment import runner, spec

REPO = Path(__file__).resolve().parent.parent


def python(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter from the repository root, as a user of a fresh clone would."""
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_ray_gives_the_local_report_and_rows(tmp_path, text, capsys, monkeypatch):
    import ray

    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # a local Ray, started and stopped by the run
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.chdir(tmp_path)  # Ray's workers find s3core from the checkout, not from the caller's folder
    path = write(tmp_path, REMOVAL, seeds=3, steps=8)
    local = runner.run_experiment(spec.load(path), tmp_path / "local", text=text, progress=None)
    assert not ray.is_initialized()
    assert (
        main(
            [
                "experiment",
                str(path),
                "--out",
                str(tmp_path / "ray"),
                "--backend",
                "ray",
                "--workers",
                "2",
                "--json",
                "--quiet",
            ]
        )
        == 0
    )
    assert not ray.is_initialized(), "the Ray this run started is still up"
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(local))
    (local_runs, local_curves), (ray_runs, ray_curves) = (
        tables(tmp_path / d, "runs", "curves") for d in ("local", "ray")
    )
    assert len(ray_runs) == 6 and len(ray_curves) == 6 * 8
    assert ray_runs.drop(columns="seconds").equals(local_runs.drop(columns="seconds"))
    assert (ray_runs["seconds"] > 0).all()
    assert ray_curves.equals(local_curves)


def test_local_runs_and_the_runner_never_import_ray(tmp_path):
    path = write(tmp_path, REMOVAL, seeds=2, steps=4)
    done = python(f"""
import sys
import s3core.experiment.runner
from s3core.cli import main
assert "ray" not in sys.modules, "import s3core.experiment.runner imported ray"
assert main(["experiment", {str(path)!r}, "--out", {str(tmp_path / "out")!r}, "--workers", "2", "--quiet"]) == 0
assert "ray" not in sys.modules, "a local run imported ray"
assert "s3core.experiment.ray_backend" not in sys.modules
print("no ray")
""")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "no ray" and "final_reach" in done.stdout


def test_missing_ray_is_one_clear_line_and_exit_code_2_and_force_keeps_the_old_runs(tmp_path):
    path = write(tmp_path, REMOVAL, seeds=1, steps=4)
    assert main(["experiment", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    stored = (tmp_path / "out" / runner.FILE_NAME).read_bytes()
    done = python(f"""
import sys
sys.modules["ray"] = None  # as if Ray were not installed: importing it raises ImportError
from s3core.cli import main
sys.exit(main(["experiment", {str(path)!r}, "--out", {str(tmp_path / "out")!r}, "--backend", "ray", "--force",
               "--quiet"]))
""")
    assert done.returncode == 2, done.stderr
    assert done.stderr == "error: --backend ray needs Ray: pip install -r requirements-ray.txt\n"
    assert done.stdout == ""
    assert (tmp_path / "out" / runner.FILE_NAME).read_bytes() == stored, "--force deleted runs it could not replace"
