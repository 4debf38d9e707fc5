//! Binary payloads (socket.io-client's binary tests in `test/connection.ts`): send, receive,
//! nested, several attachments, binary then text keep their order. The server's `describe`
//! handler shows real buffers as `{"$binary": "<hex>"}`, so a byte array sent as a JSON list of
//! numbers would be caught.

use bytes::Bytes;
use ferrio::Event;
use ferrio_suite::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Mixed {
    hello: String,
    message: Bytes,
    goodbye: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Inner {
    bytes: Bytes,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Nested {
    text: String,
    inner: Inner,
    list: (Bytes, String, Bytes),
}

transport_matrix!(
    receives_a_buffer,
    sends_a_buffer,
    sends_a_buffer_mixed_with_json,
    sends_several_attachments,
    receives_nested_buffers,
    binary_round_trip_through_an_ack,
    binary_then_text_keep_their_order_client_to_server,
    binary_then_text_keep_their_order_server_to_client,
    large_and_empty_buffers,
);

async fn receives_a_buffer(t: Transports) {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", t).await;
    let mut doge = events(&s, "doge");
    within(STEP, s.emit("doge", ())).await.expect("emit");
    let ev = doge.next(STEP).await;
    assert_eq!(ev.len(), 1);
    assert_eq!(
        ev.arg::<Bytes>(0).expect("bytes"),
        Bytes::from_static(b"asdfasdf")
    );
    s.disconnect();
    m.close();
}

async fn sends_a_buffer(t: Transports) {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", t).await;
    let d: Value = within(
        STEP,
        s.emit_with_ack("describe", Bytes::from_static(b"asdfasdf")),
    )
    .await
    .expect("describe");
    assert_eq!(d, json!([{"$binary": "6173646661736466"}]));
    s.disconnect();
    m.close();
}

async fn sends_a_buffer_mixed_with_json(t: Transports) {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", t).await;
    let mixed = Mixed {
        hello: "lol".into(),
        message: Bytes::from_static(b"howdy"),
        goodbye: "gotcha".into(),
    };
    let d: Value = within(STEP, s.emit_with_ack("describe", mixed))
        .await
        .expect("describe");
    assert_eq!(
        d,
        json!([{"hello": "lol", "message": {"$binary": "686f776479"}, "goodbye": "gotcha"}])
    );
    s.disconnect();
    m.close();
}

async fn sends_several_attachments(t: Transports) {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", t).await;
    let nested = Nested {
        text: "nested".into(),
        inner: Inner {
            bytes: Bytes::from_static(&[1, 2, 3]),
        },
        list: (Bytes::from_static(&[4, 5]), "x".into(), Bytes::new()),
    };
    let d: Value = within(
        STEP,
        s.emit_with_ack("describe", (Bytes::from_static(&[0xff]), nested, "plain")),
    )
    .await
    .expect("describe");
    assert_eq!(
        d,
        json!([
            {"$binary": "ff"},
            {"text": "nested", "inner": {"bytes": {"$binary": "010203"}}, "list": [{"$binary": "0405"}, "x", {"$binary": ""}]},
            "plain"
        ])
    );
    s.disconnect();
    m.close();
}

async fn receives_nested_buffers(t: Transports) {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", t).await;
    let mut data = events(&s, "binary-data");
    within(STEP, s.emit("getBinary", ())).await.expect("emit");
    let ev = data.next(STEP).await;
    assert_eq!(ev.len(), 3);
    let (top, nested, plain): (Bytes, Nested, String) = ev.args().expect("decoded");
    assert_eq!(top, Bytes::from_static(b"asdfasdf"));
    assert_eq!(nested.text, "nested");
    assert_eq!(nested.inner.bytes, Bytes::from_static(&[1, 2, 3]));
    assert_eq!(
        nested.list,
        (Bytes::from_static(&[4, 5]), "x".to_string(), Bytes::new())
    );
    assert_eq!(plain, "plain");
    // the same through an ack
    let (top, nested, plain): (Bytes, Nested, String) =
        within(STEP, s.emit_with_ack("getBinary", ()))
            .await
            .expect("ack");
    assert_eq!(top, Bytes::from_static(b"asdfasdf"));
    assert_eq!(nested.list.0, Bytes::from_static(&[4, 5]));
    assert_eq!(plain, "plain");
    s.disconnect();
    m.close();
}

async fn binary_round_trip_through_an_ack(t: Transports) {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", t).await;
    let sent = Mixed {
        hello: "h".into(),
        message: Bytes::from_static(&[0, 1, 2, 254, 255]),
        goodbye: "g".into(),
    };
    let (b, back): (Bytes, Mixed) = within(
        STEP,
        s.emit_with_ack("binary", (Bytes::from_static(b"\x00zero"), sent.clone())),
    )
    .await
    .expect("binary");
    assert_eq!(b, Bytes::from_static(b"\x00zero"));
    assert_eq!(back, sent);
    // and as an event
    let mut back_ev = events(&s, "binary-back");
    within(STEP, s.emit("binary", Bytes::from_static(&[9, 9])))
        .await
        .expect("emit");
    assert_eq!(
        back_ev.next(STEP).await.arg::<Bytes>(0).expect("bytes"),
        Bytes::from_static(&[9, 9])
    );
    s.disconnect();
    m.close();
}

async fn binary_then_text_keep_their_order_client_to_server(t: Transports) {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", t).await;
    within(STEP, s.emit("abuff1", Bytes::from_static(b"abuff1")))
        .await
        .expect("emit");
    within(STEP, s.emit("abuff2", "please arrive second"))
        .await
        .expect("emit");
    within(
        STEP,
        s.emit(
            "abuff3",
            (Bytes::from_static(&[3]), Bytes::from_static(&[3, 3])),
        ),
    )
    .await
    .expect("emit");
    within(STEP, s.emit("abuff4", "fourth"))
        .await
        .expect("emit");
    let stats = server::stats(&s).await;
    let received: Vec<Value> = stats["received"]
        .as_array()
        .expect("received")
        .iter()
        .filter(|r| r[0].as_str().is_some_and(|n| n.starts_with("abuff")))
        .cloned()
        .collect();
    assert_eq!(
        received,
        vec![
            json!(["abuff1", [{"$binary": "616275666631"}]]),
            json!(["abuff2", ["please arrive second"]]),
            json!(["abuff3", [{"$binary": "03"}, {"$binary": "0303"}]]),
            json!(["abuff4", ["fourth"]]),
        ]
    );
    s.disconnect();
    m.close();
}

async fn binary_then_text_keep_their_order_server_to_client(t: Transports) {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", t).await;
    let mut seq = events(&s, "seq");
    within(STEP, s.emit("emitBinaryThenText", ()))
        .await
        .expect("emit");
    let got: Vec<Event> = seq.take(4, STEP).await;
    let order: Vec<u32> = got.iter().map(|e| e.arg::<u32>(0).expect("n")).collect();
    assert_eq!(order, [1, 2, 3, 4]);
    assert_eq!(
        got[0].arg::<Bytes>(1).expect("bytes"),
        Bytes::from_static(&[1])
    );
    assert_eq!(got[1].arg::<String>(1).expect("text"), "text");
    #[derive(Deserialize)]
    struct B {
        b: Bytes,
    }
    assert_eq!(
        got[2].arg::<B>(1).expect("nested bytes").b,
        Bytes::from_static(&[3, 3])
    );
    assert_eq!(got[3].arg::<String>(1).expect("text"), "end");
    s.disconnect();
    m.close();
}

async fn large_and_empty_buffers(t: Transports) {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", t).await;
    let big: Bytes = (0..200_000u32)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into();
    let back: Bytes = within(STEP, s.emit_with_ack("ack", big.clone()))
        .await
        .expect("big");
    assert_eq!(back.len(), big.len());
    assert_eq!(back, big);
    let empty: Bytes = within(STEP, s.emit_with_ack("ack", Bytes::new()))
        .await
        .expect("empty");
    assert!(empty.is_empty());
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_can_ask_for_a_binary_ack() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    s.on("ask", |ev: Event| async move {
        let b: Bytes = ev.arg(0).unwrap_or_default();
        let mut v = b.to_vec();
        v.reverse();
        let _ = ev.ack((Bytes::from(v), "done")).await;
    });
    // the server sends a buffer and gets one back
    #[derive(Serialize)]
    struct Ask {
        timeout: u32,
        args: (Bytes,),
    }
    let ask = Ask {
        timeout: 3000,
        args: (Bytes::from_static(&[1, 2, 3]),),
    };
    let r: Value = within(STEP, s.emit_with_ack("askForAck", ask))
        .await
        .expect("askForAck");
    assert_eq!(
        r,
        json!({"ok": true, "answer": [{"$binary": "030201"}, "done"]})
    );
    s.disconnect();
    m.close();
}

/// socket.io's `forceBase64`: the client asks with `b64=1`, sends its attachments as
/// `b<base64>` text frames, and reads the server's the same way; both sides see real bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_base64_carries_binary_as_text_both_ways() {
    let peer = shared_peer().await;
    let m = builder(&peer.url(), Transports::WebsocketOnly)
        .force_base64(true)
        .build()
        .expect("manager");
    let (s, _up) = connect_watched(&m, "/").await;
    assert_eq!(server::handshake(&s).await["query"]["b64"], "1");
    let d: Value = within(
        STEP,
        s.emit_with_ack("describe", Bytes::from_static(&[0, 1, 2, 253, 254, 255])),
    )
    .await
    .expect("describe");
    assert_eq!(d, json!([{ "$binary": "000102fdfeff" }]));
    let (back,): (Bytes,) = within(
        STEP,
        s.emit_with_ack("binary", Bytes::from_static(b"\x00 base64 \xff")),
    )
    .await
    .expect("binary ack");
    assert_eq!(back, Bytes::from_static(b"\x00 base64 \xff"));
    let frames: Value = within(STEP, s.emit_with_ack("wsFrames", ()))
        .await
        .expect("wsFrames");
    assert_eq!(
        frames["binary"], 0,
        "no binary frame from the client: {frames}"
    );
    assert!(frames["text"].as_u64().unwrap_or(0) >= 4, "{frames}");
    s.disconnect();
    m.close();
}

/// Without `force_base64` the same attachments go as binary frames (the check above can
/// tell the two apart).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_go_as_binary_frames_by_default() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    let _: Value = within(STEP, s.emit_with_ack("describe", Bytes::from_static(&[7])))
        .await
        .expect("describe");
    let frames: Value = within(STEP, s.emit_with_ack("wsFrames", ()))
        .await
        .expect("wsFrames");
    assert_eq!(frames["binary"], 1, "{frames}");
    s.disconnect();
    m.close();
}
