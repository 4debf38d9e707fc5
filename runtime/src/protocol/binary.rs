//! Binary attachments: JSON with `{"_placeholder":true,"num":N}` in place of byte buffers.
//!
//! Socket.IO cannot put raw bytes inside the JSON text of a packet. Instead, when an event or
//! an ack carries binary data, every byte buffer in its arguments is taken out and sent as a
//! separate binary frame (an *attachment*), and the JSON keeps a placeholder object
//! `{"_placeholder":true,"num":N}` where the buffer was, `N` being the 0-based index of the
//! attachment in the order the frames are sent.
//!
//! This module does that replacement in both directions with serde, so application types can
//! simply hold [`Bytes`] (or any type that serializes through `serialize_bytes`):
//!
//! - [`write_json`] and [`write_args`] serialize a value straight into a JSON buffer, pushing
//!   each byte buffer onto an attachment list and writing a placeholder in its place. They wrap
//!   `serde_json`'s compact serializer without building any intermediate tree, so a value that
//!   holds no bytes costs about as much as `serde_json::to_writer`.
//! - [`from_json`] and [`from_args`] deserialize a value from JSON text plus the received
//!   attachments, handing each placeholder to the value as bytes. Without attachments (or when
//!   the text cannot contain a placeholder) they are plain `serde_json` streaming parses.
//! - [`check_placeholders`] validates, without building anything, that every placeholder of a
//!   packet points at one of its attachments.
//!
//! [`write_args`] and [`from_args`] also implement the "one value or a tuple" rule that maps
//! Rust types onto Socket.IO's argument lists: a Rust tuple is spread over several arguments,
//! `()` is no argument, and anything else is exactly one argument.
//!
//! A placeholder is recognised the way the JavaScript reference parser recognises it: any JSON
//! object whose `_placeholder` member is `true` (other members are ignored). Its `num` must be
//! a non-negative integer (an integral float such as `1.0` is accepted, as JavaScript does)
//! smaller than the number of attachments.

use std::fmt;

use bytes::Bytes;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};
use serde::ser::{self, Impossible, Serialize};
use serde_json::ser::{CompactFormatter, Formatter as _};
use serde_json::{Map, Number, Value};

/// The struct name and field name by which `serde_json::value::RawValue` asks a serializer to
/// write its text verbatim (and a deserializer to hand it the raw text).
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// The member that marks an object as a placeholder.
const PLACEHOLDER_KEY: &str = "_placeholder";
/// The member that holds a placeholder's attachment index.
const NUM_KEY: &str = "num";

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/// Serializes `value` as compact JSON, appending it to `out`.
///
/// Every byte buffer the value serializes with `serialize_bytes` ([`Bytes`], `serde_bytes`
/// types, `&[u8]` passed to `serialize_bytes`...) is pushed onto `attachments` and the
/// placeholder `{"_placeholder":true,"num":N}` is written in its place, `N` being the buffer's
/// index in `attachments`. Since numbering starts at `attachments.len()`, a caller can serialize
/// several values into one packet and keep one attachment list. Each buffer is copied once into
/// its attachment (serde hands a serializer only a `&[u8]`). A `Vec<u8>` serializes as a
/// sequence of numbers, not as bytes, exactly as with `serde_json`.
///
/// Everything else is written exactly as `serde_json::to_writer` writes it, including
/// `serde_json::value::RawValue`, which is copied verbatim.
///
/// # Errors
///
/// The errors `serde_json` reports (a map key that is not a string, a `Serialize`
/// implementation that fails...). On error, `out` and `attachments` are restored to the length
/// they had on entry.
pub fn write_json<T>(
    out: &mut Vec<u8>,
    value: &T,
    attachments: &mut Vec<Bytes>,
) -> Result<(), serde_json::Error>
where
    T: Serialize + ?Sized,
{
    let (out_len, att_len) = (out.len(), attachments.len());
    let result = value.serialize(Ser {
        out: &mut *out,
        att: &mut *attachments,
    });
    if result.is_err() {
        out.truncate(out_len);
        attachments.truncate(att_len);
    }
    result
}

/// Serializes `args` as the tail of a Socket.IO argument array, with the attachment rule of
/// [`write_json`], and returns the number of arguments written.
///
/// The "one value or a tuple" rule decides how many arguments `args` is:
///
/// - a value that serializes as a tuple (Rust tuples `(a,)`, `(a, b)`..., and, since serde
///   represents them the same way, fixed-size arrays `[T; N]`) is spread: each element is one
///   argument;
/// - `()` is no argument at all;
/// - anything else (a struct, a string, a number, a `Vec`, a tuple struct, a unit struct, an
///   `Option`...) is exactly one argument.
///
/// Each argument is written preceded by a comma (`,a,b`), so for an event the caller writes
/// `["name` + `"` first and `]` after. With `leading_comma` false the first argument is written
/// without its comma, which is what an ack (`[a,b]`, no name) needs.
///
/// # Errors
///
/// As [`write_json`]; on error `out` and `attachments` are restored to their length on entry.
pub fn write_args<T>(
    out: &mut Vec<u8>,
    args: &T,
    leading_comma: bool,
    attachments: &mut Vec<Bytes>,
) -> Result<usize, serde_json::Error>
where
    T: Serialize + ?Sized,
{
    let (out_len, att_len) = (out.len(), attachments.len());
    let mut count = 0;
    let result = args.serialize(ArgsSer {
        out: &mut *out,
        att: &mut *attachments,
        comma: leading_comma,
        count: &mut count,
    });
    match result {
        Ok(()) => Ok(count),
        Err(err) => {
            out.truncate(out_len);
            attachments.truncate(att_len);
            Err(err)
        }
    }
}

/// Deserializes a value from one JSON text that may contain placeholders.
///
/// A placeholder is handed to the value as bytes: types that ask for bytes (`deserialize_bytes`
/// or `deserialize_byte_buf`, as [`Bytes`] and `serde_bytes::ByteBuf` do) receive them through
/// `visit_bytes`; a type that asks for a sequence (`Vec<u8>`) gets a sequence of `u8`; a
/// self-describing type (`serde_json::Value`, untagged enums) gets a sequence of numbers.
/// Everything else deserializes as with `serde_json` (externally tagged enums, options, newtype
/// structs, `serde_json::value::RawValue`, in which placeholders stay as written...).
///
/// When `attachments` is empty (or the text cannot contain a placeholder) this is exactly
/// `serde_json::from_str`: a placeholder-shaped object in a packet that has no attachments is
/// ordinary data, as it is for the JavaScript parser. Otherwise the text is parsed into a
/// `serde_json::Value` first and the value is deserialized from that tree.
///
/// # Errors
///
/// [`DecodeError::Json`] for invalid JSON or a value of the wrong shape;
/// [`DecodeError::PlaceholderOutOfRange`] or [`DecodeError::BadPlaceholder`] for a placeholder
/// the value reads whose `num` does not name an attachment. Placeholders in parts of the text
/// the value ignores are not checked: use [`check_placeholders`] for that.
pub fn from_json<T>(json: &str, attachments: &[Bytes]) -> Result<T, DecodeError>
where
    T: DeserializeOwned,
{
    if attachments.is_empty() || !may_hold_placeholder(json) {
        return serde_json::from_str(json).map_err(DecodeError::Json);
    }
    let tree: Value = serde_json::from_str(json)?;
    T::deserialize(ValueDe::new(tree, attachments)).map_err(DecodeError::from)
}

/// Deserializes `T` from a list of arguments, each given as its own JSON text (the raw slices
/// of the event array after the event name, or of the ack array).
///
/// This mirrors the "one value or a tuple" rule of [`write_args`]:
///
/// - if `T` asks for a tuple (Rust tuples, fixed-size arrays), its elements are taken from the
///   arguments in order. Extra arguments are ignored, as JavaScript ignores extra arguments.
///   A missing argument is read as JSON `null` (so a trailing `Option` becomes `None`, like an
///   `undefined` JavaScript parameter); if that fails the error is
///   [`DecodeError::MissingArguments`];
/// - if `T` asks for unit (`()`), any arguments are accepted and ignored;
/// - anything else is deserialized from the first argument, or from JSON `null` when there is
///   no argument (so an `Option` gets `None` and a struct gets an error).
///
/// Each argument is read as by [`from_json`], placeholders included.
///
/// # Errors
///
/// As [`from_json`], plus [`DecodeError::MissingArguments`].
pub fn from_args<T>(args: &[&str], attachments: &[Bytes]) -> Result<T, DecodeError>
where
    T: DeserializeOwned,
{
    T::deserialize(ArgsDe {
        args,
        att: attachments,
    })
    .map_err(DecodeError::from)
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

/// Why a JSON text with attachments could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The text is not valid JSON, or its value does not have the shape of the requested type.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A placeholder names an attachment the packet does not have.
    #[error(
        "placeholder refers to attachment {num} but the packet has {attachments} attachment(s)"
    )]
    PlaceholderOutOfRange {
        /// The placeholder's `num`.
        num: u64,
        /// How many attachments the packet has.
        attachments: usize,
    },
    /// A placeholder's `num` is missing or is not a non-negative integer.
    #[error("malformed placeholder: {reason}")]
    BadPlaceholder {
        /// What is wrong with `num`.
        reason: &'static str,
    },
    /// The arguments are fewer than the tuple being deserialized needs.
    #[error("expected {expected} argument(s), received {received}")]
    MissingArguments {
        /// How many arguments the tuple has.
        expected: usize,
        /// How many arguments were received.
        received: usize,
    },
}

// ---------------------------------------------------------------------------------------------
// Placeholders
// ---------------------------------------------------------------------------------------------

/// Whether `json` can contain a placeholder: a member named `_placeholder` is written either
/// literally or with at least one `\u` escape (no other escape can produce its characters).
fn may_hold_placeholder(json: &str) -> bool {
    json.contains(PLACEHOLDER_KEY) || json.contains("\\u")
}

/// A placeholder's `num` member as found in the JSON.
#[derive(Clone, Copy)]
enum Num {
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

fn number_to_num(n: &Number) -> Num {
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
fn placeholder<'a>(
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
fn write_placeholder(out: &mut Vec<u8>, num: usize) -> Result<(), serde_json::Error> {
    out.extend_from_slice(b"{\"_placeholder\":true,\"num\":");
    CompactFormatter
        .write_u64(out, num as u64)
        .map_err(serde_json::Error::io)?;
    out.push(b'}');
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Serializing
// ---------------------------------------------------------------------------------------------

/// A plain `serde_json` serializer writing into `out`; it costs nothing to make one per call.
fn json(out: &mut Vec<u8>) -> serde_json::Serializer<&mut Vec<u8>> {
    serde_json::Serializer::new(out)
}

fn key_must_be_a_string() -> serde_json::Error {
    ser::Error::custom("key must be a string")
}

/// Forwards scalar `serialize_*` methods to `serde_json`.
macro_rules! forward_scalars {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        #[inline]
        fn $method(self, v: $ty) -> Result<(), serde_json::Error> {
            ser::Serializer::$method(&mut json(self.out), v)
        }
    )*};
}

/// The serializer: `serde_json`'s compact output, but bytes become attachments.
struct Ser<'a> {
    out: &'a mut Vec<u8>,
    att: &'a mut Vec<Bytes>,
}

impl<'a> Ser<'a> {
    /// Writes `open` and starts a compound (`open` is a constant, so this inlines to a push).
    #[inline]
    fn compound(self, open: &[u8], raw: bool) -> Compound<'a> {
        self.out.extend_from_slice(open);
        Compound {
            out: self.out,
            att: self.att,
            first: true,
            raw,
        }
    }

    /// Writes `{"variant":` + `open` and returns the compound for the variant's value.
    #[inline]
    fn variant(self, variant: &str, open: &[u8]) -> Result<Compound<'a>, serde_json::Error> {
        self.out.push(b'{');
        ser::Serializer::serialize_str(&mut json(self.out), variant)?;
        self.out.push(b':');
        Ok(self.compound(open, false))
    }
}

impl<'a> ser::Serializer for Ser<'a> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    forward_scalars!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
    );

    #[inline]
    fn serialize_bytes(self, v: &[u8]) -> Result<(), serde_json::Error> {
        let num = self.att.len();
        self.att.push(Bytes::copy_from_slice(v));
        write_placeholder(self.out, num)
    }

    #[inline]
    fn serialize_none(self) -> Result<(), serde_json::Error> {
        self.serialize_unit()
    }

    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), serde_json::Error> {
        value.serialize(self)
    }

    #[inline]
    fn serialize_unit(self) -> Result<(), serde_json::Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    #[inline]
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), serde_json::Error> {
        self.serialize_unit()
    }

    #[inline]
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), serde_json::Error> {
        self.serialize_str(variant)
    }

    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        value.serialize(self)
    }

    #[inline]
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        let mut compound = self.variant(variant, b"")?;
        value.serialize(compound.ser())?;
        compound.out.push(b'}');
        Ok(())
    }

    #[inline]
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>, serde_json::Error> {
        Ok(self.compound(b"[", false))
    }

    #[inline]
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'a>, serde_json::Error> {
        Ok(self.compound(b"[", false))
    }

    #[inline]
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, serde_json::Error> {
        Ok(self.compound(b"[", false))
    }

    #[inline]
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, serde_json::Error> {
        self.variant(variant, b"[")
    }

    #[inline]
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a>, serde_json::Error> {
        Ok(self.compound(b"{", false))
    }

    #[inline]
    fn serialize_struct(
        self,
        name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, serde_json::Error> {
        if name == RAW_VALUE_TOKEN {
            return Ok(self.compound(b"", true));
        }
        Ok(self.compound(b"{", false))
    }

    #[inline]
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, serde_json::Error> {
        self.variant(variant, b"{")
    }

    #[inline]
    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<(), serde_json::Error> {
        ser::Serializer::collect_str(&mut json(self.out), value)
    }
}

/// An array, object or variant being written by [`Ser`].
struct Compound<'a> {
    out: &'a mut Vec<u8>,
    att: &'a mut Vec<Bytes>,
    /// No element written yet (so no comma before the next one).
    first: bool,
    /// A `serde_json::value::RawValue`, whose one field's text is written verbatim.
    raw: bool,
}

impl Compound<'_> {
    #[inline]
    fn ser(&mut self) -> Ser<'_> {
        Ser {
            out: &mut *self.out,
            att: &mut *self.att,
        }
    }

    #[inline]
    fn separator(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.out.push(b',');
        }
    }

    #[inline]
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), serde_json::Error> {
        self.separator();
        value.serialize(self.ser())
    }

    #[inline]
    fn field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        if self.raw {
            // Let serde_json write its own raw value: its raw-value struct writes nothing but
            // the field's text.
            let mut json = json(self.out);
            let mut raw = ser::Serializer::serialize_struct(&mut json, RAW_VALUE_TOKEN, 1)?;
            ser::SerializeStruct::serialize_field(&mut raw, key, value)?;
            return ser::SerializeStruct::end(raw);
        }
        self.separator();
        ser::Serializer::serialize_str(&mut json(self.out), key)?;
        self.out.push(b':');
        value.serialize(self.ser())
    }
}

/// The sequence-like compounds differ only in their method's name and closing bytes.
macro_rules! sequence_compound {
    ($($kind:ident :: $method:ident => $close:expr),* $(,)?) => {$(
        impl ser::$kind for Compound<'_> {
            type Ok = ();
            type Error = serde_json::Error;

            #[inline]
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), serde_json::Error> {
                self.element(value)
            }

            #[inline]
            fn end(self) -> Result<(), serde_json::Error> {
                self.out.extend_from_slice($close);
                Ok(())
            }
        }
    )*};
}

sequence_compound!(
    SerializeSeq::serialize_element => b"]",
    SerializeTuple::serialize_element => b"]",
    SerializeTupleStruct::serialize_field => b"]",
    SerializeTupleVariant::serialize_field => b"]}",
);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = serde_json::Error;

    #[inline]
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), serde_json::Error> {
        self.separator();
        key.serialize(KeySer { out: self.out })
    }

    #[inline]
    fn serialize_value<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        self.out.push(b':');
        value.serialize(self.ser())
    }

    #[inline]
    fn end(self) -> Result<(), serde_json::Error> {
        self.out.push(b'}');
        Ok(())
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = serde_json::Error;

    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        self.field(key, value)
    }

    #[inline]
    fn end(self) -> Result<(), serde_json::Error> {
        if !self.raw {
            self.out.push(b'}');
        }
        Ok(())
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = serde_json::Error;

    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        self.field(key, value)
    }

    #[inline]
    fn end(self) -> Result<(), serde_json::Error> {
        self.out.extend_from_slice(b"}}");
        Ok(())
    }
}

/// Writes an integer, float or bool map key as a JSON string, as `serde_json` does.
macro_rules! quoted_keys {
    ($($method:ident($ty:ty) => $write:ident),* $(,)?) => {$(
        fn $method(self, v: $ty) -> Result<(), serde_json::Error> {
            let mut f = CompactFormatter;
            f.begin_string(&mut *self.out).map_err(serde_json::Error::io)?;
            f.$write(&mut *self.out, v).map_err(serde_json::Error::io)?;
            f.end_string(&mut *self.out).map_err(serde_json::Error::io)
        }
    )*};
}

/// Rejects a map key that JSON cannot hold.
macro_rules! reject_keys {
    ($($method:ident($($ty:ty),*)),* $(,)?) => {$(
        fn $method(self, $(_: $ty),*) -> Result<(), serde_json::Error> {
            Err(key_must_be_a_string())
        }
    )*};
}

/// Writes map keys the way `serde_json` does: strings, and numbers and bools quoted.
struct KeySer<'a> {
    out: &'a mut Vec<u8>,
}

impl ser::Serializer for KeySer<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = Impossible<(), serde_json::Error>;
    type SerializeTuple = Impossible<(), serde_json::Error>;
    type SerializeTupleStruct = Impossible<(), serde_json::Error>;
    type SerializeTupleVariant = Impossible<(), serde_json::Error>;
    type SerializeMap = Impossible<(), serde_json::Error>;
    type SerializeStruct = Impossible<(), serde_json::Error>;
    type SerializeStructVariant = Impossible<(), serde_json::Error>;

    quoted_keys!(
        serialize_bool(bool) => write_bool,
        serialize_i8(i8) => write_i8,
        serialize_i16(i16) => write_i16,
        serialize_i32(i32) => write_i32,
        serialize_i64(i64) => write_i64,
        serialize_i128(i128) => write_i128,
        serialize_u8(u8) => write_u8,
        serialize_u16(u16) => write_u16,
        serialize_u32(u32) => write_u32,
        serialize_u64(u64) => write_u64,
        serialize_u128(u128) => write_u128,
    );

    reject_keys!(
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
    );

    fn serialize_f32(self, v: f32) -> Result<(), serde_json::Error> {
        if !v.is_finite() {
            return Err(ser::Error::custom(
                "float key must be finite (got NaN or +/-inf)",
            ));
        }
        let mut f = CompactFormatter;
        f.begin_string(&mut *self.out)
            .map_err(serde_json::Error::io)?;
        f.write_f32(&mut *self.out, v)
            .map_err(serde_json::Error::io)?;
        f.end_string(&mut *self.out).map_err(serde_json::Error::io)
    }

    fn serialize_f64(self, v: f64) -> Result<(), serde_json::Error> {
        if !v.is_finite() {
            return Err(ser::Error::custom(
                "float key must be finite (got NaN or +/-inf)",
            ));
        }
        let mut f = CompactFormatter;
        f.begin_string(&mut *self.out)
            .map_err(serde_json::Error::io)?;
        f.write_f64(&mut *self.out, v)
            .map_err(serde_json::Error::io)?;
        f.end_string(&mut *self.out).map_err(serde_json::Error::io)
    }

    fn serialize_char(self, v: char) -> Result<(), serde_json::Error> {
        ser::Serializer::serialize_char(&mut json(self.out), v)
    }

    fn serialize_str(self, v: &str) -> Result<(), serde_json::Error> {
        ser::Serializer::serialize_str(&mut json(self.out), v)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), serde_json::Error> {
        value.serialize(self)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), serde_json::Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), serde_json::Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, serde_json::Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, serde_json::Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, serde_json::Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, serde_json::Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, serde_json::Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, serde_json::Error> {
        Err(key_must_be_a_string())
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, serde_json::Error> {
        Err(key_must_be_a_string())
    }

    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<(), serde_json::Error> {
        ser::Serializer::collect_str(&mut json(self.out), value)
    }
}

/// Forwards `serialize_*` methods of [`ArgsSer`] to [`Ser`]: one argument.
macro_rules! one_arg {
    ($($method:ident($($arg:ident: $ty:ty),*) -> $ret:ty),* $(,)?) => {$(
        #[inline]
        fn $method(self, $($arg: $ty),*) -> Result<$ret, serde_json::Error> {
            ser::Serializer::$method(self.one(), $($arg),*)
        }
    )*};
}

/// The top level of [`write_args`]: a tuple is spread, unit is nothing, the rest one argument.
struct ArgsSer<'a> {
    out: &'a mut Vec<u8>,
    att: &'a mut Vec<Bytes>,
    /// Whether the first argument is preceded by a comma.
    comma: bool,
    count: &'a mut usize,
}

impl<'a> ArgsSer<'a> {
    /// Starts the single argument.
    fn one(self) -> Ser<'a> {
        if self.comma {
            self.out.push(b',');
        }
        *self.count = 1;
        Ser {
            out: self.out,
            att: self.att,
        }
    }
}

impl<'a> ser::Serializer for ArgsSer<'a> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Spread<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    one_arg!(
        serialize_bool(v: bool) -> (),
        serialize_i8(v: i8) -> (),
        serialize_i16(v: i16) -> (),
        serialize_i32(v: i32) -> (),
        serialize_i64(v: i64) -> (),
        serialize_i128(v: i128) -> (),
        serialize_u8(v: u8) -> (),
        serialize_u16(v: u16) -> (),
        serialize_u32(v: u32) -> (),
        serialize_u64(v: u64) -> (),
        serialize_u128(v: u128) -> (),
        serialize_f32(v: f32) -> (),
        serialize_f64(v: f64) -> (),
        serialize_char(v: char) -> (),
        serialize_str(v: &str) -> (),
        serialize_bytes(v: &[u8]) -> (),
        serialize_none() -> (),
        serialize_unit_struct(name: &'static str) -> (),
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str) -> (),
        serialize_seq(len: Option<usize>) -> Compound<'a>,
        serialize_tuple_struct(name: &'static str, len: usize) -> Compound<'a>,
        serialize_tuple_variant(
            name: &'static str,
            index: u32,
            variant: &'static str,
            len: usize
        ) -> Compound<'a>,
        serialize_map(len: Option<usize>) -> Compound<'a>,
        serialize_struct(name: &'static str, len: usize) -> Compound<'a>,
        serialize_struct_variant(
            name: &'static str,
            index: u32,
            variant: &'static str,
            len: usize
        ) -> Compound<'a>,
    );

    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), serde_json::Error> {
        ser::Serializer::serialize_some(self.one(), value)
    }

    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        ser::Serializer::serialize_newtype_struct(self.one(), name, value)
    }

    #[inline]
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        ser::Serializer::serialize_newtype_variant(self.one(), name, index, variant, value)
    }

    #[inline]
    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<(), serde_json::Error> {
        ser::Serializer::collect_str(self.one(), value)
    }

    #[inline]
    fn serialize_unit(self) -> Result<(), serde_json::Error> {
        *self.count = 0;
        Ok(())
    }

    #[inline]
    fn serialize_tuple(self, _len: usize) -> Result<Spread<'a>, serde_json::Error> {
        *self.count = 0;
        Ok(Spread {
            out: self.out,
            att: self.att,
            comma: self.comma,
            count: self.count,
        })
    }
}

/// A top-level tuple in [`write_args`]: each element is an argument.
struct Spread<'a> {
    out: &'a mut Vec<u8>,
    att: &'a mut Vec<Bytes>,
    comma: bool,
    count: &'a mut usize,
}

impl ser::SerializeTuple for Spread<'_> {
    type Ok = ();
    type Error = serde_json::Error;

    #[inline]
    fn serialize_element<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        if self.comma || *self.count > 0 {
            self.out.push(b',');
        }
        *self.count += 1;
        value.serialize(Ser {
            out: &mut *self.out,
            att: &mut *self.att,
        })
    }

    #[inline]
    fn end(self) -> Result<(), serde_json::Error> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Deserializing
// ---------------------------------------------------------------------------------------------

/// The error type of the deserializers below (serde needs one implementing `de::Error`).
#[derive(Debug)]
struct DeError(DecodeError);

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError(DecodeError::Json(de::Error::custom(msg)))
    }
}

impl From<serde_json::Error> for DeError {
    fn from(err: serde_json::Error) -> Self {
        DeError(DecodeError::Json(err))
    }
}

impl From<DecodeError> for DeError {
    fn from(err: DecodeError) -> Self {
        DeError(err)
    }
}

impl From<DeError> for DecodeError {
    fn from(err: DeError) -> Self {
        err.0
    }
}

/// What a JSON value looks like, for "invalid type" errors.
fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match number_to_num(n) {
            Num::Unsigned(u) => Unexpected::Unsigned(u),
            Num::Signed(i) => Unexpected::Signed(i),
            Num::Float(f) => Unexpected::Float(f),
            Num::NotNumber | Num::Missing => Unexpected::Other("number"),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

fn visit_number<'de, V: Visitor<'de>>(n: &Number, visitor: V) -> Result<V::Value, DeError> {
    if let Some(u) = n.as_u64() {
        visitor.visit_u64(u)
    } else if let Some(i) = n.as_i64() {
        visitor.visit_i64(i)
    } else if let Some(f) = n.as_f64() {
        visitor.visit_f64(f)
    } else {
        Err(de::Error::custom("number out of range"))
    }
}

fn visit_array<'de, V: Visitor<'de>>(
    array: Vec<Value>,
    att: &[Bytes],
    visitor: V,
) -> Result<V::Value, DeError> {
    let len = array.len();
    let mut seq = SeqDe {
        iter: array.into_iter(),
        att,
    };
    let value = visitor.visit_seq(&mut seq)?;
    if seq.iter.len() == 0 {
        Ok(value)
    } else {
        Err(de::Error::invalid_length(len, &"fewer elements in array"))
    }
}

fn visit_object<'de, V: Visitor<'de>>(
    object: Map<String, Value>,
    att: &[Bytes],
    visitor: V,
) -> Result<V::Value, DeError> {
    let len = object.len();
    let mut map = MapDe {
        iter: object.into_iter(),
        value: None,
        att,
    };
    let value = visitor.visit_map(&mut map)?;
    if map.iter.len() == 0 {
        Ok(value)
    } else {
        Err(de::Error::invalid_length(len, &"fewer elements in map"))
    }
}

/// Bytes presented as a sequence of `u8` (for `Vec<u8>`, `serde_json::Value`...).
fn visit_byte_seq<'de, V: Visitor<'de>>(bytes: &[u8], visitor: V) -> Result<V::Value, DeError> {
    let mut seq = de::value::SeqDeserializer::<_, DeError>::new(bytes.iter().copied());
    let value = visitor.visit_seq(&mut seq)?;
    seq.end()?;
    Ok(value)
}

/// A JSON value, with placeholders resolved to attachments.
enum Node<'a> {
    Bytes(&'a Bytes),
    Value(Value),
}

/// Deserializes from a parsed JSON value, turning placeholders into bytes; otherwise it
/// behaves like `serde_json::Value`'s own deserializer.
struct ValueDe<'a> {
    value: Value,
    att: &'a [Bytes],
}

impl<'a> ValueDe<'a> {
    fn new(value: Value, att: &'a [Bytes]) -> Self {
        ValueDe { value, att }
    }

    fn node(self) -> Result<Node<'a>, DeError> {
        if let Value::Object(map) = &self.value {
            if let Some(bytes) = placeholder(map, self.att) {
                return Ok(Node::Bytes(bytes?));
            }
        }
        Ok(Node::Value(self.value))
    }

    /// The "invalid type" error for what this value is.
    fn invalid<'de, V: Visitor<'de>>(node: &Node<'_>, visitor: &V) -> DeError {
        match node {
            Node::Bytes(bytes) => de::Error::invalid_type(Unexpected::Bytes(&bytes[..]), visitor),
            Node::Value(value) => de::Error::invalid_type(unexpected(value), visitor),
        }
    }

    fn number<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node()? {
            Node::Value(Value::Number(n)) => visit_number(&n, visitor),
            other => Err(Self::invalid(&other, &visitor)),
        }
    }
}

/// Implements numeric `deserialize_*` methods with [`ValueDe::number`].
macro_rules! numbers {
    ($($method:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            self.number(visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let att = self.att;
        match self.node()? {
            Node::Bytes(bytes) => visit_byte_seq(bytes, visitor),
            Node::Value(Value::Null) => visitor.visit_unit(),
            Node::Value(Value::Bool(b)) => visitor.visit_bool(b),
            Node::Value(Value::Number(n)) => visit_number(&n, visitor),
            Node::Value(Value::String(s)) => visitor.visit_string(s),
            Node::Value(Value::Array(a)) => visit_array(a, att, visitor),
            Node::Value(Value::Object(o)) => visit_object(o, att, visitor),
        }
    }

    numbers!(
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
    );

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node()? {
            Node::Value(Value::Bool(b)) => visitor.visit_bool(b),
            other => Err(Self::invalid(&other, &visitor)),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node()? {
            Node::Value(Value::String(s)) => visitor.visit_string(s),
            other => Err(Self::invalid(&other, &visitor)),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let att = self.att;
        match self.node()? {
            Node::Bytes(bytes) => visitor.visit_bytes(bytes),
            Node::Value(Value::String(s)) => visitor.visit_string(s),
            Node::Value(Value::Array(a)) => visit_array(a, att, visitor),
            other => Err(Self::invalid(&other, &visitor)),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node()? {
            Node::Value(Value::Null) => visitor.visit_unit(),
            other => Err(Self::invalid(&other, &visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if name == RAW_VALUE_TOKEN {
            let text = serde_json::to_string(&self.value)?;
            return visitor.visit_map(RawValueDe { text: Some(text) });
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let att = self.att;
        match self.node()? {
            Node::Bytes(bytes) => visit_byte_seq(bytes, visitor),
            Node::Value(Value::Array(a)) => visit_array(a, att, visitor),
            other => Err(Self::invalid(&other, &visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let att = self.att;
        match self.node()? {
            Node::Value(Value::Object(o)) => visit_object(o, att, visitor),
            other => Err(Self::invalid(&other, &visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let att = self.att;
        match self.node()? {
            Node::Value(Value::Object(o)) => visit_object(o, att, visitor),
            Node::Value(Value::Array(a)) => visit_array(a, att, visitor),
            other => Err(Self::invalid(&other, &visitor)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let att = self.att;
        match self.node()? {
            Node::Value(Value::String(variant)) => visitor.visit_enum(EnumDe {
                variant,
                value: None,
                att,
            }),
            Node::Value(Value::Object(o)) => {
                let mut entries = o.into_iter();
                match (entries.next(), entries.next()) {
                    (Some((variant, value)), None) => visitor.visit_enum(EnumDe {
                        variant,
                        value: Some(value),
                        att,
                    }),
                    _ => Err(de::Error::invalid_value(
                        Unexpected::Map,
                        &"map with a single key",
                    )),
                }
            }
            Node::Bytes(bytes) => Err(de::Error::invalid_type(
                Unexpected::Bytes(&bytes[..]),
                &"string or map",
            )),
            Node::Value(other) => Err(de::Error::invalid_type(
                unexpected(&other),
                &"string or map",
            )),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        drop(self);
        visitor.visit_unit()
    }
}

/// The elements of an array.
struct SeqDe<'a> {
    iter: std::vec::IntoIter<Value>,
    att: &'a [Bytes],
}

impl<'de> SeqAccess<'de> for SeqDe<'_> {
    type Error = DeError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, DeError> {
        match self.iter.next() {
            Some(value) => seed.deserialize(ValueDe::new(value, self.att)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// The members of an object.
struct MapDe<'a> {
    iter: serde_json::map::IntoIter,
    value: Option<Value>,
    att: &'a [Bytes],
}

impl<'de> MapAccess<'de> for MapDe<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.iter.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(KeyDe { key }).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, DeError> {
        match self.value.take() {
            Some(value) => seed.deserialize(ValueDe::new(value, self.att)),
            None => Err(de::Error::custom("value is missing")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// The raw text handed to `serde_json::value::RawValue`.
struct RawValueDe {
    text: Option<String>,
}

impl<'de> MapAccess<'de> for RawValueDe {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        if self.text.is_none() {
            return Ok(None);
        }
        seed.deserialize(RAW_VALUE_TOKEN.into_deserializer())
            .map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, DeError> {
        match self.text.take() {
            Some(text) => seed.deserialize(text.into_deserializer()),
            None => Err(de::Error::custom("raw value is missing")),
        }
    }
}

/// An object key: a string, which numeric and bool types parse, as with `serde_json`.
struct KeyDe {
    key: String,
}

impl KeyDe {
    fn number<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let bytes = self.key.as_bytes();
        let numeric = matches!(bytes.first(), Some(b'0'..=b'9' | b'-'))
            && matches!(bytes.last(), Some(b'0'..=b'9'));
        if numeric {
            if let Ok(n) = serde_json::from_str::<Number>(&self.key) {
                return visit_number(&n, visitor);
            }
        }
        Err(de::Error::invalid_type(
            Unexpected::Str(&self.key),
            &visitor,
        ))
    }
}

impl<'de> de::Deserializer<'de> for KeyDe {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_string(self.key)
    }

    numbers!(
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
    );

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.key.as_str() {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            _ => Err(de::Error::invalid_type(
                Unexpected::Str(&self.key),
                &visitor,
            )),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_enum(EnumDe {
            variant: self.key,
            value: None,
            att: &[],
        })
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

/// An externally tagged enum: `"Variant"` or `{"Variant": value}`.
struct EnumDe<'a> {
    variant: String,
    value: Option<Value>,
    att: &'a [Bytes],
}

impl<'de, 'a> EnumAccess<'de> for EnumDe<'a> {
    type Error = DeError;
    type Variant = VariantDe<'a>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, VariantDe<'a>), DeError> {
        let variant =
            seed.deserialize(de::value::StringDeserializer::<DeError>::new(self.variant))?;
        Ok((
            variant,
            VariantDe {
                value: self.value,
                att: self.att,
            },
        ))
    }
}

/// The value of an enum variant, if it has one.
struct VariantDe<'a> {
    value: Option<Value>,
    att: &'a [Bytes],
}

impl<'de> VariantAccess<'de> for VariantDe<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        match self.value {
            None => Ok(()),
            Some(value) => de::Deserialize::deserialize(ValueDe::new(value, self.att)),
        }
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, DeError> {
        match self.value {
            Some(value) => seed.deserialize(ValueDe::new(value, self.att)),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"newtype variant",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Some(Value::Array(a)) => visit_array(a, self.att, visitor),
            Some(other) => Err(de::Error::invalid_type(
                unexpected(&other),
                &"tuple variant",
            )),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"tuple variant",
            )),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.value {
            Some(Value::Object(o)) if placeholder(&o, self.att).is_none() => {
                visit_object(o, self.att, visitor)
            }
            Some(other) => Err(de::Error::invalid_type(
                unexpected(&other),
                &"struct variant",
            )),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"struct variant",
            )),
        }
    }
}

/// One argument of [`from_args`]: its text when a streaming parse will do, else its tree.
enum Arg<'s> {
    Text(&'s str),
    Tree(Value),
}

impl<'s> Arg<'s> {
    fn new(text: &'s str, att: &[Bytes]) -> Result<Self, DeError> {
        if att.is_empty() || !may_hold_placeholder(text) {
            Ok(Arg::Text(text))
        } else {
            Ok(Arg::Tree(serde_json::from_str(text)?))
        }
    }
}

/// The top level of [`from_args`]: a tuple takes the arguments in order, unit takes none, the
/// rest takes the first.
struct ArgsDe<'s, 'l> {
    args: &'l [&'s str],
    att: &'l [Bytes],
}

impl<'s> ArgsDe<'s, '_> {
    fn first(&self) -> Result<Arg<'s>, DeError> {
        match self.args.first() {
            Some(text) => Arg::new(text, self.att),
            None => Ok(Arg::Tree(Value::Null)),
        }
    }
}

/// Forwards `deserialize_*` methods of [`ArgsDe`] to the first argument.
macro_rules! first_arg {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {$(
        fn $method<V: Visitor<'s>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, DeError> {
            match self.first()? {
                Arg::Text(text) => {
                    let mut de = serde_json::Deserializer::from_str(text);
                    let value = de::Deserializer::$method(&mut de, $($arg,)* visitor)?;
                    de.end()?;
                    Ok(value)
                }
                Arg::Tree(tree) => {
                    de::Deserializer::$method(ValueDe::new(tree, self.att), $($arg,)* visitor)
                }
            }
        }
    )*};
}

impl<'s> de::Deserializer<'s> for ArgsDe<'s, '_> {
    type Error = DeError;

    first_arg!(
        deserialize_any(),
        deserialize_bool(),
        deserialize_i8(),
        deserialize_i16(),
        deserialize_i32(),
        deserialize_i64(),
        deserialize_i128(),
        deserialize_u8(),
        deserialize_u16(),
        deserialize_u32(),
        deserialize_u64(),
        deserialize_u128(),
        deserialize_f32(),
        deserialize_f64(),
        deserialize_char(),
        deserialize_str(),
        deserialize_string(),
        deserialize_bytes(),
        deserialize_byte_buf(),
        deserialize_option(),
        deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str),
        deserialize_seq(),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_map(),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(),
        deserialize_ignored_any(),
    );

    fn deserialize_unit<V: Visitor<'s>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_tuple<V: Visitor<'s>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_seq(ArgsSeq {
            args: self.args,
            att: self.att,
            next: 0,
            len,
        })
    }
}

/// The arguments as the elements of a tuple.
struct ArgsSeq<'s, 'l> {
    args: &'l [&'s str],
    att: &'l [Bytes],
    next: usize,
    /// The tuple's length.
    len: usize,
}

impl<'s> SeqAccess<'s> for ArgsSeq<'s, '_> {
    type Error = DeError;

    fn next_element_seed<S: DeserializeSeed<'s>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, DeError> {
        if self.next >= self.len {
            return Ok(None);
        }
        let index = self.next;
        self.next += 1;
        let Some(text) = self.args.get(index) else {
            // A missing argument reads as `null`, so a trailing Option is None.
            return match seed.deserialize(ValueDe::new(Value::Null, self.att)) {
                Ok(value) => Ok(Some(value)),
                Err(_) => Err(DeError(DecodeError::MissingArguments {
                    expected: self.len,
                    received: self.args.len(),
                })),
            };
        };
        match Arg::new(text, self.att)? {
            Arg::Text(text) => {
                let mut de = serde_json::Deserializer::from_str(text);
                let value = seed.deserialize(&mut de)?;
                de.end()?;
                Ok(Some(value))
            }
            Arg::Tree(tree) => seed.deserialize(ValueDe::new(tree, self.att)).map(Some),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.len.saturating_sub(self.next))
    }
}

// ---------------------------------------------------------------------------------------------
// Checking placeholders
// ---------------------------------------------------------------------------------------------

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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use proptest::prelude::*;
    use serde::{Deserialize, Serialize};
    use serde_json::json;
    use serde_json::value::RawValue;

    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Upload {
        name: String,
        data: Bytes,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Outer {
        id: u32,
        upload: Upload,
        parts: Vec<Bytes>,
        maybe: Option<Bytes>,
        none: Option<Bytes>,
        named: HashMap<String, Bytes>,
        numbered: BTreeMap<u32, Bytes>,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Item {
        i: u32,
        text: String,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Pair(u32, u32);

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Marker;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum Message {
        Ping,
        Blob(Bytes),
        Split(Bytes, String),
        Framed { header: u8, body: Bytes },
    }

    fn b(data: &'static [u8]) -> Bytes {
        Bytes::from_static(data)
    }

    fn to_json<T: Serialize + ?Sized>(value: &T) -> (String, Vec<Bytes>) {
        let mut out = Vec::new();
        let mut attachments = Vec::new();
        write_json(&mut out, value, &mut attachments).expect("serializes");
        (String::from_utf8(out).expect("utf-8"), attachments)
    }

    fn args<T: Serialize + ?Sized>(value: &T, leading_comma: bool) -> (String, usize, Vec<Bytes>) {
        let mut out = Vec::new();
        let mut attachments = Vec::new();
        let n = write_args(&mut out, value, leading_comma, &mut attachments).expect("serializes");
        (String::from_utf8(out).expect("utf-8"), n, attachments)
    }

    fn attachments(n: usize) -> Vec<Bytes> {
        (0..n).map(|i| Bytes::from(vec![i as u8; i + 1])).collect()
    }

    const PH0: &str = r#"{"_placeholder":true,"num":0}"#;

    #[test]
    fn top_level_bytes_field_round_trips() {
        let upload = Upload {
            name: "a.png".into(),
            data: b(b"\x89PNG"),
        };
        let (json, att) = to_json(&upload);
        assert_eq!(json, format!(r#"{{"name":"a.png","data":{PH0}}}"#));
        assert_eq!(att, vec![b(b"\x89PNG")]);
        let back: Upload = from_json(&json, &att).expect("decodes");
        assert_eq!(back, upload);
    }

    #[test]
    fn bare_bytes_round_trip() {
        let (json, att) = to_json(&b(b"xyz"));
        assert_eq!(json, PH0);
        assert_eq!(from_json::<Bytes>(&json, &att).expect("decodes"), b(b"xyz"));
    }

    #[test]
    fn nested_bytes_round_trip() {
        let outer = Outer {
            id: 7,
            upload: Upload {
                name: "n".into(),
                data: b(b"one"),
            },
            parts: vec![b(b"two"), b(b""), b(b"four")],
            maybe: Some(b(b"five")),
            none: None,
            named: HashMap::from([("k".to_string(), b(b"six"))]),
            numbered: BTreeMap::from([(3, b(b"seven")), (10, b(b"eight"))]),
        };
        let (json, att) = to_json(&outer);
        assert_eq!(att.len(), 8);
        assert_eq!(att[0], b(b"one"));
        assert_eq!(att[7], b(b"eight"));
        let value: Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(value["parts"][2], json!({"_placeholder": true, "num": 3}));
        assert_eq!(value["none"], Value::Null);
        assert_eq!(
            value["numbered"]["10"],
            json!({"_placeholder": true, "num": 7})
        );
        let back: Outer = from_json(&json, &att).expect("decodes");
        assert_eq!(back, outer);
    }

    #[test]
    fn enums_with_bytes_round_trip() {
        let messages = vec![
            Message::Ping,
            Message::Blob(b(b"a")),
            Message::Split(b(b"b"), "s".into()),
            Message::Framed {
                header: 1,
                body: b(b"c"),
            },
        ];
        let (json, att) = to_json(&messages);
        assert_eq!(
            json,
            r#"["Ping",{"Blob":{"_placeholder":true,"num":0}},{"Split":[{"_placeholder":true,"num":1},"s"]},{"Framed":{"header":1,"body":{"_placeholder":true,"num":2}}}]"#
        );
        let back: Vec<Message> = from_json(&json, &att).expect("decodes");
        assert_eq!(back, messages);
    }

    #[test]
    fn untagged_and_flattened_types_receive_bytes() {
        #[derive(Debug, PartialEq, Deserialize)]
        #[serde(untagged)]
        enum Either {
            Number(u32),
            Data(Bytes),
        }
        #[derive(Debug, PartialEq, Deserialize)]
        struct Flat {
            id: u32,
            #[serde(flatten)]
            upload: Upload,
        }
        let att = vec![b(b"zz")];
        let got: Vec<Either> = from_json(&format!("[1,{PH0}]"), &att).expect("decodes");
        assert_eq!(got, vec![Either::Number(1), Either::Data(b(b"zz"))]);
        let flat: Flat =
            from_json(&format!(r#"{{"id":1,"name":"x","data":{PH0}}}"#), &att).expect("decodes");
        assert_eq!(flat.upload.data, b(b"zz"));
    }

    #[test]
    fn any_serialize_bytes_call_becomes_an_attachment() {
        struct Borrowed<'a>(&'a [u8]);
        impl Serialize for Borrowed<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
        let data = vec![9u8, 8, 7];
        let (json, att) = to_json(&(Borrowed(&data), vec![1u8, 2]));
        assert_eq!(json, format!("[{PH0},[1,2]]"));
        assert_eq!(att, vec![Bytes::from(data)]);
        let (json, n, att) = args(&Borrowed(b"k"), true);
        assert_eq!((json, n, att), (format!(",{PH0}"), 1, vec![b(b"k")]));
    }

    #[test]
    fn numbering_continues_from_prefilled_attachments() {
        let mut out = Vec::new();
        let mut att = vec![b(b"earlier"), b(b"earlier too")];
        write_json(&mut out, &(b(b"x"), b(b"y")), &mut att).expect("serializes");
        assert_eq!(
            out,
            br#"[{"_placeholder":true,"num":2},{"_placeholder":true,"num":3}]"#
        );
        assert_eq!(att.len(), 4);
        let n = write_args(&mut out, &b(b"z"), true, &mut att).expect("serializes");
        assert_eq!(n, 1);
        assert!(out.ends_with(br#",{"_placeholder":true,"num":4}"#));
        assert_eq!(att[4], b(b"z"));
    }

    #[test]
    fn write_args_follows_the_one_value_or_a_tuple_rule() {
        let item = Item {
            i: 7,
            text: "hi".into(),
        };
        assert_eq!(args(&(), true), (String::new(), 0, vec![]));
        assert_eq!(args(&(), false), (String::new(), 0, vec![]));
        assert_eq!(args("hello", true), (r#","hello""#.into(), 1, vec![]));
        assert_eq!(args(&"hello", false), (r#""hello""#.into(), 1, vec![]));
        assert_eq!(
            args(&item, true),
            (r#",{"i":7,"text":"hi"}"#.into(), 1, vec![])
        );
        assert_eq!(args(&vec![1, 2], true), (",[1,2]".into(), 1, vec![]));
        assert_eq!(args(&[1, 2][..], true), (",[1,2]".into(), 1, vec![]));
        assert_eq!(args(&(1,), true), (",1".into(), 1, vec![]));
        assert_eq!(args(&(1,), false), ("1".into(), 1, vec![]));
        assert_eq!(
            args(&(1, "a", true), true),
            (r#",1,"a",true"#.into(), 3, vec![])
        );
        assert_eq!(
            args(&(1, "a", true), false),
            (r#"1,"a",true"#.into(), 3, vec![])
        );
        assert_eq!(args(&Pair(1, 2), true), (",[1,2]".into(), 1, vec![]));
        assert_eq!(args(&Marker, true), (",null".into(), 1, vec![]));
        assert_eq!(args(&None::<u8>, true), (",null".into(), 1, vec![]));
        assert_eq!(args(&Some((1, 2)), true), (",[1,2]".into(), 1, vec![]));
        assert_eq!(args(&((1, 2),), true), (",[1,2]".into(), 1, vec![]));
        assert_eq!(args(&[5, 6], true), (",5,6".into(), 2, vec![]));
        assert_eq!(args(&Message::Ping, true), (r#","Ping""#.into(), 1, vec![]));
        let (json, n, att) = args(&("x", b(b"1"), item.clone(), b(b"2")), true);
        assert_eq!(
            json,
            r#","x",{"_placeholder":true,"num":0},{"i":7,"text":"hi"},{"_placeholder":true,"num":1}"#
        );
        assert_eq!((n, att), (4, vec![b(b"1"), b(b"2")]));
        assert_eq!(args(&b(b"1"), false).0, PH0);
    }

    #[test]
    fn write_args_builds_whole_event_and_ack_arrays() {
        let mut event = b"[\"chat\"".to_vec();
        let mut att = Vec::new();
        write_args(&mut event, &("hi", 2), true, &mut att).expect("serializes");
        event.push(b']');
        assert_eq!(event, br#"["chat","hi",2]"#);

        let mut ack = b"[".to_vec();
        write_args(&mut ack, &("ok", b(b"!")), false, &mut att).expect("serializes");
        ack.push(b']');
        assert_eq!(ack, br#"["ok",{"_placeholder":true,"num":0}]"#);
    }

    #[test]
    fn output_matches_serde_json_without_bytes() {
        #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
        enum Color {
            Red,
        }
        #[derive(Serialize)]
        struct Everything {
            a: i128,
            b: u128,
            c: f32,
            d: f64,
            nan: f64,
            e: char,
            f: &'static str,
            g: (),
            h: Marker,
            i: Pair,
            j: Vec<Message>,
            k: BTreeMap<i32, bool>,
            l: BTreeMap<bool, u8>,
            m: BTreeMap<char, ()>,
            n: Option<Option<u8>>,
            o: Vec<u8>,
            p: BTreeMap<String, Vec<Item>>,
            q: BTreeMap<Color, u8>,
            r: [u8; 0],
            s: Value,
        }
        let value = Everything {
            a: -170141183460469231731687303715884105728,
            b: u128::MAX,
            c: 1.5,
            d: -2.25e300,
            nan: f64::NAN,
            e: '\u{1F600}',
            f: "quote \" backslash \\ newline \n control \u{1}",
            g: (),
            h: Marker,
            i: Pair(3, 4),
            j: vec![Message::Ping],
            k: BTreeMap::from([(-1, true), (2, false)]),
            l: BTreeMap::from([(true, 1)]),
            m: BTreeMap::from([('x', ())]),
            n: Some(None),
            o: vec![1, 2, 3],
            p: BTreeMap::from([(
                "\u{7f}k".into(),
                vec![Item {
                    i: 0,
                    text: String::new(),
                }],
            )]),
            q: BTreeMap::from([(Color::Red, 1)]),
            r: [],
            s: json!({"x": [1, -1, 1.5, null, "s", {"y": {}}], "z": []}),
        };
        let expected = serde_json::to_string(&value).expect("serializes");
        assert_eq!(to_json(&value), (expected, vec![]));
        let floats = BTreeMap::from([(1, 0.5f64)]);
        assert_eq!(
            to_json(&floats).0,
            serde_json::to_string(&floats).expect("serializes")
        );
    }

    #[test]
    fn raw_values_are_written_verbatim_and_read_back() {
        let raw = RawValue::from_string(r#"{"a": [1, 2]}"#.into()).expect("valid");
        assert_eq!(args(&raw, true).0, r#",{"a": [1, 2]}"#);
        assert_eq!(args(&(1, &raw), true).0, r#",1,{"a": [1, 2]}"#);
        assert_eq!(to_json(&vec![&raw]).0, r#"[{"a": [1, 2]}]"#);

        let got: (Box<RawValue>, u8) = from_args(&[r#" {"a": 1} "#, "2"], &[]).expect("decodes");
        assert_eq!(got.0.get(), r#"{"a": 1}"#);
        // With attachments the raw text is rebuilt from the tree; placeholders stay as written.
        let got: Box<RawValue> =
            from_json(&format!(r#"{{"b":{PH0}}}"#), &attachments(1)).expect("decodes");
        assert_eq!(got.get(), format!(r#"{{"b":{PH0}}}"#));
    }

    #[test]
    fn serialization_errors_leave_the_buffers_as_they_were() {
        let bad = BTreeMap::from([(vec![1u8], 1u8)]);
        let mut out = b"prefix".to_vec();
        let mut att = vec![b(b"kept")];
        assert!(write_json(&mut out, &(b(b"x"), &bad), &mut att).is_err());
        assert_eq!((out.as_slice(), att.len()), (&b"prefix"[..], 1));
        assert!(write_args(&mut out, &(b(b"x"), &bad), true, &mut att).is_err());
        assert_eq!((out.as_slice(), att.len()), (&b"prefix"[..], 1));
        struct NanKey(Vec<(f64, i32)>);
        impl Serialize for NanKey {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
            }
        }
        assert!(write_json(&mut out, &NanKey(vec![(f64::NAN, 1)]), &mut att).is_err());
        assert_eq!(out, b"prefix");
    }

    #[test]
    fn from_args_spreads_tuples() {
        let att = vec![b(b"data")];
        let got: (String, u32) = from_args(&[r#""a""#, "1"], &[]).expect("decodes");
        assert_eq!(got, ("a".to_string(), 1));
        let got: (String, Bytes, Item) =
            from_args(&[r#""a""#, PH0, r#"{"i":1,"text":"t"}"#], &att).expect("decodes");
        assert_eq!(got.1, b(b"data"));
        assert_eq!(got.2.text, "t");
        let got: (u8,) = from_args(&["5"], &[]).expect("decodes");
        assert_eq!(got, (5,));
        let got: [u8; 2] = from_args(&["5", "6"], &[]).expect("decodes");
        assert_eq!(got, [5, 6]);
    }

    #[test]
    fn from_args_ignores_extra_arguments() {
        let got: (u8,) = from_args(&["1", "2", "{}"], &[]).expect("decodes");
        assert_eq!(got, (1,));
        let got: u8 = from_args(&["1", "not even json"], &[]).expect("decodes");
        assert_eq!(got, 1);
    }

    #[test]
    fn from_args_reports_missing_arguments() {
        let err = from_args::<(String, u32, bool)>(&[r#""a""#], &[]).expect_err("too few");
        assert!(matches!(
            err,
            DecodeError::MissingArguments {
                expected: 3,
                received: 1
            }
        ));
        assert_eq!(err.to_string(), "expected 3 argument(s), received 1");
        let err = from_args::<(u32,)>(&[], &[]).expect_err("too few");
        assert!(matches!(
            err,
            DecodeError::MissingArguments {
                expected: 1,
                received: 0
            }
        ));
        // A trailing Option may be left out, like an `undefined` JavaScript parameter.
        let got: (u32, Option<String>) = from_args(&["1"], &[]).expect("decodes");
        assert_eq!(got, (1, None));
    }

    #[test]
    fn from_args_unit_and_single_values() {
        from_args::<()>(&[], &[]).expect("no arguments");
        from_args::<()>(&["1", "[2]"], &[]).expect("ignored arguments");
        assert_eq!(from_args::<Option<u8>>(&[], &[]).expect("decodes"), None);
        assert_eq!(
            from_args::<Option<u8>>(&["3"], &[]).expect("decodes"),
            Some(3)
        );
        assert!(matches!(
            from_args::<Item>(&[], &[]),
            Err(DecodeError::Json(_))
        ));
        let item: Item = from_args(&[r#"{"i":1,"text":"t"}"#, "9"], &[]).expect("decodes");
        assert_eq!(item.i, 1);
        assert_eq!(
            from_args::<Pair>(&["[1,2]"], &[]).expect("decodes"),
            Pair(1, 2)
        );
        assert_eq!(from_args::<Marker>(&[], &[]).expect("decodes"), Marker);
        assert_eq!(
            from_args::<Vec<u8>>(&["[1,2]"], &[]).expect("decodes"),
            vec![1, 2]
        );
        assert_eq!(
            from_args::<Message>(
                &[r#"{"Blob":{"_placeholder":true,"num":0}}"#],
                &attachments(1)
            )
            .expect("decodes"),
            Message::Blob(b(b"\0"))
        );
        assert_eq!(
            from_args::<Value>(&["1", "2"], &[]).expect("decodes"),
            json!(1)
        );
        assert!(from_args::<u8>(&["1 x"], &[]).is_err());
        assert!(from_args::<(u8, u8)>(&["1", "2 x"], &[]).is_err());
    }

    #[test]
    fn args_round_trip_through_write_args_and_from_args() {
        let sent = ("name".to_string(), b(b"\x00\xff"), Some(b(b"q")), 3u64);
        let (json, n, att) = args(&sent, false);
        let texts: Vec<String> = serde_json::from_str::<Vec<Box<RawValue>>>(&format!("[{json}]"))
            .expect("valid")
            .into_iter()
            .map(|raw| raw.get().to_string())
            .collect();
        assert_eq!(texts.len(), n);
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let back: (String, Bytes, Option<Bytes>, u64) = from_args(&refs, &att).expect("decodes");
        assert_eq!(back, sent);
    }

    #[test]
    fn bad_placeholders_are_errors() {
        let att = attachments(1);
        let cases = [
            (r#"{"_placeholder":true,"num":1}"#, "out of range"),
            (
                r#"{"_placeholder":true,"num":18446744073709551615}"#,
                "out of range",
            ),
            (r#"{"_placeholder":true,"num":1e300}"#, "out of range"),
            (r#"{"_placeholder":true,"num":-1}"#, "num is negative"),
            (r#"{"_placeholder":true,"num":-0.5}"#, "num is negative"),
            (
                r#"{"_placeholder":true,"num":0.5}"#,
                "num is not an integer",
            ),
            (r#"{"_placeholder":true,"num":"0"}"#, "num is not a number"),
            (r#"{"_placeholder":true,"num":null}"#, "num is not a number"),
            (r#"{"_placeholder":true}"#, "num is missing"),
        ];
        for (text, what) in cases {
            let errors = [
                from_json::<Bytes>(text, &att).expect_err(text),
                from_json::<Value>(&format!("[{text}]"), &att).expect_err(text),
                from_json::<Upload>(&format!(r#"{{"name":"x","data":{text}}}"#), &att)
                    .expect_err(text),
                from_args::<(u8, Bytes)>(&["1", text], &att).expect_err(text),
                check_placeholders(&format!(r#"{{"a":[{text}]}}"#), 1).expect_err(text),
            ];
            for err in errors {
                let ok = match &err {
                    DecodeError::PlaceholderOutOfRange { attachments: 1, .. } => {
                        what == "out of range"
                    }
                    DecodeError::BadPlaceholder { reason } => *reason == what,
                    _ => false,
                };
                assert!(ok, "{text}: {err:?}");
            }
        }
        let err = from_json::<Bytes>(r#"{"_placeholder":true,"num":3}"#, &att).expect_err("range");
        assert_eq!(
            err.to_string(),
            "placeholder refers to attachment 3 but the packet has 1 attachment(s)"
        );
    }

    #[test]
    fn placeholder_recognition_follows_the_javascript_parser() {
        let att = attachments(2);
        // Integral floats are integers, extra members are ignored, escapes are decoded.
        for text in [
            r#"{"_placeholder":true,"num":1.0}"#,
            r#"{"num":1,"_placeholder":true,"extra":{"_placeholder":true,"num":99}}"#,
            r#"{"\u005fplaceholder":true,"n\u0075m":1}"#,
            r#"{"_placeholder":false,"_placeholder":true,"num":1}"#,
        ] {
            assert_eq!(
                from_json::<Bytes>(text, &att).expect(text),
                att[1],
                "{text}"
            );
            check_placeholders(text, 2).expect(text);
        }
        // Not placeholders: plain objects.
        for text in [
            r#"{"_placeholder":"true","num":0}"#,
            r#"{"_placeholder":1,"num":0}"#,
            r#"{"_placeholder":true,"_placeholder":false,"num":7}"#,
            r#"{"placeholder":true,"num":7}"#,
        ] {
            let value: Value = from_json(text, &att).expect(text);
            assert!(value.is_object(), "{text}");
            check_placeholders(text, 2).expect(text);
        }
    }

    #[test]
    fn without_attachments_placeholders_are_plain_objects() {
        let text = r#"{"_placeholder":true,"num":5}"#;
        let value: Value = from_json(text, &[]).expect("decodes");
        assert_eq!(value, json!({"_placeholder": true, "num": 5}));
        assert!(from_json::<Bytes>(text, &[]).is_err());
        assert!(check_placeholders(text, 0).is_err());
        check_placeholders(r#"[1,"_placeholder",{"a":null}]"#, 0).expect("no placeholder");
    }

    #[test]
    fn placeholders_become_byte_arrays_for_self_describing_types() {
        let att = vec![b(b"\x01\x02\xff")];
        let value: Value = from_json(&format!(r#"{{"a":[{PH0}]}}"#), &att).expect("decodes");
        assert_eq!(value, json!({"a": [[1, 2, 255]]}));
        let raw: Vec<u8> = from_json(PH0, &att).expect("decodes");
        assert_eq!(raw, vec![1, 2, 255]);
        let array: [u8; 3] = from_json(PH0, &att).expect("decodes");
        assert_eq!(array, [1, 2, 255]);
        assert!(from_json::<[u8; 2]>(PH0, &att).is_err());
        assert!(from_json::<String>(PH0, &att).is_err());
        assert!(from_json::<HashMap<String, Value>>(PH0, &att).is_err());
        assert!(from_json::<Message>(PH0, &att).is_err());
        assert_eq!(
            from_json::<Option<Bytes>>(PH0, &att).expect("decodes"),
            Some(att[0].clone())
        );
    }

    #[test]
    fn tree_path_behaves_like_serde_json() {
        // With attachments the text goes through a tree; these must decode as serde_json does.
        #[derive(Debug, PartialEq, Deserialize)]
        struct Mixed {
            small: i8,
            big: u64,
            neg: i64,
            float: f32,
            text: char,
            list: Vec<Option<u8>>,
            keys: BTreeMap<i16, bool>,
            bools: BTreeMap<bool, u8>,
            unit: (),
            marker: Marker,
            pair: Pair,
            messages: Vec<Message>,
            nested: Option<Box<Mixed>>,
            any: Value,
            #[serde(default)]
            absent: Option<u8>,
            data: Bytes,
        }
        let text = format!(
            r#"{{"small":-3,"big":18446744073709551615,"neg":-9007199254740993,"float":2,
            "text":"é","list":[null,1],"keys":{{"-5":true,"7":false}},"bools":{{"true":1}},
            "unit":null,"marker":null,"pair":[1,2],
            "messages":["Ping",{{"Framed":{{"header":1,"body":"ab"}}}},{{"Split":[[1],"s"]}}],
            "nested":null,"any":{{"k":[1.5,"s",true]}},"ignored":{{"_placeholder":true,"num":9}},
            "data":{PH0}}}"#
        );
        let got: Mixed = from_json(&text, &attachments(1)).expect("decodes");
        assert_eq!(got.big, u64::MAX);
        assert_eq!(got.neg, -9007199254740993);
        assert_eq!(got.keys, BTreeMap::from([(-5, true), (7, false)]));
        assert_eq!(got.bools, BTreeMap::from([(true, 1)]));
        assert_eq!(
            got.messages[1],
            Message::Framed {
                header: 1,
                body: b(b"ab")
            }
        );
        assert_eq!(got.messages[2], Message::Split(b(b"\x01"), "s".into()));
        assert_eq!(got.data, b(b"\0"));
        assert_eq!(got.text, 'é');

        let att = attachments(1);
        let wrong = [
            r#"{"Ping":null,"Blob":null}"#,
            r#"{"Blob":null}"#,
            r#"{"Split":{}}"#,
            r#"{"Framed":[]}"#,
            r#"{"Framed":{"_placeholder":true,"num":0}}"#,
            r#"["Ping", 1]"#,
            r#""Blob""#,
            r#"{"Ping":1}"#,
            r#"{"Nope":1}"#,
        ];
        for text in wrong {
            let padded = format!("[{text},{PH0}]");
            assert!(
                from_json::<(Message, Bytes)>(&padded, &att).is_err(),
                "{text}"
            );
        }
        assert!(from_json::<(u8, u8)>(&format!("[1,2,{PH0}]"), &att).is_err());
        assert!(
            from_json::<BTreeMap<u8, u8>>(r#"{"x":1,"a":{"_placeholder":true}}"#, &att).is_err()
        );
        assert!(from_json::<BTreeMap<u8, Value>>(r#"{" 1":1,"b":{"\u0000":0}}"#, &att).is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let att = attachments(1);
        assert!(from_json::<Value>(&format!("[{deep},\"_placeholder\"]"), &att).is_err());
        assert!(check_placeholders(&deep, 1).is_err());
        assert!(from_args::<(Value,)>(&[&deep], &att).is_err());
        let fine = format!("{}{}{}", "[".repeat(100), PH0, "]".repeat(100));
        check_placeholders(&fine, 1).expect("decodes");
        from_json::<Value>(&fine, &att).expect("decodes");
    }

    #[test]
    fn invalid_json_is_a_json_error() {
        for text in [
            "",
            "[",
            "{\"_placeholder\":true,",
            "1 2",
            "[1,]",
            "\"\\u005f",
        ] {
            assert!(matches!(
                from_json::<Value>(text, &attachments(1)),
                Err(DecodeError::Json(_))
            ));
            assert!(matches!(
                check_placeholders(text, 1),
                Err(DecodeError::Json(_))
            ));
            assert!(matches!(
                from_args::<(Value,)>(&[text], &attachments(1)),
                Err(DecodeError::Json(_))
            ));
        }
    }

    // ----- property tests -----

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum Node {
        Null,
        Flag(bool),
        Int(i64),
        Float(f64),
        Text(String),
        Bin(Bytes),
        Maybe(Option<Bytes>),
        List(Vec<Node>),
        Map(BTreeMap<String, Node>),
        Pair(Box<Node>, Bytes),
        Rec { bin: Bytes, kids: Vec<Node> },
        Unit,
    }

    fn bytes_strategy() -> impl Strategy<Value = Bytes> {
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(Bytes::from)
    }

    fn key_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("_placeholder".to_string()),
            Just("num".to_string()),
            "\\PC{0,6}",
        ]
    }

    fn node_strategy(with_bytes: bool) -> impl Strategy<Value = Node> {
        let leaf = prop_oneof![
            Just(Node::Null),
            Just(Node::Unit),
            any::<bool>().prop_map(Node::Flag),
            any::<i64>().prop_map(Node::Int),
            (-4000i32..4000).prop_map(|i| Node::Float(f64::from(i) / 8.0)),
            "\\PC{0,8}".prop_map(Node::Text),
        ];
        let leaf = if with_bytes {
            prop_oneof![
                4 => leaf,
                1 => bytes_strategy().prop_map(Node::Bin),
                1 => proptest::option::of(bytes_strategy()).prop_map(Node::Maybe),
            ]
            .boxed()
        } else {
            leaf.boxed()
        };
        leaf.prop_recursive(4, 48, 6, move |inner| {
            let containers = prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Node::List),
                proptest::collection::btree_map(key_strategy(), inner.clone(), 0..6)
                    .prop_map(Node::Map),
            ];
            if !with_bytes {
                return containers.boxed();
            }
            prop_oneof![
                2 => containers,
                1 => (inner.clone(), bytes_strategy())
                    .prop_map(|(n, b)| Node::Pair(Box::new(n), b)),
                1 => (bytes_strategy(), proptest::collection::vec(inner, 0..4))
                    .prop_map(|(bin, kids)| Node::Rec { bin, kids }),
            ]
            .boxed()
        })
    }

    fn value_strategy() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "\\PC{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(key_strategy(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn has_placeholder(value: &Value) -> bool {
        match value {
            Value::Array(a) => a.iter().any(has_placeholder),
            Value::Object(o) => {
                o.get(PLACEHOLDER_KEY) == Some(&Value::Bool(true))
                    || o.values().any(has_placeholder)
            }
            _ => false,
        }
    }

    /// JSON texts full of placeholders, good and bad.
    fn placeholder_json_strategy() -> impl Strategy<Value = String> {
        let num = prop_oneof![
            (-2i64..5).prop_map(|n| n.to_string()),
            Just("1.0".to_string()),
            Just("0.5".to_string()),
            Just("\"0\"".to_string()),
            Just("1e2".to_string()),
        ];
        let placeholder = (num, any::<bool>(), any::<bool>()).prop_map(|(num, flag, extra)| {
            let extra = if extra {
                r#","x":{"_placeholder":true,"num":-1}"#
            } else {
                ""
            };
            format!(r#"{{"_placeholder":{flag},"num":{num}{extra}}}"#)
        });
        let leaf = prop_oneof![
            placeholder,
            Just("null".to_string()),
            Just("1".to_string()),
            Just(r#""s""#.to_string()),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                // Unique keys: with duplicates, check_placeholders also checks the values that a
                // later duplicate replaces (it is stricter than decoding there, on purpose).
                proptest::collection::btree_map(key_strategy(), inner, 0..4).prop_map(|v| {
                    let members: Vec<String> = v
                        .into_iter()
                        .map(|(k, v)| format!("{}:{v}", Value::String(k)))
                        .collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn prop_round_trip(node in node_strategy(true), prefilled in 0usize..3) {
            let mut out = Vec::new();
            let mut att = attachments(prefilled);
            write_json(&mut out, &node, &mut att).expect("serializes");
            let text = std::str::from_utf8(&out).expect("utf-8");
            check_placeholders(text, att.len()).expect("placeholders in range");
            let back: Node = from_json(text, &att).expect("decodes");
            prop_assert_eq!(&back, &node);

            let mut out = Vec::new();
            let mut att = Vec::new();
            let sent = (node.clone(), Bytes::from_static(b"tail"));
            let n = write_args(&mut out, &sent, false, &mut att).expect("serializes");
            prop_assert_eq!(n, 2);
            let text = format!("[{}]", std::str::from_utf8(&out).expect("utf-8"));
            let raw: Vec<Box<RawValue>> = serde_json::from_str(&text).expect("valid");
            let refs: Vec<&str> = raw.iter().map(|r| r.get()).collect();
            let back: (Node, Bytes) = from_args(&refs, &att).expect("decodes");
            prop_assert_eq!(back, sent);
        }

        #[test]
        fn prop_same_output_as_serde_json(node in node_strategy(false), value in value_strategy()) {
            let expected = serde_json::to_string(&node).expect("serializes");
            prop_assert_eq!(to_json(&node), (expected, vec![]));
            let expected = serde_json::to_string(&value).expect("serializes");
            prop_assert_eq!(to_json(&value), (expected, vec![]));
            // Through the tree (attachments given) reads the same as serde_json itself reads.
            if !has_placeholder(&value) {
                let text = format!("[{},{PH0}]", to_json(&value).0);
                let back: (Value, Bytes) = from_json(&text, &attachments(1)).expect("decodes");
                let plain: (Value, Value) = serde_json::from_str(&text).expect("decodes");
                prop_assert_eq!(back.0, plain.0);
            }
        }

        #[test]
        fn prop_check_agrees_with_decoding(text in placeholder_json_strategy(), n in 1usize..4) {
            let att = attachments(n);
            let checked = check_placeholders(&text, n);
            let decoded = from_json::<Value>(&text, &att);
            prop_assert_eq!(checked.is_ok(), decoded.is_ok(), "{} {:?} {:?}", text, checked, decoded);
        }

        #[test]
        fn prop_arbitrary_text_never_panics(text in "\\PC{0,64}", json_ish in "[\\[\\]{}\":,0-9a-z_\\\\ .-]{0,64}", n in 0usize..3) {
            let att = attachments(n);
            for text in [text.as_str(), json_ish.as_str()] {
                let _ = from_json::<Value>(text, &att);
                let _ = from_json::<Node>(text, &att);
                let _ = from_json::<Bytes>(text, &att);
                let _ = from_args::<(Node, Value, Option<Bytes>)>(&[text, text], &att);
                let _ = from_args::<Value>(&[text], &att);
                let _ = check_placeholders(text, n);
            }
        }
    }
}
