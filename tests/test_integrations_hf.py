"""Hugging Face callback: a real Trainer on a tiny BERT built from a config; stages from CSV and events."""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
import torch

from conftest import require
from greenops_tb.meters.constant import ConstantPowerSource
from greenops_tb.readers.csv import read_records
from greenops_tb.readers.events import local_provider, read_runs


class _Tokens(torch.utils.data.Dataset):
    """16 random 'sentences' of 8 token ids with a label (no tokenizer, no download)."""

    def __init__(self, n: int = 16, length: int = 8, vocab: int = 50) -> None:
        g = torch.Generator().manual_seed(0)
        self.ids = torch.randint(1, vocab, (n, length), generator=g)
        self.labels = torch.randint(0, 2, (n,), generator=g)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "attention_mask": torch.ones_like(self.ids[i]), "labels": self.labels[i]}


def test_train_evaluate_predict_become_stages(tmp_path: Path) -> None:
    require(importlib.util.find_spec("transformers") is not None, "transformers (pip install 'greenops_tb[hf]')")
    require(importlib.util.find_spec("accelerate") is not None, "accelerate (the Trainer needs it)")
    from tensorboard.context import RequestContext
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

    from greenops_tb.integrations.hf import GreenTrainerCallback

    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16, num_labels=2)
    model = BertForSequenceClassification(config)
    args = TrainingArguments(output_dir=str(tmp_path), num_train_epochs=2, per_device_train_batch_size=4,
                             per_device_eval_batch_size=8, eval_strategy="epoch", logging_steps=1, save_strategy="no",
                             report_to=[], use_cpu=True, disable_tqdm=True)
    cb = GreenTrainerCallback(country="DE", meters=[ConstantPowerSource({"cpu:0": 40.0})], per_step=True,
                              watch_logs=("loss",))
    data = _Tokens()
    trainer = Trainer(model=model, args=args, train_dataset=data, eval_dataset=data, callbacks=[cb])
    trainer.train()
    trainer.evaluate()
    trainer.predict(data)
    cb.close()

    log_dir = tmp_path / "green"
    csv_recs = read_records(log_dir / "green.csv")
    stages = [r.stage for r in csv_recs]
    assert stages.count("train") == 1
    assert stages.count("epoch") == 2 * (4 + 1)  # 4 optimizer steps per epoch + the epoch's stop
    assert stages.count("evaluate") == 3  # eval_strategy="epoch" twice + trainer.evaluate()
    assert stages.count("predict") == 1
    epochs = [r for r in csv_recs if r.stage == "epoch"]
    assert [r.epoch for r in epochs] == [0] * 5 + [1] * 5
    assert [r.step for r in epochs[:4]] == [1, 2, 3, 4]
    assert math.isfinite(epochs[-1].watched["loss"])
    for name in set(stages):
        recs = [r for r in csv_recs if r.stage == name]
        assert recs[-1].stage_energy_kwh == pytest.approx(sum(r.energy_kwh for r in recs), rel=1e-9)
        for r in recs:
            assert r.energy_kwh * 3.6e6 == pytest.approx(40.0 * r.duration_s, rel=1e-3, abs=40.0 * 2e-4)
    runs = read_runs(local_provider(str(log_dir)), RequestContext(), "")
    (run,) = runs.values()
    assert [(r.seq, r.stage, r.energy_kwh) for r in run.records] == [(r.seq, r.stage, r.energy_kwh) for r in csv_recs]
