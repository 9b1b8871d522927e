//! The scenes of the lab's question 13: what a member who knows the
//! password can do (speak as another, poison another's counters), and
//! what the signed layer's keys change, including where they stop: a rogue
//! server that knows the password substituting its own key before the
//! receiver ever saw the real one.

use std::path::Path;

use anyhow::Result;
use chat::Named;
use chat::attack::insider_forge::{self, Insider, InsiderForge};
use chat::client::Delivery;
use chat::layer::{AeSettings, Identity, KnownMembers, Layer, Password};
use chat::layer::{SignedSealer, signed_opener};
use chat::server::SimpleServer;
use chat::server::rogue_server::{Attack as RogueAttack, RogueServer};
use chat::wire::Nick;
use unsecured_chat::PASSWORD_ENV;
use unsecured_chat::display;

use super::{Scene, accepted, judged, rogue_plan, warnings};
use crate::demo::narration::Shell;
use crate::demo::{Observed, Outcome, PASSWORD};
use crate::process::PATIENCE;
use crate::scratch::Scratch;
use crate::stage::{Member, Server, layer_server};

/// The member the insider speaks as.
const VICTIM: &str = "alice";
/// What the insider makes the victim say: its tool's default.
const FORGED: &str = insider_forge::DEFAULT_MESSAGE;
/// What alice says through the rogue server that substitutes keys.
const MEETING: &str = "meet me at noon";

/// What a member who knows the password forges (`insider_forge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::demo) enum Forgery {
    /// A message that claims another member's nick.
    Nick,
    /// The same, in the victim's session, numbered 2^63.
    Counter,
}

/// When the rogue server substitutes its key: before the receiver ever saw
/// the sender's, or after it pinned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::demo) enum Contact {
    First,
    AfterPinning,
}

impl Scene<'_> {
    /// An insider forges a message from alice, and with `Forgery::Counter`
    /// poisons her counter; what bob's client makes of it.
    pub(super) fn insider(&mut self, forgery: Forgery) -> Result<Observed> {
        let server = self.server()?;
        let mut alice = self.member(&server, VICTIM)?;
        let bob = self.member(&server, "bob")?;
        let mut forge = self.insider_forge(&server, forgery)?;
        self.say("alice types: hello everyone");
        alice.send("hello everyone")?;
        self.show_next(&bob)?;
        let report = forge.forge(&forgery_of(forgery)?, PATIENCE)?;
        for line in display::forge_report(&report) {
            self.say(format!("insider_forge prints: {line}"));
        }
        if !report.relayed() {
            self.say("the server relays nothing: a nick belongs to the connection that joined it");
            return judged(false);
        }
        let forged = self.show_next(&bob)?;
        let fooled = accepted(&forged, |nick, text| nick == VICTIM && text == FORGED);
        if forgery == Forgery::Nick {
            return judged(fooled);
        }
        if report.seq.is_none() {
            self.say("this layer keeps no counters: nothing to poison, the forgery is all");
        }
        self.say("alice types: I did not write that");
        alice.send("I did not write that")?;
        let genuine = self.show_next(&bob)?;
        judged(fooled || !warnings(&genuine).is_empty())
    }

    /// The insider's tool, connected and listening, its command shown.
    fn insider_forge(&mut self, server: &Server, forgery: Forgery) -> Result<InsiderForge> {
        let layer = self.column.layer;
        let name = layer.name();
        // Its --message is FORGED by default; in the signed layer it signs
        // with a key of its own, made for the run: its default, as every
        // nick's client has a key of its own by default.
        let mut args = vec!["--layer", &name, "--as", VICTIM];
        if forgery == Forgery::Counter {
            args.push("--poison-counter");
        }
        let mut insider = Insider::default();
        let mut command = self.command("insider_forge", &args);
        if layer.encrypted() {
            command = command.with_env(PASSWORD_ENV, PASSWORD);
            insider.settings = Some(settings());
        }
        if layer == Layer::Signed {
            insider.identity = Some(Identity::generate()?);
        }
        self.say("mallory, a member who knows the password, runs:");
        self.show(&command);
        let forge = InsiderForge::connect(&server.endpoint(), layer, insider)?;
        server.wait_for_subscriber(forge.subscriber()?)?;
        Ok(forge)
    }

    /// A rogue server that knows the password re-signs what alice says;
    /// what bob's client makes of it, first contact or not.
    pub(super) fn key_substitution(&mut self, contact: Contact) -> Result<Observed> {
        if self.column.layer != Layer::Signed {
            self.say("this layer's messages carry no key: nothing to substitute");
            return Ok(Outcome::NotApplicable.into());
        }
        self.show(&Shell::raw(r#"cd "$(mktemp -d)""#).comment("a folder for the key files"));
        let files = Scratch::new("chat-demo-keys")?;
        if contact == Contact::AfterPinning {
            self.first_chat(files.path())?;
        }
        let rogue_key = Identity::generate()?;
        let rogue_fingerprint = rogue_key.fingerprint();
        let server = self.rogue_knowing(rogue_key)?;
        let mut alice = self.signed_member(&server, VICTIM, files.path())?;
        let bob = self.signed_member(&server, "bob", files.path())?;
        self.say(format!("alice types: {MEETING}"));
        alice.send(MEETING)?;
        let seen = self.show_next(&bob)?;
        self.quote_log(1, |l| l.contains("substitute-key"));
        self.say(format!("the rogue server's own key: {rogue_fingerprint}"));
        let pinned_rogue = notes(&seen)
            .iter()
            .any(|n| n.contains(&rogue_fingerprint.to_string()));
        judged(accepted(&seen, |nick, text| nick == VICTIM && text == MEETING) && pinned_rogue)
    }

    /// alice and bob's earlier chat through an honest server, in which
    /// bob's client pins alice's key.
    fn first_chat(&mut self, files: &Path) -> Result<()> {
        self.say("earlier, through an honest server:");
        let server = self.server()?;
        let mut alice = self.signed_member(&server, VICTIM, files)?;
        let bob = self.signed_member(&server, "bob", files)?;
        self.say("alice types: hello bob");
        alice.send("hello bob")?;
        self.show_next(&bob)?;
        self.say("both quit; later the server is replaced by a rogue one that knows the password:");
        Ok(())
    }

    /// The rogue server running `substitute-key` with `key`, its command
    /// shown.
    fn rogue_knowing(&mut self, key: Identity) -> Result<Server> {
        let (mut args, config) = rogue_plan(RogueAttack::SubstituteKey)?;
        args.extend(self.column.server_flags().iter().map(|f| f.to_string()));
        let command = self.command("rogue_server", &args);
        self.show(&command.with_env(PASSWORD_ENV, PASSWORD));
        let trust = self.column.trust;
        let body = layer_server(Layer::Signed).zmq_body;
        Server::start_on(self.wire, body, |publisher| {
            RogueServer::new(SimpleServer::new(trust), config, publisher).knowing(&settings(), key)
        })
    }

    /// A signed client keeping its identity and pins in a folder of its
    /// own in `files`, as `signed_client --identity NICK/identity` does
    /// (its known-members file goes beside it).
    fn signed_member(&mut self, server: &Server, nick: &str, files: &Path) -> Result<Member> {
        let identity_file = format!("{nick}/identity");
        let args = ["--nick", nick, "--identity", &identity_file];
        let command = self.command("signed_client", &args);
        self.show(&command.with_env(PASSWORD_ENV, PASSWORD));
        let folder = files.join(nick);
        let (identity, _) = Identity::load_or_create(&folder.join("identity"))?;
        let known = KnownMembers::open(&folder.join("known_members"))?;
        let sealer = SignedSealer::new(&settings(), identity);
        let opener = signed_opener(&settings(), known);
        let endpoint = server.endpoint().with_zmq_body(Layer::Signed.zmq_body());
        Member::join_with(&endpoint, nick, Box::new(sealer), Box::new(opener))
    }

    /// `member`'s next delivery, said as its client prints it, with the
    /// layer's warnings and notes.
    fn show_next(&mut self, member: &Member) -> Result<Delivery> {
        let delivery = member.next()?;
        let nick = member.nick().clone();
        self.say(format!(
            "{nick}'s client prints: {}",
            display::delivery(&delivery)
        ));
        for warning in warnings(&delivery) {
            self.say(format!("and warns: {}", display::printable(&warning)));
        }
        for note in notes(&delivery) {
            self.say(format!("and notes: {}", display::printable(&note)));
        }
        Ok(delivery)
    }
}

/// The forgery a row plays.
fn forgery_of(forgery: Forgery) -> Result<insider_forge::Forgery> {
    Ok(insider_forge::Forgery {
        victim: Nick::new(VICTIM)?,
        text: FORGED.to_owned(),
        poison_counter: forgery == Forgery::Counter,
    })
}

fn settings() -> AeSettings {
    AeSettings::new(Password::new(PASSWORD))
}

/// What a delivery's layer noted (a key pinned).
fn notes(delivery: &Delivery) -> Vec<String> {
    match delivery {
        Delivery::Accepted { opened, .. } => opened.notes.clone(),
        Delivery::Rejected { .. } | Delivery::Notice(_) => Vec::new(),
    }
}
