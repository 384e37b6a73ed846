"""The IDE works offline: GraphiQL served by the API itself, pre-filled for the demo.

The page and its assets are checked in process; a headless Chromium (Debian's package, driven
through chromedriver) then loads the page from a served API with every host but loopback
unresolvable, runs `{ viewer { kind } }` with a pasted token and reads the answer.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from api.app import Services, create_app
from api.ide import ASSETS_PATH, STATIC
from api.ide.examples import parse_examples, readme_examples
from api.ids import decode_global_id
from api.settings import Settings
from api.tokens import mint_user_token
from db.seed.demo import DemoIds
from tests.conftest import ALL_TABLES, StatementLog
from tests.core.served import Served, serve

DEV = Settings(MEDSPA_ENV="dev")  # type: ignore[call-arg]
CONFIG = re.compile(r'<script id="ide-config" type="application/json">(.*?)</script>', re.DOTALL)
BROWSER_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Offline: any name but loopback fails to resolve, so a CDN reference could not load.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)


async def _client(services: Services, settings: Settings) -> httpx.AsyncClient:
    app = create_app(settings, services=services)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
async def dev_client(services: Services, demo: DemoIds) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(services, DEV) as http:
        yield http


def _config(page: str) -> dict[str, Any]:
    match = CONFIG.search(page)
    assert match is not None
    config: dict[str, Any] = json.loads(match.group(1))
    return config


async def test_the_page_loads_only_its_own_assets(dev_client: httpx.AsyncClient) -> None:
    page = await dev_client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(sources) == 5  # GraphiQL's script and style, React, ReactDOM, the page's script
    for source in sources:
        assert source.startswith(f"{ASSETS_PATH}/"), source
        asset = await dev_client.get(source)
        assert asset.status_code == 200, source
        assert len(asset.content) > 100
    # Each vendored package ships with its licence.
    for package in ("graphiql", "react", "react-dom"):
        assert "MIT License" in (STATIC / "vendor" / package / "LICENSE").read_text()


async def test_the_tabs_are_the_readme_examples_with_ids_and_token_hints(
    dev_client: httpx.AsyncClient, demo: DemoIds
) -> None:
    config = _config((await dev_client.get("/graphql", headers={"Accept": "text/html"})).text)
    tabs = config["tabs"]
    examples = readme_examples()
    assert len(tabs) == len(examples) + 1  # the welcome tab first
    assert "medspa-api token" in tabs[0]["query"]
    nina = str(demo.providers["nina@glow.example"])
    masquerade = next(t for t in tabs if "startMasquerade" in t["query"])
    assert "<NINA_PROVIDER_ID>" not in masquerade["query"]
    given = re.search(r'providerId: "([^"]+)"', masquerade["query"])
    assert given is not None and str(decode_global_id(given.group(1))[1]) == nina  # type: ignore[index]
    for tab, example in zip(tabs[1:], examples, strict=True):
        headers = json.loads(tab["headers"])
        if example.caller is None:
            assert "Authorization" not in headers
        else:
            assert f".venv/bin/medspa-api token {example.caller}" in headers["Authorization"]


async def test_a_shared_link_opens_one_tab_with_its_text(dev_client: httpx.AsyncClient) -> None:
    hostile = '{"X": "</script>"}'
    query = urllib.parse.urlencode({"query": "{ viewer { kind } }", "headers": hostile})
    page = await dev_client.get(f"/graphql?{query}", headers={"Accept": "text/html"})
    config = _config(page.text)
    assert config["tabs"] == [{"query": "{ viewer { kind } }", "variables": "", "headers": hostile}]
    assert page.text.count("</script>") == 5  # the headers' text did not close an element


async def test_outside_development_there_is_no_ide(services: Services, demo: DemoIds) -> None:
    async with await _client(services, Settings(MEDSPA_ENV="test")) as http:  # type: ignore[call-arg]
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        assert "graphiql" not in page.text.lower()
        asset = await http.get(f"{ASSETS_PATH}/vendor/graphiql/graphiql.min.js")
        assert asset.status_code == 404


async def test_posts_still_reach_graphql_in_development(dev_client: httpx.AsyncClient) -> None:
    answer = await dev_client.post("/graphql", json={"query": "{ viewer { kind } }"})
    assert answer.json()["data"] == {"viewer": {"kind": "ANONYMOUS"}}
    assert "errors" not in answer.json()


def test_a_readme_example_without_its_caller_is_refused() -> None:
    with pytest.raises(ValueError, match="must start with its caller"):
        parse_examples("```graphql\n{ viewer { kind } }\n```\n")
    [example] = parse_examples(
        "```graphql\n# As dana@glow.example, X-Dashboard: PROVIDER: her own\n{ a }\n```\n"
    )
    assert example.caller == "dana@glow.example"
    assert example.headers == {"X-Dashboard": "PROVIDER"}
    assert example.title == "her own"


# --- in a real browser ----------------------------------------------------------------------


def _browser_binaries() -> tuple[str, str]:
    """Debian's chromium and chromedriver, installed with apt-get when missing (as root)."""
    found = shutil.which("chromium"), shutil.which("chromedriver")
    if all(found):
        return found  # type: ignore[return-value]
    apt = shutil.which("apt-get")
    if apt is None:
        pytest.skip("chromium is missing and there is no apt-get to install it")
    try:
        subprocess.run([apt, "update", "-qq"], check=True, capture_output=True, timeout=600)  # noqa: S603
        subprocess.run(  # noqa: S603
            [apt, "install", "-y", "-qq", "--no-install-recommends", "chromium", "chromium-driver"],
            check=True,
            capture_output=True,
            timeout=900,
            env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, PermissionError) as exc:
        pytest.skip(f"chromium could not be installed: {exc}")
    found = shutil.which("chromium"), shutil.which("chromedriver")
    if not all(found):
        pytest.skip("chromium or chromedriver still missing after apt-get install")
    return found  # type: ignore[return-value]


@pytest.fixture
def browser() -> Iterator[Any]:
    chromium, chromedriver = _browser_binaries()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="ide-test-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in (*BROWSER_FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
        try:
            yield driver
        finally:
            driver.quit()


@pytest.fixture
async def served(
    database_url: str, demo: DemoIds, statement_log: StatementLog
) -> AsyncIterator[Served]:
    try:
        with serve(database_url) as running:
            yield running
    finally:
        statement_log.written.add(ALL_TABLES)


async def test_the_browser_runs_a_query_with_a_pasted_token(
    browser: Any, served: Served, demo: DemoIds
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.wait import WebDriverWait

    token = mint_user_token(DEV, user_id=demo.users["nina@glow.example"], ttl=timedelta(minutes=5))
    link = urllib.parse.urlencode(
        {
            "query": "{ viewer { kind } }",
            "headers": json.dumps({"Authorization": f"Bearer {token}"}),
        }
    )
    browser.get(f"{served.url}/graphql?{link}")
    wait = WebDriverWait(browser, 60)
    wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, ".graphiql-execute-button")))
    browser.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()
    wait.until(
        lambda b: '"kind"' in b.find_element(By.CSS_SELECTOR, ".result-window").text  # type: ignore[no-any-return]
    )
    answer = browser.find_element(By.CSS_SELECTOR, ".result-window").text
    assert '"kind": "USER"' in answer, answer
    # Everything the page loaded came from the API itself.
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert loaded, "the page loaded its scripts"
    assert all(url.startswith(served.url) for url in loaded), loaded
