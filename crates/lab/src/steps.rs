//! The lab's steps "to write", in the order a class writes them: what the
//! solution markers of the sources name (`// BEGIN SOLUTION (step N: ...)`),
//! what the student edition leaves as `todo!`, and what the score board
//! (`make grade`) judges, one row each. Their words are `make grade
//! STEP=...`'s, their numbers the markers', their sections the lab sheet's
//! (`docs/LAB.md`).

use chat::{Named, named_enum};

named_enum! {
    /// A step of the lab: a part the students write, as the Python lab's
    /// students wrote it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Step {
        Bigbrother = "bigbrother", "big brother",
        Dos = "dos", "denial of service",
        Exploit = "exploit", "the pickle exploit",
        MsgpackServer = "msgpack-server", "the msgpack server",
        Ae = "ae", "the AE client",
        Rogue = "rogue", "the rogue server",
        Aead = "aead", "the AEAD client",
        Ttl = "ttl", "the TTL",
    }
}

/// The lab sheet, where each step is explained.
pub const LAB_SHEET: &str = "docs/LAB.md";

impl Step {
    /// The step whose number the markers give (from 1), if there is one.
    pub fn numbered(number: usize) -> Option<Self> {
        number
            .checked_sub(1)
            .and_then(|i| Self::ALL.get(i))
            .copied()
    }

    /// Its number, from 1: the markers', the lab sheet's, the board's.
    pub fn number(self) -> usize {
        self as usize + 1
    }

    /// Its title, as the board and the lab sheet show it.
    pub fn title(self) -> &'static str {
        self.about()
    }

    /// The steps it needs solved before it can be judged: the staged chat
    /// it is judged in runs them.
    pub fn needs(self) -> &'static [Step] {
        match self {
            Self::Bigbrother | Self::Dos | Self::Exploit | Self::MsgpackServer => &[],
            // The AE layer's clients talk to the AE server.
            Self::Ae => &[Self::MsgpackServer],
            // The rogue server's victims are AE clients, as are AEAD's.
            Self::Rogue | Self::Aead => &[Self::Ae],
            // A stale token is an AEAD client's.
            Self::Ttl => &[Self::Aead],
        }
    }

    /// What the student writes, in a line.
    pub fn to_write(self) -> &'static str {
        match self {
            Self::Bigbrother => {
                "BigBrother::connect and overhear_next: listen to the broadcast port without joining"
            }
            Self::Dos => "simple_dos's evict and flood: deny the chat to its users",
            Self::Exploit => {
                "pickle_payload (and protocol0_exploit): the bytes that run a command where they are unpickled"
            }
            Self::MsgpackServer => "ae_zmq_body: the AE server's serialisation",
            Self::Ae => {
                "derive_key_from_password, encrypt_message, decrypt_message, and the AE client's seal and open"
            }
            Self::Rogue => "the rogue server's tamper, impersonated and schedule_replay",
            Self::Aead => "the AEAD client's plaintext (Draft::plaintext) and its nick check",
            Self::Ttl => "check_freshness: a token too old, or dated too far ahead, is refused",
        }
    }

    /// Where the lab sheet explains it: `docs/LAB.md#step-N-title`.
    pub fn doc(self) -> String {
        format!("{LAB_SHEET}#{}", self.anchor())
    }

    /// The anchor of its section: its heading, `Step N: title`, as
    /// GitHub makes anchors of headings.
    pub fn anchor(self) -> String {
        let heading = format!("step {}: {}", self.number(), self.title());
        let kept = heading
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-')
            .map(|c| {
                if c == ' ' {
                    '-'
                } else {
                    c.to_ascii_lowercase()
                }
            });
        kept.collect()
    }

    /// What the student edition puts in place of a marked part.
    pub fn todo(self, what: &str) -> String {
        format!("step {}: {what} (see {})", self.number(), self.doc())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_numbered_from_one_in_order() {
        assert_eq!(Step::numbered(1), Some(Step::Bigbrother));
        assert_eq!(Step::numbered(8), Some(Step::Ttl));
        assert_eq!(Step::numbered(0), None);
        assert_eq!(Step::numbered(9), None);
        for &step in Step::ALL {
            assert_eq!(Step::numbered(step.number()), Some(step));
            assert!(step.needs().iter().all(|&needed| needed < step), "{step:?}");
        }
    }

    #[test]
    fn anchors_are_githubs() {
        assert_eq!(Step::Bigbrother.anchor(), "step-1-big-brother");
        assert_eq!(Step::Ae.doc(), "docs/LAB.md#step-5-the-ae-client");
        assert_eq!(
            Step::Dos.todo("evict"),
            "step 2: evict (see docs/LAB.md#step-2-denial-of-service)"
        );
    }
}
