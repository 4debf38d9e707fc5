//! The zod-sockets dialect end to end: the AsyncAPI document zod-sockets' documentation
//! generator writes for a zod contract (`tests/zod-server/contract.js`: two namespaces, acks
//! with a value, an empty ack, an ack whose value is a union, the server asking the client for
//! an ack, optional and nullable fields, enums, a discriminated union, records, arrays, dates)
//! is imported into Rust (`tests/contract_zod/shop.rs`, committed and compiled here with
//! `#[deny(warnings)]`), and a typed ferrio client built from that import talks to the
//! zod-sockets server running the contract, over every event shape, on the three transport
//! modes. zod-sockets validates every payload with zod, so a payload the import got wrong
//! fails the server's validation and the test.
//!
//! After a change to the contract or the importer, rewrite the import with
//!
//! ```sh
//! FERRIO_BLESS=1 cargo test --test contract_zod the_zod_sockets_documentation
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ferrio::Acked;
use ferrio_schema::import::{import, ImportOptions};
use ferrio_suite::zod::{documentation, ZodServer};
use ferrio_suite::{builder, inbox, transport_matrix, within_for, Transports, STEP};

// The import of zod-sockets' documentation, with every warning an error.
#[deny(warnings)]
#[path = "contract_zod/shop.rs"]
pub mod shop;

use shop::{
    MainEventsSocket, OrderAck, OrderPayload, OrderPayloadPriority, ShapeAck, ShapePayload,
    ShopEventsSocket,
};

fn committed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/contract_zod/shop.rs")
}

#[tokio::test]
async fn the_zod_sockets_documentation_imports_as_committed() {
    let yaml = documentation().await;
    assert!(yaml.starts_with("asyncapi: 3.0.0"), "{yaml}");
    let options = ImportOptions {
        source: Some("zod-sockets documentation".into()),
        ..ImportOptions::default()
    };
    let rust = import(&yaml, &options).unwrap_or_else(|error| panic!("import failed: {error}"));
    let path = committed();
    if std::env::var_os("FERRIO_BLESS").is_some() {
        std::fs::write(&path, &rust).expect("write the import");
    }
    let found = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        found == rust,
        "{} is not what the importer writes from zod-sockets' documentation now; rewrite it with \
         `FERRIO_BLESS=1 cargo test --test contract_zod the_zod_sockets_documentation` and review \
         the change",
        path.display()
    );
    let rustfmt = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    let output = std::process::Command::new(rustfmt)
        .args(["--edition", "2021", "--check"])
        .arg(&path)
        .output()
        .expect("run rustfmt");
    assert!(
        output.status.success(),
        "rustfmt would change the import:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

/// What the client's listeners heard.
#[derive(Debug, PartialEq)]
enum Heard {
    Notice(String, i64),
    Question(String),
    Answered(bool, String),
    Prices(BTreeMap<String, f64>),
}

fn order(note: Option<&str>, gift: Option<&str>) -> OrderPayload {
    OrderPayload {
        item: "apple".into(),
        quantity: 4,
        gift: gift.map(str::to_owned),
        priority: OrderPayloadPriority::High,
        tags: vec!["fruit".into(), "red".into()],
        extras: BTreeMap::from([("bag".into(), 0.25), ("box".into(), 1.0)]),
        note: note.map(str::to_owned),
    }
}

async fn every_event_shape(t: Transports) {
    let server = ZodServer::start().await;
    let manager = builder(&server.url(), t)
        .ack_timeout(STEP)
        .build()
        .expect("build the manager");
    let mut heard = inbox::<Heard>(format!("what the client heard over {t:?}"));
    let payload_errors = Arc::new(Mutex::new(Vec::<String>::new()));

    let main = MainEventsSocket::build(&manager);
    let out = heard.sender();
    main.on_notice(move |text, length| {
        let _ = out.send(Heard::Notice(text, length));
        async {}
    });
    let out = heard.sender();
    main.on_question(move |question| {
        let _ = out.send(Heard::Question(question.clone()));
        // one ack argument (the outer tuple) holding the 1-tuple zod-sockets validates
        async move { ((question.ends_with('?'),),) }
    });
    let out = heard.sender();
    main.on_answered(move |answer, at| {
        let _ = out.send(Heard::Answered(answer, at));
        async {}
    });
    let errors = payload_errors.clone();
    main.on_payload_error(move |error| {
        errors.lock().expect("errors").push(error.to_string());
        async {}
    });
    within_for(STEP, "connecting /", main.socket().connect())
        .await
        .expect("connect /");

    // An ack with a value: an object with optional, nullable, enum, array and record fields
    // in, one with a date and an enum back.
    let receipt: OrderAck = within_for(STEP, "order", main.emit_order(order(None, None)))
        .await
        .expect("order");
    assert_eq!(receipt.id, "apple-4");
    assert_eq!(receipt.total, 4.0 * 2.5 + 1.25);
    assert_eq!(receipt.placed_at, "2026-12-06T12:00:00.000Z");
    assert_eq!(receipt.priority, OrderPayloadPriority::High);
    // The optional field sent, the nullable one not null.
    let receipt = within_for(
        STEP,
        "order",
        main.emit_order(order(Some("ripe"), Some("for you"))),
    )
    .await
    .expect("order with a note and a gift");
    assert_eq!(receipt.id, "apple-4-noted-gift");

    // Fire and forget, two arguments, a wire name with a space; the server answers with an
    // outgoing event of two arguments.
    within_for(
        STEP,
        "chat message",
        main.emit_chat_message("lobby".into(), "hello".into()),
    )
    .await
    .expect("chat message");
    assert_eq!(
        heard.next(STEP).await,
        Heard::Notice("lobby: hello".into(), 5)
    );

    // A discriminated union in, a plain union back (a number, then a text).
    let area = within_for(
        STEP,
        "shape",
        main.emit_shape(ShapePayload::Circle { radius: 2.0 }),
    )
    .await
    .expect("circle");
    assert_eq!(area, ShapeAck::Number(12.0));
    let text = within_for(
        STEP,
        "shape",
        main.emit_shape(ShapePayload::Square { side: 3.0 }),
    )
    .await
    .expect("square");
    assert_eq!(text, ShapeAck::String("square of side 3".into()));

    // An ack without a value.
    let Acked = within_for(STEP, "ping", main.emit_ping())
        .await
        .expect("ping");

    // The server asks the client (an outgoing event with an ack: zod-sockets reads one ack
    // argument holding the tuple), then reports the answer with a date.
    within_for(STEP, "ask me", main.emit_ask_me("ready?".into()))
        .await
        .expect("ask me");
    assert_eq!(heard.next(STEP).await, Heard::Question("ready?".into()));
    assert_eq!(
        heard.next(STEP).await,
        Heard::Answered(true, "2026-12-06T12:00:00.000Z".into())
    );
    within_for(STEP, "ask me", main.emit_ask_me("ready.".into()))
        .await
        .expect("ask me");
    assert_eq!(heard.next(STEP).await, Heard::Question("ready.".into()));
    assert_eq!(
        heard.next(STEP).await,
        Heard::Answered(false, "2026-12-06T12:00:00.000Z".into())
    );

    // The second namespace, on the same manager: a record in, an integer back, a push.
    let shop = ShopEventsSocket::build(&manager);
    let out = heard.sender();
    shop.on_prices(move |prices| {
        let _ = out.send(Heard::Prices(prices));
        async {}
    });
    within_for(STEP, "connecting /shop", shop.socket().connect())
        .await
        .expect("connect /shop");
    let total = within_for(
        STEP,
        "restock",
        shop.emit_restock(BTreeMap::from([("apple".into(), 2), ("pear".into(), 3)])),
    )
    .await
    .expect("restock");
    assert_eq!(total, 5);
    assert_eq!(
        heard.next(STEP).await,
        Heard::Prices(BTreeMap::from([
            ("apple".into(), 0.5),
            ("pear".into(), 0.75)
        ]))
    );

    heard
        .assert_quiet(std::time::Duration::from_millis(200))
        .await;
    assert_eq!(
        *payload_errors.lock().expect("errors"),
        Vec::<String>::new()
    );
    let stderr = server.stderr();
    assert!(
        stderr.trim().is_empty(),
        "the zod-sockets server reported:\n{stderr}"
    );
    manager.close();
    let status = server.stop().await;
    assert!(
        status.success(),
        "the zod-sockets server exited with {status}"
    );
}

transport_matrix!(every_event_shape);
