//! Property tests of the codecs: whatever bytes arrive, decoding returns `Ok` or `Err` and
//! never panics; what the encoder writes, the decoder reads back the same.

use ferrio::protocol::{engine, packet};
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
        let values: Vec<Value> = raw.iter().map(|r| serde_json::from_str(r.get())).collect::<Result<_, _>>().map_err(|e| TestCaseError::fail(e.to_string()))?;
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
