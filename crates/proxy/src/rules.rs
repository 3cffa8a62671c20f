//! What a proxy lets through: the request target's path, made safe to match ([`SafePath`]),
//! and the `--allow` rules ([`Allow`]) it is matched against.

use std::fmt;

/// A request path that means what it says: it starts with `/` and holds no dot segment
/// (`.`, `..`, raw or percent-encoded), no encoded slash or backslash, no backslash and no
/// control character, so the upstream cannot read it as another path than the one the
/// rules were matched against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafePath(String);

impl SafePath {
    /// Parses `path` (without its query).
    pub fn parse(path: &str) -> Result<Self, String> {
        if !path.starts_with('/') {
            return Err("the path must start with `/`".into());
        }
        if path.bytes().any(|b| b.is_ascii_control() || b == b'\\') {
            return Err("the path holds a backslash or a control character".into());
        }
        let lower = path.to_ascii_lowercase();
        // Encoded `/`, `\`, NUL and `.`, and an encoded `%` (which a gateway that decodes
        // twice turns into any of them), can make an upstream read another path.
        for enc in ["%2f", "%5c", "%00", "%2e", "%25"] {
            if lower.contains(enc) {
                return Err(format!(
                    "the path holds `{enc}` (an encoded `/`, `\\`, NUL, `.` or `%`)"
                ));
            }
        }
        // `;` starts path parameters, which some servers strip before routing
        // (`/v1/public/..;/admin`).
        if path.contains(';') {
            return Err("the path holds `;` (path parameters)".into());
        }
        if !path.is_ascii() {
            return Err("the path holds a byte that is not ASCII".into());
        }
        if lower.split('/').any(|seg| seg == "." || seg == "..") {
            return Err("the path holds a `.` or `..` segment".into());
        }
        Ok(Self(path.to_string()))
    }

    /// The path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One `--allow` rule: a method (or `*`, any) and a path, exact or, ending in `*`, a
/// prefix (of the whole path: `/v1/expenses*` also admits `/v1/expenses-admin`; write
/// `/v1/expenses` and `/v1/expenses/*` to keep to that collection).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allow {
    method: Option<String>,
    path: String,
    prefix: bool,
}

impl Allow {
    /// Parses `METHOD /path` or `METHOD /prefix*` (`METHOD` is a method name in capitals
    /// or `*`).
    pub fn parse(rule: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("the rule `{rule}` {why}; write it as `GET /v1/expenses*`");
        let (method, path) = rule
            .trim()
            .split_once(char::is_whitespace)
            .ok_or_else(|| bad("needs a method and a path"))?;
        let path = path.trim();
        let method = match method {
            "*" => None,
            m if !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase()) => Some(m.to_string()),
            _ => return Err(bad("has a method that is not a word in capitals or `*`")),
        };
        let (path, prefix) = match path.strip_suffix('*') {
            Some(p) => (p, true),
            None => (path, false),
        };
        if path.contains('*') {
            return Err(bad(
                "has a `*` before its end (only a final `*` is a wildcard)",
            ));
        }
        if path.contains('?') {
            return Err(bad("has a query (rules match the path only)"));
        }
        SafePath::parse(path).map_err(|e| bad(&format!("has a path the proxy refuses: {e}")))?;
        Ok(Self {
            method,
            path: path.to_string(),
            prefix,
        })
    }

    /// Whether this rule lets `method` `path` through.
    pub fn admits(&self, method: &str, path: &SafePath) -> bool {
        let method_ok = self.method.as_deref().is_none_or(|m| m == method);
        let path_ok = if self.prefix {
            path.as_str().starts_with(&self.path)
        } else {
            path.as_str() == self.path
        };
        method_ok && path_ok
    }
}

impl fmt::Display for Allow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.method.as_deref().unwrap_or("*");
        let star = if self.prefix { "*" } else { "" };
        write!(f, "{m} {}{star}", self.path)
    }
}

/// Whether `rules` let `method` `path` through (no rules: everything).
pub fn admitted(rules: &[Allow], method: &str, path: &SafePath) -> bool {
    rules.is_empty() || rules.iter().any(|r| r.admits(method, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> SafePath {
        SafePath::parse(s).unwrap()
    }

    #[test]
    fn rules_match_method_and_exact_or_prefix_path() {
        let r = vec![
            Allow::parse("GET /v1/expenses*").unwrap(),
            Allow::parse("POST /v1/export-jobs").unwrap(),
        ];
        assert!(admitted(&r, "GET", &p("/v1/expenses")));
        assert!(admitted(&r, "GET", &p("/v1/expenses/42")));
        assert!(!admitted(&r, "DELETE", &p("/v1/expenses/42")));
        assert!(admitted(&r, "POST", &p("/v1/export-jobs")));
        assert!(!admitted(&r, "POST", &p("/v1/export-jobs/1")));
        assert!(!admitted(&r, "GET", &p("/v1/users")));
        assert!(admitted(&[], "DELETE", &p("/anything")));
        let any = Allow::parse("* /v1/*").unwrap();
        assert!(any.admits("PATCH", &p("/v1/x")));
        assert_eq!(any.to_string(), "* /v1/*");
    }

    #[test]
    fn fail_bad_rules_say_how_to_write_one() {
        for bad in [
            "/v1/expenses",
            "get /v1",
            "GET v1",
            "GET /v1/*/x",
            "GET /v1?x=1",
            "GET /v1/../admin",
        ] {
            let e = Allow::parse(bad).unwrap_err();
            assert!(e.contains("GET /v1/expenses*"), "{bad}: {e}");
        }
    }

    #[test]
    fn fail_paths_that_could_mean_another_path() {
        for bad in [
            "v1",
            "/v1/expenses/../users",
            "/v1/expenses/%2e%2E/users",
            "/v1/./x",
            "/v1/expenses%2f..%2fusers",
            "/v1\\users",
            "/v1/%00",
            "/v1/\u{7f}",
            "/v1/public/..;/admin",
            "/v1/x;jsessionid=1",
            "/v1/%252e%252e/admin",
            "/v1/a%2Eb",
            "/v1/\u{ff0e}\u{ff0e}/admin",
        ] {
            assert!(SafePath::parse(bad).is_err(), "{bad}");
        }
        assert!(SafePath::parse("/v1/expenses/a.b/..c").is_ok());
    }
}
