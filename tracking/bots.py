"""Machine user agents: crawlers, link checkers, uptime and SEO tools, feed readers, link-preview
fetchers, archivers, HTTP libraries and headless browsers.

The list is the crawler-user-agents package's (MIT, maintained by its community, ~1,500 patterns),
not ours. Tried one after another, those regexes cost about 0.5 ms per agent; almost all of them are
plain strings (or `[bB]ot`-style case variants, `(a|b)` choices, `^` or `$` anchors), so they are
compiled once into one trie-shaped regex plus prefix and suffix tuples, beside one alternation of
the few real regexes: microseconds per agent, and the caller caches verdicts. A few generic signs
of a machine that no list can enumerate (a contact URL in the agent, a `…bot/1.0` token, headless
browsers) back it up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from crawleruseragents import CRAWLER_USER_AGENTS_DATA  # type: ignore[import-untyped]

_PIECE = re.compile(r"\\([^A-Za-z0-9])|\[([A-Za-z])([A-Za-z])\]|\(([^()\\\[\].^$*+?{}]+)\)|([^\\\[\].^$*+?{}()|])")
_START_OR_SPACE = "(^| )"

# On the lower-cased agent. Browsers never carry a URL, a `…bot/` product token or a headless engine.
GENERIC_TOKEN = re.compile(r"(?:bot|crawler|spider|scraper|fetcher|checker|monitor)(?=[/;)]|$)")
GENERIC_WORDS = ("://", "headless", "phantomjs", "puppeteer", "playwright", "selenium", "webdriver")
WEB_ADDRESS = re.compile(r"\bwww\.[a-z0-9-]+\.[a-z]")


def literal_forms(pattern: str) -> list[str] | None:
    """Every string a pattern matches if it is made of literals, `[xX]` case pairs, `(a|b)` choices and
    top-level `|`; None otherwise."""
    forms: list[str] = []
    for branch in _top_level_branches(pattern):
        variants, pos = [""], 0
        while pos < len(branch):
            piece = _PIECE.match(branch, pos)
            if piece is None:
                return None
            escaped, first, second, choice, plain = piece.groups()
            if first:
                if first.lower() != second.lower():
                    return None
                options = [first, second]
            elif choice:
                options = choice.split("|")
            else:
                options = [escaped or plain]
            variants = [v + option for v in variants for option in options]
            pos = piece.end()
        if not branch:
            return None
        forms += variants
    return forms


def _top_level_branches(pattern: str) -> list[str]:
    branches, depth, start = [], 0, 0
    for at, char in enumerate(pattern):
        depth += (char == "(") - (char == ")") if pattern[at - 1 : at] != "\\" else 0
        if char == "|" and depth == 0 and pattern[at - 1 : at] != "\\":
            branches.append(pattern[start:at])
            start = at + 1
    return [*branches, pattern[start:]]


def trie_pattern(words: Iterable[str], *, whole: bool = False) -> str:
    """One regex matching any of `words`, shaped as their trie so that each position costs a few
    character tests instead of one per word. Not `whole`: the shortest word suffices (for a search)."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here

    def pattern(node: dict[str, dict]) -> str:
        children = {char: child for char, child in node.items() if char}
        if "" in node and (not whole or not children):
            return ""
        branches = [re.escape(char) + pattern(child) for char, child in sorted(children.items())]
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return pattern(trie)


@dataclass(frozen=True)
class AgentPatterns:
    """A list of agent regexes, sorted by shape once so that matching stays fast."""

    anywhere: re.Pattern[str]
    prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]

    @classmethod
    def compile(cls, patterns: Iterable[str]) -> AgentPatterns:
        words, prefixes, suffixes, others = [], [], [], []
        for pattern in patterns:
            body = pattern.removeprefix("^").removeprefix(_START_OR_SPACE).removesuffix("$")
            forms = literal_forms(body) if body.count("^") + body.count("$") == 0 else None
            if forms is None:
                others.append(f"(?:{pattern})")
            elif pattern.startswith(_START_OR_SPACE):
                prefixes += forms
                words += [" " + form for form in forms]
            elif pattern.startswith("^"):
                prefixes += forms
            elif pattern.endswith("$"):
                suffixes += forms
            else:
                words += forms
        return cls(re.compile("|".join([trie_pattern(words), *others])), tuple(prefixes), tuple(suffixes))

    def search(self, agent: str) -> str | None:
        if found := self.anywhere.search(agent):
            return found.group()
        if agent.startswith(self.prefixes):
            return next(p for p in self.prefixes if agent.startswith(p))
        if agent.endswith(self.suffixes):
            return next(s for s in self.suffixes if agent.endswith(s))
        return None


KNOWN_MACHINES = AgentPatterns.compile(entry["pattern"] for entry in CRAWLER_USER_AGENTS_DATA)


def machine_token(user_agent: str) -> str | None:
    """The part of the agent that names a machine, or None for anything else (browsers, mail clients)."""
    found = KNOWN_MACHINES.search(user_agent)
    if found is None:
        lowered = user_agent.lower()
        found = next((word for word in GENERIC_WORDS if word in lowered), None)
        generic = found is None and (
            GENERIC_TOKEN.search(lowered) or ("www." in lowered and WEB_ADDRESS.search(lowered))
        )
        if generic:
            found = generic.group()
    return (found.strip(" /;()") or found)[:60] if found else None
