"""Time zone names: legacy names mapped to canonical ones, loading that never stops a run,
and the closest known name for a typo.

A host's tz database may lack the legacy links (Debian and Ubuntu moved ``US/Eastern`` and
the like to ``tzdata-legacy`` in 2023c) or be absent (Alpine, slim images); digest depends on
the ``tzdata`` package, which ``zoneinfo`` falls back to, and maps legacy names itself.
"""

from __future__ import annotations

import difflib
import logging
from datetime import UTC, tzinfo
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

log = logging.getLogger("digest.zones")


@cache
def legacy_links() -> dict[str, str]:
    """Legacy name → canonical zone (``US/Eastern`` → ``America/New_York``), ~250 pairs.

    Source: the IANA tz database's ``backward`` file (https://github.com/eggert/tz/blob/main/backward),
    whose ``Link TARGET LINK-NAME`` lines ``zic`` compiles into the ``L TARGET NAME`` lines of
    ``tzdata.zi``, as the ``tzdata`` package ships it. Links to ``Etc/UTC`` (``UTC``,
    ``Zulu``) are left out: ``UTC`` is itself the name digest stores.
    """
    try:
        text = resources.files("tzdata.zoneinfo").joinpath("tzdata.zi").read_text("utf-8")
    except (ModuleNotFoundError, OSError):  # pragma: no cover - tzdata is a dependency
        return {}
    links: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "L" and not parts[1].startswith("Etc/"):
            links[parts[2]] = parts[1]
    return links


def canonical_zone(name: str) -> str:
    """``name`` stripped, or the canonical zone it is a legacy link to (see ``legacy_links``)."""
    name = name.strip()
    return legacy_links().get(name, name)


@cache
def known_zones() -> frozenset[str]:
    """Every name digest accepts: the zones this host or the tzdata package can load, and the
    legacy names that map to one."""
    return frozenset(available_timezones()) | frozenset(legacy_links())


def suggest_zone(name: str) -> str | None:
    """The known zone name closest to ``name`` (a typo, wrong case, spaces for underscores),
    by ``difflib`` similarity over canonical names; None when nothing is close."""
    wanted = name.strip().replace(" ", "_").lower()
    names = sorted(z for z in known_zones() if z not in legacy_links())
    by_lower = {z.lower(): z for z in names}
    if wanted in by_lower:
        return by_lower[wanted]
    close = difflib.get_close_matches(wanted, list(by_lower), n=1, cutoff=0.6)
    if not close:  # "Shanghai" for "Asia/Shanghai": match on the city part alone
        cities = {z.rsplit("/", 1)[-1].lower(): z for z in names}
        close = [cities[c].lower() for c in difflib.get_close_matches(wanted, list(cities), n=1,
                                                                        cutoff=0.8)]
    return by_lower[close[0]] if close else None


def check_zone(name: str) -> str:
    """The canonical name for a zone a person typed, or ValueError saying which name is
    closest. Accepted: names ``zoneinfo`` can load here, legacy names (mapped), and either
    of those in another case (``utc``, ``europe/paris``: zone names never differ by case)."""
    canonical = canonical_zone(name)
    if canonical not in known_zones():
        by_lower = {z.lower(): z for z in known_zones()}
        canonical = canonical_zone(by_lower.get(canonical.lower(), canonical))
    if canonical in known_zones():
        try:
            ZoneInfo(canonical)
            return canonical
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    hint = suggest_zone(name)
    raise ValueError(f"unknown time zone {name.strip()!r}"
                     + (f" (did you mean {hint!r}?)" if hint else "")
                     + "; use an IANA name like 'Europe/Paris'")


_warned: set[str] = set()


def load_zone(name: str) -> tzinfo:
    """The zone for a stored name; a name that cannot be loaded (an unknown or broken zone
    on this host) is UTC, with one logged warning per name, so one reader's zone never stops
    anyone's edition."""
    canonical = canonical_zone(name)
    try:
        return ZoneInfo(canonical)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        if name not in _warned:
            _warned.add(name)
            log.warning("time zone %r cannot be loaded (%s): using UTC for it", name,
                        type(exc).__name__)
        return UTC
