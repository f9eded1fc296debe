"""Tracking tokens: compact, signed, opaque, rotating; version 2 issued (AES-SIV), version 1 still verified."""

import base64
import pickle
import random

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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


# Test vectors. Version 1 tokens were minted by the version 1 code (commit 12c979b), before version 2.
UNICODE_DESTINATION = "https://x.example/café?q=ü"
V1_CLICK = "EgJrMZWa7zoHHR9-4mj6sVERi25wjxkibkHfFvtnPvaO1TjGcPoYdzZXwGPEho46HadatTZZZoyyk7d0ZGjsYN62ByN5QIFqqg8GBi83oZgsX3jWuJLel5ReBw"
V1_OPEN = "EQJrMYCglKWNHbA0rGztoF_FiyFQ4yAjENI"
V1_UNICODE_CLICK = "EgJrMgEAv4HhsdzSeqh6XIUpOWcW2ez99SrsvlzS9AY9JWINqnOPsZ8v1kRyP3YOASg"
V2_CLICK = "IgJrMc2nQiBYD8_xE1P1F5QaBmmrKFf2TVkRyOaCO33_QEc9jNigk65zMVgm_j7eNscIX-YwBKi0BUT-xo_rsPbNIxn0xwoAo8JOuUOZOZBs8he3NqdxtfCzqQ"
V2_OPEN = "IQJrMWpbhp-Dh0x8ivngRhZvr7P97IP84Oc"
V2_UNICODE_CLICK = "IgJrMuLt8oDkzfyB4xgcEjId_jUZEizAiP9voG9SmLIOTocM55AERW63bg9VPSGIHX8"


def test_version_2_tokens_are_pinned_by_test_vectors():
    assert TokenSigner((K1,)).sign_click(123456789, 7, DESTINATION) == V2_CLICK
    assert TokenSigner((K1,)).sign_open(10**12) == V2_OPEN
    assert TokenSigner((K2,)).sign_click(1, 0, UNICODE_DESTINATION) == V2_UNICODE_CLICK


def test_version_2_is_aes_siv_with_the_header_as_associated_data_and_an_hkdf_key():
    header = bytes([0x22, 2]) + b"k1"
    key = HKDF(algorithm=SHA256(), length=64, salt=None, info=b"mailsetu tracking token v2 aes-siv").derive(K1[1])
    plaintext = bytes([0x95, 0x9A, 0xEF, 0x3A]) + bytes([7]) + DESTINATION.encode()  # varints 123456789, 7

    assert raw(V2_CLICK) == header + AESSIV(key).encrypt(plaintext, [header])


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (V1_CLICK, ("click", 123456789, 7, DESTINATION, "k1")),
        (V1_OPEN, ("open", 10**12, None, None, "k1")),
        (V1_UNICODE_CLICK, ("click", 1, 0, UNICODE_DESTINATION, "k2")),
        (V2_CLICK, ("click", 123456789, 7, DESTINATION, "k1")),
        (V2_OPEN, ("open", 10**12, None, None, "k1")),
        (V2_UNICODE_CLICK, ("click", 1, 0, UNICODE_DESTINATION, "k2")),
    ],
)
def test_tokens_of_both_versions_verify_while_their_key_is_configured(token, expected):
    found = TokenSigner((K3, K2, K1)).verify(token)

    assert (found.kind, found.email_id, found.link_index, found.destination, found.key_id) == expected
    with pytest.raises(InvalidToken):
        TokenSigner((K3,)).verify(token)  # the key retired: the token is dead


def test_version_2_is_no_longer_than_version_1_for_the_same_input():
    for v1, v2 in ((V1_CLICK, V2_CLICK), (V1_OPEN, V2_OPEN), (V1_UNICODE_CLICK, V2_UNICODE_CLICK)):
        assert len(v2) == len(v1)
    assert len(V2_OPEN) == 35 and len(V2_CLICK) == 122


def test_the_email_id_is_not_readable_in_a_version_2_token():
    signer = TokenSigner((K2,))
    email_id = bytes([0x95, 0x9A, 0xEF, 0x3A])  # varint of 123456789

    assert email_id not in raw(signer.sign_open(123456789))
    assert email_id in raw(V1_CLICK)  # positive control: version 1 had it in the clear


@pytest.mark.parametrize("token", [V1_CLICK, V1_OPEN], ids=["click", "open"])
def test_every_flipped_bit_of_a_version_1_token_is_detected(token):
    signer = TokenSigner((K1,))
    data = raw(token)

    assert signer.verify(token)
    for position in range(len(data)):
        for bit in (0x01, 0x80):
            tampered = bytearray(data)
            tampered[position] ^= bit
            with pytest.raises(InvalidToken):
                signer.verify(encode(bytes(tampered)))


@pytest.mark.parametrize("token", [V1_CLICK, V2_CLICK], ids=["v1", "v2"])
def test_a_click_token_is_not_an_open_token_in_either_version(token):
    with pytest.raises(InvalidToken):
        TokenSigner((K1,)).verify(token, "open")
    assert TokenSigner((K1,)).verify(token, "click").kind == "click"


def test_a_token_of_an_unknown_version_is_rejected():
    data = bytearray(raw(V2_OPEN))
    data[0] = 0x31

    with pytest.raises(InvalidToken):
        TokenSigner((K1,)).verify(encode(bytes(data)))


@pytest.mark.parametrize(
    "token",
    [None, b"IQJrMWpbhp-Dh0x8ivngRhZvr7P97IP84Oc", 42, "A" * 5601, "IQJr" * 250_000, V2_OPEN + "\n", " " + V2_OPEN],
    ids=["none", "bytes", "int", "one-too-long", "one-megabyte", "newline", "space"],
)
def test_oversized_or_mistyped_tokens_fail_cleanly(token):
    with pytest.raises(InvalidToken):
        TokenSigner((K1,)).verify(token)


def test_random_and_mutated_tokens_only_ever_raise_invalid_token():
    rng = random.Random(12)
    signer = TokenSigner((K1, K2))
    seeds = [raw(t) for t in (V1_CLICK, V1_OPEN, V2_CLICK, V2_OPEN)]
    tried = rejected = 0
    while tried < 3000:
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            operation = rng.randrange(3)
            if operation == 0:
                data[rng.randrange(len(data))] = rng.randrange(256)
            elif operation == 1 and len(data) > 17:
                del data[rng.randrange(2, len(data)) :]
            else:
                data[2:2] = rng.randbytes(rng.randint(1, 8))
        if bytes(data) in seeds:
            continue  # a mutation that changed nothing
        tried += 1
        try:
            signer.verify(encode(bytes(data)))
        except InvalidToken:
            rejected += 1
    assert rejected == 3000
    assert signer.verify(V2_CLICK).destination == DESTINATION  # positive control


def test_a_signer_survives_pickling_for_a_process_pool():
    signer = pickle.loads(pickle.dumps(TokenSigner((K2, K1))))  # noqa: S301  (our own bytes)

    assert signer.verify(V1_CLICK).email_id == 123456789
    assert signer.sign_open(10**12) == TokenSigner((K2,)).sign_open(10**12)


def test_key_ids_must_fit_in_one_length_byte():
    with pytest.raises(ValueError, match="key id"):
        TokenSigner((("k" * 256, b"s" * 40),))
