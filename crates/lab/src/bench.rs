//! The benchmark (PROTOCOL.md section 7): a server in its own process, `S`
//! broadcast readers and `K` senders in this one, as the Python original was
//! measured, so the numbers compare.
//!
//! Each sender waits for its `ok` before its next message, as the original's
//! clients do. Each reader does a real client's work on every line, through
//! the client's own receive pipeline (a thread that reads and queues, one
//! that parses the frame and opens it with its layer: decrypt, for AE and
//! AEAD). A message's
//! latency runs from the moment its sender writes it to the moment the last
//! reader has it; a delivery that never arrives is counted in `lost`.
//!
//! Before measuring, senders repeat a `sync` message until every reader has
//! seen one: every reader is then known to be subscribed, so a reader that
//! connected late cannot pass for a lost delivery.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;

mod dashboard_reader;
pub mod floor;
pub mod suite;

pub use dashboard_reader::DashboardReader;

use chat::Named;
use chat::client::{BroadcastChannel, Delivery, Endpoint, RequestChannel};
use chat::client::{Inbox, Received, SimpleClient, Verifier, on_recv};
use chat::layer::crypto::DEFAULT_ITERATIONS;
use chat::layer::{AeSettings, Layer, Open, Password, SaltMode, Seal};
use chat::wire::{Nick, Response, Wire};

use crate::process::{Binaries, SYNC_PREFIX, ServerProcess, until_heard};
use crate::stage::layer_server;

/// Password shared by the benchmark's clients in the encrypted modes.
const BENCH_PASSWORD: &str = "bench-password";
/// Digits of the message number at the start of each text.
const ID_DIGITS: usize = 9;
/// How long the readers are given to count a synchronisation message.
const SYNC_INTERVAL: Duration = Duration::from_millis(20);
/// How long readers may take to show up.
const SYNC_TIMEOUT: Duration = Duration::from_secs(30);
/// Once every sender is done, how long a reader waits for missing lines.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a reader waits for a delivery, so it can notice the drain deadline.
const READ_TICK: Duration = Duration::from_millis(200);
/// Connection cap of a server the benchmark starts: far above any run's needs.
const MAX_CONNECTIONS: &str = "65536";

/// One benchmark run.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    pub mode: Layer,
    pub subscribers: usize,
    pub senders: usize,
    pub messages: usize,
    pub size: usize,
    /// Total messages per second to pace the senders at; `None`: as fast as
    /// each `ok` allows.
    pub rate: Option<f64>,
    pub iterations: u32,
    pub session_salt: bool,
    /// The wire the clients speak (and a server this run starts).
    pub wire: Wire,
    /// An existing server, or `None` to start one of `binaries`.
    pub server: Option<(String, u16, u16)>,
    /// Start the server with `--dashboard` and read its view's stream
    /// throughout the run, as a browser at the projector would.
    pub dashboard_reader: bool,
    /// Readers as the terminal client runs them, two threads each (one
    /// reads and queues, one opens); by default each reader reads and
    /// opens on one thread, as the broadcast floor's readers count on one.
    pub client_pipeline: bool,
    pub binaries: Binaries,
}

impl BenchConfig {
    pub fn new(mode: Layer, subscribers: usize, senders: usize, messages: usize) -> Self {
        Self {
            mode,
            subscribers,
            senders,
            messages,
            size: 64,
            rate: None,
            iterations: DEFAULT_ITERATIONS,
            session_salt: false,
            wire: Wire::Json,
            server: None,
            dashboard_reader: false,
            client_pipeline: false,
            binaries: Binaries::beside_current_exe(),
        }
    }
}

/// The JSON line of PROTOCOL.md section 7, then this project's additions.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    #[serde(serialize_with = "layer_name")]
    pub mode: Layer,
    pub subscribers: usize,
    pub senders: usize,
    pub messages: usize,
    pub size: usize,
    pub msgs_per_s: f64,
    pub deliveries_per_s: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    pub server_rss_kib: Option<u64>,
    pub lost: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_salt: Option<bool>,
    pub server_peak_rss_kib: Option<u64>,
    /// Whether a reader of the teacher's view was attached.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dashboard_reader: bool,
    /// Whether the readers ran the terminal client's two-thread pipeline.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub client_pipeline: bool,
}

/// A layer as the JSON report names it: its flag value.
fn layer_name<S: serde::Serializer>(layer: &Layer, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(layer.name())
}

/// Runs one benchmark and reports it.
pub fn run(config: &BenchConfig) -> Result<BenchReport> {
    let mut server = match &config.server {
        Some((host, port, broadcast)) => ServerUnderTest::external(config, host, *port, *broadcast),
        None => ServerUnderTest::start(config)?,
    };
    let outcome = measure(config, &server);
    let rss = server.memory();
    server.stop();
    let samples = outcome?;
    Ok(report(config, &samples, rss))
}

/// Times collected by one run, in nanoseconds since its start.
struct Samples {
    /// When each message was written, by message number.
    sent: Vec<u64>,
    /// When each reader had each message (`u64::MAX`: never).
    arrivals: Vec<Vec<u64>>,
}

fn measure(config: &BenchConfig, server: &ServerUnderTest) -> Result<Samples> {
    let start = Instant::now();
    let synced = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let readers = (0..config.subscribers)
        .map(|_| spawn_reader(config, server, start, &synced, &done))
        .collect::<Result<Vec<_>, _>>()?;
    let mut senders = (0..config.senders)
        .map(|k| Sender::join(config, server, k))
        .collect::<Result<Vec<_>, _>>()?;
    synchronise(&mut senders[0], &synced, config.subscribers)?;
    let sent = send_all(config, senders, start);
    done.store(true, Ordering::Release);
    let arrivals = readers
        .into_iter()
        .map(|r| r.join().map_err(|_| anyhow!("a reader panicked")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Samples {
        sent: sent?,
        arrivals,
    })
}

/// Sends markers until every reader has seen one.
fn synchronise(sender: &mut Sender, synced: &AtomicUsize, readers: usize) -> Result<()> {
    let every_reader_heard = |_: &str| {
        thread::sleep(SYNC_INTERVAL);
        Ok(synced.load(Ordering::Acquire) >= readers)
    };
    until_heard(
        SYNC_TIMEOUT,
        |marker| sender.say(marker),
        every_reader_heard,
    )
    .context("readers did not all subscribe in time")
}

/// Runs every sender on its own thread; returns when each message was sent.
fn send_all(config: &BenchConfig, senders: Vec<Sender>, start: Instant) -> Result<Vec<u64>> {
    let text = Arc::new(filler(config.size));
    let send_start = start.elapsed();
    let handles: Vec<JoinHandle<Result<SendTimes>>> = senders
        .into_iter()
        .enumerate()
        .map(|(k, sender)| {
            let (config, text) = (config.clone(), Arc::clone(&text));
            thread::spawn(move || sender.send_share(&config, k, &text, start, send_start))
        })
        .collect();
    let mut sent = vec![u64::MAX; config.messages];
    for handle in handles {
        let times = handle.join().map_err(|_| anyhow!("a sender panicked"))??;
        for (id, at) in times {
            sent[id] = at;
        }
    }
    Ok(sent)
}

/// The text after the message number, so that texts are `size` bytes.
fn filler(size: usize) -> String {
    "x".repeat(size.saturating_sub(ID_DIGITS + 1))
}

/// When each of a sender's messages was written: (message number, nanoseconds).
type SendTimes = Vec<(usize, u64)>;

/// One sending client.
struct Sender {
    client: SimpleClient<Box<dyn Seal>>,
}

impl Sender {
    fn join(config: &BenchConfig, server: &ServerUnderTest, k: usize) -> Result<Self> {
        let requests = RequestChannel::connect(&server.endpoint()).context("sender")?;
        let nick = Nick::new(format!("bench-{k}-{}", std::process::id()))?;
        let mut client = SimpleClient::new(requests, nick, sealer(config)?);
        match client.join().context("join")? {
            Response::Ok => Ok(Self { client }),
            other => bail!("join refused: {other:?}"),
        }
    }

    fn say(&mut self, text: &str) -> Result<()> {
        match self.client.message(text).context("send")? {
            Response::Ok => Ok(()),
            other => bail!("message refused: {other:?}"),
        }
    }

    /// Sends messages `k`, `k + K`, `k + 2K`...; returns when each was written.
    fn send_share(
        mut self,
        config: &BenchConfig,
        k: usize,
        filler: &str,
        start: Instant,
        send_start: Duration,
    ) -> Result<SendTimes> {
        let mut times = Vec::with_capacity(config.messages / config.senders + 1);
        let mut text = String::with_capacity(ID_DIGITS + 1 + filler.len());
        for id in (k..config.messages).step_by(config.senders) {
            pace(config.rate, id, start, send_start);
            text.clear();
            // Into the one buffer, no allocation a message (writing to a
            // String cannot fail).
            let _ = write!(text, "{id:0ID_DIGITS$} {filler}");
            times.push((id, nanos_since(start)));
            self.say(&text)?;
        }
        let _ = self.client.leave();
        Ok(times)
    }
}

/// Sleeps until message `id` is due, at `rate` messages per second overall.
fn pace(rate: Option<f64>, id: usize, start: Instant, send_start: Duration) {
    let Some(rate) = rate else { return };
    let due = send_start + Duration::from_secs_f64(id as f64 / rate);
    if let Some(wait) = due.checked_sub(start.elapsed()) {
        thread::sleep(wait);
    }
}

fn nanos_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn layer_settings(config: &BenchConfig) -> AeSettings {
    let mut settings = AeSettings::new(Password::new(BENCH_PASSWORD));
    settings.iterations = config.iterations;
    if config.session_salt {
        settings.salt_mode = SaltMode::PerSession;
    }
    settings
}

fn sealer(config: &BenchConfig) -> Result<Box<dyn Seal>> {
    Ok(config.mode.sealer(Some(&layer_settings(config)))?)
}

fn opener(config: &BenchConfig) -> Result<Box<dyn Open>> {
    Ok(config.mode.opener(Some(&layer_settings(config)))?)
}

/// Starts one reader thread; it returns when each message reached it.
fn spawn_reader(
    config: &BenchConfig,
    server: &ServerUnderTest,
    start: Instant,
    synced: &Arc<AtomicUsize>,
    done: &Arc<AtomicBool>,
) -> Result<JoinHandle<Vec<u64>>> {
    let channel = BroadcastChannel::connect(&server.endpoint()).context("reader")?;
    let opener = opener(config)?;
    let source = if config.client_pipeline {
        Source::Pipeline(Verifier::new(
            Inbox::spawn(channel).context("reader thread")?,
            opener,
        ))
    } else {
        channel
            .set_read_timeout(Some(READ_TICK))
            .context("reader")?;
        Source::Inline { channel, opener }
    };
    let mut reader = Reader {
        source,
        arrivals: vec![u64::MAX; config.messages],
        last_arrival: 0,
        received: 0,
        synced: false,
    };
    let (synced, done) = (Arc::clone(synced), Arc::clone(done));
    thread::Builder::new()
        .name("bench-reader".into())
        .spawn(move || {
            reader.read_all(start, &synced, &done);
            reader.arrivals
        })
        .context("reader thread")
}

/// One broadcast reader doing a real client's work on each line: parse the
/// frame, open it with its layer.
struct Reader {
    source: Source,
    arrivals: Vec<u64>,
    /// When the last read made for a delivery returned, in nanoseconds
    /// since the start.
    last_arrival: u64,
    received: usize,
    synced: bool,
}

/// Where a reader's deliveries come from.
enum Source {
    /// Read and opened on the reader's own thread.
    Inline {
        channel: BroadcastChannel,
        opener: Box<dyn Open>,
    },
    /// The terminal client's pipeline: a thread reads and queues, the
    /// reader's thread opens.
    Pipeline(Verifier<Box<dyn Open>>),
}

/// What a reader's wait for its next delivery gave.
enum Next {
    Delivery(Delivery, Arrival),
    Nothing,
    Ended,
}

/// When a delivery arrived, as the reader can tell.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Arrival {
    /// With a read made for it: now.
    Now,
    /// With the read that brought the delivery before it, whole and
    /// waiting in the buffer since: at that read's time, as a line counter
    /// such as the broadcast floor's reader times every line of one read.
    WithThePrevious,
}

impl Source {
    /// The next delivery, waiting at most about [`READ_TICK`].
    fn next(&mut self) -> Next {
        match self {
            Self::Inline { channel, opener } => {
                let codec = channel.codec();
                if let Ok(Some(frame)) = channel.buffered_frame() {
                    let delivery = on_recv(&mut **opener, codec, frame);
                    return Next::Delivery(delivery, Arrival::WithThePrevious);
                }
                match channel.next_frame() {
                    Ok(frame) => Next::Delivery(on_recv(&mut **opener, codec, frame), Arrival::Now),
                    Err(e) if e.is_timeout() => Next::Nothing,
                    Err(_) => Next::Ended,
                }
            }
            Self::Pipeline(verifier) => match verifier.next(Some(READ_TICK)) {
                Some(Received::Delivery(delivery)) => Next::Delivery(delivery, Arrival::Now),
                Some(Received::Ended(_)) => Next::Ended,
                None => Next::Nothing,
            },
        }
    }
}

impl Reader {
    fn read_all(&mut self, start: Instant, synced: &AtomicUsize, done: &AtomicBool) {
        let mut drain_deadline = None;
        while self.received < self.arrivals.len() {
            match self.source.next() {
                Next::Delivery(delivery, arrival) => {
                    if arrival == Arrival::Now {
                        self.last_arrival = nanos_since(start);
                    }
                    self.record(&delivery, synced);
                }
                Next::Ended => return,
                Next::Nothing => {}
            }
            if done.load(Ordering::Acquire) {
                let deadline =
                    *drain_deadline.get_or_insert_with(|| Instant::now() + DRAIN_TIMEOUT);
                if Instant::now() > deadline {
                    return;
                }
            }
        }
    }

    fn record(&mut self, delivery: &Delivery, synced: &AtomicUsize) {
        let Delivery::Accepted { opened, .. } = delivery else {
            return;
        };
        if opened.text.starts_with(SYNC_PREFIX) {
            if !self.synced {
                self.synced = true;
                synced.fetch_add(1, Ordering::AcqRel);
            }
            return;
        }
        let id = opened
            .text
            .get(..ID_DIGITS)
            .and_then(|d| d.parse::<usize>().ok());
        if let Some(slot) = id.and_then(|id| self.arrivals.get_mut(id)) {
            if *slot == u64::MAX {
                *slot = self.last_arrival;
                self.received += 1;
            }
        }
    }
}

/// What the samples say, before formatting.
struct Tally {
    /// Send-to-last-reader latency of each message every reader got, sorted.
    latencies: Vec<u64>,
    lost: u64,
    /// From the first send to the last arrival, in seconds.
    window: f64,
}

impl Tally {
    fn of(samples: &Samples) -> Self {
        let mut tally = Self {
            latencies: Vec::with_capacity(samples.sent.len()),
            lost: 0,
            window: 0.0,
        };
        let mut last_arrival = 0u64;
        for (id, &sent) in samples.sent.iter().enumerate() {
            let arrivals = samples.arrivals.iter().map(|a| a[id]);
            let missing = arrivals.clone().filter(|&t| t == u64::MAX).count() as u64;
            tally.lost += missing;
            let latest = arrivals.filter(|&t| t != u64::MAX).max().unwrap_or(0);
            last_arrival = last_arrival.max(latest);
            if missing == 0 && sent != u64::MAX {
                tally.latencies.push(latest.saturating_sub(sent));
            }
        }
        tally.latencies.sort_unstable();
        let first_send = samples.sent.iter().copied().min().unwrap_or(0);
        tally.window = last_arrival.saturating_sub(first_send).max(1) as f64 / 1e9;
        tally
    }
}

/// Turns the samples into the report.
fn report(config: &BenchConfig, samples: &Samples, rss: (Option<u64>, Option<u64>)) -> BenchReport {
    let Tally {
        latencies,
        lost,
        window,
    } = Tally::of(samples);
    let delivered = (config.messages * config.subscribers) as f64 - lost as f64;
    let encrypted = config.mode.encrypted();
    BenchReport {
        mode: config.mode,
        subscribers: config.subscribers,
        senders: config.senders,
        messages: config.messages,
        size: config.size,
        msgs_per_s: round1(config.messages as f64 / window),
        deliveries_per_s: round1(delivered / window),
        p50_us: percentile_us(&latencies, 0.50),
        p99_us: percentile_us(&latencies, 0.99),
        max_us: latencies.last().map_or(0.0, |&ns| round1(ns as f64 / 1e3)),
        server_rss_kib: rss.0,
        lost,
        rate: config.rate,
        iterations: encrypted.then_some(config.iterations),
        session_salt: encrypted.then_some(config.session_salt),
        server_peak_rss_kib: rss.1,
        dashboard_reader: config.dashboard_reader,
        client_pipeline: config.client_pipeline,
    }
}

fn percentile_us(sorted_ns: &[u64], q: f64) -> f64 {
    if sorted_ns.is_empty() {
        return 0.0;
    }
    let rank = ((sorted_ns.len() as f64 * q).ceil() as usize).clamp(1, sorted_ns.len());
    round1(sorted_ns[rank - 1] as f64 / 1e3)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// A reader of the view that `server` announced on stderr.
fn attach_reader(server: &ServerProcess) -> Result<DashboardReader> {
    let line = server
        .process
        .stderr
        .wait_for("naming the dashboard", |l| {
            l.starts_with(dashboard_reader::DASHBOARD_PREFIX)
        })?;
    DashboardReader::attach(&line).context("dashboard reader")
}

/// The server being measured: one this run started, or one given.
struct ServerUnderTest {
    started: Option<ServerProcess>,
    /// A reader of the started server's view, if the run wants one.
    dashboard: Option<DashboardReader>,
    host: String,
    port: u16,
    broadcast_port: u16,
    /// How the clients speak to it.
    wire: Wire,
    mode: Layer,
}

impl ServerUnderTest {
    fn external(config: &BenchConfig, host: &str, port: u16, broadcast_port: u16) -> Self {
        Self {
            started: None,
            dashboard: None,
            host: host.to_owned(),
            port,
            broadcast_port,
            wire: config.wire,
            mode: config.mode,
        }
    }

    /// Starts the mode's server on free ports, its log limited to warnings
    /// unless `RUST_LOG` says otherwise: the original's measurement did not
    /// include a log line per message either.
    fn start(config: &BenchConfig) -> Result<Self> {
        let binary = config.binaries.path(layer_server(config.mode).binary);
        let log = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into());
        let wire = config.wire.to_string();
        let mut args = vec!["--max-connections", MAX_CONNECTIONS, "--wire", &wire];
        if config.dashboard_reader {
            args.extend(["--dashboard", "--dashboard-port", "0"]);
        }
        let server =
            ServerProcess::start(&binary, &args, &[("RUST_LOG", &log)]).context("server")?;
        let dashboard = if config.dashboard_reader {
            Some(attach_reader(&server)?)
        } else {
            None
        };
        Ok(Self {
            host: "127.0.0.1".into(),
            port: server.port,
            broadcast_port: server.broadcast_port,
            started: Some(server),
            dashboard,
            wire: config.wire,
            mode: config.mode,
        })
    }

    /// The server, as this run's clients speak to it: on its wire, in the
    /// serialisation of their layer.
    fn endpoint(&self) -> Endpoint {
        Endpoint::new(self.host.clone(), self.port, self.broadcast_port)
            .on_wire(self.wire)
            .with_zmq_body(self.mode.zmq_body())
    }

    /// Resident and peak resident memory of a server this run started, in KiB.
    fn memory(&self) -> (Option<u64>, Option<u64>) {
        self.started
            .as_ref()
            .map_or((None, None), ServerProcess::memory_kib)
    }

    fn stop(&mut self) {
        self.dashboard = None;
        self.started = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let ns: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile_us(&ns, 0.50), 50.0);
        assert_eq!(percentile_us(&ns, 0.99), 99.0);
        assert_eq!(percentile_us(&[], 0.99), 0.0);
    }

    #[test]
    fn texts_have_the_requested_size() {
        assert_eq!(format!("{:0ID_DIGITS$} {}", 7, filler(64)).len(), 64);
    }
}
