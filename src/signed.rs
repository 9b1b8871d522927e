//! What the signed layer adds to the client: a key pair of its own, one
//! per nick (read from, or made in, its identity file; for a random nick,
//! made for the session and saved nowhere), the keys it pins in its
//! known-members file, and the commands that show and confirm them
//! (`/whois`, `/verify`, `/fingerprint`).
//!
//! The operating system's account is the trust boundary: every terminal of
//! one account can read every identity file of that account, so three
//! terminals of one account are three members only as long as nobody at
//! that account means harm.

use chat::Nick;
use chat::layer::{
    AeSettings, Identity, Keyring, KnownMembers, Origin, Pin, Pinning, SignedSealer, Verifying,
    signed_opener,
};

use crate::Error;
use crate::display;
use crate::flags::IdentitySource;
use crate::layer_client::{ClientArgs, Commands, LayerClient};
use crate::screen::Screen;

/// The signed layer's commands, as the client's command line names them.
pub(crate) const COMMANDS: &[&str] = &["/whois", "/verify", "/fingerprint"];

/// What a client of another layer says when one of them is typed there.
pub(crate) const ELSEWHERE: &str = "/whois, /verify and /fingerprint are commands of the signed layer (signed_client): this layer has no keys of its own";

/// What `/help` adds.
const HELP: &str = concat!(
    "  /whois NICK               show the key pinned for NICK, where it was first seen, and whether you verified it\n",
    "  /verify NICK FINGERPRINT  confirm NICK's key, once you compared its fingerprint with NICK's own /fingerprint\n",
    "  /fingerprint              show your own key's fingerprint, for others to compare",
);

/// The signed layer's client: it signs with its own key pair and pins
/// keys in its known-members file.
pub(crate) fn start(args: &ClientArgs) -> Result<LayerClient, Error> {
    let settings = args
        .settings()?
        .ok_or(chat::layer::LayerError::NoPassword(args.layer))?;
    let files = args.identity.cloned().unwrap_or_default();
    let source = files.identity_source(&args.nick, args.nick_chosen)?;
    let identity = own_identity(&source)?;
    let known = KnownMembers::open(&files.known_path()?)?;
    match source {
        IdentitySource::File(_) => pin_own_key(&known, &args.nick, &identity, &settings),
        IdentitySource::Ephemeral => known.pin_for_session(args.nick.as_str(), identity.public()),
    }
    Ok(signed_client(&settings, identity, known))
}

/// This member's key pair, from its file (made there on first use), or
/// made now for a nick drawn at random.
fn own_identity(source: &IdentitySource) -> Result<Identity, Error> {
    let path = match source {
        IdentitySource::File(path) => path,
        IdentitySource::Ephemeral => {
            let identity = Identity::generate().map_err(chat::layer::LayerError::from)?;
            Screen::lines().note(&format!(
                "your nick was drawn at random, so your key is for this session only and saved nowhere (--nick NAME keeps one per nick); your fingerprint: {}",
                identity.fingerprint()
            ));
            return Ok(identity);
        }
    };
    let (identity, origin) = Identity::load_or_create(path)?;
    if origin == Origin::Created {
        Screen::lines().note(&format!(
            "created your identity in {}; your fingerprint: {}",
            path.display(),
            identity.fingerprint()
        ));
    }
    Ok(identity)
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
/// not news to it; says so if the nick, or one it looks like, has another
/// key pinned here.
fn pin_own_key(known: &KnownMembers, nick: &Nick, identity: &Identity, settings: &AeSettings) {
    let own = identity.public();
    let pinning = match known.pin_of(nick.as_str()) {
        Some(pin) if pin.key == own => return,
        Some(pin) => Pinning::Taken(Box::new(pin)),
        None => known.pin(nick.as_str(), own, settings.room.as_str()),
    };
    let said = match pinning {
        Pinning::Pinned | Pinning::Adopted => return,
        Pinning::Taken(other) => format!(
            "warning: another key is pinned for '{}' here ({}): your own messages will be rejected as a key change, and so will they by whoever pinned it",
            display::printable(&other.nick),
            other.key.fingerprint()
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
            "/verify" => Some(verify(self, args)),
            "/fingerprint" => Some(format!("your fingerprint: {}", self.own)),
            _ => None,
        }
    }
}

/// `/whois NICK`: the key pinned for NICK (or a nick it looks like), the
/// room it was first seen in, and whether the user verified it.
fn whois(keyring: &Keyring, nick: &str) -> String {
    if nick.is_empty() {
        return "usage: /whois NICK".to_owned();
    }
    keyring.known.refresh();
    let shown = display::printable(nick);
    match keyring.known.pin_of(nick) {
        Some(pin) => describe(&pin, nick),
        None => format!(
            "no key pinned for {shown} yet: it is pinned when a signed message from {shown} first arrives"
        ),
    }
}

/// A pin, as `/whois` shows it.
fn describe(pin: &Pin, asked: &str) -> String {
    let pinned = display::printable(&pin.nick);
    let fingerprint = pin.key.fingerprint();
    let who = if pin.nick == asked {
        pinned.to_string()
    } else {
        format!("{pinned} (whom {} looks like)", display::printable(asked))
    };
    if pin.verified {
        return format!("{who}: {fingerprint} (verified)");
    }
    let seen = match &pin.room {
        Some(room) => format!("first seen in room '{}'", display::printable(room)),
        None => "first seen before rooms were recorded".to_owned(),
    };
    format!(
        "{who}: {fingerprint} (unverified: {seen}; compare it with what {pinned}'s /fingerprint shows, then /verify {pinned} {fingerprint})"
    )
}

/// `/verify NICK FINGERPRINT`: confirms the pin, if the fingerprint is its
/// key's.
fn verify(keyring: &Keyring, args: &str) -> String {
    let Some((nick, typed)) = args.trim().rsplit_once(char::is_whitespace) else {
        return "usage: /verify NICK FINGERPRINT".to_owned();
    };
    let nick = nick.trim_end();
    let shown = display::printable(nick);
    match keyring.known.verify(nick, typed) {
        Verifying::Verified(pin, None) => format!(
            "{}'s key {} is verified",
            display::printable(&pin.nick),
            pin.key.fingerprint()
        ),
        Verifying::Verified(pin, Some(why)) => format!(
            "{}'s key {} is verified, for this session only: {why}",
            display::printable(&pin.nick),
            pin.key.fingerprint()
        ),
        Verifying::NoPin => format!("no key pinned for {shown} yet: nothing to verify"),
        Verifying::Mismatch(pin) => format!(
            "not verified: the key pinned for {} is {}, not {}; if that is what {shown}'s /fingerprint shows, the key pinned here is someone else's: delete its lines in {} and restart",
            display::printable(&pin.nick),
            pin.key.fingerprint(),
            display::printable(typed),
            keyring.known.file().map_or_else(
                || "the known-members file".to_owned(),
                |f| f.display().to_string()
            )
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat::layer::Password;

    #[test]
    fn whois_verify_and_fingerprint_read_the_keyring() {
        let settings = AeSettings::new(Password::new("s3cret"));
        let identity = Identity::generate().unwrap();
        let own = identity.fingerprint();
        let known = KnownMembers::in_memory();
        known.pin("alice", identity.public(), "lobby");
        let client = signed_client(&settings, identity, known);
        let commands = client.commands;
        assert_eq!(
            commands.run("/fingerprint", ""),
            Some(format!("your fingerprint: {own}"))
        );
        assert_eq!(
            commands.run("/whois", "alice"),
            Some(format!(
                "alice: {own} (unverified: first seen in room 'lobby'; compare it with what alice's /fingerprint shows, then /verify alice {own})"
            ))
        );
        let lookalike = commands.run("/whois", "\u{430}lice").unwrap();
        assert!(
            lookalike.starts_with(&format!("alice (whom \u{430}lice looks like): {own}")),
            "{lookalike}"
        );
        let wrong = commands.run("/verify", "alice 0000-1111").unwrap();
        assert!(
            wrong.starts_with(&format!(
                "not verified: the key pinned for alice is {own}, not 0000-1111"
            )),
            "{wrong}"
        );
        assert_eq!(
            commands.run("/verify", &format!("alice {own}")),
            Some(format!("alice's key {own} is verified"))
        );
        assert_eq!(
            commands.run("/whois", "alice"),
            Some(format!("alice: {own} (verified)"))
        );
        assert_eq!(
            commands.run("/whois", ""),
            Some("usage: /whois NICK".to_owned())
        );
        assert_eq!(
            commands.run("/verify", "alice"),
            Some("usage: /verify NICK FINGERPRINT".to_owned())
        );
        assert_eq!(commands.run("/list", ""), None);
        assert!(commands.help().contains("/verify NICK FINGERPRINT"));
    }
}
