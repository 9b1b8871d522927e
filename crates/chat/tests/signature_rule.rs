//! The signed layer's one verification rule (PROTOCOL.md section 4.4): a
//! signature is accepted exactly when `ed25519-dalek`'s `verify_strict`
//! accepts it. Ed25519 implementations disagree on a handful of edge
//! cases; each vector here is built by hand to fall in one of them (a
//! small-order key or `R`, a mixed-order one, a non-canonical encoding of
//! `S`, `R` or the key), and the test shows three things for each:
//!
//! - what a receiver of the layer decides ([`MemberKey`]) is what
//!   `verify_strict` decides, and what the rule says it should;
//! - whether ZIP-215's cofactored rule (what `ed25519-zebra` checks, alone
//!   or in a batch) would decide otherwise: the vectors that separate the
//!   rules are the reason batching went;
//! - that honest signatures pass, so the rule refuses only the edge cases.
//!
//! `make interop` sends the same kinds of vectors through `signed_client`
//! and compares with Python's `cryptography` (OpenSSL).

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha512};

use chat::layer::MemberKey;

/// The order of the base point, l = 2^252 + 27742317777372353535851937790883648493,
/// little-endian (RFC 8032 section 5.1).
const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// What every vector signs.
const MESSAGE: &[u8] = b"tp-unsecured-chat: one rule for every receiver";

/// A point of order 8: added to a point, it makes a mixed-order one.
fn torsion() -> EdwardsPoint {
    EIGHT_TORSION[1]
}

/// A signer whose secret scalar the test knows.
struct Signer {
    secret: Scalar,
    public: [u8; 32],
}

impl Signer {
    fn new(seed: u8) -> Self {
        let secret = Scalar::from_bytes_mod_order([seed; 32]);
        let public = EdwardsPoint::mul_base(&secret).compress().to_bytes();
        Self { secret, public }
    }
}

/// RFC 8032's challenge: SHA-512(R || A || M), reduced.
fn challenge(r: &[u8; 32], key: &[u8; 32], message: &[u8]) -> Scalar {
    let mut hash = Sha512::new();
    hash.update(r);
    hash.update(key);
    hash.update(message);
    Scalar::from_bytes_mod_order_wide(&hash.finalize().into())
}

/// A signature of `R` and `S` as bytes.
fn signature(r: [u8; 32], s: [u8; 32]) -> [u8; 64] {
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(&r);
    bytes[32..].copy_from_slice(&s);
    bytes
}

/// One edge case: a key and a signature over [`MESSAGE`], and what the
/// strict rule and ZIP-215 each decide.
struct Vector {
    name: &'static str,
    key: [u8; 32],
    signature: [u8; 64],
    strict: bool,
    zip215: bool,
}

impl Vector {
    /// An honest signature by `signer`, with nonce `r`.
    fn honest(signer: &Signer, nonce: u8) -> ([u8; 32], Scalar) {
        let r = Scalar::from_bytes_mod_order([nonce; 32]);
        let big_r = EdwardsPoint::mul_base(&r).compress().to_bytes();
        let k = challenge(&big_r, &signer.public, MESSAGE);
        (big_r, r + k * signer.secret)
    }
}

/// The strict rule, as dalek gives it.
fn verify_strict(vector: &Vector) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(&vector.key) else {
        return false;
    };
    key.verify_strict(MESSAGE, &Signature::from_bytes(&vector.signature))
        .is_ok()
}

/// ZIP-215's rule: canonical `S`, any encoding of `R` and the key that
/// decodes, and the cofactored equation [8][S]B = [8]R + [8][k]A.
fn zip215(vector: &Vector) -> bool {
    let mut r = [0u8; 32];
    r.copy_from_slice(&vector.signature[..32]);
    let mut s = [0u8; 32];
    s.copy_from_slice(&vector.signature[32..]);
    let (Some(big_r), Some(key)) = (
        CompressedEdwardsY(r).decompress(),
        CompressedEdwardsY(vector.key).decompress(),
    ) else {
        return false;
    };
    let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s)) else {
        return false;
    };
    let k = challenge(&r, &vector.key, MESSAGE);
    let difference = EdwardsPoint::mul_base(&s) - big_r - k * key;
    difference.mul_by_cofactor().is_identity()
}

/// What a receiver of the signed layer decides.
fn receiver(vector: &Vector) -> bool {
    MemberKey::from_bytes(&vector.key)
        .is_ok_and(|key| key.verifies(MESSAGE, &Signature::from_bytes(&vector.signature)))
}

/// `n` as 32 little-endian bytes.
fn le_bytes(n: u128, top: u8) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(&n.to_le_bytes());
    bytes[31] = top;
    bytes
}

/// The field's prime plus `i`, as a point encoding with sign bit `sign`:
/// a non-canonical encoding of the y-coordinate `i`.
fn non_canonical_y(i: u8, sign: bool) -> [u8; 32] {
    // p = 2^255 - 19: 0xed, then 0xff up to 0x7f.
    let mut bytes = [0xff; 32];
    bytes[0] = 0xed + i;
    bytes[31] = 0x7f | if sign { 0x80 } else { 0 };
    bytes
}

/// A nonce whose challenge is, or is not, a multiple of 8 for `key`:
/// what decides whether a mixed-order key passes the strict rule.
fn nonce_with(key: &[u8; 32], multiple_of_eight: bool) -> (Scalar, [u8; 32], Scalar) {
    (1..=u8::MAX)
        .map(|seed| {
            let r = Scalar::from_bytes_mod_order([seed; 32]);
            let big_r = EdwardsPoint::mul_base(&r).compress().to_bytes();
            (r, big_r, challenge(&big_r, key, MESSAGE))
        })
        .find(|(_, _, k)| (k.as_bytes()[0] % 8 == 0) == multiple_of_eight)
        .expect("one nonce in eight or so fits")
}

fn vectors() -> Vec<Vector> {
    let alice = Signer::new(7);
    let (r, s) = Vector::honest(&alice, 1);
    let mut vectors = vec![Vector {
        name: "honest signature",
        key: alice.public,
        signature: signature(r, s.to_bytes()),
        strict: true,
        zip215: true,
    }];
    vectors.extend(non_canonical_s(&alice));
    vectors.extend(small_order_keys());
    vectors.extend(small_order_r(&alice));
    vectors.extend(mixed_order(&alice));
    vectors
}

/// `S + ℓ`: the same scalar, not reduced. Every modern rule refuses it
/// (it is the malleability RFC 8032 closes).
fn non_canonical_s(alice: &Signer) -> Vec<Vector> {
    let (r, s) = Vector::honest(alice, 2);
    let mut unreduced = [0u8; 32];
    let mut carry = 0u16;
    for (i, (a, b)) in s.as_bytes().iter().zip(&GROUP_ORDER).enumerate() {
        let sum = u16::from(*a) + u16::from(*b) + carry;
        unreduced[i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "S + l fits in 32 bytes");
    vec![Vector {
        name: "non-canonical S (S + l)",
        key: alice.public,
        signature: signature(r, unreduced),
        strict: false,
        zip215: false,
    }]
}

/// The identity as the key (canonical, then non-canonical: y = p + 1),
/// with `R = [S]B`: the equation holds for any message. OpenSSL accepts
/// the canonical one.
fn small_order_keys() -> Vec<Vector> {
    let s = Scalar::from_bytes_mod_order([3; 32]);
    let r = EdwardsPoint::mul_base(&s).compress().to_bytes();
    let canonical_identity = EdwardsPoint::default().compress().to_bytes();
    assert_eq!(canonical_identity, le_bytes(1, 0));
    [
        ("small-order key (the identity)", canonical_identity),
        (
            "small-order key, non-canonical (y = p + 1)",
            non_canonical_y(1, false),
        ),
    ]
    .map(|(name, key)| Vector {
        name,
        key,
        signature: signature(r, s.to_bytes()),
        strict: false,
        zip215: true,
    })
    .into()
}

/// `R` of small order, `S = k·a`: then [S]B - [k]A is the identity. OpenSSL
/// accepts `R` = the identity, canonically encoded.
fn small_order_r(alice: &Signer) -> Vec<Vector> {
    let cases = [
        (
            "small-order R (the identity)",
            EdwardsPoint::default().compress().to_bytes(),
        ),
        (
            "small-order R, non-canonical (y = p + 1)",
            non_canonical_y(1, false),
        ),
        (
            "small-order R (of order 8)",
            torsion().compress().to_bytes(),
        ),
    ];
    cases
        .map(|(name, r)| {
            let k = challenge(&r, &alice.public, MESSAGE);
            Vector {
                name,
                key: alice.public,
                signature: signature(r, (k * alice.secret).to_bytes()),
                strict: false,
                zip215: true,
            }
        })
        .into()
}

/// Points with a torsion component: only the cofactored rule ignores it.
/// A mixed-order key passes the strict rule only when the challenge is a
/// multiple of 8 (then [k]T vanishes): both cases are here.
fn mixed_order(alice: &Signer) -> Vec<Vector> {
    let r = Scalar::from_bytes_mod_order([5; 32]);
    let mixed_r = (EdwardsPoint::mul_base(&r) + torsion())
        .compress()
        .to_bytes();
    let k = challenge(&mixed_r, &alice.public, MESSAGE);
    let mut vectors = vec![Vector {
        name: "mixed-order R",
        key: alice.public,
        signature: signature(mixed_r, (r + k * alice.secret).to_bytes()),
        strict: false,
        zip215: true,
    }];
    let public = EdwardsPoint::mul_base(&alice.secret);
    let mixed_key = (public + torsion()).compress().to_bytes();
    for (name, multiple, strict) in [
        (
            "mixed-order key, challenge not a multiple of 8",
            false,
            false,
        ),
        ("mixed-order key, challenge a multiple of 8", true, true),
    ] {
        let (r, big_r, k) = nonce_with(&mixed_key, multiple);
        vectors.push(Vector {
            name,
            key: mixed_key,
            signature: signature(big_r, (r + k * alice.secret).to_bytes()),
            strict,
            zip215: true,
        });
    }
    vectors
}

#[test]
fn a_receiver_accepts_exactly_what_verify_strict_accepts() {
    for vector in vectors() {
        let name = vector.name;
        assert_eq!(verify_strict(&vector), vector.strict, "dalek: {name}");
        assert_eq!(zip215(&vector), vector.zip215, "ZIP-215: {name}");
        assert_eq!(receiver(&vector), vector.strict, "receiver: {name}");
    }
}

/// The vectors are worth having: most of them separate the rules, and the
/// honest one passes both.
#[test]
fn the_vectors_separate_the_strict_rule_from_zip_215() {
    let vectors = vectors();
    let separating = vectors.iter().filter(|v| v.strict != v.zip215).count();
    assert_eq!(
        separating, 7,
        "small-order keys and R, mixed-order R and key"
    );
    assert!(vectors.iter().any(|v| v.strict && v.zip215));
    assert!(vectors.iter().any(|v| !v.strict && !v.zip215));
}

/// No key hides behind a non-canonical encoding (a y-coordinate of
/// 2^255 - 19 or more): a receiver refuses every one that decodes, those
/// of small order and the others alike.
#[test]
fn a_non_canonical_key_encoding_is_refused() {
    let (mut small, mut large) = (0, 0);
    for i in 0..19u8 {
        for sign in [false, true] {
            let bytes = non_canonical_y(i, sign);
            let Some(point) = CompressedEdwardsY(bytes).decompress() else {
                continue;
            };
            assert_ne!(point.compress().to_bytes(), bytes, "not canonical");
            assert!(MemberKey::from_bytes(&bytes).is_err(), "y = p + {i}");
            if point.is_small_order() {
                small += 1;
            } else {
                large += 1;
            }
        }
    }
    assert!(
        small > 0 && large > 0,
        "{small} of small order, {large} not"
    );
}
