"""The README's example documents, as the IDE's tabs and the README test's cases.

A README example is a fenced `graphql` block whose first line says who runs it:

    # As dana@glow.example: every Glow provider's week
    # As dana@glow.example, X-Dashboard: PROVIDER: only her own appointments
    # Anonymous: Glow Downtown's public page

Ids the reader cannot know in advance are written `<NAME>` (api/ide/facts.py fills them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from api.settings import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"

_BLOCK = re.compile(r"^```(?P<lang>\w*)\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)
_CALLER = re.compile(
    r"^# (?:As (?P<email>[^\s,:]+)(?:, (?P<header>[\w-]+): (?P<value>[^:\s]+))?"
    r"|(?P<anonymous>Anonymous)): (?P<title>.+)$"
)


@dataclass(frozen=True)
class Example:
    """One runnable document of the README and who runs it."""

    title: str
    document: str
    caller: str | None  # a demo email; None: anonymous
    headers: dict[str, str] = field(default_factory=dict)  # besides Authorization

    def token_command(self) -> str | None:
        if self.caller is None:
            return None
        return f".venv/bin/medspa-api token {self.caller}"


def code_blocks(text: str, language: str) -> list[str]:
    """The bodies of the fenced blocks of `language` in a Markdown text, in order."""
    return [m["body"] for m in _BLOCK.finditer(text) if m["lang"] == language]


def parse_examples(text: str) -> list[Example]:
    """Every `graphql` block of a Markdown text; one without a caller line is an error."""
    examples = []
    for body in code_blocks(text, "graphql"):
        first = body.split("\n", 1)[0]
        match = _CALLER.match(first)
        if match is None:
            raise ValueError(f"a README GraphQL example must start with its caller: {first!r}")
        headers = {match["header"]: match["value"]} if match["header"] else {}
        examples.append(
            Example(
                title=match["title"].strip(),
                document=body.strip() + "\n",
                caller=None if match["anonymous"] else match["email"],
                headers=headers,
            )
        )
    return examples


def readme_examples(path: Path = README) -> list[Example]:
    """The README's examples; none when the README is not there (an installed wheel)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return parse_examples(text)
