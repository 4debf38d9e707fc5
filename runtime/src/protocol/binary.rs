//! Placeholder until the binary codec lands.
#![allow(missing_docs, unused_variables, clippy::todo)]
use bytes::Bytes;
pub fn write_json<T: serde::Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
    attachments: &mut Vec<Bytes>,
) -> Result<(), serde_json::Error> {
    serde_json::to_writer(out, value)
}
pub fn write_args<T: serde::Serialize + ?Sized>(
    out: &mut Vec<u8>,
    args: &T,
    leading_comma: bool,
    attachments: &mut Vec<Bytes>,
) -> Result<usize, serde_json::Error> {
    if leading_comma {
        out.push(b',');
    }
    serde_json::to_writer(out, args)?;
    Ok(1)
}
pub fn from_json<T: serde::de::DeserializeOwned>(
    json: &str,
    attachments: &[Bytes],
) -> Result<T, DecodeError> {
    Ok(serde_json::from_str(json)?)
}
pub fn from_args<T: serde::de::DeserializeOwned>(
    args: &[&str],
    attachments: &[Bytes],
) -> Result<T, DecodeError> {
    Ok(serde_json::from_str(
        args.first().copied().unwrap_or("null"),
    )?)
}
pub fn check_placeholders(json: &str, attachments: usize) -> Result<(), DecodeError> {
    Ok(())
}
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}
