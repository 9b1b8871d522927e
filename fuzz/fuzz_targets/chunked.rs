//! The network, as the fuzz targets play it: the input handed out in reads
//! of fuzzed sizes.

use std::io::{self, Read, Write};

/// Hands out `data` in reads whose sizes cycle through `sizes`; what the
/// reader writes back (ZMTP's PONG) is dropped.
pub struct Chunked<'a> {
    pub data: &'a [u8],
    pub sizes: &'a [u8],
    pub turn: usize,
}

impl<'a> Chunked<'a> {
    /// Splits a fuzz input: its first byte says how many of the next bytes
    /// are read sizes; the rest is the data. `None` for an empty input.
    pub fn split(input: &'a [u8]) -> Option<(&'a [u8], &'a [u8])> {
        let (&count, rest) = input.split_first()?;
        Some(rest.split_at(usize::from(count % 16).min(rest.len())))
    }
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = self.sizes.get(self.turn % self.sizes.len().max(1)).copied();
        self.turn += 1;
        let n = usize::from(size.unwrap_or(u8::MAX))
            .max(1)
            .min(buf.len())
            .min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

impl Write for Chunked<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
