//! The argument spreading rule: how a Rust type maps onto a Socket.IO argument list.
//!
//! An event or ack carries a list of arguments, while a Rust function takes one value. The rule,
//! the same both ways: a tuple (or fixed-size array) is several arguments, one per element;
//! `()` is no argument; anything else is exactly one argument. [`write_args`] applies it on the
//! way out (each argument written by the serializer of [`serialize`](super::serialize)),
//! [`from_args`] on the way in (each argument read by the deserializer of
//! [`deserialize`](super::deserialize)). Only the top level is looked at: a tuple inside an
//! argument is a JSON array, as always.

use std::fmt;

use bytes::Bytes;
use serde::de::{self, DeserializeOwned, DeserializeSeed, SeqAccess, Visitor};
use serde::ser::{self, Serialize};
use serde_json::Value;

use super::deserialize::{DeError, ValueDe};
use super::placeholder::may_hold_placeholder;
use super::serialize::{Compound, Ser};
use super::DecodeError;

/// Serializes `args` as the tail of a Socket.IO argument array, with the attachment rule of
/// [`write_json`](super::write_json), and returns the number of arguments written.
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
/// As [`write_json`](super::write_json); on error `out` and `attachments` are restored to
/// their length on entry.
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
/// Each argument is read as by [`from_json`](super::from_json), placeholders included.
///
/// # Errors
///
/// As [`from_json`](super::from_json), plus [`DecodeError::MissingArguments`].
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
