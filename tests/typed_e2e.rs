//! `#[socketio_events]` end to end, against the official Node server (tests/peer/): every
//! event shape in both directions, binary fields, a payload of the wrong type, ack
//! timeouts, and a namespace with connection state recovery (where the server appends an
//! offset to every event).

use std::time::Duration;

use bytes::Bytes;
use ferrio::{Acked, Error, EventContract, Manager, PayloadError, Socket};
use ferrio_suite::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A point, acked back as it was sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Point {
    x: i32,
    y: i32,
    label: Option<String>,
}

/// A named byte buffer; the bytes travel as a binary attachment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Blob {
    name: String,
    #[schemars(with = "Vec<u8>")]
    data: Bytes,
}

/// The request of the peer's `emitN` handler.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EmitN {
    n: u32,
    event: String,
}

/// The request of the peer's `askForAck` handler: it emits `event` with `args`, asking for
/// an ack.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AskRequest {
    event: String,
    args: Vec<Value>,
}

impl AskRequest {
    fn new(event: &str, args: Vec<Value>) -> AskRequest {
        AskRequest {
            event: event.into(),
            args,
        }
    }
}

/// What the peer reports after `askForAck`: the ack's arguments it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AskResult {
    ok: bool,
    answer: Option<Vec<Value>>,
    error: Option<String>,
}

/// This client's answer to the peer's `ask`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Answer {
    text: String,
    doubled: u32,
}

/// The handlers of the reference server, typed.
#[ferrio::socketio_events(namespace = "/foo")]
pub trait Peer {
    /// `hi`: the server answers with `hi`, no arguments either way.
    #[emit]
    fn hi();
    /// The server's `hi`.
    #[on(name = "hi")]
    fn hi_back();
    /// `echo`: the server emits `echo-back` with the same arguments.
    #[emit]
    fn echo(text: String, n: u32, flags: Vec<bool>);
    /// The server's `echo-back`.
    #[on(name = "echo-back")]
    fn echo_back(text: String, n: u32, flags: Vec<bool>);
    /// `ack`: the server acks with the same arguments.
    #[emit(name = "ack")]
    fn bounce(point: Point) -> Point;
    /// `ackLater(ms)`: the server acks after `ms`, without a value.
    #[emit(name = "ackLater")]
    fn ack_later(ms: u32) -> Acked;
    /// `getId`: the server acks with the socket id.
    #[emit(name = "getId")]
    fn get_id() -> String;
    /// `noAck`: the server never acks.
    #[emit(name = "noAck")]
    fn no_ack() -> Acked;
    /// `binary`: the server emits `binary-back` with the same arguments, buffers as binary.
    #[emit]
    fn binary(blob: Blob);
    /// The server's `binary-back`.
    #[on(name = "binary-back")]
    fn binary_back(blob: Blob);
    /// `describe`: the server acks with the arguments, buffers shown as `{"$binary": hex}`.
    #[emit(name = "describe")]
    fn describe_blob(blob: Blob) -> Vec<Value>;
    /// `emitN`: the server emits `num` with 0..n.
    #[emit(name = "emitN")]
    fn request_nums(request: EmitN) -> u32;
    /// The server's numbers.
    #[on]
    fn num(i: u32);
    /// `askForAck`: the server emits an event asking for an ack, then reports the answer.
    #[emit(name = "askForAck")]
    fn ask_for_ack(request: AskRequest) -> AskResult;
    /// The server asks; the listener's output is the ack.
    #[on]
    fn ask(question: String, n: u32) -> Answer;
    /// The server asks for an empty ack.
    #[on(name = "askEmpty")]
    fn ask_empty() -> Acked;
    /// The server asks for an ack, answered through the stream's responder.
    #[on(name = "askStream")]
    fn quiz(n: u32) -> u32;
}

/// More events of the same namespace, in a second contract: wire names are unique per
/// direction within one trait, and `echo` with an ack is another shape than `echo` without.
#[ferrio::socketio_events(namespace = "/foo")]
pub trait PeerAcks {
    /// `echo` with an ack: the server acks with the same arguments; the first is the value.
    #[emit(name = "echo")]
    fn echo_acked(text: String, n: u32) -> String;
}

/// Acks of several values and Node's `(err, data)` convention, both ways (issue 11 item 3),
/// on the same reference handlers: `ack` and `ackLater` answer with the arguments they got.
#[ferrio::socketio_events(namespace = "/foo")]
pub trait MultiAcks {
    /// `ack`: the server acks with the same arguments: several values come back.
    #[emit(name = "ack")]
    fn pair(n: u32, text: String, point: Point) -> (u32, String, Point);
    /// `echo` with an ack, read Node-style: `(null, n)` is `Ok(n)`.
    #[emit(name = "echo")]
    fn node_ok(err: Option<String>, n: u32) -> Result<u32, String>;
    /// `ackLater(0, err)`: `(err)` is `Err(err)`.
    #[emit(name = "ackLater")]
    fn node_err(ms: u32, err: String) -> Result<u32, String>;
    /// `getBinary` with an ack: a buffer, a structure holding buffers, and a string.
    #[emit(name = "getBinary")]
    fn binary_values() -> (ferrio::Binary, Value, String);
    /// `askForAck`: the server emits an event asking for an ack, then reports the answer.
    #[emit(name = "askForAck")]
    fn ask_for_ack(request: AskRequest) -> AskResult;
    /// The server asks; the listener answers with two values.
    #[on]
    fn vote(question: String) -> (bool, String);
    /// The server asks; the listener answers Node-style.
    #[on]
    fn lookup(id: u32) -> Result<Point, String>;
    /// The server asks; answered through the stream's responder with two values.
    #[on(name = "voteStream")]
    fn vote_stream_event(question: String) -> (bool, u32);
}

#[tokio::test]
async fn acks_carry_several_values_and_the_node_convention() {
    let server = shared_peer().await;
    let manager = Manager::builder(server.url())
        .ack_timeout(STEP)
        .build()
        .expect("manager");
    let acks = MultiAcksSocket::builder(&manager).build();
    let point = Point {
        x: 1,
        y: -2,
        label: Some("p".into()),
    };
    acks.on_vote(|question| async move { (question.len() > 3, question.to_uppercase()) });
    acks.on_lookup(|id| async move {
        match id {
            0 => Err("no such id".to_owned()),
            id => Ok(Point {
                x: id as i32,
                y: 0,
                label: None,
            }),
        }
    });
    let mut votes = acks.vote_stream_event_stream();
    within(STEP, acks.socket().connect())
        .await
        .expect("connect");

    // client -> server: several values, in order and typed
    let (n, text, back) = within(STEP, acks.emit_pair(7, "seven".into(), point.clone()))
        .await
        .expect("pair");
    assert_eq!((n, text.as_str(), &back), (7, "seven", &point));

    // Node's convention: a null first argument is success, anything else the error
    let ok = within(STEP, acks.emit_node_ok(None, 42)).await.expect("ok");
    assert_eq!(ok, Ok(42));
    let err = within(STEP, acks.emit_node_err(0, "boom".into()))
        .await
        .expect("err");
    assert_eq!(err, Err("boom".to_owned()));
    // any error value of the declared type is the error, whatever the other arguments
    let wrong = within(STEP, acks.emit_node_ok(Some("e".into()), 1)).await;
    assert_eq!(wrong.expect("an error value"), Err("e".to_owned()));

    // binary among several values: each attachment lands in its argument
    let (buffer, nested, plain) = within(STEP, acks.emit_binary_values())
        .await
        .expect("binary values");
    assert_eq!(&buffer[..], b"asdfasdf");
    assert_eq!(nested["text"], "nested");
    assert_eq!(plain, "plain");

    // server -> client: the listener's tuple is the ack's argument list
    let result = within(
        STEP,
        acks.emit_ask_for_ack(AskRequest::new("vote", vec!["rust?".into()])),
    )
    .await
    .expect("ask vote");
    assert_eq!(
        result.answer,
        Some(vec![true.into(), "RUST?".into()]),
        "{result:?}"
    );

    // Node-style answers: `(null, data)` and `(err)`
    let result = within(
        STEP,
        acks.emit_ask_for_ack(AskRequest::new("lookup", vec![5.into()])),
    )
    .await
    .expect("ask lookup ok");
    assert_eq!(
        result.answer,
        Some(vec![
            Value::Null,
            serde_json::json!({"x": 5, "y": 0, "label": null})
        ]),
        "{result:?}"
    );
    let result = within(
        STEP,
        acks.emit_ask_for_ack(AskRequest::new("lookup", vec![0.into()])),
    )
    .await
    .expect("ask lookup err");
    assert_eq!(result.answer, Some(vec!["no such id".into()]), "{result:?}");

    // the stream form: the responder takes the declared tuple
    let asking = acks.clone();
    let ask = tokio::spawn(async move {
        asking
            .emit_ask_for_ack(AskRequest::new("voteStream", vec!["why".into()]))
            .await
    });
    let (question, responder) = within(STEP, votes.next()).await.expect("a stream item");
    assert_eq!(question, "why");
    responder.respond((false, 3)).await.expect("respond");
    let result = within(STEP, ask)
        .await
        .expect("the emit task")
        .expect("ask voteStream");
    assert_eq!(
        result.answer,
        Some(vec![false.into(), 3.into()]),
        "{result:?}"
    );

    // the contract says it too
    let contract = MultiAcks::describe(&mut schemars::SchemaGenerator::default());
    let kinds: Vec<&str> = contract.events.iter().map(|e| e.ack.kind()).collect();
    assert_eq!(
        kinds,
        ["values", "result", "result", "values", "value", "values", "result", "values"]
    );
    manager.close();
}

/// Typed streams are bounded and end when the socket is done (issue 11 item 8): a
/// disconnection that reconnects keeps them going, a client or server disconnect ends them
/// after the events already in them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_streams_end_when_the_socket_is_done() {
    let server = shared_peer().await;
    let (manager, peer) = typed(&server.url()).await;
    let request = |n| EmitN {
        n,
        event: "num".into(),
    };

    // the backlog: events the reader has not taken yet
    let mut nums = peer.num_stream();
    within(STEP, peer.emit_request_nums(request(3)))
        .await
        .expect("emitN");
    until(STEP, "three events in the stream", || nums.backlog() == 3).await;

    // the engine closes ("transport close"): the socket reconnects, the stream goes on
    let mut connects = inbox::<()>("connects");
    let tx = connects.sender();
    peer.on_connect(move || {
        let _ = tx.send(());
        async {}
    });
    peer.socket()
        .emit("closeEngine", ())
        .await
        .expect("closeEngine");
    connects.next(STEP * 2).await;
    within(STEP, peer.emit_request_nums(request(2)))
        .await
        .expect("emitN after the reconnection");
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(within(STEP, nums.next()).await.expect("an event"));
    }
    assert_eq!(got, [0, 1, 2, 0, 1]);

    // a client disconnect ends it, after what it holds
    within(STEP, peer.emit_request_nums(request(2)))
        .await
        .expect("emitN");
    until(STEP, "two events in the stream", || nums.backlog() == 2).await;
    within(STEP, peer.socket().disconnect()).await;
    assert_eq!(within(STEP, nums.next()).await, Some(0));
    assert_eq!(within(STEP, nums.next()).await, Some(1));
    assert_eq!(within(STEP, nums.next()).await, None, "ended");

    // a server-side disconnect ends the streams taken after connecting again
    within(STEP, peer.socket().connect())
        .await
        .expect("connect again");
    let mut nums = peer.num_stream();
    let mut asks = peer.quiz_stream();
    peer.socket()
        .emit("disconnectMe", ())
        .await
        .expect("disconnectMe");
    assert_eq!(within(STEP, nums.next()).await, None, "ended by the server");
    assert!(
        within(STEP, asks.next()).await.is_none(),
        "the ack stream too"
    );
    manager.close();
}

/// The stops that come with no `disconnect` of a reconnecting socket end typed streams too:
/// the connection lost with the reconnection off, `disconnect()` while the socket waits to
/// reconnect, and a refused `connect()`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_streams_end_at_every_stop() {
    let server = shared_peer().await;

    // the reconnection off: the engine closes, the socket stops, the stream ends
    let manager = Manager::builder(server.url())
        .reconnection(false)
        .build()
        .expect("manager");
    let peer = PeerSocket::builder(&manager).build();
    let mut nums = peer.num_stream();
    within(STEP, peer.socket().connect())
        .await
        .expect("connect");
    peer.socket()
        .emit("closeEngine", ())
        .await
        .expect("closeEngine");
    assert_eq!(within(STEP, nums.next()).await, None, "reconnection off");
    manager.close();

    // `disconnect()` while waiting to reconnect (a long delay: it is still waiting)
    let manager = Manager::builder(server.url())
        .reconnection_delay(Duration::from_secs(60))
        .reconnection_delay_max(Duration::from_secs(60))
        .build()
        .expect("manager");
    let peer = PeerSocket::builder(&manager).build();
    let mut nums = peer.num_stream();
    let mut disconnects = inbox::<ferrio::DisconnectReason>("disconnects");
    let tx = disconnects.sender();
    peer.on_disconnect(move |reason| {
        let _ = tx.send(reason);
        async {}
    });
    within(STEP, peer.socket().connect())
        .await
        .expect("connect");
    peer.socket()
        .emit("closeEngine", ())
        .await
        .expect("closeEngine");
    assert!(
        disconnects.next(STEP).await.reconnects(),
        "a reconnecting loss"
    );
    assert!(peer.socket().active(), "waiting to reconnect");
    within(STEP, peer.socket().disconnect()).await;
    assert_eq!(
        within(STEP, nums.next()).await,
        None,
        "disconnect() while reconnecting"
    );
    manager.close();

    // a refused connect
    let manager = Manager::builder(server.url()).build().expect("manager");
    let refused = RefusedSocket::builder(&manager).build();
    let mut nums = refused.never_stream();
    within(STEP, refused.socket().connect())
        .await
        .expect_err("/no refuses");
    assert_eq!(within(STEP, nums.next()).await, None, "refused");
    manager.close();
}

/// A manager for `url` with a short ack timeout, and the typed socket, connected.
async fn typed(url: &str) -> (Manager, PeerSocket) {
    let manager = Manager::builder(url)
        .ack_timeout(STEP)
        .build()
        .expect("manager");
    let peer = within_for(STEP, "the typed connect", PeerSocket::connect(&manager))
        .await
        .expect("connect /foo");
    (manager, peer)
}

/// An inbox fed by a typed listener.
fn payload_errors(peer: &PeerSocket) -> Inbox<PayloadError> {
    let errors = inbox("payload errors");
    let tx = errors.sender();
    peer.on_payload_error(move |error| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(error);
        }
    });
    errors
}

#[tokio::test]
async fn emits_and_listens_with_the_declared_types() {
    let server = shared_peer().await;
    let (manager, peer) = typed(&server.url()).await;
    assert_eq!(peer.socket().namespace(), "/foo");
    assert_eq!(PeerSocket::NAMESPACE, "/foo");

    // no arguments, both ways
    let mut hi = inbox::<()>("hi");
    let tx = hi.sender();
    peer.on_hi_back(move || {
        let tx = tx.clone();
        async move {
            let _ = tx.send(());
        }
    });
    within(STEP, peer.emit_hi()).await.expect("emit hi");
    hi.next(STEP).await;

    // several arguments, both ways, as separate listener parameters
    let mut echoed = inbox::<(String, u32, Vec<bool>)>("echo-back");
    let tx = echoed.sender();
    peer.on_echo_back(move |text, n, flags| {
        let tx = tx.clone();
        async move {
            let _ = tx.send((text, n, flags));
        }
    });
    within(STEP, peer.emit_echo("héllo".into(), 42, vec![true, false]))
        .await
        .expect("emit echo");
    assert_eq!(
        echoed.next(STEP).await,
        ("héllo".to_owned(), 42, vec![true, false])
    );

    // the same event as a stream: items are the argument tuple
    let mut stream = peer.echo_back_stream();
    within(STEP, peer.emit_echo("again".into(), 7, vec![]))
        .await
        .expect("emit echo");
    let item = within(STEP, stream.next()).await.expect("a stream item");
    assert_eq!(item, ("again".to_owned(), 7, vec![]));
    assert_eq!(echoed.next(STEP).await.1, 7, "the listener still runs too");
    drop(stream);

    manager.close();
}

#[tokio::test]
async fn acks_with_a_value_and_without() {
    let server = shared_peer().await;
    let (manager, peer) = typed(&server.url()).await;

    let point = Point {
        x: -3,
        y: 4,
        label: Some("p".into()),
    };
    let back = within(STEP, peer.emit_bounce(point.clone()))
        .await
        .expect("ack with a value");
    assert_eq!(back, point);

    let Acked = within(STEP, peer.emit_ack_later(10))
        .await
        .expect("empty ack");

    // several arguments and an ack, through a second contract over the same socket
    let acks = PeerAcksSocket::from_socket(peer.socket().clone());
    let text = within(STEP, acks.emit_echo_acked("first".into(), 2))
        .await
        .expect("echo with an ack");
    assert_eq!(text, "first");

    let id = within(STEP, peer.emit_get_id()).await.expect("getId");
    assert_eq!(Some(id), peer.socket().id());

    // timeout() gives a copy whose emits give up after the deadline
    let outcome = within(STEP, peer.timeout(Duration::from_millis(200)).emit_no_ack()).await;
    assert!(matches!(outcome, Err(Error::Timeout)), "{outcome:?}");

    // volatile() while connected: delivered as usual
    let n = within(
        STEP,
        peer.volatile().emit_request_nums(EmitN {
            n: 0,
            event: "num".into(),
        }),
    )
    .await
    .expect("volatile emit with ack");
    assert_eq!(n, 0);

    manager.close();
}

#[tokio::test]
async fn server_pushes_and_asks_for_acks() {
    let server = shared_peer().await;
    let (manager, peer) = typed(&server.url()).await;

    // server push: `num` with 0..5
    let mut nums = inbox::<u32>("num");
    let tx = nums.sender();
    peer.on_num(move |i| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(i);
        }
    });
    let count = within(
        STEP,
        peer.emit_request_nums(EmitN {
            n: 5,
            event: "num".into(),
        }),
    )
    .await
    .expect("emitN");
    assert_eq!(count, 5);
    assert_eq!(nums.take(5, STEP).await, vec![0, 1, 2, 3, 4]);

    // the server asks, the listener's output is the ack's value
    peer.on_ask(|question, n| async move {
        Answer {
            text: question.to_uppercase(),
            doubled: n * 2,
        }
    });
    let result = within(
        STEP,
        peer.emit_ask_for_ack(AskRequest::new("ask", vec!["why".into(), 21.into()])),
    )
    .await
    .expect("askForAck");
    assert_eq!(
        result.answer,
        Some(vec![serde_json::json!({"text": "WHY", "doubled": 42})]),
        "{result:?}"
    );

    // an empty ack: the server's callback gets no argument at all
    peer.on_ask_empty(|| async { Acked });
    let result = within(
        STEP,
        peer.emit_ask_for_ack(AskRequest::new("askEmpty", vec![])),
    )
    .await
    .expect("askForAck empty");
    assert_eq!(result.answer, Some(vec![]), "{result:?}");

    // the stream form: the item carries the responder
    let mut asks = peer.quiz_stream();
    let asking = peer.clone();
    let ask = tokio::spawn(async move {
        asking
            .emit_ask_for_ack(AskRequest::new("askStream", vec![5.into()]))
            .await
    });
    let (n, responder) = within(STEP, asks.next()).await.expect("a stream item");
    assert_eq!(n, 5);
    responder.respond(n + 1).await.expect("respond");
    let result = within(STEP, ask)
        .await
        .expect("the emit task")
        .expect("askForAck stream");
    assert_eq!(result.answer, Some(vec![6.into()]), "{result:?}");

    manager.close();
}

#[tokio::test]
async fn binary_fields_travel_as_attachments() {
    let server = shared_peer().await;
    let (manager, peer) = typed(&server.url()).await;
    let blob = Blob {
        name: "pixels".into(),
        data: Bytes::from_static(&[0, 1, 2, 254, 255]),
    };

    // the server sees real binary, not an array of numbers
    let described = within(STEP, peer.emit_describe_blob(blob.clone()))
        .await
        .expect("describe");
    assert_eq!(
        described,
        vec![serde_json::json!({"name": "pixels", "data": {"$binary": "000102feff"}})]
    );

    // and sends it back as binary, into the declared type
    let mut back = inbox::<Blob>("binary-back");
    let tx = back.sender();
    peer.on_binary_back(move |blob| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(blob);
        }
    });
    within(STEP, peer.emit_binary(blob.clone()))
        .await
        .expect("emit binary");
    assert_eq!(back.next(STEP).await, blob);

    manager.close();
}

#[tokio::test]
async fn a_wrong_payload_is_reported_and_the_connection_goes_on() {
    let server = shared_peer().await;
    let (manager, peer) = typed(&server.url()).await;
    let mut errors = payload_errors(&peer);
    let mut echoed = inbox::<(String, u32, Vec<bool>)>("echo-back");
    let tx = echoed.sender();
    peer.on_echo_back(move |text, n, flags| {
        let tx = tx.clone();
        async move {
            let _ = tx.send((text, n, flags));
        }
    });
    let mut stream = peer.echo_back_stream();

    // the server echoes what the untyped socket sends: a string where a number is declared
    let untyped: &Socket = peer.socket();
    within(STEP, untyped.emit("echo", ("text", "not a number", [true])))
        .await
        .expect("untyped emit");
    let error = errors.next(STEP).await;
    assert_eq!(error.event, "echo-back");
    assert!(error.error.contains("not a number"), "{error:?}");
    // one report per listener that could not decode it (the listener and the stream)
    let second = errors.next(STEP).await;
    assert_eq!(second.event, "echo-back");

    // nothing reached the typed listener or the stream, and the connection is intact
    assert!(peer.socket().connected());
    within(STEP, peer.emit_echo("fine".into(), 1, vec![true]))
        .await
        .expect("emit echo");
    assert_eq!(
        echoed.next(STEP).await,
        ("fine".to_owned(), 1, vec![true]),
        "the wrong payload never reached the listener"
    );
    let item = within(STEP, stream.next()).await.expect("a stream item");
    assert_eq!(item.0, "fine");
    errors.assert_quiet(Duration::from_millis(100)).await;

    manager.close();
}

#[tokio::test]
async fn recovery_offsets_never_reach_typed_listeners() {
    // With connection state recovery, the server appends the offset as one more argument
    // to every event it emits without an ack.
    let server = NodePeer::start(PeerOptions::new().recovery(true)).await;
    let (manager, peer) = typed(&server.url()).await;
    let mut errors = payload_errors(&peer);

    let mut raw = events(peer.socket(), "echo-back");
    let mut echoed = inbox::<(String, u32, Vec<bool>)>("echo-back");
    let tx = echoed.sender();
    peer.on_echo_back(move |text, n, flags| {
        let tx = tx.clone();
        async move {
            let _ = tx.send((text, n, flags));
        }
    });
    let mut hi = inbox::<()>("hi");
    let tx = hi.sender();
    peer.on_hi_back(move || {
        let tx = tx.clone();
        async move {
            let _ = tx.send(());
        }
    });
    let mut nums = peer.num_stream();

    within(STEP, peer.emit_echo("r".into(), 9, vec![false]))
        .await
        .expect("emit echo");
    assert_eq!(echoed.next(STEP).await, ("r".to_owned(), 9, vec![false]));
    let event = raw.next(STEP).await;
    assert_eq!(event.len(), 4, "the server appended its offset: {event:?}");
    assert!(event.arg::<String>(3).is_ok(), "{event:?}");

    within(STEP, peer.emit_hi()).await.expect("emit hi");
    hi.next(STEP).await;

    within(
        STEP,
        peer.emit_request_nums(EmitN {
            n: 3,
            event: "num".into(),
        }),
    )
    .await
    .expect("emitN");
    for expected in 0..3 {
        assert_eq!(within(STEP, nums.next()).await, Some(expected));
    }
    errors.assert_quiet(Duration::from_millis(100)).await;

    manager.close();
}

#[test]
fn the_marker_describes_the_contract() {
    let mut generator = schemars::SchemaGenerator::default();
    let contract = Peer::describe(&mut generator);
    assert_eq!(contract.name, "Peer");
    assert_eq!(contract.namespace, "/foo");
    assert_eq!(
        contract.docs,
        "The handlers of the reference server, typed."
    );
    let echo_back = contract
        .events
        .iter()
        .find(|e| e.rust_name == "echo_back")
        .expect("echo_back");
    assert_eq!(echo_back.wire_name, "echo-back");
    assert_eq!(echo_back.direction, ferrio::schema::Direction::On);
    let names: Vec<&str> = echo_back.args.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["text", "n", "flags"]);
    assert_eq!(contract.events.len(), 17);
}

/// A namespace the peer refuses in its middleware.
#[ferrio::socketio_events(namespace = "/no")]
pub trait Refused {
    /// Never comes.
    #[on]
    fn never(n: u32);
}

/// Issue 11, item 2: the typed socket does what the untyped one does — a builder (async auth,
/// ack timeout, retries), lifecycle listeners, `once_`, removing one typed listener, the
/// `retries` copy — without going through `.socket()`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typed_socket_is_complete() {
    let peer = shared_peer().await;
    let manager = Manager::new(peer.url()).expect("manager");
    let typed = PeerSocket::builder(&manager)
        .auth_fn(|| async { serde_json::json!({ "token": "typed" }) })
        .ack_timeout(Duration::from_millis(300))
        .retries(1)
        .build();
    let connects = inbox::<()>("typed connects");
    let tx = connects.sender();
    typed.on_connect(move || {
        let tx = tx.clone();
        async move {
            let _ = tx.send(());
        }
    });
    let disconnects = inbox::<ferrio::DisconnectReason>("typed disconnects");
    let tx = disconnects.sender();
    typed.on_disconnect(move |reason| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(reason);
        }
    });
    let (every, once) = (inbox::<u32>("on_num"), inbox::<u32>("once_num"));
    let (every_tx, once_tx) = (every.sender(), once.sender());
    let every_id = typed.on_num(move |i| {
        let tx = every_tx.clone();
        async move {
            let _ = tx.send(i);
        }
    });
    typed.once_num(move |i| {
        let tx = once_tx.clone();
        async move {
            let _ = tx.send(i);
        }
    });
    within(STEP, typed.socket().connect())
        .await
        .expect("connect");
    let (mut connects, mut every, mut once) = (connects, every, once);
    connects.next(STEP).await;
    let hs: Value = server::handshake(typed.socket()).await;
    assert_eq!(
        hs["auth"]["token"], "typed",
        "the async auth reached the server"
    );

    let request = || EmitN {
        n: 3,
        event: "num".into(),
    };
    within(STEP, typed.emit_request_nums(request()))
        .await
        .expect("emitN");
    assert_eq!(every.take(3, STEP).await, [0, 1, 2]);
    assert_eq!(once.next(STEP).await, 0);
    once.assert_quiet(Duration::from_millis(200)).await;

    typed.off(every_id);
    within(STEP, typed.emit_request_nums(request()))
        .await
        .expect("emitN");
    every.assert_quiet(Duration::from_millis(300)).await;

    // The builder's ack timeout and retries: the server gets `noAck` twice, then the emit
    // times out; the `retries` copy overrides it (once more, no retry).
    let tries = || async { server::stats(typed.socket()).await["events"]["noAck"].as_u64() };
    let outcome = within(STEP, typed.emit_no_ack()).await;
    assert!(matches!(outcome, Err(Error::Timeout)), "{outcome:?}");
    assert_eq!(tries().await, Some(2), "the first try and one retry");
    let outcome = within(STEP, typed.retries(0).emit_no_ack()).await;
    assert!(matches!(outcome, Err(Error::Timeout)), "{outcome:?}");
    assert_eq!(tries().await, Some(3), "no retry");

    typed.socket().disconnect();
    let mut disconnects = disconnects;
    assert_eq!(
        disconnects.next(STEP).await,
        ferrio::DisconnectReason::IoClientDisconnect
    );

    let refused = RefusedSocket::build(&manager);
    let errors = inbox::<ferrio::ConnectError>("typed connect errors");
    let tx = errors.sender();
    refused.on_connect_error(move |error| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(error);
        }
    });
    let outcome = within(STEP, refused.socket().connect()).await;
    assert!(
        matches!(outcome, Err(Error::ConnectError(_))),
        "{outcome:?}"
    );
    let mut errors = errors;
    errors.next(STEP).await;
    within(STEP, manager.close()).await;
}

/// A payload with `ferrio::Binary`: binary everywhere, no recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Upload {
    name: String,
    data: ferrio::Binary,
}

/// Uploads through the peer's `binary` (sent back as `binary-back`, buffers as buffers) and
/// `echo` (sent back as `echo-back`, the same JSON).
#[ferrio::socketio_events(namespace = "/foo")]
pub trait Uploads {
    /// `binary`: the server emits `binary-back` with the same arguments.
    #[emit(name = "binary")]
    fn upload(upload: Upload);
    /// The server's `binary-back`.
    #[on(name = "binary-back")]
    fn uploaded(upload: Upload);
    /// `echo`, with JSON where the contract says binary.
    #[emit(name = "echo")]
    fn upload_as_json(upload: Value);
    /// The server's `echo-back`.
    #[on(name = "echo-back")]
    fn echoed(upload: Upload);
}

/// Issue 11, item 6: `ferrio::Binary` goes as an attachment and comes back as one; a number
/// array where the contract declares binary is a payload error, not bytes; the export says
/// binary (`format: binary`; `ArrayBuffer | ArrayBufferView` in TypeScript).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_is_binary_everywhere() {
    let peer = shared_peer().await;
    let manager = Manager::new(peer.url()).expect("manager");
    let uploads = UploadsSocket::build(&manager);
    let back = inbox::<Upload>("uploads back");
    let tx = back.sender();
    uploads.on_uploaded(move |upload| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(upload);
        }
    });
    let echoed = inbox::<Upload>("echoed as JSON");
    let tx = echoed.sender();
    uploads.on_echoed(move |upload| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(upload);
        }
    });
    let errors = inbox::<PayloadError>("payload errors");
    let tx = errors.sender();
    uploads.on_payload_error(move |error| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(error);
        }
    });
    within(STEP, uploads.socket().connect())
        .await
        .expect("connect");
    let sent = Upload {
        name: "a.bin".into(),
        data: vec![0u8, 1, 2, 255].into(),
    };
    within(STEP, uploads.emit_upload(sent.clone()))
        .await
        .expect("upload");
    let (mut back, mut echoed, mut errors) = (back, echoed, errors);
    assert_eq!(back.next(STEP).await, sent);
    within(
        STEP,
        uploads.emit_upload_as_json(serde_json::json!({ "name": "a.bin", "data": [0, 1, 2, 255] })),
    )
    .await
    .expect("emit");
    let error = errors.next(STEP).await;
    assert_eq!(error.event, "echo-back");
    assert!(error.error.contains("binary attachment"), "{}", error.error);
    echoed.assert_quiet(Duration::from_millis(200)).await;

    let exporter = ferrio::schema::Exporter::new().contract::<Uploads>();
    let options = ferrio::schema::ExportOptions::default();
    let typescript = exporter.typescript(&options);
    assert!(
        typescript.contains("ArrayBuffer | ArrayBufferView"),
        "{typescript}"
    );
    let asyncapi = exporter.asyncapi(&options);
    assert!(asyncapi.contains("\"binary\""), "{asyncapi}");
    within(STEP, manager.close()).await;
}
