"""Hugging Face Trainer on a tiny BERT built from a config (no download): ``python examples/hf_example.py``.

Needs ``pip install 'greenops_tb[hf]'``. Writes ``runs/hf/green``, the run ``hf/green`` (stages train,
epoch, evaluate, predict). Under torchrun the job's totals go to rank 0's files.
"""
from __future__ import annotations

import argparse

import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

from greenops_tb.integrations.hf import GreenTrainerCallback


class RandomSentences(torch.utils.data.Dataset):
    """Random token ids with a label that depends on them, so there is something to learn."""

    def __init__(self, n: int, length: int = 16, vocab: int = 100, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, vocab, (n, length), generator=g)
        self.labels = (self.ids[:, 0] > vocab // 2).long()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "attention_mask": torch.ones_like(self.ids[i]), "labels": self.labels[i]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output-dir", default="runs/hf")
    ap.add_argument("--country", default="DE")
    ap.add_argument("--epochs", type=int, default=2)
    args = ap.parse_args()
    torch.manual_seed(0)
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=32, num_labels=2)
    model = BertForSequenceClassification(config)
    training = TrainingArguments(output_dir=args.output_dir, num_train_epochs=args.epochs,
                                 per_device_train_batch_size=16, eval_strategy="epoch", logging_steps=5,
                                 save_strategy="no", report_to=[], use_cpu=True)
    green = GreenTrainerCallback(country=args.country, watch_logs=("loss",))
    trainer = Trainer(model=model, args=training, train_dataset=RandomSentences(256),
                      eval_dataset=RandomSentences(64, seed=1), callbacks=[green])
    trainer.train()
    trainer.predict(RandomSentences(32, seed=2))
    if trainer.is_world_process_zero():
        print(green.writer)
    green.close()


if __name__ == "__main__":
    main()
