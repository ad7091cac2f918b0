"""Screenshot of the `cnn_serve` web page, for the docs: a Fashion-MNIST test image dropped on it and its prediction.

    .venv/bin/python scripts/screenshot_serve.py            # writes nbs/images/serve_page.png and serve_page.json

`serve_page.json` records what the screenshot shows (the page's model line and prediction), the SHA-256 of the
screenshot and of the checkpoint served, the commit and the date: the serving page checks them against the
committed run, so a screenshot of other weights cannot stay on the page unnoticed.
"""
from __future__ import annotations

import datetime
import io
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from cnn_tutorial.common.data import load_splits  # noqa: E402
from cnn_tutorial.common.onnx import file_sha256  # noqa: E402
from cnn_tutorial.common.utils import write_json  # noqa: E402

RUN = ROOT / "artifacts" / "pytorch_cnn"
OUT = ROOT / "nbs" / "images" / "serve_page.png"
RECORD = OUT.with_suffix(".json")


def git_commit() -> str | None:
    "The repository's commit, marked `+changes` when its tracked files differ from it."
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    try: return git("rev-parse", "--short", "HEAD") + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.CalledProcessError): return None


def free_port() -> int:
    "A TCP port nothing listens on, on the loopback address."
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium():
    "Headless Debian Chromium driven by Selenium."
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1120,640", "--hide-scrollbars"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def main(image_index: int = 0) -> int:
    "Serve the reference PyTorch run, drop test image `image_index` on the page and save the screenshot."
    from selenium.webdriver.support.ui import WebDriverWait
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "cnn_serve"), str(RUN), "--port", str(port)],
                              stdout=subprocess.DEVNULL)
    driver = None
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200: break
            except httpx.TransportError: time.sleep(0.5)
        driver = chromium()
        driver.get(f"http://127.0.0.1:{port}/")
        WebDriverWait(driver, 30).until(lambda d: len(d.find_elements("css selector", "#bars .bar")) == 10)
        with tempfile.TemporaryDirectory() as d:
            image = Path(d) / f"test_{image_index}.png"
            Image.fromarray(load_splits()["test"][0][image_index, :, :, 0]).save(image)
            driver.find_element("id", "file").send_keys(str(image))
            WebDriverWait(driver, 30).until(lambda d: d.find_element("id", "label").get_attribute("data-index"))
        OUT.parent.mkdir(parents=True, exist_ok=True)
        Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB").save(OUT, optimize=True)
        shown = {"model": driver.find_element("id", "model").text, "label": driver.find_element("id", "label").text}
        write_json(RECORD, dict(shown=shown, image_index=image_index, screenshot_sha256=file_sha256(OUT),
                                checkpoint=str((RUN / "model.pt").relative_to(ROOT)), checkpoint_sha256=file_sha256(RUN / "model.pt"),
                                commit=git_commit(), date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")))
        print(f"wrote {OUT} and {RECORD.name}: {shown}")
    finally:
        if driver: driver.quit()
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
