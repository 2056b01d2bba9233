"""A tiny transformers ``Trainer`` run (random-init BERT, no downloads) that fails in chosen ways.

Run as ``python hf_trainer.py --mode M > log 2>&1`` by ``make_logs.py``. The model is built from a
config, the data is synthetic token ids, so nothing comes from a hub; everything the log shows is
what transformers, torch and Python printed.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

import torch
from torch.utils.data import Dataset
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainerCallback, TrainingArguments


class Tokens(Dataset):
    def __init__(self, n: int, seed: int, bad_labels: bool = False):
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(5, 100, (n, 24), generator=g)
        self.labels = (self.ids[:, 0] > 50).long()
        if bad_labels:
            self.labels[40:] = 7  # a label the 2-class head does not have
        self.bad_labels = bad_labels

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(24, dtype=torch.long), "labels": self.labels[i]}


class Fail(TrainerCallback):
    def __init__(self, mode: str):
        self.mode = mode

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 10 and self.mode == "nan":
            with torch.no_grad():  # an fp overflow in the embeddings, as a bad batch with fp16 produces
                kwargs["model"].bert.embeddings.word_embeddings.weight.mul_(1e38)
        if state.global_step == 12:
            if self.mode == "oom":
                buf = torch.empty((1 << 21, 1 << 22), dtype=torch.float32)
                del buf
            if self.mode == "sigterm":
                os.kill(os.getpid(), signal.SIGTERM)
            if self.mode == "sigkill":
                os.kill(os.getpid(), signal.SIGKILL)
            if self.mode == "keyboard":
                raise KeyboardInterrupt


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="healthy")
    ap.add_argument("--out", default="/tmp/pawflow-scenario-hf")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    mode = args.mode
    torch.manual_seed(args.seed)
    cfg = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, num_labels=2)
    model = BertForSequenceClassification(cfg)
    out = "/proc/pawflow-cannot-write" if mode == "save_fail" else args.out
    targs = TrainingArguments(
        output_dir=out,
        num_train_epochs=2,
        per_device_train_batch_size=8,
        learning_rate=5e3 if mode == "diverge" else 5e-4,
        logging_steps=4,
        save_strategy="steps",
        save_steps=20,
        eval_strategy="epoch",
        report_to=[],
        use_cpu=True,
        seed=args.seed,
        dataloader_num_workers=0,
    )
    train = Tokens(160, args.seed, bad_labels=mode == "crash")
    trainer = Trainer(model=model, args=targs, train_dataset=train, eval_dataset=Tokens(48, args.seed + 1), callbacks=[Fail(mode)])
    trainer.train()
    metrics = trainer.evaluate()
    print(f"final eval: {metrics}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
