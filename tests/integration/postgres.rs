//! Postgres loads and reads against a real server from Debian's `postgresql` package,
//! started by each test in a temporary directory on 127.0.0.1 (password authentication,
//! so PGPASSWORD and ~/.pgpass are exercised).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use crate::formats::{killed_mid_way, load_contract, rows_of, typed};

const PASSWORD: &str = "s3cret pass:word";

/// A Postgres server of its own, stopped (immediately) when dropped.
struct Server {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

/// The newest installed Postgres' programs (Debian keeps them out of PATH).
fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| Some(e.ok()?.path().join("bin"))).filter(|p| p.join("initdb").exists()).collect()
        })
        .unwrap_or_default();
    found.sort_by_key(|p| {
        p.parent().and_then(|v| v.file_name()).and_then(|v| v.to_str()).and_then(|v| v.parse::<u32>().ok())
    });
    found.pop().unwrap_or_else(|| {
        let which = Command::new("sh").args(["-c", "command -v initdb"]).output().expect("sh");
        let path = String::from_utf8_lossy(&which.stdout).trim().to_string();
        assert!(!path.is_empty(), "Postgres is not installed (apt-get install postgresql; .ci/run does)");
        Path::new(&path).parent().unwrap().to_path_buf()
    })
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let bin = bin_dir();
        let root = unsafe { libc::geteuid() } == 0;
        if root {
            // Postgres refuses to run as root: the server runs as the package's user.
            let (uid, gid) = user_ids("postgres");
            let c = std::ffi::CString::new(dir.path().as_os_str().as_encoded_bytes()).unwrap();
            assert_eq!(unsafe { libc::chown(c.as_ptr(), uid, gid) }, 0);
        }
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, format!("{PASSWORD}\n")).unwrap();
        if root {
            let (uid, gid) = user_ids("postgres");
            let c = std::ffi::CString::new(pwfile.as_os_str().as_encoded_bytes()).unwrap();
            assert_eq!(unsafe { libc::chown(c.as_ptr(), uid, gid) }, 0);
        }
        let data = dir.path().join("data");
        let run = |program: &str, args: &[&str]| {
            let exe = bin.join(program);
            let mut cmd = if root {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(&exe);
                c
            } else {
                Command::new(&exe)
            };
            let out = cmd.args(args).current_dir(dir.path()).output().expect(program);
            assert!(
                out.status.success(),
                "{program} {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "assay",
                "--auth=scram-sha-256",
                &format!("--pwfile={}", pwfile.display()),
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        );
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        // TLS on, with a certificate for 127.0.0.1 from a CA the test makes (ca.pem):
        // every test's connection is encrypted (sslmode=prefer, the default), and
        // `tls_modes_encrypt_and_check_the_server_as_libpq_does` checks the others.
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl").args(args).current_dir(dir.path()).output().expect("openssl");
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=assay test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        std::fs::write(dir.path().join("ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
            .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext",
        ]);
        for f in ["server.key", "server.crt"] {
            let path = dir.path().join(f);
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
            if root {
                let (uid, gid) = user_ids("postgres");
                let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
                assert_eq!(unsafe { libc::chown(c.as_ptr(), uid, gid) }, 0);
            }
        }
        let options = format!(
            "-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off \
             -c ssl=on -c ssl_cert_file={dir}/server.crt -c ssl_key_file={dir}/server.key",
            dir = dir.path().display()
        );
        run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                dir.path().join("log").to_str().unwrap(),
                "-w",
                "start",
            ],
        );
        Server { dir, bin, port }
    }

    /// `postgres://assay@127.0.0.1:PORT/postgres` with `rest` (`?table=…`).
    fn url(&self, rest: &str) -> String {
        format!("postgres://assay@127.0.0.1:{}/postgres{rest}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let exe = self.bin.join("pg_ctl");
        let args = ["-D", data.to_str().unwrap(), "-m", "immediate", "-w", "stop"];
        let _ = if unsafe { libc::geteuid() } == 0 {
            Command::new("runuser").args(["-u", "postgres", "--"]).arg(&exe).args(args).output()
        } else {
            Command::new(&exe).args(args).output()
        };
    }
}

fn user_ids(name: &str) -> (u32, u32) {
    let c = std::ffi::CString::new(name).unwrap();
    let pw = unsafe { libc::getpwnam(c.as_ptr()) };
    assert!(!pw.is_null(), "no `{name}` user (apt-get install postgresql creates it)");
    unsafe { ((*pw).pw_uid, (*pw).pw_gid) }
}

fn pg(args: &[&str]) -> Run {
    assay_env(args, &[("PGPASSWORD", PASSWORD)])
}

fn pg_rows(url: &str, q: &str) -> serde_json::Value {
    json(pg(&["sql", q, "-t", &format!("t={url}"), "--format", "json"]).ok())
}

#[test]
fn postgres_loads_keep_types_follow_their_mode_and_roll_back_on_failure() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("typed.parquet");
    write_parquet(&mut typed(), &parquet);
    let parquet = parquet.display().to_string();
    let url = server.url("?table=typed");
    let said = pg(&["export", &parquet, "--to", &url]).ok().to_string();
    assert_eq!(said.trim(), format!("4 rows loaded into {url}"));
    // Read back: the same schema and the same rows, nulls, unicode, dates, timestamps,
    // booleans, decimals.
    assert_eq!(
        json(pg(&["schema", &url, "--format", "json"]).ok())["columns"],
        json(assay(&["schema", &parquet, "--format", "json"]).ok())["columns"]
    );
    let all = "SELECT * FROM t ORDER BY id";
    assert_eq!(pg_rows(&url, all), rows_of(&parquet, all));
    // The server's own view: the column types, and a value computed by Postgres.
    let types = pg_rows(
        &server.url(
            "?query=SELECT+string_agg(format_type(atttypid,+atttypmod),+',+'+ORDER+BY+attnum)+AS+t+FROM+pg_attribute+\
             WHERE+attrelid+=+'typed'::regclass+AND+attnum+>+0",
        ),
        "SELECT * FROM t",
    );
    assert_eq!(
        types[0]["t"],
        "bigint, text, double precision, date, timestamp without time zone, boolean, numeric(10,2), integer"
    );
    let sums = pg_rows(
        &server
            .url("?query=SELECT+sum(price)::text+AS+s,+max(day)::text+AS+d,+min(at)::text+AS+a+FROM+typed"),
        "SELECT * FROM t",
    );
    assert_eq!(
        sums,
        serde_json::json!([{"s": "100000012.34", "d": "2024-02-29", "a": "1970-01-01 00:00:00"}])
    );

    load_contract(
        dir.path(),
        &parquet,
        &url,
        &server.url("?table=orders"),
        &server.url("?table=by_id"),
        &[("PGPASSWORD", PASSWORD)],
    );
    // A value out of the range of the table's column fails the load, naming the table
    // and the column; a schema that does not exist is the server's message.
    let before = pg_rows(&url, all);
    let huge = write(dir.path(), "huge.csv", b"id,small\n9,1\n10,99999999999\n");
    pg(&["export", &huge, "--to", &format!("{url}&mode=append")]).fails(3, &["typed", "small"]);
    assert_eq!(pg_rows(&url, all), before);
    pg(&[
        "export",
        &sample("orders.csv"),
        "--to",
        &server.url("?table=staging.by_id&mode=upsert&key=order_id"),
    ])
    .fails(3, &["staging.by_id", "schema \"staging\" does not exist"]);
}

#[test]
fn postgres_credentials_unreachable_servers_and_kills_are_clear() {
    let server = Server::start();
    let orders = sample("orders.csv");
    let url = server.url("?table=orders");
    // No password, a wrong one: exit 3, the server named, the way to give one said.
    assay(&["export", &orders, "--to", &url]).fails(3, &["127.0.0.1", "cannot connect", "PGPASSWORD"]);
    assay_env(&["export", &orders, "--to", &url], &[("PGPASSWORD", "wrong")])
        .fails(3, &["password authentication failed", "PGPASSWORD"]);
    // The password in ~/.pgpass (libpq's format, a `:` escaped); a file others can read
    // is ignored, as libpq does.
    let home = tempfile::tempdir().unwrap();
    let pgpass = home.path().join(".pgpass");
    let line = format!("127.0.0.1:{}:*:assay:{}\n", server.port, PASSWORD.replace(':', "\\:"));
    std::fs::write(&pgpass, format!("# a comment\nother:1:*:*:nope\n{line}")).unwrap();
    let home_env = home.path().to_str().unwrap();
    std::fs::set_permissions(&pgpass, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    assay_env(&["export", &orders, "--to", &url], &[("HOME", home_env)]).fails(3, &["cannot connect"]);
    std::fs::set_permissions(&pgpass, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let said = assay_env(&["export", &orders, "--to", &url], &[("HOME", home_env)]).ok().to_string();
    assert_eq!(said.trim(), format!("50000 rows loaded into {url}"));
    // A port nothing listens on; an sslmode libpq does not have, before any work.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    pg(&["export", &orders, "--to", &format!("postgres://assay@127.0.0.1:{closed}/postgres?table=t")])
        .fails(3, &["unreachable"]);
    pg(&["export", &orders, "--to", &server.url("?table=t&sslmode=always")]).fails(2, &["sslmode=always"]);
    pg(&["schema", &server.url("?table=missing")]).fails(2, &["missing"]);

    // SIGKILL mid-load: the table is as it was.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.csv");
    assay::generate::generate(assay::generate::Kind::Orders, 1_500_000, 5, &big).unwrap();
    let big = big.display().to_string();
    killed_mid_way(
        &["export", &big, "--to", &format!("{url}&mode=append")],
        &[("PGPASSWORD", PASSWORD)],
        std::time::Duration::from_millis(2500),
    );
    assert_eq!(pg_rows(&url, "SELECT COUNT(*) AS n FROM t")[0]["n"], 50_000);

    // The server ends the session mid-COPY (an administrator's pg_terminate_backend, a
    // failover): exit 3, one line naming the table, and the table as it was.
    let mut child = Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(["export", &big, "--to", &format!("{url}&mode=append")])
        .env("PGPASSWORD", PASSWORD)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let terminate = "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity \
                     WHERE query LIKE 'COPY%' AND state = 'active' AND NOT pid = pg_backend_pid()";
    let encoded = terminate.replace('%', "%25").replace(' ', "%20");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        assert!(child.try_wait().unwrap().is_none(), "the load finished before its COPY was seen");
        assert!(std::time::Instant::now() < deadline, "no COPY seen in 60 s");
        let said = pg(&["head", &server.url(&format!("?query={encoded}")), "--format", "csv"]);
        if said.ok().contains("true") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    run.fails(3, &["table=orders", "the server closed the connection"]);
    assert_eq!(pg_rows(&url, "SELECT COUNT(*) AS n FROM t")[0]["n"], 50_000);
}

#[test]
fn a_recipe_loads_postgres_only_when_its_checks_pass_and_names_no_secret() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let orders = sample("orders.csv");
    let recipe = |min: u32| {
        format!(
            r#"name = "to_pg"
[sources.orders]
path = "{orders}"

[[steps]]
filter = "amount >= {min}"

[[checks]]
row_count = {{ min = 1000 }}

[outputs.db]
postgres = "postgres://assay:{password}@127.0.0.1:{port}/postgres"
table = "big_orders"

[outputs.copy]
path = "{out}"
"#,
            password = "${PG_SECRET}",
            port = server.port,
            out = dir.path().join("big.parquet").display()
        )
    };
    let path = write(dir.path(), "r.toml", recipe(0).as_bytes());
    let manifest = dir.path().join("m.json").display().to_string();
    assay_env(&["run", &path, "--manifest", &manifest], &[("PG_SECRET", PASSWORD)]).ok();
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(!text.contains(PASSWORD) && !text.contains("s3cret"), "{text}");
    let m = json(&text);
    let db = m["outputs"].as_array().unwrap().iter().find(|o| o["name"] == "db").unwrap().clone();
    assert_eq!(db["format"], "postgres");
    let loaded = pg_rows(&server.url("?table=big_orders"), "SELECT COUNT(*) AS n FROM t")[0]["n"].clone();
    assert_eq!(db["rows"], loaded);
    assert_eq!(loaded, rows_of(&orders, "SELECT COUNT(*) AS n FROM t WHERE amount >= 0")[0]["n"]);
    // A check that fails: exit 1, the table and the file untouched.
    let path = write(dir.path(), "r.toml", recipe(1_000_000_000).as_bytes());
    let run = assay_env(&["run", &path, "--manifest", &manifest], &[("PG_SECRET", PASSWORD)]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(pg_rows(&server.url("?table=big_orders"), "SELECT COUNT(*) AS n FROM t")[0]["n"], loaded);
}

/// TLS as libpq's sslmode has it, against the test server (TLS on, a certificate for
/// 127.0.0.1 from the test's CA): the server's `pg_stat_ssl` says whether the session is
/// encrypted; the verifying modes accept the right CA and host and refuse the others.
#[test]
fn tls_modes_encrypt_and_check_the_server_as_libpq_does() {
    let s = Server::start();
    let ca = s.dir.path().join("ca.pem").display().to_string();
    let ssl = |rest: &str| {
        let q = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
        let url = format!("{}&query={}", rest, q.replace(' ', "%20"));
        pg(&["head", &url, "--format", "csv"])
    };
    let base = |host: &str, params: &str| format!("postgres://assay@{host}:{}/postgres?{params}", s.port);
    for (params, encrypted) in [
        ("sslmode=disable", "false"),
        ("sslmode=prefer", "true"),
        ("sslmode=require", "true"),
        (&*format!("sslmode=verify-ca&sslrootcert={ca}"), "true"),
        (&*format!("sslmode=verify-full&sslrootcert={ca}"), "true"),
        (&*format!("sslmode=require&sslrootcert={ca}"), "true"),
    ] {
        let out = ssl(&base("127.0.0.1", params));
        assert_eq!(out.ok().lines().nth(1), Some(encrypted), "{params}");
    }
    // verify-ca does not check the name; verify-full does.
    assert_eq!(
        ssl(&base("localhost", &format!("sslmode=verify-ca&sslrootcert={ca}"))).ok().lines().nth(1),
        Some("true")
    );
    ssl(&base("localhost", &format!("sslmode=verify-full&sslrootcert={ca}")))
        .fails(3, &["cannot connect", "localhost"]);
    // A certificate from an authority not trusted: the system's roots do not know the CA.
    ssl(&base("127.0.0.1", "sslmode=verify-full")).fails(3, &["cannot connect"]);
    let other = s.dir.path().join("server.crt").display().to_string();
    ssl(&base("127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={other}"))).fails(3, &["cannot connect"]);
    ssl(&base("127.0.0.1", "sslmode=sometimes")).fails(2, &["sslmode=sometimes", "verify-full"]);
    ssl(&base("127.0.0.1", "sslmode=verify-full&sslrootcert=/nonexistent.pem"))
        .fails(2, &["/nonexistent.pem"]);
}
