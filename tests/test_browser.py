"""What a user sees: a real `tensorboard` process serving a tiny run, opened in headless Chromium.

Chromium is driven through chromedriver's W3C WebDriver HTTP API with urllib (a dozen lines), so the
test needs no Python dependency beyond the standard library; it needs the Debian packages `chromium`
and `chromium-driver` and is skipped where they are missing. TensorBoard's dashboards live in shadow
DOMs, so page text is collected by a script that walks them. Screenshots land in `<tmp>/screens` and
are copied to /tmp/litlab_screens/ for a person to look at.
"""

import base64
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from conftest import accumulator, fit_and_test, free_port, http, tensorboard_serving, wait_until

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SCREENS_COPY = Path("/tmp/litlab_screens")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="needs Chromium and chromedriver: apt-get install -y chromium chromium-driver",
    ),
]

# Text of every visible node, through shadow roots and same-origin iframes, plus the images' loaded sizes.
PAGE_JS = """
const skip = new Set(["STYLE", "SCRIPT", "TEMPLATE", "NOSCRIPT"]);
const texts = [], images = [];
function walk(node) {
  if (skip.has(node.tagName)) return;
  if (node.tagName === "IMG") images.push([node.naturalWidth, node.naturalHeight]);
  if (node.shadowRoot) walk(node.shadowRoot);
  if (node.tagName === "IFRAME" && node.contentDocument) walk(node.contentDocument.body);
  for (const child of node.childNodes) {
    if (child.nodeType === Node.TEXT_NODE && child.textContent.trim()) texts.push(child.textContent.trim());
    else if (child.nodeType === Node.ELEMENT_NODE || child.nodeType === Node.DOCUMENT_FRAGMENT_NODE) walk(child);
  }
}
walk(document.body);
return {text: texts.join(" | "), images: images};
"""

# Set the checkboxes labelled with one of arguments[0] to arguments[1]; returns the labels it changed.
CHECKBOX_JS = """
const labels = new Set(arguments[0]), state = arguments[1], changed = [];
function walk(node) {
  if (node.shadowRoot) walk(node.shadowRoot);
  for (const child of node.children || []) {
    if (child.tagName === "PAPER-CHECKBOX" && labels.has(child.textContent.trim()) && child.checked !== state) {
      child.click();
      changed.push(child.textContent.trim());
    }
    walk(child);
  }
}
walk(document.body);
return changed;
"""

# The labels of every checked checkbox on the page, through shadow roots.
CHECKED_JS = """
const checked = [];
function walk(node) {
  if (node.shadowRoot) walk(node.shadowRoot);
  for (const child of node.children || []) {
    if (child.tagName === "PAPER-CHECKBOX" && child.checked) checked.push(child.textContent.trim());
    walk(child);
  }
}
walk(document.body);
return checked;
"""


class Browser:
    """One headless Chromium session through chromedriver's W3C WebDriver endpoints."""

    def __init__(self, driver_url: str, profile: Path) -> None:
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        args += [
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--window-size=1920,1080",
        ]
        options = {"binary": CHROMIUM, "args": args}
        capabilities = {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}
        session = http(f"{driver_url}/session", "POST", {"capabilities": capabilities})["value"]
        self.url = f"{driver_url}/session/{session['sessionId']}"

    def open(self, url: str) -> None:
        http(f"{self.url}/url", "POST", {"url": "about:blank"})  # a hash-only change would not reload the app
        http(f"{self.url}/url", "POST", {"url": url})

    def run(self, script: str, *args: Any) -> Any:
        return http(f"{self.url}/execute/sync", "POST", {"script": script, "args": list(args)})["value"]

    def page_with(self, needles: list[str], timeout: float = 60) -> dict[str, Any]:
        """The page once every needle is in its text; on timeout, says which were missing."""
        page: dict[str, Any] = {"text": ""}

        def ready() -> bool:
            page.update(self.run(PAGE_JS))
            return all(needle in page["text"] for needle in needles)

        try:
            wait_until(ready, timeout, "the page")
        except TimeoutError:
            missing = [needle for needle in needles if needle not in page["text"]]
            pytest.fail(f"missing from the page after {timeout} s: {missing}\npage text: {page['text'][-3000:]}")
        return page

    def screenshot(self, path: Path, settle: float = 3.0) -> None:
        time.sleep(settle)  # charts and images draw after their data arrives
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(http(f"{self.url}/screenshot")["value"]))
        SCREENS_COPY.mkdir(exist_ok=True)
        shutil.copy(path, SCREENS_COPY / path.name)

    def close(self) -> None:
        http(self.url, "DELETE")


def tensorboard_number(value: float) -> str:
    """How the HParams table prints a number: JavaScript's toPrecision(5), which rounds ties up."""
    exact = Decimal(float(value))  # the double's exact value, as JavaScript sees it
    return str(exact.quantize(Decimal(1).scaleb(exact.adjusted() - 4), rounding=ROUND_HALF_UP))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A finished fit + test under a tmp log folder, served by `tensorboard` on a free local port."""
    root = tmp_path_factory.mktemp("browser")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        fit_dir, test_dir = fit_and_test(root / "logs")
    with tensorboard_serving(root / "logs") as url:
        # fit and test share one run folder, so TensorBoard lists exactly one run
        wait_until(lambda: set(http(f"{url}/data/runs", timeout=5)) == {"synthetic_mlp/version_0"}, 90, "the run")
        yield {"url": url, "fit": fit_dir, "test": test_dir, "screens": root / "screens"}


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    port = free_port()
    driver = subprocess.Popen([CHROMEDRIVER, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    driver_url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http(f"{driver_url}/status", timeout=5)["value"]["ready"], 30, "chromedriver")
        session = Browser(driver_url, tmp_path_factory.mktemp("chromium-profile"))
        yield session
        session.close()
    finally:
        driver.terminate()
        driver.wait(timeout=30)


def test_scalars_tab(served: dict, browser: Browser) -> None:
    browser.open(f"{served['url']}/#scalars&tagFilter={quote('^(train|val|test)/acc(_best)?$|^time/', safe='')}")
    needles = ["synthetic_mlp/version_0", "val/acc", "val/acc_best", "train/acc", "test/acc"]
    browser.page_with(needles + ["time/epoch_s", "time/train_images_per_s"])
    # With two points per curve, outlier-robust scaling leaves the y axis at [0, 1] and the time curves off-chart.
    assert browser.run(CHECKBOX_JS, ["Ignore outliers in chart scaling"], False) == ["Ignore outliers in chart scaling"]
    browser.screenshot(served["screens"] / "scalars.png")


def test_images_tab(served: dict, browser: Browser) -> None:
    browser.open(f"{served['url']}/#images&tagFilter=.")
    tags = ["train/samples", "val/confusion_matrix", "test/confusion_matrix", "test/per_class"]
    page = browser.page_with([*tags, "test/worst_misclassified", "test/roc_curves", "test/reliability_diagram"])
    wait_until(lambda: sum(w > 0 for w, _ in browser.run(PAGE_JS)["images"]) >= 5, 30, "the images to load")
    assert all(w > 0 and h > 0 for w, h in browser.run(PAGE_JS)["images"]), page["images"]
    browser.screenshot(served["screens"] / "images.png")


def test_hparams_tab(served: dict, browser: Browser) -> None:
    browser.open(f"{served['url']}/#hparams")
    browser.page_with(["Trial ID", "synthetic_mlp/version_0", "model/optimizer/lr", "val/acc_best", "test/acc"])
    # TensorBoard shows the first five hparams and metrics; show the ones a comparison is about instead.
    shown = ["model/backbone", "model/optimizer", "model/optimizer/lr", "trainer/max_epochs", "val/acc_best"]
    shown += ["test/acc", "test/f1"]
    checked = browser.run(CHECKED_JS)
    assert len(checked) >= 5, checked
    hidden = [label for label in checked if label not in shown and label != "Ignore outliers in chart scaling"]
    assert set(browser.run(CHECKBOX_JS, hidden, False)) == set(hidden)
    browser.run(CHECKBOX_JS, shown, True)
    assert set(shown) <= set(browser.run(CHECKED_JS)), browser.run(CHECKED_JS)
    test_metrics = json.loads((served["test"] / "test_metrics.json").read_text())["metrics"]
    best = accumulator(served["fit"]).Scalars("val/acc_best")[-1].value
    values = [tensorboard_number(v) for v in (best, test_metrics["test/acc"], test_metrics["test/f1"], 0.001, 2)]
    page = browser.page_with([*values, "MLP", "AdamW"])
    table = page["text"][page["text"].index("Trial ID") :]
    assert "version_1" not in table  # litlab test logged into the training run: its metrics share that row
    browser.screenshot(served["screens"] / "hparams.png")


def test_pr_curves_tab(served: dict, browser: Browser) -> None:
    browser.open(f"{served['url']}/#pr_curves&tagFilter={quote('class_[01]$', safe='')}")
    browser.page_with(["test/pr_curve/class_0", "test/pr_curve/class_1", "synthetic_mlp/version_0"])
    browser.screenshot(served["screens"] / "pr_curves.png")
