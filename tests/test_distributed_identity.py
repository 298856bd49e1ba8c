"""Job identity from SLURM/torchrun variables; host identity from the boot id, overridable."""
from __future__ import annotations

from pathlib import Path

from conftest import require
from greenops_tb.distributed.identity import host_identity, job_identity


def test_slurm_array_task_and_node_list() -> None:
    env = {"SLURM_JOB_ID": "4242", "SLURM_ARRAY_JOB_ID": "4200", "SLURM_ARRAY_TASK_ID": "7", "SLURM_STEP_ID": "0",
           "SLURM_JOB_NODELIST": "gpu[01-04]", "SLURM_JOB_NUM_NODES": "4", "SLURM_JOB_NAME": "pretrain"}
    ident = job_identity(env)
    assert ident["key"] == "slurm:4200_7", "array tasks of one array group by their own task"
    assert ident["slurm"] == {"job_id": "4242", "array_job_id": "4200", "array_task_id": "7", "step_id": "0",
                              "job_name": "pretrain", "nodelist": "gpu[01-04]", "num_nodes": "4"}
    assert job_identity({"SLURM_JOB_ID": "9", "SLURM_NODELIST": "n1"}) == {
        "key": "slurm:9", "slurm": {"job_id": "9", "nodelist": "n1"}}


def test_torchrun_run_id_and_override() -> None:
    assert job_identity({"TORCHELASTIC_RUN_ID": "abc123", "TORCHELASTIC_RESTART_COUNT": "1"}) == {
        "key": "torchrun:abc123", "torchrun": {"run_id": "abc123", "restart_count": "1"}}
    assert job_identity({"TORCHELASTIC_RUN_ID": "none"}) == {}, "torchrun's placeholder is no identity"
    assert job_identity({"GREENOPS_JOB_ID": "exp-7", "SLURM_JOB_ID": "1"})["key"] == "exp-7"
    assert job_identity({}) == {}


def test_host_identity_prefers_override_then_boot_id(tmp_path: Path) -> None:
    boot, machine = tmp_path / "boot_id", tmp_path / "machine-id"
    machine.write_text("m-1\n")
    assert host_identity({}, (str(boot), str(machine))) == "machine-id:m-1", "no boot id: the machine id"
    boot.write_text("b-2\n")
    assert host_identity({}, (str(boot), str(machine))) == "boot_id:b-2"
    assert host_identity({"GREENOPS_HOST_ID": "node7"}, (str(boot),)) == "node7"
    assert host_identity({}, (str(tmp_path / "none"),)).startswith("hostname:")
    real = Path("/proc/sys/kernel/random/boot_id")
    require(real.exists(), "Linux's /proc/sys/kernel/random/boot_id")
    assert host_identity({}) == "boot_id:" + real.read_text().strip()


def test_single_process_run_under_slurm_carries_the_job(tmp_path: Path, monkeypatch) -> None:
    from tensorboard.context import RequestContext

    from greenops_tb import GreenSummaryWriter
    from greenops_tb.meters.constant import ConstantPowerSource
    from greenops_tb.readers.events import local_provider, read_runs

    for var in ("RANK", "WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS", "TORCHELASTIC_RUN_ID", "GREENOPS_JOB_ID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SLURM_JOB_ID", "31337")
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "31300")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "3")
    with GreenSummaryWriter(str(tmp_path / "run"), country="DE", meters=[ConstantPowerSource({"cpu:0": 10.0})]) as w:
        with w.stage("train"):
            pass
    (run,) = read_runs(local_provider(str(tmp_path)), RequestContext(), "").values()
    assert run.metadata.extra["job"]["key"] == "slurm:31300_3"
    assert run.metadata.extra["job"]["slurm"]["job_id"] == "31337"


def test_cli_summary_groups_the_runs_of_one_job(tmp_path: Path, monkeypatch, capsys) -> None:
    from greenops_tb import GreenSummaryWriter
    from greenops_tb.cli import main
    from greenops_tb.meters.constant import ConstantPowerSource

    for var in ("RANK", "WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS", "GREENOPS_JOB_ID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "500")
    for task, watts in (("0", 100.0), ("1", 300.0)):
        monkeypatch.setenv("SLURM_JOB_ID", "50" + task)
        monkeypatch.setenv("SLURM_ARRAY_TASK_ID", task)
        monkeypatch.setenv("GREENOPS_JOB_ID", "slurm:500")  # the array as one job
        with GreenSummaryWriter(str(tmp_path / f"task{task}"), country="DE",
                                meters=[ConstantPowerSource({"cpu:0": watts})]) as w:
            with w.stage("train"):
                pass
    assert main(["summary", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "run task0 (job slurm:500)" in out and "run task1 (job slurm:500)" in out
    assert "job slurm:500: 2 runs (task0, task1)" in out
