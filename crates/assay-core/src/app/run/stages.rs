//! What a run shows while it works (a stage bar on a terminal, plain lines otherwise)
//! and the scratch folder of its temporary files.

use super::*;

/// Stage lines on stderr: a bar redrawn in place on a terminal, plain lines otherwise.
pub(super) struct Stages {
    total: usize,
    done: usize,
    started: Instant,
    terminal: bool,
    ticker: Option<(std::sync::Arc<std::sync::Mutex<String>>, std::sync::mpsc::Sender<()>)>,
}

impl Stages {
    pub(super) fn new(total: usize) -> Stages {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        Stages { total, done: 0, started: Instant::now(), terminal, ticker: None }
    }

    pub(super) fn start(&mut self, what: &str) {
        self.stop_ticker();
        self.done += 1;
        let (done, total) = (self.done, self.total);
        if !self.terminal {
            eprintln!("assay run: [{done}/{total}] {what} ({:.1} s)", self.started.elapsed().as_secs_f64());
            return;
        }
        let label = std::sync::Arc::new(std::sync::Mutex::new(what.to_string()));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let started = self.started;
        let shown = label.clone();
        std::thread::spawn(move || loop {
            let width = 24;
            let filled = (done - 1) * width / total.max(1);
            let text = shown.lock().map(|s| s.clone()).unwrap_or_default();
            eprint!(
                "\r\x1b[2K[{}{}] {done}/{total} {text}  {:.1} s",
                "#".repeat(filled),
                "-".repeat(width - filled),
                started.elapsed().as_secs_f64()
            );
            let _ = std::io::stderr().flush();
            match rx.recv_timeout(std::time::Duration::from_millis(200)) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                _ => break,
            }
        });
        self.ticker = Some((label, tx));
    }

    pub(super) fn stop_ticker(&mut self) {
        if let Some((_, tx)) = self.ticker.take() {
            let _ = tx.send(());
            // The ticker's last line is cleared by the next one or by `finish`.
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    pub(super) fn finish(&mut self) {
        self.stop_ticker();
        if self.terminal {
            eprint!("\r\x1b[2K");
        }
    }
}

impl Drop for Stages {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Temporary files of one run (crossing engines, DataFusion results), removed after.
pub(super) struct Scratch {
    dir: PathBuf,
    next: usize,
}

impl Scratch {
    pub(super) fn new() -> Result<Scratch> {
        let dir = std::env::temp_dir().join(format!(
            "assay-run-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| crate::error::io_error(dir.display(), &e))?;
        Ok(Scratch { dir, next: 0 })
    }

    pub(super) fn file(&mut self, what: &str) -> PathBuf {
        self.next += 1;
        self.dir.join(format!("{}-{what}.parquet", self.next))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
