"""The declarations of the seed cookie policy, as the enforcement tests use them."""

from policy_docs.schemas import Declaration, Duration

THIRTY_DAYS = Duration(kind="seconds", text="30 days / until sign-out", seconds=30 * 24 * 3600)


def cookie(name: str, **attributes) -> Declaration:
    values = {
        "kind": "cookie",
        "name": name,
        "category": "strictly necessary",
        "duration": THIRTY_DAYS,
        "purpose": "test",
    }
    values.update(attributes)
    return Declaration(**values)


def storage(kind: str, name: str, match: str = "exact") -> Declaration:
    persistent = Duration(kind="persistent", text="Persistent until cleared")
    return Declaration(
        kind=kind, name=name, match=match, category="first-party storage", duration=persistent, purpose="test"
    )


SEED = [
    cookie("ms_access", http_only=True, same_site="lax", path="/"),
    cookie("ms_csrf", http_only=False, same_site="lax", path="/"),
    cookie("__next_locale", duration=Duration(kind="seconds", text="1 year", seconds=365 * 24 * 3600)),
    storage("local_storage", "ms_journey_", match="prefix"),
]
