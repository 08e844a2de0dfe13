//! The same datasets read from a real S3-compatible server (s3s-fs, checking SigV4
//! signatures) that this test binary starts on 127.0.0.1.

use std::sync::OnceLock;

use crate::common::*;

const KEY: &str = "assay-test-access-key";
const SECRET: &str = "assay-test-secret-key";

struct Server {
    endpoint: String,
    _root: tempfile::TempDir,
}

/// One server per test binary, serving a temporary directory: `root/BUCKET/KEY` files
/// are the bucket's objects.
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let root = tempfile::tempdir().unwrap();
        stage_objects(root.path());
        let (port, stop) = serve(root.path().to_path_buf(), None);
        std::mem::forget(stop); // serves until the test binary ends
        Server { endpoint: format!("http://127.0.0.1:{port}"), _root: root }
    })
}

/// Starts an S3 server over `root` on its own thread; returns its port and a sender
/// that stops it (its runtime is dropped: every open connection is cut). With
/// `parts`, the server reports each multipart upload part it receives there and then
/// holds the request unanswered, as a server dying mid-upload would.
fn serve(
    root: std::path::PathBuf,
    parts: Option<std::sync::mpsc::Sender<()>>,
) -> (u16, tokio::sync::oneshot::Sender<()>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            use hyper_util::rt::{TokioExecutor, TokioIo};
            use hyper_util::server::conn::auto::Builder;
            let fs = s3s_fs::FileSystem::new(&root).unwrap();
            let mut builder = s3s::service::S3ServiceBuilder::new(fs);
            builder.set_auth(s3s::auth::SimpleAuth::from_single(KEY, SECRET));
            let service = builder.build();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            let accept = async move {
                loop {
                    let Ok((socket, _)) = listener.accept().await else {
                        continue;
                    };
                    let service = service.clone();
                    let parts = parts.clone();
                    let held =
                        hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                            let service = service.clone();
                            let part = req.method() == hyper::Method::PUT
                                && req.uri().query().is_some_and(|q| q.contains("partNumber="));
                            let parts = parts.clone();
                            async move {
                                if let (true, Some(parts)) = (part, parts) {
                                    let _ = parts.send(());
                                    std::future::pending::<()>().await;
                                }
                                hyper::service::Service::call(&service, req).await
                            }
                        });
                    tokio::spawn(async move {
                        let _ = Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(socket), held)
                            .await;
                    });
                }
            };
            tokio::select! {
                _ = accept => {}
                _ = stopped => {}
            }
        });
        rt.shutdown_background();
    });
    (rx.recv().unwrap(), stop)
}

fn stage_objects(root: &std::path::Path) {
    let bucket = root.join("lake");
    std::fs::create_dir_all(bucket.join("customers")).unwrap();
    std::fs::copy(sample("orders.csv"), bucket.join("orders.csv")).unwrap();
    std::fs::copy(sample("events.ndjson"), bucket.join("events.ndjson")).unwrap();
    // Nested too deep for the engines' JSON readers, past the bytes sniffed at open.
    let plain = "{\"a\": 1, \"b\": \"some text to fill the line\"}\n".repeat(5000);
    let deep = format!("{{\"a\": {}{}}}\n", "[".repeat(100_000), "]".repeat(100_000));
    std::fs::write(bucket.join("deep.ndjson"), format!("{plain}{deep}")).unwrap();
    let mut customers = polars::prelude::LazyFrame::scan_parquet(
        polars::prelude::PlRefPath::new(sample("customers.parquet").as_str()),
        Default::default(),
    )
    .unwrap()
    .collect()
    .unwrap();
    assert_eq!(customers.height(), 5000);
    for (i, offset) in [0i64, 2000, 4000].iter().enumerate() {
        let mut part = customers.slice(*offset, 2000);
        write_parquet(&mut part, &bucket.join(format!("customers/part-{i}.parquet")));
    }
    std::fs::write(bucket.join("customers/README.txt"), b"not data").unwrap();
    let _ = &mut customers;
}

fn creds() -> Vec<(&'static str, &'static str)> {
    vec![("AWS_ACCESS_KEY_ID", KEY), ("AWS_SECRET_ACCESS_KEY", SECRET), ("AWS_REGION", "us-east-1")]
}

#[test]
fn single_object_reads_like_the_local_file() {
    let s = server();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--s3-endpoint", s.endpoint.as_str()]);
        assay_env(&all, &creds())
    };
    assert_eq!(run(&["count", "s3://lake/orders.csv"]).ok().trim(), "50000");
    assert_eq!(
        run(&["schema", "s3://lake/orders.csv", "--format", "json"]).ok(),
        assay(&["schema", "sample-data/orders.csv", "--format", "json"]).ok()
    );
    assert_eq!(
        run(&["head", "s3://lake/events.ndjson", "-n", "5", "--format", "json"]).ok(),
        assay(&["head", "sample-data/events.ndjson", "-n", "5", "--format", "json"]).ok()
    );
}

#[test]
fn prefix_glob_of_parquet_files_is_one_dataset_on_both_engines() {
    let s = server();
    let mut env = creds();
    env.push(("AWS_ENDPOINT_URL", s.endpoint.as_str()));
    let glob = "s3://lake/customers/*.parquet";
    assert_eq!(assay_env(&["count", glob], &env).ok().trim(), "5000");
    let q = "SELECT segment, COUNT(*) AS n, ROUND(SUM(lifetime_value), 2) AS ltv FROM customers GROUP BY segment ORDER BY segment";
    let local = assay(&["sql", q, "-t", "sample-data/customers.parquet", "--format", "csv"]);
    for engine in ["polars", "datafusion"] {
        let remote = assay_env(&["sql", q, "-t", glob, "--engine", engine, "--format", "csv"], &env);
        assert_eq!(remote.ok(), local.ok(), "{engine}");
    }
    // A prefix without a glob lists the data files below it, skipping others.
    assert_eq!(assay_env(&["count", "s3://lake/customers/"], &env).ok().trim(), "5000");
    let join = "SELECT c.segment, COUNT(*) AS n FROM orders o JOIN customers c USING (customer_id) GROUP BY c.segment ORDER BY c.segment";
    let remote = assay_env(
        &["sql", join, "-t", "s3://lake/orders.csv", "-t", glob, "--engine", "datafusion", "--format", "csv"],
        &env,
    );
    let local = assay(&[
        "sql",
        join,
        "-t",
        "sample-data/orders.csv",
        "-t",
        "sample-data/customers.parquet",
        "--format",
        "csv",
    ]);
    assert_eq!(remote.ok(), local.ok());
}

#[test]
fn wrong_credentials_and_missing_objects_are_clear() {
    let s = server();
    let env = [
        ("AWS_ACCESS_KEY_ID", KEY),
        ("AWS_SECRET_ACCESS_KEY", "not-the-secret"),
        ("AWS_ENDPOINT_URL", s.endpoint.as_str()),
    ];
    assay_env(&["count", "s3://lake/orders.csv"], &env).fails(3, &["s3://lake/orders.csv", "access denied"]);
    let mut good = creds();
    good.push(("AWS_ENDPOINT_URL", s.endpoint.as_str()));
    assay_env(&["count", "s3://lake/nope.csv"], &good).fails(2, &["s3://lake/nope.csv", "no such object"]);
    assay_env(&["count", "s3://lake/customers/*.csv"], &good).fails(2, &["no objects match"]);
}

#[test]
fn ndjson_nested_too_deep_anywhere_in_an_object_is_refused_not_a_crash() {
    let s = server();
    let mut env = creds();
    env.push(("AWS_ENDPOINT_URL", s.endpoint.as_str()));
    for args in [
        &["count", "s3://lake/deep.ndjson"][..],
        &["head", "s3://lake/deep.ndjson"],
        &["sql", "SELECT count(*) FROM deep", "-t", "s3://lake/deep.ndjson", "--engine", "datafusion"],
    ] {
        assay_env(args, &env)
            .fails(2, &["s3://lake/deep.ndjson: line 5001: JSON nests more than 512 levels"]);
    }
    // A good object is read whole once, then remembered by its ETag.
    assert_eq!(assay_env(&["count", "s3://lake/events.ndjson"], &env).ok().trim(), "20000");
}

#[test]
fn unreachable_endpoint_is_a_runtime_error() {
    // A port nothing listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut env = creds();
    env.push(("AWS_ENDPOINT_URL", endpoint.as_str()));
    assay_env(&["count", "s3://lake/orders.csv"], &env).fails(3, &["s3://lake/orders.csv", "unreachable"]);
}

/// The open dialog's S3 listing: folders (common prefixes) first, then objects with sizes.
#[tokio::test(flavor = "multi_thread")]
async fn prefixes_list_like_folders() {
    let s = server();
    // Only this test reads S3 in this process; the children of other tests get their own env.
    for (k, v) in creds() {
        std::env::set_var(k, v);
    }
    let options = assay::OpenOptions { s3_endpoint: Some(s.endpoint.clone()), ..Default::default() };
    let top = assay::source::browse::list("s3://lake/", &options).await.unwrap();
    assert!(
        top.iter().any(|e| e.name == "customers/" && e.is_dir && e.spec == "s3://lake/customers/"),
        "{top:?}"
    );
    let inside = assay::source::browse::list("s3://lake/customers/", &options).await.unwrap();
    let names: Vec<&str> = inside.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["part-0.parquet", "part-1.parquet", "part-2.parquet", "README.txt"]);
    assert!(inside[0].data && !inside[3].data && inside[0].size.unwrap() > 1000);
    assert_eq!(assay::source::browse::parent("s3://lake/customers/").as_deref(), Some("s3://lake/"));
}

#[test]
fn a_recipe_reads_s3_and_its_manifest_names_the_objects_etags() {
    let s = server();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet").display().to_string();
    let recipe = write(
        dir.path(),
        "s3.recipe.toml",
        format!(
            "name = \"from-s3\"\n[sources.orders]\npath = \"s3://lake/${{DAY}}.csv\"\n\n[sources.customers]\n\
             path = \"s3://lake/customers/*.parquet\"\n\n[[steps]]\nfilter = \"amount > 1000\"\n\n[[steps]]\n\
             join = {{ source = \"customers\", on = [\"customer_id\"], how = \"semi\" }}\n\n[outputs.out]\npath = {out:?}\n"
        )
        .as_bytes(),
    );
    let mut env = creds();
    env.push(("AWS_ENDPOINT_URL", s.endpoint.as_str()));
    env.push(("DAY", "orders"));
    let run = assay_env(&["run", &recipe, "--format", "json"], &env);
    let manifest = json(run.ok());
    let expected = {
        let q = "SELECT COUNT(*) AS n FROM orders WHERE amount > 1000 AND customer_id IN (SELECT customer_id FROM customers)";
        let c = assay(&[
            "sql",
            q,
            "-t",
            &sample("orders.csv"),
            "-t",
            &sample("customers.parquet"),
            "--format",
            "json",
        ]);
        json(c.ok())[0]["n"].as_u64().unwrap()
    };
    assert_eq!(manifest["rows"]["rows_in"].as_u64().unwrap(), expected);
    assert_eq!(manifest["outputs"][0]["rows"].as_u64().unwrap(), expected);
    let orders = &manifest["inputs"][0]["files"][0];
    assert_eq!(orders["path"], "s3://lake/orders.csv");
    assert!(!orders["etag"].as_str().unwrap_or_default().is_empty(), "{orders}");
    assert_eq!(orders["bytes"].as_u64().unwrap(), std::fs::metadata(sample("orders.csv")).unwrap().len());
    assert_eq!(manifest["inputs"][1]["files"].as_array().unwrap().len(), 3);
    let text = serde_json::to_string(&manifest).unwrap();
    assert!(!text.contains(SECRET) && !text.contains(KEY), "secrets in the manifest");
}

#[test]
fn exports_upload_to_s3_in_parts_read_back_equal_and_never_half_written() {
    let s = server();
    let mut env = creds();
    env.push(("AWS_ENDPOINT_URL", s.endpoint.as_str()));
    let orders = sample("orders.csv");
    let url = "s3://lake/exports/orders.parquet";
    let said = assay_env(&["export", &orders, "--to", url], &env).ok().to_string();
    assert_eq!(said.trim(), format!("50000 rows written to {url}"));
    // Read back from S3: the same rows, both ways.
    for (a, b) in [("t", "orders"), ("orders", "t")] {
        let q = format!("SELECT COUNT(*) AS n FROM (SELECT * FROM {a} EXCEPT SELECT * FROM {b}) AS d");
        let t = format!("t={url}");
        let out = assay_env(
            &["sql", &q, "-t", &t, "-t", &orders, "--engine", "datafusion", "--format", "json"],
            &env,
        );
        assert_eq!(json(out.ok())[0]["n"], 0, "rows of {a} not in {b}");
    }
    // Replacing needs --overwrite; the object stays as it was until then.
    let object = s._root.path().join("lake/exports/orders.parquet");
    let before = std::fs::read(&object).unwrap();
    assay_env(&["export", &sample("customers.parquet"), "--to", url], &env)
        .fails(2, &["already exists", "--overwrite"]);
    assert_eq!(std::fs::read(&object).unwrap(), before);
    // A file of many parts (16 MB each): a 1.5M-row CSV, with writer options.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.csv");
    assay::generate::generate(assay::generate::Kind::Orders, 1_500_000, 5, &big).unwrap();
    let big = big.display().to_string();
    let big_url = "s3://lake/exports/big.csv";
    assay_env(&["export", &big, "--to", big_url, "--csv-delimiter", ";"], &env).ok();
    let size = std::fs::metadata(s._root.path().join("lake/exports/big.csv")).unwrap().len();
    assert!(size > 3 * (16 << 20), "{size} bytes: not a multi-part upload");
    let counted = assay_env(&["count", big_url, "--delimiter", ";"], &env);
    assert_eq!(counted.ok().trim(), "1500000");
    // Credentials the server refuses: a runtime error naming the URL, no object.
    let mut wrong = env.clone();
    wrong[1] = ("AWS_SECRET_ACCESS_KEY", "not-the-secret");
    assay_env(&["export", &orders, "--to", "s3://lake/exports/denied.parquet"], &wrong)
        .fails(3, &["s3://lake/exports/denied.parquet", "access denied"]);
    assert!(!s._root.path().join("lake/exports/denied.parquet").exists());
    // A prefix is not an object.
    assay_env(&["export", &orders, "--to", "s3://lake/exports/", "--format", "parquet"], &env)
        .fails(2, &["name an object"]);
    // No scratch file is left behind.
    let scratch: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".assay-upload-"))
        .collect();
    assert!(scratch.is_empty(), "{scratch:?}");

    // A recipe's output on S3: uploaded only when the run's checks pass.
    let recipe = |min: u32| {
        format!(
            "name = \"to-s3\"\n[sources.orders]\npath = {orders:?}\n\n[[steps]]\nfilter = \"amount > {min}\"\n\n\
             [[checks]]\nrow_count = {{ min = 1 }}\n\n[outputs.out]\npath = \"s3://lake/exports/big_orders.parquet\"\n"
        )
    };
    let path = write(dir.path(), "r.toml", recipe(1000).as_bytes());
    let manifest = json(assay_env(&["run", &path, "--format", "json"], &env).ok());
    assert_eq!(manifest["outputs"][0]["destination"], "s3://lake/exports/big_orders.parquet");
    let rows = manifest["outputs"][0]["rows"].clone();
    let back = assay_env(&["count", "s3://lake/exports/big_orders.parquet"], &env);
    assert_eq!(back.ok().trim(), rows.to_string());
    assert!(dir.path().join("to-s3.manifest.json").exists(), "the manifest goes beside the recipe");
    let object = s._root.path().join("lake/exports/big_orders.parquet");
    let before = std::fs::read(&object).unwrap();
    let path = write(dir.path(), "r.toml", recipe(1_000_000_000).as_bytes());
    let run = assay_env(&["run", &path], &env);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(std::fs::read(&object).unwrap(), before);
}

/// The S3 server dies mid-upload (issue 21's faults): the export fails in seconds with
/// one line naming the destination, exit 3; no object appears at the key and no scratch
/// file is left behind.
#[test]
fn an_upload_cut_by_the_server_dying_leaves_no_object() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("lake")).unwrap();
    let (parts, part_seen) = std::sync::mpsc::channel();
    let (port, stop) = serve(root.path().to_path_buf(), Some(parts));
    let mut env = creds();
    let endpoint = format!("http://127.0.0.1:{port}");
    env.push(("AWS_ENDPOINT_URL", endpoint.as_str()));
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.csv");
    assay::generate::generate(assay::generate::Kind::Orders, 1_500_000, 5, &big).unwrap();
    let url = "s3://lake/cut/big.csv";
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_assay"))
        .args(["export", big.to_str().unwrap(), "--to", url])
        .envs(env.iter().copied())
        .env_remove("AWS_PROFILE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    part_seen.recv_timeout(std::time::Duration::from_secs(120)).expect("no part was uploaded");
    assert!(child.try_wait().unwrap().is_none(), "the export finished with a part held");
    let _ = stop.send(());
    let started = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    run.fails(3, &[url]);
    assert!(started.elapsed() < std::time::Duration::from_secs(40), "took {:?}", started.elapsed());
    assert!(!root.path().join("lake/cut/big.csv").exists(), "an object appeared");
    let scratch: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".assay-upload-{pid}-")))
        .collect();
    assert!(scratch.is_empty(), "{scratch:?}");
}

/// The secrets sweep (issue 21): runs that use an S3 secret key and a database password —
/// reads, a failed read, an export, a recipe with its manifest, a check report, a load
/// to an unreachable server — with debug logging on; neither secret may appear in any
/// output, message, manifest, report, log or crash report.
#[test]
fn secrets_never_reach_logs_reports_manifests_or_messages() {
    let s = server();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let data_dir_s = data_dir.display().to_string();
    const PASSWORD: &str = "pg-Pa55word-never-shown";
    let mut env = creds();
    env.push(("AWS_ENDPOINT_URL", s.endpoint.as_str()));
    env.push(("ASSAY_DATA_DIR", data_dir_s.as_str()));
    env.push(("ASSAY_LOG", "debug"));
    let manifest = dir.path().join("manifest.json").display().to_string();
    let report = dir.path().join("report.xml").display().to_string();
    let out = dir.path().join("out.parquet").display().to_string();
    let recipe = write(
        dir.path(),
        "r.recipe.toml",
        format!(
            "[sources.orders]\npath = \"s3://lake/orders.csv\"\n[[checks]]\nnot_null = {{ column = \"order_id\" }}\n\
             [outputs.o]\npath = {out:?}\n"
        )
        .as_bytes(),
    );
    let rules = sample("orders.rules.toml");
    let pg = format!("postgres://alice:{PASSWORD}@127.0.0.1:1/db?table=t");
    let runs = [
        assay_env(&["count", "s3://lake/orders.csv"], &env),
        assay_env(&["head", "s3://lake/nope.csv"], &env),
        assay_env(&["export", &sample("customers.parquet"), "--to", "s3://lake/secrets/c.parquet"], &env),
        assay_env(&["run", &recipe, "--manifest", &manifest], &env),
        assay_env(&["check", "s3://lake/orders.csv", "--rules", &rules, "--format", "junit"], &env),
        assay_env(&["export", &sample("orders.csv"), "--to", &pg], &env),
        assay_env(&["head", &pg], &env),
        assay_env(
            &["head", "postgres://bob@127.0.0.1:1/db?table=t"],
            &[&env[..], &[("PGPASSWORD", PASSWORD)]].concat(),
        ),
    ];
    assert_eq!(runs[0].code, 0, "{}", runs[0].stderr);
    assert_eq!(runs[3].code, 0, "{}", runs[3].stderr);
    let _ = std::fs::write(&report, &runs[4].stdout);
    let mut texts: Vec<(String, String)> = runs
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            [(format!("run {i} stdout"), r.stdout.clone()), (format!("run {i} stderr"), r.stderr.clone())]
        })
        .collect();
    let mut files = vec![std::path::PathBuf::from(&manifest), std::path::PathBuf::from(&report)];
    files.extend(std::fs::read_dir(&data_dir).unwrap().map(|e| e.unwrap().path()));
    assert!(files.iter().any(|f| f.ends_with("assay.log")), "no log written: {files:?}");
    for f in files {
        texts.push((
            f.display().to_string(),
            String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned(),
        ));
    }
    for (what, text) in &texts {
        for secret in [SECRET, PASSWORD] {
            assert!(!text.contains(secret), "{secret} in {what}:\n{text}");
        }
    }
}
