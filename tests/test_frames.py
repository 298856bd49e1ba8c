"""pandas helpers: a live CSV and a logdir's event files give the same typed DataFrame."""
from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import pytest

from cli_runs import train_run
from conftest import require
from greenops_tb.analysis.frames import load_runs, read_csv

try:
    import pandas as pd
except ImportError:  # the tests below then fail in CI / skip locally through require()
    pd = None


@pytest.fixture(autouse=True)
def _pandas() -> None:
    require(pd is not None, "pandas (pip install 'greenops_tb[pandas]'; CI installs it with the extra 'test')")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_run(tmp_path_factory.mktemp("frames") / "run_f", steps=15, hash_chain=False)


def test_read_csv_types_and_values_match_the_csv(run):
    df = read_csv(run)
    with open(run, newline="") as f:
        raw = list(csv.DictReader(f))
    assert len(df) == len(raw)
    assert str(df["seq"].dtype) == "int64" and str(df["step"].dtype) == "int64"
    # every column typed as the field table says (stage_step had drifted to float64)
    from greenops_tb.format.fields import BY_NAME, Kind

    for name in ("stage_step", "epoch", "resume", "samples", "stage_tokens"):
        assert BY_NAME[name].kind is Kind.INT and str(df[name].dtype) == "int64", name
    assert (df["stage_step"] == [int(r["stage_step"]) for r in raw]).all()
    assert str(df["energy_kwh"].dtype) == "float64" and str(df["cost"].dtype) == "Float64"
    assert str(df["stage"].dtype) == "category" and set(df["stage"]) == {"train", "eval"}
    assert str(df["start_time"].dtype) == "datetime64[ns, UTC]"
    for i, row in enumerate(raw):
        assert df["energy_kwh"].iloc[i] == float(row["energy_kwh"])
        assert df["watch:loss"].iloc[i] == float(row["watch:loss"])
        assert df["start_time"].iloc[i].timestamp() == pytest.approx(float(row["start_time"]), abs=1e-6)
    assert df.attrs["units"]["energy_kwh"] == "kWh" and df.attrs["units"]["co2_kg"] == "kg CO2e"
    assert df.attrs["units"]["carbon_intensity_g_per_kwh"] == "g/kWh"


def test_load_runs_equals_read_csv(run):
    pd.testing.assert_frame_equal(load_runs(run.parent.parent), read_csv(run))


def test_torn_last_line_is_ignored(run, tmp_path):
    torn = tmp_path / "torn.csv"
    data = run.read_bytes()
    torn.write_bytes(data + data.splitlines(keepends=True)[-1][:30])  # half a row, no newline
    assert len(read_csv(torn)) == len(read_csv(run))


def test_unknown_cost_and_mid_run_watch_names_become_columns(tmp_path):
    holder = {"loss": 1.0}
    # India: no default electricity price is known (Eurostat covers Europe) -> empty cost cells -> <NA>;
    # "acc" appears after the header is written -> watched_extra
    from greenops_tb import GreenSummaryWriter

    with GreenSummaryWriter(str(tmp_path / "r"), country="IN", watch={"loss": holder}) as w:
        w.start("train")
        w.update("train")
        w.watch("acc", lambda: 0.5)
        w.update("train")
        w.stop("train")
        path = w.csv_path
    with open(path, newline="", encoding="utf-8") as f:
        raw = list(csv.DictReader(f))
    assert len(raw) == 3 and all(r["cost"] == "" and r["stage_cost"] == "" for r in raw)  # no price: empty cells
    df = read_csv(path)
    assert str(df["cost"].dtype) == "Float64" and df["cost"].isna().all() and df["stage_cost"].isna().all()
    assert df["cost"].iloc[0] is pd.NA
    assert df["watch:acc"].isna().tolist()[:1] == [True] and df["watch:acc"].iloc[-1] == 0.5
    assert not any(math.isnan(v) for v in df["watch:loss"])


def test_missing_pandas_gives_an_install_hint(run, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"pip install 'greenops_tb\[pandas\]'"):
        read_csv(run)
