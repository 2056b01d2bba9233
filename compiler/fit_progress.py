"""A rich progress bar for a standalone ``fit_lora`` call (the compile driver draws its own bars)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from compiler.torch_passes import Evaluation


class FitProgressBar:
    """A rich progress bar showing step, training loss and the latest metric on the evaluation split."""

    def __init__(self, enabled: bool, steps: int, split: str = "held-out") -> None:
        self.enabled = enabled
        self.steps = steps
        # "held-out", or "fitted rows" when there is no held-out split: never call those held-out.
        self.split = split
        self.metric = f"{split}: -"

    def __enter__(self) -> "FitProgressBar":
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("[bold]fit[/bold]"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"),
                TextColumn("{task.fields[metric]}"),
                TimeElapsedColumn(),
            )
            self.progress.__enter__()
            self.task = self.progress.add_task("fit", total=self.steps, loss="-", metric=self.metric)
        return self

    def update(self, step: int, loss: float, point: "Evaluation | None") -> None:
        if not self.enabled:
            return
        if point is not None:
            self.metric = f"{self.split} loss {point.loss:.3f}"
            if point.exact is not None:
                self.metric += f" acc {point.exact:.1%}"
        self.progress.update(self.task, completed=step, loss=f"{loss:.3f}", metric=self.metric)

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.progress.__exit__(*exc)
