"""Signed, encrypted, compact, URL-safe tokens for the open pixel and tracked links.

Version 2 (issued), then base64url without padding:

    version+kind (1 byte) | key id length (1) | key id | AES-SIV(email id (varint) | link index (varint,
    clicks) | destination (clicks))

AES-SIV (RFC 5297, AES-256, from `cryptography`) is deterministic authenticated encryption: the
16-byte synthetic IV it prepends is also the tag, and the header is its associated data, so a
changed byte anywhere fails. The destination travels inside the token (a redirect needs no
database read and survives every purge) and nothing in it is readable: not the destination (an
address in a query string, a reset code), not even the email id. Version 1 (the former home-made
HMAC-SHA256 + SHAKE-256 construction, same length) is still verified so that links already sent
keep working while their keys are configured. Keys rotate: the newest signs, every configured key
verifies; both versions' keys are derived from each MS_TOKEN_KEYS secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import Literal, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

Kind = Literal["open", "click"]
VERSION = 2  # issued; VERSION_1 is verified only
VERSION_1 = 1
KIND_CODES: dict[Kind, int] = {"open": 1, "click": 2}
CODE_KINDS: dict[int, Kind] = {code: kind for kind, code in KIND_CODES.items()}
TAG_BYTES = 16
MAX_DESTINATION_BYTES = 4096  # longer links are left untracked (see rewrite.LinkRules)
BASE64URL = re.compile("[A-Za-z0-9_-]{22,5600}")  # up to a token carrying the longest destination


class InvalidToken(Exception):
    """Malformed, truncated, tampered, of another kind, or signed by an unknown key."""


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
    __slots__ = ("_inner", "_outer", "enc_key", "key_id", "prefixes", "secret", "siv")

    def __init__(self, key_id: str, secret: bytes) -> None:
        self.key_id = key_id
        self.secret = secret
        encoded = key_id.encode()
        if not 0 < len(encoded) < 256:
            raise ValueError("a token key id is 1 to 255 bytes")
        self.prefixes = {
            (version, kind): bytes([version << 4 | code, len(encoded)]) + encoded
            for version in (VERSION, VERSION_1)
            for kind, code in KIND_CODES.items()
        }
        siv_key = HKDF(algorithm=SHA256(), length=64, salt=None, info=b"mailsetu tracking token v2 aes-siv")
        self.siv = AESSIV(siv_key.derive(secret))
        # Version 1: an HMAC key and a keystream key, its padded-key HMAC states computed once.
        mac_key = hmac.new(secret, b"mailsetu tracking token mac", hashlib.sha256).digest()
        self.enc_key = hmac.new(secret, b"mailsetu tracking token enc", hashlib.sha256).digest()
        block = mac_key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def v1_tag(self, header: bytes, plaintext: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(header)
        inner.update(plaintext)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:TAG_BYTES]

    def v1_crypt(self, tag: bytes, data: bytes) -> bytes:
        """XOR with the keystream SHAKE-256(enc key || tag): its own inverse."""
        if not data:
            return b""
        size = len(data)
        stream = hashlib.shake_256(self.enc_key + tag).digest(size)
        return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(size, "big")


class TokenSigner:
    """Signs with the first (newest) key; verifies with any of them. Picklable (rebuilt from its keys)."""

    def __init__(self, keys: tuple[tuple[str, bytes], ...]) -> None:
        if not keys:
            raise ValueError("tracking tokens need at least one key (MS_TOKEN_KEYS)")
        self._keys = [_Key(key_id, secret) for key_id, secret in keys]
        self._by_id = {key.key_id.encode(): key for key in self._keys}

    def __reduce__(self) -> tuple[type[TokenSigner], tuple[tuple[tuple[str, bytes], ...]]]:
        return TokenSigner, (tuple((key.key_id, key.secret) for key in self._keys),)

    @property
    def signing_key_id(self) -> str:
        return self._keys[0].key_id

    def sign_open(self, email_id: int) -> str:
        return self._sign("open", _varint(email_id))

    def sign_click(self, email_id: int, link_index: int, destination: str) -> str:
        encoded = destination.encode()
        if len(encoded) > MAX_DESTINATION_BYTES:
            raise ValueError(f"destinations longer than {MAX_DESTINATION_BYTES} bytes are not tracked")
        return self._sign("click", _varint(email_id) + _varint(link_index) + encoded)

    def _sign(self, kind: Kind, plaintext: bytes) -> str:
        key = self._keys[0]
        header = key.prefixes[VERSION, kind]
        raw = header + key.siv.encrypt(plaintext, [header])
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def verify(self, token: str, expected_kind: Kind | None = None) -> TrackingToken:
        """The token's content, or InvalidToken (and never another exception) for anything else."""
        if not isinstance(token, str) or not BASE64URL.fullmatch(token):  # the decoder would skip stray characters
            raise InvalidToken("not base64url")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError) as exc:
            raise InvalidToken("not base64url") from exc
        version, kind = raw[0] >> 4, CODE_KINDS.get(raw[0] & 0x0F)
        if kind is None or (expected_kind and kind != expected_kind):
            raise InvalidToken("unknown kind")
        end_of_key = 2 + raw[1]
        key = self._by_id.get(raw[2:end_of_key])
        if key is None:
            raise InvalidToken("unknown key")
        if version == VERSION:
            plaintext = self._open_v2(key, raw[:end_of_key], raw[end_of_key:])
        elif version == VERSION_1:
            plaintext = self._open_v1(key, raw, end_of_key, kind)
        else:
            raise InvalidToken("unknown version")
        return _parse(kind, key.key_id, plaintext)

    @staticmethod
    def _open_v2(key: _Key, header: bytes, sealed: bytes) -> bytes:
        if len(sealed) <= TAG_BYTES:
            raise InvalidToken("truncated")
        try:
            return key.siv.decrypt(sealed, [header])
        except (InvalidTag, ValueError) as exc:
            raise InvalidToken("bad signature") from exc

    @staticmethod
    def _open_v1(key: _Key, raw: bytes, end_of_key: int, kind: Kind) -> bytes:
        """Version 1 keeps the numbers in the clear before the encrypted destination."""
        _, pos = _read_varint(raw, end_of_key)
        if kind == "click":
            _, pos = _read_varint(raw, pos)
        body_end = len(raw) - TAG_BYTES
        if pos > body_end:
            raise InvalidToken("truncated")
        tag = raw[body_end:]
        destination = key.v1_crypt(tag, raw[pos:body_end])
        if not hmac.compare_digest(tag, key.v1_tag(raw[:pos], destination)):
            raise InvalidToken("bad signature")
        return raw[end_of_key:pos] + destination


def _parse(kind: Kind, key_id: str, plaintext: bytes) -> TrackingToken:
    """email id | link index and destination (clicks); authenticated already, checked all the same."""
    email_id, pos = _read_varint(plaintext, 0)
    if kind == "open":
        if pos != len(plaintext):
            raise InvalidToken("trailing bytes")
        return TrackingToken(kind=kind, email_id=email_id, key_id=key_id)
    link_index, pos = _read_varint(plaintext, pos)
    try:
        destination = plaintext[pos:].decode()
    except UnicodeDecodeError as exc:
        raise InvalidToken("bad destination") from exc
    return TrackingToken(kind=kind, email_id=email_id, key_id=key_id, link_index=link_index, destination=destination)
