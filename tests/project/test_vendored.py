"""The dashboard's vendored files and what its pages may load.

* Every file of ``ui/static/vendor`` (but VENDOR.md) is listed in VENDOR.md with its sha256, and
  that digest is the file's: a vendored file changes only with its record.
* No file under ``ui/static`` or ``ui/templates`` names an address off this machine (``http://``,
  ``https://`` or a protocol-relative ``//host``): the pages load only from the dashboard itself.
  Allowed: a vendored licence file, and a vendored file's leading ``/*! … */`` banner comment
  (uPlot names its home page there; a comment loads nothing).
"""

from __future__ import annotations

import hashlib
import re

from tests.support.repo import PACKAGE_DIR

UI = PACKAGE_DIR / "ui"
VENDOR = UI / "static" / "vendor"
#: A table row of VENDOR.md: | file | from | sha256 |
ROW = re.compile(r"^\|\s*([^|\s]+)\s*\|[^|]*\|\s*([0-9a-f]{64})\s*\|$", re.M)
#: An address off this machine: a scheme, or a protocol-relative URL in a src/href/url().
EXTERNAL = re.compile(r"https?://|(?:src=|href=|url\()\s*[\"']?//", re.I)


def recorded() -> dict[str, str]:
    """``{file name: sha256}`` from VENDOR.md's table."""
    return dict(ROW.findall((VENDOR / "VENDOR.md").read_text()))


def without_banner(text: str) -> str:
    """``text`` without a leading ``/*! … */`` comment (a vendored file's licence banner)."""
    if text.startswith("/*!"):
        end = text.find("*/")
        return text[end + 2 :] if end >= 0 else text
    return text


def test_every_vendored_file_matches_its_recorded_sha256():
    files = sorted(p.name for p in VENDOR.iterdir() if p.is_file() and p.name != "VENDOR.md")
    digests = recorded()
    assert sorted(digests) == files
    for name in files:
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digests[name], name


def test_uplot_is_the_recorded_version():
    assert "version **1.6.32**" in (VENDOR / "VENDOR.md").read_text()
    assert (VENDOR / "uPlot.iife.min.js").read_text().startswith("/*! https://github.com/leeoniya/uPlot (v1.6.32) */")


def test_no_template_or_static_file_names_an_external_address():
    found = []
    for path in sorted([*(UI / "static").rglob("*"), *(UI / "templates").rglob("*")]):
        if not path.is_file() or path.name.startswith("LICENSE") or path.suffix == ".png":
            continue
        text = path.read_text(encoding="utf-8")
        if path.parent == VENDOR:
            text = without_banner(text)
        found += [f"{path.relative_to(UI)}: {m.group(0)}" for m in EXTERNAL.finditer(text)]
    assert found == []


def test_the_external_address_rule_sees_each_form():
    for text in ('<script src="https://cdn.example/x.js">', "<link href='//cdn.example/x.css'>", "url(//x/y.png)"):
        assert EXTERNAL.search(text), text
    assert not EXTERNAL.search('<script src="/static/charts.js">')
    assert without_banner("/*! https://a */ var x;") == " var x;"
