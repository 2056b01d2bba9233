"""A small, real PyTorch training loop that can be made to fail in the ways training runs fail.

Run by ``programs/data/logs/make_logs.py`` as ``python torch_loop.py --style S --mode M > log 2>&1``
so the log is exactly what such a redirect captures (tqdm's carriage-return updates included).
Two print styles (``a``: print + tqdm with a loss postfix; ``b``: the logging module + a
"[epoch e][it i/n]" format and no bar) let train and evaluation logs differ in phrasing, not only in
values. Every failure is real: the error text is whatever torch, Python or the OS printed.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import math
import os
import signal
import sys
import time
import warnings

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm


class Blobs(Dataset):
    """A seeded two-class toy dataset; ``bad_index`` raises inside a DataLoader worker on purpose."""

    def __init__(self, n: int, dim: int, seed: int, bad_index: int | None = None, kill_index: int | None = None):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, dim, generator=g)
        self.y = (self.x[:, 0] + 0.5 * self.x[:, 1] > 0).long()
        self.bad_index = bad_index
        self.kill_index = kill_index

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        if self.bad_index is not None and i == self.bad_index:
            # A corrupt record, the way a real loader meets one.
            raise ValueError(f"could not parse record {i}: expected 16 features, got 'NaN,,3.2'")
        if self.kill_index is not None and i == self.kill_index:
            os.kill(os.getpid(), signal.SIGKILL)  # a worker killed by the OOM killer
        return self.x[i], self.y[i]


def build(dim: int, hidden: int) -> nn.Module:
    return nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, 2))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--style", choices=["a", "b"], default="a")
    ap.add_argument("--mode", default="healthy")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--out", default="/tmp/pawflow-scenario-ckpt")
    args = ap.parse_args()
    mode = args.mode
    torch.manual_seed(args.seed)
    dim, hidden = 16, 32
    log = logging.getLogger("train")
    if args.style == "b":
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)

    def say(msg: str) -> None:
        if args.style == "a":
            print(msg, flush=True)
        else:
            log.info(msg)

    workers = 2 if mode in ("worker_error", "worker_killed") else args.workers
    data = Blobs(
        512,
        dim,
        args.seed,
        bad_index=300 if mode == "worker_error" else None,
        kill_index=200 if mode == "worker_killed" else None,
    )
    loader = DataLoader(data, batch_size=16, shuffle=False, num_workers=workers)
    model = build(dim if mode != "crash" else dim + 4, hidden)
    lr = 3.0 if mode == "nan" else 0.05
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    say(f"model: {sum(p.numel() for p in model.parameters())} parameters, lr={lr}, batch=16, workers={workers}")
    if mode == "warnings" or args.style == "b":
        # A real, harmless UserWarning that torch prints with its source line.
        t = torch.tensor(data.x[:2])
        del t
    step = 0
    for epoch in range(args.epochs):
        model.train()
        it = loader
        bar = None
        if args.style == "a":
            bar = tqdm(loader, desc=f"epoch {epoch}", mininterval=0.0, miniters=4)
            it = bar
        running = 0.0
        for i, (x, y) in enumerate(it):
            if mode == "nan":
                x = x * (1.0 + 40.0 * step)  # inputs blow up: the loss diverges, then goes nan
            logits = model(x)
            loss = loss_fn(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            running += loss.item()
            if bar is not None:
                bar.set_postfix(loss=f"{loss.item():.4f}")
            if step % 8 == 0:
                if args.style == "a":
                    tqdm.write(f"step {step} loss {loss.item():.4f} lr {lr:.2e}")
                else:
                    log.info(f"[epoch {epoch}][it {i + 1}/{len(loader)}] loss={loss.item():.5f} grad_norm={sum(p.grad.norm() for p in model.parameters()).item():.3f}")
            if mode == "nan" and not math.isfinite(loss.item()) and step > 30:
                if args.style == "a":
                    print(f"WARNING: non-finite loss at step {step}, skipping batch", flush=True)
                else:
                    log.warning("loss is %s at step %d; grad scaler would skip this step", loss.item(), step)
            if mode == "oom" and epoch == 1 and i == 5:
                # Ask for an activation buffer far beyond this machine's memory.
                big = torch.empty((1 << 22, 1 << 22), dtype=torch.float32)
                del big
            if mode == "sigkill" and epoch == 1 and i == 10:
                os.kill(os.getpid(), signal.SIGKILL)
            if mode == "sigterm" and epoch == 1 and i == 10:
                os.kill(os.getpid(), signal.SIGTERM)
            if mode == "segfault" and epoch == 1 and i == 3:
                ctypes.string_at(0)
            if mode == "keyboard" and epoch == 1 and i == 7:
                raise KeyboardInterrupt
            if mode == "hang" and epoch == 1 and i == 2:
                time.sleep(3)
        if bar is not None:
            bar.close()
        model.eval()
        with torch.no_grad():
            acc = (model(data.x[:128] if mode != "crash" else torch.randn(128, dim + 4)).argmax(1) == data.y[:128]).float().mean().item()
        say(f"epoch {epoch} done: train_loss={running / len(loader):.4f} val_acc={acc:.3f}")
        path = os.path.join(args.out, f"ckpt_epoch{epoch}.pt")
        if mode == "disk_full" and epoch == 1:
            path = "/dev/full"
        os.makedirs(args.out, exist_ok=True)
        try:
            torch.save(model.state_dict(), path)
        except Exception:
            if args.style == "b":
                log.exception("failed to save checkpoint to %s", path)
            raise
        say(f"saved checkpoint {path}")
        if mode == "crash" and epoch == 0:
            # The classic: a layer built for the wrong input width.
            model(torch.randn(4, dim))
    say("training finished")
    return 0


if __name__ == "__main__":
    sys.exit(main())
