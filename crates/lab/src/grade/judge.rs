//! The board's judgements, each made in the process that runs it: a chat
//! staged here (`crate::stage`), the student's code playing its part, the
//! outcome read from values, as the demo reads them, and from
//! `demo::TABLE` where one of its rows says what the lab expects.

use std::time::Duration;

use anyhow::{Result, bail, ensure};
use chat::attack::simple_bigbrother::Overheard;
use chat::attack::simple_exploit;
use chat::client::{BroadcastChannel, Delivery, RequestChannel, random_nick};
use chat::layer::crypto::{self, Password};
use chat::layer::{AeSettings, Layer};
use chat::server::SimpleServer;
use chat::server::TrustModel;
use chat::server::rogue_server::{Attack, RogueConfig, RogueServer};
use chat::wire::{Codec, MessageBody, Nick, Request, Response, Sealed, Wire, ZmqBody};

use super::pickle_reader;
use super::vectors::AeVectors;
use crate::demo::{self, Column, Observed, Row};
use crate::prerequisite::python3_on_path;
use crate::stage::{self, Member, Server, Spy};
use crate::steps::Step;

/// How long a staged member waits for a delivery.
const WAIT: Duration = Duration::from_secs(10);
/// The password of the staged encrypted chats.
const PASSWORD: &str = demo::PASSWORD;
/// The command the pickle payloads carry, and the file it leaves.
const TOUCH: &str = "touch pwned";
const TOUCHED: &str = "pwned";
/// The clocks of the TTL step: a sender this far behind is refused...
const STALE: i64 = -45;
/// ... one this far behind is not, nor is one this far ahead.
const LATE: i64 = -20;
const EARLY: i64 = 20;
/// And one this far ahead is refused.
const FUTURE: i64 = 120;

/// What judging a step found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    /// Solved, and what showed it.
    Solved(Vec<String>),
    /// Not solved: what went wrong.
    NotYet(String),
    /// It cannot be judged here (python3 missing), and why.
    CannotJudge(String),
}

/// Judges `step` here: a failure to stage the chat (a message that never
/// came, a server that closed) is a step not solved yet, and says why.
pub fn judge(step: Step) -> Judged {
    let judged = match step {
        Step::Bigbrother => bigbrother(),
        Step::Dos => table(&[Row::Evict, Row::Flood], &plain_columns()),
        Step::Exploit => exploit(),
        Step::MsgpackServer => msgpack_server(),
        Step::Ae => ae(),
        Step::Rogue => rogue(),
        Step::Aead => aead(),
        Step::Ttl => ttl(),
    };
    judged.unwrap_or_else(|e| Judged::NotYet(format!("{e:#}")))
}

/// The plain layer, in the original's trust model and guarded.
fn plain_columns() -> Vec<Column> {
    Column::of(Layer::Plain).collect()
}

fn column(layer: Layer) -> Column {
    Column {
        layer,
        trust: TrustModel::Open,
    }
}

/// Plays the demo's `rows` in `columns`: solved if every cell agrees
/// with `demo::TABLE`.
fn table(rows: &[Row], columns: &[Column]) -> Result<Judged> {
    let mut shown = Vec::new();
    for &row in rows {
        for (place, expected) in row.lesson().cells(columns) {
            let observed = demo::play(row, place, Wire::Json, &mut |_| {});
            let cell = format!("the demo's \"{row}\" against {place}");
            match observed {
                Observed::Outcome(outcome) if outcome == expected => {
                    shown.push(format!("{cell}: {outcome}, as the table expects"));
                }
                Observed::Outcome(outcome) => {
                    let why = format!("{cell}: {outcome}, where the table expects {expected}");
                    return Ok(Judged::NotYet(why));
                }
                Observed::Skipped(why) => return Ok(Judged::CannotJudge(why.to_owned())),
                Observed::Failed(why) => return Ok(Judged::NotYet(format!("{cell}: {why}"))),
            }
        }
    }
    Ok(Judged::Solved(shown))
}

/// Both judgements solved: their evidence together; else the first that
/// is not.
fn both(first: Judged, then: impl FnOnce() -> Result<Judged>) -> Result<Judged> {
    let Judged::Solved(mut shown) = first else {
        return Ok(first);
    };
    match then()? {
        Judged::Solved(more) => {
            shown.extend(more);
            Ok(Judged::Solved(shown))
        }
        other => Ok(other),
    }
}

/// Words nobody could have guessed before this run.
fn secret() -> String {
    format!("the vault code is {}", random_nick())
}

/// Big brother reads alice's message, which it never joined for.
fn bigbrother() -> Result<Judged> {
    let server = Server::of_layer(Layer::Plain, TrustModel::Open)?;
    let mut big_brother = stage::big_brother(&server)?;
    big_brother.set_read_timeout(Some(WAIT))?;
    let mut alice = Member::join(&server.endpoint(), "alice", Layer::Plain, None)?;
    let said = secret();
    alice.send(&said)?;
    let heard = big_brother.overhear_next()?;
    let Overheard::Message { nick, message } = &heard else {
        bail!("big brother heard {heard:?}, not alice's message");
    };
    ensure!(
        nick.valid().is_some_and(|n| n.as_str() == "alice") && message.contains(&said),
        "big brother heard {nick:?} say {message:?}, where alice said {said:?}"
    );
    let joined = server.list()?;
    ensure!(
        joined == ["alice"],
        "big brother joined: the list shows {joined:?}"
    );
    let first = Judged::Solved(vec![format!(
        "big brother read alice's {said:?}, and the list shows only alice"
    )]);
    both(first, || table(&[Row::Eavesdrop], &plain_columns()))
}

/// The payload runs its command where Python unpickles it, in both
/// protocols.
fn exploit() -> Result<Judged> {
    if !python3_on_path() {
        return Ok(Judged::CannotJudge(
            "python3 is not on PATH: it plays the pickle-reading server".into(),
        ));
    }
    let first = table(&[Row::PickleReader], &[Column::PLAIN])?;
    both(first, || {
        let read = pickle_reader::read(&simple_exploit::protocol0_exploit(TOUCH))?;
        if !read.left.iter().any(|name| name == TOUCHED) {
            return Ok(Judged::NotYet(format!(
                "the protocol-0 payload, unpickled, ran {:?} and left {:?}: no {TOUCHED}",
                read.ran, read.left
            )));
        }
        Ok(Judged::Solved(vec![format!(
            "the protocol-0 payload ran {:?}",
            read.ran
        )]))
    })
}

/// The AE server relays in msgpack on the original's wire.
fn msgpack_server() -> Result<Judged> {
    let server = Server::of_layer_on(Layer::Ae, TrustModel::Open, Wire::Zmq)?;
    let endpoint = server.endpoint().with_zmq_body(ZmqBody::Msgpack);
    let mut broadcasts = BroadcastChannel::connect(&endpoint)?;
    broadcasts.set_read_timeout(Some(WAIT))?;
    server.wait_for_subscriber(broadcasts.local_addr()?)?;
    let mut requests = RequestChannel::connect(&endpoint)?;
    let nick = Nick::new("alice")?;
    let joined = requests.request(&Request::Join {
        nick: nick.clone(),
        subscriber: None,
    })?;
    ensure!(
        joined == Response::Ok,
        "alice's join was answered {joined:?}"
    );
    let vectors = AeVectors::load()?;
    let sealed = &vectors.tokens[0];
    let body = MessageBody::Sealed(Sealed {
        salt: sealed.salt.as_str().into(),
        token: sealed.token.as_str().into(),
    });
    let sent = requests.request(&Request::Message { nick, body })?;
    ensure!(
        sent == Response::Ok,
        "alice's message was answered {sent:?}"
    );
    let frame = broadcasts.next_frame()?.to_vec();
    Ok(match serialised(&frame) {
        Serialised::Msgpack => Judged::Solved(vec![
            "an AE server on the original's wire relays in msgpack".into(),
        ]),
        other => Judged::NotYet(format!("the AE server relays {other}")),
    })
}

/// What a body of the original's wire is serialised in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serialised {
    Msgpack,
    Pickle,
    Neither,
}

impl std::fmt::Display for Serialised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Msgpack => "in msgpack",
            Self::Pickle => "in pickle, the serialiser that runs what it reads",
            Self::Neither => "bytes of no frame of the protocol",
        })
    }
}

/// Reads `body` as the original's wire carries it: which serialisation it
/// is in, if it holds a frame of the protocol at all.
pub fn serialised(body: &[u8]) -> Serialised {
    let codec = Codec::Msgpack.reading(body);
    match (codec, Codec::Msgpack.decode_broadcast(body).is_ok()) {
        (_, false) if codec.decode_response(body).is_err() => Serialised::Neither,
        (Codec::Msgpack, _) => Serialised::Msgpack,
        _ => Serialised::Pickle,
    }
}

/// The lab's AE functions against Python's, then a chat.
fn ae() -> Result<Judged> {
    let vectors = AeVectors::load()?;
    let password = Password::new(vectors.password.as_str());
    let iterations = vectors.iterations;
    for sealed in &vectors.tokens {
        let opened = crypto::decrypt_message(&password, &sealed.token, &sealed.salt, iterations);
        ensure!(
            opened.as_deref() == Ok(sealed.message.as_str()),
            "decrypt_message opened a token of Python's as {opened:?}, not {:?}",
            sealed.message
        );
        same_key(&password, sealed, iterations)?;
    }
    let other = &vectors.other_password;
    let opened = crypto::decrypt_message(&password, &other.token, &other.salt, iterations);
    ensure!(
        opened.is_err(),
        "decrypt_message opened a token made under another password: {opened:?}"
    );
    fresh_tokens(&password, iterations)?;
    let first = Judged::Solved(vec![format!(
        "decrypt_message opens the {} tokens Python's cryptography made, and refuses one under another password; derive_key_from_password gives Python's keys; encrypt_message's tokens open, each under a salt of its own",
        vectors.tokens.len()
    )]);
    both(first, ae_chat)
}

/// The key `derive_key_from_password` makes for a vector's salt is
/// Python's: what it seals, Python's key opens.
fn same_key(password: &Password, sealed: &super::vectors::Sealed, iterations: u32) -> Result<()> {
    let salt = crypto::Salt::from_base64(&sealed.salt)?;
    let ours = crypto::derive_key_from_password(password, &salt, iterations);
    let Some(pythons) = crypto::fernet_key_from_base64(&sealed.key) else {
        bail!("the vectors hold a key that is no Fernet key");
    };
    let probe = ours.encrypt(b"probe");
    let opened = crypto::open_token(&pythons, &probe).map(|(_, text)| text);
    ensure!(
        opened.as_deref() == Ok(&b"probe"[..]),
        "derive_key_from_password's key for salt {} is not the one Python derives",
        sealed.salt
    );
    Ok(())
}

/// Two tokens of `encrypt_message`: fresh salts, each opening with the key
/// of its salt.
fn fresh_tokens(password: &Password, iterations: u32) -> Result<()> {
    let text = secret();
    let (one, first) = crypto::encrypt_message(password, text.as_bytes(), iterations)?;
    let (two, _) = crypto::encrypt_message(password, text.as_bytes(), iterations)?;
    ensure!(one != two, "encrypt_message used the same salt twice");
    let key = crypto::derive_key_from_password(password, &one, iterations);
    let opened = crypto::open_token(&key, &first).map(|(_, text)| text);
    ensure!(
        opened.as_deref() == Ok(text.as_bytes()),
        "a token of encrypt_message does not open with the key of its salt: {opened:?}"
    );
    Ok(())
}

fn settings() -> AeSettings {
    AeSettings::new(Password::new(PASSWORD))
}

/// Joins `nick` to `server` in `layer`, its clock off by `clock_offset`.
fn member(server: &Server, nick: &str, layer: Layer, clock_offset: i64) -> Result<Member> {
    let mut settings = settings();
    settings.clock_offset = clock_offset;
    Member::join(&server.endpoint(), nick, layer, Some(&settings))
}

/// What `member` receives next, within [`WAIT`].
fn next(member: &Member) -> Result<Delivery> {
    match member.next_within(WAIT) {
        Some(delivery) => Ok(delivery),
        None => bail!("'{}' received nothing within {WAIT:?}", member.nick()),
    }
}

/// alice's words reach bob through an AE server; an eavesdropper, and a
/// member with another password, read none of them.
fn ae_chat() -> Result<Judged> {
    let server = Server::of_layer(Layer::Ae, TrustModel::Open)?;
    let mut spy = Spy::listen(&server)?;
    let mut alice = member(&server, "alice", Layer::Ae, 0)?;
    let bob = member(&server, "bob", Layer::Ae, 0)?;
    let mut wrong = settings();
    wrong.password = Password::new("not the password");
    let carol = Member::join(&server.endpoint(), "carol", Layer::Ae, Some(&wrong))?;
    let said = alice_tells_bob(&mut alice, &bob, "client")?;
    let heard = spy.overhear_next()?;
    ensure!(
        !format!("{heard:?}").contains(&said),
        "the eavesdropper read alice's words: {heard:?}"
    );
    let guessed = next(&carol)?;
    ensure!(
        matches!(guessed, Delivery::Rejected { .. }),
        "a client with another password made {guessed:?} of it"
    );
    Ok(Judged::Solved(vec![
        "through an AE server bob reads alice, an eavesdropper and a wrong password read nothing"
            .into(),
    ]))
}

/// alice says a fresh secret; bob's `client` must show it as hers.
fn alice_tells_bob(alice: &mut Member, bob: &Member, client: &str) -> Result<String> {
    let said = secret();
    alice.send(&said)?;
    let got = next(bob)?;
    ensure!(
        accepted(&got, "alice", &said),
        "bob's {client} made {got:?} of alice's {said:?}"
    );
    Ok(said)
}

/// Whether `delivery` is `text`, accepted as `nick`'s.
fn accepted(delivery: &Delivery, nick: &str, text: &str) -> bool {
    matches!(delivery, Delivery::Accepted { nick: n, opened } if n.as_str() == nick && opened.text == text)
}

/// The rogue server's tamper, impersonation and replay reach plain and AE
/// victims as the table says, and its tamper alters a token.
fn rogue() -> Result<Judged> {
    let rows = [Row::Tamper, Row::Impersonate, Row::Replay];
    let first = table(&rows, &[Column::PLAIN, column(Layer::Ae)])?;
    both(first, tampered_token)
}

/// Through a tampering rogue server, bob's AE client rejects alice's
/// message: its token was altered.
fn tampered_token() -> Result<Judged> {
    let config = RogueConfig {
        attacks: [Attack::Tamper].into(),
        impersonate: None,
        replay_delay: chat::server::rogue_server::DEFAULT_REPLAY_DELAY,
    };
    let body = stage::layer_server(Layer::Ae).zmq_body;
    let server = Server::start_on(Wire::Json, body, |publisher| {
        RogueServer::new(SimpleServer::new(TrustModel::Open), config, publisher)
    })?;
    let mut alice = member(&server, "alice", Layer::Ae, 0)?;
    let bob = member(&server, "bob", Layer::Ae, 0)?;
    alice.send(&secret())?;
    let got = next(&bob)?;
    ensure!(
        matches!(got, Delivery::Rejected { .. }),
        "the tampered message reached bob's AE client as {got:?}: was its token altered?"
    );
    Ok(Judged::Solved(vec![
        "a tampered token is rejected by an AE client".into(),
    ]))
}

/// AEAD: alice reaches bob; her token relabelled with another nick does not.
fn aead() -> Result<Judged> {
    let server = Server::of_layer(Layer::Aead, TrustModel::Open)?;
    let mut spy = Spy::listen(&server)?;
    let mut alice = member(&server, "alice", Layer::Aead, 0)?;
    let bob = member(&server, "bob", Layer::Aead, 0)?;
    alice_tells_bob(&mut alice, &bob, "AEAD client")?;
    let captured = spy.capture_next()?;
    relabel(&server, &captured, "mallory")?;
    let relabelled = next(&bob)?;
    if !matches!(relabelled, Delivery::Rejected { .. }) {
        return Ok(Judged::NotYet(format!(
            "alice's token relabelled as mallory's reached bob as {relabelled:?}: the impersonation is not stopped"
        )));
    }
    Ok(Judged::Solved(vec![
        "bob's AEAD client reads alice, and rejects her token relabelled as mallory's".into(),
    ]))
}

/// Sends the message field of `frame` again, as `nick`, which an
/// attacker's connection joins first (the original's trust model lets it).
fn relabel(server: &Server, frame: &[u8], nick: &str) -> Result<()> {
    let codec = server.endpoint().codec();
    let Ok(chat::wire::Broadcast::Message {
        body: Some(body), ..
    }) = codec.decode_broadcast(frame)
    else {
        bail!("the frame captured is no message");
    };
    let mut requests = RequestChannel::connect(&server.endpoint())?;
    let nick = Nick::new(nick)?;
    let joined = requests.request(&Request::Join {
        nick: nick.clone(),
        subscriber: None,
    })?;
    ensure!(
        joined == Response::Ok,
        "the attacker's join was answered {joined:?}"
    );
    let sent = requests.request(&Request::Message {
        nick,
        body: body.into_owned(),
    })?;
    ensure!(
        sent == Response::Ok,
        "the relabelled message was answered {sent:?}"
    );
    Ok(())
}

/// The TTL: a token 45 s old is stopped, one 20 s old or 20 s ahead is
/// not, one 120 s ahead is.
fn ttl() -> Result<Judged> {
    let server = Server::of_layer(Layer::Aead, TrustModel::Open)?;
    let bob = member(&server, "bob", Layer::Aead, 0)?;
    for (nick, offset, passes) in [
        ("late", LATE, true),
        ("stale", STALE, false),
        ("early", EARLY, true),
        ("future", FUTURE, false),
    ] {
        let mut sender = member(&server, nick, Layer::Aead, offset)?;
        let said = secret();
        sender.send(&said)?;
        let got = next(&bob)?;
        if accepted(&got, nick, &said) != passes {
            let should = if passes { "accepted" } else { "stopped" };
            return Ok(Judged::NotYet(format!(
                "a token dated {offset} s from now should be {should}; bob's client made {got:?} of it"
            )));
        }
    }
    let first = Judged::Solved(vec![format!(
        "tokens {STALE} s old and {FUTURE} s ahead are stopped, {LATE} s and {EARLY} s pass"
    )]);
    both(first, || table(&[Row::StaleToken], &[column(Layer::Aead)]))
}
