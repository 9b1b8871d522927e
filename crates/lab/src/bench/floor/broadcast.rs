//! The broadcast floor: a server that does the chat's I/O and nothing else,
//! measured as `chat_bench` measures the chat.
//!
//! A thread per sender's connection reads a line, queues it and answers
//! `{"response":"ok"}`; one broadcaster thread writes each subscriber
//! everything queued since its last pass, with blocking writes (the design
//! of REFERENCE.md's floor experiment, the best plain `std::net` did there);
//! S reader threads read and count every line; K senders each wait for their
//! `ok` before their next message. Messages are the chat's message frames,
//! 64 bytes of text, and the rate is counted as `chat_bench` counts it:
//! every message, from the first send to the last reader's last line.
//!
//! What it leaves out is what the chat adds: parsing and checking the
//! request, the ring and its bounded memory, the subscribers' own threads
//! (here one stalled reader would stall every other), the readers' parsing.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Barrier, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use chat::server::{COALESCE_PAUSE, STREAM_WINDOW};
use serde::Serialize;

use super::{connect, joined};

/// The answer to every message.
const OK: &[u8] = b"{\"response\":\"ok\"}\n";
/// Bytes of text per message, as `chat_bench`'s default.
const TEXT: usize = 64;
/// Digits of the message number at the start of each text.
const ID_DIGITS: usize = 9;
/// Receive buffer of each connection.
const READ_BUFFER: usize = 64 * 1024;
/// How long a reader waits for a line before it counts the rest as lost.
const SILENCE: Duration = Duration::from_secs(10);

/// A thread of the floor, and what it returns.
type Worker<T> = JoinHandle<io::Result<T>>;

/// What a broadcast floor run measured.
#[derive(Debug, Clone, Serialize)]
pub struct BroadcastFloor {
    pub floor: &'static str,
    pub subscribers: usize,
    pub senders: usize,
    pub messages: usize,
    pub size: usize,
    pub msgs_per_s: f64,
    pub deliveries_per_s: f64,
    /// Lines a reader never got (0, or the floor is broken).
    pub lost: u64,
}

/// Runs the floor: `subscribers` readers, `senders` senders, `messages`
/// messages in all.
pub fn broadcast(
    subscribers: usize,
    senders: usize,
    messages: usize,
) -> io::Result<BroadcastFloor> {
    let requests = TcpListener::bind("127.0.0.1:0")?;
    let broadcasts = TcpListener::bind("127.0.0.1:0")?;
    let readers = spawn_readers(broadcasts.local_addr()?, subscribers, messages)?;
    let queue = Arc::new(Queue::default());
    let broadcaster = start_broadcaster(&broadcasts, subscribers, &queue)?;
    let start = Instant::now();
    let sent = spawn_senders(requests.local_addr()?, senders, messages)?;
    serve_requests(&requests, senders, &queue)?;
    let mut first_send = None;
    for sender in sent {
        let began = joined(sender, "sender")?;
        first_send = Some(first_send.map_or(began, |f: Instant| f.min(began)));
    }
    let (mut lost, mut last) = (0u64, start);
    for reader in readers {
        let (count, at) = joined(reader, "reader")?;
        lost += messages.saturating_sub(count) as u64;
        last = last.max(at);
    }
    queue.close();
    joined(broadcaster, "broadcaster")?;
    let window = last
        .duration_since(first_send.unwrap_or(start))
        .as_secs_f64()
        .max(1e-9);
    let delivered = (messages * subscribers) as f64 - lost as f64;
    Ok(BroadcastFloor {
        floor: "broadcast",
        subscribers,
        senders,
        messages,
        size: TEXT,
        msgs_per_s: (messages as f64 / window).round(),
        deliveries_per_s: (delivered / window).round(),
        lost,
    })
}

/// What the request threads queued since the broadcaster's last pass.
#[derive(Default)]
struct Queue {
    state: Mutex<Pending>,
    ready: Condvar,
}

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    /// Whether the broadcaster sleeps: only then is it woken.
    waiting: bool,
    closed: bool,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues whole lines, waking the broadcaster if it sleeps.
    fn push(&self, lines: &[u8]) {
        let mut pending = self.lock();
        pending.bytes.extend_from_slice(lines);
        let wake = pending.waiting;
        drop(pending);
        if wake {
            self.ready.notify_one();
        }
    }

    /// Swaps everything queued into `pass` (emptied first); false once
    /// closed.
    fn take(&self, pass: &mut Vec<u8>) -> bool {
        pass.clear();
        let mut pending = self.lock();
        while pending.bytes.is_empty() && !pending.closed {
            pending.waiting = true;
            pending = self
                .ready
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
            pending.waiting = false;
        }
        std::mem::swap(&mut pending.bytes, pass);
        !pending.closed
    }

    /// Appends to `pass` what was queued since it was taken, without
    /// waiting.
    fn take_more(&self, pass: &mut Vec<u8>) {
        pass.append(&mut self.lock().bytes);
    }

    fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_one();
    }
}

/// Accepts the `subscribers` readers, then writes each of them every pass,
/// in turn, until the queue closes.
fn start_broadcaster(
    listener: &TcpListener,
    subscribers: usize,
    queue: &Arc<Queue>,
) -> io::Result<Worker<()>> {
    let mut streams = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        let (stream, _) = listener.accept()?;
        stream.set_nodelay(true)?;
        streams.push(stream);
    }
    let queue = Arc::clone(queue);
    thread::Builder::new()
        .name("floor-broadcaster".into())
        .spawn(move || write_passes(&queue, &mut streams))
}

/// The broadcaster's loop: everything queued since the last pass, to every
/// subscriber in turn. A pass that follows the last closely waits
/// [`COALESCE_PAUSE`] first, so that more of the stream shares its writes,
/// as the chat's broadcaster does (measured: it raises this floor too).
fn write_passes(queue: &Queue, streams: &mut [TcpStream]) -> io::Result<()> {
    let (mut pass, mut last_pass) = (Vec::new(), Instant::now());
    while queue.take(&mut pass) {
        if last_pass.elapsed() < STREAM_WINDOW {
            thread::sleep(COALESCE_PAUSE);
            queue.take_more(&mut pass);
        }
        last_pass = Instant::now();
        for stream in streams.iter_mut() {
            stream.write_all(&pass)?;
        }
    }
    Ok(())
}

/// Accepts the `senders` request connections, a thread each.
fn serve_requests(listener: &TcpListener, senders: usize, queue: &Arc<Queue>) -> io::Result<()> {
    for _ in 0..senders {
        let (stream, _) = listener.accept()?;
        stream.set_nodelay(true)?;
        let queue = Arc::clone(queue);
        thread::Builder::new()
            .name("floor-request".into())
            .spawn(move || answer_lines(stream, &queue))?;
    }
    Ok(())
}

/// A request connection: every whole line read is queued, then answered
/// `ok` in one write.
fn answer_lines(mut stream: TcpStream, queue: &Queue) -> io::Result<()> {
    let (mut buf, mut filled) = (vec![0u8; READ_BUFFER], 0);
    let mut answers = Vec::new();
    loop {
        let n = stream.read(&mut buf[filled..])?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
        let Some(last) = buf[..filled].iter().rposition(|&b| b == b'\n') else {
            continue;
        };
        queue.push(&buf[..=last]);
        answers.clear();
        for _ in 0..newlines(&buf[..=last]) {
            answers.extend_from_slice(OK);
        }
        stream.write_all(&answers)?;
        buf.copy_within(last + 1..filled, 0);
        filled -= last + 1;
    }
}

fn newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// `subscribers` reader threads, each returning how many lines it read and
/// when it read the last.
fn spawn_readers(
    addr: SocketAddr,
    subscribers: usize,
    messages: usize,
) -> io::Result<Vec<Worker<(usize, Instant)>>> {
    (0..subscribers)
        .map(|_| {
            let stream = connect(addr)?;
            stream.set_read_timeout(Some(SILENCE))?;
            thread::Builder::new()
                .name("floor-reader".into())
                .spawn(move || count_lines(stream, messages))
        })
        .collect()
}

/// Reads until `messages` lines have come, or none for [`SILENCE`].
fn count_lines(mut stream: TcpStream, messages: usize) -> io::Result<(usize, Instant)> {
    let mut buf = vec![0u8; READ_BUFFER];
    let (mut count, mut last) = (0, Instant::now());
    while count < messages {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                count += newlines(&buf[..n]);
                last = Instant::now();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((count, last))
}

/// `senders` sender threads, started together; each returns when it sent
/// its first message.
fn spawn_senders(
    addr: SocketAddr,
    senders: usize,
    messages: usize,
) -> io::Result<Vec<Worker<Instant>>> {
    let barrier = Arc::new(Barrier::new(senders));
    (0..senders)
        .map(|k| {
            let stream = connect(addr)?;
            let barrier = Arc::clone(&barrier);
            thread::Builder::new()
                .name("floor-sender".into())
                .spawn(move || {
                    barrier.wait();
                    send_share(stream, k, senders, messages)
                })
        })
        .collect()
}

/// Sends messages `k`, `k + K`, `k + 2K`..., each once the last is
/// answered; returns when the first was sent.
fn send_share(
    mut stream: TcpStream,
    k: usize,
    senders: usize,
    messages: usize,
) -> io::Result<Instant> {
    let nick = format!("bench-{k}-{}", std::process::id());
    let filler = "x".repeat(TEXT - ID_DIGITS - 1);
    let mut answer = [0u8; OK.len()];
    let began = Instant::now();
    for id in (k..messages).step_by(senders) {
        let line = format!(
            "{{\"type\":\"message\",\"nick\":\"{nick}\",\"message\":\"{id:0ID_DIGITS$} {filler}\"}}\n"
        );
        stream.write_all(line.as_bytes())?;
        stream.read_exact(&mut answer)?;
    }
    Ok(began)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reader_counts_every_message() {
        let floor = broadcast(3, 2, 500).unwrap();
        assert_eq!(floor.lost, 0);
        assert_eq!(floor.messages, 500);
    }
}
