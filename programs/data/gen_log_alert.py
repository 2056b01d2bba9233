"""Generate the log-alert train and held-out sets: one ML-training log line -> ALERT or QUIET.

Why a generator and not a hand-written file: a few hundred varied lines need many frameworks' styles
and many values, and a seeded script can be re-run and reviewed. The two splits use *disjoint
template families* (different frameworks, phrasings and error types), so held-out exact match measures
whether a program learned the rule in the spec rather than the surface of the training lines.

Real lines join the generated ones (issue #14): every record the watcher forms on the *train*-split
real logs (``programs/data/logs/train/``, made by ``logs/make_logs.py``, labelled line by line) becomes
rows, exactly as the watcher would show them to the program — a traceback as its exception line, a
progress bar as its description and postfix, a bare progress bar not at all. The *eval*-split logs
are never read here. Generated rows go through the same view, so training matches what runs.

    python programs/data/gen_log_alert.py               # rewrites log-alert.{train,heldout}.jsonl (shipped build)
    python programs/data/gen_log_alert.py --real-logs   # the refit's rows -> logs/log-alert.refit.*.jsonl (docs/watch.md)
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from pathlib import Path

from pawflow.storage import atomic_write_text

HERE = Path(__file__).resolve().parent
Gen = Callable[[random.Random], str]


def _f(r: random.Random, lo: float, hi: float, digits: int = 4) -> str:
    return f"{r.uniform(lo, hi):.{digits}f}"


def _path(r: random.Random) -> str:
    root = r.choice(["/data/runs", "/mnt/ckpt", "./outputs", "/scratch/exp", "s3://ml-ckpts"])
    return f"{root}/{r.choice(['gpt-small', 'vit-b16', 'bert-ft', 'llama-lora', 'resnet50'])}"


def _bar(r: random.Random, width: int = 10) -> str:
    """A tqdm-style ``42%|████      |`` whose bar agrees with its percentage."""
    pct = r.randint(0, 99)
    done = pct * width // 100
    return f"{pct}%|" + "█" * done + " " * (width - done) + "|"


# ----------------------------------------------------------------------------- train families
# PyTorch (plain loops), tqdm, HF Trainer, Keras, PyTorch Lightning.

TRAIN_QUIET: list[Gen] = [
    lambda r: f"step {r.randint(1, 90000)} | loss {_f(r, 0.8, 4.5, 3)} | lr {r.choice(['3.0e-04', '1.5e-04', '6.0e-05'])} | {_f(r, 0.2, 2.5, 2)} s/it",
    lambda r: f"Epoch {r.randint(1, 20)}/{r.randint(20, 40)}: {_bar(r)} {r.randint(1, 900)}/{r.randint(900, 2000)} [{r.randint(0, 59):02d}:{r.randint(0, 59):02d}<{r.randint(0, 59):02d}:{r.randint(0, 59):02d}, {_f(r, 1, 9, 2)}it/s, loss={_f(r, 0.1, 2.0, 3)}]",
    lambda r: "{" + f"'loss': {_f(r, 0.2, 3.0)}, 'grad_norm': {_f(r, 0.1, 4.0)}, 'learning_rate': {r.choice(['5e-05', '4.5e-05', '2e-05', '1.2e-05'])}, 'epoch': {r.uniform(0, 5):.2f}" + "}",
    lambda r: f"{r.randint(10, 500)}/{r.randint(500, 600)} [==============================] - {r.randint(3, 90)}s {r.randint(5, 300)}ms/step - loss: {_f(r, 0.05, 1.5)} - accuracy: {_f(r, 0.5, 0.99)}",
    lambda r: f"Saving model checkpoint to {_path(r)}/checkpoint-{r.randint(1, 80) * 500}",
    lambda r: f"Epoch {r.randint(0, 30)}: val_loss improved from {_f(r, 0.5, 1.0)} to {_f(r, 0.2, 0.5)}, saving model to {_path(r)}/best.h5",
    lambda r: f"***** Running Evaluation *****  Num examples = {r.randint(500, 20000)}  Batch size = {r.choice([8, 16, 32, 64])}",
    lambda r: "{" + f"'eval_loss': {_f(r, 0.2, 2.0)}, 'eval_accuracy': {_f(r, 0.5, 0.98)}, 'eval_runtime': {_f(r, 5, 90, 2)}, 'epoch': {r.randint(1, 5)}.0" + "}",
    lambda r: "Training completed. Do not forget to share your model on huggingface.co/models =)",
    lambda r: f"`Trainer.fit` stopped: `max_epochs={r.randint(3, 50)}` reached.",
    lambda r: f"Epoch {r.randint(0, 30)}: 100%|██████████| {r.randint(100, 999)}/{r.randint(100, 999)} [{r.randint(1, 20):02d}:{r.randint(0, 59):02d}<00:00, {_f(r, 1, 9, 2)}it/s, v_num=0, train_loss={_f(r, 0.1, 1.5, 3)}, val_acc={_f(r, 0.6, 0.97, 3)}]",
    lambda r: f"/usr/lib/python3/site-packages/torch/utils/data/dataloader.py:{r.randint(500, 600)}: UserWarning: This DataLoader will create {r.randint(8, 32)} worker processes in total. Our suggested max number of worker in current system is {r.randint(2, 8)}",
    lambda r: "FutureWarning: `torch.cuda.amp.GradScaler(args...)` is deprecated. Please use `torch.amp.GradScaler('cuda', args...)` instead.",
    lambda r: "huggingface/tokenizers: The current process just got forked, after parallelism has already been used. Disabling parallelism to avoid deadlocks...",
    lambda r: f"GPU available: True (cuda), used: True",
    lambda r: f"Loading dataset shards: {r.randint(1, 40)}/{r.randint(40, 60)} from {_path(r)}/data",
    lambda r: f"  | Name    | Type            | Params\n  0 | model   | {r.choice(['ResNet', 'GPT2LMHeadModel', 'ViT'])} | {r.randint(11, 350)} M",
    lambda r: f"Total params: {r.randint(1, 900):,}{r.randint(100, 999)}  trainable: {r.randint(1, 90)}%",
    lambda r: f"Epoch {r.randint(1, 30)} train_mean_abs_error={_f(r, 0.01, 0.4)} val_error_rate={_f(r, 0.01, 0.3)}",
    lambda r: f"Some weights of {r.choice(['BertForSequenceClassification', 'RobertaForTokenClassification'])} were not initialized from the model checkpoint and are newly initialized: ['classifier.bias', 'classifier.weight']",
    lambda r: f"[rank0] iter {r.randint(1, 50000)}: loss {_f(r, 1.5, 3.5)}, time {_f(r, 50, 900, 2)}ms, mfu {_f(r, 10, 55, 2)}%",
    lambda r: f"wandb: Run summary: train/loss {_f(r, 0.1, 2.0)}",
]

TRAIN_ALERT: list[Gen] = [
    lambda r: "Traceback (most recent call last):",
    lambda r: f'  File "{r.choice(["train.py", "main.py", "trainer/loop.py"])}", line {r.randint(20, 900)}, in {r.choice(["<module>", "training_step", "forward", "train"])}',
    lambda r: f"RuntimeError: expected scalar type {r.choice(['Float', 'Half'])} but found {r.choice(['Double', 'BFloat16'])}",
    lambda r: f"ValueError: Expected input batch_size ({r.randint(8, 64)}) to match target batch_size ({r.randint(65, 128)}).",
    lambda r: f"torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate {_f(r, 0.1, 8, 2)} GiB (GPU 0; {r.choice([16, 24, 40, 80])}.00 GiB total capacity)",
    lambda r: f"step {r.randint(1, 90000)} | loss nan | lr {r.choice(['3.0e-04', '1.5e-04'])} | {_f(r, 0.2, 2.5, 2)} s/it",
    lambda r: "{" + f"'loss': nan, 'grad_norm': nan, 'learning_rate': {r.choice(['5e-05', '2e-05'])}, 'epoch': {r.uniform(0, 5):.2f}" + "}",
    lambda r: f"{r.randint(10, 500)}/{r.randint(500, 600)} [==============================] - {r.randint(3, 90)}s {r.randint(5, 300)}ms/step - loss: nan - accuracy: {_f(r, 0.0, 0.2)}",
    lambda r: f"Epoch {r.randint(1, 20)}: {_bar(r)} {r.randint(1, 900)}/{r.randint(900, 2000)} [loss=inf]",
    lambda r: "Killed",
    lambda r: f"OSError: [Errno 28] No space left on device: '{_path(r)}/checkpoint-{r.randint(1, 80) * 500}/optimizer.pt'",
    lambda r: f"Failed to save checkpoint to {_path(r)}/step_{r.randint(1, 80) * 1000}.pt",
    lambda r: f"WARNING: loss spiked from {_f(r, 1.5, 3.0, 2)} to {_f(r, 30, 900, 2)} at step {r.randint(100, 90000)}",
    lambda r: f"step {r.randint(1, 90000)} | loss {_f(r, 1e4, 9e5, 1)} | grad norm {_f(r, 1e3, 1e6, 1)} | training is diverging",
    lambda r: "RuntimeError: CUDA error: device-side assert triggered",
    lambda r: f"KeyError: '{r.choice(['input_ids', 'labels', 'pixel_values'])}'",
    lambda r: f"ERROR: Unexpected bus error encountered in worker. This might be caused by insufficient shared memory (shm).",
    lambda r: f"Process {r.randint(1000, 99999)} exited with code -9 (SIGKILL)",
    lambda r: f"AssertionError: {r.choice(['batch contains empty sequences', 'labels out of range'])}",
]

# ----------------------------------------------------------------------------- held-out families
# DeepSpeed, fairseq, JAX/Flax, Accelerate + timestamps, MMEngine, YOLO-style columns, SLURM, Megatron.

HELD_QUIET: list[Gen] = [
    lambda r: f"[{r.randint(2023, 2025)}-0{r.randint(1, 9)}-1{r.randint(0, 9)} 1{r.randint(0, 9)}:{r.randint(10, 59)}:{r.randint(10, 59)},{r.randint(100, 999)}] [INFO] [logging.py:96:log_dist] [Rank 0] step={r.randint(10, 20000)}, skipped={r.randint(0, 5)}, lr=[{_f(r, 1e-5, 9e-5, 6)}], mom=[(0.9, 0.95)]",
    lambda r: f"epoch {r.randint(1, 60):03d} | loss {_f(r, 2.5, 7.0, 3)} | nll_loss {_f(r, 2.0, 6.0, 3)} | ppl {_f(r, 5, 90, 2)} | wps {r.randint(5000, 90000)} | ups {_f(r, 1, 9, 2)} | lr {_f(r, 1e-4, 9e-4, 6)}",
    lambda r: f"I0{r.randint(1, 9)}{r.randint(10, 28)} 1{r.randint(0, 9)}:{r.randint(10, 59)}:{r.randint(10, 59)}.{r.randint(100000, 999999)} train.py:{r.randint(100, 400)}] Step {r.randint(100, 500000)}: train_loss={_f(r, 0.5, 3)}, learning_rate={_f(r, 1e-5, 1e-3, 6)}",
    lambda r: f"{r.randint(2023, 2025)}/0{r.randint(1, 9)}/1{r.randint(0, 9)} 0{r.randint(0, 9)}:{r.randint(10, 59)}:{r.randint(10, 59)} - mmengine - INFO - Epoch(train) [{r.randint(1, 12)}][{r.randint(50, 900)}/{r.randint(900, 1500)}]  lr: {_f(r, 1e-4, 2e-2, 4)}  eta: {r.randint(0, 23)}:{r.randint(10, 59)}:{r.randint(10, 59)}  time: {_f(r, 0.2, 1.5)}  loss: {_f(r, 0.3, 2.5)}",
    lambda r: f"      {r.randint(1, 99)}/100      {_f(r, 2, 14, 1)}G     {_f(r, 0.02, 0.09)}     {_f(r, 0.01, 0.05)}          {r.randint(10, 90)}        640: 100%|██████████| {r.randint(100, 500)}/{r.randint(100, 500)} [0{r.randint(0, 9)}:{r.randint(10, 59)}<00:00,  {_f(r, 2, 9, 2)}it/s]",
    lambda r: f"[{r.randint(2023, 2025)}-0{r.randint(1, 9)}-2{r.randint(0, 8)} 0{r.randint(0, 9)}:{r.randint(10, 59)}:{r.randint(10, 59)}] accelerate: Saving current state to {_path(r)}/checkpoints/checkpoint_{r.randint(1, 40)}",
    lambda r: f"| epoch {r.randint(1, 60):03d} | valid on 'valid' subset | loss {_f(r, 2.5, 6)} | nll_loss {_f(r, 2, 5)} | ppl {_f(r, 5, 40, 2)} | bleu {_f(r, 10, 40, 2)} | num_updates {r.randint(1000, 90000)}",
    lambda r: f"saved checkpoint {_path(r)}/checkpoint_best.pt (epoch {r.randint(1, 60)} @ {r.randint(1000, 90000)} updates, score {_f(r, 10, 40, 2)}) (writing took {_f(r, 1, 30, 2)} seconds)",
    lambda r: f" validating: iteration {r.randint(1, 50)} | lm loss value: {_f(r, 1.8, 3.2, 6)}E+00 | lm loss PPL: {_f(r, 6, 25, 6)}E+01 |",
    lambda r: f"Step {r.randint(1000, 90000)}/{r.randint(90000, 100000)}  top1_acc={_f(r, 0.6, 0.8)}  top5_acc={_f(r, 0.85, 0.95)}  (best so far)",
    lambda r: f"done training in {_f(r, 0.5, 90, 1)} hours; final model written to {_path(r)}/final",
    lambda r: f"DeprecationWarning: `np.bool` is a deprecated alias for the builtin `bool`.",
    lambda r: f"W0{r.randint(1, 9)}{r.randint(10, 28)} 0{r.randint(0, 9)}:{r.randint(10, 59)}:{r.randint(10, 59)} xla_bridge.py:{r.randint(100, 900)}] An NVIDIA GPU may be present on this machine, but a CUDA-enabled jaxlib is not installed. Falling back to cpu.",
    lambda r: f"Resuming from checkpoint {_path(r)}/ckpt-{r.randint(1, 99)} (global step {r.randint(1000, 90000)})",
    lambda r: f"eval @ step {r.randint(1000, 90000)}: word_error_rate={_f(r, 0.05, 0.3)} char_error_rate={_f(r, 0.01, 0.1)}",
    lambda r: f"SLURM job {r.randint(1000000, 9999999)} started on node gpu-{r.randint(1, 64):03d} with {r.choice([1, 2, 4, 8])} GPUs",
    lambda r: f"throughput: {_f(r, 100, 5000, 1)} samples/s, tokens/s/gpu: {r.randint(1000, 20000)}, memory allocated {_f(r, 10, 70, 1)} GB of 80 GB",
    lambda r: "Dynamic loss scale: reducing loss scale to 32768.0 (this is expected early in fp16 training)",
]

HELD_ALERT: list[Gen] = [
    lambda r: "Segmentation fault (core dumped)",
    lambda r: f"[E ProcessGroupNCCL.cpp:{r.randint(400, 900)}] [Rank {r.randint(0, 7)}] Watchdog caught collective operation timeout: WorkNCCL(SeqNum={r.randint(1000, 90000)}, OpType=ALLREDUCE) ran for {r.randint(600000, 1800000)} milliseconds before timing out.",
    lambda r: f"| epoch {r.randint(1, 60):03d}:   {_bar(r)} {r.randint(100, 900)}/{r.randint(900, 1500)} [loss=nan, nll_loss=nan, ppl=nan, wps={r.randint(1000, 9000)}]",
    lambda r: f"I0{r.randint(1, 9)}{r.randint(10, 28)} 1{r.randint(0, 9)}:{r.randint(10, 59)}:{r.randint(10, 59)}.{r.randint(100000, 999999)} train.py:{r.randint(100, 400)}] Step {r.randint(100, 500000)}: train_loss=inf, learning_rate={_f(r, 1e-5, 1e-3, 6)}",
    lambda r: f"{r.randint(2023, 2025)}/0{r.randint(1, 9)}/1{r.randint(0, 9)} 0{r.randint(0, 9)}:{r.randint(10, 59)}:{r.randint(10, 59)} - mmengine - ERROR - The loss became NaN at iteration {r.randint(100, 9000)}, stopping",
    lambda r: f"jaxlib.xla_extension.XlaRuntimeError: RESOURCE_EXHAUSTED: Out of memory while trying to allocate {r.randint(1000000000, 9000000000)} bytes.",
    lambda r: f"RuntimeError: CUDA out of memory. Tried to allocate {r.randint(100, 900)}.00 MiB (GPU {r.randint(0, 7)}; {_f(r, 10, 79, 2)} GiB already allocated)",
    lambda r: f"slurmstepd: error: Detected 1 oom_kill event in StepId={r.randint(1000000, 9999999)}.batch. Some of the step tasks have been OOM Killed.",
    lambda r: f"torch.distributed.elastic.multiprocessing.errors.ChildFailedError: train.py FAILED (exitcode: -{r.choice([6, 9, 11])})",
    lambda r: f"[{r.randint(2023, 2025)}-0{r.randint(1, 9)}-2{r.randint(0, 8)} 0{r.randint(0, 9)}:{r.randint(10, 59)}:{r.randint(10, 59)}] accelerate: could not save state to {_path(r)}/checkpoints: Permission denied",
    lambda r: f"PermissionError: [Errno 13] Permission denied: '{_path(r)}/checkpoint_last.pt'",
    lambda r: f"OSError: [Errno 122] Disk quota exceeded: '{_path(r)}/events.out.tfevents.{r.randint(1600000000, 1700000000)}'",
    lambda r: f"FloatingPointError: Minimum loss scale reached (0.0001). Your loss is probably exploding. Try lowering the learning rate",
    lambda r: f" iteration {r.randint(100, 90000)}/{r.randint(90000, 100000)} | lm loss: {_f(r, 9, 99, 6)}E+02 | grad norm: {_f(r, 100, 900, 3)}E+03 | loss jumped {r.randint(20, 400)}x in 10 steps",
    lambda r: f"TypeError: forward() got an unexpected keyword argument '{r.choice(['attention_mask', 'past_key_values', 'labels'])}'",
    lambda r: f"IndexError: index {r.randint(32000, 50000)} is out of bounds for dimension 0 with size {r.randint(30000, 31999)}",
    lambda r: f"    raise {r.choice(['RuntimeError', 'ValueError'])}(f\"{r.choice(['shape mismatch', 'bad config'])}: {{shape}}\")",
    lambda r: "Terminated: the job was cancelled by SIGTERM at the time limit (DUE TO TIME LIMIT)",
]


def sample(families: list[Gen], label: str, count: int, r: random.Random) -> list[dict[str, str]]:
    """Round-robin over families so each template appears; dedupe identical lines."""
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    attempts = 0
    while len(rows) < count and attempts < count * 50:
        family = families[attempts % len(families)]
        attempts += 1
        line = family(r).split("\n")[-1] if r.random() < 0.5 else family(r).split("\n")[0]
        if line in seen:
            continue
        seen.add(line)
        rows.append({"input": line, "output": label})
    return rows


def program_view(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """What the watcher would send the program for each row's line (progress bars: postfix only)."""
    from integrations.watch.progress import parse_progress

    out = []
    for row in rows:
        bar = parse_progress(row["input"])
        if bar is None:
            out.append(row)
        elif bar.text:
            out.append({"input": bar.text, "output": row["output"]})
    return out


def real_rows(per_shape: int = 2) -> list[dict[str, str]]:
    """Rows from the train-split real logs, as the watcher groups and shows them (see module doc)."""
    sys.path.insert(0, str(HERE / "logs"))
    import reallogs  # noqa: PLC0415 - a sibling script folder, not a package

    from integrations.watch.lines import LineSplitter
    from integrations.watch.records import RecordAssembler
    from integrations.watch.shape import line_shape

    rows: list[dict[str, str]] = []
    per: dict[tuple[str, str], int] = {}
    for log in reallogs.load("train"):
        splitter = LineSplitter(source=log.name)
        assembler = RecordAssembler(gap_s=1e9)
        records = []
        lines = splitter.feed(log.path.read_bytes()) + splitter.flush()
        index = {}  # id(line) -> 1-based reference index
        for i, line in enumerate(lines, 1):
            index[id(line)] = i
            records += assembler.feed(line)
        records += assembler.flush()
        if len(lines) != len(log.lines):
            raise SystemExit(f"{log.path}: watcher cut {len(lines)} lines, reference {len(log.lines)}")
        for record in records:
            labels = [log.label(index[id(line)]) for line in record.lines if not line.blank]
            texts = record.texts
            if record.kind == "block":
                pairs = list(zip(texts, [log.label(index[id(l)]) for l in record.lines if not l.blank]))
            else:
                label = "ALERT" if labels.count("ALERT") * 2 >= len(labels) and labels else "QUIET"
                pairs = [(text, label) for text in texts]
            for text, label in pairs:
                key = (line_shape(text), label)
                if per.get(key, 0) >= per_shape:
                    continue
                per[key] = per.get(key, 0) + 1
                rows.append({"input": text, "output": label})
    return rows


def build(seed: int = 20260101, *, real_logs: bool = False) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The shipped build's rows; ``real_logs``: the refit's rows (program view + the train-split real logs)."""
    r = random.Random(seed)
    train = sample(TRAIN_QUIET, "QUIET", 170, r) + sample(TRAIN_ALERT, "ALERT", 150, r)
    heldout = sample(HELD_QUIET, "QUIET", 65, r) + sample(HELD_ALERT, "ALERT", 55, r)
    if real_logs:
        train, heldout = program_view(train), program_view(heldout)
        # Real lines are what users meet: each real row counts twice in the fit.
        train += real_rows() * 2
    r.shuffle(train)
    r.shuffle(heldout)
    overlap = {row["input"] for row in train} & {row["input"] for row in heldout}
    heldout = [row for row in heldout if row["input"] not in overlap]
    return train, heldout


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> None:
    atomic_write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def main(argv: list[str]) -> int:
    real = "--real-logs" in argv
    train, heldout = build(real_logs=real)
    # The refit's rows live next to its source (programs/data/logs/log-alert.refit.yaml) until it ships.
    stem = HERE / "logs" / "log-alert.refit" if real else HERE / "log-alert"
    write_jsonl(Path(f"{stem}.train.jsonl"), train)
    write_jsonl(Path(f"{stem}.heldout.jsonl"), heldout)
    print(f"log-alert: {len(train)} train, {len(heldout)} held-out rows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
