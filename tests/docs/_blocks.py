"""Shell commands as written in README.md and docs/*.md: parsed into runnable steps.

A fenced block whose info string is ``console``, ``bash``, ``sh`` or ``shell`` holds commands:

- ``console`` blocks: lines starting with ``$ `` are commands, ``#`` lines are comments; other
  lines are the output the page shows, and each must appear in the command's output
  (whitespace-normalised);
- ``bash``/``sh``/``shell`` blocks: every line that is not blank or a ``#`` comment is a command.

A line ending in ``\\`` continues on the next one. An HTML comment right before a block steers
the run of that block::

    <!-- docs-test: skip: needs a Dask cluster on the LAN -->
    <!-- docs-test: exit 0,1 -->        (a command may legitimately exit 1, e.g. a failing check)
    <!-- docs-test: exit 0,1 for "twin golden check" -->   (only the commands containing that text)

Long-running servers (``twin plant serve``, ``twin dashboard``, or any command ending in ``&``)
are started in the background and stopped when their block ends. ``export NAME=VALUE`` holds
for the rest of the page, as in the reader's shell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Block", "Command", "parse_page"]

SHELL_LANGS = {"console", "bash", "sh", "shell"}
_FENCE = re.compile(r"^```(\S*)\s*$")
_DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*(.*?)\s*-->")
_SERVERS = ("twin plant serve", "twin dashboard")
_BACKGROUND = re.compile(r"\s&\s*(#.*)?$")  # a trailing '&', maybe followed by a comment


@dataclass
class Command:
    """One command of a block, with the output lines the page shows under it."""

    text: str
    line: int
    expect: list[str] = field(default_factory=list)

    @property
    def background(self) -> bool:
        """A server: started in the background, stopped at the end of its block."""
        return bool(_BACKGROUND.search(self.text)) or self.text.startswith(_SERVERS)

    @property
    def shell_text(self) -> str:
        """The command as handed to bash (a trailing ``&`` removed: the harness backgrounds it)."""
        return _BACKGROUND.sub("", self.text).rstrip()


@dataclass
class Block:
    """A fenced shell block of a page."""

    page: str
    line: int
    lang: str
    commands: list[Command]
    skip: str | None = None
    exit_ok: tuple[int, ...] = (0,)
    exit_for: str | None = None

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    def allowed_exits(self, command: Command) -> tuple[int, ...]:
        """Exit codes that count as success for this command."""
        if self.exit_for is None or self.exit_for in command.text:
            return self.exit_ok
        return (0,)


def _directives(text: str) -> dict:
    if text.startswith("skip"):  # the reason is the rest of the comment, ';' included
        return {"skip": text.partition(":")[2].strip() or "skipped"}
    out: dict = {}
    for part in (p.strip() for p in text.split(";")):
        if part.startswith("exit"):
            codes, _, target = part.partition(" for ")
            out["exit_ok"] = tuple(int(code) for code in re.findall(r"\d+", codes))
            out["exit_for"] = target.strip().strip('"') or None
        elif part:
            raise ValueError(f"unknown docs-test directive {part!r} "
                             "(known: 'skip: reason', 'exit 0,1', 'exit 0,1 for \"text\"')")
    return out


def _commands(lang: str, body: list[tuple[int, str]]) -> list[Command]:
    commands: list[Command] = []
    pending: Command | None = None
    for lineno, raw in body:
        line = raw.rstrip()
        if pending is not None:  # continuation of the previous line
            pending.text = pending.text[:-1].rstrip() + " " + line.strip()
            if not line.endswith("\\"):
                pending = None
            continue
        if lang == "console":
            if line.startswith("$ "):
                commands.append(Command(line[2:].strip(), lineno))
            elif line.lstrip().startswith("#"):
                continue
            elif line.strip() and commands:
                commands[-1].expect.append(" ".join(line.split()))
            elif line.strip():
                raise ValueError(f"line {lineno}: output before any '$ ' command in a console block")
        else:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            commands.append(Command(line.strip(), lineno))
        if line.endswith("\\"):
            pending = commands[-1]
    return commands


def parse_page(path: Path, root: Path) -> list[Block]:
    """Every shell block of one Markdown page, in page order."""
    page = str(path.relative_to(root))
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        lang, start = match.group(1), i
        body = []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append((i + 1, lines[i]))
            i += 1
        i += 1  # closing fence
        if lang not in SHELL_LANGS:
            continue
        k = start - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        directive = _DIRECTIVE.search(lines[k]) if k >= 0 else None
        options = _directives(directive.group(1)) if directive else {}
        try:
            commands = _commands(lang, body)
        except ValueError as exc:
            raise ValueError(f"{page}: {exc}") from None
        blocks.append(Block(page, start + 1, lang, commands, **options))
    return blocks
