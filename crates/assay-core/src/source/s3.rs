//! S3 locations: credentials and endpoint resolution (environment, then the AWS profile
//! files), listing of prefixes and globs, and small ranged reads for sniffing.
//!
//! Secrets are held here only to hand them to the object stores of both engines; they
//! are redacted from `Debug` and never appear in messages.

use std::str::FromStr;
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::source::{Error, Result};

/// Everything needed to reach one S3-compatible service.
#[derive(Clone, PartialEq, Default)]
pub struct S3Config {
    pub endpoint: Option<String>,
    pub region: String,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl S3Config {
    /// Resolves the configuration: `endpoint` (from `--s3-endpoint`) over
    /// `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`; keys from `AWS_ACCESS_KEY_ID` /
    /// `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, else from the profile
    /// (`AWS_PROFILE`, default `default`) in `~/.aws/credentials`; region from
    /// `AWS_REGION` / `AWS_DEFAULT_REGION`, else the profile in `~/.aws/config`.
    pub fn resolve(endpoint: Option<&str>) -> Result<S3Config> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_string());
        let home = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf());
        let from_file = |file: &str, section: &str, key: &str| -> Option<String> {
            let path =
                env(if file == "credentials" { "AWS_SHARED_CREDENTIALS_FILE" } else { "AWS_CONFIG_FILE" })
                    .map(std::path::PathBuf::from)
                    .or_else(|| home.as_ref().map(|h| h.join(".aws").join(file)))?;
            let text = std::fs::read_to_string(path).ok()?;
            ini_value(&text, section, key)
        };
        let config_section =
            if profile == "default" { "default".to_string() } else { format!("profile {profile}") };
        let mut access_key_id = env("AWS_ACCESS_KEY_ID");
        let mut secret_access_key = env("AWS_SECRET_ACCESS_KEY");
        let mut session_token = env("AWS_SESSION_TOKEN");
        if access_key_id.is_none() {
            access_key_id = from_file("credentials", &profile, "aws_access_key_id");
            secret_access_key = from_file("credentials", &profile, "aws_secret_access_key");
            session_token = from_file("credentials", &profile, "aws_session_token");
        }
        let region = env("AWS_REGION")
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .or_else(|| from_file("config", &config_section, "region"))
            .unwrap_or_else(|| "us-east-1".to_string());
        let endpoint = endpoint
            .map(str::to_string)
            .or_else(|| env("AWS_ENDPOINT_URL_S3"))
            .or_else(|| env("AWS_ENDPOINT_URL"));
        if let Some(e) = &endpoint {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                return Err(Error::unreadable(format!(
                    "S3 endpoint `{e}` must start with http:// or https://"
                )));
            }
        }
        Ok(S3Config { endpoint, region, access_key_id, secret_access_key, session_token })
    }

    /// The settings as object_store keys, shared by the DataFusion store and Polars'
    /// cloud options so that both engines reach the same service the same way.
    pub fn object_store_options(&self) -> Vec<(AmazonS3ConfigKey, String)> {
        let mut out = vec![("aws_region", self.region.clone())];
        if let Some(e) = &self.endpoint {
            out.push(("aws_endpoint", e.clone()));
            // Local S3-compatible servers speak plain HTTP and path-style URLs.
            out.push(("allow_http", "true".to_string()));
            out.push(("aws_virtual_hosted_style_request", "false".to_string()));
        }
        if let (Some(k), Some(s)) = (&self.access_key_id, &self.secret_access_key) {
            out.push(("aws_access_key_id", k.clone()));
            out.push(("aws_secret_access_key", s.clone()));
            if let Some(t) = &self.session_token {
                out.push(("aws_token", t.clone()));
            }
        } else {
            out.push(("aws_skip_signature", "true".to_string()));
        }
        out.into_iter().filter_map(|(k, v)| AmazonS3ConfigKey::from_str(k).ok().map(|k| (k, v))).collect()
    }

    /// An object store for `bucket`.
    pub fn store(&self, bucket: &str) -> Result<Arc<AmazonS3>> {
        // Few, quick retries: an unreachable endpoint should say so in seconds.
        let retry = object_store::RetryConfig {
            max_retries: 3,
            retry_timeout: std::time::Duration::from_secs(30),
            ..Default::default()
        };
        let mut builder = AmazonS3Builder::new().with_bucket_name(bucket).with_retry(retry);
        for (key, value) in self.object_store_options() {
            builder = builder.with_config(key, value);
        }
        builder
            .build()
            .map(Arc::new)
            .map_err(|e| Error::unreadable(format!("s3://{bucket}: bad S3 configuration: {e}")))
    }
}

/// The value of `key` in `[section]` of an INI-style AWS file.
fn ini_value(text: &str, section: &str, key: &str) -> Option<String> {
    let mut in_section = false;
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = name.trim() == section;
        } else if in_section {
            if let Some((k, v)) = line.split_once('=') {
                if k.trim() == key {
                    return Some(v.trim().to_string());
                }
            }
        }
    }
    None
}

/// Splits `s3://bucket/key` into bucket and key.
pub fn split_url(url: &str) -> Result<(String, String)> {
    let rest =
        url.strip_prefix("s3://").ok_or_else(|| Error::unreadable(format!("{url}: not an s3:// URL")))?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(Error::unreadable(format!("{url}: no bucket name")));
    }
    Ok((bucket.to_string(), key.to_string()))
}

const ACCESS_HINT: &str = " (access denied: check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE)";

/// Turns an object_store failure on `url` into an error a person can act on.
pub fn store_error(url: &str, err: object_store::Error) -> Error {
    match err {
        object_store::Error::NotFound { .. } => Error::unreadable(format!("{url}: no such object")),
        e @ (object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }) => {
            Error::read_failed(format!(
                "{url}: S3 request failed{ACCESS_HINT}: {}",
                first_line(&e.to_string())
            ))
        }
        other => {
            let text = other.to_string();
            // A transport failure first: its text carries timings ("in 403.1ms") that
            // must not read as a status code.
            let hint =
                if ["onnect", "dns", "timed out", "error sending request"].iter().any(|k| text.contains(k)) {
                    " (S3 endpoint unreachable: check AWS_ENDPOINT_URL or --s3-endpoint)"
                } else if text.contains("403 Forbidden")
                    || text.contains("status 403")
                    || text.contains("AccessDenied")
                    || text.contains("InvalidAccessKeyId")
                    || text.contains("SignatureDoesNotMatch")
                {
                    ACCESS_HINT
                } else {
                    ""
                };
            Error::read_failed(format!("{url}: S3 request failed{hint}: {}", first_line(&text)))
        }
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// The objects a URL stands for: one object, every object under a prefix ending in `/`,
/// or the objects matching a glob in the key. Sorted, never empty.
pub async fn list(config: &S3Config, url: &str) -> Result<Vec<String>> {
    let (bucket, key) = split_url(url)?;
    let store = config.store(&bucket)?;
    let glob_at = key.find(['*', '?', '[']);
    if glob_at.is_none() && !key.is_empty() && !key.ends_with('/') {
        store.head(&ObjectPath::from(key.as_str())).await.map_err(|e| store_error(url, e))?;
        return Ok(vec![url.to_string()]);
    }
    let prefix_end = match glob_at {
        Some(at) => key[..at].rfind('/').map(|i| i + 1).unwrap_or(0),
        None => key.len(),
    };
    let prefix = &key[..prefix_end];
    let pattern = match glob_at {
        Some(_) => Some(
            glob::Pattern::new(&key)
                .map_err(|e| Error::unreadable(format!("{url}: bad glob pattern: {e}")))?,
        ),
        None => None,
    };
    let prefix_path = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
    let objects: Vec<_> =
        store.list(prefix_path.as_ref()).try_collect().await.map_err(|e| store_error(url, e))?;
    let mut files: Vec<String> = objects
        .into_iter()
        .map(|m| m.location.to_string())
        .filter(|k| match &pattern {
            Some(p) => p.matches(k),
            None => super::Format::from_extension(k).is_some(),
        })
        .map(|k| format!("s3://{bucket}/{k}"))
        .collect();
    if files.is_empty() {
        return Err(Error::unreadable(format!("{url}: no objects match")));
    }
    files.sort();
    Ok(files)
}

/// The first `len` bytes of the object at `url` (fewer if it is shorter).
pub async fn read_prefix(config: &S3Config, url: &str, len: usize) -> Result<Vec<u8>> {
    let (bucket, key) = split_url(url)?;
    let store = config.store(&bucket)?;
    let path = ObjectPath::from(key.as_str());
    let meta = store.head(&path).await.map_err(|e| store_error(url, e))?;
    let end = meta.size.min(len as u64);
    if end == 0 {
        return Ok(Vec::new());
    }
    let bytes = store.get_range(&path, 0..end).await.map_err(|e| store_error(url, e))?;
    Ok(bytes.to_vec())
}

/// Where the NDJSON object at `url` nests deeper than the engines' JSON readers can
/// take (they recurse per level: a crash, not a message), read whole once per version
/// (URL, size, ETag; remembered as verified local files are) as it streams in.
pub async fn too_deep(config: &S3Config, url: &str) -> Result<Option<String>> {
    use super::csv_count::{self, Whole};
    use futures::StreamExt;
    let (size, etag, _) = head(config, url).await?;
    let version = etag.map(|etag| csv_count::object_key(Whole::JsonDepth, url, size, &etag));
    if version.as_deref().is_some_and(csv_count::is_known_object) {
        return Ok(None);
    }
    let (bucket, key) = split_url(url)?;
    let store = config.store(&bucket)?;
    let got = store.get(&ObjectPath::from(key.as_str())).await.map_err(|e| store_error(url, e))?;
    let mut scan = super::file_diagnose::DeepLines::default();
    let mut stream = got.into_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| store_error(url, e))?;
        if let Some(problem) = scan.feed(url, &chunk) {
            return Ok(Some(problem));
        }
    }
    if let Some(version) = version {
        csv_count::remember(version);
    }
    Ok(None)
}

/// The size, ETag and modification time (RFC 3339) of the object at `url` (for run
/// manifests).
pub async fn head(config: &S3Config, url: &str) -> Result<(u64, Option<String>, String)> {
    let (bucket, key) = split_url(url)?;
    let store = config.store(&bucket)?;
    let meta = store.head(&ObjectPath::from(key.as_str())).await.map_err(|e| store_error(url, e))?;
    Ok((meta.size, meta.e_tag, meta.last_modified.to_rfc3339()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_sections_are_respected() {
        let text = "[default]\naws_access_key_id = A\n[prod]\naws_access_key_id=B\n";
        assert_eq!(ini_value(text, "prod", "aws_access_key_id").as_deref(), Some("B"));
        assert_eq!(ini_value(text, "default", "aws_access_key_id").as_deref(), Some("A"));
        assert_eq!(ini_value(text, "dev", "aws_access_key_id"), None);
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = S3Config {
            access_key_id: Some("AKIDSECRET".into()),
            secret_access_key: Some("VERYSECRET".into()),
            ..Default::default()
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }
}
