//! Placeholders: the `{"_placeholder":true,"num":N}` objects that stand for attachments in the
//! JSON text. Recognising one and reading its `num` (shared by the deserializer and by
//! [`check_placeholders`]), writing one (for the serializer), and [`check_placeholders`]
//! itself, which validates every placeholder of a text with the streaming parser.

use std::fmt;

use bytes::Bytes;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::ser::{CompactFormatter, Formatter as _};
use serde_json::{Map, Number, Value};

use super::DecodeError;

/// The member that marks an object as a placeholder.
pub(super) const PLACEHOLDER_KEY: &str = "_placeholder";
/// The member that holds a placeholder's attachment index.
const NUM_KEY: &str = "num";

/// Whether `json` can contain a placeholder: a member named `_placeholder` is written either
/// literally or with at least one `\u` escape (no other escape can produce its characters).
pub(super) fn may_hold_placeholder(json: &str) -> bool {
    json.contains(PLACEHOLDER_KEY) || json.contains("\\u")
}

/// A placeholder's `num` member as found in the JSON.
#[derive(Clone, Copy)]
pub(super) enum Num {
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    NotNumber,
    Missing,
}

impl Num {
    fn of(value: Option<&Value>) -> Self {
        match value {
            None => Num::Missing,
            Some(Value::Number(n)) => number_to_num(n),
            Some(_) => Num::NotNumber,
        }
    }

    /// The attachment index this `num` names, if it names one of `attachments`.
    fn index(self, attachments: usize) -> Result<usize, DecodeError> {
        let num = match self {
            Num::Unsigned(n) => n,
            Num::Signed(n) => u64::try_from(n).map_err(|_| bad("num is negative"))?,
            Num::Float(f) if f < 0.0 => return Err(bad("num is negative")),
            Num::Float(f) if f.fract() != 0.0 => return Err(bad("num is not an integer")),
            // Saturating: a huge integral float is simply out of range.
            Num::Float(f) => f as u64,
            Num::NotNumber => return Err(bad("num is not a number")),
            Num::Missing => return Err(bad("num is missing")),
        };
        match usize::try_from(num) {
            Ok(index) if index < attachments => Ok(index),
            _ => Err(DecodeError::PlaceholderOutOfRange { num, attachments }),
        }
    }
}

pub(super) fn number_to_num(n: &Number) -> Num {
    if let Some(u) = n.as_u64() {
        Num::Unsigned(u)
    } else if let Some(i) = n.as_i64() {
        Num::Signed(i)
    } else {
        Num::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

fn bad(reason: &'static str) -> DecodeError {
    DecodeError::BadPlaceholder { reason }
}

/// If `map` is a placeholder, the attachment it names (or why it names none).
pub(super) fn placeholder<'a>(
    map: &Map<String, Value>,
    att: &'a [Bytes],
) -> Option<Result<&'a Bytes, DecodeError>> {
    match map.get(PLACEHOLDER_KEY) {
        Some(Value::Bool(true)) => {
            Some(Num::of(map.get(NUM_KEY)).index(att.len()).map(|i| &att[i]))
        }
        _ => None,
    }
}

/// Writes the placeholder for attachment `num`.
pub(super) fn write_placeholder(out: &mut Vec<u8>, num: usize) -> Result<(), serde_json::Error> {
    out.extend_from_slice(b"{\"_placeholder\":true,\"num\":");
    CompactFormatter
        .write_u64(out, num as u64)
        .map_err(serde_json::Error::io)?;
    out.push(b'}');
    Ok(())
}

/// Checks that every placeholder in a JSON text points at one of `attachments` attachments.
///
/// Used by the packet decoder to reject a binary packet whose placeholders point outside its
/// attachments, before any of it is handed to the application. The text is scanned with
/// `serde_json`'s streaming parser; nothing is built.
///
/// # Errors
///
/// [`DecodeError::Json`] if the text is not valid JSON; [`DecodeError::PlaceholderOutOfRange`]
/// or [`DecodeError::BadPlaceholder`] for the first placeholder whose `num` is not the index of
/// an attachment. Members of a placeholder other than `num` are not looked into (the placeholder
/// stands for its attachment, whatever else it holds), exactly as when decoding; but when an
/// object repeats a key, the values that the last one replaces are checked too, so a text this
/// rejects may still decode.
pub fn check_placeholders(json: &str, attachments: usize) -> Result<(), DecodeError> {
    let mut found = None;
    let mut de = serde_json::Deserializer::from_str(json);
    let scanned = Scan {
        attachments,
        err: &mut found,
    }
    .deserialize(&mut de)
    .and_then(|_| de.end());
    match (scanned, found) {
        (_, Some(err)) => Err(err),
        (Ok(()), None) => Ok(()),
        (Err(err), None) => Err(DecodeError::Json(err)),
    }
}

/// What [`Scan`] saw of a value, as far as placeholders care.
enum Scanned {
    True,
    Num(Num),
    Other,
}

/// Walks a JSON value with the streaming parser, checking every placeholder in it.
struct Scan<'a> {
    attachments: usize,
    /// The first placeholder error found (kept aside: serde_json's error type cannot carry it,
    /// and an error inside a placeholder's other members does not count).
    err: &'a mut Option<DecodeError>,
}

impl Scan<'_> {
    fn nested(&mut self) -> Scan<'_> {
        Scan {
            attachments: self.attachments,
            err: &mut *self.err,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Scan<'_> {
    type Value = Scanned;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Scanned, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scan<'_> {
    type Value = Scanned;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scanned, E> {
        Ok(if v { Scanned::True } else { Scanned::Other })
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scanned, E> {
        Ok(Scanned::Num(Num::Signed(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scanned, E> {
        Ok(Scanned::Num(Num::Unsigned(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scanned, E> {
        Ok(Scanned::Num(Num::Float(v)))
    }

    fn visit_str<E: de::Error>(self, _v: &str) -> Result<Scanned, E> {
        Ok(Scanned::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scanned, E> {
        Ok(Scanned::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Scanned, A::Error> {
        while seq.next_element_seed(self.nested())?.is_some() {}
        Ok(Scanned::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scanned, A::Error> {
        let mut is_placeholder = false;
        let mut num = Num::Missing;
        // Errors inside this object's members count only if it is not a placeholder: a
        // placeholder stands for its attachment, whatever else it holds.
        let mut nested = None;
        // Later duplicates win, as they do when the text is parsed into a tree.
        while let Some(key) = map.next_key_seed(ScanKey)? {
            let value = map.next_value_seed(Scan {
                attachments: self.attachments,
                err: &mut nested,
            })?;
            match key {
                KeyKind::Placeholder => is_placeholder = matches!(value, Scanned::True),
                KeyKind::Num => {
                    num = match value {
                        Scanned::Num(n) => n,
                        _ => Num::NotNumber,
                    }
                }
                KeyKind::Other => {}
            }
        }
        let err = if is_placeholder {
            num.index(self.attachments).err()
        } else {
            nested
        };
        if self.err.is_none() {
            *self.err = err;
        }
        Ok(Scanned::Other)
    }
}

/// The object keys [`Scan`] cares about.
enum KeyKind {
    Placeholder,
    Num,
    Other,
}

/// Reads an object key as a [`KeyKind`] without allocating.
struct ScanKey;

impl<'de> DeserializeSeed<'de> for ScanKey {
    type Value = KeyKind;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<KeyKind, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for ScanKey {
    type Value = KeyKind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyKind, E> {
        Ok(match v {
            PLACEHOLDER_KEY => KeyKind::Placeholder,
            NUM_KEY => KeyKind::Num,
            _ => KeyKind::Other,
        })
    }
}
