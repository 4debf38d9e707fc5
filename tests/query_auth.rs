//! The query and auth options (socket.io-client's `test/socket.ts` "query option" and "auth
//! option" groups): they reach `socket.handshake.query` / `socket.handshake.auth`, with special
//! characters encoded.

use ferrio_suite::*;
use serde_json::Value;

transport_matrix!(
    query_reaches_the_handshake,
    query_in_the_url_reaches_the_handshake,
    query_special_characters_are_encoded,
    auth_reaches_the_handshake,
);

async fn query_reaches_the_handshake(t: Transports) {
    let peer = shared_peer().await;
    // default namespace, asked through an ack
    let m = builder(&peer.url(), t)
        .query("e", "f")
        .build()
        .expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    let hs = server::handshake(&s).await;
    assert_eq!(hs["query"]["e"], "f", "{hs}");
    assert_eq!(hs["query"]["EIO"], "4");
    s.disconnect();
    // a custom namespace, which emits the handshake at connection
    let abc = m.socket("/abc").build();
    let mut hs_ev = events(&abc, "handshake");
    within(STEP, abc.connect()).await.expect("connect /abc");
    let hs: Value = hs_ev.next(STEP).await.arg(0).expect("handshake");
    assert_eq!(hs["query"]["e"], "f", "{hs}");
    abc.disconnect();
    m.close();
}

async fn query_in_the_url_reaches_the_handshake(t: Transports) {
    let peer = shared_peer().await;
    let m = builder(&format!("{}/?c=d", peer.url()), t)
        .build()
        .expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .expect("connect");
    let hs = server::handshake(&s).await;
    assert_eq!(hs["query"]["c"], "d", "{hs}");
    s.disconnect();
    m.close();

    // io() with a namespace and a query
    let s = within(STEP, ferrio::io(&format!("{}/abc?b=c&d=e", peer.url())))
        .await
        .expect("io");
    assert_eq!(s.namespace(), "/abc");
    let hs = server::handshake(&s).await;
    assert_eq!(hs["query"]["b"], "c", "{hs}");
    assert_eq!(hs["query"]["d"], "e", "{hs}");
    s.disconnect();
    s.manager().close();
}

async fn query_special_characters_are_encoded(t: Transports) {
    let peer = shared_peer().await;
    let m = builder(&peer.url(), t)
        .query("&a", "&=?a")
        .query("space key", "a b+c%20/ü")
        .build()
        .expect("manager");
    let s = within(STEP, m.socket("/abc").connect())
        .await
        .expect("connect");
    let hs = server::handshake(&s).await;
    assert_eq!(hs["query"]["&a"], "&=?a", "{hs}");
    assert_eq!(hs["query"]["space key"], "a b+c%20/ü", "{hs}");
    assert!(hs["query"].get("a").is_none(), "{hs}");
    s.disconnect();
    m.close();
}

async fn auth_reaches_the_handshake(t: Transports) {
    let peer = shared_peer().await;
    let m = manager(&peer.url(), t);
    let abc = m
        .socket("/abc")
        .auth(json!({"a": "b", "c": "d", "special": "ü &=?\"\\"}))
        .build();
    let mut hs_ev = events(&abc, "handshake");
    within(STEP, abc.connect()).await.expect("connect");
    let hs: Value = hs_ev.next(STEP).await.arg(0).expect("handshake");
    assert_eq!(
        hs["auth"],
        json!({"a": "b", "c": "d", "special": "ü &=?\"\\"})
    );
    assert!(
        hs["query"].get("a").is_none(),
        "auth leaked into the query: {hs}"
    );
    // each namespace has its own auth
    let root = within(STEP, m.socket("/").auth(json!({"token": 1})).connect())
        .await
        .expect("connect /");
    let hs = server::handshake(&root).await;
    assert_eq!(hs["auth"], json!({"token": 1}));
    abc.disconnect();
    root.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_auth_is_an_empty_object() {
    let peer = shared_peer().await;
    let (m, s) = connect(&peer.url(), "/", Transports::WebsocketOnly).await;
    let hs = server::handshake(&s).await;
    assert_eq!(hs["auth"], json!({}));
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_with_a_struct() {
    #[derive(serde::Serialize)]
    struct Auth {
        token: String,
        user: u32,
    }
    let peer = shared_peer().await;
    let m = manager(&peer.url(), Transports::WebsocketOnly);
    let s = within(
        STEP,
        m.socket("/auth")
            .auth(Auth {
                token: "secret".into(),
                user: 7,
            })
            .connect(),
    )
    .await
    .expect("connect");
    let hs = server::handshake(&s).await;
    assert_eq!(hs["auth"], json!({"token": "secret", "user": 7}));
    s.disconnect();
    m.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_headers_reach_the_server() {
    let peer = shared_peer().await;
    for t in Transports::ALL {
        let m = builder(&peer.url(), t)
            .extra_header("x-ferrio", "yes")
            .build()
            .expect("manager");
        let s = m.socket("/").build();
        within(STEP, s.connect()).await.expect("connect");
        let hs = server::handshake(&s).await;
        assert_eq!(hs["headers"]["x-ferrio"], "yes", "{t:?}: {hs}");
        s.disconnect();
        m.close();
    }
}
