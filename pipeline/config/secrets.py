"""Secrets in the config: their text, and the form of the Slack app's signing secret and
app-level token.

The config keys and the environment's SLACK_SIGNING_SECRET and SLACK_APP_TOKEN get the same
checks, so a paste error is caught wherever the secret came from, and never quoted.
"""

from __future__ import annotations


def signing_secret_problem(secret: str) -> str | None:
    """What is wrong with the form of a signing secret (never quoting it), or None. Slack's are
    32 hex characters; a short or spaced one is a paste error. For the config key and for
    SLACK_SIGNING_SECRET alike."""
    if len(secret) < 16 or secret.strip() != secret or " " in secret:
        return (
            "expected the app's signing secret (Slack app settings, Basic Information: "
            "32 characters, no spaces)"
        )
    return None


def app_token_problem(token: str) -> str | None:
    """What is wrong with the form of an app-level token (never quoting it), or None."""
    if not token.startswith("xapp-"):
        return (
            "expected an app-level token starting xapp- (Slack app settings, Basic "
            "Information, App-Level Tokens, scope connections:write)"
        )
    return None


def secret_value(value: object) -> str | None:
    """The text of a config secret (a pydantic SecretStr), or None when it is not set."""
    return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]
