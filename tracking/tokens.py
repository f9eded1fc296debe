"""Signed, compact, URL-safe tokens for the open pixel and tracked links.

Layout (then base64url without padding):

    version+kind (1 byte) | key id length (1) | key id | email id (varint) | link index (varint, clicks)
    | destination (clicks only, encrypted) | tag (16 bytes)

The tag is HMAC-SHA256 over everything before it plus the plaintext destination, truncated to
128 bits. The destination travels inside the token (so a redirect needs no database read and
survives every purge), encrypted with the keystream SHAKE-256(enc key || tag), a keyed XOF as
in KMAC: a deterministic SIV construction (MAC first, then the tag is the IV of the keystream), so
personal data in a link (an address in a query string, a reset code) is not readable in the
token. Keys rotate: the newest key signs, every configured key verifies.
Written by hand because no library offers this compact, rotating, AEAD-with-HMAC format.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import Literal, NamedTuple

Kind = Literal["open", "click"]
VERSION = 1
KIND_CODES: dict[str, int] = {"open": 1, "click": 2}
CODE_KINDS = {code: kind for kind, code in KIND_CODES.items()}
TAG_BYTES = 16
MAX_DESTINATION_BYTES = 4096  # longer links are left untracked (see rewrite.LinkRules)
BASE64URL = re.compile("[A-Za-z0-9_-]{22,5600}")  # up to a token carrying the longest destination


class InvalidToken(Exception):
    """Malformed, truncated, tampered or signed by an unknown key."""


class TrackingToken(NamedTuple):
    kind: Kind
    email_id: int
    key_id: str
    link_index: int | None = None
    destination: str | None = None


def _varint(value: int) -> bytes:
    if value < 0x80:
        if value < 0:
            raise ValueError("varints are unsigned")
        return bytes((value,))
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    if pos < len(data) and data[pos] < 0x80:  # one byte: the common case
        return data[pos], pos + 1
    value = shift = 0
    while pos < len(data) and shift <= 63:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise InvalidToken("truncated number")


class _Key:
    __slots__ = ("_inner", "_outer", "enc_key", "key_id", "mac_key", "prefixes")

    def __init__(self, key_id: str, secret: bytes) -> None:
        self.key_id = key_id
        encoded = key_id.encode()
        self.prefixes = {
            kind: bytes([VERSION << 4 | code, len(encoded)]) + encoded for kind, code in KIND_CODES.items()
        }
        # Separate keys for the MAC and the cipher, both derived from the configured secret.
        self.mac_key = hmac.new(secret, b"mailsetu tracking token mac", hashlib.sha256).digest()
        self.enc_key = hmac.new(secret, b"mailsetu tracking token enc", hashlib.sha256).digest()
        # HMAC (RFC 2104) with its padded-key states computed once: half the cost of hmac.digest
        # on the hot routes, the same bytes (a test compares them).
        block = self.mac_key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def tag(self, header: bytes, plaintext: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(header)
        inner.update(plaintext)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:TAG_BYTES]

    def crypt(self, tag: bytes, data: bytes) -> bytes:
        """XOR with the keystream: its own inverse, so it both encrypts and decrypts."""
        if not data:
            return b""
        size = len(data)
        stream = hashlib.shake_256(self.enc_key + tag).digest(size)
        return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(size, "big")


class TokenSigner:
    """Signs with the first (newest) key; verifies with any of them."""

    def __init__(self, keys: tuple[tuple[str, bytes], ...]) -> None:
        if not keys:
            raise ValueError("tracking tokens need at least one key (MS_TOKEN_KEYS)")
        self._keys = [_Key(key_id, secret) for key_id, secret in keys]
        self._by_id = {key.key_id.encode(): key for key in self._keys}

    @property
    def signing_key_id(self) -> str:
        return self._keys[0].key_id

    def sign_open(self, email_id: int) -> str:
        return self._sign("open", email_id, None, b"")

    def sign_click(self, email_id: int, link_index: int, destination: str) -> str:
        encoded = destination.encode()
        if len(encoded) > MAX_DESTINATION_BYTES:
            raise ValueError(f"destinations longer than {MAX_DESTINATION_BYTES} bytes are not tracked")
        return self._sign("click", email_id, link_index, encoded)

    def _sign(self, kind: Kind, email_id: int, link_index: int | None, plaintext: bytes) -> str:
        key = self._keys[0]
        header = key.prefixes[kind] + _varint(email_id)
        if link_index is not None:
            header += _varint(link_index)
        tag = key.tag(header, plaintext)
        raw = header + key.crypt(tag, plaintext) + tag
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def verify(self, token: str, expected_kind: Kind | None = None) -> TrackingToken:
        if not BASE64URL.fullmatch(token):  # the decoder would skip stray characters; refuse them
            raise InvalidToken("not base64url")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError) as exc:
            raise InvalidToken("not base64url") from exc
        if len(raw) < 4 + TAG_BYTES:
            raise InvalidToken("too short")
        kind = CODE_KINDS.get(raw[0] & 0x0F)
        if raw[0] >> 4 != VERSION or kind is None or (expected_kind and kind != expected_kind):
            raise InvalidToken("unknown version or kind")
        end_of_key = 2 + raw[1]
        key = self._by_id.get(raw[2:end_of_key])
        if key is None:
            raise InvalidToken("unknown key")
        email_id, pos = _read_varint(raw, end_of_key)
        link_index = None
        if kind == "click":
            link_index, pos = _read_varint(raw, pos)
        body_end = len(raw) - TAG_BYTES
        if pos > body_end:
            raise InvalidToken("truncated")
        tag = raw[body_end:]
        plaintext = key.crypt(tag, raw[pos:body_end])
        if not hmac.compare_digest(tag, key.tag(raw[:pos], plaintext)):
            raise InvalidToken("bad signature")
        destination = None
        if kind == "click":
            try:
                destination = plaintext.decode()
            except UnicodeDecodeError as exc:  # cannot happen with a valid tag; belt and braces
                raise InvalidToken("bad destination") from exc
        return TrackingToken(
            kind=kind, email_id=email_id, key_id=key.key_id, link_index=link_index, destination=destination
        )
