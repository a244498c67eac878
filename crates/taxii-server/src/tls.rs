//! TLS with rustls: the certificate chain and key come from PEM files and can be read again
//! ([`Tls::reload`], on SIGHUP or when the files change) without dropping a connection: new
//! handshakes get the new certificate, established connections keep theirs.
//!
//! With client certificates ([`ClientAuth::Verify`]), clients are asked for one signed by the
//! configured CAs; the subject's common name of a verified one travels with each request of the
//! connection as a [`ClientCert`], and `auth` takes it as the user name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;
use rustls::RootCertStore;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// Where the certificate chain and its private key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Whether TLS clients are asked for a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    /// Verified against the CA certificates in the PEM file `ca`; without one a client is
    /// refused at the handshake when `required`, else it logs in otherwise.
    Verify {
        ca: PathBuf,
        required: bool,
    },
}

/// The verified client certificate of a connection: its subject, and the subject's common
/// name, which names the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    pub subject: String,
    pub common_name: Option<String>,
}

impl ClientCert {
    /// Reads the subject of a (verified) certificate; `None` if it cannot be parsed.
    pub fn from_der(der: &[u8]) -> Option<ClientCert> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let subject = cert.subject();
        let common_name = subject
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_owned);
        Some(ClientCert {
            subject: subject.to_string(),
            common_name,
        })
    }
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

/// The verifier of client certificates signed by the CAs in `ca`.
fn client_verifier(ca: &Path, required: bool) -> Result<Arc<dyn ClientCertVerifier>, String> {
    let shown = ca.display();
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca)
        .map_err(|e| format!("{shown}: cannot be read as PEM: {e}"))?
    {
        let cert = cert.map_err(|e| format!("{shown}: not a PEM certificate: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("{shown}: not a usable CA certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("{shown}: holds no CA certificate"));
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
    let builder = if required {
        builder
    } else {
        builder.allow_unauthenticated()
    };
    builder
        .build()
        .map_err(|e| format!("{shown}: cannot verify client certificates with it: {e}"))
}

impl Tls {
    /// Loads the files; the error is one line naming the file at fault.
    pub fn new(files: TlsFiles, client_auth: ClientAuth) -> Result<Tls, String> {
        let current = Arc::new(Current(RwLock::new(Arc::new(load(&files)?))));
        let builder = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS set-up failed: {e}"))?;
        let builder = match &client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            ClientAuth::Verify { ca, required } => {
                builder.with_client_cert_verifier(client_verifier(ca, *required)?)
            }
        };
        let mut config =
            builder.with_cert_resolver(Arc::clone(&current) as Arc<dyn ResolvesServerCert>);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn early_data_is_never_accepted_and_a_client_ca_file_must_hold_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        let files = TlsFiles {
            cert: cert_path.clone(),
            key: key_path.clone(),
        };
        // TLS 1.3 0-RTT data could be replayed: none is accepted, with or without client
        // certificates.
        for client_auth in [
            ClientAuth::None,
            ClientAuth::Verify {
                ca: cert_path,
                required: true,
            },
        ] {
            let tls = Tls::new(files.clone(), client_auth).unwrap();
            assert_eq!(tls.acceptor().config().max_early_data_size, 0);
            assert!(!tls.acceptor().config().send_half_rtt_data);
        }
        let e = Tls::new(
            files,
            ClientAuth::Verify {
                ca: key_path,
                required: false,
            },
        )
        .unwrap_err();
        assert!(e.contains("key.pem: holds no CA certificate"), "{e}");
    }
}
