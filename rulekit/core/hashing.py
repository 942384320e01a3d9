"""Content and code hashes for the rerun triggers.

`file_checksum` backs `--rerun-triggers checksum` (early cutoff); `code_hash` backs the `code`
trigger. A code hash must ignore what does not change behaviour (comments, blank lines,
trailing whitespace, the indentation of the whole block) so that tidying a rule file does not
rerun a workflow, while any change to a token does count.
"""

from __future__ import annotations

import io
import os
import tokenize

try:   # hashlib's own blake2b, without hashlib's import of OpenSSL (start-up time, issue 12)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without its own blake2
    from hashlib import blake2b

__all__ = ["file_checksum", "code_hash", "normalize_code"]

_CHUNK = 1 << 20  # 1 MiB: large enough to amortise syscalls, small enough to stream
_HEAD = 1 << 16   # first read: files up to 64 KiB are hashed from it alone


def file_checksum(path: str | os.PathLike[str]) -> str:
    """blake2b (128-bit) of the file's bytes, read in 1 MiB chunks. Hex string."""
    digest = blake2b(digest_size=16)
    with open(path, "rb", buffering=0) as f:
        # Most inputs are small: one short read, no 1 MiB buffer to allocate (which costs
        # more than hashing a small file).
        head = f.read(_HEAD)
        digest.update(head)
        if len(head) < _HEAD:
            return digest.hexdigest()
        buffer = bytearray(_CHUNK)
        view = memoryview(buffer)
        while True:
            n = f.readinto(buffer)
            if not n:
                break
            digest.update(view[:n])
    return digest.hexdigest()


# Tokens that carry no behaviour. INDENT/DEDENT stay (they are structure) but their text
# does not: re-indenting a block from 4 to 2 spaces changes nothing.
_DROP = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}


def _python_tokens(text: str) -> str:
    parts: list[str] = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in _DROP:
            continue
        if tok.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE):
            parts.append(tokenize.tok_name[tok.type])
        else:
            parts.append(tok.string)
    # A separator no token can contain unescaped keeps `a b` and `ab` apart.
    return "\x00".join(parts)


def _stripped_lines(text: str) -> str:
    lines = (line.strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("#"))


def normalize_code(kind: str, text: str) -> str:
    """The text a code hash is taken of: `kind` is "run", "shell" or "script"."""
    if kind == "run":
        try:
            import textwrap  # run: bodies only (start-up time)

            return "py:" + _python_tokens(textwrap.dedent(text))
        except (tokenize.TokenError, IndentationError, SyntaxError):
            # Not tokenizable on its own (should not happen for a body that compiled):
            # fall back to a line-based normalisation that still ignores comment lines.
            return "lines:" + _stripped_lines(text)
    # Shell commands: trailing whitespace and blank lines do not count, but every other
    # character does (a '#' inside a quoted argument is data, so comments are kept).
    lines = (line.rstrip() for line in text.strip().splitlines())
    return f"{kind}:" + "\n".join(line for line in lines if line)


def code_hash(kind: str, text: str) -> str:
    """Stable hash of a rule body, insensitive to comments, blank lines, trailing spaces."""
    data = normalize_code(kind, text).encode("utf-8", "surrogatepass")
    return blake2b(data, digest_size=16).hexdigest()
