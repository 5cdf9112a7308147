"""What a person sees: progress lines on stderr, the summary table, and the HTML report.

:class:`Console` writes one line per stage to stderr (nothing with
``quiet``). :func:`summary` formats the final table. :func:`render_html`
makes one self-contained HTML file: metrics, run facts and PNG plots
embedded as base64 (loss per step, ROC curve, confusion matrix, residuals,
coefficients). Plots need matplotlib (the ``report`` extra); without it the
HTML is written without plots and says so.
"""
from __future__ import annotations

import base64
import html
import io
import json
import sys
import time

import numpy as np

__all__ = ["Console", "summary", "render_html", "make_plots", "have_matplotlib"]


class Console:
    """Stage lines on stderr, each with the time since the run started."""

    def __init__(self, quiet=False, stream=None):
        self.quiet = quiet
        self.stream = sys.stderr if stream is None else stream
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def line(self, stage: str, text: str = ""):
        if self.quiet:
            return
        self.stream.write(f"[{self.elapsed():6.1f}s] {stage:<10} {text}".rstrip() + "\n")
        self.stream.flush()


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1e4 else f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def summary(result: dict) -> str:
    """The final table printed on stdout."""
    rows = [("model", result["model"]), ("task", result["task"])]
    rows.append(("rows", f"{result['rows']['train']:,} train / {result['rows']['test']:,} test, "
                         f"{result['features']} features"))
    for name, value in result["metrics"].items():
        rows.append((name, _fmt(value)))
    fit = result.get("fit", {})
    if fit.get("iterations") is not None:
        rows.append(("iterations", _fmt(fit["iterations"])))
    if fit.get("final_loss") is not None:
        rows.append(("final loss", _fmt(fit["final_loss"])))
    t = result["timings"]
    rows.append(("time", f"{t['total']:.1f} s (read {t.get('read', 0):.1f}, fit {t.get('fit', 0):.1f}, "
                         f"evaluate {t.get('evaluate', 0):.1f}, write {t.get('write', 0):.1f})"))
    if result.get("graph_runs") is not None:
        rows.append(("graph runs", f"{result['graph_runs']} (each reads the data it needs once)"))
    budget = result.get("memory_budget_bytes")
    share = f" ({result['peak_rss_bytes'] / budget:.2f}x the {budget / 2**20:,.0f} MiB memory budget)" if budget else ""
    rows.append(("peak memory", f"{result['peak_rss_bytes'] / 2**20:,.0f} MiB RSS{share}"))
    rows.append(("model dir", result["output"]["model"]))
    rows.append(("report", result["output"]["report"]))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


# ---------------------------------------------------------------- plots
def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def make_plots(result: dict, plots: dict) -> list:
    """``[(title, base64 PNG)]`` for what the run produced (empty without matplotlib)."""
    if not have_matplotlib():
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = []
    loss = plots.get("loss")
    if loss and len(loss["values"]) > 0:
        fig, ax = plt.subplots(figsize=(6.4, 4))
        steps = np.arange(len(loss["values"])) + loss.get("x0", 0)
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.plot(steps, loss["values"], marker="o" if len(steps) <= 30 else None, lw=1.5)
        ax.set_title(loss["title"])
        ax.set_xlabel(loss.get("xlabel", "step"))
        ax.set_ylabel(loss.get("ylabel", "training loss"))
        ax.grid(alpha=0.3)
        fig.tight_layout()
        out.append(("Training loss", _png(fig)))
    roc = plots.get("roc")
    if roc:
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.plot(roc["fpr"], roc["tpr"], lw=2, label=f"model (AUC = {roc['auc']:.3f})")
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance (AUC = 0.5)")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.set_title("ROC curve on the test rows")
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.legend(loc="lower right")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        out.append(("ROC curve", _png(fig)))
    if plots.get("confusion") is not None:
        C = np.asarray(plots["confusion"])
        labels = [_label(c) for c in plots["classes"]]
        k = len(labels)
        fig, ax = plt.subplots(figsize=(1.6 + 1.1 * k, 1.2 + 1.0 * k))
        im = ax.imshow(C, cmap="Blues")
        for i in range(k):
            for j in range(k):
                ax.text(j, i, f"{C[i, j]:,}", ha="center", va="center",
                        color="white" if C[i, j] > C.max() / 2 else "black")
        ax.set_xticks(range(k), labels)
        ax.set_yticks(range(k), labels)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.set_title("Confusion matrix (test rows)")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        fig.tight_layout()
        out.append(("Confusion matrix", _png(fig)))
    res = plots.get("residuals")
    if res:
        y, p = np.asarray(res["y"]), np.asarray(res["pred"])
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
        a1.scatter(p, y - p, s=4, alpha=0.4)
        a1.axhline(0, color="grey", lw=1)
        a1.set_xlabel("predicted value")
        a1.set_ylabel("residual (true - predicted)")
        a1.set_title("Residuals vs prediction")
        a1.grid(alpha=0.3)
        a2.hist(y - p, bins=50)
        a2.set_xlabel("residual (true - predicted)")
        a2.set_ylabel("rows")
        a2.set_title("Residual distribution")
        fig.suptitle(f"first {len(y):,} of {res['n']:,} test rows", fontsize=9)
        fig.tight_layout()
        out.append(("Residuals", _png(fig)))
    coef = plots.get("coefficients")
    if coef:
        names, values = list(coef["names"]), np.asarray(coef["values"], dtype=float)
        order = np.argsort(np.abs(values))[::-1][:25][::-1]
        fig, ax = plt.subplots(figsize=(7, 0.32 * len(order) + 1.4))
        colors = ["tab:red" if v < 0 else "tab:blue" for v in values[order]]
        ax.barh(range(len(order)), values[order], color=colors)
        ax.set_yticks(range(len(order)), [names[i] for i in order])
        ax.axvline(0, color="grey", lw=1)
        ax.set_xlabel(coef.get("xlabel", "coefficient"))
        ax.set_title(coef.get("title", "Coefficients") + (f" (largest 25 of {len(values)})" if len(values) > 25
                                                          else ""))
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        out.append(("Coefficients", _png(fig)))
    return out


def _label(c) -> str:
    if isinstance(c, float) and c.is_integer():
        return str(int(c))
    return str(c)


# ---------------------------------------------------------------- HTML
_CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{padding:4px 12px;border-bottom:1px solid #ddd;text-align:left}
th{background:#f4f4f4}img{max-width:100%;border:1px solid #eee;margin:0.5em 0}.note{color:#a60}
pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:12px}"""


def render_html(result: dict, images: list, spec_doc: dict, plots_missing_reason: str = "") -> str:
    """One self-contained HTML page for the run."""
    esc = html.escape
    metric_rows = "".join(f"<tr><td>{esc(k)}</td><td>{esc(_fmt(v))}</td></tr>" for k, v in result["metrics"].items())
    facts = summary(result).splitlines()
    fact_rows = "".join(
        f"<tr><td>{esc(line.strip().split('  ', 1)[0])}</td><td>{esc(line.strip().split('  ', 1)[-1].strip())}</td></tr>"
        for line in facts)
    body = [f"<h1>chunkflow run: {esc(str(result.get('name') or result['pipeline']))}</h1>",
            f"<p>{esc(result['model'])} ({esc(result['task'])}), finished {esc(result['finished'])}</p>",
            "<h2>Metrics (held-out rows)</h2>", f"<table><tr><th>metric</th><th>value</th></tr>{metric_rows}</table>"]
    if plots_missing_reason:
        body.append(f"<p class='note'>{esc(plots_missing_reason)}</p>")
    for title, png in images:
        body.append(f"<h2>{esc(title)}</h2><img alt='{esc(title)}' src='data:image/png;base64,{png}'>")
    body.append(f"<h2>Run</h2><table>{fact_rows}</table>")
    body.append("<h2>Pipeline</h2><pre>" + esc(json.dumps(spec_doc, indent=2, default=str)) + "</pre>")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>chunkflow report</title>"
            f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>")
