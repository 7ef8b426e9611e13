"""Headless Chromium (Debian's ``chromium``) as a person's browser: the page as rendered (its DOM after loading)
and a screenshot of it, and the text a person reads in each marked part of the page."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars")


def chromium() -> str:
    found = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    assert found, "headless Chromium is needed: apt-get install -y chromium (.ci/run installs it)"
    return found


def _run(args: list[str], profile: Path) -> str:
    completed = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                               text=True, timeout=120, check=False)
    assert completed.returncode == 0, f"chromium {' '.join(args)} failed: {completed.stderr[-2000:]}"
    return completed.stdout


def open_page(url: str, workdir: Path, screenshot: Path, size: str = "1400,1100") -> str:
    """The page's DOM as Chromium built it, and its screenshot saved at ``screenshot``; each run with a new
    profile, so nothing is cached between them."""
    dom = _run(["--dump-dom", url], workdir / "profile-dom")
    _run([f"--window-size={size}", f"--screenshot={screenshot}", url], workdir / "profile-shot")
    assert screenshot.stat().st_size > 10_000, f"the screenshot {screenshot} is nearly empty"
    return dom


@dataclass
class Part:
    """An element with ``data-*`` attributes and the text shown inside it."""

    attributes: dict[str, str]
    text: list[str] = field(default_factory=list)
    inner: list[Part] = field(default_factory=list)  # the marked elements inside it

    def within(self, attribute: str) -> list[Part]:
        return [p for p in self.inner if f"data-{attribute}" in p.attributes]

    @property
    def shown(self) -> str:
        return " ".join(" ".join(self.text).split())


class _Parts(HTMLParser):
    VOID = frozenset({"meta", "br", "img", "input", "link", "hr"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[Part] = []
        self.open: list[Part | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        marked = {k: v or "" for k, v in attrs if k.startswith("data-")}
        part = Part(marked) if marked else None
        if part is not None:
            self.parts.append(part)
            for outer in self.open:
                if outer is not None:
                    outer.inner.append(part)
        self.open.append(part)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.open:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        for part in self.open:
            if part is not None:
                part.text.append(data)


def parts(dom: str, attribute: str) -> list[Part]:
    """Every element carrying ``data-<attribute>``, outermost first."""
    parser = _Parts()
    parser.feed(dom)
    return [p for p in parser.parts if f"data-{attribute}" in p.attributes]
