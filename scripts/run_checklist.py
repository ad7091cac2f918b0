"""Answer the learning checklist of the beyond page: run every experiment on it, in both frameworks, on one budget of
epochs, each as a real `cnn_train` run, and collect the results into one file.

    python scripts/run_checklist.py                        # everything: 5 epochs, both frameworks
    python scripts/run_checklist.py --dry-run              # what it would run, collect, resume or skip, and why
    python scripts/run_checklist.py --only kernel5 no_flip --framework tensorflow
    python scripts/run_checklist.py --epochs 1 --max-images 2048 --val-size 256 --out /tmp/c/results.json --runs-dir /tmp/c/runs

Every run trains for the budget (`--epochs`, 5 by default; an `--epochs` in a checklist command gives way to it), so
each experiment is compared with the same command with no changes, `cnn_train --epochs 5`: the baseline. The one
experiment about the budget itself, "Longer training", trains for twice the budget. Runs are written to
`runs/checklist/<experiment>/<framework>_cnn/` and collected into `artifacts/checklist/results.json`, which the beyond
page reads. The file is rewritten after every run: an interrupted invocation loses at most the run in progress, and
the next one skips every result already complete (unless `--force`), collects a run that finished but was not yet
collected, and resumes an interrupted run after its last complete epoch.

Each run records the package commit it was trained with (and whether the clone had changes), the fingerprint of its
recipe (`recipe_fingerprint`: the resolved configuration and the learning-rate curve), the processor and the date. A
run or a record made with another recipe than today's is not complete: the next invocation trains it again, and
`--only NAME --framework FRAMEWORK` reruns one entry.

An experiment on a data set that is not on the machine (MNIST, CIFAR-10) is recorded as not run, with the reason; it
runs wherever its files are found (`$CNN_TUTORIAL_DATA`, the cache, /usr/share/datasets), or with `--download`.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the package, also when it is not installed

from cnn_tutorial.commands.train import train_parser  # noqa: E402
from cnn_tutorial.common.config import (FRAMEWORKS, RUN_ENVIRONMENT_FIELDS, TrainConfig, config_from_args,  # noqa: E402
                                        recipe_fingerprint)
from cnn_tutorial.common.data import find_dataset_dir  # noqa: E402
from cnn_tutorial.common.registry import dataset_spec  # noqa: E402
from cnn_tutorial.common.inference import LAST_STATE_NAMES  # noqa: E402
from cnn_tutorial.common.utils import machine_description, processor_traits, read_json, write_json  # noqa: E402
from cnn_tutorial.common.report import read_history  # noqa: E402

SCHEMA_VERSION = 2  # 2: every run records its recipe fingerprint, the package commit and the processor
RECIPE_MARKER = "recipe.json"  # written into a run's folder before it trains: which recipe and commit it belongs to
DEFAULT_OUT = ROOT / "artifacts" / "checklist" / "results.json"
DEFAULT_RUNS = ROOT / "runs" / "checklist"
BASELINE = "baseline"
DATASET_NAMES = {"fashion_mnist": "Fashion-MNIST", "mnist": "MNIST", "cifar10": "CIFAR-10"}
RUN_FIELDS = ("test_accuracy", "test_loss", "best_epoch", "best_val_accuracy", "epochs_completed", "parameter_count",
              "seconds_per_epoch", "train_seconds", "framework_version", "arithmetic", "device", "machine",
              "per_class_accuracy")


@dataclass(frozen=True)
class Experiment:
    "One entry of the learning checklist: what it asks, and the `cnn_train` command that answers it."
    name: str  # its folder under runs/checklist/
    task: str
    command: str  # as a reader types it, for the default 20 epochs
    epochs_scale: int = 1  # epochs as a multiple of the budget


CHECKLIST = (
    Experiment("baseline", "Train the reference network and read its confusion matrix", "cnn_train"),
    Experiment("other_framework", "Same run in the other framework; compare on the comparison page", "cnn_train --framework tensorflow"),
    Experiment("kernel5", "Larger receptive field: 5×5 kernels", "cnn_train --kernel-size 5 --artifacts-dir runs/kernel5"),
    Experiment("kernel1", "A 1×1 'kernel': what is left without spatial context?", "cnn_train --kernel-size 1 --artifacts-dir runs/kernel1"),
    Experiment("three_blocks", "Deeper: three convolution blocks", "cnn_train --channels 32 64 128 --artifacts-dir runs/three_blocks"),
    Experiment("narrow", "Narrower: a quarter of the channels", "cnn_train --channels 8 16 --artifacts-dir runs/narrow"),
    Experiment("avgpool", "Average pooling instead of max pooling", "cnn_train --pooling avg --artifacts-dir runs/avgpool"),
    Experiment("no_dropout", "No dropout: watch the gap between training and validation loss", "cnn_train --dropout 0 --artifacts-dir runs/no_dropout"),
    Experiment("no_flip", "No augmentation", "cnn_train --no-flip --artifacts-dir runs/no_flip"),
    Experiment("lr_high", "Learning rate ten times too high", "cnn_train --learning-rate 0.03 --artifacts-dir runs/lr_high"),
    Experiment("batch512", "Bigger batches, faster epochs", "cnn_train --batch-size 512 --learning-rate 0.006 --artifacts-dir runs/batch512"),
    Experiment("longer", "Longer training: twice the epochs", "cnn_train --epochs 40 --artifacts-dir runs/longer", epochs_scale=2),
    Experiment("seed7", "Another seed: how much do results vary by chance alone?", "cnn_train --seed 7 --artifacts-dir runs/seed7"),
    Experiment("mnist", "Handwritten digits (flips would turn a 2 into something else)", "cnn_train --dataset mnist --no-flip --artifacts-dir runs/mnist"),
    Experiment("cifar10", "Colour photographs: CIFAR-10, 32×32×3", "cnn_train --dataset cifar10 --epochs 30 --channels 64 128 256 --artifacts-dir runs/cifar10"),
)
EXPERIMENTS = {e.name: e for e in CHECKLIST}
OWN_OPTIONS = ("--framework", "--epochs", "--artifacts-dir")  # set by the budget, whatever a command says


def without_options(tokens: list[str], names=OWN_OPTIONS) -> list[str]:
    "`tokens` without the options in `names` and their values (`--name value` or `--name=value`)."
    kept, skip = [], False
    for t in tokens:
        if skip: skip = False; continue
        if t in names: skip = True; continue
        if t.split("=", 1)[0] in names: continue
        kept.append(t)
    return kept


def budget_epochs(exp: Experiment, epochs: int) -> int:
    "The epochs `exp` trains for under a budget of `epochs`."
    return exp.epochs_scale * epochs


def run_options(exp: Experiment, framework: str, epochs: int, artifacts_dir: str, max_images: int = 0, val_size: int = 0,
                num_threads: int = 0) -> list[str]:
    "The `cnn_train` options that run `exp` in `framework` under the budget, writing into `artifacts_dir`."
    opts = ["--framework", framework, "--epochs", str(budget_epochs(exp, epochs)), *without_options(shlex.split(exp.command)[1:]),
            "--artifacts-dir", artifacts_dir, "--no-progress"]
    if max_images: opts += ["--max-images", str(max_images)]
    if val_size: opts += ["--val-size", str(val_size)]
    if num_threads: opts += ["--num-threads", str(num_threads)]
    return opts


def what_is_trained(config: dict) -> dict:
    "A config dict, read as the package reads stored configs (fields added since take their old values), without the fields that say only where and how a run ran."
    try: config = TrainConfig.from_dict(config).to_dict()
    except (TypeError, ValueError): pass  # not a config this package can read: compared as it is, so it never matches
    return {k: v for k, v in config.items() if k not in RUN_ENVIRONMENT_FIELDS}


def intended_config(options: list[str]) -> dict:
    "The configuration `cnn_train options` trains, as a JSON-ready dict (checked by the real parser)."
    return config_from_args(train_parser().parse_args(options)).to_dict()


def intended_recipe(options: list[str]) -> str:
    "The recipe fingerprint of the run `cnn_train options` would make (see `recipe_fingerprint`)."
    return recipe_fingerprint(config_from_args(train_parser().parse_args(options)))


TRAINING_PATHS = ("cnn_tutorial", "scripts", "settings.ini", "setup.py", "pyproject.toml", "constraints.txt")


def package_commit() -> dict:
    """The commit of the package that runs, and whether the files that train (`TRAINING_PATHS`) differ from it (None
    outside a git clone). The results file and the pages are outputs, not part of what trains."""
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    changed = lambda: git("status", "--porcelain", "--untracked-files=no", "--", *TRAINING_PATHS)
    try: return dict(commit=git("rev-parse", "HEAD"), dirty=bool(changed()))
    except (OSError, subprocess.CalledProcessError): return dict(commit=None, dirty=None)


def processor() -> dict:
    "The processor a run trains on: its description, and the traits that decide how its arithmetic rounds."
    return dict(description=machine_description(), traits=processor_traits())


def read_marker(run_dir: Path) -> dict:
    "The recipe marker in `run_dir` ({} when there is none or it cannot be read)."
    try: return read_json(run_dir / RECIPE_MARKER)
    except (OSError, ValueError): return {}


def shared_runs(experiments=CHECKLIST, epochs: int = 5) -> dict[str, str]:
    "Experiments whose runs in both frameworks are those of an earlier experiment: {name: earlier name}."
    seen, same = {}, {}
    for e in experiments:
        key = json.dumps([what_is_trained(intended_config(run_options(e, fw, epochs, "x"))) for fw in FRAMEWORKS])
        if key in seen: same[e.name] = seen[key]
        else: seen[key] = e.name
    return same


def display_path(p: Path) -> str:
    "`p` relative to the repository when it lies inside it, so that records hold no machine's absolute paths."
    p = Path(p).resolve()
    try: return p.relative_to(ROOT).as_posix()
    except ValueError: return str(p)


def train_command() -> list[str]:
    "How to call `cnn_train`: the console script beside this Python, else the package's module."
    script = Path(sys.executable).parent / "cnn_train"
    if script.is_file(): return [str(script)]
    return [sys.executable, "-c",
            "import sys; from cnn_tutorial.commands.train import train_main; sys.exit(train_main())"]


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def machine_info() -> dict:
    "The machine that runs the checklist."
    import numpy
    return dict(description=machine_description(), cores=os.cpu_count(), python=platform.python_version(),
                numpy=numpy.__version__, platform=platform.platform(terse=True))


def dumps(obj, indent: int = 2, level: int = 0) -> str:
    "JSON with lists of numbers or strings on one line each: a results file that diffs and reads well."
    pad, inner = " " * (indent * level), " " * (indent * (level + 1))
    if isinstance(obj, dict) and obj:
        return "{\n" + ",\n".join(f"{inner}{json.dumps(k)}: {dumps(v, indent, level + 1)}" for k, v in obj.items()) + f"\n{pad}}}"
    if isinstance(obj, list) and obj and not all(isinstance(v, (int, float, str, bool)) or v is None for v in obj):
        return "[\n" + ",\n".join(f"{inner}{dumps(v, indent, level + 1)}" for v in obj) + f"\n{pad}]"
    return json.dumps(obj, ensure_ascii=False)


def save_results(path: Path, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(dumps(results) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def collect(run_dir: Path) -> dict:
    "The record of the finished run in `run_dir`: its metrics and its history, one list per column."
    metrics = read_json(run_dir / "metrics.json")
    history = read_history(run_dir / "history.csv")
    record = {k: metrics.get(k) for k in RUN_FIELDS}
    record["config"] = metrics["config"]
    record["history"] = {c: [row[c] for row in history] for c in history[0]} if history else {}
    return record


def missing_data(config: dict, download: bool, experiment: str) -> str | None:
    "Why a run of `config` cannot happen here (its data set is absent), and how a user with the files runs it; or None."
    if download or find_dataset_dir(config["data_dir"] or None, config["dataset"]): return None
    name, spec = DATASET_NAMES.get(config["dataset"], config["dataset"]), dataset_spec(config["dataset"])
    files = ", ".join(f.name for f in spec.files)
    return (f"needs data not on the machine that ran the checklist: {name} ({files}). With those files in "
            f"$CNN_TUTORIAL_DATA/{spec.folder}/, ~/.cache/cnn_tutorial/{spec.folder}/ or "
            f"/usr/share/datasets/{spec.folder}/, `python scripts/run_checklist.py --only {experiment}` runs it; "
            f"--download fetches them where there is internet access")


def run_state(run_dir: Path, framework: str, intended: dict, recipe: str) -> str:
    """What the run folder holds of the intended run: 'finished', 'interrupted', 'other' (a different run, or one of
    another recipe) or 'empty'."""
    if not run_dir.exists(): return "empty"
    if read_marker(run_dir).get("recipe") != recipe: return "other"
    if (run_dir / LAST_STATE_NAMES[framework]).is_file(): return "interrupted"
    if (run_dir / "metrics.json").is_file() and (run_dir / "history.csv").is_file():
        try: same = what_is_trained(read_json(run_dir / "metrics.json")["config"]) == what_is_trained(intended)
        except (ValueError, KeyError): same = False
        return "finished" if same else "other"
    return "empty"


def is_complete(record: dict | None, intended: dict, recipe: str) -> bool:
    "True for a record of a finished run of exactly the intended configuration, trained with today's recipe."
    return bool(record) and record.get("status") == "done" and record.get("recipe") == recipe and \
        what_is_trained(record.get("config", {})) == what_is_trained(intended) and \
        record.get("epochs_completed") == intended["epochs"]


def train(cmd: list[str], log_path: Path, label: str) -> tuple[int, str, float]:
    "Run `cmd` from the repository, echoing and logging its output; its exit status, the output's tail, and seconds."
    path = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])  # the package beside this script
    env = {**os.environ, "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}
    start, tail = time.perf_counter(), []
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", encoding="utf-8") as log, subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1) as proc:
        for line in proc.stdout:
            log.write(line)
            print(f"  {label} | {line}", end="", flush=True)
            tail = (tail + [line.rstrip()])[-15:]
        proc.wait()
    return proc.returncode, "\n".join(tail), time.perf_counter() - start


def new_results(budget: dict, frameworks=FRAMEWORKS) -> dict:
    return dict(schema_version=SCHEMA_VERSION, budget=budget, baseline=BASELINE, frameworks=list(frameworks),
                machine=machine_info(), started=now(), updated=now(), experiments=[])


def experiment_entry(results: dict, exp: Experiment, epochs: int, same_as: str | None) -> dict:
    "The entry of `exp` in `results`, made (every framework not run yet) if it is not there, and kept in checklist order."
    entries = {e["name"]: e for e in results["experiments"]}
    entry = entries.get(exp.name) or dict(name=exp.name, runs={})
    entry.update(task=exp.task, command=exp.command, epochs=budget_epochs(exp, epochs), same_runs_as=same_as)
    for fw in FRAMEWORKS:
        if same_as: entry["runs"].pop(fw, None)
        else: entry["runs"].setdefault(fw, dict(status="not run", reason="not run yet"))
    entries[exp.name] = entry
    results["experiments"] = [entries[e.name] for e in CHECKLIST if e.name in entries]
    return entry


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", metavar="NAME", choices=list(EXPERIMENTS), help=f"run only these experiments: {', '.join(EXPERIMENTS)}")
    p.add_argument("--framework", action="append", choices=FRAMEWORKS, help="only this framework (repeatable; default: both)")
    p.add_argument("--epochs", type=int, default=5, help="the budget: epochs of every run (default: 5; Longer training gets twice)")
    p.add_argument("--max-images", type=int, default=0, help="train on a slice of at most this many images per split (0: all); for quick checks")
    p.add_argument("--val-size", type=int, default=0, help="validation images (0: cnn_train's default)")
    p.add_argument("--num-threads", type=int, default=0, help="CPU threads of each run (0: the framework's default); "
                   "1 is faster on a machine whose cores other work keeps busy. It changes the timing, not what is trained")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"results file (default: {display_path(DEFAULT_OUT)})")
    p.add_argument("--runs-dir", type=Path, default=DEFAULT_RUNS, help=f"folder of the runs (default: {display_path(DEFAULT_RUNS)})")
    p.add_argument("--force", action="store_true", help="rerun even complete results (and replace a results file of another budget)")
    p.add_argument("--download", action="store_true", help="let cnn_train download a data set that is not on the machine")
    p.add_argument("--dry-run", action="store_true", help="list what would be run, collected, resumed or skipped, and stop")
    args = p.parse_args(argv)
    if args.epochs <= 0: p.error("--epochs must be positive")
    if args.num_threads < 0: p.error("--num-threads must be zero or positive")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    frameworks = [fw for fw in FRAMEWORKS if fw in (args.framework or FRAMEWORKS)]
    selected = [e for e in CHECKLIST if not args.only or e.name in args.only]
    budget = dict(epochs=args.epochs, max_images=args.max_images, val_size=args.val_size)
    same = shared_runs(CHECKLIST, args.epochs)

    results = read_json(args.out) if args.out.is_file() else None
    if results is not None and results.get("budget") != budget:
        if not args.force and not args.dry_run:
            print(f"{display_path(args.out)} holds results of another budget ({results.get('budget')}); "
                  f"pass --force to replace them, or choose another --out", file=sys.stderr)
            return 2
        results = None
    results = results or new_results(budget)

    # The units of work: one run per framework of each selected experiment, or of the earlier one whose runs it shares.
    units = []
    for e in selected:
        owner = EXPERIMENTS[same.get(e.name, e.name)]
        for fw in frameworks:
            if (owner.name, fw) not in [(u[0].name, u[1]) for u in units]: units.append((owner, fw))
    for e in CHECKLIST: experiment_entry(results, e, args.epochs, same.get(e.name))

    plan = []
    for exp, fw in units:
        artifacts_dir = args.runs_dir / exp.name
        options = run_options(exp, fw, args.epochs, display_path(artifacts_dir), args.max_images, args.val_size, args.num_threads)
        intended, recipe = intended_config(options), intended_recipe(options)
        run_dir, record = artifacts_dir / f"{fw}_cnn", experiment_entry(results, exp, args.epochs, None)["runs"][fw]
        reason = missing_data(intended, args.download, exp.name)
        state = run_state(run_dir, fw, intended, recipe)
        if reason: action = "not run"
        elif is_complete(record, intended, recipe) and not args.force: action = "skip"
        elif state == "finished" and not args.force: action = "collect"
        elif state == "interrupted" and not args.force: action = "resume"
        else: action = "run"
        plan.append((exp, fw, options, intended, recipe, run_dir, action, reason))

    width = max(len(f"{e.name} {fw}") for e, fw, *_ in plan) if plan else 0
    print(f"checklist: {len(plan)} runs, budget {args.epochs} epochs"
          f"{f', slices of {args.max_images} images' if args.max_images else ''}; results in {display_path(args.out)}")
    for exp, fw, options, intended, recipe, run_dir, action, reason in plan:
        what = {"skip": "complete in the results file", "collect": f"finished in {display_path(run_dir)}: collect it",
                "resume": f"interrupted in {display_path(run_dir)}: resume it", "not run": reason}.get(action, "")
        print(f"  {f'{exp.name} {fw}':<{width}}  {action:<8} cnn_train {shlex.join(options)}{f'  ({what})' if what else ''}")
    if args.dry_run: return 0

    for exp, fw, options, intended, recipe, run_dir, action, reason in plan:  # known now: say so in the file from the start
        if action == "not run":
            experiment_entry(results, exp, args.epochs, None)["runs"][fw] = dict(status="not run", reason=reason, command="cnn_train " + shlex.join(options))
    results["machine"] = machine_info()
    invocation = " ".join(["python scripts/run_checklist.py", shlex.join(argv if argv is not None else sys.argv[1:])]).strip()
    if invocation not in results.setdefault("commands", []): results["commands"].append(invocation)  # every one that wrote the file
    save_results(args.out, results)
    failures = 0
    for i, (exp, fw, options, intended, recipe, run_dir, action, reason) in enumerate(plan, 1):
        runs = experiment_entry(results, exp, args.epochs, None)["runs"]
        label = f"[{i}/{len(plan)}] {exp.name} {fw}"
        if action == "skip":
            print(f"{label}: complete, skipped"); continue
        if action == "not run":
            runs[fw] = dict(status="not run", reason=reason, command="cnn_train " + shlex.join(options))
            print(f"{label}: not run: {reason}")
        else:
            wall, load = None, os.getloadavg()[0]
            if action in ("run", "resume"):
                if action == "run" and run_dir.exists(): shutil.rmtree(run_dir)  # --force, or a different run
                if action == "run":
                    run_dir.mkdir(parents=True, exist_ok=True)
                    write_json(run_dir / RECIPE_MARKER, dict(recipe=recipe, **package_commit(), processor=processor()))
                cmd = train_command() + (["--resume"] if action == "resume" else []) + options
                print(f"{label}: {'resuming' if action == 'resume' else 'training'} (load {load:.1f}): cnn_train {shlex.join(options)}", flush=True)
                code, tail, wall = train(cmd, run_dir.parent / f"{fw}.log", label)
                if code != 0:
                    failures += 1
                    runs[fw] = dict(status="failed", reason=f"cnn_train exited with status {code}: {tail.splitlines()[-1] if tail else ''}",
                                    command="cnn_train " + shlex.join(options), finished=now())
                    print(f"{label}: FAILED (exit {code})\n{tail}", file=sys.stderr)
                    results["updated"] = now(); save_results(args.out, results)
                    continue
            record = collect(run_dir)
            if what_is_trained(record["config"]) != what_is_trained(intended):
                raise RuntimeError(f"{run_dir} holds a run of another configuration than `cnn_train {shlex.join(options)}`")
            marker = read_marker(run_dir)
            runs[fw] = dict(status="done", command="cnn_train " + shlex.join(options), run_dir=display_path(run_dir),
                            recipe=marker["recipe"], commit=marker["commit"], dirty=marker["dirty"],
                            processor=marker["processor"], wall_seconds=wall, load_average=load, finished=now(), **record)
            print(f"{label}: test accuracy {record['test_accuracy']:.4f}, best epoch {record['best_epoch']} of "
                  f"{record['epochs_completed']}, {record['seconds_per_epoch']:.1f} s per epoch"
                  f"{f', {wall:.0f} s in all' if wall else ''}", flush=True)
        results["updated"] = now()
        save_results(args.out, results)

    print(summary(results))
    return 1 if failures else 0


def summary(results: dict) -> str:
    "The results as a plain-text table."
    base = {fw: r for e in results["experiments"] if e["name"] == results["baseline"] for fw, r in e["runs"].items()}
    lines = [f"{'experiment':<16} {'framework':<10} {'test acc':>8} {'vs base':>8} {'best':>5} {'params':>9} {'s/epoch':>7}"]
    for e in results["experiments"]:
        if e["same_runs_as"]: lines.append(f"{e['name']:<16} (the runs of {e['same_runs_as']})"); continue
        for fw, r in e["runs"].items():
            if r["status"] != "done": lines.append(f"{e['name']:<16} {fw:<10} {r['status']}: {r['reason']}"); continue
            b = base.get(fw, {})
            delta = f"{r['test_accuracy'] - b['test_accuracy']:+8.4f}" if b.get("status") == "done" else f"{'':>8}"
            lines.append(f"{e['name']:<16} {fw:<10} {r['test_accuracy']:8.4f} {delta} {r['best_epoch']:>5} "
                         f"{r['parameter_count']:>9,} {r['seconds_per_epoch']:7.1f}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
