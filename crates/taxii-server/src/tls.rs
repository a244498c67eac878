//! TLS with rustls: the certificate chain and key come from PEM files and can be read again
//! ([`Tls::reload`], on SIGHUP or when the files change) without dropping a connection: new
//! handshakes get the new certificate, established connections keep theirs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// Where the certificate chain and its private key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The serving side of TLS; cheap to clone.
#[derive(Clone)]
pub struct Tls {
    files: TlsFiles,
    current: Arc<Current>,
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("files", &self.files).finish()
    }
}

/// The certificate handed to each new handshake.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0.read()))
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads and checks the chain and key: the key must be usable and belong to the first
/// certificate.
fn load(files: &TlsFiles) -> Result<CertifiedKey, String> {
    let shown = |p: &Path| p.display().to_string();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| format!("{}: cannot be read as PEM: {e}", shown(&files.cert)))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: not a PEM certificate chain: {e}", shown(&files.cert)))?;
    if certs.is_empty() {
        return Err(format!("{}: holds no certificate", shown(&files.cert)));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| format!("{}: not a PEM private key: {e}", shown(&files.key)))?;
    let certified = CertifiedKey::from_der(certs, key, &provider()).map_err(|e| {
        format!(
            "{} and {} do not make a usable certificate and key: {e}",
            shown(&files.cert),
            shown(&files.key)
        )
    })?;
    Ok(certified)
}

impl Tls {
    /// Loads the files; the error is one line naming the file at fault.
    pub fn new(files: TlsFiles) -> Result<Tls, String> {
        let current = Arc::new(Current(RwLock::new(Arc::new(load(&files)?))));
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS set-up failed: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&current) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            files,
            current,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        self.acceptor.clone()
    }

    /// Reads the files again. On an error the certificate in use stays, so a half-written
    /// renewal never takes the server down.
    pub fn reload(&self) -> Result<(), String> {
        let fresh = load(&self.files)?;
        *self.current.0.write() = Arc::new(fresh);
        Ok(())
    }
}
