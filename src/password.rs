//! Where the encrypted clients find the shared password, most private
//! first: `--password-file FILE` (`-` for the first line of stdin), the
//! `CHAT_PASSWORD` environment variable, a prompt without echo on a
//! terminal. `--password P` works too, with a warning: the command line is
//! readable by every user of the machine (`ps`, `/proc/PID/cmdline`) and
//! stays in the shell's history.

use std::io::{BufRead, IsTerminal};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use chat::layer::Password;

/// Environment variable read for the password when no flag gives it.
pub const PASSWORD_ENV: &str = "CHAT_PASSWORD";

/// What `--password-file` takes to mean stdin.
pub const STDIN_PATH: &str = "-";

/// What the clients say on stderr when the password is on the command line.
pub const VISIBLE_PASSWORD_WARNING: &str = "warning: --password is visible to every user of this machine (ps, /proc) and stays in your shell history; prefer CHAT_PASSWORD, --password-file FILE or the prompt";

/// Room reserved for a password line, so that reading it does not leave
/// copies behind in reallocated buffers.
const LINE_CAPACITY: usize = 1024;

/// Why no password could be had.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error(
        "no password: pass --password-file FILE, set {PASSWORD_ENV}, or run in a terminal to be asked"
    )]
    Missing,
    #[error("cannot read the password")]
    Prompt(#[source] std::io::Error),
    #[error("cannot read the password file {}", .path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the password must not be empty")]
    Empty,
    /// Others could read or change the file: as ssh refuses such a key.
    #[error(
        "the password file {} can be read by others (mode {mode:03o}): run `chmod 600 {}`",
        .path.display(), .path.display()
    )]
    Exposed { path: PathBuf, mode: u32 },
}

/// Permission bits that let someone else than the owner in.
const OTHERS: u32 = 0o077;

/// The password from `--password-file`, else `--password` (with a warning
/// on stderr), else the environment, else a no-echo prompt.
pub fn read(flag: Option<&Password>, file: Option<&Path>) -> Result<Password, PasswordError> {
    let password = match (file, flag) {
        (Some(path), _) => from_file(path)?,
        (None, Some(password)) => {
            eprintln!("{VISIBLE_PASSWORD_WARNING}");
            password.clone()
        }
        (None, None) => from_env_or_prompt()?,
    };
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    Ok(password)
}

/// The first line of `path`, or of stdin for `-` (the rest of stdin is then
/// the chat's input, as usual).
fn from_file(path: &Path) -> Result<Password, PasswordError> {
    let failed = |source| PasswordError::File {
        path: path.to_owned(),
        source,
    };
    let mut line = Zeroizing::new(String::with_capacity(LINE_CAPACITY));
    if path == Path::new(STDIN_PATH) {
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(failed)?;
    } else {
        refuse_exposed(path)?;
        let contents = Zeroizing::new(std::fs::read_to_string(path).map_err(failed)?);
        line.push_str(contents.lines().next().unwrap_or_default());
    }
    let end = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(end);
    Ok(Password::from(line))
}

/// Refuses a password file that group or others may read or write (a
/// pipe or a terminal, `<(...)` or `/dev/stdin`, has no such bits to judge).
fn refuse_exposed(path: &Path) -> Result<(), PasswordError> {
    let meta = std::fs::metadata(path).map_err(|source| PasswordError::File {
        path: path.to_owned(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if meta.is_file() && mode & OTHERS != 0 {
        return Err(PasswordError::Exposed {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

fn from_env_or_prompt() -> Result<Password, PasswordError> {
    match std::env::var(PASSWORD_ENV) {
        Ok(password) => Ok(Password::from(Zeroizing::new(password))),
        Err(_) if std::io::stdin().is_terminal() => prompt(),
        Err(_) => Err(PasswordError::Missing),
    }
}

/// How many times the prompt asks before giving up on empty answers.
const PROMPT_TRIES: usize = 3;

/// Asks for the password without echo; an empty answer (Enter pressed too
/// soon) is asked again, up to [`PROMPT_TRIES`] times.
fn prompt() -> Result<Password, PasswordError> {
    for _ in 0..PROMPT_TRIES {
        let typed = Zeroizing::new(
            rpassword::prompt_password("password: ").map_err(PasswordError::Prompt)?,
        );
        if !typed.is_empty() {
            return Ok(Password::from(typed));
        }
        eprintln!("the password must not be empty");
    }
    Err(PasswordError::Empty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat::layer::crypto::{SALT_LEN, Salt, derive_key_from_password};

    /// A file only its owner may read or write (`std::fs::write` would
    /// make it 0644 under the usual umask).
    fn private_file(name: &str, text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("chat-{name}-{}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        let private = std::fs::Permissions::from_mode(0o600);
        std::fs::set_permissions(&path, private).unwrap();
        path
    }

    #[test]
    fn a_password_file_gives_its_first_line() {
        let path = private_file("password", "s3cret\r\nsecond line\n");
        let password = read(None, Some(&path)).unwrap();
        std::fs::remove_file(&path).unwrap();
        // Same password, same key: a token made under one opens under the other.
        let salt = Salt([7; SALT_LEN]);
        let token = derive_key_from_password(&password, &salt, 1).encrypt(b"x");
        let expected = derive_key_from_password(&Password::new("s3cret"), &salt, 1);
        assert_eq!(expected.decrypt(&token).unwrap(), b"x");
    }

    /// The flags, the settings made of them, and the key schedules never
    /// show the password or a key in `Debug`.
    #[test]
    fn the_password_never_shows_in_debug() {
        use clap::Parser;

        use crate::flags::CryptoFlags;
        use chat::layer::KeyScheme;

        #[derive(Debug, Parser)]
        struct Cli {
            #[command(flatten)]
            crypto: CryptoFlags,
        }
        const SECRET: &str = "hunter2-but-longer";
        let cli = Cli::try_parse_from([
            "client",
            "--password",
            SECRET,
            "--kdf",
            "hkdf",
            "--chat-id",
            "EBESExQVFhcYGRobHB0eHw",
            "--iterations",
            "1",
        ])
        .unwrap();
        let settings = cli.crypto.settings(30).unwrap();
        let shown = format!(
            "{cli:?} {settings:?} {:?} {:?}",
            settings.message_keys(),
            chat::layer::MessageKeys::new(KeyScheme::Lab, &settings.password, &settings.room, 1)
        );
        assert!(shown.contains("Password(<hidden>)"), "{shown}");
        assert!(shown.contains("RawKey(<hidden>)"), "{shown}");
        assert!(!shown.contains(SECRET), "{shown}");
    }

    #[test]
    fn a_password_file_others_can_read_is_refused_naming_it_and_the_fix() {
        let path = private_file("exposed-password", "s3cret\n");
        for mode in [0o644, 0o640, 0o620, 0o604] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = read(None, Some(&path)).unwrap_err().to_string();
            let shown = path.display();
            assert_eq!(
                err,
                format!(
                    "the password file {shown} can be read by others (mode {mode:03o}): run `chmod 600 {shown}`"
                )
            );
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_missing_file_says_which() {
        let err = read(None, Some(Path::new("/nonexistent/password"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read the password file /nonexistent/password"
        );
    }
}
