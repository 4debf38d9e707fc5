//! The packets of `socket.io-msgpack-parser` (what socket.io's `parser` option is set to in
//! practice): each Socket.IO packet is one MessagePack map `{type, data, nsp, id}` sent as
//! one binary message (`b<base64>` in a polling body), binary values inline as `bin`, no
//! attachments and no binary packet types.
//!
//! The rest of the client keeps the default parser's form (JSON text, binary values split
//! out as attachments behind `{"_placeholder":true,"num":n}`), so this module only
//! translates: [`decode`] turns a msgpack packet into the text packet and attachments the
//! default parser would have received, [`encode`] turns a text packet and its attachments
//! into the msgpack packet. Values are read as notepack.io (the parser's MessagePack
//! library) reads them and carried as the default parser's JSON would carry them:
//! `undefined` is left out of objects and is `null` in arrays, a `Date` is its ISO text,
//! a non-finite number is `null`, an integral float is an integer.

use std::io::Write as _;
use std::ops::Range;

use bytes::Bytes;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::packet::{self, PacketKind};
use super::ProtocolError;

/// How deep arrays and maps may nest in a received packet (serde_json's limit, which the
/// default parser's packets meet).
const MAX_DEPTH: usize = 128;

/// The largest integer a JavaScript number holds exactly (2^53).
const JS_SAFE: f64 = 9_007_199_254_740_992.0;

/// A received msgpack packet in the default parser's form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The Engine.IO message: `4`, then the text packet (a binary type when there are
    /// attachments).
    pub text: String,
    /// The packet's binary values, in the order of their placeholders (slices of the frame).
    pub attachments: Vec<Bytes>,
}

fn invalid(why: impl Into<String>) -> ProtocolError {
    ProtocolError::MsgPack(why.into())
}

// ----- decoding ---------------------------------------------------------------------------

/// One MessagePack item's head: scalars whole, containers by their length, byte strings by
/// where they lie in the frame.
#[derive(Debug, Clone)]
enum Head {
    Nil,
    /// notepack's `undefined` (fixext 1 of type 0).
    Undefined,
    Bool(bool),
    Uint(u64),
    Int(i64),
    Float(f64),
    Str(Range<usize>),
    /// `bin`, or an ext of type 0 (notepack's `ArrayBuffer`).
    Bin(Range<usize>),
    /// notepack's `Date` (fixext 8 of type 0): milliseconds since the epoch.
    Date(i64),
    /// Any other ext, which notepack reads as `[type, Buffer]`.
    Ext(i8, Range<usize>),
    Array(usize),
    Map(usize),
}

struct Reader<'a> {
    frame: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<Range<usize>, ProtocolError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.frame.len())
            .ok_or_else(|| invalid("truncated"))?;
        let range = self.pos..end;
        self.pos = end;
        Ok(range)
    }

    /// A big-endian unsigned integer of `n` (at most 8) bytes.
    fn be(&mut self, n: usize) -> Result<u64, ProtocolError> {
        let range = self.take(n)?;
        Ok(self.frame[range]
            .iter()
            .fold(0, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn len(&mut self, n: usize) -> Result<usize, ProtocolError> {
        // At most 4 bytes: fits usize on the targets tokio supports.
        Ok(self.be(n)? as usize)
    }

    fn ext(&mut self, len: usize) -> Result<Head, ProtocolError> {
        let kind = self.be(1)? as u8 as i8;
        let data = self.take(len)?;
        Ok(match (kind, len) {
            (0, _) => Head::Bin(data),
            _ => Head::Ext(kind, data),
        })
    }

    fn fixext(&mut self, len: usize) -> Result<Head, ProtocolError> {
        let kind = self.be(1)? as u8 as i8;
        let data = self.take(len)?;
        Ok(match (kind, len) {
            (0, 1) => Head::Undefined,
            (0, 8) => {
                let bytes = &self.frame[data];
                let hi = i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                let lo = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
                Head::Date(i64::from(hi) * (1 << 32) + i64::from(lo))
            }
            _ => Head::Ext(kind, data),
        })
    }

    fn head(&mut self) -> Result<Head, ProtocolError> {
        let marker = self.be(1)? as u8;
        Ok(match marker {
            0x00..=0x7f => Head::Uint(u64::from(marker)),
            0x80..=0x8f => Head::Map(usize::from(marker & 0x0f)),
            0x90..=0x9f => Head::Array(usize::from(marker & 0x0f)),
            0xa0..=0xbf => Head::Str(self.take(usize::from(marker & 0x1f))?),
            0xc0 => Head::Nil,
            0xc2 => Head::Bool(false),
            0xc3 => Head::Bool(true),
            0xc4 => Head::Bin(self.len(1).and_then(|n| self.take(n))?),
            0xc5 => Head::Bin(self.len(2).and_then(|n| self.take(n))?),
            0xc6 => Head::Bin(self.len(4).and_then(|n| self.take(n))?),
            0xc7 => self.len(1).and_then(|n| self.ext(n))?,
            0xc8 => self.len(2).and_then(|n| self.ext(n))?,
            0xc9 => self.len(4).and_then(|n| self.ext(n))?,
            0xca => Head::Float(f64::from(f32::from_bits(self.be(4)? as u32))),
            0xcb => Head::Float(f64::from_bits(self.be(8)?)),
            0xcc => Head::Uint(self.be(1)?),
            0xcd => Head::Uint(self.be(2)?),
            0xce => Head::Uint(self.be(4)?),
            0xcf => Head::Uint(self.be(8)?),
            0xd0 => Head::Int(i64::from(self.be(1)? as u8 as i8)),
            0xd1 => Head::Int(i64::from(self.be(2)? as u16 as i16)),
            0xd2 => Head::Int(i64::from(self.be(4)? as u32 as i32)),
            0xd3 => Head::Int(self.be(8)? as i64),
            0xd4 => self.fixext(1)?,
            0xd5 => self.fixext(2)?,
            0xd6 => self.fixext(4)?,
            0xd7 => self.fixext(8)?,
            0xd8 => self.fixext(16)?,
            0xd9 => Head::Str(self.len(1).and_then(|n| self.take(n))?),
            0xda => Head::Str(self.len(2).and_then(|n| self.take(n))?),
            0xdb => Head::Str(self.len(4).and_then(|n| self.take(n))?),
            0xdc => Head::Array(self.len(2)?),
            0xdd => Head::Array(self.len(4)?),
            0xde => Head::Map(self.len(2)?),
            0xdf => Head::Map(self.len(4)?),
            0xe0..=0xff => Head::Int(i64::from(marker as i8)),
            0xc1 => return Err(invalid("the reserved byte 0xc1")),
        })
    }

    /// Reads past the item `head` starts (a container's items too).
    fn skip(&mut self, head: Head, depth: usize) -> Result<(), ProtocolError> {
        let items = match head {
            Head::Array(n) => n,
            Head::Map(n) => n.checked_mul(2).ok_or_else(|| invalid("map too long"))?,
            _ => return Ok(()),
        };
        if depth >= MAX_DEPTH {
            return Err(invalid("nested too deep"));
        }
        for _ in 0..items {
            let head = self.head()?;
            self.skip(head, depth + 1)?;
        }
        Ok(())
    }
}

/// What the default parser's JSON does with a binary value: an attachment behind a
/// placeholder (EVENT and ACK data), or `Buffer.toJSON()` (CONNECT and CONNECT_ERROR data,
/// which that parser writes with `JSON.stringify`).
enum Bins<'a> {
    Attach(&'a mut Vec<Bytes>),
    Json,
}

/// Writes the item `head` starts as JSON.
struct Json<'a, 'b> {
    reader: &'a mut Reader<'b>,
    frame: &'a Bytes,
    out: &'a mut Vec<u8>,
    bins: Bins<'a>,
}

impl Json<'_, '_> {
    fn value(&mut self, head: Head, depth: usize) -> Result<(), ProtocolError> {
        match head {
            Head::Nil | Head::Undefined => self.out.extend_from_slice(b"null"),
            Head::Bool(b) => self
                .out
                .extend_from_slice(if b { b"true" } else { b"false" }),
            Head::Uint(n) => self.write(format_args!("{n}")),
            Head::Int(n) => self.write(format_args!("{n}")),
            Head::Float(f) => write_float(self.out, f),
            Head::Str(range) => self.string(range),
            Head::Bin(range) => self.bin(range),
            Head::Date(ms) => write_date(self.out, ms),
            Head::Ext(kind, range) => {
                self.write(format_args!("[{kind},"));
                self.bin(range);
                self.out.push(b']');
            }
            Head::Array(n) => {
                let depth = nested(depth)?;
                self.out.push(b'[');
                for i in 0..n {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    let head = self.reader.head()?;
                    self.value(head, depth)?;
                }
                self.out.push(b']');
            }
            Head::Map(n) => {
                let depth = nested(depth)?;
                self.out.push(b'{');
                let mut first = true;
                for _ in 0..n {
                    let key = self.reader.head()?;
                    let value = self.reader.head()?;
                    // JSON.stringify leaves `undefined` properties out.
                    if matches!(value, Head::Undefined) {
                        continue;
                    }
                    if !first {
                        self.out.push(b',');
                    }
                    first = false;
                    match key {
                        Head::Str(range) => self.string(range),
                        Head::Uint(n) => self.write(format_args!("\"{n}\"")),
                        Head::Int(n) => self.write(format_args!("\"{n}\"")),
                        _ => return Err(invalid("a map key that is not a string or an integer")),
                    }
                    self.out.push(b':');
                    self.value(value, depth)?;
                }
                self.out.push(b'}');
            }
        }
        Ok(())
    }

    fn write(&mut self, args: std::fmt::Arguments<'_>) {
        // Writing into a Vec cannot fail.
        let _ = self.out.write_fmt(args);
    }

    fn string(&mut self, range: Range<usize>) {
        // notepack decodes strings as Node's `toString('utf8')` does: invalid UTF-8 becomes
        // U+FFFD.
        let text = String::from_utf8_lossy(&self.frame[range]);
        // Writing a str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *self.out, &*text);
    }

    fn bin(&mut self, range: Range<usize>) {
        match &mut self.bins {
            Bins::Attach(attachments) => {
                let num = attachments.len();
                attachments.push(self.frame.slice(range));
                self.write(format_args!(r#"{{"_placeholder":true,"num":{num}}}"#));
            }
            Bins::Json => {
                self.out.extend_from_slice(br#"{"type":"Buffer","data":["#);
                for (i, byte) in self.frame[range].iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    self.write(format_args!("{byte}"));
                }
                self.out.extend_from_slice(b"]}");
            }
        }
    }
}

fn nested(depth: usize) -> Result<usize, ProtocolError> {
    match depth < MAX_DEPTH {
        true => Ok(depth + 1),
        false => Err(invalid("nested too deep")),
    }
}

/// A number as `JSON.stringify` writes it: non-finite is `null`, integral is an integer.
fn write_float(out: &mut Vec<u8>, f: f64) {
    if !f.is_finite() {
        out.extend_from_slice(b"null");
    } else if f.fract() == 0.0 && f.abs() < JS_SAFE {
        // Exact: |f| < 2^53. `-0` is `0`, as in JavaScript.
        let _ = write!(out, "{}", f as i64);
    } else {
        // Writing a finite f64 into a Vec cannot fail.
        let _ = serde_json::to_writer(out, &f);
    }
}

/// A `Date` as its `toJSON()`: ISO 8601 in UTC with milliseconds, `null` outside the range
/// of JavaScript dates.
fn write_date(out: &mut Vec<u8>, ms: i64) {
    const MAX_MS: i64 = 8_640_000_000_000_000;
    if !(-MAX_MS..=MAX_MS).contains(&ms) {
        out.extend_from_slice(b"null");
        return;
    }
    let (days, in_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (year, month, day) = civil_from_days(days);
    let (h, m, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    let _ = match year {
        0..=9999 => write!(out, "\"{year:04}"),
        _ if year < 0 => write!(out, "\"-{:06}", -year),
        _ => write!(out, "\"+{year:06}"),
    };
    let _ = write!(
        out,
        "-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z\""
    );
}

/// The proleptic Gregorian date of a day count from 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// An integer the way the parser's checks take one (`Number.isInteger`), if non-negative.
fn integer(head: &Head) -> Option<u64> {
    match *head {
        Head::Uint(n) => Some(n),
        Head::Int(n) => u64::try_from(n).ok(),
        Head::Float(f) if f.fract() == 0.0 && (0.0..JS_SAFE).contains(&f) => Some(f as u64),
        _ => None,
    }
}

/// Decodes one msgpack packet (a binary message) into the default parser's form, with the
/// checks of the parser's decoder: a type of 0 to 4, a string namespace, data that fits the
/// type, an integer id. A namespace must also start with `/` and hold no `,`, as it has to
/// in the text form.
pub fn decode(frame: &Bytes) -> Result<Decoded, ProtocolError> {
    let mut reader = Reader { frame, pos: 0 };
    let Head::Map(fields) = reader.head()? else {
        return Err(invalid("a packet that is not a map"));
    };
    let (mut kind, mut nsp, mut id, mut data) = (None, None, None, None);
    for _ in 0..fields {
        let key = reader.head()?;
        let value_at = reader.pos;
        let value = reader.head()?;
        let slot = match key {
            Head::Str(range) => match &frame[range] {
                b"type" => &mut kind,
                b"nsp" => &mut nsp,
                b"id" => &mut id,
                b"data" => &mut data,
                _ => {
                    reader.skip(value, 0)?;
                    continue;
                }
            },
            _ => {
                reader.skip(value, 0)?;
                continue;
            }
        };
        // `undefined` is as good as absent.
        *slot = (!matches!(value, Head::Undefined)).then(|| (value.clone(), value_at));
        reader.skip(value, 0)?;
    }
    if reader.pos != frame.len() {
        return Err(invalid(format!(
            "{} trailing bytes",
            frame.len() - reader.pos
        )));
    }

    let kind = match kind.as_ref().and_then(|(head, _)| integer(head)) {
        Some(kind @ 0..=4) => kind as u8,
        _ => return Err(invalid("invalid packet type")),
    };
    let nsp = match nsp {
        Some((Head::Str(range), _)) => String::from_utf8_lossy(&frame[range]).into_owned(),
        _ => return Err(invalid("invalid namespace")),
    };
    if !nsp.starts_with('/') || nsp.contains(',') {
        return Err(invalid(format!("namespace {nsp:?}")));
    }
    let id = match &id {
        None => None,
        Some((head, _)) => Some(integer(head).ok_or_else(|| invalid("invalid packet id"))?),
    };
    let fits = matches!(
        (kind, data.as_ref().map(|(head, _)| head)),
        (0, None | Some(Head::Map(_)))
            | (1, None)
            | (4, Some(Head::Str(_) | Head::Map(_)))
            | (2 | 3, Some(Head::Array(_)))
    );
    if !fits {
        return Err(invalid("invalid payload"));
    }

    let mut json = Vec::new();
    let mut attachments = Vec::new();
    if let Some((head, at)) = data {
        let mut reader = Reader { frame, pos: at };
        reader.head()?;
        let bins = match kind {
            2 | 3 => Bins::Attach(&mut attachments),
            _ => Bins::Json,
        };
        Json {
            reader: &mut reader,
            frame,
            out: &mut json,
            bins,
        }
        .value(head, 0)?;
    }

    let mut text = Vec::with_capacity(json.len() + nsp.len() + 16);
    text.push(b'4');
    match attachments.len() {
        0 => text.push(b'0' + kind),
        n => {
            let _ = write!(text, "{}{n}-", kind + 3);
        }
    }
    if nsp != "/" {
        text.extend_from_slice(nsp.as_bytes());
        text.push(b',');
    }
    if let Some(id) = id {
        let _ = write!(text, "{id}");
    }
    text.extend_from_slice(&json);
    let text = String::from_utf8(text).map_err(|_| ProtocolError::InvalidUtf8)?;
    Ok(Decoded { text, attachments })
}

// ----- encoding ---------------------------------------------------------------------------

/// Encodes a text packet as the msgpack parser sends it: `message` is an Engine.IO message
/// (`4`, then the packet, as [`packet`] writes them) and `attachments` the
/// binary values its placeholders point at; the result is one binary message.
///
/// # Errors
///
/// A message that is not a Socket.IO packet with JSON data (never one ferrio wrote).
pub fn encode(message: &str, attachments: &[Bytes]) -> Result<Vec<u8>, ProtocolError> {
    let text = message
        .strip_prefix('4')
        .ok_or_else(|| invalid("not an Engine.IO message"))?;
    let header = packet::split(text)?;
    let kind = match header.kind {
        PacketKind::Connect => 0,
        PacketKind::Disconnect => 1,
        PacketKind::Event | PacketKind::BinaryEvent => 2,
        PacketKind::Ack | PacketKind::BinaryAck => 3,
        PacketKind::ConnectError => 4,
    };
    // Placeholders only mean something in binary packets.
    let attachments = match header.kind.is_binary() {
        true => attachments,
        false => &[],
    };
    let with_data = !header.data.is_empty();
    let mut out = Vec::with_capacity(header.data.len() + header.nsp.len() + 24);
    out.push(0x80 | (2 + u8::from(with_data) + u8::from(header.id.is_some())));
    write_str(&mut out, "type");
    write_uint(&mut out, kind);
    if with_data {
        write_str(&mut out, "data");
        let mut de = serde_json::Deserializer::from_str(header.data);
        Msgpack {
            out: &mut out,
            attachments,
        }
        .deserialize(&mut de)
        .and_then(|_| de.end())
        .map_err(ProtocolError::Serialize)?;
    }
    write_str(&mut out, "nsp");
    write_str(&mut out, header.nsp);
    if let Some(id) = header.id {
        write_str(&mut out, "id");
        write_uint(&mut out, id);
    }
    Ok(out)
}

/// Integers as notepack writes them: in the fewest bytes.
fn write_uint(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=0x7f => out.push(n as u8),
        0x80..=0xff => out.extend_from_slice(&[0xcc, n as u8]),
        0x100..=0xffff => {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(0xcf);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn write_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        return write_uint(out, n as u64);
    }
    match n {
        -0x20..=-1 => out.push(n as i8 as u8),
        -0x80..=-0x21 => out.extend_from_slice(&[0xd0, n as i8 as u8]),
        -0x8000..=-0x81 => {
            out.push(0xd1);
            out.extend_from_slice(&(n as i16).to_be_bytes());
        }
        -0x8000_0000..=-0x8001 => {
            out.push(0xd2);
            out.extend_from_slice(&(n as i32).to_be_bytes());
        }
        _ => {
            out.push(0xd3);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// A length-prefixed item: `fix` for the short form (`None`: no such form), then the 8-,
/// 16- and 32-bit markers (`0`: no such form).
fn write_len(out: &mut Vec<u8>, len: usize, fix: Option<(u8, usize)>, markers: [u8; 3]) {
    match fix {
        Some((marker, max)) if len <= max => out.push(marker | len as u8),
        _ if len <= 0xff && markers[0] != 0 => out.extend_from_slice(&[markers[0], len as u8]),
        _ if len <= 0xffff => {
            out.push(markers[1]);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            // Frames are capped far below 4 GiB.
            out.push(markers[2]);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    write_len(out, s.len(), Some((0xa0, 31)), [0xd9, 0xda, 0xdb]);
    out.extend_from_slice(s.as_bytes());
}

fn write_bin(out: &mut Vec<u8>, bytes: &[u8]) {
    write_len(out, bytes.len(), None, [0xc4, 0xc5, 0xc6]);
    out.extend_from_slice(bytes);
}

/// The header of an array or map of `len` items, put in front of the items at `start`
/// (the count is known once they are written).
fn insert_header(out: &mut Vec<u8>, start: usize, len: usize, map: bool) {
    let mut header = Vec::with_capacity(5);
    match map {
        true => write_len(&mut header, len, Some((0x80, 15)), [0, 0xde, 0xdf]),
        false => write_len(&mut header, len, Some((0x90, 15)), [0, 0xdc, 0xdd]),
    }
    out.splice(start..start, header);
}

/// What a JSON value turned out to be, as far as recognizing a placeholder needs.
#[derive(Clone, Copy, PartialEq)]
enum Wrote {
    True,
    Uint(u64),
    PlaceholderKey,
    NumKey,
    Other,
}

/// Reads one JSON value and writes it as MessagePack; a placeholder becomes the `bin` of
/// its attachment.
struct Msgpack<'a> {
    out: &'a mut Vec<u8>,
    attachments: &'a [Bytes],
}

impl<'de> DeserializeSeed<'de> for Msgpack<'_> {
    type Value = Wrote;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Wrote, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Msgpack<'_> {
    type Value = Wrote;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Wrote, E> {
        self.out.push(0xc0);
        Ok(Wrote::Other)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Wrote, E> {
        self.out.push(if v { 0xc3 } else { 0xc2 });
        Ok(if v { Wrote::True } else { Wrote::Other })
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Wrote, E> {
        write_uint(self.out, v);
        Ok(Wrote::Uint(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Wrote, E> {
        write_int(self.out, v);
        Ok(Wrote::Other)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Wrote, E> {
        self.out.push(0xcb);
        self.out.extend_from_slice(&v.to_bits().to_be_bytes());
        Ok(Wrote::Other)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Wrote, E> {
        write_str(self.out, v);
        Ok(match v {
            "_placeholder" => Wrote::PlaceholderKey,
            "num" => Wrote::NumKey,
            _ => Wrote::Other,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Wrote, A::Error> {
        let start = self.out.len();
        let mut len = 0;
        while seq
            .next_element_seed(Msgpack {
                out: &mut *self.out,
                attachments: self.attachments,
            })?
            .is_some()
        {
            len += 1;
        }
        insert_header(self.out, start, len, false);
        Ok(Wrote::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Wrote, A::Error> {
        let start = self.out.len();
        let (mut len, mut flagged, mut num) = (0, false, None);
        loop {
            let seed = Msgpack {
                out: &mut *self.out,
                attachments: self.attachments,
            };
            let Some(key) = map.next_key_seed(seed)? else {
                break;
            };
            let value = map.next_value_seed(Msgpack {
                out: &mut *self.out,
                attachments: self.attachments,
            })?;
            match (key, value) {
                (Wrote::PlaceholderKey, Wrote::True) => flagged = true,
                (Wrote::NumKey, Wrote::Uint(n)) => num = Some(n),
                _ => {}
            }
            len += 1;
        }
        let attachment = num
            .filter(|_| flagged && len == 2)
            .and_then(|n| self.attachments.get(usize::try_from(n).ok()?));
        match attachment {
            Some(bytes) => {
                self.out.truncate(start);
                write_bin(self.out, bytes);
            }
            None => insert_header(self.out, start, len, true),
        }
        Ok(Wrote::Other)
    }
}

#[cfg(test)]
mod tests;
