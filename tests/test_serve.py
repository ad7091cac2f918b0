"`cnn_serve` as a real process on a loopback port, called over HTTP with httpx: predictions from every backend, every kind of refusal (after which it still answers), and its web page in headless Chromium."
import hashlib
import io
import json
import os
import socket
import struct
import subprocess
import time
import zlib
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from conftest import bin_path
from cnn_tutorial.common.config import TrainConfig
from cnn_tutorial.common.data import load_splits

ROOT = Path(__file__).resolve().parents[1]
RUNS = {"pytorch": ROOT / "artifacts" / "pytorch_cnn", "tensorflow": ROOT / "artifacts" / "tensorflow_cnn"}
CHECKPOINTS = {"pytorch": RUNS["pytorch"] / "model.pt", "tensorflow": RUNS["tensorflow"] / "model.weights.h5"}
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SERVERS = [("pytorch", "framework"), ("tensorflow", "framework"), ("tensorflow", "onnxruntime")]


def free_port() -> int:
    "A TCP port nothing listens on, on the loopback address."
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(checkpoint, backend, timeout=180):
    "`cnn_serve CHECKPOINT --backend BACKEND` on a free loopback port until the block ends; yields (base URL, its first output line)."
    port = free_port()
    process = subprocess.Popen([bin_path("cnn_serve"), str(checkpoint), "--port", str(port), "--backend", backend],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + timeout
    try:
        while True:
            assert process.poll() is None, f"cnn_serve exited with {process.returncode}: {process.stdout.read()}"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200: break
            except httpx.TransportError: pass
            assert time.monotonic() < deadline, "cnn_serve did not answer /health in time"
            time.sleep(0.5)
        yield url, process.stdout.readline()
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def test_set():
    "The first 64 Fashion-MNIST test images (uint8, N×28×28×1) and labels."
    images, labels = load_splits()["test"]
    return images[:64], labels[:64]


@pytest.fixture(scope="module", params=SERVERS, ids=lambda s: f"{s[0]}-{s[1]}")
def server(request):
    "(framework, backend, base URL, start-up line) of a running server, one per framework and backend."
    framework, backend = request.param
    with running_server(RUNS[framework], backend) as (url, line):
        yield framework, backend, url, line


@pytest.fixture(scope="module")
def pytorch_server():
    "The reference PyTorch run served by PyTorch itself."
    with running_server(RUNS["pytorch"], "framework") as (url, _):
        yield url


@pytest.fixture(scope="module")
def reference_proba(test_set):
    "Each framework's own `predict_proba` on the test images, computed in a fresh process."
    code = ("import sys, json, numpy as np\n"
            "from cnn_tutorial.common.data import load_splits\n"
            "from cnn_tutorial.{fw}.inference import load_predictor\n"
            "x = load_splits()['test'][0][:64]\n"
            "print(json.dumps(load_predictor(sys.argv[1]).predict_proba(x).tolist()))")
    return {fw: np.array(json.loads(subprocess.run([str(Path(bin_path("python"))), "-c", code.format(fw=fw), str(run)],
                                                   capture_output=True, text=True, check=True, timeout=300).stdout))
            for fw, run in RUNS.items()}


def png(pixels) -> bytes:
    "A grey PNG file of `pixels`."
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(pixels, np.uint8).squeeze()).save(buffer, "PNG")
    return buffer.getvalue()


def bomb_png(side=30_000) -> bytes:
    "A PNG of a few hundred bytes whose header announces a `side`×`side` image."
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * (side + 1) * 8)) + chunk(b"IEND", b"")


def test_json_and_multipart_predictions(server, test_set, reference_proba):
    "JSON pixel arrays and PNG files give the framework's own classes and probabilities, with the class names."
    framework, backend, url, _ = server
    images, labels = test_set
    expected = reference_proba[framework]
    reply = httpx.post(f"{url}/predict", json={"images": images[..., 0].tolist()}, timeout=60)
    assert reply.status_code == 200, reply.text
    rows = reply.json()["predictions"]
    classes = reply.json()["classes"]
    assert [r["index"] for r in rows] == expected.argmax(1).tolist()
    assert [r["class"] for r in rows] == [classes[i] for i in expected.argmax(1)]
    np.testing.assert_allclose([r["probabilities"] for r in rows], expected, atol=1e-5)
    assert np.mean([r["index"] for r in rows] == labels) > 0.85
    files = [("images", (f"test_{i}.png", png(images[i]), "image/png")) for i in range(4)]
    reply = httpx.post(f"{url}/predict", files=files, timeout=60)
    assert reply.status_code == 200, reply.text
    assert [r["index"] for r in reply.json()["predictions"]] == expected.argmax(1)[:4].tolist()
    one = httpx.post(f"{url}/predict", json={"images": images[0, :, :, 0].tolist()}).json()["predictions"]
    assert len(one) == 1 and one[0]["index"] == expected[0].argmax()


def test_model_description(server):
    "/model names the framework, family, data set, classes, config, recorded accuracy, parameter count and checksum."
    framework, backend, url, line = server
    info = httpx.get(f"{url}/model").json()
    metrics = json.loads((RUNS[framework] / "metrics.json").read_text())
    assert (info["framework"], info["backend"], info["family"], info["dataset"]) == (framework, backend, "cnn", "fashion_mnist")
    assert info["classes"] == metrics["classes"] and info["config"] == TrainConfig.from_dict(metrics["config"]).to_dict()
    assert (info["test_accuracy"], info["parameter_count"]) == (metrics["test_accuracy"], 421_834)
    assert info["sha256"] == hashlib.sha256(CHECKPOINTS[framework].read_bytes()).hexdigest()
    assert line.startswith(f"cnn_serve: {framework} {CHECKPOINTS[framework].name} with {backend} on http://127.0.0.1:")


def test_docs_health_and_page(pytorch_server):
    "FastAPI's own /docs and /openapi.json, /health, and the page at /, which loads nothing from elsewhere."
    assert httpx.get(f"{pytorch_server}/health").json() == {"status": "ok"}
    assert "swagger" in httpx.get(f"{pytorch_server}/docs").text.lower()
    assert set(httpx.get(f"{pytorch_server}/openapi.json").json()["paths"]) == {"/health", "/model", "/predict"}
    page = httpx.get(f"{pytorch_server}/").text
    assert '<canvas id="pad"' in page and 'id="file"' in page
    assert "http://" not in page and "https://" not in page and "//cdn" not in page


def bad_requests(images):
    "(what is wrong, request keyword arguments, expected status, words the error must contain)."
    image = images[0, :, :, 0].tolist()
    return [
        ("not an image", {"files": [("images", ("notes.txt", b"plain text", "text/plain"))]}, 422, "notes.txt is not an image"),
        ("decompression bomb", {"files": [("images", ("bomb.png", bomb_png(), "image/png"))]}, 413, "pixels"),
        ("image too large", {"files": [("images", ("big.png", png(np.zeros((56, 56))), "image/png"))]}, 413, "56×56 pixels"),
        ("image too small", {"files": [("images", ("small.png", png(np.zeros((20, 20))), "image/png"))]}, 422, "20×20 pixels"),
        ("form, not multipart", {"data": {"images": "/etc/passwd"}}, 415, "multipart"),
        ("text field in a form", {"data": {"path": "/etc/passwd"}, "files": [("images", ("0.png", png(images[0]), "image/png"))]}, 422, "'path' is not a file"),
        ("body too large", {"content": b"[" + b"0," * (4 * 2**20) + b"0]", "headers": {"content-type": "application/json"}}, 413, "8,388,608"),
        ("too many images", {"json": {"images": [[[0] * 28] * 28] * 1025}}, 413, "1025 images"),
        ("too many files", {"files": [("images", (f"{i}.png", png(np.zeros((28, 28))), "image/png")) for i in range(1100)]}, 400, "Too many files"),
        ("wrong shape", {"json": {"images": [[0] * 32] * 32}}, 422, "must be shaped"),
        ("ragged", {"json": {"images": [image, image[:27]]}}, 422, "different shapes"),
        ("strings", {"json": {"images": ["/etc/passwd"]}}, 422, "numbers"),
        ("booleans", {"json": {"images": [[True] * 28] * 28}}, 422, "booleans"),
        ("out of range", {"json": {"images": [[256] * 28] * 28}}, 422, "[0, 255]"),
        ("negative", {"json": {"images": [[-1] * 28] * 28}}, 422, "[0, 255]"),
        ("wrong key", {"json": {"pixels": image}}, 422, '"images"'),
        ("not JSON", {"content": b"{images", "headers": {"content-type": "application/json"}}, 400, "not valid JSON"),
        ("nested too deeply", {"content": b"[" * 100_000 + b"]" * 100_000, "headers": {"content-type": "application/json"}}, 400, "nested too deeply"),
        ("other type", {"content": b"hello", "headers": {"content-type": "text/plain"}}, 415, "multipart"),
    ]


BAD_REQUESTS = [case[0] for case in bad_requests(np.zeros((1, 28, 28, 1), np.uint8))]


@pytest.mark.parametrize("what", BAD_REQUESTS)
def test_bad_input_is_refused_and_the_server_keeps_serving(what, pytorch_server, test_set):
    "Each kind of bad input gets a 4xx JSON reply naming the problem; the server then answers a good request."
    _, request, status, words = next(case for case in bad_requests(test_set[0]) if case[0] == what)
    started = time.perf_counter()
    reply = httpx.post(f"{pytorch_server}/predict", timeout=60, **request)
    assert (reply.status_code, what) == (status, what), reply.text
    message = reply.json().get("error") or reply.json().get("detail")
    assert words in message, (what, message)
    if what == "decompression bomb": assert time.perf_counter() - started < 2, "a bomb must be refused from its header"
    good = httpx.post(f"{pytorch_server}/predict", json={"images": test_set[0][0, :, :, 0].tolist()})
    assert good.status_code == 200 and len(good.json()["predictions"]) == 1


def test_unknown_paths_are_404_json_and_open_nothing(pytorch_server):
    "No path opens a file: unknown routes, traversal attempts and wrong methods get JSON errors."
    for path in ("/nope", "/static/../../../etc/passwd", "/..%2F..%2Fetc%2Fpasswd", "/model.pt"):
        reply = httpx.get(f"{pytorch_server}{path}")
        assert (reply.status_code, reply.json()) == (404, {"detail": "Not Found"}), path
    assert httpx.get(f"{pytorch_server}/predict").status_code == 405
    assert httpx.get(f"{pytorch_server}/health").json() == {"status": "ok"}


def test_serving_an_onnx_file(tmp_path, test_set, reference_proba):
    "An .onnx file from `cnn_export` serves with onnxruntime and gives its framework's classes; --backend framework is refused."
    onnx_file = tmp_path / "model.onnx"
    subprocess.run([bin_path("cnn_export"), str(RUNS["pytorch"]), "-o", str(onnx_file)], check=True, capture_output=True, timeout=300)
    with running_server(onnx_file, "onnxruntime") as (url, _):
        rows = httpx.post(f"{url}/predict", json={"images": test_set[0][..., 0].tolist()}, timeout=60).json()["predictions"]
        assert [r["index"] for r in rows] == reference_proba["pytorch"].argmax(1).tolist()
        assert httpx.get(f"{url}/model").json()["source_sha256"] == hashlib.sha256(CHECKPOINTS["pytorch"].read_bytes()).hexdigest()
    refused = subprocess.run([bin_path("cnn_serve"), str(onnx_file), "--backend", "framework"], capture_output=True, text=True, timeout=120)
    assert (refused.returncode, refused.stderr.strip()) == (2, f"cnn_serve: error: {onnx_file} is an ONNX file: serve it with --backend onnxruntime")


def test_bad_checkpoint_exits_2(tmp_path):
    "A missing checkpoint ends with a one-line message and exit code 2, before anything listens."
    result = subprocess.run([bin_path("cnn_serve"), str(tmp_path / "missing.pt")], capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stderr.strip()) == (2, f"cnn_serve: error: checkpoint not found: {tmp_path / 'missing.pt'}")


@pytest.fixture(scope="module")
def browser():
    "Headless Debian Chromium driven by Selenium through Debian's chromedriver."
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()): pytest.skip(f"Chromium is not installed ({CHROMIUM}, {CHROMEDRIVER})")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def shown_prediction(driver, source, timeout=30):
    "(class index, class name) the page shows once a prediction from `source` ('file' or 'drawing') has arrived."
    from selenium.webdriver.support.ui import WebDriverWait
    label = driver.find_element("id", "label")
    WebDriverWait(driver, timeout).until(lambda d: label.get_attribute("data-source") == source and label.get_attribute("data-index"))
    return int(label.get_attribute("data-index")), label.text


def test_page_predicts_a_dropped_file(browser, pytorch_server, test_set, reference_proba, tmp_path):
    "A real test image given to the page's file input shows the model's class and ten probability bars."
    from selenium.webdriver.support.ui import WebDriverWait
    browser.get(pytorch_server + "/")
    WebDriverWait(browser, 30).until(lambda d: len(d.find_elements("css selector", "#bars .bar")) == 10)
    image = tmp_path / "test_0.png"
    image.write_bytes(png(test_set[0][0]))
    browser.find_element("id", "file").send_keys(str(image))
    index, name = shown_prediction(browser, "file")
    classes = httpx.get(f"{pytorch_server}/model").json()["classes"]
    assert (index, name) == (reference_proba["pytorch"][0].argmax(), classes[reference_proba["pytorch"][0].argmax()])
    shown = browser.find_element("css selector", f"#bar-{index} .pct").text
    assert shown == f"{100 * reference_proba['pytorch'][0].max():.1f}%"
    assert "pytorch cnn on fashion_mnist" in browser.find_element("id", "model").text


def test_page_predicts_a_drawing(browser, pytorch_server):
    "Strokes drawn on the canvas with the mouse are downscaled to 28×28 and classified."
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import WebDriverWait
    browser.get(pytorch_server + "/")
    WebDriverWait(browser, 30).until(lambda d: len(d.find_elements("css selector", "#bars .bar")) == 10)
    pad = browser.find_element("id", "pad")
    actions = ActionChains(browser).move_to_element_with_offset(pad, -40, -100).click_and_hold()
    for dx, dy in ((0, 50), (0, 50), (0, 50), (0, 50)): actions.move_by_offset(dx, dy)
    actions.release().move_to_element_with_offset(pad, 40, -100).click_and_hold()
    for dx, dy in ((0, 50), (0, 50), (0, 50), (0, 50)): actions.move_by_offset(dx, dy)
    actions.release().perform()
    index, name = shown_prediction(browser, "drawing")
    classes = httpx.get(f"{pytorch_server}/model").json()["classes"]
    assert 0 <= index < 10 and name == classes[index]
    lit = browser.execute_script("const d = document.getElementById('preview').getContext('2d').getImageData(0, 0, 28, 28).data;"
                                 "let n = 0; for (let k = 0; k < d.length; k += 4) n += d[k] > 127; return n;")
    assert 40 < lit < 400, f"{lit} of 784 preview pixels are bright"


def test_load_benchmark_runs_and_reports(tmp_path):
    "benchmarks/serve_load.py, cut short, measures every load against a real server and writes both reports."
    result = subprocess.run([bin_path("python"), str(ROOT / "benchmarks" / "serve_load.py"), "--frameworks", "pytorch", "--backends",
                             "onnxruntime", "--seconds", "0.5", "--warmup", "0.2", "--batch", "8", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "serve.json").read_text())
    assert [r["load"] for r in report["results"]] == ["single", "batched", "batched_png"]
    assert all(r["failures"] == 0 and r["requests"] > 0 and r["p99_ms"] >= r["p50_ms"] > 0 for r in report["results"])
    assert (report["clients"], report["host"]) == (8, "127.0.0.1")
    assert "| pytorch | onnxruntime | 8 images, PNG |" in (tmp_path / "serve.md").read_text()
