//! Known answers for the lab's crypto, through the project's own module:
//! the Fernet spec's test vectors, PBKDF2-HMAC-SHA256 from RFC 7914, and a
//! key computed once with Python's `hashlib`, so that our derivation is
//! shown equal to the one the Python lab uses.
//!
//! The vectors are copies of the spec's files kept in this repository
//! (`tests/vectors/fernet/`), so the test runs on any fresh clone.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use chat::layer::crypto::{
    self, DEFAULT_ITERATIONS, DecryptError, KEY_LEN, Password, SALT_LEN, Salt,
};
use fernet::Fernet;
use serde_json::Value;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/fernet");

/// RFC 7914 section 11, the PBKDF2-HMAC-SHA256 test vector.
const RFC7914_PASSWORD: &[u8] = b"passwd";
const RFC7914_SALT: &[u8] = b"salt";
const RFC7914_ITERATIONS: u32 = 1;
const RFC7914_DK: &str = "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
                          49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783";

/// The lab's key for password "s3cret" and salt 00 01 .. 0f, computed once with
/// `base64.urlsafe_b64encode(hashlib.pbkdf2_hmac('sha256', b's3cret',
/// bytes(range(16)), 100, 32))`.
const PYTHON_LAB_PASSWORD: &str = "s3cret";
const PYTHON_LAB_KEY: &str = "FGIzbw9mH0UHSegjVCj0Fwx24iBW06FG_GOCjYJj364=";

/// Where the IV sits in a decoded token: after the version byte and the
/// 8-byte timestamp.
const IV_RANGE: std::ops::Range<usize> = 9..25;

const SECS_PER_DAY: i64 = 86_400;

fn load(name: &str) -> Vec<Value> {
    let path = format!("{VECTORS}/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    match serde_json::from_str(&text) {
        Ok(Value::Array(cases)) => cases,
        other => panic!("{path} is not a JSON array: {other:?}"),
    }
}

fn field<'a>(case: &'a Value, name: &str) -> &'a str {
    case[name]
        .as_str()
        .unwrap_or_else(|| panic!("no string field {name:?} in {case}"))
}

fn key_of(case: &Value) -> Fernet {
    crypto::fernet_key_from_base64(field(case, "secret")).expect("the vectors' keys are valid")
}

fn now_of(case: &Value) -> u64 {
    let now = unix_seconds(field(case, "now"));
    u64::try_from(now).expect("the vectors are dated after 1970")
}

fn ttl_of(case: &Value) -> u64 {
    case["ttl_sec"].as_u64().expect("a ttl_sec field")
}

/// Seconds since the Unix epoch of an RFC 3339 date-time with a numeric
/// offset or `Z`, as the vectors write `now` ("1985-10-26T01:20:01-07:00").
fn unix_seconds(rfc3339: &str) -> i64 {
    let (date, time) = rfc3339
        .split_once('T')
        .expect("a 'T' between date and time");
    let [year, month, day] = numbers::<3>(date, '-');
    let (clock, offset) = split_offset(time);
    let [hour, minute, second] = numbers::<3>(clock, ':');
    days_from_civil(year, month, day) * SECS_PER_DAY + hour * 3600 + minute * 60 + second - offset
}

/// Splits "01:20:01-07:00" into the clock and the offset in seconds east of UTC.
fn split_offset(time: &str) -> (&str, i64) {
    if let Some(clock) = time.strip_suffix('Z') {
        return (clock, 0);
    }
    let at = time
        .rfind(['+', '-'])
        .expect("an offset: Z, +HH:MM or -HH:MM");
    let (clock, offset) = time.split_at(at);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let [hours, minutes] = numbers::<2>(&offset[1..], ':');
    (clock, sign * (hours * 3600 + minutes * 60))
}

fn numbers<const N: usize>(text: &str, separator: char) -> [i64; N] {
    let parsed: Vec<i64> = text
        .split(separator)
        .map(|n| n.parse().unwrap_or_else(|e| panic!("{text:?}: {e}")))
        .collect();
    parsed
        .try_into()
        .unwrap_or_else(|_| panic!("{text:?} is not {N} numbers"))
}

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`): eras of 400 years, years starting in March so that
/// the leap day comes last.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[test]
fn the_date_helper_agrees_with_known_instants() {
    assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), 0);
    assert_eq!(unix_seconds("2000-03-01T00:00:00+00:00"), 951_868_800);
    // The vectors' instant: 08:20:00 UTC, which is 0x1dc09eb0, the
    // timestamp the spec's tokens carry.
    assert_eq!(unix_seconds("1985-10-26T01:20:00-07:00"), 0x1dc0_9eb0);
    assert_eq!(unix_seconds("1985-10-26T10:20:00+02:00"), 0x1dc0_9eb0);
}

#[test]
fn every_verify_vector_decrypts_to_its_source_at_its_time() {
    let cases = load("verify.json");
    assert!(!cases.is_empty());
    for case in &cases {
        let plaintext = crypto::decrypt_at(
            &key_of(case),
            field(case, "token"),
            now_of(case),
            ttl_of(case),
        );
        assert_eq!(
            plaintext.as_deref(),
            Ok(field(case, "src").as_bytes()),
            "{case}"
        );
    }
}

/// The error the spec's description of an invalid case calls for, when it
/// names one precisely.
fn expected_error(desc: &str) -> Option<fn(&DecryptError) -> bool> {
    let check: fn(&DecryptError) -> bool = match desc {
        "incorrect mac" | "payload padding error" | "incorrect IV (causes padding error)" => {
            |e| *e == DecryptError::WrongKeyOrAltered
        }
        "too short" => |e| *e == DecryptError::MalformedToken("too short"),
        "invalid base64" | "payload size not multiple of block size" => {
            |e| matches!(e, DecryptError::MalformedToken(_))
        }
        "far-future TS (unacceptable clock skew)" => {
            |e| matches!(e, DecryptError::FromTheFuture { .. })
        }
        "expired TTL" => |e| matches!(e, DecryptError::Expired { .. }),
        _ => return None,
    };
    Some(check)
}

#[test]
fn every_invalid_vector_is_refused_for_the_right_reason() {
    let cases = load("invalid.json");
    assert!(!cases.is_empty());
    for case in &cases {
        let desc = field(case, "desc");
        let result = crypto::decrypt_at(
            &key_of(case),
            field(case, "token"),
            now_of(case),
            ttl_of(case),
        );
        let error = match result {
            Ok(plaintext) => panic!("{desc:?} was accepted as {plaintext:?}"),
            Err(error) => error,
        };
        if let Some(is_expected) = expected_error(desc) {
            assert!(is_expected(&error), "{desc:?} refused, but as {error:?}");
        }
    }
}

#[test]
fn every_generate_vector_decrypts_to_its_source_and_carries_its_time_and_iv() {
    let cases = load("generate.json");
    assert!(!cases.is_empty());
    for case in &cases {
        let token = field(case, "token");
        let now = now_of(case);
        // Made at `now`: no age at all, so even a TTL of 0 accepts it.
        let plaintext = crypto::decrypt_at(&key_of(case), token, now, 0);
        assert_eq!(
            plaintext.as_deref(),
            Ok(field(case, "src").as_bytes()),
            "{case}"
        );
        assert_eq!(crypto::inspect_token(token).map(|i| i.timestamp), Ok(now));
        let iv: Vec<u64> = serde_json::from_value(case["iv"].clone()).expect("an iv array");
        let bytes = URL_SAFE.decode(token).expect("a URL-safe base64 token");
        let token_iv: Vec<u64> = bytes[IV_RANGE].iter().map(|&b| u64::from(b)).collect();
        assert_eq!(token_iv, iv);
    }
}

#[test]
fn pbkdf2_hmac_sha256_gives_the_rfc_7914_answer() {
    let mut derived = [0u8; 64];
    crypto::pbkdf2_hmac_sha256(
        RFC7914_PASSWORD,
        RFC7914_SALT,
        RFC7914_ITERATIONS,
        &mut derived,
    );
    let hex: String = derived.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, RFC7914_DK);
}

/// Salt 00 01 02 .. 0f, as `bytes(range(16))` in Python.
fn counting_salt() -> Salt {
    let mut salt = [0u8; SALT_LEN];
    for (byte, value) in salt.iter_mut().zip(0u8..) {
        *byte = value;
    }
    Salt(salt)
}

#[test]
fn the_labs_key_derivation_equals_pythons() {
    let salt = counting_salt();
    let mut derived = [0u8; KEY_LEN];
    crypto::pbkdf2_hmac_sha256(
        PYTHON_LAB_PASSWORD.as_bytes(),
        &salt.0,
        DEFAULT_ITERATIONS,
        &mut derived,
    );
    assert_eq!(URL_SAFE.encode(derived), PYTHON_LAB_KEY);

    // The key the clients use is that one: a token sealed under it opens
    // with Python's key, and the reverse.
    let ours = crypto::derive_key_from_password(
        &Password::new(PYTHON_LAB_PASSWORD),
        &salt,
        DEFAULT_ITERATIONS,
    );
    let pythons = crypto::fernet_key_from_base64(PYTHON_LAB_KEY).expect("a valid Fernet key");
    let now = crypto::unix_now(0);
    let sealed = crypto::encrypt_at(&ours, b"same key", now);
    assert_eq!(
        crypto::open_token(&pythons, &sealed).map(|(_, p)| p),
        Ok(b"same key".to_vec())
    );
    let sealed = crypto::encrypt_at(&pythons, b"both ways", now);
    assert_eq!(
        crypto::open_token(&ours, &sealed).map(|(_, p)| p),
        Ok(b"both ways".to_vec())
    );
}

#[test]
fn decrypt_message_opens_a_frame_made_the_pythons_way() {
    // What Python's encrypt_message sends for a salt of 00..0f: the salt in
    // standard base64 and a token under PYTHON_LAB_KEY.
    let pythons = crypto::fernet_key_from_base64(PYTHON_LAB_KEY).expect("a valid Fernet key");
    let token = pythons.encrypt(b"bonjour");
    let text = crypto::decrypt_message(
        &Password::new(PYTHON_LAB_PASSWORD),
        &token,
        &counting_salt().to_base64(),
        DEFAULT_ITERATIONS,
    );
    assert_eq!(text.as_deref(), Ok("bonjour"));
}
