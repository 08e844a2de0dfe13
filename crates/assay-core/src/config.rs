//! User settings: the config file (`ASSAY_CONFIG`, else `config.toml` in the platform
//! config dir) over embedded defaults. Unknown keys are errors naming the file.

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::{Error, Result};

/// One key binding as written in a keymap file (`assets/keymap.toml` or `[[keys]]` in
/// the config): keys, the action they run, and the help text.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    pub on: Vec<String>,
    pub run: String,
    #[serde(default)]
    pub desc: String,
    /// Where the binding applies: `grid` (the default) or a panel or dialog (`input`,
    /// `checks`, `add_check`, `recipe`, `filter`, `export`, `sql`, `explain`; see
    /// docs/workbench.md).
    #[serde(default)]
    pub mode: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThemeName {
    #[default]
    Dark,
    Light,
}

/// The settings a user can change.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub theme: ThemeName,
    /// Key bindings that shadow the defaults on the same keys.
    #[serde(default)]
    pub keys: Vec<Binding>,
}

impl Config {
    /// Where the config file is looked for.
    pub fn path() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("ASSAY_CONFIG") {
            return Some(PathBuf::from(p));
        }
        directories::ProjectDirs::from("", "", "assay").map(|d| d.config_dir().join("config.toml"))
    }

    /// The user's config, or the defaults when there is no file. `ASSAY_THEME`
    /// overrides the file's theme.
    pub fn load() -> Result<Config> {
        let mut config = match Config::path() {
            Some(path) if path.exists() => {
                let text = crate::error::read_text(&path)?;
                Config::parse(&text, &path.display().to_string())?
            }
            _ => Config::default(),
        };
        if let Ok(theme) = std::env::var("ASSAY_THEME") {
            config.theme = match theme.as_str() {
                "light" => ThemeName::Light,
                "dark" => ThemeName::Dark,
                other => return Err(Error::input(format!("ASSAY_THEME `{other}`: expected dark or light"))),
            };
        }
        Ok(config)
    }

    pub fn parse(text: &str, origin: &str) -> Result<Config> {
        toml::from_str(text).map_err(|e| {
            let e = e.to_string();
            Error::input(format!("{origin}: {}", e.trim_end().replace('\n', " ")))
        })
    }
}

/// Writes a crash report for a panic (a bug in assay, never the user's fault) to the
/// data dir, logs it, and returns where it went.
pub fn crash_report(info: &std::panic::PanicHookInfo<'_>) -> Option<std::path::PathBuf> {
    let report = format!(
        "assay {} crashed: {info}\n{}\n",
        env!("CARGO_PKG_VERSION"),
        std::backtrace::Backtrace::force_capture()
    );
    tracing::error!("{report}");
    let dir = data_dir()?;
    std::fs::create_dir_all(&dir).ok()?;
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let path = dir.join(format!("crash-{}-{:09}.txt", stamp.as_secs(), stamp.subsec_nanos()));
    std::fs::write(&path, &report).ok()?;
    Some(path)
}

/// Where logs, crash reports and the SQL history live: `$ASSAY_DATA_DIR`, else the
/// platform's data dir.
pub fn data_dir() -> Option<std::path::PathBuf> {
    if let Ok(dir) = std::env::var("ASSAY_DATA_DIR") {
        return Some(dir.into());
    }
    directories::ProjectDirs::from("", "", "assay").map(|d| d.data_dir().to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors_naming_the_file() {
        let e = Config::parse("colour = \"red\"", "my.toml").unwrap_err().to_string();
        assert!(e.contains("my.toml") && e.contains("colour"), "{e}");
        let c = Config::parse("theme = \"light\"\n[[keys]]\non = [\"x\"]\nrun = \"quit\"\n", "c").unwrap();
        assert_eq!(c.theme, ThemeName::Light);
        assert_eq!(c.keys[0].run, "quit");
    }
}
