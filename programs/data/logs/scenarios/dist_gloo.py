"""Two-process data-parallel training on CPU with torch.distributed (gloo), launched by torchrun.

``python -m torch.distributed.run --nproc-per-node 2 dist_gloo.py --mode M > log 2>&1``. The
failures are the real ones a collective-communication job meets: a rank that stops joining the
all-reduce (the peer times out, as an NCCL watchdog timeout does on GPUs), a rank that crashes, a
rank killed by a signal. torchrun's own failure summary is part of the log.
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import sys
import time

import torch
import torch.distributed as dist
from torch import nn


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="healthy")
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=8))
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(rank)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))
    for p in model.parameters():
        dist.broadcast(p.data, 0)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    if rank == 0:
        print(f"[rank {rank}/{world}] gloo process group ready, {sum(p.numel() for p in model.parameters())} params", flush=True)
    for step in range(1, args.steps + 1):
        x = torch.randn(32, 8)
        y = x.sum(1, keepdim=True)
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        if rank == 1 and step == 12:
            if args.mode == "timeout":
                time.sleep(30)  # stuck rank: never joins the next all_reduce in time
            elif args.mode == "crash":
                raise RuntimeError(f"rank {rank}: unexpected batch shape {tuple(x.shape)} from shard 3")
            elif args.mode == "killed":
                os.kill(os.getpid(), signal.SIGKILL)
        for p in model.parameters():
            dist.all_reduce(p.grad)
            p.grad /= world
        opt.step()
        lossv = loss.detach().clone()
        dist.all_reduce(lossv)
        if rank == 0 and step % 5 == 0:
            print(f"[rank 0] step {step:4d}/{args.steps} | loss {lossv.item() / world:.4f} | allreduce ok", flush=True)
    dist.barrier()
    if rank == 0:
        print("[rank 0] done; destroying process group", flush=True)
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
