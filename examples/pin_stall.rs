//! How long a signed receiver's verifier stalls on a new pin, with a full
//! pin file: two receivers share one known-members file (two terminals of
//! one account), which already pins PINNED members, and NEW members speak
//! for the first time at RATE a second, so that the file ends at 4,096
//! pins. Each receiver opens every message as the client's verifier
//! thread does (its `Open`), paced as the messages arrive; what is
//! measured is how long each open takes: the signature, the pin appended
//! under the file's lock, whatever the other receiver appended read first.
//! Before, each new pin re-read and rewrote the whole file (minutes of
//! stall at this size).
//!
//! ```sh
//! cargo run --release --example pin_stall                  # 3,096 pinned, 1,000 new at 100/s
//! cargo run --release --example pin_stall -- 3096 1000 100
//! ```

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use chat::layer::{
    AeSettings, Identity, KnownMembers, Open, Password, Seal, SignedSealer, Verdict, signed_opener,
};
use chat::wire::{MessageBody, Nick};

const DEFAULT_PINNED: usize = 3_096;
const DEFAULT_NEW: usize = 1_000;
const DEFAULT_RATE: u64 = 100;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>().ok());
    let pinned = args.next().flatten().map_or(DEFAULT_PINNED, |n| n as usize);
    let new = args.next().flatten().map_or(DEFAULT_NEW, |n| n as usize);
    let rate = args.next().flatten().unwrap_or(DEFAULT_RATE).max(1);
    let folder = std::env::temp_dir().join(format!("pin-stall-{}", std::process::id()));
    std::fs::create_dir_all(&folder)?;
    let known = folder.join("known_members");
    prefill(&known, pinned)?;
    let settings = AeSettings::new(Password::new("stall"));
    let stream = Arc::new(first_words(&settings, new)?);
    let interval = Duration::from_nanos(1_000_000_000 / rate);
    let start = Instant::now() + Duration::from_millis(200);
    let receivers: Vec<_> = (0..2)
        .map(|i| {
            let (stream, known, settings) = (Arc::clone(&stream), known.clone(), settings.clone());
            thread::spawn(move || receive(i, &settings, &known, &stream, start, interval))
        })
        .collect();
    for receiver in receivers {
        let line = receiver.join().map_err(|_| "a receiver panicked")??;
        println!("{line}");
    }
    let total = KnownMembers::open(&known)?.len();
    println!("pins in the file at the end: {total}");
    std::fs::remove_dir_all(&folder)?;
    Ok(())
}

/// A pin file holding `count` pins already, as clients append them.
fn prefill(path: &Path, count: usize) -> Result<(), Box<dyn std::error::Error>> {
    let mut text = String::from("# prefilled\n");
    for i in 0..count {
        let key = Identity::generate()?.public().to_base64();
        let _ = writeln!(text, r#"{{"pin":"old{i}","key":"{key}","room":"lobby"}}"#);
    }
    std::fs::write(path, text)?;
    let private = std::os::unix::fs::PermissionsExt::from_mode(0o600);
    std::fs::set_permissions(path, private)?;
    Ok(())
}

/// One message from each of `count` new members.
fn first_words(
    settings: &AeSettings,
    count: usize,
) -> Result<Vec<(String, MessageBody<'static>)>, Box<dyn std::error::Error>> {
    (0..count)
        .map(|i| {
            let nick = format!("new{i}");
            let mut sealer = SignedSealer::new(settings, Identity::generate()?);
            let body = sealer.seal(&Nick::new(nick.clone())?, "hello, first time here")?;
            sealer.verdict(Verdict::Accepted);
            Ok((nick, body))
        })
        .collect()
}

/// One receiver: opens each message when it is due; its stalls, in one
/// line.
fn receive(
    id: usize,
    settings: &AeSettings,
    known: &Path,
    stream: &[(String, MessageBody<'static>)],
    start: Instant,
    interval: Duration,
) -> Result<String, String> {
    let pins = KnownMembers::open(known).map_err(|e| e.to_string())?;
    let mut opener = signed_opener(settings, pins);
    let mut took = Vec::with_capacity(stream.len());
    for (i, (nick, body)) in stream.iter().enumerate() {
        let due = start + interval * u32::try_from(i).unwrap_or(u32::MAX);
        thread::sleep(due.saturating_duration_since(Instant::now()));
        let began = Instant::now();
        let opened = opener.open(nick, body);
        took.push(began.elapsed());
        opened.map_err(|e| format!("receiver {id}, {nick}: {e}"))?;
    }
    took.sort();
    let at = |q: f64| took[((took.len() - 1) as f64 * q) as usize];
    Ok(format!(
        "receiver {id}: {} first contacts, open took median {:.2} ms, p99 {:.2} ms, longest {:.2} ms",
        took.len(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(took[took.len() - 1])
    ))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
