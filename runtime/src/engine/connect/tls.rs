//! The rustls client configuration built when the builder gives none.
//!
//! - Crypto provider: the process-wide default when one is installed
//!   (`CryptoProvider::install_default`), else aws-lc-rs with the `aws-lc-rs` feature, else
//!   ring with the `ring` feature (the default).
//! - Server verification: the platform's verifier with the `rustls-platform-verifier`
//!   feature; otherwise the roots of the `webpki-roots` feature (the default, Mozilla's)
//!   and of the `rustls-native-certs` feature (the OS store), both when both are on. Roots
//!   added on the builder are trusted in every case.
//! - A client certificate (mutual TLS) when the builder has one.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;

/// What the builder says about TLS, when it gives no configuration of its own.
#[derive(Debug, Default)]
pub(crate) struct TlsOptions {
    /// Roots trusted besides the default ones (socket.io in Node: `ca`).
    pub(crate) extra_roots: Vec<CertificateDer<'static>>,
    /// The client certificate chain and its key (socket.io in Node: `cert` and `key`).
    pub(crate) client_auth: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

fn tls_error(e: impl std::fmt::Display) -> Error {
    Error::Tls(e.to_string())
}

/// The crypto provider: the process default, else the one of the enabled feature.
fn provider() -> Result<Arc<CryptoProvider>, Error> {
    if let Some(installed) = CryptoProvider::get_default() {
        return Ok(installed.clone());
    }
    #[cfg(feature = "aws-lc-rs")]
    return Ok(Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    return Ok(Arc::new(rustls::crypto::ring::default_provider()));
    #[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
    return Err(Error::Tls(
        "no crypto provider: enable ferrio's `ring` or `aws-lc-rs` feature, or install a \
         process default with rustls::crypto::CryptoProvider::install_default"
            .into(),
    ));
}

/// Builds the client configuration for `options`.
pub(crate) fn tls_config(options: &TlsOptions) -> Result<Arc<rustls::ClientConfig>, Error> {
    let provider = provider()?;
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?;

    #[cfg(feature = "rustls-platform-verifier")]
    let builder = {
        let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(
            options.extra_roots.iter().cloned(),
            provider,
        )
        .map_err(tls_error)?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
    };

    #[cfg(not(feature = "rustls-platform-verifier"))]
    let builder = {
        let _ = provider;
        let mut roots = rustls::RootCertStore::empty();
        #[cfg(feature = "webpki-roots")]
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        #[cfg(feature = "rustls-native-certs")]
        {
            let native = rustls_native_certs::load_native_certs();
            // Certificates of the store that do not parse are skipped, as reqwest does; a
            // store that gives nothing at all is an error below.
            let (_added, _ignored) = roots.add_parsable_certificates(native.certs);
            if roots.is_empty() && !native.errors.is_empty() {
                let errors: Vec<String> = native.errors.iter().map(|e| e.to_string()).collect();
                return Err(Error::Tls(format!(
                    "cannot load the OS certificate store: {}",
                    errors.join("; ")
                )));
            }
        }
        for cert in &options.extra_roots {
            roots.add(cert.clone()).map_err(tls_error)?;
        }
        if roots.is_empty() {
            return Err(Error::Tls(
                "no root certificate to trust: enable ferrio's `webpki-roots`, \
                 `rustls-native-certs` or `rustls-platform-verifier` feature, or add roots \
                 with ManagerBuilder::tls_root_certificate_pem"
                    .into(),
            ));
        }
        builder.with_root_certificates(roots)
    };

    let config = match &options.client_auth {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => builder
            .with_client_auth_cert(chain.clone(), key.clone_key())
            .map_err(|e| Error::Tls(format!("the client certificate: {e}")))?,
    };
    Ok(Arc::new(config))
}
