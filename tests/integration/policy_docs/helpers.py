"""Small builders shared by the policy tests."""

from __future__ import annotations

from typing import Any

THEME_COOKIE: dict[str, Any] = {
    "kind": "cookie",
    "name": "ms_theme",
    "category": "strictly necessary",
    "type_label": "Cookie",
    "duration": {"kind": "seconds", "seconds": 31536000, "text": "1 year"},
    "purpose": "Remembers whether you chose the light or the dark theme.",
    "http_only": False,
    "same_site": "lax",
    "path": "/",
}


def start_draft(client, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post(
        "/api/policy/drafts",
        json={"change_summary": "Adds the theme cookie.", "material": True, **body},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def publish(client, headers: dict[str, str], draft_id: str, **body: Any):
    return client.post(f"/api/policy/drafts/{draft_id}/publish", json=body, headers=headers)


def draft_with_theme_cookie(client, headers: dict[str, str]) -> dict[str, Any]:
    draft = start_draft(client, headers)
    response = client.patch(
        f"/api/policy/drafts/{draft['id']}", json={"upsert_declarations": [THEME_COOKIE]}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()
