//! The system browser, for the sign-in.

/// What separates the commands in `$BROWSER`: `:` as on Unix, `;` on Windows (like `PATH`),
/// where a command's path holds a drive's colon.
const BROWSER_SEPARATOR: char = if cfg!(windows) { ';' } else { ':' };

/// Opens `url` in the system browser: `$BROWSER` if set (the Unix convention: a command,
/// or several separated by `:` (`;` on Windows), `%s` replaced by the URL or the URL
/// appended), else the platform opener. The browser is never waited for beyond its start.
pub fn open(url: &str) -> Result<(), String> {
    if let Ok(b) = std::env::var("BROWSER") {
        let mut last = String::from("$BROWSER is empty");
        for cmd in b.split(BROWSER_SEPARATOR).filter(|c| !c.trim().is_empty()) {
            let mut parts: Vec<String> = cmd.split_whitespace().map(str::to_string).collect();
            if parts.iter().any(|p| p.contains("%s")) {
                for p in &mut parts {
                    *p = p.replace("%s", url);
                }
            } else {
                parts.push(url.to_string());
            }
            match std::process::Command::new(&parts[0])
                .args(&parts[1..])
                .stdin(std::process::Stdio::null())
                .spawn()
            {
                Ok(_) => return Ok(()),
                Err(e) => last = format!("`{}`: {e}", parts[0]),
            }
        }
        return Err(last);
    }
    let (prog, args): (&str, Vec<&str>) = if cfg!(target_os = "macos") {
        ("open", vec![url])
    } else if cfg!(windows) {
        ("rundll32", vec!["url.dll,FileProtocolHandler", url])
    } else {
        ("xdg-open", vec![url])
    };
    std::process::Command::new(prog)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .map(|_| ())
        .map_err(|e| format!("`{prog}`: {e}"))
}
