"""Every action the audit log records. `record(..., action=...)` takes a member or its value (a plain
string such as "tracking.domain_settings") and refuses anything else, so the list below is complete:
a new kind of entry starts here."""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    # the cookie policy
    POLICY_PUBLISH = "policy.publish"
    POLICY_WITHDRAW = "policy.withdraw"
    POLICY_DRAFT_CREATE = "policy.draft_create"
    POLICY_DRAFT_EDIT = "policy.draft_edit"
    POLICY_DRAFT_DELETE = "policy.draft_delete"
    # exports for auditors
    INVENTORY_EXPORT = "inventory.export"
    VIOLATIONS_EXPORT = "violations.export"
    AUDIT_LOG_EXPORT = "audit_log.export"
    EVIDENCE_EXPORT = "evidence.export"
    # enforcement
    DRIFT_DISMISS = "drift.dismiss"
    DRIFT_DRAFT = "drift.draft"
    # retention
    RETENTION_RULE = "retention.rule"
    RETENTION_PURGE = "retention.purge"
    # email tracking and journey analytics
    TRACKING_DOMAIN_ADD = "tracking.domain_add"
    TRACKING_DOMAIN_SETTINGS = "tracking.domain_settings"
    TRACKING_EMAIL_SETTINGS = "tracking.email_settings"
    TRACKING_SUPPRESSION_ADD = "tracking.suppression_add"
    TRACKING_SUPPRESSION_REMOVE = "tracking.suppression_remove"
    TRACKING_RECIPIENT_ERASE = "tracking.recipient_erase"
    JOURNEY_ERASE_VISITOR = "journey.erase_visitor"
    # people and machine clients
    USER_CREATE = "user.create"
    USER_ROLES = "user.roles"
    USER_DISABLE = "user.disable"
    USER_ENABLE = "user.enable"
    USER_PASSWORD_RESET = "user.password_reset"  # noqa: S105  (an action's name, not a password)
    USER_UNLOCK = "user.unlock"
    API_KEY_CREATE = "api_key.create"
    API_KEY_REVOKE = "api_key.revoke"


def action_of(action: AuditAction | str) -> AuditAction:
    try:
        return AuditAction(action)
    except ValueError:
        raise ValueError(f"unknown audit action {action!r}: add it to governance.core.audit.AuditAction") from None
