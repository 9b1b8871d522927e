//! Running a server binary: bind, announce, serve until Ctrl-C; with
//! `--dashboard`, the teacher's view of it too.

use std::io::Write;
use std::sync::Arc;

use crate::Error;
use crate::flags::ServerFlags;
use crate::web::dashboard::Dashboard;
use chat::server::{BaseServer, Publisher, ServerConfig, Service};

/// Binds both ports, starts the service `make_service` builds (it may keep
/// the publisher, for broadcasts of its own), prints the "listening on"
/// line, and serves until Ctrl-C stops the server cleanly.
pub fn run<S, F>(flags: &ServerFlags, make_service: F) -> Result<(), Error>
where
    S: Service,
    F: FnOnce(Publisher) -> S,
{
    run_with(flags, &flags.config(), make_service)
}

/// [`run`], for a configuration the binary adjusted (the AE server's
/// msgpack on the ZeroMQ wire).
pub fn run_with<S, F>(
    flags: &ServerFlags,
    config: &ServerConfig,
    make_service: F,
) -> Result<(), Error>
where
    S: Service,
    F: FnOnce(Publisher) -> S,
{
    let server = BaseServer::bind(config)?;
    let _dashboard = if flags.dashboard.dashboard {
        Some(dashboard(flags, &server)?)
    } else {
        None
    };
    let service = Arc::new(make_service(server.publisher()));
    let handle = server.spawn(service)?;
    announce(&handle.listening_line())?;
    let stopper = handle.stopper();
    if let Err(e) = ctrlc::set_handler(move || stopper.stop()) {
        log::warn!("Ctrl-C will not stop the server cleanly: {e}");
    }
    handle.wait();
    log::info!("server stopped");
    Ok(())
}

/// The teacher's view of `server`, following its tap from before its
/// first connection; its address on stderr.
fn dashboard(flags: &ServerFlags, server: &BaseServer) -> Result<Dashboard, Error> {
    let dashboard = Dashboard::start(&flags.dashboard, &server_name())?;
    dashboard.follow(&server.tap());
    eprintln!("dashboard: {}", dashboard.url());
    Ok(dashboard)
}

/// The running binary's name (`ae_server`), which the view shows.
fn server_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "server".to_owned())
}

/// The "listening on" line: the one thing a server prints on stdout, which
/// scripts wait for, so it must get out.
fn announce(line: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()
}
