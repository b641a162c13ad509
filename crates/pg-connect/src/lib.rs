//! Postgres connections for the native binaries (relay, migrate) with
//! libpq's `sslmode` meanings, so a managed database's usual URL works:
//!
//! | sslmode | encrypted | server certificate |
//! |---|---|---|
//! | `disable` | no | – |
//! | `prefer` (default) | if the server offers it | not checked |
//! | `require` | yes | not checked (libpq: checked when `sslrootcert` is given) |
//! | `verify-ca` | yes | chain to `sslrootcert` |
//! | `verify-full` | yes | chain to `sslrootcert` and the host name |

use std::str::FromStr;
use std::sync::Arc;

use anyhow::{bail, Context};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, Config, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

/// How the server's certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verify {
    /// Encryption without authentication (`prefer`, `require`).
    None,
    /// The chain must lead to the CA in `sslrootcert`.
    Chain { root: String },
    /// The chain and the host name (`verify-full`).
    Full { root: String },
}

/// A connection string taken apart: the driver's config and the check.
pub struct Target {
    pub config: Config,
    pub verify: Verify,
}

/// Parses a `postgres://` URL (or a key=value string, without `verify-*`).
pub fn parse(database_url: &str) -> anyhow::Result<Target> {
    if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
        let config = Config::from_str(database_url).context("parsing the connection string")?;
        return Ok(Target {
            config,
            verify: Verify::None,
        });
    }
    let mut url = url::Url::parse(database_url).context("parsing the database URL")?;
    let mut mode = None;
    let mut root = None;
    let rest: Vec<(String, String)> = url
        .query_pairs()
        .filter_map(|(k, v)| match k.as_ref() {
            "sslmode" => {
                mode = Some(v.into_owned());
                None
            }
            "sslrootcert" => {
                root = Some(v.into_owned());
                None
            }
            _ => Some((k.into_owned(), v.into_owned())),
        })
        .collect();
    url.set_query(None);
    if !rest.is_empty() {
        url.query_pairs_mut().extend_pairs(rest);
    }
    let mut config = Config::from_str(url.as_str()).context("parsing the database URL")?;
    let mode = mode.as_deref().unwrap_or("prefer");
    let (ssl, verify) = match (mode, root) {
        ("disable", _) => (SslMode::Disable, Verify::None),
        ("prefer" | "allow", _) => (SslMode::Prefer, Verify::None),
        ("require", None) => (SslMode::Require, Verify::None),
        ("require" | "verify-ca", Some(root)) => (SslMode::Require, Verify::Chain { root }),
        ("verify-full", Some(root)) => (SslMode::Require, Verify::Full { root }),
        ("verify-ca" | "verify-full", None) => {
            bail!("sslmode={mode} needs sslrootcert=<CA certificate file> in the URL")
        }
        (other, _) => bail!("unknown sslmode {other:?}"),
    };
    config.ssl_mode(ssl);
    Ok(Target { config, verify })
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls client configuration for `verify`.
pub fn tls(verify: &Verify) -> anyhow::Result<MakeRustlsConnect> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("TLS versions")?;
    let chain = match verify {
        Verify::None => None,
        Verify::Chain { root } | Verify::Full { root } => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(root)
                .with_context(|| format!("reading sslrootcert {root}"))?
            {
                roots.add(cert.with_context(|| format!("a certificate in {root}"))?)?;
            }
            Some(WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider()).build()?)
        }
    };
    let verifier = Verifier {
        chain,
        check_name: matches!(verify, Verify::Full { .. }),
        algorithms: provider().signature_verification_algorithms,
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// Connects and drives the connection on a task; the task ends with it.
pub async fn connect(database_url: &str) -> anyhow::Result<(Client, tokio::task::JoinHandle<()>)> {
    let (client, driver) = connect_with(database_url).await?;
    Ok((
        client,
        tokio::spawn(async move {
            let _ = driver.await;
        }),
    ))
}

/// The stream of a connection made here (TLS or not, as negotiated).
pub type Stream = <MakeRustlsConnect as MakeTlsConnect<Socket>>::Stream;

/// The client and the connection future, for callers that drive it themselves.
pub async fn connect_with(
    database_url: &str,
) -> anyhow::Result<(Client, tokio_postgres::Connection<Socket, Stream>)> {
    let target = parse(database_url)?;
    let tls = tls(&target.verify)?;
    Ok(target.config.connect(tls).await?)
}

/// The server-certificate check of each mode: none (`prefer`, `require`),
/// the chain only (`verify-ca`), or chain and name (`verify-full`).
#[derive(Debug)]
struct Verifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmodes_follow_libpq() {
        let t = parse("postgres://u@db:5432/x?sslmode=disable").unwrap();
        assert_eq!(t.config.get_ssl_mode(), SslMode::Disable);
        let t = parse("postgres://u@db:5432/x").unwrap();
        assert_eq!(t.config.get_ssl_mode(), SslMode::Prefer);
        let t = parse("postgres://u@db/x?sslmode=require&application_name=relay").unwrap();
        assert_eq!(
            (t.config.get_ssl_mode(), t.verify),
            (SslMode::Require, Verify::None)
        );
        assert_eq!(t.config.get_application_name(), Some("relay"));
        let t = parse("postgres://u@db/x?sslmode=verify-full&sslrootcert=/ca.pem").unwrap();
        assert_eq!(
            (t.config.get_ssl_mode(), t.verify),
            (
                SslMode::Require,
                Verify::Full {
                    root: "/ca.pem".into()
                }
            )
        );
        let t = parse("postgres://u@db/x?sslmode=verify-ca&sslrootcert=/ca.pem").unwrap();
        assert_eq!(
            t.verify,
            Verify::Chain {
                root: "/ca.pem".into()
            }
        );
    }

    #[test]
    fn verification_without_a_root_or_an_unknown_mode_is_refused() {
        assert!(parse("postgres://u@db/x?sslmode=verify-full").is_err());
        assert!(parse("postgres://u@db/x?sslmode=sometimes").is_err());
    }

    #[test]
    fn key_value_strings_still_work() {
        let t = parse("host=db user=u dbname=x sslmode=require").unwrap();
        assert_eq!(t.config.get_ssl_mode(), SslMode::Require);
    }
}
