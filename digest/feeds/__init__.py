"""Ingest: fetch feeds (local files or http), parse them into Papers, store them."""

from digest.feeds.fetch import RetryPolicy
from digest.feeds.ingest import FeedResult, fetch_feeds
from digest.feeds.parse import ParsedFeed, parse_feed
from digest.feeds.spec import FeedSpec, parse_feed_specs

__all__ = ["FeedResult", "FeedSpec", "ParsedFeed", "RetryPolicy", "fetch_feeds", "parse_feed",
           "parse_feed_specs"]
