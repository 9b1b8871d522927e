//! What the signed layer adds to the client: a key pair of its own, read
//! from (or made in) its identity file, the keys it pins in its
//! known-members file, and the commands that show them (`/whois`,
//! `/fingerprint`).

use chat::Nick;
use chat::layer::{
    AeSettings, Identity, Keyring, KnownMembers, Origin, Pinning, SignedSealer, signed_opener,
};

use crate::Error;
use crate::display;
use crate::layers::{ClientArgs, Commands, LayerClient};
use crate::screen::Screen;

/// The signed layer's commands, as the client's command line names them.
pub(crate) const COMMANDS: &[&str] = &["/whois", "/fingerprint"];

/// What a client of another layer says when one of them is typed there.
pub(crate) const ELSEWHERE: &str = "/whois and /fingerprint are commands of the signed layer (signed_client): this layer has no keys of its own";

/// What `/help` adds.
const HELP: &str = concat!(
    "  /whois NICK    show the fingerprint of the key pinned for NICK\n",
    "  /fingerprint   show your own key's fingerprint, for others to compare",
);

/// The signed layer's client: it signs with the identity in its files
/// (made there on first use) and pins keys in its known-members file.
pub(crate) fn start(args: &ClientArgs) -> Result<LayerClient, Error> {
    let settings = args
        .settings()?
        .ok_or(chat::layer::LayerError::NoPassword(args.layer))?;
    let files = args.identity.cloned().unwrap_or_default();
    let path = files.identity_path()?;
    let (identity, origin) = Identity::load_or_create(&path)?;
    let known = KnownMembers::open(&files.known_path()?)?;
    let own = identity.fingerprint();
    if origin == Origin::Created {
        Screen::lines().note(&format!(
            "created your identity in {}; your fingerprint: {own}",
            path.display()
        ));
    }
    pin_own_key(&known, &args.client.nick(), &identity);
    Ok(signed_client(&settings, identity, known))
}

fn signed_client(settings: &AeSettings, identity: Identity, known: KnownMembers) -> LayerClient {
    let keyring = Keyring {
        own: identity.fingerprint(),
        known: known.clone(),
    };
    LayerClient {
        sealer: Box::new(SignedSealer::new(settings, identity)),
        opener: Box::new(signed_opener(settings, known)),
        commands: Box::new(keyring),
    }
}

/// Pins this member's own key for its nick, so that its own messages are
/// not news to it; says so if the nick has another key pinned here.
fn pin_own_key(known: &KnownMembers, nick: &Nick, identity: &Identity) {
    let own = identity.public();
    let pinning = match known.pinned(nick.as_str()) {
        Some(pinned) if pinned == own => return,
        Some(pinned) => Pinning::Taken(pinned),
        None => known.pin(nick.as_str(), own),
    };
    let said = match pinning {
        Pinning::Pinned => return,
        Pinning::Taken(other) => format!(
            "warning: another key is pinned for '{nick}' here ({}): your own messages will be rejected as a key change, and so will they by whoever pinned it",
            other.fingerprint()
        ),
        Pinning::Unsaved(why) => {
            format!("warning: your own key is pinned for this session only: {why}")
        }
        Pinning::Full => {
            format!("warning: too many members pinned to pin your own key for '{nick}'")
        }
    };
    Screen::lines().note(&said);
}

impl Commands for Keyring {
    fn help(&self) -> &'static str {
        HELP
    }

    fn run(&self, name: &str, args: &str) -> Option<String> {
        match name {
            "/whois" => Some(whois(self, args)),
            "/fingerprint" => Some(format!("your fingerprint: {}", self.own)),
            _ => None,
        }
    }
}

/// `/whois NICK`: the fingerprint of the key pinned for NICK.
fn whois(keyring: &Keyring, nick: &str) -> String {
    if nick.is_empty() {
        return "usage: /whois NICK".to_owned();
    }
    let shown = display::printable(nick);
    match keyring.known.fingerprint_of(nick) {
        Some(fingerprint) => format!("{shown}: {fingerprint}"),
        None => format!(
            "no key pinned for {shown} yet: it is pinned when a signed message from {shown} first arrives"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat::layer::Password;

    #[test]
    fn whois_and_fingerprint_read_the_keyring() {
        let settings = AeSettings::new(Password::new("s3cret"));
        let identity = Identity::generate().unwrap();
        let own = identity.fingerprint();
        let known = KnownMembers::in_memory();
        known.pin("alice", identity.public());
        let client = signed_client(&settings, identity, known);
        let commands = client.commands;
        assert_eq!(
            commands.run("/fingerprint", ""),
            Some(format!("your fingerprint: {own}"))
        );
        assert_eq!(
            commands.run("/whois", "alice"),
            Some(format!("alice: {own}"))
        );
        assert_eq!(
            commands.run("/whois", ""),
            Some("usage: /whois NICK".to_owned())
        );
        assert_eq!(commands.run("/list", ""), None);
        assert!(commands.help().contains("/whois NICK"));
    }
}
