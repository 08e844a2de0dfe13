//! Postgres URLs: our own parameters split from the server's, percent-decoding, the
//! connection settings (TLS included), and the password from `PGPASSWORD` or
//! `~/.pgpass`, never from the URL or a log.

use super::*;

/// Splits our parameters (`table`, `mode`, `key`, `query`) from a URL's, which go to the
/// connection (`connect_timeout`, `application_name`, `sslmode`, …).
pub(super) fn split_params(url: &str, ours: &[&str]) -> (String, Vec<(String, String)>) {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut theirs = Vec::new();
    let mut mine = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if ours.contains(&k) {
            mine.push((k.to_string(), decode(v)));
        } else {
            theirs.push(pair.to_string());
        }
    }
    let url = if theirs.is_empty() { base.to_string() } else { format!("{base}?{}", theirs.join("&")) };
    (url, mine)
}

/// `%XX` escapes and `+` as a space (a query in a URL).
pub(super) fn decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The connection settings of a `postgres://` URL (without our parameters), completed
/// from the environment and the password file.
pub fn connect_config(url: &str) -> Result<(Config, String)> {
    // tokio-postgres knows `disable|prefer|require`: the verifying modes and the root
    // certificate are assay's (`pg_tls`), carried to `connect` in `TLS_SETTINGS`.
    let (url, tls) = split_params(url, &["sslmode", "sslrootcert"]);
    let mode = tls.iter().rev().find(|(k, _)| k == "sslmode").map(|(_, v)| v.clone());
    let root = tls.iter().rev().find(|(k, _)| k == "sslrootcert").map(|(_, v)| v.clone());
    let url = url.as_str();
    let mut config: Config = url
        .parse()
        .map_err(|e| Error::refused(format!("{}: not a Postgres URL: {e}", crate::source::redact(url))))?;
    use tokio_postgres::config::SslMode;
    let verify = match mode.as_deref().unwrap_or("prefer") {
        "disable" => {
            config.ssl_mode(SslMode::Disable);
            None
        }
        "allow" | "prefer" => {
            config.ssl_mode(SslMode::Prefer);
            Some(Verify::Nothing)
        }
        "require" if root.is_none() => {
            config.ssl_mode(SslMode::Require);
            Some(Verify::Nothing)
        }
        // libpq: `require` with a root certificate checks it as verify-ca does.
        "require" | "verify-ca" => {
            config.ssl_mode(SslMode::Require);
            Some(Verify::Authority)
        }
        "verify-full" => {
            config.ssl_mode(SslMode::Require);
            Some(Verify::Full)
        }
        other => {
            return Err(Error::refused(format!(
                "{}: sslmode={other}: expected disable, prefer, require, verify-ca or verify-full",
                crate::source::redact(url)
            )))
        }
    };
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if config.get_hosts().is_empty() {
        config.host(env("PGHOST").unwrap_or_else(|| "localhost".into()));
    }
    if config.get_ports().is_empty() {
        if let Some(port) = env("PGPORT").and_then(|p| p.parse().ok()) {
            config.port(port);
        }
    }
    if config.get_user().is_none() {
        let user = env("PGUSER").or_else(|| env("USER")).unwrap_or_else(|| "postgres".into());
        config.user(&user);
    }
    if config.get_dbname().is_none() {
        if let Some(db) = env("PGDATABASE") {
            config.dbname(&db);
        }
    }
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("").to_string();
    let db = config.get_dbname().unwrap_or(&user).to_string();
    if config.get_password().is_none() {
        if let Some(pw) = env("PGPASSWORD").or_else(|| pgpass(&host, port, &db, &user)) {
            config.password(pw);
        }
    }
    let server = format!("postgres://{user}@{host}:{port}/{db}");
    let tls = verify.map(|v| pg_tls::client_config(v, root.as_deref())).transpose()?;
    TLS_SETTINGS.lock().unwrap_or_else(|e| e.into_inner()).insert(server.clone(), tls);
    Ok((config, server))
}

/// The password for a connection from `PGPASSFILE` or `~/.pgpass` (libpq's format:
/// `host:port:database:user:password`, `*` matches anything, `\:` and `\\` escape). Like
/// libpq, a file others can read is ignored.
pub(super) fn pgpass(host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    let path = std::env::var_os("PGPASSFILE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pgpass")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(&path).ok()?.permissions().mode() & 0o077 != 0 {
            tracing::warn!("{}: readable by others; ignored (chmod 600)", path.display());
            return None;
        }
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let host = if host.starts_with('/') { "localhost" } else { host };
    let port = port.to_string();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty()) {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => field.extend(chars.next()),
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut field)),
                c => field.push(c),
            }
        }
        fields.push(field);
        if fields.len() != 5 {
            continue;
        }
        let matches = |pattern: &str, value: &str| pattern == "*" || pattern == value;
        if matches(&fields[0], host)
            && matches(&fields[1], &port)
            && matches(&fields[2], db)
            && matches(&fields[3], user)
        {
            return Some(fields[4].clone());
        }
    }
    None
}
