"""The sessions pages for daily work, on sessions made by real traffic (the openai SDK
through the gateway with Helicone-Session-Id, -Path and -Name): the session's name is
its link, the tree folds (by mouse and by keyboard), every step shows its input and
output inline, escaped and cut with a way to see all, and the timeline reads as
step names against offsets from the session's start."""

from __future__ import annotations

import itertools
import re
import uuid

import openai
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from relayscope.testing.orgs import OrgKey, wait_for_record

from .browsing import Pages, shot

# What the browser shows here does not depend on the store (its reads run on every
# backend in the API and in-process dashboard tests): one backend is enough.
pytestmark = [pytest.mark.browser, pytest.mark.any_store]

MARKUP = 'Plan a trip to <b id="injected">Lisbon</b> & Porto <script>window.owned=1</script>'
LONG = "Compare these flights: " + " ".join(f"option {i} leaves at {i}:00" for i in range(60))
LONG_END = "option 59 leaves at 59:00"
STEPS = [
    # (session path, request name, user message)
    ("/plan", "outline", MARKUP),
    ("/plan/search", "search flights", LONG),
    ("/plan/search", "search hotels", "Hotels near the river"),
    ("/answer", "final answer", "Write the itinerary"),
]


@pytest.fixture(scope="module")
def gateway(gateway_process):
    """A gateway process: Chromium reaches the dashboard by its URL."""
    return gateway_process


@pytest.fixture(scope="module")
def traffic(gateway) -> tuple[OrgKey, str]:
    """One named session of four steps, sent with the openai SDK."""
    org = gateway.new_org()
    session_id = f"trip-{uuid.uuid4()}"
    ids = []
    with openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        api_key="sk-provider-sessions",
        default_headers=org.auth,
        max_retries=0,
    ) as sdk:
        for path, name, text in STEPS:
            sent = sdk.chat.completions.with_raw_response.create(
                model="gpt-4o-mini",
                messages=[
                    {"role": "system", "content": "You plan trips."},
                    {"role": "user", "content": text},
                ],
                extra_headers={
                    "Helicone-Session-Id": session_id,
                    "Helicone-Session-Path": path,
                    "Helicone-Session-Name": "Trip planner",
                    "Helicone-Request-Name": name,
                    "x-fake-delay-ms": "30",
                },
            )
            ids.append(sent.headers["helicone-id"])
    for request_id in ids:
        wait_for_record(gateway, org, request_id)
    return org, session_id


@pytest.fixture
def page(pages: Pages, traffic) -> Page:
    return pages.signed_in(traffic[0].key)


def _serious(page: Page) -> list[str]:
    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']}: {v['nodes'][0]['target']}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def _step(page: Page, name: str):
    return page.locator("#session-tree li.step", has=page.locator(".step-name", has_text=name))


def test_the_sessions_list_links_the_name_and_shows_the_id_beside_it(page, gateway, traffic):
    _org, session_id = traffic
    page.goto(f"{gateway.url}/dashboard/sessions")
    row = page.locator("#sessions-table tbody tr")
    expect(row).to_have_count(1)
    link = row.locator("a.session-name")
    expect(link).to_have_text("Trip planner")
    expect(row.locator(".session-id")).to_have_text(session_id)
    assert row.locator("a").count() == 1  # the id is secondary text, not a second link
    assert _serious(page) == []
    shot(page, "sessions-list")
    link.click()
    expect(page).to_have_url(re.compile(rf"/dashboard/sessions/{session_id}$"))
    expect(page.locator("h1")).to_contain_text("Trip planner")


def test_the_tree_folds_by_mouse_and_by_keyboard(page, gateway, traffic):
    _org, session_id = traffic
    page.goto(f"{gateway.url}/dashboard/sessions/{session_id}")
    plan = page.locator('#session-tree details[data-path="/plan"]')
    flights = _step(page, "search flights")
    expect(flights).to_be_visible()
    plan.locator(":scope > summary").click()
    expect(flights).to_be_hidden()
    expect(_step(page, "outline")).to_be_hidden()
    expect(_step(page, "final answer")).to_be_visible()  # a sibling branch stays open

    # the keyboard alone: Tab reaches the summary, Enter opens it again
    search = page.locator('#session-tree details[data-path="/plan/search"] > summary')
    page.locator('#session-tree details[data-path="/plan"] > summary').focus()
    page.keyboard.press("Enter")
    expect(flights).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator(".step-name", has_text="outline")).to_be_focused()
    search.focus()
    page.keyboard.press("Space")
    expect(flights).to_be_hidden()
    expect(_step(page, "outline")).to_be_visible()


def test_each_step_shows_its_input_and_output_escaped_and_cut(page, gateway, traffic):
    _org, session_id = traffic
    page.goto(f"{gateway.url}/dashboard/sessions/{session_id}")
    outline = _step(page, "outline")
    expect(outline.locator(".io-in .io-preview")).to_have_text(MARKUP)
    expect(outline.locator(".io-out .io-preview")).to_have_text(f"Echo: {MARKUP}")
    # the markup is text: no element from it, no script run
    assert page.locator("#injected").count() == 0
    assert page.evaluate("window.owned") is None

    hotels = _step(page, "search hotels")
    expect(hotels.locator(".io-in .io-preview")).to_have_text("Hotels near the river")
    expect(hotels.locator(".io-out .io-preview")).to_have_text("Echo: Hotels near the river")
    assert hotels.locator(".io-all").count() == 0  # nothing left to show

    flights = _step(page, "search flights").locator(".io-in")
    preview = flights.locator(".io-preview").inner_text()
    assert preview.startswith("Compare these flights") and preview.endswith("…")
    assert LONG_END not in preview
    full = flights.locator(".io-full")
    expect(full).to_be_hidden()
    flights.locator(".io-all > summary").click()
    expect(full).to_be_visible()
    expect(full).to_have_text(LONG)
    assert _serious(page) == []
    shot(page, "session-steps")


def test_the_timeline_names_steps_and_ticks_offsets_from_the_start(page, gateway, traffic):
    _org, session_id = traffic
    page.goto(f"{gateway.url}/dashboard/sessions/{session_id}")
    timeline = page.locator("#timeline")
    labels = timeline.locator("text.label").all_text_contents()
    assert labels == [name for _path, name, _text in STEPS]
    ticks = timeline.locator("g.tick text").all_text_contents()
    assert ticks[0] == "0" and len(ticks) >= 3, ticks
    readable = re.compile(r"^\d+(\.\d+)? (ms|s)$|^\d+ min( \d+ s)?$")
    assert all(readable.match(t) for t in ticks[1:]), ticks
    expect(timeline).to_contain_text("time since the session started")
    # as large on screen as the page's small print (the SVG is not shrunk to a thumbnail)
    for text in (timeline.locator("text.label").first, timeline.locator("g.tick text").nth(1)):
        box = text.bounding_box()
        assert box is not None and box["height"] >= 11, box

    # the ticks stand in order, apart from each other, and the bars start in step order
    boxes = [timeline.locator("g.tick text").nth(i).bounding_box() for i in range(len(ticks))]
    for left, right in itertools.pairwise(boxes):
        assert left is not None and right is not None
        assert left["x"] + left["width"] < right["x"], (ticks, boxes)
    bars = [timeline.locator("rect.bar").nth(i).bounding_box() for i in range(len(STEPS))]
    starts = [b["x"] for b in bars if b is not None]
    assert starts == sorted(starts) and len(starts) == len(STEPS)
    title = timeline.locator("rect.bar").nth(1).locator("title").text_content() or ""
    assert title.startswith("search flights (/plan/search)") and "starts at +" in title
    shot(page, "session-timeline")
