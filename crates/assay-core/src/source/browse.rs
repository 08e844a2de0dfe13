//! What is in a folder or under an S3 prefix, for the workbench's open dialog: folders
//! first, then files, each with its size; S3 "folders" are common prefixes.

use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;

use super::s3::{split_url, store_error, S3Config};
use super::{Format, OpenOptions};
use crate::error::io_error;
use crate::source::Result;

/// One thing in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name shown (a folder ends with `/`).
    pub name: String,
    /// What to open or list next: a path or an `s3://` URL.
    pub spec: String,
    pub is_dir: bool,
    pub size: Option<u64>,
    /// Whether assay can open it as a dataset (a known extension: a data format, a
    /// compressed one, a workbook).
    pub data: bool,
}

/// The folder (or S3 prefix) above `location`, if any.
pub fn parent(location: &str) -> Option<String> {
    if let Some(rest) = location.strip_prefix("s3://") {
        let trimmed = rest.trim_end_matches('/');
        return trimmed.rfind('/').map(|i| format!("s3://{}/", &trimmed[..i]));
    }
    let path = std::path::Path::new(location);
    path.parent().map(|p| if p.as_os_str().is_empty() { ".".into() } else { p.display().to_string() })
}

/// Lists `location`: a local folder, `s3://bucket/prefix/`, or a workbook's sheets (each
/// `BOOK.xlsx?sheet=NAME`, in the workbook's order).
pub async fn list(location: &str, options: &OpenOptions) -> Result<Vec<Entry>> {
    if super::excel::is_workbook(location) && std::path::Path::new(location).is_file() {
        let book = location.to_string();
        let names = crate::error::blocking(move || super::excel::sheet_names(&book)).await??;
        return Ok(names
            .into_iter()
            .map(|name| Entry {
                spec: format!(
                    "{location}?sheet={}",
                    url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
                ),
                name,
                is_dir: false,
                size: None,
                data: true,
            })
            .collect());
    }
    let mut entries = if crate::source::Place::of(location).is_s3() {
        list_s3(location, options).await?
    } else {
        let location = location.to_string();
        tokio::task::spawn_blocking(move || list_local(&location))
            .await
            .map_err(|e| crate::error::Error::runtime(format!("listing: {e}")))??
    };
    entries.sort_by(|a, b| {
        b.is_dir.cmp(&a.is_dir).then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    Ok(entries)
}

fn list_local(location: &str) -> Result<Vec<Entry>> {
    let dir = std::fs::read_dir(location).map_err(|e| io_error(location, &e))?;
    let mut out = Vec::new();
    for item in dir.flatten() {
        let name = item.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = item.path();
        // Follow symlinks: a link to a folder is a folder.
        let meta = std::fs::metadata(&path).ok();
        let is_dir = meta.as_ref().is_some_and(|m| m.is_dir());
        let spec = path.display().to_string();
        let spec = spec.strip_prefix("./").map(str::to_string).unwrap_or(spec);
        out.push(Entry {
            name: if is_dir { format!("{name}/") } else { name.clone() },
            spec,
            is_dir,
            size: meta.filter(|m| m.is_file()).map(|m| m.len()),
            data: !is_dir
                && (Format::from_extension(super::compressed::strip_extension(&name)).is_some()
                    || super::excel::is_workbook(&name)),
        });
    }
    Ok(out)
}

async fn list_s3(location: &str, options: &OpenOptions) -> Result<Vec<Entry>> {
    let config = S3Config::resolve(options.s3_endpoint.as_deref())?;
    let (bucket, key) = split_url(location)?;
    let store = config.store(&bucket)?;
    let prefix = (!key.is_empty()).then(|| ObjectPath::from(key.trim_end_matches('/')));
    let listing = store.list_with_delimiter(prefix.as_ref()).await.map_err(|e| store_error(location, e))?;
    let mut out = Vec::new();
    for p in listing.common_prefixes {
        let name = p.filename().unwrap_or(p.as_ref()).to_string();
        out.push(Entry {
            name: format!("{name}/"),
            spec: format!("s3://{bucket}/{p}/"),
            is_dir: true,
            size: None,
            data: false,
        });
    }
    for o in listing.objects {
        let name = o.location.filename().unwrap_or(o.location.as_ref()).to_string();
        out.push(Entry {
            data: Format::from_extension(&name).is_some(),
            name,
            spec: format!("s3://{bucket}/{}", o.location),
            is_dir: false,
            size: Some(o.size),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_of_paths_and_prefixes() {
        assert_eq!(parent("s3://lake/orders/2024/").as_deref(), Some("s3://lake/orders/"));
        assert_eq!(parent("s3://lake/orders/").as_deref(), Some("s3://lake/"));
        assert_eq!(parent("s3://lake/"), None);
        assert_eq!(parent("data/sub").as_deref(), Some("data"));
        assert_eq!(parent("data").as_deref(), Some("."));
    }

    #[tokio::test]
    async fn local_folders_list_folders_first_with_sizes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("zeta")).unwrap();
        std::fs::write(dir.path().join("a.csv"), "x\n1\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "hi").unwrap();
        std::fs::write(dir.path().join(".hidden"), "").unwrap();
        let entries = list(&dir.path().display().to_string(), &Default::default()).await.unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["zeta/", "a.csv", "notes.txt"]);
        assert_eq!(entries[1].size, Some(4));
        assert!(entries[1].data && !entries[2].data && entries[0].is_dir);
        assert!(list("/no/such/folder", &Default::default())
            .await
            .unwrap_err()
            .to_string()
            .contains("/no/such/folder"));
    }
}
