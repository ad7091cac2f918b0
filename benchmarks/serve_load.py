"""Bounded load on `cnn_serve`, on the loopback address only: a fixed number of concurrent clients for a fixed time.

    .venv/bin/python benchmarks/serve_load.py                       # 8 clients, 10 s per measurement, every backend
    .venv/bin/python benchmarks/serve_load.py --seconds 3 --out benchmarks/out/serve

For each checkpoint (the reference PyTorch and Keras runs) and each backend (the framework itself, onnxruntime), one
server is started on a free 127.0.0.1 port, and then, one after the other, single-image requests and batched requests
(256 images each) are sent by 8 clients, each waiting for its answer before it sends again, for a fixed time after a
short warm-up. Reported: requests/s, images/s, and the median and 99th-percentile latency. Writes `serve.json` and
`serve.md` into `--out` (default `benchmarks/results/`).
"""
from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from cnn_tutorial.common.data import load_splits  # noqa: E402
from cnn_tutorial.common.onnx import file_sha256  # noqa: E402
from cnn_tutorial.common.inference import CHECKPOINT_NAMES  # noqa: E402
from cnn_tutorial.common.utils import machine_description  # noqa: E402

HOST = "127.0.0.1"
RUNS = {"pytorch": ROOT / "artifacts" / "pytorch_cnn", "tensorflow": ROOT / "artifacts" / "tensorflow_cnn"}
BACKENDS = ("framework", "onnxruntime")
TARGETS = {"single_p99_ms": 20.0, "batched_images_per_s": 3000.0}


def free_port() -> int:
    "A TCP port nothing listens on, on the loopback address."
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(run: Path, backend: str, threads: int, timeout: float = 180) -> tuple[subprocess.Popen, int]:
    "`cnn_serve RUN --backend BACKEND --threads THREADS` on a free loopback port, once it answers /health."
    port = free_port()
    serve = Path(sys.executable).parent / "cnn_serve"
    process = subprocess.Popen([str(serve), str(run), "--host", HOST, "--port", str(port), "--backend", backend, "--threads", str(threads)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None: raise RuntimeError(f"cnn_serve exited: {process.stderr.read().decode()[-2000:]}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200: return process, port
        except OSError: time.sleep(0.3)
    process.kill()
    raise RuntimeError("cnn_serve did not answer /health in time")


def json_body(images: np.ndarray) -> bytes:
    "A /predict JSON body holding `images` (N, 28, 28) as integer pixels."
    return json.dumps({"images": images.tolist()}).encode()


def multipart_body(images: np.ndarray, boundary: str = "cnn-serve-load") -> bytes:
    "A /predict multipart/form-data body holding `images` (N, 28, 28) as PNG files."
    parts = []
    for i, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "PNG")
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="images"; filename="{i}.png"\r\n'
                     f"Content-Type: image/png\r\n\r\n".encode() + buffer.getvalue() + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


def client_loop(port: int, body: bytes, content_type: str, n_images: int, start: float, stop: float, latencies: list, failures: list) -> None:
    "Send `body` to /predict again and again on one kept-alive connection; record the latency of requests sent after `start`."
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"Content-Type": content_type}
    while (sent := time.perf_counter()) < stop:
        connection.request("POST", "/predict", body, headers)
        response = connection.getresponse()
        reply = response.read()
        done = time.perf_counter()
        if response.status != 200 or reply.count(b'"index"') != n_images: failures.append(response.status)
        elif sent >= start: latencies.append(done - sent)
    connection.close()


def measure(port: int, body: bytes, content_type: str, n_images: int, clients: int, seconds: float, warmup: float) -> dict:
    "Requests/s, images/s and latency percentiles of `clients` closed-loop clients over `seconds` after `warmup`."
    start = time.perf_counter() + warmup
    stop = start + seconds
    latencies, failures = [], []
    threads = [threading.Thread(target=client_loop, args=(port, body, content_type, n_images, start, stop, latencies, failures)) for _ in range(clients)]
    for t in threads: t.start()
    for t in threads: t.join()
    ms = np.array(latencies) * 1000
    return {"requests": len(ms), "failures": len(failures), "requests_per_s": len(ms) / seconds,
            "images_per_s": len(ms) * n_images / seconds, "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)), "mean_ms": float(ms.mean())}


def git_commit() -> str | None:
    "The repository's commit, marked `+changes` when its tracked files differ from it."
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    try: return git("rev-parse", "--short", "HEAD") + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.CalledProcessError): return None


def checkpoint_digests(frameworks) -> dict:
    "The sha256 of each served checkpoint, so that a result names the exact weights it was measured with."
    return {fw: {"checkpoint": f"{RUNS[fw].relative_to(ROOT)}/{CHECKPOINT_NAMES[fw]}",
                 "sha256": file_sha256(RUNS[fw] / CHECKPOINT_NAMES[fw])} for fw in frameworks}


def run(args) -> dict:
    "Every measurement, with the settings and the machine."
    images = load_splits()["test"][0][..., 0]
    loads = {"single": (json_body(images[:1]), "application/json", 1),
             "batched": (json_body(images[:args.batch]), "application/json", args.batch),
             "batched_png": (multipart_body(images[:args.batch]), "multipart/form-data; boundary=cnn-serve-load", args.batch)}
    results, load_before = [], os.getloadavg()[0]
    for framework in args.frameworks:
        for backend in args.backends:
            process, port = start_server(RUNS[framework], backend, args.threads)
            try:
                for load, (body, content_type, n) in loads.items():
                    row = {"framework": framework, "backend": backend, "load": load, "images_per_request": n,
                           "body": "PNG files, multipart/form-data" if load == "batched_png" else "JSON pixel arrays",
                           **measure(port, body, content_type, n, args.clients, args.seconds, args.warmup)}
                    print(f"{framework:10} {backend:11} {load:11} {row['requests_per_s']:8.1f} req/s {row['images_per_s']:9.0f} img/s "
                          f"p50 {row['p50_ms']:7.2f} ms p99 {row['p99_ms']:7.2f} ms failures {row['failures']}", flush=True)
                    results.append(row)
            finally:
                process.terminate()
                process.wait(timeout=30)
    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "command": " ".join(["python benchmarks/serve_load.py", *sys.argv[1:]]),
            "clients": args.clients, "seconds": args.seconds, "warmup_seconds": args.warmup, "batch": args.batch,
            "threads": args.threads, "host": HOST, "targets": TARGETS, "commit": git_commit(),
            "checkpoints": checkpoint_digests(args.frameworks),
            "machine": {"description": machine_description(), "cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                        "load_average_before": load_before, "load_average_after": os.getloadavg()[0]},
            "results": results}


def markdown(report: dict) -> str:
    "The results as a Markdown table, with the targets and whether they were met."
    lines = [f"Load on `cnn_serve` over 127.0.0.1: {report['clients']} concurrent clients for {report['seconds']:g} s per row "
             f"(after {report['warmup_seconds']:g} s of warm-up), each sending its next request when the previous one is answered; "
             f"one image (JSON pixel arrays) or {report['batch']} per request (JSON, or PNG files as multipart/form-data); "
             f"the server computes each request on {report['threads']} thread{'s' if report['threads'] != 1 else ''}. {report['machine']['cpu_count']} CPU cores shared by "
             f"the server and the clients (1-minute load average {report['machine']['load_average_before']:.1f} before the run, "
             f"{report['machine']['load_average_after']:.1f} after); {report['date']}.", "",
             f"Machine: {report['machine']['description']}. Package commit: {report['commit']}. Checkpoints: "
             + "; ".join(f"`{c['checkpoint']}` (sha256 {c['sha256'][:12]}…)" for c in report["checkpoints"].values()) + ".", "",
             "| checkpoint | backend | request | requests/s | images/s | p50 latency | p99 latency |", "|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        request = "1 image, JSON" if r["load"] == "single" else f"{r['images_per_request']} images, {'PNG' if r['load'] == 'batched_png' else 'JSON'}"
        lines.append(f"| {r['framework']} | {r['backend']} | {request} "
                     f"| {r['requests_per_s']:,.0f} | {r['images_per_s']:,.0f} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms |")
    single = [r for r in report["results"] if r["load"] == "single"]
    batched = [r for r in report["results"] if r["load"].startswith("batched")]
    worst_p99 = max(r["p99_ms"] for r in single if r["backend"] == "onnxruntime") if single else float("nan")
    best_batch = max(r["images_per_s"] for r in batched) if batched else float("nan")
    lines += ["", "Single images, the framework against onnxruntime (median / 99th percentile):", ""]
    for framework in dict.fromkeys(r["framework"] for r in single):
        by_backend = {r["backend"]: r for r in single if r["framework"] == framework}
        lines.append(f"- {framework}: " + "; ".join(f"{b} {r['p50_ms']:.1f} / {r['p99_ms']:.1f} ms" for b, r in by_backend.items()))
    lines += ["", f"Targets: single-image p99 under {TARGETS['single_p99_ms']:g} ms at {report['clients']} clients "
              f"(with onnxruntime, the default backend, the slower checkpoint here: {worst_p99:.1f} ms, {'met' if worst_p99 < TARGETS['single_p99_ms'] else 'missed'}); "
              f"batched at least {TARGETS['batched_images_per_s']:,.0f} images/s (fastest here: {best_batch:,.0f}, "
              f"{'met' if best_batch >= TARGETS['batched_images_per_s'] else 'missed'}).", "",
              f"Made by `{report['command']}`."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    "Run the load test and write serve.json and serve.md."
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=8, help="concurrent clients (default: 8)")
    p.add_argument("--seconds", type=float, default=10, help="measured seconds per row (default: 10)")
    p.add_argument("--warmup", type=float, default=2, help="seconds of unmeasured load before each row (default: 2)")
    p.add_argument("--batch", type=int, default=256, help="images per batched request (default: 256)")
    p.add_argument("--threads", type=int, default=1, help="cnn_serve --threads (default: 1)")
    p.add_argument("--frameworks", nargs="+", choices=list(RUNS), default=list(RUNS))
    p.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args(argv)
    report = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "serve.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out / "serve.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
