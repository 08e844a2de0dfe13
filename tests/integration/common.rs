//! Helpers: run the real binary, find the sample data, make fixtures.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "stderr: {}\nstdout: {}", self.stderr, self.stdout);
        &self.stdout
    }

    /// Asserts exit `code` with one line on stderr mentioning every `needle`, no panic.
    #[track_caller]
    pub fn fails(&self, code: i32, needles: &[&str]) {
        assert_eq!(self.code, code, "stderr: {}\nstdout: {}", self.stderr, self.stdout);
        let err = self.stderr.trim_end();
        assert!(!err.contains("panicked"), "panic: {err}");
        assert!(!err.contains("RUST_BACKTRACE"), "backtrace hint: {err}");
        assert_eq!(err.lines().count(), 1, "expected one line, got: {err}");
        assert!(err.starts_with("assay: "), "{err}");
        for n in needles {
            assert!(err.contains(n), "`{n}` not in: {err}");
        }
    }
}

pub fn assay(args: &[&str]) -> Run {
    assay_env(args, &[])
}

/// `assay ARGS` with `input` piped into its standard input.
pub fn assay_stdin(args: &[&str], input: &[u8]) -> Run {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(args)
        .current_dir(root())
        .env("ASSAY_DATA_DIR", std::env::temp_dir().join("assay-test-data-dir"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run assay");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // Written from a thread: a reader that stops early must not block the test.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for assay");
    let _ = writer.join();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn assay_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let data_dir = std::env::temp_dir().join("assay-test-data-dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_assay"));
    cmd.args(args)
        .current_dir(root())
        .env("ASSAY_DATA_DIR", data_dir)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run assay");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample(name: &str) -> String {
    root().join("sample-data").join(name).display().to_string()
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A small frame with known contents: ints, strings with a null and unicode, floats
/// with a null, dates.
pub fn people() -> polars::prelude::DataFrame {
    use polars::prelude::*;
    df!(
        "id" => [1i64, 2, 3],
        "name" => [Some("Ann"), None, Some("Zoë")],
        "score" => [Some(3.5f64), Some(4.0), None],
        "joined" => ["2024-01-02", "2024-02-03", "2024-03-04"],
    )
    .unwrap()
    .lazy()
    .with_column(col("joined").str().to_date(StrptimeOptions::default()))
    .collect()
    .unwrap()
}

pub const PEOPLE_CSV: &str =
    "id,name,score,joined\n1,Ann,3.5,2024-01-02\n2,,4.0,2024-02-03\n3,Zoë,,2024-03-04\n";

/// What `head --format json` must print for `people()` in any format.
pub fn people_json() -> serde_json::Value {
    serde_json::json!([
        {"id": 1, "name": "Ann", "score": 3.5, "joined": "2024-01-02"},
        {"id": 2, "name": null, "score": 4.0, "joined": "2024-02-03"},
        {"id": 3, "name": "Zoë", "score": null, "joined": "2024-03-04"},
    ])
}

pub fn write_parquet(df: &mut polars::prelude::DataFrame, path: &Path) {
    let f = std::fs::File::create(path).unwrap();
    polars::prelude::ParquetWriter::new(f).finish(df).unwrap();
}

pub fn write_ipc(df: &mut polars::prelude::DataFrame, path: &Path) {
    use polars::prelude::SerWriter;
    let f = std::fs::File::create(path).unwrap();
    polars::prelude::IpcWriter::new(f).finish(df).unwrap();
}
