//! What may be logged. Token Wallet's own events never carry a secret (names and error
//! kinds only). Other crates' events can: ureq's and rustls's trace output hex-dumps
//! request and response bodies and `Authorization` headers. So whatever
//! `TOKEN_WALLET_LOG` asks for, another crate's event is shown only at WARN or above, and
//! front ends do not bridge the `log` crate (where ureq and rustls write) into tracing at
//! all.

/// Sets the process's one log subscriber: to stderr, `TOKEN_WALLET_LOG` choosing what
/// (`target=level,...` directives, a bare level the default; unset or unreadable:
/// `default`), held to [`allowed`]. Colour when `ansi`. Does nothing if one is set already.
pub fn init(default: tracing::Level, ansi: bool) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt as _;
    // `Targets`, not `EnvFilter`: no regular-expression engine in a command whose start-up
    // time matters.
    let filter = std::env::var("TOKEN_WALLET_LOG")
        .ok()
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(default));
    let sub = tracing_subscriber::fmt()
        // Everything reaches `filter`, which decides (fmt alone would stop at INFO).
        .with_max_level(tracing::Level::TRACE)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .finish()
        .with(filter)
        .with(tracing_subscriber::filter::filter_fn(allowed));
    let _ = tracing::subscriber::set_global_default(sub);
}

/// Whether an event or span with this metadata may be logged: Token Wallet's own at any
/// level, any other crate's at WARN or above only.
pub fn allowed(meta: &tracing::Metadata<'_>) -> bool {
    meta.target().starts_with("token_wallet") || *meta.level() <= tracing::Level::WARN
}

#[cfg(test)]
mod tests {
    #[test]
    fn other_crates_are_held_to_warn() {
        use tracing::Level;
        // Metadata is only built by tracing's macros; check through a callsite each.
        struct Probe(std::sync::Mutex<Vec<(String, Level, bool)>>);
        impl tracing::Subscriber for Probe {
            fn enabled(&self, m: &tracing::Metadata<'_>) -> bool {
                self.0.lock().unwrap().push((
                    m.target().to_string(),
                    *m.level(),
                    super::allowed(m),
                ));
                false
            }
            fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
                tracing::span::Id::from_u64(1)
            }
            fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
            fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
            fn event(&self, _: &tracing::Event<'_>) {}
            fn enter(&self, _: &tracing::span::Id) {}
            fn exit(&self, _: &tracing::span::Id) {}
        }
        let p = std::sync::Arc::new(Probe(Default::default()));
        tracing::subscriber::with_default(p.clone(), || {
            tracing::trace!(target: "ureq::unversioned::transport", "body");
            tracing::warn!(target: "rustls", "warning");
            tracing::trace!(target: "token_wallet_core::oauth", "ours");
        });
        let seen = p.0.lock().unwrap().clone();
        let verdict = |t: &str| seen.iter().find(|(x, ..)| x == t).map(|s| s.2);
        assert_eq!(verdict("ureq::unversioned::transport"), Some(false));
        assert_eq!(verdict("rustls"), Some(true));
        assert_eq!(verdict("token_wallet_core::oauth"), Some(true));
    }
}
