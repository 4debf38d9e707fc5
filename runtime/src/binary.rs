//! [`Binary`]: the payload type for bytes, binary everywhere.

use std::fmt;

use bytes::Bytes;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::protocol::binary::BINARY_TOKEN;

/// Bytes that travel as a Socket.IO binary attachment, in both directions and in the
/// contract: use it for a binary field or argument of a `#[socketio_events]` payload.
///
/// - On the wire it is an attachment (a binary websocket frame, or `b<base64>` in a polling
///   body), as a `Buffer` is for the JavaScript client.
/// - Received, it accepts an attachment only: an array of numbers or a string where bytes
///   are declared is a payload error, not silently taken for bytes.
/// - In the contract it is `format: "binary"` (see [`schema::binary_schema`](crate::schema::binary_schema)):
///   `contentMediaType: application/octet-stream` in JSON Schema and AsyncAPI, and
///   `ArrayBuffer | ArrayBufferView` in the TypeScript declarations (what socket.io accepts
///   for binary; a Node `Buffer` is one).
///
/// ```
/// # use serde::{Deserialize, Serialize};
/// #[derive(Serialize, Deserialize, schemars::JsonSchema)]
/// pub struct Upload {
///     pub name: String,
///     pub data: ferrio::Binary,
/// }
/// let upload = Upload { name: "a.png".into(), data: vec![0x89, b'P', b'N', b'G'].into() };
/// assert_eq!(&upload.data[..2], &[0x89, b'P']);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Binary(pub Bytes);

impl Binary {
    /// The bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl std::ops::Deref for Binary {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Binary {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Bytes> for Binary {
    fn from(bytes: Bytes) -> Self {
        Binary(bytes)
    }
}

impl From<Vec<u8>> for Binary {
    fn from(bytes: Vec<u8>) -> Self {
        Binary(bytes.into())
    }
}

impl From<&'static [u8]> for Binary {
    fn from(bytes: &'static [u8]) -> Self {
        Binary(Bytes::from_static(bytes))
    }
}

impl From<Binary> for Bytes {
    fn from(binary: Binary) -> Self {
        binary.0
    }
}

thread_local! {
    /// The buffer of the [`Binary`] being serialized on this thread, lent to ferrio's packet
    /// serializer so that it shares the buffer as the attachment instead of copying it
    /// (serde hands a serializer only a `&[u8]`). Binary_throughput (64 KiB attachments):
    /// the copies made every queued attachment a buffer of its own, 328 MiB of peak RSS for
    /// 5,000 emits of one buffer, and ~50 µs of CPU per emit.
    static LENT: std::cell::RefCell<Option<Bytes>> = const { std::cell::RefCell::new(None) };
}

/// The lent buffer, if `bytes` is exactly it (same memory, same length): what
/// `serialize_bytes` is given while a [`Binary`] serializes.
pub(crate) fn take_lent(bytes: &[u8]) -> Option<Bytes> {
    LENT.with(|lent| {
        let mut lent = lent.borrow_mut();
        let same = lent
            .as_ref()
            .is_some_and(|b| b.as_ptr() == bytes.as_ptr() && b.len() == bytes.len());
        if same {
            lent.take()
        } else {
            None
        }
    })
}

impl Serialize for Binary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Lent for the call only (any other serializer just reads the slice), and whatever
        // was lent before is put back, so nothing outlives the call.
        let before = LENT.with(|lent| lent.replace(Some(self.0.clone())));
        let result = serializer.serialize_bytes(&self.0);
        LENT.with(|lent| *lent.borrow_mut() = before);
        result
    }
}

impl<'de> Deserialize<'de> for Binary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // ferrio's packet deserializer knows the name and hands over an attachment, or
        // fails; any other deserializer (serde_json on a packet without attachments) has no
        // attachment to give, so whatever it holds is refused (see `visit_newtype_struct`).
        deserializer.deserialize_newtype_struct(BINARY_TOKEN, AttachmentOnly)
    }
}

/// Takes bytes (an attachment) and nothing else.
struct AttachmentOnly;

impl<'de> Visitor<'de> for AttachmentOnly {
    type Value = Binary;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a binary attachment")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Binary, E> {
        Ok(Binary(Bytes::copy_from_slice(bytes)))
    }

    fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<Binary, E> {
        Ok(Binary(bytes.into()))
    }

    /// A deserializer that does not know the name: what it holds is JSON (a string, an
    /// array...), which `deserialize_any` shows to the methods above as not bytes.
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Binary, D::Error> {
        d.deserialize_any(AttachmentOnly)
    }
}

#[cfg(feature = "typed")]
impl schemars::JsonSchema for Binary {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Binary".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        ferrio_schema::binary_schema()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::binary;

    /// Received: an attachment is bytes; a number array or a string where bytes are
    /// declared is an error (strict), unlike `bytes::Bytes`, which takes both.
    #[test]
    fn only_an_attachment_is_binary() {
        let attachments = [Bytes::from_static(&[1, 2, 3])];
        let placeholder = r#"{"_placeholder":true,"num":0}"#;
        let got: Binary = binary::from_json(placeholder, &attachments).expect("an attachment");
        assert_eq!(&got[..], &[1, 2, 3]);
        assert!(binary::from_json::<Binary>("[1,2,3]", &attachments).is_err());
        assert!(binary::from_json::<Binary>("\"AQID\"", &attachments).is_err());
        assert!(binary::from_json::<Binary>("[1,2,3]", &[]).is_err());
        assert!(
            binary::from_json::<Bytes>("[1,2,3]", &[]).is_ok(),
            "Bytes is lenient"
        );
    }

    /// Sent: an attachment and its placeholder.
    #[test]
    fn is_sent_as_an_attachment() {
        let mut json = Vec::new();
        let mut attachments = Vec::new();
        binary::write_json(&mut json, &Binary::from(vec![9u8, 8]), &mut attachments)
            .expect("serializes");
        assert_eq!(
            String::from_utf8_lossy(&json),
            r#"{"_placeholder":true,"num":0}"#
        );
        assert_eq!(attachments, [Bytes::from_static(&[9, 8])]);
    }

    /// Sent, the attachment is the `Binary`'s own buffer (no copy); another serializer only
    /// reads it, and nothing stays lent after a call.
    #[test]
    fn the_attachment_shares_the_buffer() {
        let data = Binary::from(vec![7u8; 1024]);
        let as_json = serde_json::to_string(&data).expect("serde_json serializes it");
        assert!(as_json.starts_with("[7,7,"), "{as_json}");
        assert!(
            LENT.with(|lent| lent.borrow().is_none()),
            "nothing stays lent"
        );
        let (mut json, mut attachments) = (Vec::new(), Vec::new());
        binary::write_json(&mut json, &(&data, "x", &data), &mut attachments).expect("serializes");
        assert_eq!(attachments.len(), 2);
        for attachment in &attachments {
            assert_eq!(attachment.as_ptr(), data.as_ptr(), "shared, not copied");
            assert_eq!(attachment.len(), 1024);
        }
        // Plain bytes are still copied (serde hands over a slice only).
        let plain = Bytes::from(vec![1u8; 16]);
        binary::write_json(&mut json, &plain, &mut attachments).expect("serializes");
        assert_ne!(attachments[2].as_ptr(), plain.as_ptr());
        assert!(
            LENT.with(|lent| lent.borrow().is_none()),
            "nothing stays lent"
        );
    }
}
