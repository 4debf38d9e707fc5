//! The server side of the wire, as the hand-written servers of the support read it
//! ([`crate::hostile`], [`crate::script`]): HTTP/1.1 request heads and bodies, and websocket
//! frames from a client (masked), over a TCP connection's read half.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::tcp::OwnedReadHalf;

/// The most one head, body or frame may hold; past it the connection is refused.
pub(crate) const MAX_READ: usize = 16 * 1024 * 1024;

/// A request head.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: HashMap<String, String>,
    pub(crate) headers: HashMap<String, String>,
}

impl Head {
    fn parse(text: &str) -> Option<Head> {
        let mut lines = text.split("\r\n");
        let mut first = lines.next()?.split(' ');
        let method = first.next()?.to_owned();
        let target = first.next()?;
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let query = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Some(Head {
            method,
            path: path.to_owned(),
            query,
            headers,
        })
    }

    /// The `Content-Length`, 0 without one.
    pub(crate) fn content_length(&self) -> usize {
        self.headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

/// How slowly to read, asked before each read: `Some(pause)` reads 256 bytes after the pause.
type SlowRead = Arc<dyn Fn() -> Option<Duration> + Send + Sync>;

/// The reading side of a connection, with what was read past the last request or frame.
pub(crate) struct Reader {
    half: OwnedReadHalf,
    buf: Vec<u8>,
    slow: Option<SlowRead>,
}

impl Reader {
    pub(crate) fn new(half: OwnedReadHalf) -> Reader {
        Reader {
            half,
            buf: Vec::new(),
            slow: None,
        }
    }

    /// A reader that asks `slow` before each read how slowly to read (a slow reader).
    pub(crate) fn with_slow_read(
        half: OwnedReadHalf,
        slow: impl Fn() -> Option<Duration> + Send + Sync + 'static,
    ) -> Reader {
        Reader {
            slow: Some(Arc::new(slow)),
            ..Reader::new(half)
        }
    }

    /// Reads until `buf` holds at least `n` bytes; false at the end of the stream.
    /// Cancel-safe: what was read stays in the buffer.
    pub(crate) async fn need(&mut self, n: usize) -> io::Result<bool> {
        let mut chunk = [0u8; 8192];
        while self.buf.len() < n {
            let max = match self.slow.as_ref().and_then(|slow| slow()) {
                Some(pause) => {
                    tokio::time::sleep(pause).await;
                    256
                }
                None => chunk.len(),
            };
            let read = self.half.read(&mut chunk[..max]).await?;
            if read == 0 {
                return Ok(false);
            }
            self.buf.extend_from_slice(&chunk[..read]);
        }
        Ok(true)
    }

    /// Resolves at the end of the stream (or an error, or `MAX_READ` unread bytes); what is
    /// read meanwhile is kept.
    pub(crate) async fn eof(&mut self) {
        loop {
            let len = self.buf.len();
            if !matches!(self.need(len + 1).await, Ok(true)) || self.buf.len() > MAX_READ {
                return;
            }
        }
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        self.buf.drain(..n).collect()
    }

    /// The next request head; `None` at the end of the stream.
    pub(crate) async fn head(&mut self) -> io::Result<Option<Head>> {
        loop {
            if let Some(at) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = self.take(at + 4);
                let text = String::from_utf8_lossy(&head[..at]).into_owned();
                return Head::parse(&text)
                    .map(Some)
                    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad request"));
            }
            if self.buf.len() > MAX_READ {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "head too large"));
            }
            let len = self.buf.len();
            if !self.need(len + 1).await? {
                return Ok(None);
            }
        }
    }

    /// A request body of `n` bytes.
    pub(crate) async fn body(&mut self, n: usize) -> io::Result<Vec<u8>> {
        if n > MAX_READ {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "body too large"));
        }
        if !self.need(n).await? {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(self.take(n))
    }

    /// The next whole websocket frame from the client, unmasked, as (fin, opcode, payload);
    /// `None` at the end of the stream. Cancel-safe: a frame leaves the buffer only once
    /// whole.
    async fn raw_frame(&mut self) -> io::Result<Option<(bool, u8, Vec<u8>)>> {
        if !self.need(2).await? {
            return Ok(None);
        }
        let (b0, b1) = (self.buf[0], self.buf[1]);
        let (fin, opcode, masked) = (b0 & 0x80 != 0, b0 & 0x0f, b1 & 0x80 != 0);
        let (len, mut at) = match b1 & 0x7f {
            126 => {
                if !self.need(4).await? {
                    return Ok(None);
                }
                (u64::from(u16::from_be_bytes([self.buf[2], self.buf[3]])), 4)
            }
            127 => {
                if !self.need(10).await? {
                    return Ok(None);
                }
                let mut b = [0u8; 8];
                b.copy_from_slice(&self.buf[2..10]);
                (u64::from_be_bytes(b), 10)
            }
            n => (u64::from(n), 2),
        };
        if len > MAX_READ as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "frame too large",
            ));
        }
        let len = len as usize;
        let mask_at = at;
        if masked {
            at += 4;
        }
        if !self.need(at + len).await? {
            return Ok(None);
        }
        let frame = self.take(at + len);
        let mut payload = frame[at..].to_vec();
        if masked {
            let key = &frame[mask_at..mask_at + 4];
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
        Ok(Some((fin, opcode, payload)))
    }

    /// The next websocket frame as it came, (opcode, payload) (a fragment is returned as it
    /// is); `None` at the end of the stream. Cancel-safe.
    pub(crate) async fn frame(&mut self) -> io::Result<Option<(u8, Vec<u8>)>> {
        Ok(self
            .raw_frame()
            .await?
            .map(|(_, opcode, payload)| (opcode, payload)))
    }

    /// The next websocket message, continuations joined (a control frame as it comes), as
    /// (opcode, payload); `None` at the end of the stream.
    pub(crate) async fn message(&mut self) -> io::Result<Option<(u8, Vec<u8>)>> {
        let mut message: Option<(u8, Vec<u8>)> = None;
        loop {
            let Some((fin, opcode, payload)) = self.raw_frame().await? else {
                return Ok(None);
            };
            if opcode >= 0x8 {
                return Ok(Some((opcode, payload)));
            }
            match &mut message {
                Some((_, data)) if opcode == 0 => data.extend_from_slice(&payload),
                _ => message = Some((opcode, payload)),
            }
            if fin {
                return Ok(message.take());
            }
        }
    }
}
