//! The proxy's listeners and its one request handler. Every byte of HTTP is hyper's; this
//! module only decides what to refuse and what to forward.

use crate::capability::Capability;
use crate::client_process::Process;
use crate::keeper::{self, Msg, Shared};
use crate::mask::{conceal, Concealed};
use crate::rules::{admitted, SafePath};
use crate::upstream::{self, Upstream};
use crate::{ProxyError, ProxyOptions, Ready, Summary, TokenSource};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = UnsyncBoxBody<Bytes, BoxError>;

/// Headers that belong to one hop, never forwarded either way (RFC 9110 §7.6.1).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authenticate",
];

/// Beside those, the credentials a client may not send through (its `Authorization`,
/// the capability's `Proxy-Authorization`, its cookies) and its `Host`.
///
/// Also the headers some servers and gateways take as another method or path than the
/// request's (which the rules were matched against), and `Range`, which would let a client
/// read an echoed token piece by piece past the concealment.
const DROPPED_REQUEST: &[&str] = &[
    "proxy-authorization",
    "authorization",
    "cookie",
    "host",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-original-method",
    "x-original-url",
    "x-rewrite-url",
    "range",
    "if-range",
];

/// Beside those, the answer's `Set-Cookie`: a session cookie is a credential the client is
/// not to hold (and could not use: its cookies are dropped).
const DROPPED_RESPONSE: &[&str] = &["set-cookie"];

/// Who is on a connection.
struct Conn {
    /// TCP clients must present the capability; a Unix socket's peer was checked.
    tcp: bool,
    /// The client's process, once found (off the request path).
    client: Arc<OnceLock<Option<Process>>>,
}

/// What every request handler shares.
struct State {
    opts: ProxyOptions,
    capability: Capability,
    shared: Arc<Shared>,
    upstream: Upstream,
    in_flight: Arc<Semaphore>,
    /// The `Host` values TCP clients may send (`127.0.0.1:PORT`, `localhost:PORT`,
    /// `[::1]:PORT`).
    tcp_hosts: Vec<String>,
    /// The upstream's origin and base path (no final `/`), made once: each request's
    /// path and query are appended.
    base: String,
    /// Finds TCP clients' processes, one at a time, off the request path.
    lookups: crate::client_process::Lookups,
}

pub(crate) fn serve(
    opts: ProxyOptions,
    source: &mut dyn TokenSource,
    stop: &AtomicBool,
    ready: impl FnOnce(&Ready),
) -> Result<Summary, ProxyError> {
    let upstream_client = upstream::client(&opts.upstream, opts.ca_file.as_deref())?;
    if !opts.tcp && opts.socket.is_none() {
        return Err(ProxyError::Listen(
            "nowhere to listen: give a socket or TCP".into(),
        ));
    }
    if let Some(a) = opts.listen {
        if !a.ip().is_loopback() {
            return Err(ProxyError::Listen(format!(
                "the proxy listens on this machine only: {a} is not a loopback address"
            )));
        }
    }
    let (tx, rx) = std::sync::mpsc::channel::<Msg>();
    let shared = Arc::new(Shared::new(tx));
    // Where the source's lock count stands, so that a lock between this first token and
    // the keeper's first ask is seen; then the first token: a connection that cannot give
    // one fails before anyone is told the proxy runs.
    let _ = source.locked();
    keeper::fetch(&shared, source, 3).map_err(ProxyError::Token)?;
    let capability = Capability::new().map_err(ProxyError::Other)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("proxy")
        .enable_all()
        .build()
        .map_err(|e| ProxyError::Other(format!("cannot start the proxy's runtime: {e}")))?;
    let _enter = rt.enter();
    let mut tcp = Vec::new();
    if opts.tcp {
        let first = opts
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let l = rt
            .block_on(tokio::net::TcpListener::bind(first))
            .map_err(|e| ProxyError::Listen(format!("cannot listen on {first}: {e}")))?;
        let port = l
            .local_addr()
            .map_err(|e| ProxyError::Listen(e.to_string()))?
            .port();
        tcp.push(l);
        if opts.listen.is_none() {
            let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
            match rt.block_on(tokio::net::TcpListener::bind(v6)) {
                Ok(l) => tcp.push(l),
                Err(e) => tracing::debug!(error = %e, "not listening on ::1"),
            }
        }
    }
    let mut urls = Vec::new();
    let mut tcp_hosts = Vec::new();
    for l in &tcp {
        let a = l
            .local_addr()
            .map_err(|e| ProxyError::Listen(e.to_string()))?;
        let host = match a.ip() {
            IpAddr::V4(ip) => format!("{ip}:{}", a.port()),
            IpAddr::V6(ip) => format!("[{ip}]:{}", a.port()),
        };
        urls.push(format!("http://{host}"));
        tcp_hosts.push(host);
        tcp_hosts.push(format!("localhost:{}", a.port()));
    }
    #[cfg(unix)]
    let unix = match &opts.socket {
        Some(p) => Some(bind_unix(&rt, p)?),
        None => None,
    };
    #[cfg(not(unix))]
    if opts.socket.is_some() {
        return Err(ProxyError::Listen(
            "a Unix socket is for Unix systems only".into(),
        ));
    }
    let base = format!(
        "{}{}",
        opts.upstream.origin().ascii_serialization(),
        opts.upstream.path().trim_end_matches('/')
    );
    let state = Arc::new(State {
        in_flight: Arc::new(Semaphore::new(
            opts.max_in_flight.clamp(1, Semaphore::MAX_PERMITS),
        )),
        opts,
        capability,
        shared: shared.clone(),
        upstream: upstream_client,
        tcp_hosts,
        base,
        lookups: crate::client_process::Lookups::start(),
    });
    let conns = Arc::new(Semaphore::new(
        state.opts.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    for l in tcp {
        rt.spawn(accept_tcp(l, state.clone(), conns.clone()));
    }
    #[cfg(unix)]
    if let Some(l) = unix {
        rt.spawn(accept_unix(l, state.clone(), conns.clone()));
    }
    ready(&Ready {
        urls,
        socket: state.opts.socket.clone(),
        capability: state.capability.secret().clone(),
        stats: shared.stats.clone(),
    });
    keeper::keep(&shared, source, &rx, stop, state.opts.flush_every);
    rt.shutdown_timeout(Duration::from_secs(2));
    #[cfg(unix)]
    if let Some(p) = &state.opts.socket {
        let _ = std::fs::remove_file(p);
    }
    Ok(shared.stats.summary())
}

#[cfg(unix)]
fn bind_unix(
    rt: &tokio::runtime::Runtime,
    p: &std::path::Path,
) -> Result<tokio::net::UnixListener, ProxyError> {
    use std::os::unix::fs::PermissionsExt;
    if p.exists() {
        return Err(ProxyError::Listen(format!(
            "{} already exists: remove it, or choose another path",
            p.display()
        )));
    }
    let l = {
        let _enter = rt.enter();
        tokio::net::UnixListener::bind(p)
            .map_err(|e| ProxyError::Listen(format!("cannot listen on {}: {e}", p.display())))?
    };
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| ProxyError::Listen(format!("cannot restrict {}: {e}", p.display())))?;
    Ok(l)
}

async fn accept_tcp(l: tokio::net::TcpListener, state: Arc<State>, conns: Arc<Semaphore>) {
    loop {
        let Ok((s, peer)) = l.accept().await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let Ok(permit) = conns.clone().try_acquire_owned() else {
            tracing::warn!("too many client connections: one closed");
            continue;
        };
        let _ = s.set_nodelay(true);
        let client = Arc::new(OnceLock::new());
        if let Ok(local) = s.local_addr() {
            state.lookups.ask(peer, local, client.clone());
        }
        let conn = Conn { tcp: true, client };
        tokio::spawn(serve_conn(TokioIo::new(s), state.clone(), conn, permit));
    }
}

#[cfg(unix)]
async fn accept_unix(l: tokio::net::UnixListener, state: Arc<State>, conns: Arc<Semaphore>) {
    use token_wallet_core::agent::peer;
    let me = peer::me().ok();
    loop {
        let Ok((s, _)) = l.accept().await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let Ok(permit) = conns.clone().try_acquire_owned() else {
            continue;
        };
        let Ok(std) = s.into_std() else { continue };
        let who = peer::of(&std);
        match &who {
            Ok((user, _)) if Some(user) == me.as_ref() => {}
            Ok((user, pid)) => {
                tracing::warn!(%user, pid = ?pid, "refused a proxy client of another user");
                state.shared.stats.refused.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "refused a proxy client whose user is unknown");
                continue;
            }
        }
        let Ok(s) = tokio::net::UnixStream::from_std(std) else {
            continue;
        };
        let client = Arc::new(OnceLock::new());
        let _ = client.set(
            who.ok()
                .and_then(|(_, pid)| pid)
                .map(|pid| (pid, peer::exe(pid))),
        );
        let conn = Conn { tcp: false, client };
        tokio::spawn(serve_conn(TokioIo::new(s), state.clone(), conn, permit));
    }
}

async fn serve_conn<I>(
    io: I,
    state: Arc<State>,
    conn: Conn,
    permit: tokio::sync::OwnedSemaphorePermit,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let conn = Arc::new(conn);
    let header_timeout = state.opts.header_timeout;
    let svc = service_fn(move |req| {
        let state = state.clone();
        let conn = conn.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&state, &conn, req).await) }
    });
    let mut b = hyper::server::conn::http1::Builder::new();
    b.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(64 * 1024);
    if let Err(e) = b.serve_connection(io, svc).await {
        tracing::debug!(error = %e, "a proxy client's connection ended");
    }
    drop(permit);
}

/// The proxy's own answer: a status and a line saying why.
fn own(status: StatusCode, why: &str) -> Response<Body> {
    let mut r = Response::new(
        Full::new(Bytes::from(format!("token-wallet proxy: {why}\n")))
            .map_err(|e| match e {})
            .boxed_unsync(),
    );
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

async fn handle(state: &State, conn: &Conn, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().as_str().to_string();
    let path_only = req.uri().path().to_string();
    // The proxy's own answer, audited as what the client was answered.
    let reply = |status: StatusCode, why: &str| {
        state.shared.count(
            &method,
            &path_only,
            status.as_u16(),
            0,
            conn.client.get().and_then(Option::as_ref),
        );
        own(status, why)
    };
    let refuse = |status: StatusCode, why: &str| {
        state.shared.stats.refused.fetch_add(1, Ordering::Relaxed);
        reply(status, why)
    };
    if let Err((status, why)) = admissible(state, conn, &req) {
        // Counted without what it named: its client is not known to be one of ours.
        state.shared.stats.refused.fetch_add(1, Ordering::Relaxed);
        state.shared.count_unauthenticated(status.as_u16());
        return own(status, &why);
    }
    let path = match SafePath::parse(req.uri().path()) {
        Ok(p) => p,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &e),
    };
    if !admitted(&state.opts.allow, &method, &path) {
        return refuse(
            StatusCode::FORBIDDEN,
            &format!(
                "{method} {} is not allowed by this proxy's --allow rules",
                path.as_str()
            ),
        );
    }
    let Ok(permit) = state.in_flight.clone().try_acquire_owned() else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy: too many requests at once",
        );
    };
    let cred = match state.shared.credential().await {
        Ok(c) => c,
        Err(e) => return refuse(StatusCode::SERVICE_UNAVAILABLE, &format!("no token: {e}")),
    };
    let up = match outgoing(state, req, &cred.header) {
        Ok(r) => r,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &e),
    };
    let answer =
        tokio::time::timeout(state.opts.upstream_timeout, state.upstream.request(up)).await;
    let resp = match answer {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            let why = error_chain(&e);
            return refuse(
                StatusCode::BAD_GATEWAY,
                &format!("the upstream could not be reached: {why}"),
            );
        }
        Err(_) => {
            return refuse(
                StatusCode::GATEWAY_TIMEOUT,
                &format!(
                    "the upstream did not answer within {} s",
                    state.opts.upstream_timeout.as_secs()
                ),
            )
        }
    };
    state.shared.stats.forwarded.fetch_add(1, Ordering::Relaxed);
    // Asked for `identity`, an API may compress anyway (`Content-Encoding`, or a
    // `Transfer-Encoding` besides chunked, which hyper does not undo): the token could
    // then come back inside bytes the concealment cannot read, so such an answer is not
    // passed on. An answer with no body (HEAD, 204, 304) carries nothing to hide one in.
    // The request did reach the API: counted as forwarded, audited as the 502 answered.
    let bodiless = method == "HEAD" || matches!(resp.status().as_u16(), 204 | 304);
    let coded = codings(resp.headers(), &header::CONTENT_ENCODING, "identity")
        .map(|c| ("Content-Encoding", c))
        .or_else(|| {
            codings(resp.headers(), &header::TRANSFER_ENCODING, "chunked")
                .map(|c| ("Transfer-Encoding", c))
        });
    if let (Some((name, coding)), false) = (coded, bodiless) {
        return reply(
            StatusCode::BAD_GATEWAY,
            &format!(
                "the request reached the upstream, which answered with {name}: {coding} \
                 although asked for none; the proxy cannot look into such an answer for the \
                 token, so it does not pass it on"
            ),
        );
    }
    let (mut parts, body) = resp.into_parts();
    strip(&mut parts.headers, HOP_BY_HOP);
    strip(&mut parts.headers, DROPPED_RESPONSE);
    for v in parts.headers.values_mut() {
        let mut b = v.as_bytes().to_vec();
        if conceal(&mut b, &cred.secrets) {
            // Same length, printable: still a valid value.
            if let Ok(new) = HeaderValue::from_bytes(&b) {
                *v = new;
            }
        }
    }
    let status = parts.status.as_u16();
    let shared = state.shared.clone();
    let client = conn.client.clone();
    let done = Box::new(move |bytes: u64| {
        shared.count(
            &method,
            path.as_str(),
            status,
            bytes,
            client.get().and_then(Option::as_ref),
        );
        drop(permit);
    });
    let body = Concealed::new(body, cred.secrets.clone(), done)
        .map_err(|e| Box::new(e) as BoxError)
        .boxed_unsync();
    Response::from_parts(parts, body)
}

/// The checks before anything else: the form of the request, its `Host`, its framing and
/// header bytes, the capability.
fn admissible(
    state: &State,
    conn: &Conn,
    req: &Request<Incoming>,
) -> Result<(), (StatusCode, String)> {
    let bad = |why: &str| Err((StatusCode::BAD_REQUEST, why.to_string()));
    if req.method() == Method::CONNECT {
        return Err((
            StatusCode::METHOD_NOT_ALLOWED,
            "CONNECT is refused: this is not a forward proxy".into(),
        ));
    }
    if req.method() == Method::TRACE {
        return Err((
            StatusCode::METHOD_NOT_ALLOWED,
            "TRACE is refused: it echoes the request, token and all".into(),
        ));
    }
    if req.uri().scheme().is_some() || req.uri().authority().is_some() {
        return bad("absolute URLs are refused: this is not a forward proxy; send the path only");
    }
    let h = req.headers();
    let hosts: Vec<&HeaderValue> = h.get_all(header::HOST).iter().collect();
    let host = match hosts.as_slice() {
        [one] => one.to_str().unwrap_or("").to_ascii_lowercase(),
        _ => return bad("a request needs exactly one Host header"),
    };
    let host_ok = if conn.tcp {
        state.tcp_hosts.contains(&host)
    } else {
        host == "localhost" || host.starts_with("localhost:")
    };
    if !host_ok {
        return Err((
            StatusCode::MISDIRECTED_REQUEST,
            "the Host header is not this proxy's address".into(),
        ));
    }
    // Content-Length beside Transfer-Encoding is how requests are smuggled; hyper drops
    // the Content-Length of such a request before this sees it, so any request body sent
    // in chunks is refused: bodies come with their length (they still stream).
    if h.contains_key(header::TRANSFER_ENCODING) {
        return Err((
            StatusCode::LENGTH_REQUIRED,
            "send the body with Content-Length: Transfer-Encoding is refused (Content-Length beside it is how requests are smuggled)".into(),
        ));
    }
    if h.values()
        .any(|v| v.as_bytes().iter().any(|b| *b == b'\r' || *b == b'\n'))
    {
        return bad("a header holds CR or LF");
    }
    if conn.tcp {
        let presented = [header::PROXY_AUTHORIZATION, header::AUTHORIZATION]
            .iter()
            .flat_map(|n| h.get_all(n))
            .any(|v| state.capability.presented_in(v.as_bytes()));
        if !presented {
            return Err((
                StatusCode::UNAUTHORIZED,
                "present this proxy's capability: `Authorization: Bearer twp_…` (printed when it started)".into(),
            ));
        }
    }
    Ok(())
}

/// The request to the upstream: its URL under the upstream's base, the client's headers
/// less the dropped ones, the token's `Authorization`, the client's body as it streams.
fn outgoing(
    state: &State,
    req: Request<Incoming>,
    auth: &HeaderValue,
) -> Result<Request<Incoming>, String> {
    let (mut parts, body) = req.into_parts();
    let mut target = state.base.clone();
    target.push_str(parts.uri.path());
    if let Some(q) = parts.uri.query() {
        target.push('?');
        target.push_str(q);
    }
    parts.uri = target
        .parse::<Uri>()
        .map_err(|e| format!("the target is not a URL: {e}"))?;
    // Headers the client's `Connection` names are this hop's too.
    let named: Vec<HeaderName> = parts
        .headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named {
        parts.headers.remove(n);
    }
    strip(&mut parts.headers, HOP_BY_HOP);
    strip(&mut parts.headers, DROPPED_REQUEST);
    parts.headers.insert(header::AUTHORIZATION, auth.clone());
    // An answer the proxy can read, to conceal the token in it.
    parts.headers.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    parts.version = http::Version::HTTP_11;
    Ok(Request::from_parts(parts, body))
}

/// The codings header `name` lists besides `plain` (`identity` for `Content-Encoding`,
/// `chunked` for `Transfer-Encoding`), joined, each a registered coding's name or
/// `(another)` (the upstream's own words could hold anything, the token included, and
/// are never repeated); `None` if there is none.
fn codings(h: &HeaderMap, name: &HeaderName, plain: &str) -> Option<String> {
    const KNOWN: &[&str] = &[
        "gzip", "x-gzip", "deflate", "br", "zstd", "compress", "dcb", "dcz",
    ];
    let codings: Vec<&str> = h
        .get_all(name)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case(plain.as_bytes()))
        .map(|c| {
            KNOWN
                .iter()
                .find(|k| c.eq_ignore_ascii_case(k.as_bytes()))
                .copied()
                .unwrap_or("(another)")
        })
        .collect();
    (!codings.is_empty()).then(|| codings.join(", "))
}

fn strip(h: &mut HeaderMap, names: &[&str]) {
    for n in names {
        h.remove(*n);
    }
}

/// An error and its causes, in words (hyper-util's top error says only "client error").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut words = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        words.push_str(": ");
        words.push_str(&c.to_string());
        cause = c.source();
    }
    words
}

#[cfg(test)]
mod tests {
    use super::codings;
    use http::header::{HeaderMap, HeaderValue, CONTENT_ENCODING, TRANSFER_ENCODING};

    fn content_coding(h: &HeaderMap) -> Option<String> {
        codings(h, &CONTENT_ENCODING, "identity")
    }

    fn with(values: &[&[u8]]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(CONTENT_ENCODING, HeaderValue::from_bytes(v).unwrap());
        }
        h
    }

    #[test]
    fn only_identity_or_nothing_passes() {
        assert_eq!(content_coding(&HeaderMap::new()), None);
        assert_eq!(content_coding(&with(&[b"identity"])), None);
        assert_eq!(content_coding(&with(&[b" Identity , "])), None);
        assert_eq!(content_coding(&with(&[b"GZIP"])).as_deref(), Some("gzip"));
        assert_eq!(
            content_coding(&with(&[b"identity, br", b"zstd"])).as_deref(),
            Some("br, zstd")
        );
    }

    #[test]
    fn a_transfer_coding_besides_chunked_is_seen() {
        let mut h = HeaderMap::new();
        h.append(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        assert_eq!(codings(&h, &TRANSFER_ENCODING, "chunked"), None);
        h.insert(TRANSFER_ENCODING, HeaderValue::from_static("gzip, chunked"));
        assert_eq!(
            codings(&h, &TRANSFER_ENCODING, "chunked").as_deref(),
            Some("gzip")
        );
    }

    #[test]
    fn fail_an_unknown_coding_is_never_repeated() {
        // An upstream could put anything there, the token included.
        let secret = b"tok_3fa9c1d2e4b5";
        let said = content_coding(&with(&[secret])).unwrap();
        assert_eq!(said, "(another)");
        assert!(!said.contains("tok_"));
        let said = content_coding(&with(&[b"gzip\xff"])).unwrap();
        assert_eq!(said, "(another)");
    }
}
