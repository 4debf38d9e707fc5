//! Binary attachments: JSON with `{"_placeholder":true,"num":N}` in place of byte buffers.
//!
//! Socket.IO cannot put raw bytes inside the JSON text of a packet. Instead, when an event or
//! an ack carries binary data, every byte buffer in its arguments is taken out and sent as a
//! separate binary frame (an *attachment*), and the JSON keeps a placeholder object
//! `{"_placeholder":true,"num":N}` where the buffer was, `N` being the 0-based index of the
//! attachment in the order the frames are sent.
//!
//! This module does that replacement in both directions with serde, so application types can
//! simply hold [`Bytes`](bytes::Bytes) (or any type that serializes through `serialize_bytes`):
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
//!
//! # Files
//!
//! - `placeholder.rs`: recognising, reading and writing placeholders, and
//!   [`check_placeholders`];
//! - `serialize.rs`: the serializer, a value -> JSON text + attachments ([`write_json`]);
//! - `deserialize.rs`: the deserializer, JSON text + attachments -> a value ([`from_json`]);
//! - `args.rs`: the "one value or a tuple" rule over an argument list ([`write_args`],
//!   [`from_args`]), on top of the two above;
//! - `tests.rs`: unit and property tests of the whole module.
//!
//! The files are private modules and everything public is re-exported here, so the paths stay
//! `ferrio::protocol::binary::write_json` and so on (the rest of the crate, the fuzz targets and
//! the benches use them) and the split is invisible outside this folder.

mod args;
mod deserialize;
mod placeholder;
mod serialize;
#[cfg(test)]
mod tests;

pub use args::{from_args, write_args};
pub use deserialize::from_json;
pub use placeholder::check_placeholders;
pub use serialize::write_json;
pub(crate) use serialize::write_str;

/// The struct name and field name by which `serde_json::value::RawValue` asks a serializer to
/// write its text verbatim (and a deserializer to hand it the raw text).
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// The newtype name [`crate::Binary`] deserializes with: the tree deserializer then gives
/// it an attachment's bytes, and nothing else.
pub(crate) const BINARY_TOKEN: &str = "$ferrio::Binary";

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
