"""The ``chunkflow`` command: run a training pipeline, score data with a model, inspect data or models.

    chunkflow run PIPELINE.yaml [--set key.path=value ...] [--scheduler tcp://host:8786]
    chunkflow predict MODEL_URL DATA_URL OUT_URL [--columns id ...]
    chunkflow inspect URL
    chunkflow demo [--rows N]

Exit codes: 0 success, 1 the run failed (the last line says why), 2 invalid
input (a pipeline file, flag or path that is wrong; nothing was started).
Progress goes to stderr, results to stdout (``--json``: one JSON object).
The work itself is in ``chunkflow.pipeline``.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys

__all__ = ["main", "DEMO_SPEC"]

# examples/demo.yaml as data, for installs without the examples folder (tests check they agree)
DEMO_SPEC = {
    "name": "churn demo",
    "data": {"url": "./chunkflow-demo/data", "format": "parquet", "label": "churned",
             "columns": ["tenure_months", "monthly_spend", "support_calls", "age", "visits_per_week", "region",
                         "plan"]},
    "split": {"test_fraction": 0.2, "seed": 0},
    "features": [{"one_hot": {"columns": ["region", "plan"]}}, {"standard_scaler": {}}],
    "model": {"estimator": "LogisticRegression", "params": {"C": 1.0}},
    "metrics": ["accuracy", "roc_auc", "log_loss"],
    "output": {"model": "./chunkflow-demo/output/model", "overwrite": True},
}


class _Invalid(Exception):
    """Bad input found by the command itself (exit code 2)."""


def _common(p):
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout instead of the table")
    p.add_argument("--log-level", default="WARNING", type=str.upper,
                   choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="logging level (default WARNING)")


def _parser():
    parser = argparse.ArgumentParser(prog="chunkflow", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run a training pipeline file")
    p.add_argument("pipeline", help="the pipeline YAML file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override a key of the file (repeatable), e.g. --set model.params.C=0.5")
    p.add_argument("--scheduler", help="a distributed scheduler address, e.g. tcp://host:8786")
    _common(p)
    p = sub.add_parser("predict", help="score a dataset with a model directory into Parquet")
    p.add_argument("model")
    p.add_argument("data")
    p.add_argument("out")
    p.add_argument("--columns", nargs="+", default=[], help="input columns to copy into the output (e.g. an id)")
    p.add_argument("--format", choices=["parquet", "csv", "npy"], help="data format (default: the training's)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.add_argument("--allow-code", action="store_true",
                   help="allow importing a custom-loss model's predict function")
    p.add_argument("--storage-option", action="append", default=[], metavar="KEY=VALUE",
                   help="fsspec storage option, e.g. endpoint_url=http://minio:9000 (repeatable)")
    _common(p)
    p = sub.add_parser("inspect", help="describe a dataset or a model directory")
    p.add_argument("url")
    p.add_argument("--storage-option", action="append", default=[], metavar="KEY=VALUE")
    _common(p)
    p = sub.add_parser("demo", help="make a sample dataset and run examples/demo.yaml on local threads")
    p.add_argument("--rows", type=int, default=2_000_000, help="rows of sample data (default 2,000,000)")
    p.add_argument("--dir", default="./chunkflow-demo", help="where data and model go (default ./chunkflow-demo)")
    p.add_argument("--memory-budget", default="1GiB", help="memory budget (default 1GiB: the interpreter with pandas, pyarrow and scikit-learn loaded is about 300 MiB of it)")
    _common(p)
    return parser


def _storage_options(items, endpoint_env=True) -> dict | None:
    out = {}
    for item in items:
        if "=" not in item:
            raise _Invalid(f"--storage-option {item!r}: expected KEY=VALUE, e.g. endpoint_url=http://minio:9000")
        k, v = item.split("=", 1)
        if k == "endpoint_url":
            out.setdefault("client_kwargs", {})
        out[k] = v
    out.pop("client_kwargs", None)
    return out or None


def _cmd_run(args, console):
    from chunkflow.pipeline import load_spec
    from chunkflow.pipeline.report import summary
    from chunkflow.pipeline.runner import run

    spec = load_spec(args.pipeline, args.overrides, scheduler=args.scheduler)
    result = run(spec, quiet=args.quiet, console=console)
    return result, summary(result)


def _cmd_predict(args, console):
    from chunkflow.pipeline.predict import predict

    console.line("predict", f"{args.model} on {args.data}")
    result = predict(args.model, args.data, args.out, columns=args.columns, overwrite=args.overwrite,
                     storage_options=_storage_options(args.storage_option), fmt=args.format,
                     allow_code=args.allow_code)
    text = (f"  wrote {result['rows']:,} rows x {len(result['columns'])} columns "
            f"({', '.join(result['columns'])}) in {result['partitions']} parts to {result['output']}")
    return result, text


def _cmd_inspect(args, console):
    from chunkflow.pipeline.describe import format_info, inspect_url

    info = inspect_url(args.url, _storage_options(args.storage_option))
    return info, format_info(info)


def _cmd_demo(args, console):
    import chunkflow as cf
    from chunkflow.pipeline import load_spec
    from chunkflow.pipeline.report import summary
    from chunkflow.pipeline.runner import run
    from chunkflow.pipeline.sample import TRUE_COEF, make_sample

    if args.rows < 1000:
        raise _Invalid(f"--rows {args.rows}: give at least 1000 rows")
    budget = cf.config.parse_bytes(args.memory_budget)
    data_url = os.path.join(args.dir, "data")
    with cf.config.set(memory_budget=budget):
        console.line("data", f"sample data: {args.rows:,} rows -> {data_url}")
        made = make_sample(data_url, rows=args.rows)
        console.line("data", ("reused the complete dataset already there" if made["reused"] else
                              f"wrote {made['partitions']} Parquet parts") + f" in {made['seconds']:.1f} s")
        here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "demo.yaml")
        source = here if os.path.isfile(here) else DEMO_SPEC
        spec = load_spec(source, [f"data.url={data_url}", f"output.model={os.path.join(args.dir, 'output', 'model')}",
                                  "output.overwrite=true"])
        result = run(spec, quiet=args.quiet, console=console)
    coef = result.get("coefficients") or {}
    lines = [summary(result), "", "  learned vs true coefficient of each standardized numeric feature:"]
    lines += [f"    {name:<16} {coef[name]:+.3f}   (true {true:+.3f})" for name, true in TRUE_COEF.items()
              if name in coef]
    result["data"] = made
    return result, "\n".join(lines)


_COMMANDS = {"run": _cmd_run, "predict": _cmd_predict, "inspect": _cmd_inspect, "demo": _cmd_demo}


def main(argv=None) -> int:
    """Run the command line ``argv``; the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: 2 for bad usage, 0 for --help
        return int(e.code or 0)
    logging.basicConfig(level=getattr(logging, args.log_level), stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    from chunkflow.pipeline.report import Console
    from chunkflow.pipeline.spec import SpecError

    console = Console(quiet=args.quiet)
    code, error = 0, None
    try:
        result, text = _COMMANDS[args.command](args, console)
    except (SpecError, _Invalid) as e:
        code, error = 2, f"chunkflow {args.command}: invalid input: {e}"
    except (FileNotFoundError, FileExistsError, PermissionError) as e:
        code, error = 2, f"chunkflow {args.command}: {e}"
    except KeyboardInterrupt:
        code, error = 1, f"chunkflow {args.command}: interrupted"
    except Exception as e:  # noqa: BLE001 - the command's last line says what failed
        logging.getLogger("chunkflow").debug("run failed", exc_info=True)
        code, error = 1, f"chunkflow {args.command} failed: {type(e).__name__}: {e}"
    if error is not None:
        if args.json:
            print(json.dumps({"status": "error", "exit_code": code, "error": error}))
        print(error if args.log_level == "DEBUG" or code == 2 else
              error + "  (--log-level DEBUG shows the traceback)", file=sys.stderr)
        return code
    if args.json:
        print(json.dumps(result, default=str))
    else:  # --quiet silences progress (stderr), not the result
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
