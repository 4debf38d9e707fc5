//! A test PKI made with rcgen, shared by `tests/proxy.rs` and `tests/tls_choices.rs`
//! (`#[path = "pki/mod.rs"] mod pki;`): a CA, a server certificate for the names asked, a
//! client certificate, all written as PEM files in a folder removed on drop.

use std::path::PathBuf;

use ferrio_suite::TempDir;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

/// The files and PEM texts of one PKI.
#[allow(dead_code)] // each suite reads the files it needs
pub(crate) struct Pki {
    /// The CA certificate (PEM), to trust.
    pub(crate) ca_pem: String,
    /// The CA certificate file (for the peer's `TLS_CA`).
    pub(crate) ca_file: PathBuf,
    /// The server certificate and key files.
    pub(crate) server_cert: PathBuf,
    /// The server key file.
    pub(crate) server_key: PathBuf,
    /// A client certificate signed by the CA, and its key (PEM).
    pub(crate) client_cert_pem: String,
    /// The client key (PEM, PKCS#8).
    pub(crate) client_key_pem: String,
    _dir: TempDir,
}

/// A CA, a server certificate for `names`, and a client certificate.
pub(crate) fn pki(names: &[&str]) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ferrio test CA");
    let ca_key = KeyPair::generate().expect("CA key");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca_params, ca_key);

    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let server_params = CertificateParams::new(names).expect("server params");
    let server_key = KeyPair::generate().expect("server key");
    let server = server_params
        .signed_by(&server_key, &issuer)
        .expect("server certificate");

    let mut client_params = CertificateParams::new(Vec::<String>::new()).expect("client params");
    client_params
        .distinguished_name
        .push(DnType::CommonName, "ferrio test client");
    let client_key = KeyPair::generate().expect("client key");
    let client = client_params
        .signed_by(&client_key, &issuer)
        .expect("client certificate");

    let dir = TempDir::new("ferrio-pki");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write a PEM file");
        path
    };
    Pki {
        ca_file: write("ca.pem", &ca_cert.pem()),
        server_cert: write("server.pem", &server.pem()),
        server_key: write("server.key", &server_key.serialize_pem()),
        ca_pem: ca_cert.pem(),
        client_cert_pem: client.pem(),
        client_key_pem: client_key.serialize_pem(),
        _dir: dir,
    }
}
