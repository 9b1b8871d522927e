//! The attack tools as programs: run an attack, print its report.

use std::io::Write;

use crate::Error;
use crate::display;
use crate::screen::print_stdout;
use chat::attack::insider_forge::{Forgery, Insider, InsiderForge};
use chat::attack::simple_bigbrother::{BigBrother, Overheard};
use chat::attack::{simple_dos, simple_exploit};
use chat::client::Endpoint;
use chat::layer::Layer;

/// `simple_bigbrother`: listens until the server goes away, each message
/// to stdout and to the timestamped log, anything else to the log only.
pub fn bigbrother(endpoint: &Endpoint) -> Result<(), Error> {
    let mut big_brother =
        BigBrother::connect(endpoint).map_err(|e| crate::no_server(endpoint, e))?;
    log::info!(
        "listening to every conversation on {}:{}, without joining",
        endpoint.host,
        endpoint.broadcast_port
    );
    loop {
        let overheard = big_brother.overhear_next()?;
        let line = display::overheard(&overheard);
        match overheard {
            Overheard::Message { .. } => {
                print_stdout(&line);
                log::info!("{line}");
            }
            Overheard::Notice(_) | Overheard::Garbled(_) => log::warn!("{line}"),
        }
    }
}

/// `simple_dos`: runs the attack, prints what the server answered; whether
/// the attack did what it says.
pub fn dos(endpoint: &Endpoint, attack: &simple_dos::Attack) -> Result<bool, Error> {
    let report = simple_dos::run(endpoint, attack).map_err(|e| crate::no_server(endpoint, e))?;
    print_stdout(&display::dos_report(&report));
    Ok(report.succeeded())
}

/// `simple_exploit`: sends every payload, prints each answer and what they
/// tell, explains; whether the server still serves.
pub fn exploit(endpoint: &Endpoint, command: &str) -> Result<bool, Error> {
    let report = simple_exploit::run(endpoint, command).map_err(|e| match e {
        simple_exploit::ExploitError::Client(e) => crate::no_server(endpoint, e),
        other => other.into(),
    })?;
    for line in display::exploit_report(&report) {
        print_stdout(&line);
    }
    print_stdout(simple_exploit::WHY_PICKLE);
    match report.exploit {
        simple_exploit::Verdict::Refused(_) => print_stdout(simple_exploit::WHY_REFUSED),
        simple_exploit::Verdict::NotRefused(_) => {
            print_stdout(simple_exploit::WHY_IT_MAY_HAVE_RUN);
        }
    }
    Ok(report.survived())
}

/// `simple_exploit --dump`: the raw pickle on stdout, to feed to Python.
pub fn dump_pickle(command: &str) -> Result<(), Error> {
    let payload = simple_exploit::pickle_payload(command)?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&payload)?;
    stdout.flush()?;
    Ok(())
}

/// `insider_forge`: sends the forgery, prints what it sent and what the
/// server answered; whether the server relayed it.
pub fn insider_forge(
    endpoint: &Endpoint,
    layer: Layer,
    insider: Insider,
    forgery: &Forgery,
    wait: std::time::Duration,
) -> Result<bool, Error> {
    let mut forge = InsiderForge::connect(endpoint, layer, insider).map_err(|e| match e {
        chat::attack::insider_forge::ForgeError::Client(e) => crate::no_server(endpoint, e),
        other => other.into(),
    })?;
    if forgery.poison_counter && layer.keeps_counters() {
        log::warn!(
            "waiting up to {} s for a message from '{}', to read its session",
            wait.as_secs(),
            forgery.victim
        );
    }
    let report = forge.forge(forgery, wait)?;
    for line in display::forge_report(&report) {
        print_stdout(&line);
    }
    Ok(report.relayed())
}
