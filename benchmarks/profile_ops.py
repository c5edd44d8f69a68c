"""Sort a torch.profiler op table into where a training step's time goes.

Shared by ``profile_step.py`` (nmt) and ``anchors/profile_onmt.py`` (OpenNMT-py, in its own venv),
so both toolkits' steps are cut into the same categories. Only torch is imported.
"""

from __future__ import annotations

# Matrix products do the arithmetic that training is for; everything else is what the issue calls
# time "without arithmetic": moving, filling and summing tensors, masks, the optimizer's passes.
CATEGORIES = {
    "matrix products": ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::baddbmm",
                        "aten::mkldnn_rnn", "aten::_mkldnn_rnn", "aten::mkldnn_rnn_layer"),
    "softmax and loss": ("aten::_log_softmax", "aten::_log_softmax_backward_data", "aten::_softmax",
                         "aten::_softmax_backward_data", "aten::nll_loss", "aten::nll_loss_forward",
                         "aten::nll_loss_backward", "aten::nll_loss2d_forward"),
    "gradient accumulation (add)": ("aten::add", "aten::add_"),
    "dropout masks": ("aten::bernoulli_", "aten::bernoulli", "aten::native_dropout"),
    "zero fills and copies": ("aten::fill_", "aten::zero_", "aten::copy_", "aten::cat",
                              "aten::stack", "aten::index_select", "aten::embedding_dense_backward"),
}
OPTIMIZER_OPS = ("aten::sqrt", "aten::addcdiv_", "aten::addcmul_", "aten::lerp_", "aten::div",
                 "aten::mul_", "aten::_fused_adam_", "aten::_fused_adamw_", "aten::_foreach_")


def summarize(events, steps: int, tokens: int) -> dict:
    """events: ``profiler.key_averages()``; -> ms per update by category and the top ops."""
    by_op = {e.key: (e.self_cpu_time_total / 1000, e.count) for e in events}
    total = sum(ms for ms, _ in by_op.values())
    categories = {name: 0.0 for name in [*CATEGORIES, "optimizer pointwise", "other"]}
    for op, (ms, _) in by_op.items():
        name = next((c for c, ops in CATEGORIES.items() if op in ops), None)
        if name is None:
            name = "optimizer pointwise" if op.startswith(OPTIMIZER_OPS) else "other"
        categories[name] += ms
    top = sorted(by_op.items(), key=lambda kv: -kv[1][0])[:15]
    return {
        "updates": steps, "target_tokens": tokens,
        "ms_per_update": total / steps,
        "ms_per_update_by_category": {k: v / steps for k, v in categories.items()},
        "share_by_category": {k: v / total for k, v in categories.items()},
        "top_ops": [{"op": op, "ms_per_update": ms / steps, "calls_per_update": n / steps}
                    for op, (ms, n) in top],
    }


def table(name: str, s: dict) -> str:
    rows = [f"{name}: {s['ms_per_update']:.0f} ms of operator time per update "
            f"({s['target_tokens'] / s['updates']:.0f} target tokens)", "",
            "| category | ms / update | share |", "|---|---|---|"]
    for k, v in s["ms_per_update_by_category"].items():
        rows.append(f"| {k} | {v:.1f} | {100 * s['share_by_category'][k]:.1f} % |")
    return "\n".join(rows)
