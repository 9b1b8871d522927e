//! The ring of broadcast bytes, addressed by position: a position counts
//! every byte ever appended (a `u64`, which never wraps in practice), so a
//! subscriber's cursor says both where it is and, compared with the oldest
//! position still held, whether the ring has overwritten bytes it was never
//! sent. The broadcaster's own state rides under the same lock, so that
//! whoever appends knows whether to wake it.

/// The bytes, and the broadcaster's state guarded with them.
pub(super) struct Ring {
    bytes: Box<[u8]>,
    /// Total bytes ever appended: the position of the next byte.
    pub(super) head: u64,
    /// Whether the broadcaster sleeps on `appended`: the publisher skips the
    /// wake-up system call when it does not.
    pub(super) broadcaster_waiting: bool,
    /// Set once the server stops: the broadcaster returns.
    pub(super) closed: bool,
}

impl Ring {
    /// An empty ring holding the last `capacity` bytes.
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            bytes: vec![0; capacity].into_boxed_slice(),
            head: 0,
            broadcaster_waiting: false,
            closed: false,
        }
    }

    /// Whether `len` bytes fit at once: a frame longer than the whole ring
    /// would overwrite its own start.
    pub(super) fn fits(&self, len: usize) -> bool {
        len <= self.bytes.len()
    }

    fn capacity(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Oldest position still held.
    pub(super) fn oldest(&self) -> u64 {
        self.head.saturating_sub(self.capacity())
    }

    pub(super) fn append_all(&mut self, parts: &[&[u8]]) {
        for part in parts {
            self.append(part);
        }
    }

    fn append(&mut self, data: &[u8]) {
        let pos = (self.head % self.capacity()) as usize;
        let first = data.len().min(self.bytes.len() - pos);
        self.bytes[pos..pos + first].copy_from_slice(&data[..first]);
        self.bytes[..data.len() - first].copy_from_slice(&data[first..]);
        self.head += data.len() as u64;
    }

    /// Copies `ring[from..]`, at most `max` bytes, into `out` (cleared
    /// first); returns the position after the last byte copied.
    pub(super) fn copy_since(&self, from: u64, max: usize, out: &mut Vec<u8>) -> u64 {
        out.clear();
        let len = ((self.head - from) as usize).min(max);
        let pos = (from % self.capacity()) as usize;
        let first = len.min(self.bytes.len() - pos);
        out.extend_from_slice(&self.bytes[pos..pos + first]);
        out.extend_from_slice(&self.bytes[..len - first]);
        from + len as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_wraps_around() {
        let mut ring = Ring::new(16);
        let mut out = Vec::new();
        for chunk in [&b"0123456789"[..], b"abcdefghij", b"KLMNO"] {
            let from = ring.head;
            ring.append(chunk);
            assert_eq!(ring.copy_since(from, 64, &mut out), ring.head);
            assert_eq!(out, chunk);
        }
        assert_eq!(ring.oldest(), 25 - 16);
    }

    #[test]
    fn positions_count_every_byte_and_the_oldest_trails_by_the_capacity() {
        let mut ring = Ring::new(8);
        ring.append_all(&[b"abc", b"de"]);
        assert_eq!((ring.head, ring.oldest()), (5, 0));
        ring.append_all(&[b"fghij"]);
        assert_eq!((ring.head, ring.oldest()), (10, 2));
        let mut out = Vec::new();
        assert_eq!(ring.copy_since(ring.oldest(), 64, &mut out), 10);
        assert_eq!(out, b"cdefghij");
    }

    #[test]
    fn a_copy_takes_at_most_what_it_is_allowed() {
        let mut ring = Ring::new(16);
        ring.append(b"0123456789");
        let mut out = b"stale".to_vec();
        assert_eq!(ring.copy_since(2, 3, &mut out), 5);
        assert_eq!(out, b"234");
        assert_eq!(ring.copy_since(10, 3, &mut out), 10);
        assert!(out.is_empty());
    }

    #[test]
    fn a_frame_fits_only_if_the_whole_ring_can_hold_it() {
        let ring = Ring::new(16);
        assert!(ring.fits(16));
        assert!(!ring.fits(17));
    }
}
