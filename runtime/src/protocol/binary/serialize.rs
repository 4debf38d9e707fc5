//! The serializer: a Rust value -> compact JSON text + attachments ([`write_json`]).
//!
//! It wraps `serde_json`'s compact serializer (scalars, strings and number formatting are
//! `serde_json`'s own) and intercepts only what JSON cannot carry: `serialize_bytes` pushes the
//! buffer onto the attachment list and writes a placeholder instead. Compounds (sequences,
//! maps, structs, variants) are written here so that their elements go through this
//! serializer again, and map keys through [`KeySer`], which writes them as `serde_json` does.

use std::fmt;

use bytes::Bytes;
use serde::ser::{self, Impossible, Serialize};
use serde_json::ser::{CompactFormatter, Formatter as _};

use super::placeholder::write_placeholder;
use super::RAW_VALUE_TOKEN;

/// Serializes `value` as compact JSON, appending it to `out`.
///
/// Every byte buffer the value serializes with `serialize_bytes` ([`Bytes`], `serde_bytes`
/// types, `&[u8]` passed to `serialize_bytes`...) is pushed onto `attachments` and the
/// placeholder `{"_placeholder":true,"num":N}` is written in its place, `N` being the buffer's
/// index in `attachments`. Since numbering starts at `attachments.len()`, a caller can serialize
/// several values into one packet and keep one attachment list. Each buffer is copied once into
/// its attachment (serde hands a serializer only a `&[u8]`), except a [`Binary`](crate::Binary)'s,
/// which is shared. A `Vec<u8>` serializes as a
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

/// A plain `serde_json` serializer writing into `out`; it costs nothing to make one per call.
fn json(out: &mut Vec<u8>) -> serde_json::Serializer<&mut Vec<u8>> {
    serde_json::Serializer::new(out)
}

/// Writes `s` as a JSON string, exactly as `serde_json` does. The usual string needs no
/// escape, which one pass over its bytes tells: then it is copied whole (`serde_json` writes
/// it in pieces through `io::Write`, several times the cost for the short strings of events).
#[inline]
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().any(crate::protocol::json::ends_string_run) {
        // Writing into a Vec cannot fail.
        let _ = ser::Serializer::serialize_str(&mut json(out), s);
        return;
    }
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
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
pub(super) struct Ser<'a> {
    pub(super) out: &'a mut Vec<u8>,
    pub(super) att: &'a mut Vec<Bytes>,
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
        write_str(self.out, variant);
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
    );

    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), serde_json::Error> {
        write_str(self.out, v);
        Ok(())
    }

    #[inline]
    fn serialize_bytes(self, v: &[u8]) -> Result<(), serde_json::Error> {
        let num = self.att.len();
        // A `Binary`'s buffer is shared, not copied (see `binary::take_lent`).
        let attachment = crate::binary::take_lent(v).unwrap_or_else(|| Bytes::copy_from_slice(v));
        self.att.push(attachment);
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
pub(super) struct Compound<'a> {
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
        write_str(self.out, key);
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
        write_str(self.out, v);
        Ok(())
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
