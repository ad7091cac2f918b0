"""Screenshot of the `cnn_serve` web page, for the docs: a Fashion-MNIST test image dropped on it and its prediction.

    .venv/bin/python scripts/screenshot_serve.py            # writes nbs/images/serve_page.png
"""
from __future__ import annotations

import io
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

OUT = ROOT / "nbs" / "images" / "serve_page.png"


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
    server = subprocess.Popen([str(Path(sys.executable).parent / "cnn_serve"), str(ROOT / "artifacts" / "pytorch_cnn"), "--port", str(port)],
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
        print(f"wrote {OUT}: {driver.find_element('id', 'label').text}")
    finally:
        if driver: driver.quit()
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
