//! The msgpack codec against bytes notepack.io 2.2 (the parser's library) wrote, printed by
//! `require("notepack.io").encode(...)` in `tests/peer`.

use super::*;

fn hex(s: &str) -> Bytes {
    let digits: Vec<u8> = s
        .as_bytes()
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap_or("zz"), 16).unwrap_or(0))
        .collect();
    Bytes::from(digits)
}

fn decoded(s: &str) -> Decoded {
    match decode(&hex(s)) {
        Ok(decoded) => decoded,
        Err(e) => panic!("{s}: {e}"),
    }
}

/// `{type:2, data:["hello","world",42], nsp:"/"}`
const HELLO: &str = "83a47479706502a46461746193a568656c6c6fa5776f726c642aa36e7370a12f";
/// `{type:2, data:["file", Buffer[1,2,3], {a:[Buffer[4]], b:-5, c:1.5, d:null, e:true}],
/// nsp:"/admin", id:7}`
const FILE: &str = "84a47479706502a46461746193a466696c65c40301020385a16191c40104a162fba163cb3ff8000000000000a164c0a165c3a36e7370a62f61646d696ea2696407";
/// `{type:0, data:{sid:"abc"}, nsp:"/"}`
const CONNECT: &str = "83a47479706500a46461746181a3736964a3616263a36e7370a12f";
/// `{type:4, data:{message:"no", data:{x:1}}, nsp:"/x"}`
const REFUSED: &str =
    "83a47479706504a46461746182a76d657373616765a26e6fa46461746181a17801a36e7370a22f78";
/// `{type:2, data:["d", new Date(Date.UTC(2024,1,29,12,34,56,789)), undefined,
/// {u:undefined, k:1}, NaN, new Uint8Array([9,8]).buffer], nsp:"/"}`
const ODD_VALUES: &str = "83a47479706502a46461746196a164d7000000018df4dc5495d4000082a175d40000a16b01cb7ff8000000000000c702000908a36e7370a12f";

#[test]
fn decodes_what_the_parser_sends() {
    assert_eq!(decoded(HELLO).text, r#"42["hello","world",42]"#);
    assert_eq!(decoded(CONNECT).text, r#"40{"sid":"abc"}"#);
    assert_eq!(
        decoded(REFUSED).text,
        r#"44/x,{"message":"no","data":{"x":1}}"#
    );
    let file = decoded(FILE);
    assert_eq!(
        file.text,
        r#"452-/admin,7["file",{"_placeholder":true,"num":0},{"a":[{"_placeholder":true,"num":1}],"b":-5,"c":1.5,"d":null,"e":true}]"#
    );
    assert_eq!(
        file.attachments,
        [Bytes::from_static(&[1, 2, 3]), Bytes::from_static(&[4])]
    );
    // What the default parser's JSON would carry: the Date's ISO text, `undefined` as
    // null in an array and left out of an object, NaN as null; an ArrayBuffer is binary.
    let odd = decoded(ODD_VALUES);
    assert_eq!(
        odd.text,
        r#"451-["d","2024-02-29T12:34:56.789Z",null,{"k":1},null,{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(odd.attachments, [Bytes::from_static(&[9, 8])]);
    // Every decoded text is a packet the default decoder takes.
    for frame in [HELLO, FILE, CONNECT, REFUSED, ODD_VALUES] {
        let text = decoded(frame).text;
        assert!(packet::decode(&text[1..]).is_ok(), "{text}");
    }
}

#[test]
fn encodes_as_the_parser_does() {
    let Ok(event) = packet::encode_event("/", "hello", &("world", 42), None) else {
        panic!()
    };
    assert_eq!(
        encode(&event.text, &event.attachments).ok(),
        Some(hex(HELLO).to_vec())
    );
    let Ok(binary) = packet::encode_event(
        "/admin",
        "file",
        &(
            Bytes::from_static(&[1, 2, 3]),
            serde_json::json!({"a": [null], "b": -5, "c": 1.5, "d": null, "e": true}),
        ),
        Some(7),
    ) else {
        panic!()
    };
    let Ok(frame) = encode(&binary.text, &binary.attachments) else {
        panic!()
    };
    // `a` holds null here (json! has no bytes): the rest is the parser's frame byte for byte.
    let expected = FILE.replace("a16191c40104", "a16191c0");
    assert_eq!(Bytes::from(frame), hex(&expected));
    assert_eq!(
        encode(
            &packet::encode_connect("/", Some(&serde_json::json!({"sid": "abc"}))),
            &[]
        )
        .ok(),
        Some(hex(CONNECT).to_vec())
    );
}

#[test]
fn round_trips_nested_binary_and_acks() {
    let data = Bytes::from(vec![7u8; 300]);
    let value = (
        "x",
        vec![data.clone(), Bytes::new()],
        serde_json::json!({"deep": [[[{"n": u64::MAX, "m": i64::MIN, "s": "é\"\\"}]]]}),
    );
    let Ok(event) = packet::encode_event("/nsp", "many", &value, Some(u64::from(u32::MAX) + 1))
    else {
        panic!()
    };
    let Ok(frame) = encode(&event.text, &event.attachments) else {
        panic!()
    };
    let back = decoded(&frame.iter().map(|b| format!("{b:02x}")).collect::<String>());
    assert_eq!(back.text, event.text);
    assert_eq!(back.attachments, event.attachments);

    let Ok(ack) = packet::encode_ack("/", 3, &(data.clone(),)) else {
        panic!()
    };
    let Ok(frame) = encode(&ack.text, &ack.attachments) else {
        panic!()
    };
    let back = decode(&Bytes::from(frame)).ok();
    assert_eq!(
        back.map(|d| (d.text, d.attachments)),
        Some((ack.text, ack.attachments))
    );

    let Ok(frame) = encode(&packet::encode_disconnect("/a"), &[]) else {
        panic!()
    };
    assert_eq!(
        decode(&Bytes::from(frame)).ok().map(|d| d.text),
        Some("41/a,".into())
    );
}

#[test]
fn a_literal_placeholder_stays_data_without_attachments() {
    let literal = serde_json::json!({"_placeholder": true, "num": 0});
    let Ok(event) = packet::encode_event("/", "e", &literal, None) else {
        panic!()
    };
    let Ok(frame) = encode(&event.text, &event.attachments) else {
        panic!()
    };
    let back = decode(&Bytes::from(frame)).ok();
    assert_eq!(
        back.map(|d| (d.text, d.attachments.len())),
        Some((event.text, 0))
    );
}

#[test]
fn values_as_json_carries_them() {
    // Dates at the edges of JavaScript's range, and before year 0.
    for (ms, text) in [
        (0, r#""1970-01-01T00:00:00.000Z""#),
        (-1, r#""1969-12-31T23:59:59.999Z""#),
        (-62_198_755_200_000, r#""-000001-01-01T00:00:00.000Z""#),
        (8_640_000_000_000_000, r#""+275760-09-13T00:00:00.000Z""#),
        (8_640_000_000_000_001, "null"),
    ] {
        let mut out = Vec::new();
        write_date(&mut out, ms);
        assert_eq!(String::from_utf8(out).ok().as_deref(), Some(text), "{ms}");
    }
    for (f, text) in [
        (2.0, "2"),
        (-0.0, "0"),
        (0.25, "0.25"),
        (f64::INFINITY, "null"),
        (1e300, "1e+300"),
    ] {
        let mut out = Vec::new();
        write_float(&mut out, f);
        assert_eq!(String::from_utf8(out).ok().as_deref(), Some(text), "{f}");
    }
    // float 32, an integer key, another ext type, a Buffer in CONNECT_ERROR data (the
    // default parser writes it with JSON.stringify).
    let frame = "83a47479706502a46461746193a165ca3fc000008101d5050102a36e7370a12f";
    assert_eq!(
        decoded(frame).text,
        r#"451-["e",1.5,{"1":[5,{"_placeholder":true,"num":0}]}]"#
    );
    let refused = "83a47479706504a46461746181a178c4020102a36e7370a12f";
    assert_eq!(
        decoded(refused).text,
        r#"44{"x":{"type":"Buffer","data":[1,2]}}"#
    );
}

#[test]
fn rejects_what_the_parser_rejects() {
    let deep = format!(
        "83a474797065 02 a464617461 {} a36e7370a12f",
        "91".repeat(200)
    )
    .replace(' ', "");
    let cases = [
        ("", "empty"),
        ("c1", "reserved byte"),
        ("93010203", "not a map"),
        ("82a47479706502a46461746191a165", "no namespace"),
        (
            "83a47479706505a46461746191a165a36e7370a12f",
            "type 5 (no binary types)",
        ),
        (
            "83a474797065a132a46461746191a165a36e7370a12f",
            "type a string",
        ),
        (
            "83a47479706502a46461746191a165a36e7370 01",
            "namespace a number",
        ),
        (
            "83a47479706502a46461746191a165a36e7370a161",
            "namespace without /",
        ),
        (
            "83a47479706502a46461746191a165a36e7370a32f612c",
            "namespace with a comma",
        ),
        ("82a47479706502a36e7370a12f", "EVENT without data"),
        ("83a47479706502a46461746180a36e7370a12f", "EVENT data a map"),
        (
            "83a47479706501a46461746190a36e7370a12f",
            "DISCONNECT with data",
        ),
        (
            "83a47479706500a46461746190a36e7370a12f",
            "CONNECT data an array",
        ),
        (
            "83a47479706504a46461746190a36e7370a12f",
            "CONNECT_ERROR data an array",
        ),
        (
            "84a47479706502a46461746191a165a36e7370a12fa2696401a1",
            "truncated",
        ),
        (
            "84a47479706503a46461746190a36e7370a12fa26964a178",
            "id a string",
        ),
        (
            "84a47479706503a46461746190a36e7370a12fa26964ff",
            "id negative",
        ),
        (
            "83a47479706502a46461746191a165a36e7370a12f00",
            "trailing byte",
        ),
        (
            "83a47479706502a46461746191dd7fffffffa36e7370a12f",
            "array longer than the frame",
        ),
        (
            "83a47479706502a46461746192a16581910101a36e7370a12f",
            "map key an array",
        ),
        (deep.as_str(), "nested too deep"),
    ];
    for (frame, why) in cases {
        let frame = frame.replace(' ', "");
        assert!(
            matches!(decode(&hex(&frame)), Err(ProtocolError::MsgPack(_))),
            "{why}: {frame} was accepted"
        );
    }
    // Shapes the msgpack checks let through but the default decoder refuses stay errors.
    let nameless = decoded("83a47479706502a46461746190a36e7370a12f");
    assert!(packet::decode(&nameless.text[1..]).is_err());
    let ack_without_id = decoded("83a47479706503a46461746190a36e7370a12f");
    assert!(packet::decode(&ack_without_id.text[1..]).is_err());
}
