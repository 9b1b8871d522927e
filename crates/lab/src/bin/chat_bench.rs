//! The benchmark (PROTOCOL.md section 7).

use std::io::Write;
use std::process::ExitCode;

use chat::Layer;
use chat::layer::crypto::DEFAULT_ITERATIONS;
use chat::wire::Wire;
use chat_lab::bench::{self, BenchConfig, BenchReport, suite};
use clap::Parser;
use unsecured_chat::flags::choice;

/// Measures the chat end to end: starts a server of the chosen layer on free
/// local ports (or uses the one given by --port and --broadcast-port),
/// connects S broadcast readers and K senders (each waiting for its ok, as
/// the original's clients), sends M messages of B bytes, and prints one JSON
/// line. --suite runs the configurations of docs/PERFORMANCE.md instead and
/// ends with a table.
#[derive(Parser)]
#[command(version)]
struct Flags {
    /// Layer the clients use (ae and aead run against ae_server)
    #[arg(long, value_parser = choice::<Layer>(), default_value = "plain")]
    mode: Layer,
    /// Broadcast readers
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    subscribers: u64,
    /// Senders, each waiting for its ok before its next message
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    senders: u64,
    /// Messages in all
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    messages: u64,
    /// Bytes of text per message (at least 10: the message number)
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Pace the senders at this many messages per second in all
    #[arg(long)]
    rate: Option<f64>,
    /// PBKDF2 iterations (ae, aead)
    #[arg(long, default_value_t = DEFAULT_ITERATIONS)]
    iterations: u32,
    /// One salt per sender session instead of one per message (ae, aead)
    #[arg(long)]
    session_salt: bool,
    /// Wire to speak: JSON lines, or the Python original's ZeroMQ (pickle
    /// for plain, msgpack for ae and aead); a server the run starts speaks it too
    #[arg(long, value_parser = choice::<Wire>(), default_value = "json")]
    wire: Wire,
    /// Host of an existing server
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Request port of an existing server (with --broadcast-port)
    #[arg(long, requires = "broadcast_port")]
    port: Option<u16>,
    /// Broadcast port of an existing server (with --port)
    #[arg(long, requires = "port")]
    broadcast_port: Option<u16>,
    /// Start the server with --dashboard and read its view's event stream
    /// throughout the run (reading, not rendering), to measure what the
    /// teacher's view costs the chat
    #[arg(long, conflicts_with_all = ["port", "broadcast_port"])]
    dashboard_reader: bool,
    /// Run the standard configurations and print a table
    #[arg(long, conflicts_with_all = ["port", "broadcast_port"])]
    suite: bool,
    /// Runs per configuration with --suite (the table shows the median)
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    runs: u64,
}

impl Flags {
    fn config(&self) -> BenchConfig {
        let mut config = BenchConfig::new(
            self.mode,
            count(self.subscribers),
            count(self.senders),
            count(self.messages),
        );
        config.size = self.size;
        config.rate = self.rate;
        config.iterations = self.iterations;
        config.session_salt = self.session_salt;
        config.wire = self.wire;
        config.dashboard_reader = self.dashboard_reader;
        config.server = self
            .port
            .zip(self.broadcast_port)
            .map(|(p, b)| (self.host.clone(), p, b));
        config
    }
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    unsecured_chat::logging::init("warn");
    let outcome = if flags.suite {
        run_suite(count(flags.runs))
    } else {
        run_one(&flags.config())
    };
    unsecured_chat::exit(outcome)
}

/// A count from the command line, as the benchmark counts.
fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn run_one(config: &BenchConfig) -> anyhow::Result<()> {
    let report = bench::run(config)?;
    print_json(&report);
    if report.lost > 0 {
        anyhow::bail!("{} deliveries lost", report.lost);
    }
    Ok(())
}

fn run_suite(runs: usize) -> anyhow::Result<()> {
    let mut done = Vec::new();
    for entry in suite::entries() {
        eprintln!("running: {} ({runs} run(s))", entry.name);
        let reports = (0..runs)
            .map(|_| bench::run(&entry.config).inspect(print_json))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(median) = suite::median(reports) {
            done.push((entry, median));
        }
    }
    println!("\n{}", suite::table(&done));
    Ok(())
}

fn print_json(report: &BenchReport) {
    let mut stdout = std::io::stdout().lock();
    if let Ok(line) = serde_json::to_string(report) {
        let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
    }
}
