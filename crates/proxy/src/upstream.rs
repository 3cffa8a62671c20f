//! The upstream: its URL, checked, and the HTTP client that reaches it (hyper-util's
//! pooled client; rustls verifying against the platform's roots or a given CA; no
//! redirects followed, as hyper's client follows none).

use crate::ProxyError;
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The client requests are forwarded with.
pub(crate) type Upstream = Client<HttpsConnector<HttpConnector>, Incoming>;

/// Whether `url` may carry a token: `https://`, or `http://` to this machine.
pub(crate) fn check(url: &url::Url) -> Result<(), ProxyError> {
    let loopback = match url.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => {}
        "http" if loopback => {}
        _ => {
            return Err(ProxyError::Upstream(format!(
                "the upstream `{url}` must be https:// (http:// only on this machine: 127.0.0.1, localhost)"
            )))
        }
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(ProxyError::Upstream(format!(
            "the upstream `{url}` must be a base URL: no query, fragment or user"
        )));
    }
    Ok(())
}

/// The roots the upstream's certificate must chain to.
fn roots(ca_file: Option<&Path>) -> Result<rustls::RootCertStore, ProxyError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(p) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(p)
                .map_err(|e| {
                    ProxyError::Upstream(format!("cannot read the CA file {}: {e}", p.display()))
                })?
                .filter_map(Result::ok)
                .collect();
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(ProxyError::Upstream(format!(
                    "the CA file {} holds no PEM certificate",
                    p.display()
                )));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
        }
    }
    Ok(roots)
}

/// The client for `upstream` (`ca_file`: its CAs, else the platform's roots).
pub(crate) fn client(upstream: &url::Url, ca_file: Option<&Path>) -> Result<Upstream, ProxyError> {
    check(upstream)?;
    let roots = roots(ca_file)?;
    if upstream.scheme() == "https" && roots.is_empty() {
        return Err(ProxyError::Upstream(
            "this machine has no trusted root certificates: give the upstream's CA with --ca-file"
                .into(),
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ProxyError::Upstream(format!("TLS set-up: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(Duration::from_secs(10)));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(512)
        .build(https))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_upstreams_a_token_must_not_go_to() {
        for bad in [
            "http://example.com/",
            "http://10.0.0.1/",
            "ftp://127.0.0.1/",
            "https://u:p@api.example.com/",
            "https://api.example.com/?x=1",
        ] {
            let e = check(&bad.parse().unwrap()).unwrap_err().to_string();
            assert!(
                e.contains(bad.split('?').next().unwrap()) || e.contains("base URL"),
                "{bad}: {e}"
            );
        }
        for good in [
            "https://external.pleo.io/",
            "http://127.0.0.1:8080/api",
            "http://localhost:1/",
            "http://[::1]:2/",
        ] {
            check(&good.parse().unwrap()).unwrap();
        }
    }
}
