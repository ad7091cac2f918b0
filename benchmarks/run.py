"""Benchmark both frameworks against the plain tutorial baselines, in one run, and write the tables.

    python benchmarks/run.py                        # full mode: what README and the docs quote
    python benchmarks/run.py --quick                # a few minutes: short timings, a one-epoch recipe
    python benchmarks/run.py --compare OLD.json     # then print the change of each headline figure against OLD.json
    python benchmarks/run.py --compare OLD.json --against NEW.json   # compare two saved results, measuring nothing

Each framework is measured in its own subprocess (`--worker`), so that TensorFlow's oneDNN setting and thread pools
never meet PyTorch's. The TensorFlow baseline has a process of its own as well: it imports TensorFlow before the package
does and so runs with TensorFlow's own oneDNN default, as a plain script would. The workers run in rounds (`--repeats`,
3 by default), each round running every worker once, so that the measurements of one figure are interleaved with the
others' rather than taken one after another; the default recipe trains once per framework, in the first round, and
every round times inference on the checkpoint it wrote.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_common as bc
import bench_report

WORKERS = ("pytorch", "tensorflow_baseline", "tensorflow")
RECIPE_WORKERS = ("pytorch", "tensorflow")
DEFAULT_OUT = {"full": HERE / "results", "quick": HERE / "out" / "quick"}


def run_worker(name: str, s: bc.Settings, recipe_dir: str | None = None, predictor: str | None = None) -> dict:
    "One round of the measurements of one worker, in this process; the recipe trains into `recipe_dir` when it is given."
    if name == "pytorch":
        import bench_pytorch
        return bench_pytorch.run(s, recipe_dir, predictor)
    if name == "tensorflow_baseline":
        import tensorflow  # noqa: F401  (before the package, which would switch oneDNN on: TensorFlow's default, as a plain script has it)
        import bench_tensorflow
        return bench_tensorflow.run_baseline(s)
    if name == "tensorflow":
        import bench_tensorflow
        return bench_tensorflow.run(s, recipe_dir, predictor)
    raise ValueError(f"unknown worker {name!r}")


def spawn_worker(name: str, args: argparse.Namespace, folder: Path, round_: int, predictor: str | None = None) -> dict:
    """Run one round of one worker in a subprocess and return what it measured, or the reason it failed. In the first
    round the recipe trains into a folder of `folder`, which outlives the round; later rounds get its run folder as `predictor`."""
    result = folder / f"{name}_{round_}.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--result", str(result), "--repeats", str(args.repeats)]
    if args.quick: command.append("--quick")
    if args.data_dir: command += ["--data-dir", args.data_dir]
    if round_ == 1 and name in RECIPE_WORKERS: command += ["--recipe-dir", str(folder / f"{name}_recipe")]
    elif predictor: command += ["--predictor", predictor]
    print(f"== {name}, round {round_} of {args.repeats} ==", flush=True)
    if args.wait_idle: wait_until_idle(args.wait_idle)
    before = cpu_snapshot()
    done = subprocess.run(command, cwd=HERE.parent)
    contention = other_cpu_share(before, cpu_snapshot())
    if done.returncode != 0 or not result.is_file():
        return {"error": f"worker exited with code {done.returncode}", "round": round_, "contention": contention}
    return {**json.loads(result.read_text(encoding="utf-8")), "round": round_, "contention": contention}


def run_rounds(args: argparse.Namespace) -> dict:
    "`{worker: [its result in each round]}`: round after round, every chosen worker once per round, in the order of `WORKERS`."
    chosen = [name for name in WORKERS if name in args.only]
    workers, predictors = {name: [] for name in chosen}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(1, args.repeats + 1):
            for name in chosen:
                result = spawn_worker(name, args, Path(tmp), round_, predictors.get(name))
                if result.get("recipe_run_dir"): predictors[name] = result["recipe_run_dir"]
                workers[name].append(result)
    return workers


def cpu_snapshot() -> dict:
    "Wall time, the machine's busy and stolen CPU seconds (Linux's /proc/stat) and the CPU seconds of finished children."
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    snap = {"wall": time.perf_counter(), "children": children.ru_utime + children.ru_stime, "busy": None, "steal": None}
    try: ticks = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    except (OSError, ValueError, IndexError): return snap
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
    hz = os.sysconf("SC_CLK_TCK")
    return {**snap, "busy": (user + nice + system + irq + softirq) / hz, "steal": steal / hz}


def wait_until_idle(limit: float, sample: float = 5.0) -> None:
    "Wait, at most `limit` seconds, until other processes use less than the busy share of the CPU over a few seconds."
    deadline = time.perf_counter() + limit
    while True:
        before = cpu_snapshot()
        time.sleep(sample)
        share = other_cpu_share(before, cpu_snapshot())
        busy = None if share is None else share["other_processes"] + share["stolen"]
        if busy is None or busy < bench_report.BUSY_SHARE: return
        if time.perf_counter() > deadline:
            print(f"the machine is still busy ({busy:.0%} of its CPU); measuring anyway", flush=True)
            return
        print(f"waiting for an idle machine: other processes use {busy:.0%} of its CPU", flush=True)


def other_cpu_share(before: dict, after: dict) -> dict | None:
    "Shares of the machine's CPU time, between two snapshots, used by processes other than the worker, and stolen by the host."
    if before["busy"] is None or after["busy"] is None: return None
    capacity = (after["wall"] - before["wall"]) * (os.cpu_count() or 1)
    others = (after["busy"] - before["busy"]) - (after["children"] - before["children"])
    return {"other_processes": max(others, 0.0) / capacity, "stolen": (after["steal"] - before["steal"]) / capacity}


def git_commit() -> str | None:
    "The repository's commit, marked `+changes` when the working tree differs from it."
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=HERE, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError): return None
    return commit + ("+changes" if dirty else "")


def versions(workers: dict) -> dict:
    "Python and the library versions the workers report."
    found = {"python": platform.python_version()}
    for rounds in workers.values():
        for r in rounds: found.update(r.get("versions", {}))
    return found


def record_of(args: argparse.Namespace, s: bc.Settings, workers: dict) -> dict:
    "The whole result of a run: context, the CPU and its peak, settings, every round's measurements and the summary."
    from cnn_tutorial.common.utils import machine_description
    cpu = bc.machine_peak()
    return {"mode": s.mode, "command": " ".join(["python", *map(shlex.quote, sys.argv)]),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "machine": machine_description(),
            "cpu_count": os.cpu_count(), "cpu": cpu, "commit": git_commit(), "versions": versions(workers), "settings": s.to_dict(),
            "summary": bench_report.summarise(workers, s.mode, cpu["peak"]), "workers": workers}


def load_record(path: Path) -> dict:
    "A results.json, of this format or of the older one (one result per worker, which reads as a single round)."
    try: return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e: raise SystemExit(f"cannot read the results file {path}: {e}")


def write_outputs(record: dict, out: Path) -> str:
    "Write results.json and results.md into `out`; return the Markdown."
    from cnn_tutorial.common.utils import atomic_write, write_json
    out.mkdir(parents=True, exist_ok=True)
    text = bench_report.markdown(record)
    write_json(out / "results.json", record)
    with atomic_write(out / "results.md", "w", encoding="utf-8") as f: f.write(text)
    return text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    "The command-line options."
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short timings and a one-epoch recipe: a few minutes")
    p.add_argument("--out", type=Path, help="folder for results.json and results.md (default: benchmarks/results, "
                                            "benchmarks/out/quick with --quick)")
    p.add_argument("--only", nargs="+", choices=WORKERS, default=list(WORKERS), help="measure only these workers")
    p.add_argument("--repeats", type=positive, default=3, metavar="N",
                   help="rounds: each worker measures each of its timings once per round, the workers interleaved (default: 3)")
    p.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                   help="before each worker of each round, wait up to SECONDS for other processes to leave the CPU idle (default: 0, no wait)")
    p.add_argument("--compare", type=Path, metavar="OLD.json",
                   help="after the run, print each headline figure against those of OLD.json (an older results.json)")
    p.add_argument("--against", type=Path, metavar="NEW.json",
                   help="with --compare: compare OLD.json with this saved results file instead of measuring")
    p.add_argument("--data-dir", default="", help="folder holding the Fashion-MNIST IDX files (default: the package's search)")
    p.add_argument("--worker", choices=WORKERS, help=argparse.SUPPRESS)
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--recipe-dir", help=argparse.SUPPRESS)
    p.add_argument("--predictor", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.against and not args.compare: p.error("--against needs --compare OLD.json")
    return args


def positive(text: str) -> int:
    "An integer of at least 1, for argparse."
    value = int(text)
    if value < 1: raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    "Run the benchmark, or one worker of it."
    args = parse_args(argv)
    if args.against:
        print(bench_report.comparison_markdown(load_record(args.compare), load_record(args.against), str(args.compare), str(args.against)))
        return 0
    old = load_record(args.compare) if args.compare else None  # read before measuring: a bad path fails at once
    s = bc.settings_for(args.quick, args.data_dir, args.repeats)
    if args.worker:
        from cnn_tutorial.common.utils import write_json
        write_json(args.result, {**run_worker(args.worker, s, args.recipe_dir, args.predictor), "settings": s.to_dict()})
        return 0
    workers = run_rounds(args)
    out = args.out or DEFAULT_OUT[s.mode]
    record = record_of(args, s, workers)
    print(write_outputs(record, out))
    print(f"written: {out / 'results.json'}, {out / 'results.md'}")
    if old is not None: print("\n" + bench_report.comparison_markdown(old, record, str(args.compare), str(out / "results.json")))
    return 0 if not any("error" in r for rounds in workers.values() for r in rounds) else 1


if __name__ == "__main__": sys.exit(main())
