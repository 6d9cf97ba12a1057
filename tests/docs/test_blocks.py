"""The docs-block reader: what counts as a command, an expected output line, a directive."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs._blocks import parse_page

ROOT = Path(__file__).resolve().parents[2]


def _page(tmp_path: Path, text: str) -> list:
    path = tmp_path / "page.md"
    path.write_text(text)
    return parse_page(path, tmp_path)


def test_console_prompts_outputs_and_continuations(tmp_path):
    (block,) = _page(tmp_path, "intro\n\n```console\n$ twin a \\\n      --b c   # note\nok a (kind x)\n"
                               "$ twin d &\n$ twin e x &   # a server\n```\n")
    assert [c.text for c in block.commands] == ["twin a --b c   # note", "twin d &", "twin e x &   # a server"]
    assert block.commands[0].expect == ["ok a (kind x)"]
    assert block.commands[1].background and block.commands[1].shell_text == "twin d"
    assert block.commands[2].background and block.commands[2].shell_text == "twin e x"
    assert not block.commands[0].background
    assert block.line == 3 and block.skip is None and block.exit_ok == (0,)


def test_bash_blocks_skip_comments_and_other_languages_are_not_commands(tmp_path):
    blocks = _page(tmp_path, "```bash\n# terminal 1\ntwin plant serve x.yaml\n\ntwin b\n```\n"
                             "```python\nimport twin\n```\n```\nplain text\n```\n")
    assert len(blocks) == 1
    assert [c.text for c in blocks[0].commands] == ["twin plant serve x.yaml", "twin b"]
    assert blocks[0].commands[0].background and not blocks[0].commands[1].background


def test_directives(tmp_path):
    blocks = _page(tmp_path, "<!-- docs-test: skip: needs a LAN -->\n```bash\ntwin a\n```\n\n"
                             "<!-- docs-test: exit 0,1 -->\n\n```bash\ntwin b\n```\n")
    assert blocks[0].skip == "needs a LAN" and blocks[1].exit_ok == (0, 1)
    assert blocks[1].allowed_exits(blocks[1].commands[0]) == (0, 1)
    (only,) = _page(tmp_path, '<!-- docs-test: exit 0,1 for "golden check" -->\n```bash\ntwin golden check a b\n'
                              'twin run c\n```\n')
    assert only.allowed_exits(only.commands[0]) == (0, 1) and only.allowed_exits(only.commands[1]) == (0,)
    with pytest.raises(ValueError, match="unknown docs-test directive"):
        _page(tmp_path, "<!-- docs-test: sometimes -->\n```bash\ntwin a\n```\n")


def test_every_shipped_page_parses_and_every_skip_gives_a_reason():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    blocks = [b for p in pages for b in parse_page(p, ROOT)]
    assert blocks, "no shell block found in README/docs"
    for block in blocks:
        assert block.commands, f"{block.where}: a shell block with no command"
        assert block.skip is None or len(block.skip) > 10, f"{block.where}: say why the block is skipped"
