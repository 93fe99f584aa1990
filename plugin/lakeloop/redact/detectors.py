"""detect-secrets' regex detectors as rules (a well-kept secret scanner).

Every ``RegexBasedDetector`` subclass of ``detect_secrets.plugins`` (detect-secrets 1.5: AWS,
GitHub, GitLab, Slack, Stripe, JWT, OpenAI, npm, PyPI, SendGrid, Twilio, Discord, Telegram,
Mailchimp, Azure storage, Square, Artifactory, Cloudant, SoftLayer, IBM) contributes each
regex of its ``denylist``, run with ``finditer`` so the whole span of a match is known and
hidden (``secret_value`` is sometimes only a capture group: ``ghp`` of a GitHub token). A
detector added by a later release is picked up as it is. Left out (``EXCLUDED``): the
high-entropy plugins (not regex detectors; they flag git hashes and UUIDs), the keyword
plugin (``lakeloop.redact.assign`` does that job), ``BasicAuthDetector`` (``url_password``
keeps the user and host), ``PrivateKeyDetector`` (it matches only the BEGIN line; the
``private_key`` rule takes the whole block) and ``IPPublicDetector`` (an IP address is not a
secret).

Speed: a regex that cannot start with a literal costs 2-14 ms per 100 KB, so each detector
runs only on texts holding one of its needles (``NEEDLES``, ``GATES``). For the keyword-assignment
detectors of IBM Cloud IAM, IBM COS, SoftLayer and Cloudant the needle is the service's name:
their name prefix is optional in detect-secrets, which makes them match any ``key``/``pass``
assignment of a 24-64 character value; an assignment to a TOKEN/SECRET/PASSWORD/API_KEY-like
name is the assignment rule's, with or without the service's name.

Importing ``detect_secrets`` costs about 120 ms of CPU (its plugin base imports
``requests``), too much for every short-lived drainer, so the detectors' regexes (source
text and flags: no secret) are cached in ``<data dir>/redact-patterns.json`` (0600), keyed by
this module's and the installed detect-secrets plugins' files; a drainer then compiles them
without importing detect-secrets.
"""

from __future__ import annotations

import json
import os
import re

from .rules import JWT_TAIL, TOKEN_TAIL, Rule, regex_rule

#: detect-secrets detector classes not used, with the reason (see the module docstring).
EXCLUDED = {
    "BasicAuthDetector": "url_password keeps the user and host",
    "PrivateKeyDetector": "matches only the BEGIN line; private_key takes the whole block",
    "IPPublicDetector": "an IP address is not a secret",
}

#: detector class name -> kind; other classes get their snake-cased name without "Detector".
KINDS = {
    "AWSKeyDetector": "aws_key",
    "GitHubTokenDetector": "github_token",
    "GitLabTokenDetector": "gitlab_token",
    "SlackDetector": "slack_token",
    "StripeDetector": "stripe_key",
    "JwtTokenDetector": "jwt",
    "OpenAIDetector": "openai_key",
    "NpmDetector": "npm_token",
    "PypiTokenDetector": "pypi_token",
    "SendGridDetector": "sendgrid_key",
    "TwilioKeyDetector": "twilio_key",
    "DiscordBotTokenDetector": "discord_token",
    "TelegramBotTokenDetector": "telegram_token",
    "MailchimpDetector": "mailchimp_key",
    "AzureStorageKeyDetector": "azure_storage_key",
    "SquareOAuthDetector": "square_oauth",
    "ArtifactoryDetector": "artifactory",
    "CloudantDetector": "cloudant",
    "SoftlayerDetector": "softlayer",
    "IbmCloudIamDetector": "ibm_cloud_iam",
    "IbmCosHmacDetector": "ibm_cos_hmac",
}

#: kind -> lower-case needles; a kind not here (or in ``GATES``) always runs.
NEEDLES: dict[str, tuple[str, ...]] = {
    "aws_key": ("a3t", "abia", "acca", "akia", "asia", "aws"),
    "ibm_cloud_iam": ("ibm", "iam", "cloud"),
    "ibm_cos_hmac": ("ibm", "hmac", "cos_", "cos-"),
    "softlayer": ("softlayer",),
    "cloudant": ("cloudant",),
    "mailchimp_key": ("-us",),
    "stripe_key": ("k_live_",),
    "slack_token": ("xox", "hooks.slack.com"),
    "jwt": ("eyj",),
    "npm_token": ("_authtoken",),
    "azure_storage_key": ("accountkey=",),
}
_ARTIFACTORY = re.compile(r"[\s=:\"](?:AKC|AP[0-9A-F])")
#: kind -> a cheap test every text with a match passes (Artifactory's regex starts with an
#: alternation of delimiters, which makes it ten times slower than this one).
GATES = {"artifactory": lambda text: text.startswith(("AKC", "AP")) or _ARTIFACTORY.search(text) is not None}

#: Bumped when the cache's layout or the way patterns are taken from detect-secrets changes.
CACHE_FORMAT = 1
_SEGMENT = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def kind_of(class_name: str) -> str:
    """The kind reported for a detector class."""
    if class_name in KINDS:
        return KINDS[class_name]
    base = class_name[: -len("Detector")] if class_name.endswith("Detector") else class_name
    return "_".join(s.lower() for s in _SEGMENT.findall(base)) or "secret"


def _import_patterns() -> list[tuple[str, str, int]]:
    """``[(kind, regex source, flags)]`` of every regex-based detector (imports detect-secrets)."""
    import importlib
    import pkgutil

    import detect_secrets.plugins as plugins
    from detect_secrets.plugins.base import RegexBasedDetector

    for module in pkgutil.iter_modules(plugins.__path__):
        importlib.import_module(f"{plugins.__name__}.{module.name}")
    found: list[tuple[str, str, int]] = []
    pending, seen = list(RegexBasedDetector.__subclasses__()), set()
    while pending:
        cls = pending.pop(0)
        pending.extend(cls.__subclasses__())
        if cls in seen or cls.__name__ in EXCLUDED or not cls.__module__.startswith(plugins.__name__):
            continue
        seen.add(cls)
        denylist = cls.__dict__.get("denylist")
        if denylist is None or isinstance(denylist, property):
            continue
        for pattern in denylist:
            found.append((kind_of(cls.__name__), pattern.pattern, int(pattern.flags)))
    found.sort()
    return found


def _cache_key() -> str | None:
    """Fingerprint of the installed detect-secrets plugins and of this module (without
    importing detect-secrets), or None when detect-secrets is not installed."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("detect_secrets")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    parts = [str(CACHE_FORMAT), __file__]
    try:
        st = os.stat(__file__)
        parts.append(f"{st.st_size}:{st.st_mtime_ns}")
        for location in spec.submodule_search_locations:
            plugin_dir = os.path.join(location, "plugins")
            parts.append(plugin_dir)
            for entry in sorted(os.scandir(plugin_dir), key=lambda e: e.name):
                if entry.name.endswith(".py"):
                    st = entry.stat()
                    parts.append(f"{entry.name}:{st.st_size}:{st.st_mtime_ns}")
    except OSError:
        return None
    return "\n".join(parts)


def detector_patterns(cache_file: str | None, log) -> list[tuple[str, str, int]]:
    """``[(kind, regex source, flags)]`` of detect-secrets' regex detectors: from ``cache_file``
    when it was written for the installed detect-secrets and this module, else by importing
    detect-secrets (and rewriting the cache, mode 0600). Empty, with an error logged, when
    detect-secrets cannot be imported: lakeloop's own rules still apply."""
    key = _cache_key()
    if key is None:
        log.error("redaction: detect-secrets is not installed; only lakeloop's own secret patterns apply")
        return []
    if cache_file:
        try:
            with open(cache_file, encoding="utf-8") as fh:
                cached = json.load(fh)
            if cached.get("key") == key:
                return [(str(k), str(s), int(f)) for k, s, f in cached["patterns"]]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
    try:
        patterns = _import_patterns()
    except Exception as exc:  # a broken install must not stop capture
        log.error(
            "redaction: cannot load detect-secrets' detectors (%s: %s); only lakeloop's own secret patterns apply",
            type(exc).__name__,
            str(exc)[:200],
        )
        return []
    if cache_file:
        tmp = f"{cache_file}.{os.getpid()}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"key": key, "patterns": patterns}, fh)
            os.replace(tmp, cache_file)
        except OSError:
            pass
    return patterns


#: A run of x's is a documentation placeholder (``ACxxxxxxxx...``), not a key.
_PLACEHOLDER_RUN = re.compile(r"x{8,}|X{8,}")


def _not_placeholder(match: re.Match, value: str) -> bool:
    return _PLACEHOLDER_RUN.search(value) is None


def detector_rules(patterns: list[tuple[str, str, int]]) -> list[Rule]:
    """The rules of ``detector_patterns`` (priority 100: a detector's kind wins a merged span),
    each compiled when first needed (the patterns are detect-secrets' own, known to compile)."""
    rules = []
    for kind, source, flags in patterns:
        rules.append(
            regex_rule(
                kind,
                (source, flags),
                100,
                tail=JWT_TAIL if kind == "jwt" else TOKEN_TAIL,
                check=_not_placeholder,
                needles=NEEDLES.get(kind, ()),
                gate=GATES.get(kind),
            )
        )
    return rules
