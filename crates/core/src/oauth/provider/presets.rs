//! The built-in provider presets: Pleo and Pleo's staging, from Pleo's developer
//! documentation.

use super::{Check, ClientAuth, Provider, ProviderKind, RedirectMode, Revocation};

fn pleo(name: &str, display: &str, auth_host: &str, api_host: &str) -> Provider {
    Provider {
        name: name.into(),
        display_name: display.into(),
        authorize_url: format!("https://{auth_host}/oauth/authorize"),
        token_url: format!("https://{auth_host}/oauth/token"),
        api_base: Some(format!("https://{api_host}")),
        default_scopes: vec!["users:read".into()],
        redirect: RedirectMode::Pinned("http://localhost:8976/callback".into()),
        client_auth: ClientAuth::None,
        client_id: None,
        revocation: Revocation::PleoInstallation,
        check: Check::PleoIntrospect,
        kind: Some(ProviderKind::Pleo),
    }
}

/// The built-in presets, from Pleo's developer documentation.
pub fn presets() -> Vec<Provider> {
    vec![
        pleo("pleo", "Pleo", "auth.pleo.io", "external.pleo.io"),
        pleo(
            "pleo-staging",
            "Pleo (staging)",
            "auth.staging.pleo.io",
            "external.staging.pleo.io",
        ),
    ]
}
