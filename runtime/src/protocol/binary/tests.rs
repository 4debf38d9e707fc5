//! Tests of the whole module through its public functions: round trips, the exact JSON
//! written, the spreading rule both ways, placeholder validation, and property tests against
//! `serde_json`.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::placeholder::PLACEHOLDER_KEY;
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
            from_json::<Upload>(&format!(r#"{{"name":"x","data":{text}}}"#), &att).expect_err(text),
            from_args::<(u8, Bytes)>(&["1", text], &att).expect_err(text),
            check_placeholders(&format!(r#"{{"a":[{text}]}}"#), 1).expect_err(text),
        ];
        for err in errors {
            let ok = match &err {
                DecodeError::PlaceholderOutOfRange { attachments: 1, .. } => what == "out of range",
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
    assert!(from_json::<BTreeMap<u8, u8>>(r#"{"x":1,"a":{"_placeholder":true}}"#, &att).is_err());
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
            o.get(PLACEHOLDER_KEY) == Some(&Value::Bool(true)) || o.values().any(has_placeholder)
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

    /// Strings and keys take a shortcut when nothing in them needs an escape.
    #[test]
    fn prop_strings_as_serde_json_writes_them(s in "\\PC{0,16}|[\\x00-\\x1f\"\\\\/a\u{7f}é]{0,8}") {
        prop_assert_eq!(to_json(&s), (serde_json::to_string(&s).expect("serializes"), vec![]));
        let map = std::collections::BTreeMap::from([(s.clone(), s.clone())]);
        prop_assert_eq!(to_json(&map), (serde_json::to_string(&map).expect("serializes"), vec![]));
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
