//! TLS: `https` / `wss` against the official Node server serving a certificate signed by a
//! test CA made here, trusted through `ManagerBuilder::tls_root_certificate_pem`; and refused
//! without it.

use std::path::PathBuf;

use ferrio::{Error, Manager};
use ferrio_suite::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

/// A CA and a server certificate for 127.0.0.1 signed by it, written as PEM files.
struct TestPki {
    ca_pem: String,
    cert: PathBuf,
    key: PathBuf,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn test_pki() -> TestPki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ferrio test CA");
    let ca_key = KeyPair::generate().expect("CA key");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);

    let server_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("server params");
    let server_key = KeyPair::generate().expect("server key");
    let server_cert = server_params
        .signed_by(&server_key, &issuer)
        .expect("server certificate");

    let dir = std::env::temp_dir().join(format!(
        "ferrio-tls-{}-{}",
        std::process::id(),
        unique_suffix()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cert = dir.join("server.pem");
    let key = dir.join("server.key");
    std::fs::write(&cert, server_cert.pem()).expect("write cert");
    std::fs::write(&key, server_key.serialize_pem()).expect("write key");
    TestPki {
        ca_pem: ca_cert.pem(),
        cert,
        key,
        _dir: TempDir(dir),
    }
}

fn unique_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_over_https_and_wss_with_a_custom_root() {
    let pki = test_pki();
    let peer = NodePeer::start(PeerOptions::new().tls(pki.cert.clone(), pki.key.clone())).await;
    assert!(peer.url().starts_with("https://"));
    for t in Transports::ALL {
        let m = builder(&peer.url(), t)
            .tls_root_certificate_pem(pki.ca_pem.as_bytes())
            .build()
            .expect("manager");
        let s = within(STEP, m.socket("/").connect())
            .await
            .unwrap_or_else(|e| panic!("{t:?}: {e}"));
        // `connect()` resolves over polling; the upgrade comes after.
        if t == Transports::PollingUpgrade {
            until(STEP, "the upgrade", || {
                matches!(m.transport(), Some(ferrio::TransportKind::Websocket))
            })
            .await;
        }
        let echoed: String = within(STEP, s.emit_with_ack("ack", "over tls"))
            .await
            .expect("ack");
        assert_eq!(echoed, "over tls", "{t:?}");
        let transport = server::transport(&s).await;
        assert_eq!(transport, t.settled_transport(), "{t:?}");
        s.disconnect();
        m.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_a_server_whose_certificate_is_not_trusted() {
    let pki = test_pki();
    let peer = NodePeer::start(PeerOptions::new().tls(pki.cert.clone(), pki.key.clone())).await;
    for t in [Transports::PollingOnly, Transports::WebsocketOnly] {
        let m = builder(&peer.url(), t)
            .reconnection(false)
            .build()
            .expect("manager");
        let r = within(STEP, m.socket("/").connect()).await;
        match r {
            Err(Error::Transport(message)) => {
                assert!(
                    message.contains("certificate"),
                    "{t:?}: unexpected message {message:?}"
                );
            }
            other => panic!("{t:?}: connected without trusting the server: {other:?}"),
        }
        m.close();
    }
}

#[test]
fn an_invalid_root_certificate_is_a_build_error() {
    let r = Manager::builder("https://127.0.0.1:1")
        .tls_root_certificate_pem(
            b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
        )
        .build();
    assert!(matches!(r, Err(Error::Tls(_))), "{r:?}");
}
