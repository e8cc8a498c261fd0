"""A small reader for the NATS configuration format, enough to compare stan.conf files.

It follows the NATS lexer where it matters for comparing meaning, not text: comments are
ignored, keys are case-preserved, a bare integer with a size suffix (32mb, 1k) becomes its
integer value, bare true/false become booleans, and a QUOTED value always stays a string
(so `http: 8222` and `http: "8222"` differ, as they do for nats-server). Bare words that are
not numbers (1h, $CLUSTER_ADVERTISE, nats://a:6222) are strings.
"""

from __future__ import annotations

import re

_SIZE = {
    "": 1, "k": 1000, "kb": 1024, "ki": 1024, "kib": 1024,
    "m": 1000**2, "mb": 1024**2, "mi": 1024**2, "mib": 1024**2,
    "g": 1000**3, "gb": 1024**3, "gi": 1024**3, "gib": 1024**3,
    "t": 1000**4, "tb": 1024**4, "ti": 1024**4, "tib": 1024**4,
}
_NUMBER = re.compile(r"^(-?[0-9]+)([a-zA-Z]*)$")
_BOOLS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


class ConfError(ValueError):
    pass


def _bare(token: str):
    low = token.lower()
    if low in _BOOLS:
        return _BOOLS[low]
    match = _NUMBER.match(token)
    if match and match.group(2).lower() in _SIZE:
        return int(match.group(1)) * _SIZE[match.group(2).lower()]
    return token


class _Reader:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip(self, newlines: bool = True, commas: bool = True) -> None:
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "#" or self.text.startswith("//", self.pos):
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            elif ch in " \t\r" or (newlines and ch == "\n") or (commas and ch in ",;"):
                self.pos += 1
            else:
                return

    def quoted(self) -> str:
        quote = self.text[self.pos]
        self.pos += 1
        out = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if ch == quote:
                self.pos += 1
                return "".join(out)
            out.append(ch)
            self.pos += 1
        raise ConfError("unterminated string")

    def mapping(self, closing: str) -> dict:
        result: dict = {}
        while True:
            self.skip()
            ch = self.peek()
            if ch == closing:
                if closing:
                    self.pos += 1
                return result
            if not ch:
                raise ConfError(f"missing {closing!r}")
            if ch in "\"'":
                key = self.quoted()
            else:
                match = re.compile(r"[^\s:=\{\[]+").match(self.text, self.pos)
                if not match:
                    raise ConfError(f"bad key at offset {self.pos}")
                key = match.group(0)
                self.pos = match.end()
            self.skip(newlines=False, commas=False)
            if self.peek() in ":=":
                self.pos += 1
                self.skip(newlines=False, commas=False)
            if key in result:
                raise ConfError(f"duplicate key {key!r}")
            result[key] = self.value(in_array=False)

    def array(self) -> list:
        items = []
        while True:
            self.skip()
            if self.peek() == "]":
                self.pos += 1
                return items
            if not self.peek():
                raise ConfError("missing ']'")
            items.append(self.value(in_array=True))

    def value(self, in_array: bool):
        ch = self.peek()
        if ch == "{":
            self.pos += 1
            return self.mapping("}")
        if ch == "[":
            self.pos += 1
            return self.array()
        if ch in "\"'":
            return self.quoted()
        stop = r"[\s,\]]" if in_array else r"[\n,;\}\]#]"
        match = re.compile(rf"(?:(?!{stop}).)+").match(self.text, self.pos)
        if not match:
            raise ConfError(f"missing value at offset {self.pos}")
        self.pos = match.end()
        return _bare(match.group(0).strip())


def parse(text: str) -> dict:
    """Parse NATS configuration text into nested dicts and lists."""
    return _Reader(text).mapping("")
