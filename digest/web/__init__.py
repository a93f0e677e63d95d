"""The subscription web app: subscribe, confirm, unsubscribe, preferences, feedback, rights."""

from digest.web.app import create_app

__all__ = ["create_app"]
