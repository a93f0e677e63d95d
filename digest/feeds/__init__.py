"""Ingest: fetch feeds (local files or http), parse them into Papers, store them."""

from digest.feeds.ingest import FeedResult, FeedSpec, fetch_feeds, parse_feed_specs
from digest.feeds.parse import ParsedFeed, parse_feed

__all__ = ["FeedResult", "FeedSpec", "ParsedFeed", "fetch_feeds", "parse_feed", "parse_feed_specs"]
