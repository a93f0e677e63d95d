"""Feeds: get feed bytes (local files or polite http) and parse them into Papers.

Storing what was fetched is the fetch use case's job (``digest.app.fetch``).
"""

from digest.feeds.fetch import RetryPolicy
from digest.feeds.parse import ParsedFeed, parse_feed
from digest.feeds.spec import FeedSpec, parse_feed_specs

__all__ = ["FeedSpec", "ParsedFeed", "RetryPolicy", "parse_feed", "parse_feed_specs"]
