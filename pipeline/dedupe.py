"""Exact duplicates: one canonical URL per article, and no article twice in one batch.

Near-duplicates (the same wire story on ten sites) are a different problem, solved by stories.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .records import Article

# Query parameters that identify a campaign or a click, never the article. One list, here.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "igshid", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "hsctatracking", "mkt_tok", "vero_id",
        "vero_conv", "oly_anon_id", "oly_enc_id", "rb_clickid", "s_cid", "wt.mc_id", "ncid",
        "ocid", "cmpid", "ref_src", "ref_url", "smid", "sr_share", "at_medium", "at_campaign",
        "at_custom1", "at_custom2", "at_custom3", "at_custom4", "__twitter_impression", "_ga",
        "_gl", "spm", "ito",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "itm_")

# Redirector links that carry their target in a query parameter: host -> (path, parameter).
REDIRECTORS = {
    "www.google.com": ("/url", ("url", "q")),
    "google.com": ("/url", ("url", "q")),
    "news.google.com": ("/news/url", ("url",)),
    "l.facebook.com": ("/l.php", ("u",)),
    "lm.facebook.com": ("/l.php", ("u",)),
}
DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str | None) -> str | None:
    """The form of an article URL used to recognise the same article under different links."""
    if not url:
        return None
    url = unwrap_redirector(url.strip())
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(key)
    )
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def _is_tracking(key: str) -> bool:
    key = key.lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def unwrap_redirector(url: str) -> str:
    """`https://www.google.com/url?...&url=https://site/a` -> `https://site/a` (one level)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    rule = REDIRECTORS.get((parts.hostname or "").lower())
    if rule is None or parts.path != rule[0]:
        return url
    params = dict(parse_qsl(parts.query))
    for name in rule[1]:
        target = params.get(name, "")
        if target.startswith(("http://", "https://")):
            return target
    return url


def unique_articles(articles: Iterable[Article]) -> list[Article]:
    """Keep the first article for each GUID and for each canonical URL within one batch."""
    seen_guids: set[str] = set()
    seen_urls: set[str] = set()
    kept = []
    for article in articles:
        if article.guid in seen_guids or (
            article.canonical_url is not None and article.canonical_url in seen_urls
        ):
            continue
        seen_guids.add(article.guid)
        if article.canonical_url is not None:
            seen_urls.add(article.canonical_url)
        kept.append(article)
    return kept
