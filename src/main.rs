//! The `assay` binary: parse arguments, run a headless command or the workbench,
//! and map errors to the exit codes of docs/cli.md with one line on stderr.

use std::io::Write;
use std::process::ExitCode;

use assay::cli::{self, Cli};
use clap::{CommandFactory, Parser};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use assay::config::data_dir;

/// Logs go to a file in the data dir: stdout and stderr belong to the user.
fn init_logging() {
    let Some(dir) = data_dir() else { return };
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let Ok(file) = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("assay.log")) else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ASSAY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .try_init();
}

/// A panic is a bug in assay, never the user's fault: write a crash report to the data
/// dir and say one line about it, instead of a backtrace.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let where_ = assay::config::crash_report(info)
            .map(|p| format!("; report saved to {}", p.display()))
            .unwrap_or_default();
        eprintln!("assay: internal error (a bug in assay){where_}");
    }));
}

const THREAD_STACK: usize = 64 * 1024 * 1024;

fn runtime() -> Option<tokio::runtime::Runtime> {
    // Planning recurses once per level of a query's expressions, in both engines: a
    // deep stack on every thread (reserved, touched only when used) lets them plan what
    // `sql::MAX_DEPTH` admits.
    match tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(THREAD_STACK).build() {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("assay: cannot start the async runtime: {e}");
            None
        }
    }
}

/// `assay export` of a local CSV or TSV file reads it in 8 MiB chunks, two in flight,
/// instead of memory-mapping it: the same speed, and resident memory that stays ~200 MB
/// whatever the file's size, where a map keeps every page read resident until the scan
/// ends (1,161 MB for a 1 GB file; BENCHMARKS.md, "CSV to Parquet export").
/// The chunk settings are Polars' environment variables, set before any thread starts
/// (a value already in the environment wins).
fn read_csv_exports_in_chunks(command: &Option<cli::Command>) {
    let Some(cli::Command::Export { data, .. }) = command else {
        return;
    };
    let local_csv = !data.contains("://")
        && matches!(assay::source::Format::from_extension(data), Some(assay::source::Format::Csv(_)));
    if !local_csv {
        return;
    }
    for (var, value) in [("POLARS_CSV_CHUNK_SIZE", "8388608"), ("POLARS_CSV_CHUNK_PREFETCH_LIMIT", "2")] {
        if std::env::var_os(var).is_none() {
            std::env::set_var(var, value);
        }
    }
    assay::engine::polars::read_csv_in_chunks();
}

/// clap's usage error as one line: what is wrong, the values allowed or its tip, and
/// where to read more.
fn usage_error(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let what = lines.first().map(|l| l.trim_start_matches("error: ")).unwrap_or("bad arguments");
    let mut out = what.to_string();
    for l in &lines[1..] {
        if let Some(v) = l.strip_prefix("[possible values: ") {
            out.push_str(&format!(" (possible values: {})", v.trim_end_matches(']')));
        } else if let Some(t) = l.strip_prefix("tip: ") {
            out.push_str(&format!(" ({t})"));
        } else if let Some(u) = l.strip_prefix("Usage: ") {
            out.push_str(&format!("; usage: {u}"));
        } else if !l.starts_with("For more information") {
            out.push_str(&format!(" {l}"));
        }
    }
    out
}

fn main() -> ExitCode {
    install_panic_hook();
    // A write past the file size limit (`ulimit -f`) fails with an error to report,
    // the partial output removed, instead of the signal killing assay mid-write.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let args = match Cli::try_parse() {
        Ok(args) => args,
        // Help and version go to stdout as clap writes them.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            eprintln!("assay: {}", usage_error(&e.render().to_string()));
            return ExitCode::from(2);
        }
    };
    read_csv_exports_in_chunks(&args.command);
    init_logging();
    assay::engine::polars::log_warnings();
    assay::source::remove_stale_scratch();
    let Some(command) = args.command else {
        // No data and no terminal (a pipe, CI): the help, not a workbench.
        if args.data.is_empty() && !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            let _ = Cli::command().print_help();
            return ExitCode::SUCCESS;
        }
        // `cat orders.csv | assay`: the workbench on what was piped in (keys come from the
        // terminal, /dev/tty).
        let mut args = args;
        if args.data.is_empty() && stdin_is_piped() {
            args.data.push("-".to_string());
        }
        let Some(runtime) = runtime() else {
            return ExitCode::from(3);
        };
        let result = args.input.open_options().and_then(|options| {
            runtime.block_on(assay::tui::run(&args.data, args.rules.as_deref(), &options))
        });
        // Quitting while an engine job still runs (a sort or count of a big file in
        // another tab) must not wait for it: dropping the runtime would wait for every
        // blocking task to end. Outputs are staged, so an abandoned one leaves nothing.
        runtime.shutdown_background();
        assay::source::remove_scratch();
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("assay: {e}");
                ExitCode::from(e.exit_code() as u8)
            }
        };
    };
    let Some(runtime) = runtime() else {
        return ExitCode::from(3);
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = runtime.block_on(cli::run(command, &args.input, &mut out));
    runtime.shutdown_background();
    assay::source::remove_scratch();
    let flushed = out.flush();
    match (result, flushed) {
        (Ok(()), Ok(())) => ExitCode::SUCCESS,
        (Ok(()), Err(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        (Ok(()), Err(e)) => {
            eprintln!("assay: writing output: {e}");
            ExitCode::from(3)
        }
        // A reader that closed the pipe early (`| head`) is not an error.
        (Err(e), _) if e.is_broken_pipe() => ExitCode::SUCCESS,
        (Err(e), _) => {
            eprintln!("assay: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Whether standard input is a pipe or a file with data (`cat x.csv | assay`, `assay <
/// x.csv`), not a terminal or a device such as /dev/null.
fn stdin_is_piped() -> bool {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::metadata("/dev/stdin") {
        Ok(m) => m.file_type().is_fifo() || m.file_type().is_socket() || (m.is_file() && m.len() > 0),
        Err(_) => false,
    }
}
