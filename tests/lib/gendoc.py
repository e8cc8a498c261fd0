"""Generated blocks of a document and the results file they are rendered from.

A block sits between `<!-- generated: NAME -->` and `<!-- end generated -->`; a generator
rewrites the blocks it has a renderer for and leaves the others alone. One results file can
hold the records of several generators, one key each. Shared by the generators of
docs/fault-tolerance.md (tests.stan.ftdoc, tests.e2e.faultdoc).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

BLOCK = re.compile(r"(<!-- generated: (?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S)


def rewrite(text: str, renderers: dict[str, Callable[[], str]]) -> str:
    """The text with every block named in renderers rewritten by its renderer."""
    def block(match: re.Match) -> str:
        name = match.group("name")
        return match.group(1) + renderers[name]() + match.group(4) if name in renderers else match.group(0)

    return BLOCK.sub(block, text)


def names(text: str, renderers: dict) -> list[str]:
    """The names of the text's blocks that renderers has."""
    return [m.group("name") for m in BLOCK.finditer(text) if m.group("name") in renderers]


def store(results: Path, key: str, record: dict) -> None:
    """Put record under key in the results file, leaving the other keys as they are."""
    everything = json.loads(results.read_text(encoding="utf-8")) if results.exists() else {}
    everything[key] = record
    results.write_text(json.dumps(everything, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def rel(path: Path, repo: Path) -> str:
    return str(path.relative_to(repo)) if path.is_relative_to(repo) else str(path)


def cli(argv: list[str] | None, description: str, *, repo: Path, doc: Path, results: Path, measured: Path,
        module: str, update: Callable[[], str | None], regenerate: Callable[[str], tuple[str, list[str]]]) -> int:
    """--update (update() stores the new record, or returns why it cannot), --render or --check.
    regenerate(text) gives the rewritten text and the names of the blocks it rewrote."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--update", action="store_true", help=f"copy {rel(measured, repo)} into {rel(results, repo)}, regenerate")
    group.add_argument("--render", action="store_true", help=f"regenerate the blocks from {rel(results, repo)}")
    group.add_argument("--check", action="store_true", help="exit 1 when a block is not what the results render to")
    args = parser.parse_args(argv)
    if args.update:
        problem = update()
        if problem:
            print(problem, file=sys.stderr)
            return 1
    text = doc.read_text(encoding="utf-8")
    fresh, rewritten = regenerate(text)
    if args.check:
        if fresh != text:
            print(f"{rel(doc, repo)}: generated blocks differ from {rel(results, repo)} (run -m {module} --render)")
            return 1
        print(f"{rel(doc, repo)}: blocks {', '.join(rewritten)} match {rel(results, repo)}")
        return 0
    doc.write_text(fresh, encoding="utf-8")
    print(f"regenerated {', '.join(rewritten)} in {rel(doc, repo)}")
    return 0
