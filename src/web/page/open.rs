//! `--open`: the page opened in the default browser, as Jupyter does it.
//! The address holds the page's token, and a command line is visible to
//! every user of the machine (`ps`), so the browser is not given the
//! address: it is given a file, readable by its owner only, that sends it
//! there. The file is removed when the client ends.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;

use crate::screen::Screen;
use crate::web::guard::Secret;

/// Owner-only: the file holds the token.
const OWNER_ONLY: u32 = 0o600;

/// The environment variable that names the user's browser (as Python's
/// `webbrowser` reads it): commands separated by `:`, `%s` standing for the
/// address.
const BROWSER_ENV: &str = "BROWSER";

/// What opens a file in the default browser when `BROWSER` is not set.
const DEFAULT_OPENER: &str = if cfg!(target_os = "macos") {
    "open"
} else {
    "xdg-open"
};

/// The redirect file; removed on drop.
pub(super) struct RedirectFile(PathBuf);

impl Drop for RedirectFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Writes the redirect file to `url` and has the browser open it; says on
/// stderr why if it cannot (the address printed on stdout still works).
pub(super) fn open_in_browser(url: &str, port: u16) -> Option<RedirectFile> {
    let opened = write_redirect(url, port).and_then(|file| {
        launch_browser(&file.0)?;
        Ok(file)
    });
    opened
        .inspect_err(|e| {
            Screen::lines().note(&format!(
                "cannot open a browser ({e}): open the page's address above"
            ));
        })
        .ok()
}

/// A new owner-only file in the user's runtime folder (else the temporary
/// one), under a name no one can guess in advance, that sends a browser to
/// `url`.
fn write_redirect(url: &str, port: u16) -> io::Result<RedirectFile> {
    let name = format!(
        "unsecured-chat-page-{port}-{}.html",
        &Secret::new()?.as_str()[..8]
    );
    let path = runtime_folder().join(name);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(OWNER_ONLY)
        .open(&path)?;
    let redirect = RedirectFile(path);
    file.write_all(redirect_html(url).as_bytes())?;
    Ok(redirect)
}

/// `$XDG_RUNTIME_DIR` (owner-only by the XDG rules), else the temporary
/// folder.
fn runtime_folder() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute() && dir.is_dir())
        .unwrap_or_else(std::env::temp_dir)
}

/// A page that sends the browser to `url` (which is ours: a loopback
/// address and a token in hex, nothing to escape).
fn redirect_html(url: &str) -> String {
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"0;url={url}\">\
         <title>Opening the chat</title></head>\
         <body><p><a href=\"{url}\">Open the chat</a></p></body></html>\n"
    )
}

/// Starts the browser on `file`: the first command of `BROWSER`, else the
/// system's opener. It is not waited for, but reaped when it exits.
fn launch_browser(file: &Path) -> io::Result<()> {
    let target = format!("file://{}", file.display());
    let mut command = browser_command(&target);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    thread::Builder::new()
        .name("browser".into())
        .spawn(move || child.wait())?;
    Ok(())
}

fn browser_command(target: &str) -> Command {
    let configured = std::env::var(BROWSER_ENV).ok();
    let first = configured
        .as_deref()
        .and_then(|list| list.split(':').find(|c| !c.trim().is_empty()));
    let Some(line) = first else {
        let mut command = Command::new(DEFAULT_OPENER);
        command.arg(target);
        return command;
    };
    let mut words = line.split_whitespace();
    let mut command = Command::new(words.next().unwrap_or(DEFAULT_OPENER));
    let mut placed = false;
    for word in words {
        placed |= word.contains("%s");
        command.arg(word.replace("%s", target));
    }
    if !placed {
        command.arg(target);
    }
    command
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_redirect_file_is_the_owner_s_only_and_goes_to_the_page() {
        let url = "http://127.0.0.1:1/?token=abc";
        let file = write_redirect(url, 1).unwrap();
        let mode = fs::metadata(&file.0).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, OWNER_ONLY);
        let html = fs::read_to_string(&file.0).unwrap();
        assert!(html.contains("content=\"0;url=http://127.0.0.1:1/?token=abc\""));
        let path = file.0.clone();
        drop(file);
        assert!(!path.exists());
    }

    #[test]
    fn the_browser_is_given_the_file_never_the_address() {
        let command = browser_command("file:///run/x.html");
        let args: Vec<_> = command.get_args().collect();
        assert!(args.iter().any(|a| *a == "file:///run/x.html"));
        assert!(!args.iter().any(|a| a.to_string_lossy().contains("token")));
    }
}
