//! What the SQL editor keeps across sessions, in the data dir: the queries run
//! (`history.sql`) and the queries saved by name (`queries.toml`).

/// A file of named queries (`queries.toml` in the data dir).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct SavedQueries {
    #[serde(default)]
    query: Vec<SavedQuery>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct SavedQuery {
    name: String,
    sql: String,
}

/// Named queries from `path` (none when it is missing; a file that does not parse is
/// reported in the log and read as none).
pub fn load_saved(path: &std::path::Path) -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    match toml::from_str::<SavedQueries>(&text) {
        Ok(s) => s.query.into_iter().map(|q| (q.name, q.sql)).collect(),
        Err(e) => {
            tracing::warn!("{}: {e}", path.display());
            Vec::new()
        }
    }
}

/// Writes the named queries to `path`, atomically.
pub fn save_saved(path: &std::path::Path, saved: &[(String, String)]) -> assay_core::Result<()> {
    let file = SavedQueries {
        query: saved.iter().map(|(n, q)| SavedQuery { name: n.clone(), sql: q.clone() }).collect(),
    };
    let text = toml::to_string(&file).map_err(|e| assay_core::Error::runtime(e.to_string()))?;
    Ok(assay_core::sink::write_text(&text, &path.display().to_string())?)
}

/// Queries run in earlier sessions, from `path` (entries separated by a line `;;`).
pub fn load_history(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|t| t.split("\n;;\n").map(str::trim).filter(|q| !q.is_empty()).map(str::to_string).collect())
        .unwrap_or_default()
}

/// Appends `query` to the history file (the newest 500 are kept).
pub fn save_history(path: &std::path::Path, history: &[String]) -> std::io::Result<()> {
    let keep = &history[history.len().saturating_sub(500)..];
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, keep.join("\n;;\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_survives_a_session() {
        let dir = std::env::temp_dir().join(format!("assay-history-{}", std::process::id()));
        let path = dir.join("history.sql");
        save_history(&path, &["SELECT 1".into(), "SELECT a\nFROM t".into()]).unwrap();
        assert_eq!(load_history(&path), ["SELECT 1", "SELECT a\nFROM t"]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
