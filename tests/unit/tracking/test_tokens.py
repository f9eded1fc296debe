"""Tracking tokens: compact, signed, opaque, rotating."""

import base64
import hashlib
import hmac

import pytest

from tracking.tokens import MAX_DESTINATION_BYTES, InvalidToken, TokenSigner

K2 = ("k2", b"test-token-key-two-" + b"y" * 32)
K1 = ("k1", b"test-token-key-one-" + b"z" * 32)
K3 = ("k3", b"test-token-key-three-" + b"w" * 32)
DESTINATION = "https://shop.example/reset?email=reader%40mail.example&code=8f1c2e"


def raw(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_click_token_round_trips_its_email_link_and_destination():
    signer = TokenSigner((K2, K1))

    token = signer.verify(signer.sign_click(123456789, 7, DESTINATION), "click")

    assert (token.kind, token.email_id, token.link_index, token.destination, token.key_id) == (
        "click",
        123456789,
        7,
        DESTINATION,
        "k2",
    )


def test_an_open_token_is_compact_and_url_safe():
    token = TokenSigner((K2,)).sign_open(10**12)

    assert len(token) <= 40
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_the_tag_is_at_least_128_bits():
    signer = TokenSigner((K2,))
    without_tag = raw(signer.sign_open(1))[:-16]

    with pytest.raises(InvalidToken):
        signer.verify(encode(without_tag + b"\0" * 15))


def test_no_part_of_the_destination_is_readable_in_the_token():
    token = TokenSigner((K2,)).sign_click(1, 0, DESTINATION)

    decoded = raw(token)
    for fragment in (b"reader", b"mail.example", b"shop", b"8f1c2e", b"https"):
        assert fragment not in decoded
    assert "reader" not in token and "shop" not in token


def test_every_flipped_bit_is_detected():
    signer = TokenSigner((K2,))
    data = raw(signer.sign_click(42, 3, DESTINATION))

    for position in range(len(data)):
        for bit in (0x01, 0x80):
            tampered = bytearray(data)
            tampered[position] ^= bit
            with pytest.raises(InvalidToken):
                signer.verify(encode(bytes(tampered)), "click")


def test_truncated_tokens_are_rejected():
    signer = TokenSigner((K2,))
    token = signer.sign_click(42, 3, DESTINATION)

    for length in range(len(token)):
        with pytest.raises(InvalidToken):
            signer.verify(token[:length], "click")


@pytest.mark.parametrize("garbage", ["", "!!!!", "a", "====", "%2e%2e", "x" * 500])
def test_garbage_is_rejected(garbage):
    with pytest.raises(InvalidToken):
        TokenSigner((K2,)).verify(garbage)


def test_a_token_of_another_kind_is_rejected():
    signer = TokenSigner((K2,))

    with pytest.raises(InvalidToken):
        signer.verify(signer.sign_open(1), "click")


def test_new_tokens_use_the_newest_key_and_old_keys_keep_verifying():
    old = TokenSigner((K1,)).sign_click(5, 0, DESTINATION)
    rotated = TokenSigner((K2, K1))

    assert rotated.verify(old, "click").key_id == "k1"
    assert rotated.verify(rotated.sign_click(5, 0, DESTINATION), "click").key_id == "k2"


def test_a_retired_or_foreign_key_no_longer_verifies():
    token = TokenSigner((K1,)).sign_open(5)

    with pytest.raises(InvalidToken):
        TokenSigner((K2,)).verify(token)
    with pytest.raises(InvalidToken):
        TokenSigner((K3,)).verify(token)


def test_a_token_claiming_a_known_key_id_but_signed_with_another_secret_is_rejected():
    forged = TokenSigner((("k2", b"an-attacker-secret-" + b"q" * 32),)).sign_click(5, 0, "https://evil.example/")

    with pytest.raises(InvalidToken):
        TokenSigner((K2, K1)).verify(forged, "click")


def test_the_longest_trackable_destination_still_verifies_and_longer_ones_are_refused():
    signer = TokenSigner((K2,))
    longest = "https://x.example/?" + "a" * (MAX_DESTINATION_BYTES - 19)

    assert signer.verify(signer.sign_click(2**40, 10_000, longest), "click").destination == longest
    with pytest.raises(ValueError, match="destination"):
        signer.sign_click(1, 0, longest + "a")


def test_stray_characters_in_a_token_are_not_ignored():
    signer = TokenSigner((K2,))
    token = signer.sign_open(7)

    with pytest.raises(InvalidToken):
        signer.verify(token[:5] + "." + token[5:])


def test_the_tag_is_hmac_sha256_truncated_to_128_bits():
    signer = TokenSigner((K2,))
    data = raw(signer.sign_open(300))
    mac_key = hmac.new(K2[1], b"mailsetu tracking token mac", hashlib.sha256).digest()

    assert data[-16:] == hmac.digest(mac_key, data[:-16], "sha256")[:16]
