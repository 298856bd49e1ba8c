"""The writer's options grouped as Where / Output / Measure: passed whole or flat, the same records either way;
one option given both ways, a wrong group or a file for a directory is a clear UsageError before any file exists;
``powercap_root`` (old name ``sysfs_root``) understands a sysfs root; every misuse is a GreenOpsError."""
from __future__ import annotations

import csv
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import constant_writer
from fakes.hwmon import epyc_amd_energy
from fakes.powercap import intel_two_sockets
from greenops_tb import ConstantPowerSource, GreenOpsError, GreenSummaryWriter, Measure, Output, Where
from greenops_tb.errors import DataError, StateError, UsageError, UsageTypeError


@pytest.fixture(autouse=True)
def _no_gpu_library(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.delenv("GREENOPS_HWMON_ROOT", raising=False)
    monkeypatch.delenv("GREENOPS_POWERCAP_ROOT", raising=False)


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def _one_stage(w: GreenSummaryWriter) -> None:
    with w:
        for _ in range(3):
            w.start("train")
            w.stop("train")


COLUMNS = ["energy_kwh", "co2_kg", "location", "pue", "currency"]
FLAT: dict[str, Any] = {"country": "FR", "pue": 1.25, "price_per_kwh": 0.3, "currency": "EUR",
                        "csv_columns": COLUMNS, "hash_chain": True, "run_name": "named",
                        "emit_every": 2, "step_axis": "stage", "sync_cuda": False, "sample_interval": 0.05}


def test_groups_passed_whole_write_what_the_flat_keywords_write(tmp_path: Path) -> None:
    flat = constant_writer(tmp_path / "flat", **FLAT)
    grouped = GreenSummaryWriter(
        str(tmp_path / "grouped"),
        where=Where(country="FR", pue=1.25, price_per_kwh=0.3, currency="EUR"),
        output=Output(csv_columns=COLUMNS, hash_chain=True, run_name="named", emit_every=2,
                      step_axis="stage"),
        measure=Measure(meters=[ConstantPowerSource({"cpu:0": 10.0})], sync_cuda=False, sample_interval=0.05),
    )
    for w in (flat, grouped):
        _one_stage(w)
    (head_f, rows_f), (head_g, rows_g) = _rows(tmp_path / "flat" / "green.csv"), _rows(tmp_path / "grouped" / "green.csv")
    assert head_f == head_g and "chain_hash" in head_g and "energy_kwh" in head_g
    assert "avg_power_w" not in head_g, "csv_columns= given in Output(...) chose the columns"
    assert len(rows_g) == len(rows_f) == 3
    for key, want in (("location", "FR"), ("pue", "1.25"), ("currency", "EUR"), ("run", "named")):
        assert rows_g[0][key] == rows_f[0][key] == want, key
    assert [r["step"] for r in rows_g] == ["0", "1", "2"], "step_axis='stage' from Output(...)"


def test_a_group_and_flat_keywords_mix(tmp_path: Path) -> None:
    with constant_writer(tmp_path / "run", where=Where(pue=1.5, country="SE"), country=None, run_name="mixed") as w:
        w.start("train")
        rec = w.stop("train")
    assert (rec.location, rec.pue, rec.run) == ("SE", 1.5, "mixed")


@pytest.mark.parametrize("group, flat, name", [
    ({"where": Where(country="DE")}, {"country": "FR"}, "country"),
    ({"output": Output(run_name="a")}, {"run_name": "b"}, "run_name"),
    ({"measure": Measure(sync_cuda=False)}, {"sync_cuda": False}, "sync_cuda"),
])
def test_an_option_given_both_ways_is_a_usage_error(tmp_path: Path, group: dict[str, Any], flat: dict[str, Any],
                                                    name: str) -> None:
    with pytest.raises(UsageError, match=f"{name} is given twice: as {name}= and in "):
        GreenSummaryWriter(str(tmp_path / "run"), **group, **flat)
    assert not (tmp_path / "run").exists(), "refused before the log dir was created"


def test_a_group_of_the_wrong_type_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"where= must be a greenops_tb.Where\(...\)") as info:
        GreenSummaryWriter(str(tmp_path / "run"), where={"country": "DE"})  # type: ignore[arg-type]
    assert isinstance(info.value, UsageTypeError)
    with pytest.raises(UsageTypeError, match=r"measure= must be a greenops_tb.Measure"):
        GreenSummaryWriter(str(tmp_path / "run"), measure=Where())  # type: ignore[arg-type]


def _provenance(csv_path: Path) -> str:
    _, rows = _rows(csv_path)
    return rows[-1]["provenance"]


def _measured_run(tmp_path: Path, name: str, **kw: Any) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the RAM model's note where a fake has no DRAM zone
        with GreenSummaryWriter(str(tmp_path / name), country="DE", **{"gpus": [], **kw}) as w:
            w.start("train")
            w.stop("train")
    return _provenance(tmp_path / name / "green.csv")


@pytest.mark.parametrize("given", ["sys", "sys/class", "sys/class/powercap"])
def test_powercap_root_understands_the_sysfs_root(tmp_path: Path, given: str) -> None:
    with intel_two_sockets(tmp_path / "sys" / "class" / "powercap"):
        prov = _measured_run(tmp_path, "run", powercap_root=str(tmp_path / given))
    assert "cpu:0=rapl" in prov and "ram=rapl" in prov, prov


def test_sysfs_root_is_the_old_name_of_powercap_root(tmp_path: Path) -> None:
    with intel_two_sockets(tmp_path / "powercap"):
        old = _measured_run(tmp_path, "old", sysfs_root=str(tmp_path / "powercap"))
        new = _measured_run(tmp_path, "new", measure=Measure(powercap_root=tmp_path / "powercap", gpus=[]),
                            gpus=None)
    assert "cpu:0=rapl" in old and old == new
    with pytest.raises(UsageError, match="sysfs_root= is the old name of powercap_root=; pass only powercap_root="):
        GreenSummaryWriter(str(tmp_path / "both"), sysfs_root="/sys", powercap_root="/sys")


def test_hwmon_is_read_next_to_the_understood_powercap_dir_or_where_hwmon_root_says(tmp_path: Path) -> None:
    epyc_amd_energy(tmp_path / "sys" / "class" / "hwmon")  # a sysfs root without RAPL zones
    beside = _measured_run(tmp_path, "beside", powercap_root=str(tmp_path / "sys"))
    epyc_amd_energy(tmp_path / "elsewhere")
    chosen = _measured_run(tmp_path, "chosen", powercap_root=str(tmp_path / "none"),
                           hwmon_root=str(tmp_path / "elsewhere"))
    nothing = _measured_run(tmp_path, "nothing", powercap_root=str(tmp_path / "none"))
    assert "cpu:0=hwmon" in beside and "cpu:0=hwmon" in chosen, (beside, chosen)
    assert "cpu:0=model" in nothing, "without hwmon_root= the hwmon next to the (missing) powercap dir is used"


@pytest.mark.parametrize("option", ["powercap_root", "sysfs_root", "hwmon_root"])
def test_a_file_for_a_directory_is_told_clearly(tmp_path: Path, option: str) -> None:
    f = tmp_path / "energy_uj"
    f.write_text("1\n")
    with pytest.raises(UsageError, match=f"{option}=.* is a file, not a directory: pass the directory"):
        GreenSummaryWriter(str(tmp_path / "run"), country="DE", **{option: str(f)})
    assert not (tmp_path / "run").exists()


def _closed_writer_start(tmp_path: Path) -> None:
    w = constant_writer(tmp_path / "closed")
    w.close()
    w.start("train")


def _forecast_without_csv(tmp_path: Path) -> None:
    with constant_writer(tmp_path / "nocsv", csv_path=False) as w:
        w.forecast("train", total_steps=10)


def _whatif_of_nothing(tmp_path: Path) -> None:
    import greenops_tb

    greenops_tb.whatif([])


def _watch_model_of_text(tmp_path: Path) -> None:
    with constant_writer(tmp_path / "hooks") as w:
        w.watch_model("not a model")  # type: ignore[arg-type]


def _unknown_grid_source(tmp_path: Path) -> None:
    from greenops_tb.grid.factors import split_co2_by_source

    split_co2_by_source(1.0, {"peat": 1.0})


MISUSE: list[tuple[Callable[[Path], Any], type, type]] = [
    (lambda p: constant_writer(p / "a", pue=0.5), UsageError, ValueError),
    (lambda p: constant_writer(p / "b", meters="cpu"), UsageTypeError, TypeError),
    (lambda p: constant_writer(p / "c", step_axis="epoch"), UsageError, ValueError),
    (lambda p: constant_writer(p / "d", live="nope"), UsageError, ValueError),
    (lambda p: constant_writer(p / "e", embodied_options={"lifetime": 3}), UsageError, ValueError),
    (lambda p: ConstantPowerSource({}), UsageError, ValueError),
    (_closed_writer_start, StateError, RuntimeError),
    (_forecast_without_csv, UsageError, ValueError),
    (_whatif_of_nothing, UsageError, ValueError),
    (_watch_model_of_text, UsageTypeError, TypeError),
    (_unknown_grid_source, DataError, ValueError),
]


@pytest.mark.parametrize("misuse, kind, builtin", MISUSE)
def test_every_deliberate_error_is_a_green_ops_error_and_keeps_its_builtin_base(
        tmp_path: Path, misuse: Callable[[Path], Any], kind: type, builtin: type) -> None:
    with pytest.raises(GreenOpsError) as info:
        misuse(tmp_path)
    assert isinstance(info.value, kind) and isinstance(info.value, builtin), type(info.value).__mro__
