//! The archive `make dist` writes for the room (PROTOCOL.md section 11):
//! unpacked into a scratch folder, its binaries run with a `PATH` that holds
//! them alone (no cargo, no toolchain), a server and two clients chatting
//! over real TCP on ports the system picks; every binary stripped; the
//! platform its README names, checked against what the binaries reference.
//!
//! The tests are ignored by a plain `cargo test`: they need the archive,
//! which `make dist` packs from the release build. `make dist-check` (a
//! step of `make test`) makes it and runs them, naming it in
//! `DIST_ARCHIVE`; without it they print one line and pass, except under
//! `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use chat_lab::prerequisite;
use chat_lab::process::{PATIENCE, Process, parse_listening_line, run};
use chat_lab::scratch::Scratch;

/// Where `make dist-check` says the archive is.
const ARCHIVE_ENV: &str = "DIST_ARCHIVE";

/// The most the archive may weigh: 40 MiB.
const MAX_ARCHIVE_BYTES: u64 = 40 * 1024 * 1024;

/// The binaries a room needs (dist/make-dist.sh says why these).
const ROOM_BINARIES: [&str; 13] = [
    "simple_server",
    "ae_server",
    "rogue_server",
    "simple_client",
    "ae_client",
    "aead_client",
    "signed_client",
    "simple_bigbrother",
    "simple_dos",
    "simple_exploit",
    "insider_forge",
    "chat_demo",
    "chat_bench",
];

/// ELF section types, flags and machines this file reads (the System V ABI).
const SHT_SYMTAB: u32 = 2;
/// A section loaded with the program (`.debug_gdb_scripts` is one: strip
/// keeps it), unlike debug information.
const SHF_ALLOC: usize = 2;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;

/// The archive, unpacked into a scratch folder removed when dropped.
struct Unpacked {
    _scratch: Scratch,
    /// The archive's one top folder.
    root: PathBuf,
    bytes: u64,
}

impl Unpacked {
    fn bin(&self) -> PathBuf {
        self.root.join("bin")
    }

    fn binaries(&self) -> Result<Vec<PathBuf>> {
        let mut found = std::fs::read_dir(self.bin())?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<std::io::Result<Vec<_>>>()?;
        found.sort();
        Ok(found)
    }

    /// A command for `program`, found through a `PATH` that holds the
    /// archive's binaries alone, in an environment that holds nothing else.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env_clear().env("PATH", self.bin());
        command
    }
}

/// The archive unpacked, or `None` (the test was skipped) if
/// `DIST_ARCHIVE` does not name one.
fn unpacked() -> Result<Option<Unpacked>> {
    let named = std::env::var_os(ARCHIVE_ENV).filter(|name| !name.is_empty());
    let Some(archive) = named.map(PathBuf::from) else {
        prerequisite::skip(&format!("{ARCHIVE_ENV} names no archive (make dist-check)"));
        return Ok(None);
    };
    let bytes = std::fs::metadata(&archive)
        .with_context(|| format!("cannot read {}", archive.display()))?
        .len();
    let scratch = Scratch::new("dist-archive")?;
    let done = run(
        Path::new("tar"),
        &[
            "-xzf".as_ref(),
            archive.as_os_str(),
            "-C".as_ref(),
            scratch.path().as_os_str(),
        ],
    )?;
    ensure!(done.status.success(), "tar failed: {}", done.stderr);
    let root = scratch.path().join(folder_name(&archive)?);
    ensure!(root.is_dir(), "the archive holds no folder named after it");
    Ok(Some(Unpacked {
        _scratch: scratch,
        root,
        bytes,
    }))
}

/// `unsecured-chat-VERSION-TARGET` for `.../unsecured-chat-VERSION-TARGET.tar.gz`.
fn folder_name(archive: &Path) -> Result<String> {
    let file = archive.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match file.strip_suffix(".tar.gz") {
        Some(name) if name.starts_with("unsecured-chat-") => Ok(name.to_owned()),
        _ => bail!("{file:?} is not named unsecured-chat-VERSION-TARGET.tar.gz"),
    }
}

#[test]
#[ignore = "needs the archive: make dist-check runs it"]
fn the_archive_holds_the_room_in_at_most_40_mib() -> Result<()> {
    let Some(dist) = unpacked()? else {
        return Ok(());
    };
    assert!(
        dist.bytes <= MAX_ARCHIVE_BYTES,
        "{} bytes, over {MAX_ARCHIVE_BYTES}",
        dist.bytes
    );
    let names: Vec<String> = dist
        .binaries()?
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
        .collect();
    let mut expected = ROOM_BINARIES.map(str::to_owned).to_vec();
    expected.sort();
    assert_eq!(names, expected);
    for doc in [
        "README.md",
        "room.sh",
        "docs/PROTOCOL.md",
        "docs/CLASSROOM.md",
    ] {
        assert!(dist.root.join(doc).is_file(), "{doc} missing");
    }
    assert!(
        !dist.root.join("docs/ANSWERS.md").exists(),
        "the answers to the room's questions are in the archive"
    );
    Ok(())
}

#[test]
#[ignore = "needs the archive: make dist-check runs it"]
fn every_binary_is_stripped() -> Result<()> {
    let Some(dist) = unpacked()? else {
        return Ok(());
    };
    for binary in dist.binaries()? {
        let elf = std::fs::read(&binary)?;
        let sections = sections(&elf).with_context(|| binary.display().to_string())?;
        let kept: Vec<&str> = sections
            .iter()
            .filter(|s| s.kind == SHT_SYMTAB || s.is_debug_info())
            .map(|s| s.name.as_str())
            .collect();
        assert!(kept.is_empty(), "{} keeps {kept:?}", binary.display());
    }
    Ok(())
}

#[test]
#[ignore = "needs the archive: make dist-check runs it"]
fn the_readme_names_the_platform_the_binaries_need() -> Result<()> {
    let Some(dist) = unpacked()? else {
        return Ok(());
    };
    let readme = std::fs::read_to_string(dist.root.join("README.md"))?;
    let (arch, glibc) = platform_claim(&readme).context("the README names no platform")?;
    let mut newest = Vec::new();
    for binary in dist.binaries()? {
        let elf = std::fs::read(&binary)?;
        let machine = machine(&elf).context("not an ELF file")?;
        assert_eq!(Some(machine), machine_of(&arch), "{}", binary.display());
        newest = newest.max(newest_glibc(&elf)?);
    }
    assert_eq!(version(&glibc), Some(newest), "the README claims {glibc}");
    Ok(())
}

#[test]
#[ignore = "needs the archive: make dist-check runs it"]
fn a_server_and_clients_from_the_archive_chat_without_cargo() -> Result<()> {
    let Some(dist) = unpacked()? else {
        return Ok(());
    };
    assert!(!dist.bin().join("cargo").exists(), "cargo is on the PATH");
    let mut server = dist.command("simple_server");
    server.args(["--port", "0", "--broadcast-port", "0"]);
    let server = Process::start(server)?;
    let listening = server.stdout.next(PATIENCE).context("no listening line")?;
    let (port, broadcast) = parse_listening_line(&listening).context("no ports")?;
    let client = |nick: &str| -> Result<Process> {
        let mut command = dist.command("simple_client");
        command.args(["--host", "127.0.0.1", "--nick", nick]);
        command.args(["--port", &port.to_string()]);
        command.args(["--broadcast-port", &broadcast.to_string()]);
        let client = Process::start(command)?;
        client
            .stderr
            .wait_for("the join", |l| l.starts_with("joined as "))?;
        Ok(client)
    };
    let bob = client("bob")?;
    let mut alice = client("alice")?;
    alice.send_line("hello from the archive")?;
    bob.stdout.wait_for_line("alice : hello from the archive")?;
    Ok(())
}

#[test]
#[ignore = "needs the archive: make dist-check runs it"]
fn every_binary_starts_without_cargo() -> Result<()> {
    let Some(dist) = unpacked()? else {
        return Ok(());
    };
    for name in ROOM_BINARIES {
        let out = dist.command(name).arg("--version").output()?;
        assert!(out.status.success(), "{name}: {out:?}");
    }
    Ok(())
}

/// `(ARCH, GLIBC)` of the README's `Platform: Linux ARCH, glibc GLIBC or later`.
fn platform_claim(readme: &str) -> Option<(String, String)> {
    let rest = readme.split_once("Platform: Linux ")?.1;
    let (arch, rest) = rest.split_once(", glibc ")?;
    let (glibc, _) = rest.split_once(" or later")?;
    Some((arch.to_owned(), glibc.to_owned()))
}

/// The ELF machine an architecture's binaries carry.
fn machine_of(arch: &str) -> Option<u16> {
    match arch {
        "x86_64" => Some(EM_X86_64),
        "aarch64" => Some(EM_AARCH64),
        _ => None,
    }
}

/// `2.34` as `[2, 34]`.
fn version(text: &str) -> Option<Vec<u32>> {
    text.split('.').map(|n| n.parse().ok()).collect()
}

/// The newest `GLIBC_x.y` version the binary's dynamic string table names:
/// the versions its symbols need, so the oldest glibc that runs it.
fn newest_glibc(elf: &[u8]) -> Result<Vec<u32>> {
    let sections = sections(elf)?;
    let dynstr = sections
        .iter()
        .find(|s| s.name == ".dynstr")
        .context("no .dynstr section: not dynamically linked")?;
    let table = elf
        .get(dynstr.offset..dynstr.offset + dynstr.size)
        .context(".dynstr out of bounds")?;
    table
        .split(|&b| b == 0)
        .filter_map(|s| std::str::from_utf8(s).ok()?.strip_prefix("GLIBC_"))
        .filter_map(version)
        .max()
        .context("no GLIBC_ version referenced")
}

/// One section header of an ELF file, as far as these tests read it.
struct Section {
    name: String,
    kind: u32,
    flags: usize,
    offset: usize,
    size: usize,
}

impl Section {
    fn is_debug_info(&self) -> bool {
        self.name.starts_with(".debug") && self.flags & SHF_ALLOC == 0
    }
}

/// The machine field of a 64-bit little-endian ELF header.
fn machine(elf: &[u8]) -> Option<u16> {
    (elf.get(..6)? == b"\x7fELF\x02\x01").then_some(())?;
    u16_at(elf, 0x12)
}

/// The section headers of a 64-bit little-endian ELF file, named.
fn sections(elf: &[u8]) -> Result<Vec<Section>> {
    machine(elf).context("not a 64-bit little-endian ELF file")?;
    let table = u64_at(elf, 0x28).context("no section table")?;
    let entry = usize::from(u16_at(elf, 0x3a).context("no entry size")?);
    let count = usize::from(u16_at(elf, 0x3c).context("no section count")?);
    let names = usize::from(u16_at(elf, 0x3e).context("no name table")?);
    let headers = (0..count)
        .map(|i| header(elf, table + i * entry))
        .collect::<Option<Vec<_>>>()
        .context("a section header out of bounds")?;
    let strings = headers.get(names).context("no name table")?;
    headers
        .iter()
        .map(|h| {
            let name =
                c_string(elf, strings.offset + h.name).context("a section name out of bounds")?;
            Ok(Section {
                name,
                kind: h.kind,
                flags: h.flags,
                offset: h.offset,
                size: h.size,
            })
        })
        .collect()
}

/// A section header as it lies in the file: its name is an offset into
/// the name table.
struct Header {
    name: usize,
    kind: u32,
    flags: usize,
    offset: usize,
    size: usize,
}

/// The section header at `at`.
fn header(elf: &[u8], at: usize) -> Option<Header> {
    Some(Header {
        name: usize::try_from(u32_at(elf, at)?).ok()?,
        kind: u32_at(elf, at + 4)?,
        flags: u64_at(elf, at + 8)?,
        offset: u64_at(elf, at + 0x18)?,
        size: u64_at(elf, at + 0x20)?,
    })
}

fn c_string(elf: &[u8], at: usize) -> Option<String> {
    let rest = elf.get(at..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(&rest[..end]).into_owned())
}

fn u16_at(elf: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(elf.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(elf: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(elf.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(elf: &[u8], at: usize) -> Option<usize> {
    let value = u64::from_le_bytes(elf.get(at..at + 8)?.try_into().ok()?);
    usize::try_from(value).ok()
}

#[test]
fn the_platform_claim_is_read_from_the_readme_line() {
    let readme = "x\n**Platform: Linux x86_64, glibc 2.34 or later.** (`ldd`)\n";
    assert_eq!(
        platform_claim(readme),
        Some(("x86_64".to_owned(), "2.34".to_owned()))
    );
    assert_eq!(version("2.2.5"), Some(vec![2, 2, 5]));
    assert!(version("2.34") > version("2.4"));
}
