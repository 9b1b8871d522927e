//! The signed layer's client: AEAD, plus a key pair of its own that signs
//! every message, and the keys of the others pinned on first contact.

use std::process::ExitCode;

use chat::Layer;
use clap::Parser;
use unsecured_chat::flags::{ClientFlags, CryptoFlags, IdentityFlags, TtlFlag};
use unsecured_chat::{self as app, ClientArgs};

/// The signed chat client: the AEAD layer, each message also signed with
/// this member's own Ed25519 key (its identity file, one per nick, made on
/// first use; a random nick's key lives for the session only). It pins the
/// first key it sees for each nick and its lookalikes (trust on first use,
/// in the known-members file) and rejects a message from that nick under
/// any other key, with both fingerprints: a member who knows the password
/// can no longer speak as another. /whois NICK shows a pin, /verify NICK
/// FINGERPRINT confirms it, /fingerprint shows your own. Every terminal of
/// your account can read your identity files: the account is the trust
/// boundary.
#[derive(Parser)]
#[command(version)]
struct Flags {
    #[command(flatten)]
    client: ClientFlags,
    #[command(flatten)]
    crypto: CryptoFlags,
    #[command(flatten)]
    ttl: TtlFlag,
    #[command(flatten)]
    files: IdentityFlags,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    app::logging::init("warn");
    let args = ClientArgs::new(Layer::Signed, &flags.client)
        .with_crypto(&flags.crypto, flags.ttl.ttl)
        .with_identity(&flags.files);
    app::exit(app::terminal::run(&args))
}
