"""The explorer's Export links download the current filter (Chromium, real gateway)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from relayscope.testing import dataset as ds

from .browsing import Pages

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def gateway(gateway_process):
    """A gateway process: Chromium reaches the dashboard by its URL."""
    return gateway_process


@pytest.fixture(scope="module")
def seeded(gateway):
    org = gateway.new_org()
    records = ds.dataset(org.org_id)
    ds.insert(gateway.database_url, records)
    return org, records


@pytest.fixture
def page(pages: Pages, seeded) -> Page:
    return pages.signed_in(seeded[0].key, accept_downloads=True)


def _download(page: Page, link: str) -> tuple[str, str]:
    with page.expect_download() as info:
        page.click(link)
    download = info.value
    return download.suggested_filename, Path(download.path()).read_text()


def test_export_downloads_the_filtered_requests(page, gateway, seeded):
    _org, records = seeded
    carol = sorted((r for r in records if r.user_id == "carol"), key=lambda r: (r.created_at, r.id))
    page.fill("input[name=user_id]", "carol")
    page.click("#filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"user_id\.is=carol"))

    name, text = _download(page, "#export-csv")
    assert name.startswith("requests-") and name.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["id"] for row in rows] == [r.id for r in reversed(carol)]
    assert {row["user_id"] for row in rows} == {"carol"}

    name, text = _download(page, "#export-jsonl")
    assert name.endswith(".jsonl")
    assert [json.loads(line)["id"] for line in text.splitlines()] == [r.id for r in reversed(carol)]


def test_a_bad_export_format_is_the_invalid_page(page, gateway):
    response = page.goto(f"{gateway.url}/dashboard/requests/export?format=xlsx")
    assert response is not None and response.status == 400
    expect(page.locator(".error")).to_contain_text("format")
