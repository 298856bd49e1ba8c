"""The CLI as a user meets it, through ``python -m greenops_tb``: formats, pipes, help text and messages."""
from __future__ import annotations

import csv
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cli_runs import cli_process, train_run
from conftest import require

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from gen_logdir import GenSpec, generate  # noqa: E402
from training import train

SPHINX = re.compile(r":[a-z]+:`|``")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A logdir with a German run (price known; train + eval stages) and a US one (price unknown)."""
    logdir = tmp_path_factory.mktemp("logs")
    train_run(logdir / "de", steps=12)
    train(logdir / "us", steps=6, eval_every=0, country="US", hash_chain=True)
    return logdir


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_export_parquet_holds_the_csv_rows_with_typed_numbers(runs: Path, tmp_path: Path) -> None:
    require(importlib.util.find_spec("pyarrow") is not None, "pyarrow (pip install 'greenops_tb[parquet]')")
    import pyarrow.parquet as pq

    out = tmp_path / "x.parquet"
    r = cli_process("export", str(runs / "de"), "-o", str(out))
    assert r.returncode == 0, r.stderr
    table = pq.read_table(out).to_pylist()
    live = _csv(runs / "de" / "green.csv")
    assert len(table) == len(live) > 12
    assert list(table[0]) == list(live[0])  # the CSV's columns, in its order
    for got, want in zip(table, live):
        assert (got["run"], got["stage"], got["seq"]) == (want["run"], want["stage"], int(want["seq"]))
        assert got["energy_kwh"] == float(want["energy_kwh"]) and got["chain_hash"] == want["chain_hash"]
    r = cli_process("export", str(runs / "de"), "--stages", "nosuch", "-o", str(tmp_path / "none.parquet"))
    assert r.returncode == 1 and "no records matched" in r.stderr and not (tmp_path / "none.parquet").exists()


@pytest.mark.parametrize("args, message", [
    (["-o", "x.xlsx"], "cannot tell the format of x.xlsx from its extension .xlsx"),
    (["-o", "x.parquet", "--format", "csv"], "--format csv would write csv into x.parquet"),
    (["--format", "parquet"], "pass -o FILE.parquet"),
])
def test_export_refuses_a_format_it_would_have_to_guess(runs: Path, tmp_path: Path, args: list[str], message: str) -> None:
    r = subprocess.run([sys.executable, "-m", "greenops_tb", "export", str(runs), *args], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and message in r.stderr and r.stdout == ""
    assert list(tmp_path.iterdir()) == []  # nothing written under a wrong name


def test_export_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    generate(tmp_path, GenSpec(runs=1, records=3000))  # a real logdir whose export is far more than a pipe holds
    p = subprocess.Popen([sys.executable, "-m", "greenops_tb", "export", str(tmp_path)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    assert p.stdout.readline().startswith(b"run,stage,seq,")
    p.stdout.close()  # what `| head -1` does after its line
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 141  # the pipe did break (as a shell reports a writer stopped by SIGPIPE)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


@pytest.mark.parametrize("command", ["doctor", "zones", "export", "summary", "compare", "verify", "inference"])
def test_help_is_plain_text(command: str) -> None:
    r = cli_process(command, "--help")
    assert r.returncode == 0 and f"usage: greenops-tb {command}" in r.stdout
    assert not SPHINX.search(r.stdout), SPHINX.search(r.stdout)
    assert f"greenops-tb {command}" in r.stdout.split("\n\n", 2)[1]  # the description, markup removed


def test_verify_a_run_directory_checks_its_green_csv(runs: Path) -> None:
    n = len(_csv(runs / "de" / "green.csv"))
    r = cli_process("verify", str(runs / "de"))
    assert r.returncode == 0 and f"OK: {n} rows, chain intact, matches the {n} records" in r.stdout
    r = cli_process("verify", str(runs))
    assert r.returncode == 2 and "a directory without green.csv" in r.stderr


def test_verify_says_when_a_csv_is_not_greenops_tbs(tmp_path: Path) -> None:
    other = tmp_path / "prices.csv"
    other.write_text("date,price\n2024-01-01,0.2\n")
    r = cli_process("verify", str(other))
    assert r.returncode == 2 and "not a CSV written by greenops_tb" in r.stderr and "energy_kwh" in r.stderr


def test_verify_counts_one_missing_row_in_the_singular(runs: Path, tmp_path: Path) -> None:
    lines = (runs / "de" / "green.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    cut = tmp_path / "green.csv"
    cut.write_text("".join(lines[:-1]), encoding="utf-8")  # the last row removed
    r = cli_process("verify", str(cut), "--events", str(runs / "de"))
    assert r.returncode == 1 and "but 1 of their rows is missing from the CSV" in r.stderr


def test_summary_forecast_of_an_unknown_stage_names_the_stages(runs: Path) -> None:
    r = cli_process("summary", str(runs), "--forecast", "nosuch", "--total-steps", "100")
    assert r.returncode == 2 and r.stdout == ""
    assert "'nosuch'" in r.stderr and "stages: eval, train" in r.stderr


def test_summary_says_price_unknown_once(runs: Path) -> None:
    r = cli_process("summary", str(runs / "us"))
    assert r.returncode == 0
    head = r.stdout.splitlines()[0]
    assert head.startswith(f"run {runs / 'us'}: ")  # a run directory is named by its path, not TensorBoard's "."
    assert "price unknown (give the writer price_per_kwh=" in head and "(unknown)" not in head


def test_compare_without_known_costs_says_nothing_about_currencies(runs: Path) -> None:
    r = cli_process("compare", str(runs / "de"), str(runs / "us"))
    assert r.returncode == 0 and "train energy" in r.stdout  # the text table labels stage energies in words
    assert "currenc" not in r.stdout + r.stderr


def test_unknown_cloud_region_points_at_the_cloud_listing() -> None:
    r = cli_process("doctor", "--cloud", "aws:nowhere-1")
    assert "Unknown cloud region 'aws:nowhere-1'" in r.stdout
    assert "`greenops-tb zones --cloud --search TEXT`" in r.stdout


def test_zones_search_finds_cloud_regions_and_ranks_an_exact_code_first() -> None:
    r = cli_process("zones", "--search", "aws:eu-west-1")
    assert r.returncode == 0 and "--cloud" in r.stdout
    assert any(line.split()[:1] == ["aws:eu-west-1"] and " IE " in line for line in r.stdout.splitlines())
    r = cli_process("zones", "--search", "FR")
    lines = r.stdout.splitlines()
    assert lines[0].split()[0] == "zone" and lines[1].split()[:2] == ["FR", "France"]
    assert "greenops-tb zones --cloud --search FR" in lines[-1]


def test_doctor_prints_the_rapl_reason_under_its_heading(tmp_path: Path) -> None:
    r = cli_process("doctor", "--sysfs-root", str(tmp_path), "--country", "DE")
    lines = r.stdout.splitlines()
    at = lines.index(f"CPU/RAM (RAPL under {tmp_path})")
    assert lines[at + 1] == f"  status: no RAPL zones under {tmp_path}: CPU and RAM energy come from the model " \
                            "(containers: mount the host's /sys/class/powercap and pass powercap_root=)"
    assert not any(line.startswith("note: no RAPL") for line in lines)


def test_version_is_the_package_version() -> None:
    from greenops_tb import __version__

    out = cli_process("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"greenops-tb {__version__}"
