"""The qa app's scores: where the attention falls, and test accuracy per task beside Weston et al.'s LSTM."""

from __future__ import annotations

from typing import Any

import numpy as np

from datasets import babi

# Weston et al. 2015 (arXiv:1502.05698), Table 3: LSTM test accuracy (%) on bAbI 1k, tasks 1-20.
WESTON_LSTM = dict(
    zip(range(1, 21), (50, 20, 20, 61, 70, 48, 49, 45, 64, 44, 72, 74, 94, 27, 21, 23, 51, 52, 8, 91), strict=True)
)


def attention_on_supporting_facts(weights: np.ndarray, supporting: np.ndarray) -> list[float]:
    """Mean attention each hop puts on the true supporting facts, over the questions that name some.

    `weights` is (questions, hops, slots), `supporting` (questions, slots) with 1 on the supporting slots.
    """
    has_support = supporting.sum(1) > 0
    on_support = (weights * supporting[:, None, :]).sum(-1)
    return [float(value) for value in on_support[has_support].mean(0)]


def task_table(per_task: dict[str, float], real_data: bool) -> dict[str, Any]:
    """A markdown table of test accuracy per task, beside Weston et al.'s LSTM on real bAbI 1k."""
    columns = ["task", "name", "accuracy %"] + (["Weston LSTM %", "beats LSTM"] if real_data else [])
    rows, beats = [], 0
    for key, value in per_task.items():
        task = int(key)
        row = [task, babi.TASK_NAMES[task], round(100 * value, 1)]
        if real_data:
            better = 100 * value > WESTON_LSTM[task]
            beats += better
            row += [WESTON_LSTM[task], "yes" if better else "no"]
        rows.append(row)
    mean = 100 * float(np.mean(list(per_task.values())))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    summary = f"mean accuracy {mean:.1f}% (mean error {100 - mean:.1f}%) over {len(per_task)} tasks"
    if real_data:
        lstm_mean = float(np.mean([WESTON_LSTM[int(key)] for key in per_task]))
        summary += f"; Weston LSTM mean on these tasks {lstm_mean:.1f}%; above the LSTM on {beats}/{len(per_task)}"
    text = "\n".join(lines) + "\n\n" + summary
    return {
        "text": text,
        "beats": beats,
        "showcase": {"title": "test accuracy per task", "columns": columns, "rows": rows},
    }
