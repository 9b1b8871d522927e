//! `chat_demo --dashboard`: the teacher's view follows the demo's scenes.
//! One view is served for the whole run; each scene is announced on it by
//! its title, and every server the scene stages is followed from before
//! its first connection (through `stage::watch`), so the room sees, scene
//! by scene, what each server saw and did.

use std::io::{self, BufRead, IsTerminal};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use unsecured_chat::web::dashboard::Dashboard;

use super::Flags;
use crate::stage::watch;

/// How long the demo waits for the view to be opened before it plays.
const OPENING_WAIT: Duration = Duration::from_secs(30);

/// How often it looks whether the view is open.
const POLL: Duration = Duration::from_millis(100);

/// The view, if the demo was asked for one; dropping it stops following.
pub struct View {
    dashboard: Option<Arc<Dashboard>>,
    pause: Duration,
}

impl View {
    /// Serves the view if `flags` ask for it, says where on stderr, follows
    /// every server staged from now on, and waits a while for the view to
    /// be opened.
    pub fn open(flags: &Flags) -> io::Result<Self> {
        let pause = Duration::from_secs_f64(flags.pause);
        if !flags.dashboard.dashboard {
            return Ok(Self {
                dashboard: None,
                pause,
            });
        }
        let dashboard = Arc::new(Dashboard::start(&flags.dashboard, "chat_demo")?);
        eprintln!("dashboard: {}", dashboard.url());
        eprintln!(
            "open it now: the demo starts once it is open, or in {} s",
            OPENING_WAIT.as_secs()
        );
        let follower = Arc::clone(&dashboard);
        watch::servers(move |tap| follower.follow(tap));
        let deadline = Instant::now() + OPENING_WAIT;
        while dashboard.viewers() == 0 && Instant::now() < deadline {
            thread::sleep(POLL);
        }
        Ok(Self {
            dashboard: Some(dashboard),
            pause,
        })
    }

    /// A scene begins: the view says so and lets the last one's servers go.
    pub fn scene(&self, title: &str) {
        if let Some(dashboard) = &self.dashboard {
            dashboard.scene(title);
        }
    }

    /// The pause after a scene, for the room to read the view.
    pub fn pause(&self) {
        thread::sleep(self.pause);
    }
}

impl View {
    /// The demo is over: a person at the keyboard closes the view with
    /// Enter, so the room can look back at it first.
    pub fn close(self) {
        if self.dashboard.is_some() && io::stdin().is_terminal() {
            eprintln!("press Enter to close the teacher's view");
            let _ = io::stdin().lock().read_line(&mut String::new());
        }
    }
}

impl Drop for View {
    fn drop(&mut self) {
        if self.dashboard.is_some() {
            watch::stop();
        }
    }
}

/// A pause in seconds, from 0 to an hour.
pub fn seconds(arg: &str) -> Result<f64, String> {
    match arg.parse::<f64>() {
        Ok(secs) if secs.is_finite() && (0.0..=3600.0).contains(&secs) => Ok(secs),
        Ok(_) => Err("must be between 0 and 3600 seconds".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}
