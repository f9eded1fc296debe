"""The report intake's two limits: one page repeating one report spends its own allowance first."""

import asyncio

from litestar.stores.memory import MemoryStore

from governance.enforcement import intake
from governance.enforcement.intake import ReportLimits, page_origin


def admit_many(limits, count, **report):
    async def go():
        return [await limits.admit(**report) for _ in range(count)]

    return asyncio.run(go())


def test_a_page_repeating_one_report_does_not_spend_its_clients_allowance(monkeypatch):
    monkeypatch.setattr(intake, "now", lambda: 1_800_000_000.0)  # inside one window
    limits = ReportLimits(MemoryStore(), per_item=3, per_client=6)
    flood = {"client": "10.0.0.1", "origin": "https://a.example", "kind": "local_storage", "name": "loop"}

    refused = admit_many(limits, 10, **flood)
    other_page = admit_many(limits, 2, **{**flood, "origin": "https://b.example", "name": "other"})

    assert [r is None for r in refused] == [True] * 3 + [False] * 7 and {r.rule for r in refused[3:]} == {"item"}
    assert other_page == [None, None]  # the same client, another page: still heard
    inventing = admit_many(limits, 2, **{**flood, "name": "invented"})
    assert inventing[0] is None and inventing[1].rule == "client"  # 3 + 2 + 1 = 6 spent, then the client limit


def test_a_new_window_starts_afresh(monkeypatch):
    clock = {"now": 1_800_000_000.0}
    monkeypatch.setattr(intake, "now", lambda: clock["now"])
    limits = ReportLimits(MemoryStore(), per_item=1, per_client=10)
    report = {"client": "c", "origin": "https://a.example", "kind": "cookie", "name": "x"}

    first = admit_many(limits, 2, **report)
    clock["now"] += intake.WINDOW_SECONDS
    later = admit_many(limits, 1, **report)

    assert first[0] is None and first[1].rule == "item" and 1 <= first[1].retry_after <= 60
    assert later == [None]


def test_the_page_origin_is_scheme_and_host_only():
    assert page_origin("https://App.MailSsetu.in:8443/pricing?x=1#y") == "https://app.mailssetu.in:8443"
    assert page_origin("not a url") == "" and page_origin("http://[::1") == ""
