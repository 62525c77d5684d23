"""The inspection page in a real headless Chromium (Debian's `chromium`, driven by
Playwright's Python package; `make setup` installs the browser when it can)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_support import HOSTILE, beir, fill, fill_dataset, serving

from chromabridge.embedders import FakeEmbedder
from chromabridge.server import create_app

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (make setup)"),
]


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("browser")
    fill(root / "chroma")
    data = root / "data"
    fill_dataset(root / "chroma", beir(data), "eval-tiny")
    app = create_app(path=root / "chroma", embedder=FakeEmbedder(), data_dir=data)
    with serving(app) as address:
        yield address


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1280, "height": 800},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    page.close()
    assert not errors, errors


def shot(page: Any, tmp_path: Path, name: str) -> Path:
    """A screenshot in the test's folder; also copied to $CHROMABRIDGE_SCREENSHOTS when
    set (that is how docs/serve.png is made)."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    target = os.environ.get("CHROMABRIDGE_SCREENSHOTS")
    if target:
        shutil.copy(path, Path(target) / f"{name}.png")
    return path


def open_page(page: Any, address: str) -> None:
    page.goto(address)
    page.wait_for_selector("body[data-ready=true]")


def test_query_through_the_ui_shows_two_modes_side_by_side(
    page: Any, url: str, tmp_path: Path
) -> None:
    open_page(page, url + "/")
    assert page.locator("#collections button[data-name=docs]").is_visible()
    page.fill("#q", "hybrid search keyword vector")
    page.click("#run")
    page.wait_for_selector(".mode-col[data-mode=hybrid] .hit")
    columns = page.locator(".mode-col")
    assert [columns.nth(i).get_attribute("data-mode") for i in range(2)] == ["dense", "hybrid"]
    assert page.locator(".mode-col[data-mode=dense] .hit").count() == 5
    assert page.locator(".hit.shared").count() >= 2  # a hit both modes found, in both columns
    score = page.locator(".mode-col[data-mode=dense] .score").first.inner_text()
    assert float(score) > 0
    assert "modes=dense%2Chybrid" in page.url or "modes=dense,hybrid" in page.url
    shot(page, tmp_path, "serve")


def test_deep_link_opens_with_results(page: Any, url: str) -> None:
    open_page(page, url + "/?collection=docs&q=chunk%20overlap%20offsets&modes=dense,mmr")
    assert page.locator(".mode-col").count() == 2
    assert page.locator(".mode-col[data-mode=mmr] .hit").count() > 0
    first = page.locator(".mode-col[data-mode=dense] .hit .source").first.inner_text()
    assert first == "notes.txt"
    assert page.input_value("#q") == "chunk overlap offsets"


def test_filter_editor_applies_and_explains_a_filter(page: Any, url: str) -> None:
    where = "%7B%22source%22%3A%22faq.md%22%7D"  # {"source":"faq.md"}
    open_page(page, f"{url}/?collection=docs&q=collection%20embedder&modes=dense&where={where}")
    sources = page.locator(".hit .source").all_inner_texts()
    assert sources and set(sources) == {"faq.md"}
    assert "The filter removed" in page.inner_text("#removed")
    page.fill("#filter", '{"source": {"$bogus": 1}}')
    page.click("#run")
    page.wait_for_selector("#error:not([hidden])")
    assert "$bogus" in page.inner_text("#error")


def test_document_text_is_never_markup(page: Any, url: str, tmp_path: Path) -> None:
    open_page(page, url + "/?collection=docs&q=untrusted%20page%20text&modes=dense")
    assert page.evaluate("window.__pwned") is None
    texts = page.locator(".hit-text").all_inner_texts()
    assert any("<script>window.__pwned = 1</script>" in t for t in texts)
    page.click("#tab-documents")
    page.click("tr[data-doc='hostile.html']")
    page.wait_for_selector("#doc-view:not([hidden])")
    assert HOSTILE[:30] in page.inner_text("#doc-text").replace("▏", "")
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#doc-text script, #doc-text img").count() == 0


def test_document_browser_shows_chunk_boundaries(page: Any, url: str, tmp_path: Path) -> None:
    open_page(page, url + "/")
    page.click("#tab-documents")
    page.wait_for_selector("tr[data-doc='guide.md']")
    assert page.locator("tr.doc-row").count() == 4  # the docs collection, not eval-tiny
    page.click("tr[data-doc='guide.md']")
    page.wait_for_selector("#doc-text .chunk")
    chunks = page.locator("#doc-text .chunk")
    assert chunks.count() > 2
    assert page.locator("#doc-text .boundary").count() == chunks.count()
    assert page.locator("#doc-text mark.overlap").count() >= 1  # the chunker's overlap
    assert "Hybrid search fuses BM25" in page.inner_text("#doc-text")
    shot(page, tmp_path, "serve-documents")


def test_eval_chart_and_map_render(page: Any, url: str, tmp_path: Path) -> None:
    open_page(page, url + "/?collection=docs")
    page.click("#tab-map")
    page.wait_for_selector("#map svg circle")
    assert page.locator("#map svg circle").count() == page.evaluate(
        "fetch('/api/collections').then(r => r.json()).then(d => d.collections"
        ".find(c => c.name === 'docs').count)"
    )
    assert page.locator("#map-legend li").count() == 4
    page.locator("#map svg circle").first.hover()
    assert not page.locator("#tooltip").is_hidden()
    assert page.inner_text("#tooltip").strip()
    shot(page, tmp_path, "serve-map")

    page.click("#collections button[data-name=eval-tiny]")
    page.click("#tab-eval")
    page.wait_for_selector("#datasets option[value=tiny]", state="attached")
    assert page.input_value("#dataset") == "tiny"
    page.click("#eval-run")
    page.wait_for_selector("#eval-chart svg rect.bar", state="attached", timeout=30_000)
    assert page.locator("#eval-chart svg rect.bar").count() == 6  # 3 modes x 2 metrics
    assert page.locator("#eval-chart .legend .swatch").count() == 3
    heights = [
        float(h)
        for h in page.locator("#eval-chart rect.bar").evaluate_all(
            "bars => bars.map(b => b.getAttribute('height'))"
        )
    ]
    assert all(h > 0 for h in heights)  # the dataset is in the collection: every score > 0
    shot(page, tmp_path, "serve-eval")


def test_token_protected_server_asks_for_the_token(browser: Any, tmp_path: Path) -> None:
    fill(tmp_path / "chroma")
    app = create_app(path=tmp_path / "chroma", embedder=FakeEmbedder(), token="t0ken")
    with serving(app) as address:
        page = browser.new_page()  # a new tab: empty session storage
        open_page(page, address + "/")
        assert page.locator("#token-form").is_visible()
        assert page.locator("#collections li").count() == 0
        page.fill("#token", "t0ken")
        page.click("#token-form button")
        page.wait_for_selector("#collections button[data-name=docs]")
        linked = browser.new_page()
        open_page(linked, address + "/?collection=docs&q=overlap&modes=dense#token=t0ken")
        assert linked.locator(".mode-col[data-mode=dense] .hit").count() > 0
        page.close()
        linked.close()
