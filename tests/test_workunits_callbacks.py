"""The Lightning and Hugging Face callbacks count work units: samples from the batch size, tokens from the Trainer."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from conftest import require
from test_integrations_hf import _Tokens
from test_integrations_lightning import Tiny, _lightning

from greenops_tb.meters.constant import ConstantPowerSource
from greenops_tb.readers.csv import read_records


def _last(recs, stage):  # type: ignore[no-untyped-def]
    return [r for r in recs if r.stage == stage][-1]


def test_lightning_counts_samples_per_batch(tmp_path: Path) -> None:
    pl = _lightning()
    from greenops_tb.integrations.lightning import GreenCallback

    data = torch.utils.data.TensorDataset(torch.randn(30, 4), torch.randn(30, 1))
    loader = torch.utils.data.DataLoader(data, batch_size=8)  # 8 + 8 + 8 + 6
    cb = GreenCallback(country="DE", meters=[ConstantPowerSource({"cpu:0": 20.0})])
    trainer = pl.Trainer(max_epochs=2, limit_val_batches=0, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, default_root_dir=str(tmp_path),
                         accelerator="cpu", devices=1, callbacks=[cb])
    trainer.fit(Tiny(), loader)
    cb.close()
    recs = read_records(tmp_path / "green" / "green.csv")
    assert [r.samples for r in recs if r.stage == "train"] == [30, 30]  # one record per epoch
    assert _last(recs, "train").stage_samples == 60 and _last(recs, "fit").stage_samples == 60


def test_hf_counts_samples_and_tokens_per_step(tmp_path: Path) -> None:
    require(importlib.util.find_spec("transformers") is not None, "transformers (pip install 'greenops_tb[hf]')")
    require(importlib.util.find_spec("accelerate") is not None, "accelerate (the Trainer needs it)")
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

    from greenops_tb.integrations.hf import GreenTrainerCallback

    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16, num_labels=2)
    args = TrainingArguments(output_dir=str(tmp_path), num_train_epochs=2, per_device_train_batch_size=4,
                             save_strategy="no", report_to=[], use_cpu=True, disable_tqdm=True,
                             include_num_input_tokens_seen=True)
    cb = GreenTrainerCallback(country="DE", meters=[ConstantPowerSource({"cpu:0": 40.0})], per_step=True)
    trainer = Trainer(model=BertForSequenceClassification(config), args=args, train_dataset=_Tokens(), callbacks=[cb])
    trainer.train()
    cb.close()
    recs = read_records(tmp_path / "green" / "green.csv")
    steps = [r for r in recs if r.stage == "epoch" and r.samples]
    assert [r.samples for r in steps] == [4] * 8  # 16 sentences, batches of 4, two epochs
    assert [r.tokens for r in steps] == [4 * 8] * 8  # 8 token ids per sentence
    assert _last(recs, "train").stage_samples == 32 and _last(recs, "train").stage_tokens == 256
