//! TLS choices (issue 13, point 2), against the Node peer serving HTTPS/WSS with a test PKI:
//!
//! - a certificate for another host name is refused, with an error that says so;
//! - mutual TLS: a peer that requires a client certificate (`TLS_CA`: Node's `requestCert` and
//!   `rejectUnauthorized`) refuses a client without one and accepts the one given with
//!   `ManagerBuilder::tls_client_auth_pem`, over every transport;
//! - a process-wide default crypto provider (`CryptoProvider::install_default`) is the one
//!   used: this binary installs ring's, wrapped to count its use of randomness;
//! - a client certificate or key that does not parse is a build error.

#[path = "pki/mod.rs"]
mod pki;

use std::sync::atomic::{AtomicUsize, Ordering};

use ferrio::{Error, Manager};
use ferrio_suite::*;
use rustls::crypto::{CryptoProvider, GetRandomFailed, SecureRandom};

/// ring's randomness, counted.
#[derive(Debug)]
struct CountingRandom;

static RANDOM_CALLS: AtomicUsize = AtomicUsize::new(0);

impl SecureRandom for CountingRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        RANDOM_CALLS.fetch_add(1, Ordering::SeqCst);
        rustls::crypto::ring::default_provider()
            .secure_random
            .fill(buf)
    }
}

/// Installs the counting provider as the process default (once; every test of this binary
/// calls it first, so every connection of the binary uses it).
fn install_counting_provider() {
    static RANDOM: CountingRandom = CountingRandom;
    let provider = CryptoProvider {
        secure_random: &RANDOM,
        ..rustls::crypto::ring::default_provider()
    };
    let _ = provider.install_default();
    assert!(
        CryptoProvider::get_default().is_some_and(|p| std::ptr::eq(
            p.secure_random as *const dyn SecureRandom as *const u8,
            &RANDOM as *const CountingRandom as *const u8
        )),
        "the counting provider is the process default"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_host_is_refused() {
    install_counting_provider();
    let pki = pki::pki(&["other.example"]);
    let peer =
        NodePeer::start(PeerOptions::new().tls(pki.server_cert.clone(), pki.server_key.clone()))
            .await;
    for t in [Transports::PollingOnly, Transports::WebsocketOnly] {
        let m = builder(&peer.url(), t)
            .tls_root_certificate_pem(pki.ca_pem.as_bytes())
            .reconnection(false)
            .build()
            .expect("manager");
        match within(STEP, m.socket("/").connect()).await {
            Err(Error::Transport(message)) => assert!(
                message.contains("not valid for name") && message.contains("127.0.0.1"),
                "{t:?}: {message}"
            ),
            other => panic!(
                "{t:?}: connected to a server whose certificate names another host: {other:?}"
            ),
        }
        m.close();
    }
}

async fn mutual_tls(t: Transports) {
    install_counting_provider();
    let pki = pki::pki(&["127.0.0.1", "localhost"]);
    let peer = NodePeer::start(
        PeerOptions::new()
            .tls(pki.server_cert.clone(), pki.server_key.clone())
            .tls_client_ca(pki.ca_file.clone()),
    )
    .await;

    // Without a client certificate: refused by the server during the TLS handshake.
    let m = builder(&peer.url(), t)
        .tls_root_certificate_pem(pki.ca_pem.as_bytes())
        .reconnection(false)
        .build()
        .expect("manager");
    match within(STEP, m.socket("/").connect()).await {
        Err(Error::Transport(message)) => assert!(
            message.contains("CertificateRequired") || message.contains("HandshakeFailure"),
            "{t:?}: {message}"
        ),
        other => panic!("{t:?}: connected without a client certificate: {other:?}"),
    }
    m.close();

    // With one.
    let random_before = RANDOM_CALLS.load(Ordering::SeqCst);
    let m = builder(&peer.url(), t)
        .tls_root_certificate_pem(pki.ca_pem.as_bytes())
        .tls_client_auth_pem(
            pki.client_cert_pem.as_bytes(),
            pki.client_key_pem.as_bytes(),
        )
        .build()
        .expect("manager");
    let s = within(STEP, m.socket("/").connect())
        .await
        .unwrap_or_else(|e| panic!("{t:?} with a client certificate: {e}"));
    if t == Transports::PollingUpgrade {
        until(STEP, "the upgrade", || {
            matches!(m.transport(), Some(ferrio::TransportKind::Websocket))
        })
        .await;
    }
    let echoed: String = within(STEP, s.emit_with_ack("ack", "mutual"))
        .await
        .expect("ack");
    assert_eq!(echoed, "mutual");
    assert_eq!(server::transport(&s).await, t.settled_transport(), "{t:?}");
    assert!(
        RANDOM_CALLS.load(Ordering::SeqCst) > random_before,
        "the process default provider made the handshakes"
    );
    s.disconnect();
    m.close();
}

transport_matrix!(mutual_tls);

#[test]
fn a_client_certificate_or_key_that_does_not_parse_is_a_build_error() {
    install_counting_provider();
    let pki = pki::pki(&["127.0.0.1"]);
    let cases: [(&[u8], &[u8], &str); 3] = [
        (
            b"no PEM here",
            pki.client_key_pem.as_bytes(),
            "no certificate",
        ),
        (
            b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
            pki.client_key_pem.as_bytes(),
            "invalid client certificate",
        ),
        (
            pki.client_cert_pem.as_bytes(),
            b"no key",
            "invalid client key",
        ),
    ];
    for (cert, key, expected) in cases {
        let r = Manager::builder("https://127.0.0.1:1")
            .tls_client_auth_pem(cert, key)
            .build();
        assert!(
            matches!(&r, Err(Error::Tls(m)) if m.contains(expected)),
            "{expected}: {r:?}"
        );
    }
    // A certificate with the key of another: refused by rustls when the manager is built.
    let other = pki::pki(&["127.0.0.1"]);
    let r = Manager::builder("https://127.0.0.1:1")
        .tls_client_auth_pem(
            pki.client_cert_pem.as_bytes(),
            other.client_key_pem.as_bytes(),
        )
        .build();
    assert!(matches!(&r, Err(Error::Tls(_))), "mismatched key: {r:?}");
}
