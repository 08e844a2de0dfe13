//! TLS for Postgres connections, with rustls (the TLS library already in assay for
//! object stores), as libpq's `sslmode` means it: `prefer` (the default) and `require`
//! encrypt without checking the server's certificate; `verify-ca` checks it was issued
//! by a trusted authority; `verify-full` also that it names the host. Trusted
//! authorities: `sslrootcert=FILE` (PEM), else `~/.postgresql/root.crt` when there is
//! one, else the system's.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

use crate::db::{Error, Result};

/// How a connection checks the server (libpq's `sslmode`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verify {
    /// `prefer`, `require`: encrypted, the certificate not checked.
    Nothing,
    /// `verify-ca`: issued by a trusted authority.
    Authority,
    /// `verify-full`: issued by a trusted authority, for this host.
    Full,
}

/// A rustls client configuration for `verify`, trusting `root` (a PEM file) or the
/// defaults above.
pub fn client_config(verify: Verify, root: Option<&str>) -> Result<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::server(format!("TLS: {e}")))?;
    let authority = match verify {
        Verify::Nothing => None,
        Verify::Authority | Verify::Full => Some(
            rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots(root)?),
                provider.clone(),
            )
            .build()
            .map_err(|e| Error::refused(format!("sslrootcert: {e}")))?,
        ),
    };
    let config = match (verify, authority) {
        (Verify::Full, Some(webpki)) => builder.with_webpki_verifier(webpki).with_no_client_auth(),
        (_, authority) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Lenient { provider, authority }))
            .with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

fn roots(root: Option<&str>) -> Result<rustls::RootCertStore> {
    use rustls::pki_types::pem::PemObject;
    let mut store = rustls::RootCertStore::empty();
    let default = std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".postgresql/root.crt"));
    let file = match root {
        Some(f) => Some(std::path::PathBuf::from(f)),
        None => default.filter(|p| p.exists()),
    };
    match file {
        Some(path) => {
            let shown = path.display().to_string();
            let certs = CertificateDer::pem_file_iter(&path)
                .map_err(|e| Error::refused(format!("sslrootcert {shown}: {e}")))?
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::refused(format!("sslrootcert {shown}: {e}")))?;
            if certs.is_empty() {
                return Err(Error::refused(format!("sslrootcert {shown}: no PEM certificate in it")));
            }
            for cert in certs {
                store.add(cert).map_err(|e| Error::refused(format!("sslrootcert {shown}: {e}")))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = store.add(cert);
            }
        }
    }
    Ok(store)
}

/// The server checks of `require` (none: any certificate, the handshake's signatures
/// still checked) and `verify-ca` (`authority`: issued by a trusted authority, whatever
/// host it names).
#[derive(Debug)]
struct Lenient {
    provider: Arc<rustls::crypto::CryptoProvider>,
    authority: Option<Arc<rustls::client::WebPkiServerVerifier>>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        use rustls::{CertificateError, Error as E};
        let Some(authority) = &self.authority else { return Ok(ServerCertVerified::assertion()) };
        match authority.verify_server_cert(end_entity, intermediates, name, ocsp, now) {
            Err(E::InvalidCertificate(CertificateError::NotValidForName))
            | Err(E::InvalidCertificate(CertificateError::NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// tokio-postgres' TLS hooks over tokio-rustls.
#[derive(Clone)]
pub struct Tls(pub Arc<rustls::ClientConfig>);

impl<S> MakeTlsConnect<S> for Tls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type TlsConnect = Connect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, host: &str) -> io::Result<Connect> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{host}: {e}")))?;
        Ok(Connect(self.0.clone(), name))
    }
}

pub struct Connect(Arc<rustls::ClientConfig>, ServerName<'static>);

impl<S> TlsConnect<S> for Connect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Stream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let tls = tokio_rustls::TlsConnector::from(self.0).connect(self.1, stream).await?;
            Ok(Stream(Box::new(tls)))
        })
    }
}

pub struct Stream<S>(Box<tokio_rustls::client::TlsStream<S>>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for Stream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}
