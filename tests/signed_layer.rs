//! The signed layer through its binaries: `signed_client`, `insider_forge`
//! and `rogue_server --attack substitute-key`, each new row of the demo
//! with both its outcomes, and the files a member keeps (its identity, the
//! keys it pinned) when they are new, reused, exposed, corrupt or
//! unwritable.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, ensure};
use chat::layer::Identity;
use chat_lab::process::{Finished, PATIENCE, Process, ServerProcess, run};
use chat_lab::scratch::Scratch;
use chat_lab::stage::Server;
use common::{ae, client};

const PASSWORD: &str = "signed-s3cret";
const PASSWORD_ENV: (&str, &str) = ("CHAT_PASSWORD", PASSWORD);
/// What `insider_forge` makes its victim say by default.
const FORGED: &str = "I resign";

/// A folder for one test's key files, under cargo's target folder.
fn folder(what: &str) -> Scratch {
    Scratch::under(Path::new(env!("CARGO_TARGET_TMPDIR")), what).unwrap()
}

/// Where `nick` keeps its identity in `dir` (its known-members file goes
/// beside it).
fn identity_file(dir: &Path, nick: &str) -> PathBuf {
    dir.join(nick).join("identity")
}

fn known_file(dir: &Path, nick: &str) -> PathBuf {
    dir.join(nick).join("known_members")
}

/// `signed_client` joined to the server at `endpoint` (its flags) as
/// `nick`, its files in `dir`.
fn signed_at(endpoint: &[String], nick: &str, dir: &Path) -> Process {
    let identity = identity_file(dir, nick);
    let mut args = endpoint.to_vec();
    args.extend(["--nick", nick, "--password", PASSWORD, "--identity"].map(String::from));
    args.push(identity.to_string_lossy().into_owned());
    Process::chat_client(&bin!("signed_client"), &args).unwrap()
}

fn signed(server: &Server, nick: &str, dir: &Path) -> Process {
    signed_at(&server.client_args(), nick, dir)
}

/// A client's own fingerprint, as `/fingerprint` says it.
fn fingerprint_of(client: &mut Process) -> Result<String> {
    client.send_line("/fingerprint")?;
    let line = client.stderr.wait_for("with the fingerprint", |l| {
        l.starts_with("your fingerprint: ")
    })?;
    Ok(line["your fingerprint: ".len()..].to_owned())
}

/// The fingerprint of the key in an identity file.
fn fingerprint_in(path: &Path) -> String {
    Identity::load(path).unwrap().fingerprint().to_string()
}

/// `insider_forge --layer LAYER --as alice EXTRA` against `server`, run to
/// its end.
fn forge(server: &Server, layer: &str, extra: &[&str]) -> Finished {
    let mut args = server.client_args();
    args.extend(["--layer", layer, "--as", "alice", "--password", PASSWORD].map(String::from));
    args.extend(extra.iter().map(|a| a.to_string()));
    run(&bin!("insider_forge"), &args).unwrap()
}

/// `insider_forge --poison-counter`, started: it waits for a message of
/// alice's; returns once the server has registered its broadcast
/// connection (after the `listeners` already there).
fn poisoner(server: &Server, layer: &str, extra: &[&str], listeners: usize) -> Result<Process> {
    let mut args = server.client_args();
    args.extend(["--layer", layer, "--as", "alice", "--poison-counter"].map(String::from));
    args.extend(extra.iter().map(|a| a.to_string()));
    let forge = Process::spawn(&bin!("insider_forge"), &args, &[PASSWORD_ENV])?;
    server.wait_for_subscribers(listeners + 1)?;
    Ok(forge)
}

/// `client`'s stderr up to its answer to `/fingerprint`: everything its
/// receiving thread wrote before `client` last printed on stdout.
fn stderr_so_far(client: &mut Process) -> Result<Vec<String>> {
    fingerprint_of(client)?;
    Ok(client.stderr.all())
}

// --- insider forges a nick ---

#[test]
fn an_insider_forges_a_nick_that_aead_receivers_accept() -> Result<()> {
    let server = ae();
    let aead = bin!("aead_client");
    let password = ["--password", PASSWORD];
    let mut alice = client(&aead, &server, "alice", &password);
    let bob = client(&aead, &server, "bob", &password);
    alice.send_line("hello everyone")?;
    bob.stdout.wait_for_line("alice : hello everyone")?;
    let forged = forge(&server, "aead", &[]);
    ensure!(forged.status.success(), "{forged:?}");
    ensure!(
        forged
            .stdout
            .contains(r#"(AEAD layer, inside the token): {"nick":"alice","#),
        "{forged:?}"
    );
    bob.stdout.wait_for_line(&format!("alice : {FORGED}"))?;
    Ok(())
}

/// The same forgery against signed clients: the insider can only sign with
/// its own key, and bob's client names both keys.
#[test]
fn signed_receivers_refuse_an_insiders_forgery_naming_both_fingerprints() -> Result<()> {
    let (server, dir) = (ae(), folder("forge-nick"));
    let mut alice = signed(&server, "alice", dir.path());
    let bob = signed(&server, "bob", dir.path());
    let alice_key = fingerprint_of(&mut alice)?;
    alice.send_line("hello everyone")?;
    bob.stdout.wait_for_line("alice : hello everyone")?;
    bob.stderr
        .wait_for_line(&format!("new key for alice pinned: {alice_key}, first seen in room 'lobby' (trust on first use: compare it with what alice's /fingerprint shows, then /verify alice FINGERPRINT)"))?;
    let mallory = identity_file(dir.path(), "mallory");
    let forged = forge(
        &server,
        "signed",
        &["--identity", &mallory.to_string_lossy()],
    );
    ensure!(forged.status.success(), "{forged:?}");
    let mallory_key = fingerprint_in(&mallory);
    bob.stdout.wait_for_line(&format!(
        "[rejected] alice: key changed: pinned {alice_key}, got {mallory_key}"
    ))?;
    Ok(())
}

// --- insider poisons a counter ---

#[test]
fn an_insider_poisons_aead_counters_so_alices_next_message_looks_late() -> Result<()> {
    let server = ae();
    let aead = bin!("aead_client");
    let password = ["--password", PASSWORD];
    let mut alice = client(&aead, &server, "alice", &password);
    let bob = client(&aead, &server, "bob", &password);
    let mut forge = poisoner(&server, "aead", &[], 2)?;
    alice.send_line("m1")?;
    ensure!(forge.exit_status()?.success(), "{:?}", forge.stderr.all());
    let sent = forge.stdout.until_closed()?.join("\n");
    ensure!(sent.contains(r#""seq":9223372036854775808"#), "{sent}");
    ensure!(
        sent.contains("alice's session, read from a frame"),
        "{sent}"
    );
    bob.stdout.wait_for_line("alice : m1")?;
    bob.stdout.wait_for_line(&format!("alice : {FORGED}"))?;
    bob.stderr
        .wait_for_line("[warning] 9,223,372,036,854,775,807 message(s) from alice missing")?;
    alice.send_line("m2")?;
    bob.stdout.wait_for_line("alice : m2")?;
    bob.stderr
        .wait_for_line("[warning] message from alice arrived out of order")?;
    Ok(())
}

#[test]
fn signed_counters_are_kept_per_key_so_the_insider_poisons_nothing() -> Result<()> {
    let (server, dir) = (ae(), folder("poison"));
    let mut alice = signed(&server, "alice", dir.path());
    let mut bob = signed(&server, "bob", dir.path());
    let mallory = identity_file(dir.path(), "mallory");
    let mut forge = poisoner(
        &server,
        "signed",
        &["--identity", &mallory.to_string_lossy()],
        2,
    )?;
    alice.send_line("m1")?;
    ensure!(forge.exit_status()?.success(), "{:?}", forge.stderr.all());
    bob.stdout.wait_for_line("alice : m1")?;
    let rejected = bob.stdout.wait_for("a line", |_| true)?;
    ensure!(
        rejected.starts_with("[rejected] alice: key changed: pinned "),
        "{rejected}"
    );
    alice.send_line("m2")?;
    bob.stdout.wait_for_line("alice : m2")?;
    let warnings: Vec<String> = stderr_so_far(&mut bob)?
        .into_iter()
        .filter(|l| l.starts_with("[warning]"))
        .collect();
    ensure!(warnings.is_empty(), "{warnings:?}");
    Ok(())
}

// --- key substituted before first contact, and after pinning ---

/// `rogue_server --attack substitute-key`, and the fingerprint of the key
/// it signs with (from its log).
fn substituting_rogue() -> Result<(ServerProcess, String)> {
    let rogue = ServerProcess::start(
        &bin!("rogue_server"),
        &["--attack", "substitute-key"],
        &[PASSWORD_ENV],
    )?;
    let line = rogue.process.stderr.wait_for("with its key", |l| {
        l.contains("its own signing key has fingerprint ")
    })?;
    let key = line.rsplit(' ').next().unwrap_or_default().to_owned();
    Ok((rogue, key))
}

#[test]
fn a_substituted_key_fools_a_receiver_that_never_saw_the_real_one() -> Result<()> {
    let dir = folder("substitute-first");
    let (rogue, rogue_key) = substituting_rogue()?;
    let mut alice = signed_at(&rogue.client_args(), "alice", dir.path());
    let bob = signed_at(&rogue.client_args(), "bob", dir.path());
    let alice_key = fingerprint_of(&mut alice)?;
    ensure!(alice_key != rogue_key);
    alice.send_line("meet me at noon")?;
    bob.stdout.wait_for_line("alice : meet me at noon")?;
    bob.stderr.wait_for("the rogue's key pinned", |l| {
        l.starts_with(&format!("new key for alice pinned: {rogue_key}, "))
    })?;
    let pinned = fs::read_to_string(known_file(dir.path(), "bob"))?;
    ensure!(
        pinned.lines().any(|l| l.starts_with(r#"{"pin":"alice","#)),
        "{pinned}"
    );
    Ok(())
}

#[test]
fn a_substituted_key_is_refused_once_the_real_one_is_pinned() -> Result<()> {
    let dir = folder("substitute-pinned");
    // An earlier chat, through an honest server: bob pins alice's key.
    let honest = ae();
    let mut alice = signed(&honest, "alice", dir.path());
    let bob = signed(&honest, "bob", dir.path());
    let alice_key = fingerprint_of(&mut alice)?;
    alice.send_line("hello bob")?;
    bob.stdout.wait_for_line("alice : hello bob")?;
    drop((alice, bob, honest));
    // The server is now a rogue one that knows the password.
    let (rogue, rogue_key) = substituting_rogue()?;
    let mut alice = signed_at(&rogue.client_args(), "alice", dir.path());
    let bob = signed_at(&rogue.client_args(), "bob", dir.path());
    alice.send_line("meet me at noon")?;
    bob.stdout.wait_for_line(&format!(
        "[rejected] alice: key changed: pinned {alice_key}, got {rogue_key}"
    ))?;
    Ok(())
}

// --- the identity file ---

#[test]
fn an_identity_is_created_owner_only_on_first_use_and_reused_after() -> Result<()> {
    let (server, dir) = (ae(), folder("identity"));
    let path = identity_file(dir.path(), "alice");
    let mut first = signed(&server, "alice", dir.path());
    let created = first
        .stderr
        .all()
        .into_iter()
        .find(|l| l.starts_with("created your identity in "))
        .unwrap_or_default();
    let key = fingerprint_of(&mut first)?;
    ensure!(
        created.ends_with(&format!("; your fingerprint: {key}")),
        "{created}"
    );
    ensure!(fs::metadata(&path)?.permissions().mode() & 0o777 == 0o600);
    first.send_line("/quit")?;
    ensure!(first.exit_status()?.success());
    let mut again = signed(&server, "alice", dir.path());
    ensure!(fingerprint_of(&mut again)? == key);
    ensure!(
        !again.stderr.all().iter().any(|l| l.starts_with("created ")),
        "{:?}",
        again.stderr.all()
    );
    Ok(())
}

/// `signed_client` with these files, run to its end: it stops before it
/// reaches for a server.
fn signed_client_with(identity: &Path, known: Option<&Path>) -> Finished {
    let mut args = vec![
        "--port",
        "1",
        "--broadcast-port",
        "1",
        "--password",
        PASSWORD,
    ];
    let identity = identity.to_string_lossy();
    args.extend(["--identity", &identity]);
    let known = known.map(|k| k.to_string_lossy().into_owned());
    if let Some(known) = &known {
        args.extend(["--known", known]);
    }
    run(&bin!("signed_client"), &args).unwrap()
}

#[test]
fn an_identity_others_can_read_is_refused_and_left_as_it_is() -> Result<()> {
    let dir = folder("exposed");
    let path = identity_file(dir.path(), "alice");
    Identity::load_or_create(&path)?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
    let before = fs::read(&path)?;
    let refused = signed_client_with(&path, None);
    ensure!(!refused.status.success());
    let expected = format!(
        "error: the identity file {0} can be read by others (mode 644); it holds your private key: run `chmod 600 {0}`",
        path.display()
    );
    ensure!(refused.stderr.lines().any(|l| l == expected), "{refused:?}");
    ensure!(fs::read(&path)? == before);
    Ok(())
}

#[test]
fn a_corrupt_identity_is_refused_and_left_as_it_is() -> Result<()> {
    let dir = folder("corrupt-identity");
    let path = identity_file(dir.path(), "alice");
    fs::create_dir_all(path.parent().unwrap_or(dir.path()))?;
    fs::write(&path, "-----BEGIN PRIVATE KEY-----\nnot a key\n")?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600))?;
    let refused = signed_client_with(&path, None);
    ensure!(!refused.status.success());
    let prefix = format!(
        "error: the identity file {} holds no Ed25519 private key",
        path.display()
    );
    ensure!(
        refused.stderr.lines().any(|l| l.starts_with(&prefix)),
        "{refused:?}"
    );
    ensure!(fs::read_to_string(&path)? == "-----BEGIN PRIVATE KEY-----\nnot a key\n");
    Ok(())
}

// --- the known-members file ---

/// A known-members file holding a pin for alice, then `extra`.
fn known_with_a_pin(dir: &Path, extra: &str) -> Result<(PathBuf, String)> {
    let alice = Identity::generate()?;
    let path = known_file(dir, "bob");
    fs::create_dir_all(path.parent().unwrap_or(dir))?;
    let text = format!("# pins\n{} alice\n{extra}", alice.public().to_base64());
    fs::write(&path, &text)?;
    Ok((path, text))
}

#[test]
fn a_corrupt_known_members_file_is_refused_and_its_pins_kept() -> Result<()> {
    let dir = folder("corrupt-known");
    let (known, text) = known_with_a_pin(dir.path(), "garbage\n")?;
    let refused = signed_client_with(&identity_file(dir.path(), "bob"), Some(&known));
    ensure!(!refused.status.success());
    let expected = format!(
        "error: the known-members file {}, line 3: expected a record, or a key, a space and a nick; fix or delete that line (the file was left as it is)",
        known.display()
    );
    ensure!(refused.stderr.lines().any(|l| l == expected), "{refused:?}");
    ensure!(fs::read_to_string(&known)? == text);
    Ok(())
}

/// Whether this test runs as root, for whom permission bits do not stop a
/// write.
fn running_as_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

#[test]
fn an_unwritable_known_members_file_is_refused_and_its_pins_kept() -> Result<()> {
    let dir = folder("unwritable-known");
    let (known, text) = known_with_a_pin(dir.path(), "")?;
    let folder = known.parent().unwrap_or(dir.path()).to_owned();
    let identity = identity_file(dir.path(), "bob");
    Identity::load_or_create(&identity)?;
    fs::set_permissions(&known, fs::Permissions::from_mode(0o444))?;
    fs::set_permissions(&folder, fs::Permissions::from_mode(0o555))?;
    let refused = if running_as_root() {
        // Root writes whatever the bits say: the client runs as nobody, to
        // whom the folder and file (root's) are read-only, and the identity
        // is handed over.
        std::os::unix::fs::chown(&identity, Some(NOBODY), Some(NOBODY))?;
        signed_client_as_nobody(&identity, &known)?
    } else {
        signed_client_with(&identity, Some(&known))
    };
    fs::set_permissions(&folder, fs::Permissions::from_mode(0o755))?;
    ensure!(!refused.status.success(), "{refused:?}");
    let expected = format!(
        "error: cannot write the known-members file {} (the keys it pins would be lost): Permission denied (os error 13)",
        known.display()
    );
    ensure!(refused.stderr.lines().any(|l| l == expected), "{refused:?}");
    ensure!(fs::read_to_string(&known)? == text);
    Ok(())
}

/// The uid and gid of `nobody`.
const NOBODY: u32 = 65534;

fn signed_client_as_nobody(identity: &Path, known: &Path) -> Result<Finished> {
    use std::os::unix::process::CommandExt;
    let output = Command::new(bin!("signed_client"))
        .args(["--port", "1", "--broadcast-port", "1", "--identity"])
        .arg(identity)
        .arg("--known")
        .arg(known)
        .env("CHAT_PASSWORD", PASSWORD)
        .uid(NOBODY)
        .gid(NOBODY)
        .output()?;
    Ok(Finished {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

// --- the terminal's commands ---

#[test]
fn whois_and_fingerprint_are_the_signed_layers_commands() -> Result<()> {
    let (server, dir) = (ae(), folder("whois"));
    let mut alice = signed(&server, "alice", dir.path());
    let mut bob = signed(&server, "bob", dir.path());
    let alice_key = fingerprint_of(&mut alice)?;
    alice.send_line("hi")?;
    bob.stdout.wait_for_line("alice : hi")?;
    bob.send_line("/whois alice")?;
    bob.stderr.wait_for_line(&format!("alice: {alice_key} (unverified: first seen in room 'lobby'; compare it with what alice's /fingerprint shows, then /verify alice {alice_key})"))?;
    bob.send_line(&format!("/verify alice {alice_key}"))?;
    bob.stderr
        .wait_for_line(&format!("alice's key {alice_key} is verified"))?;
    bob.send_line("/whois alice")?;
    bob.stderr
        .wait_for_line(&format!("alice: {alice_key} (verified)"))?;
    bob.send_line("/whois carol")?;
    bob.stderr.wait_for_line(
        "no key pinned for carol yet: it is pinned when a signed message from carol first arrives",
    )?;
    bob.send_line("/help")?;
    bob.stdout
        .wait_for("/whois in the help", |l| l.contains("/whois NICK"))?;
    let mut aead = client(
        &bin!("aead_client"),
        &server,
        "carol",
        &["--password", PASSWORD],
    );
    aead.send_line("/whois alice")?;
    aead.stderr.wait_for_line("/whois, /verify and /fingerprint are commands of the signed layer (signed_client): this layer has no keys of its own")?;
    aead.send_line("/help")?;
    aead.send_line("/list")?;
    let help: Vec<String> = std::iter::from_fn(|| aead.stdout.next(PATIENCE))
        .take_while(|l| !l.starts_with("joined ("))
        .collect();
    ensure!(!help.iter().any(|l| l.contains("/whois")), "{help:?}");
    Ok(())
}

// --- trust as people really run the lab ---

/// A home for one test: `HOME` and `XDG_DATA_HOME` of every binary it
/// runs, so that their default files land there.
struct Home {
    dir: Scratch,
}

impl Home {
    fn new(what: &str) -> Self {
        Self { dir: folder(what) }
    }

    fn env(&self) -> [(&'static str, String); 3] {
        let home = self.dir.path().display().to_string();
        [
            ("HOME", home.clone()),
            ("XDG_DATA_HOME", format!("{home}/data")),
            (PASSWORD_ENV.0, PASSWORD_ENV.1.to_owned()),
        ]
    }

    /// Where the signed layer's default files are.
    fn data(&self) -> PathBuf {
        self.dir.path().join("data").join("unsecured-chat")
    }

    /// `binary ARGS` with this home and the password in its environment.
    fn spawn(&self, binary: &Path, args: &[String]) -> Result<Process> {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Process::spawn(binary, args, &env)
    }

    /// `signed_client` with every file at its default, joined; `nick` if
    /// given, else a random one.
    fn signed(&self, server: &Server, nick: Option<&str>, extra: &[&str]) -> Result<Process> {
        let mut args = server.client_args();
        if let Some(nick) = nick {
            args.extend(["--nick".to_owned(), nick.to_owned()]);
        }
        args.extend(extra.iter().map(|a| a.to_string()));
        let client = self.spawn(&bin!("signed_client"), &args)?;
        client
            .stderr
            .wait_for("announcing the join", |l| l.starts_with("joined as "))?;
        Ok(client)
    }

    /// The files in the data folder, sorted.
    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.data())
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

/// The issue's first finding, through the real binaries: alice and bob in
/// two terminals of one account, no file named, and `insider_forge --as
/// alice` in a third. Each nick has a key of its own and the insider one
/// of its own: bob rejects the forgery.
#[test]
fn with_every_file_at_its_default_the_insiders_forgery_is_stopped() -> Result<()> {
    let (server, home) = (ae(), Home::new("defaults"));
    let mut alice = home.signed(&server, Some("alice"), &[])?;
    let bob = home.signed(&server, Some("bob"), &[])?;
    let alice_key = fingerprint_of(&mut alice)?;
    alice.send_line("hello everyone")?;
    bob.stdout.wait_for_line("alice : hello everyone")?;
    let mut args = server.client_args();
    args.extend(["--layer", "signed", "--as", "alice"].map(String::from));
    let mut forge = home.spawn(&bin!("insider_forge"), &args)?;
    ensure!(forge.exit_status()?.success(), "{:?}", forge.stderr.all());
    let printed = forge.stdout.until_closed()?;
    let prefix = "signed with the insider's own key, the only one it has: ";
    let insider_key = printed
        .iter()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_default()
        .to_owned();
    ensure!(
        !insider_key.is_empty() && insider_key != alice_key,
        "{printed:?}"
    );
    bob.stdout.wait_for_line(&format!(
        "[rejected] alice: key changed: pinned {alice_key}, got {insider_key}"
    ))?;
    let files = home.files();
    ensure!(
        files.len() == 4,
        "two identities, the pins and their lock: {files:?}"
    );
    ensure!(files[0].starts_with("identity-alice-"), "{files:?}");
    ensure!(files[1].starts_with("identity-bob-"), "{files:?}");
    ensure!(
        files[2..] == ["known_members", "known_members.lock"],
        "{files:?}"
    );
    Ok(())
}

/// A random nick is never seen again: its key is made for the session and
/// saved nowhere.
#[test]
fn a_random_nick_gets_a_key_for_the_session_only() -> Result<()> {
    let (server, home) = (ae(), Home::new("random-nick"));
    let client = home.signed(&server, None, &[])?;
    let said =
        "your nick was drawn at random, so your key is for this session only and saved nowhere";
    let stderr = client.stderr.all();
    ensure!(stderr.iter().any(|l| l.starts_with(said)), "{stderr:?}");
    let files = home.files();
    ensure!(
        !files.iter().any(|f| f.starts_with("identity")),
        "{files:?}"
    );
    Ok(())
}

/// Two clients sharing one pin file, carol new to both: neither says her
/// key changed (before: `key changed: pinned 87ad-..., got 87ad-...`).
#[test]
fn two_clients_sharing_a_pin_file_both_accept_a_newcomer() -> Result<()> {
    let (server, dir) = (ae(), folder("shared-pins"));
    let known = dir.path().join("known_members");
    let known = known.to_string_lossy();
    let shared = |nick: &str| -> Result<Process> {
        let mut args = server.client_args();
        args.extend(["--nick", nick, "--password", PASSWORD, "--known", &known].map(String::from));
        args.push("--identity".into());
        args.push(
            identity_file(dir.path(), nick)
                .to_string_lossy()
                .into_owned(),
        );
        Process::chat_client(&bin!("signed_client"), &args)
    };
    let (alice, bob) = (shared("alice")?, shared("bob")?);
    let mut carol = signed(&server, "carol", dir.path());
    for text in ["hi, I am new", "and still me"] {
        carol.send_line(text)?;
        alice.stdout.wait_for_line(&format!("carol : {text}"))?;
        bob.stdout.wait_for_line(&format!("carol : {text}"))?;
    }
    let pins = fs::read_to_string(dir.path().join("known_members"))?;
    let carols = pins.lines().filter(|l| l.contains("\"carol\"")).count();
    ensure!(carols == 1, "{pins}");
    Ok(())
}

/// alice is pinned and leaves; `аlice` (Cyrillic а) joins under another
/// key: rejected as alice's changed key, naming alice.
#[test]
fn a_lookalike_of_a_pinned_nick_is_refused_naming_it() -> Result<()> {
    let (server, dir) = (ae(), folder("lookalike"));
    let mut alice = signed(&server, "alice", dir.path());
    let bob = signed(&server, "bob", dir.path());
    let alice_key = fingerprint_of(&mut alice)?;
    alice.send_line("hello")?;
    bob.stdout.wait_for_line("alice : hello")?;
    alice.send_line("/quit")?;
    ensure!(alice.exit_status()?.success());
    let lookalike = "\u{430}lice";
    let mut mallory = signed(&server, lookalike, dir.path());
    let mallory_key = fingerprint_of(&mut mallory)?;
    mallory.send_line("it is me, alice")?;
    bob.stdout.wait_for_line(&format!(
        "[rejected] {lookalike}: key changed: pinned {alice_key} for 'alice', whom this nick looks like, got {mallory_key}"
    ))?;
    Ok(())
}

/// mallory's key speaking as notmallory is flagged, never a stranger.
#[test]
fn a_key_pinned_for_another_nick_is_flagged() -> Result<()> {
    let (server, dir) = (ae(), folder("second-nick"));
    let bob = signed(&server, "bob", dir.path());
    let mut mallory = signed(&server, "mallory", dir.path());
    mallory.send_line("hi")?;
    bob.stdout.wait_for_line("mallory : hi")?;
    mallory.send_line("/quit")?;
    ensure!(mallory.exit_status()?.success());
    let identity = identity_file(dir.path(), "mallory");
    let mut args = server.client_args();
    args.extend(["--nick", "notmallory", "--password", PASSWORD, "--identity"].map(String::from));
    args.push(identity.to_string_lossy().into_owned());
    let mut again = Process::chat_client(&bin!("signed_client"), &args)?;
    again.send_line("a stranger, honest")?;
    bob.stdout
        .wait_for_line("notmallory : a stranger, honest")?;
    bob.stderr
        .wait_for_line("[warning] notmallory: this key is pinned for mallory")?;
    Ok(())
}

/// A pin file others could change is refused at start, in one line that
/// names it and the fix, as ssh refuses such an `authorized_keys`.
#[test]
fn a_pin_file_others_can_write_is_refused_at_start() -> Result<()> {
    let dir = folder("exposed-known");
    let (known, _) = known_with_a_pin(dir.path(), "")?;
    fs::set_permissions(&known, fs::Permissions::from_mode(0o666))?;
    let refused = signed_client_with(&identity_file(dir.path(), "bob"), Some(&known));
    ensure!(!refused.status.success());
    let shown = known.display();
    let expected = format!(
        "error: the known-members file {shown} can be written by others (mode 666), so anyone could change the keys you trust: run `chmod 600 {shown}`"
    );
    ensure!(refused.stderr.lines().any(|l| l == expected), "{refused:?}");
    Ok(())
}
