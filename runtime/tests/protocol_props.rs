//! Property tests of the codecs: whatever bytes arrive, decoding returns `Ok` or `Err` and
//! never panics; what the encoder writes, the decoder reads back the same.

use bytes::Bytes;
use ferrio::protocol::{engine, msgpack, packet};
use proptest::prelude::*;
use serde_json::Value;

/// JSON values of bounded size and depth.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        // Exactly representable floats: serde_json's default float parsing may be off by
        // one ulp, which is not what this test is about.
        (-4000i32..4000).prop_map(|n| Value::from(f64::from(n) / 8.0)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// JSON values whose floats are not integral: the msgpack parser carries an integral float
/// as an integer (as `JSON.stringify` writes it), so `2.0` would come back as `2`.
fn json_for_msgpack() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-4000i32..4000).prop_map(|n| Value::from(f64::from(n * 2 + 1) / 8.0)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..20).prop_map(Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..20)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn namespace() -> impl Strategy<Value = String> {
    prop_oneof![Just("/".to_owned()), "/[a-z0-9_-]{1,10}"]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,64}") {
        let _ = packet::decode(&text);
        let _ = engine::decode_text(&text);
        for segment in engine::decode_payload(&text) {
            let _ = segment;
        }
    }

    #[test]
    fn arbitrary_packet_shaped_text_never_panics(kind in 0u8..8, count in ".{0,4}", nsp in ".{0,8}", id in "[0-9]{0,22}", data in ".{0,32}") {
        let text = format!("{kind}{count}{nsp}{id}{data}");
        let _ = packet::decode(&text);
    }

    #[test]
    fn events_round_trip(nsp in namespace(), name in "[a-zA-Z0-9 _-]{1,12}", args in prop::collection::vec(json(), 0..4), id in proptest::option::of(0u64..u64::MAX)) {
        prop_assume!(!packet::is_reserved(&name));
        let tuple = ferrio_suite_args(&args);
        let encoded = packet::encode_event(&nsp, &name, &tuple, id).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let text = encoded.text.strip_prefix('4').ok_or_else(|| TestCaseError::fail("no engine prefix"))?;
        let decoded = packet::decode(text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
        prop_assert_eq!(decoded.nsp, nsp.as_str());
        prop_assert_eq!(decoded.id, id);
        let packet::Body::Event { name: got, args: raw } = decoded.body else {
            return Err(TestCaseError::fail("not an event"));
        };
        prop_assert_eq!(got, name);
        let values: Vec<Value> = raw.iter().map(serde_json::from_str).collect::<Result<_, _>>().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(values, args);
    }

    #[test]
    fn acks_round_trip(nsp in namespace(), args in prop::collection::vec(json(), 0..4), id in 0u64..u64::MAX) {
        let encoded = packet::encode_ack(&nsp, id, &ferrio_suite_args(&args)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let decoded = packet::decode(&encoded.text[1..]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(decoded.id, Some(id));
        let packet::Body::Ack { args: raw } = decoded.body else {
            return Err(TestCaseError::fail("not an ack"));
        };
        prop_assert_eq!(raw.len(), args.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_the_msgpack_decoder(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = msgpack::decode(&Bytes::from(bytes));
    }

    #[test]
    fn msgpack_shaped_bytes_never_panic(kind in any::<u8>(), data in prop::collection::vec(any::<u8>(), 0..48), tail in prop::collection::vec(any::<u8>(), 0..4)) {
        // {type: kind, data: <bytes>, nsp: "/"} and a few bytes more
        let mut frame = vec![0x83, 0xa4, b't', b'y', b'p', b'e', kind, 0xa4, b'd', b'a', b't', b'a'];
        frame.extend_from_slice(&data);
        frame.extend_from_slice(&[0xa3, b'n', b's', b'p', 0xa1, b'/']);
        frame.extend_from_slice(&tail);
        if let Ok(decoded) = msgpack::decode(&Bytes::from(frame)) {
            let _ = packet::decode(&decoded.text[1..]);
        }
    }

    /// What the msgpack encoder writes, its decoder reads back as the same text packet and
    /// attachments (binary values anywhere, ack ids up to u64::MAX).
    #[test]
    fn msgpack_events_round_trip(nsp in namespace(), name in ".{1,12}", args in prop::collection::vec(json_for_msgpack(), 0..4), blobs in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..3), id in proptest::option::of(any::<u64>())) {
        prop_assume!(!packet::is_reserved(&name));
        let blobs: Vec<Bytes> = blobs.into_iter().map(Bytes::from).collect();
        let encoded = packet::encode_event(&nsp, &name, &(ferrio_suite_args(&args), &blobs), id).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let frame = msgpack::encode(&encoded.text, &encoded.attachments).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let decoded = msgpack::decode(&Bytes::from(frame)).map_err(|e| TestCaseError::fail(format!("{e}: {}", encoded.text)))?;
        prop_assert_eq!(&decoded.text, &encoded.text);
        prop_assert_eq!(&decoded.attachments, &encoded.attachments);
        let ack = packet::encode_ack(&nsp, id.unwrap_or(0), &(&blobs, ferrio_suite_args(&args))).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let frame = msgpack::encode(&ack.text, &ack.attachments).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let decoded = msgpack::decode(&Bytes::from(frame)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(decoded.text, ack.text);
        prop_assert_eq!(decoded.attachments, ack.attachments);
    }
}

/// A list of values as a spreadable argument list: a tuple-shaped serialization.
fn ferrio_suite_args(values: &[Value]) -> Spread<'_> {
    Spread(values)
}

struct Spread<'a>(&'a [Value]);

impl serde::Serialize for Spread<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for value in self.0 {
            tuple.serialize_element(value)?;
        }
        tuple.end()
    }
}
