//! Where the encrypted clients find the shared password.

use std::io::IsTerminal;

use crate::layer::Password;

/// Environment variable read for the password when `--password` is absent.
pub const PASSWORD_ENV: &str = "CHAT_PASSWORD";

/// Why no password could be had.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("no password: pass --password, set {PASSWORD_ENV}, or run in a terminal to be asked")]
    Missing,
    #[error("cannot read the password")]
    Prompt(#[source] std::io::Error),
    #[error("the password must not be empty")]
    Empty,
}

/// How many times the prompt asks before giving up on empty answers.
const PROMPT_TRIES: usize = 3;

/// The password from the flag, else the environment, else a no-echo prompt.
pub fn read(flag: Option<&str>) -> Result<Password, PasswordError> {
    let password = match (flag, std::env::var(PASSWORD_ENV)) {
        (Some(password), _) => password.to_owned(),
        (None, Ok(password)) => password,
        (None, Err(_)) if std::io::stdin().is_terminal() => prompt()?,
        (None, Err(_)) => return Err(PasswordError::Missing),
    };
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    Ok(Password::new(password))
}

/// Asks for the password without echo; an empty answer (Enter pressed too
/// soon) is asked again, up to [`PROMPT_TRIES`] times.
fn prompt() -> Result<String, PasswordError> {
    for _ in 0..PROMPT_TRIES {
        let answer = rpassword::prompt_password("password: ").map_err(PasswordError::Prompt)?;
        if !answer.is_empty() {
            return Ok(answer);
        }
        eprintln!("the password must not be empty");
    }
    Err(PasswordError::Empty)
}
