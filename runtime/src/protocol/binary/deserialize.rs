//! The deserializer: received JSON text + attachments -> a Rust value ([`from_json`]).
//!
//! Without attachments (or when the text cannot hold a placeholder) a value is read by
//! `serde_json`'s streaming parser and nothing here is used. Otherwise the text is parsed into
//! a `serde_json::Value` tree and [`ValueDe`] walks it: it behaves like `serde_json::Value`'s
//! own deserializer, except that a placeholder object is handed to the value as the bytes of
//! its attachment. A tree is needed because whether an object is a placeholder is only known
//! once all its members are read, after a streaming parser would have started handing them out.

use std::fmt;

use bytes::Bytes;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};
use serde_json::{Map, Number, Value};

use super::placeholder::{may_hold_placeholder, number_to_num, placeholder, Num};
use super::{DecodeError, BINARY_TOKEN, RAW_VALUE_TOKEN};

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
/// the value ignores are not checked: use [`check_placeholders`](super::check_placeholders)
/// for that.
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

/// The error type of the deserializers below (serde needs one implementing `de::Error`).
#[derive(Debug)]
pub(super) struct DeError(pub(super) DecodeError);

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
pub(super) struct ValueDe<'a> {
    value: Value,
    att: &'a [Bytes],
}

impl<'a> ValueDe<'a> {
    pub(super) fn new(value: Value, att: &'a [Bytes]) -> Self {
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
        if name == BINARY_TOKEN {
            // `ferrio::Binary`: an attachment, or an error (no number array, no string).
            return match self.node()? {
                Node::Bytes(bytes) => visitor.visit_bytes(bytes),
                other => Err(Self::invalid(&other, &visitor)),
            };
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
