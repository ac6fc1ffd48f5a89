"""docs/alerts.md documents every alert setting and API route."""

from pathlib import Path

from relayscope.alerts import api as alerts_api
from relayscope.config import reference
from relayscope.webhooks import api as webhooks_api

DOC = (Path(__file__).parents[2] / "docs" / "alerts.md").read_text()


def test_every_alert_setting_is_documented():
    names = [name for name, _value, _help in reference() if name.startswith("RELAYSCOPE_ALERTS_")]
    assert len(names) >= 10
    assert [n for n in names if f"`{n}`" not in DOC] == []


def test_every_route_is_in_the_api_reference():
    for route in [*alerts_api.routes, *webhooks_api.routes]:
        for method in route.methods - {"HEAD"}:
            assert f"`{method} {route.path}`" in DOC, (method, route.path)
