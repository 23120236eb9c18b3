"""Language, number formats, paging headers, problem documents and safe redirects."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from api import i18n
from api.errors import problem_openapi
from api.routes.inventory import _matches
from api.routes.login import safe_next


def test_vietnamese_first_with_english() -> None:
    assert i18n.text("incidents") == "Sự cố" and i18n.text("incidents", "en") == "Incidents"
    assert i18n.number(1234.5, "vi", 1) == "1.234,5" and i18n.number(1234.5, "en", 1) == "1,234.5"
    assert i18n.local_time(1767225600, ZoneInfo("Asia/Ho_Chi_Minh")) == "07:00:00 01/01/2026"


def test_search_ignores_diacritics() -> None:
    assert _matches("hong bang", "11311", "Phường Hồng Bàng")
    assert _matches("11311", "11311", "Phường Hồng Bàng")
    assert not _matches("do son", "11311", "Phường Hồng Bàng")


def test_redirects_stay_on_site() -> None:
    assert safe_next("/coordinator") == "/coordinator"
    for bad in ("//evil.example", "https://evil.example", "", None, "/\\evil"):
        assert safe_next(bad) == "/"


def test_error_responses_documented_as_problem_json() -> None:
    schema = {
        "paths": {
            "/x": {
                "get": {
                    "responses": {
                        "200": {"content": {"application/json": {}}},
                        "404": {"content": {"application/json": {"s": 1}}},
                    }
                }
            }
        }
    }
    out = problem_openapi(schema)["paths"]["/x"]["get"]["responses"]
    assert "application/json" in out["200"]["content"]
    assert out["404"]["content"] == {"application/problem+json": {"s": 1}}


def test_typhoon_banner_reads_the_active_declaration() -> None:
    from types import SimpleNamespace

    from trucban.web import TyphoonBanner, typhoon_banner

    decl = SimpleNamespace(
        name="Yagi", communes=("11311",), declared_at=1767225600, summary={"text": "2 BTS"}
    )
    banner = TyphoonBanner(SimpleNamespace(active=lambda now: decl))
    assert banner.current() == {
        "name": "Yagi",
        "communes": ["11311"],
        "declared_at": 1767225600,
        "digest": "2 BTS",
    }
    assert TyphoonBanner(SimpleNamespace(active=lambda now: None)).current() is None
    assert typhoon_banner(None) is None
