"""CSV sink behaviour: re-open and append, torn lines, formulas, late watched names, subsets, chain, thinning."""
from __future__ import annotations

import csv
import io

import pytest
from tensorboard import context

from greenops_tb import GreenSummaryWriter
from greenops_tb.format.hashchain import verify
from greenops_tb.readers.csv import read_records, read_rows, read_table
from greenops_tb.readers.events import local_provider, read_runs
from cli_runs import cli
from conftest import constant_writer


def _writer(path, **kw) -> GreenSummaryWriter:
    return constant_writer(path, {"gpu:0": 100.0}, **kw)


def _records(w: GreenSummaryWriter, n: int, stage: str = "train") -> None:
    w.start(stage)
    for _ in range(n):
        w.update(stage)
    w.stop(stage)


def test_reopen_appends_under_one_header_and_continues_seq(tmp_path):
    w = _writer(tmp_path / "run", watch={"loss": [1.0]})
    _records(w, 2)
    w.close()
    path = tmp_path / "run" / "green.csv"
    with open(path, "ab") as f:  # a crash left half a row
        f.write(b"run,train,99,1,0,1.0")
    w = _writer(tmp_path / "run", watch={"loss": [2.0]})
    _records(w, 1)
    w.close()
    text = path.read_text()
    assert text.count("run,stage,seq") == 1 and ",99," not in text
    recs = read_records(path)
    assert [r.seq for r in recs] == [0, 1, 2, 3, 4]
    assert [r.watched["loss"] for r in recs] == [1.0, 1.0, 1.0, 2.0, 2.0]


def test_reader_ignores_an_incomplete_last_line(tmp_path):
    w = _writer(tmp_path / "run")
    _records(w, 3)
    w.close()
    path = tmp_path / "run" / "green.csv"
    full = path.read_bytes()
    last_start = full.rstrip(b"\r\n").rfind(b"\n") + 1
    for cut in (last_start + 1, last_start + 40, len(full) - 2):
        path.write_bytes(full[:cut])
        assert [r.seq for r in read_records(path)] == [0, 1, 2]
    path.write_bytes(full)
    assert [r.seq for r in read_records(path)] == [0, 1, 2, 3]


def test_formula_cells_are_neutralised(tmp_path):
    w = _writer(tmp_path / "run", run_name="=HYPERLINK(evil)")
    _records(w, 0, stage="-x")
    w.close()
    rows = read_table(tmp_path / "run" / "green.csv")[1]
    assert rows[0][0] == "'=HYPERLINK(evil)" and rows[0][1] == "'-x"
    rec = read_records(tmp_path / "run" / "green.csv")[0]
    assert rec.run == "=HYPERLINK(evil)" and rec.stage == "-x"  # the reader restores the text


@pytest.mark.parametrize("lead", ["\uff1d", "\uff0b", "\uff0d", "\uff20"])  # fullwidth = + - @
def test_fullwidth_formula_leads_are_neutralised_in_the_csv_and_export(tmp_path, capsys, lead):
    w = _writer(tmp_path / "run", run_name=f"{lead}HYPERLINK(evil)")
    _records(w, 0)
    w.close()
    assert read_table(tmp_path / "run" / "green.csv")[1][0][0] == f"'{lead}HYPERLINK(evil)"
    assert read_records(tmp_path / "run" / "green.csv")[0].run == f"{lead}HYPERLINK(evil)"
    code, out, err = cli(capsys, "export", str(tmp_path / "run"))
    assert code == 0, err
    assert next(csv.DictReader(io.StringIO(out)))["run"] == f"'{lead}HYPERLINK(evil)"


def test_watched_name_added_mid_run_goes_to_watched_extra(tmp_path):
    w = _writer(tmp_path / "run", watch={"loss": lambda: 0.5})
    w.start("train")
    w.update("train")
    w.watch("acc", lambda: float("inf"))
    w.stop("train")
    w.close()
    header, rows = read_table(tmp_path / "run" / "green.csv")
    assert "watch:loss" in header and "watch:acc" not in header
    assert rows[1][header.index("watched_extra")] == '{"acc":Infinity}'
    recs = read_records(tmp_path / "run" / "green.csv")
    assert recs[0].watched == {"loss": 0.5} and recs[1].watched == {"loss": 0.5, "acc": float("inf")}


def test_csv_columns_subset_and_off(tmp_path):
    w = _writer(tmp_path / "run", csv_columns=["energy_kwh", "co2_kg"], watch={"lr": {"lr": 0.1}})
    _records(w, 1)
    w.close()
    from greenops_tb.format.columns import BASE_COLUMNS, RESUME_COLUMNS

    header = read_table(tmp_path / "run" / "green.csv")[0]
    kept = [c for c in BASE_COLUMNS if c in RESUME_COLUMNS]  # what a re-opening continues from is always kept
    assert header == kept + ["watch:lr"] and "avg_power_w" not in header and "co2_kg" in header
    rows = read_rows(tmp_path / "run" / "green.csv")
    assert float(rows[0]["co2_kg"]) > 0 and rows[1]["watch:lr"] == "0.1"
    w = _writer(tmp_path / "off", csv_path=False)
    _records(w, 1)
    w.close()
    assert w.csv_path is None and not (tmp_path / "off" / "green.csv").exists()


def test_csv_path_elsewhere_and_csv_module_reads_it(tmp_path):
    target = tmp_path / "reports" / "energy.csv"
    w = _writer(tmp_path / "run", csv_path=str(target))
    _records(w, 2)
    w.close()
    with open(target, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and rows[0]["location"] == "DE"
    assert open(target, "rb").read().count(b"\r\n") == 4  # RFC 4180 line ends


def test_hash_chain_verifies_and_detects_edits(tmp_path):
    w = _writer(tmp_path / "run", hash_chain=True)
    _records(w, 3)
    w.close()
    path = tmp_path / "run" / "green.csv"
    header, rows = read_table(path)
    assert verify(header, rows).ok and verify(header, rows).rows == 4
    recs = read_records(path)
    events = read_runs(local_provider(str(tmp_path)), context.RequestContext(), "")["run"].records
    assert [r.chain_hash for r in events] == [r.chain_hash for r in recs] and recs[0].chain_hash
    tampered = [list(r) for r in rows]
    tampered[1][header.index("energy_kwh")] = "0.0"
    bad = verify(header, tampered)
    assert not bad.ok and bad.bad_row == 1
    assert not verify(header, rows[:1] + rows[2:]).ok  # a dropped row breaks the chain


def test_hash_chain_is_set_once_so_update_csv_and_events_hold_the_same_record(tmp_path):
    import dataclasses

    from greenops_tb.format.schema import SPLIT_FIELDS

    returned = []
    for opening in range(2):  # the second opening continues the file's chain
        w = _writer(tmp_path / "run", hash_chain=True, watch={"loss": [0.5 + opening]})
        w.start("train")
        returned += [w.update("train").record, w.update("train", samples=3).record, w.stop("train")]
        w.close()
    csv_recs = read_records(tmp_path / "run" / "green.csv")
    events = read_runs(local_provider(str(tmp_path)), context.RequestContext(), "")["run"].records
    assert len({r.chain_hash for r in returned}) == len(returned) == 6 and all(r.chain_hash for r in returned)
    assert events == returned  # field for field, the chain hash included
    event_only = dict.fromkeys(SPLIT_FIELDS, {})  # the running splits are written to the events only
    assert csv_recs == [dataclasses.replace(r, **event_only) for r in returned]
    header, rows = read_table(tmp_path / "run" / "green.csv")
    assert verify(header, rows).ok and [row[header.index("chain_hash")] for row in rows] == [
        r.chain_hash for r in returned]


def test_emit_every_thins_events_never_the_csv(tmp_path):
    w = _writer(tmp_path / "run", emit_every=3)
    _records(w, 7)  # 7 updates + 1 stop
    w.close()
    assert len(read_records(tmp_path / "run" / "green.csv")) == 8
    events = read_runs(local_provider(str(tmp_path)), context.RequestContext(), "")["run"].records
    assert [r.seq for r in events] == [2, 5, 7]  # every 3rd update, and the stop


def test_steps_and_epochs(tmp_path):
    w = _writer(tmp_path / "run")
    w.start("train")
    a = w.update("train")
    b = w.update("train", step=10)
    c = w.stop("train")
    w.start("train")
    d = w.stop("train")
    w.start("train", epoch=5, step=100)
    e = w.stop("train")
    w.start("train")
    f = w.stop("train")
    w.close()
    # the stop right after update(step=10) extends that record: no step 11 the next opening might take
    assert c == b and [r.step for r in (a, b, d, e, f)] == [0, 10, 11, 100, 101]
    assert [r.epoch for r in (a, b, d, e, f)] == [0, 0, 1, 5, 6]
    assert len(read_records(tmp_path / "run" / "green.csv")) == 5


def test_decorator_and_exception_still_records(tmp_path):
    w = _writer(tmp_path / "run")

    @w.stage("eval")
    def evaluate(x: int) -> int:
        return x * 2

    assert evaluate(2) == 4 and evaluate(3) == 6
    with pytest.raises(KeyError):
        with w.stage("train"):
            raise KeyError("user error")
    assert w.open_stages() == []
    w.close()
    assert [r.stage for r in read_records(tmp_path / "run" / "green.csv")] == ["eval", "eval", "train"]


def test_close_and_context_manager_record_open_stages(tmp_path):
    with _writer(tmp_path / "run") as w:
        w.start("train")
        w.start("eval")
    assert sorted(r.stage for r in read_records(tmp_path / "run" / "green.csv")) == ["eval", "train"]
    w.close()  # idempotent


def test_atexit_records_stages_left_open(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys; from greenops_tb import GreenSummaryWriter\n"
        "w = GreenSummaryWriter(sys.argv[1], country='SE'); w.start('train'); w.update('train')\n"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "run")], check=True, timeout=60)
    recs = read_records(tmp_path / "run" / "green.csv")
    assert [(r.stage, r.seq) for r in recs] == [("train", 0), ("train", 1)]
