use super::*;

/// The value `iso` wrote last.
fn text(iso: &Iso) -> &str {
    std::str::from_utf8(iso.bytes()).unwrap()
}

/// What Polars' `dt.to_string` gives with the formats loads used before `Iso`.
fn polars_text(s: Series, format: &str) -> Vec<String> {
    let df = DataFrame::new_infer_height(vec![s.into()]).unwrap();
    let out = df.lazy().select([col("v").dt().to_string(format)]).collect().unwrap();
    out.column("v").unwrap().str().unwrap().iter().map(|v| v.unwrap().to_string()).collect()
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
    n.sort();
    n
}

#[test]
fn a_new_database_is_built_under_a_hidden_name_and_appears_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db").display().to_string();
    let hidden = format!(".new.db.assay-partial-{}", std::process::id());
    let df = df!("id" => [1i64, 2, 3], "name" => ["a", "b", "ü"]).unwrap();
    let target = Target::parse(&format!("sqlite://{db}?table=t")).unwrap();
    // Dropped before the commit: nothing at all is left.
    let mut session = Session::begin(&db).unwrap();
    assert_eq!(session.load(df.clone().lazy(), &target).unwrap(), 3);
    assert_eq!(names(dir.path()), [hidden.as_str()]);
    drop(session);
    assert!(names(dir.path()).is_empty());
    // Committed: the database alone, in WAL mode, with its rows.
    let mut session = Session::begin(&db).unwrap();
    session.load(df.clone().lazy(), &target).unwrap();
    session.commit().unwrap();
    assert_eq!(names(dir.path()), ["new.db"]);
    let conn = Connection::open(&db).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM t WHERE name = 'ü'", [], |r| r.get(0)).unwrap();
    assert_eq!((mode.as_str(), n), ("wal", 1));
    drop(conn);
    // A file that takes the name during the load is left alone, and the load discarded.
    let other = dir.path().join("other.db").display().to_string();
    let mut session = Session::begin(&other).unwrap();
    session.load(df.lazy(), &target).unwrap();
    std::fs::write(&other, b"someone else's").unwrap();
    let e = session.commit().unwrap_err().to_string();
    assert!(e.contains("other.db: a file of that name appeared during the load"), "{e}");
    assert_eq!(std::fs::read(&other).unwrap(), b"someone else's");
    assert_eq!(names(dir.path()), ["new.db", "other.db"]);
}

#[test]
fn a_ready_batch_holds_its_dates_and_times_as_text_chunk_by_chunk_with_nulls() {
    let date = Series::new("d".into(), [Some(19_845i32), None, Some(-1)]).cast(&DataType::Date).unwrap();
    let unit = TimeUnit::Microseconds;
    let stamps = Series::new("t".into(), [None, Some(1_714_680_828_000_123i64), Some(0)])
        .cast(&DataType::Datetime(unit, None))
        .unwrap();
    let times =
        Series::new("h".into(), [Some(3_600_000_000_001i64), Some(0), None]).cast(&DataType::Time).unwrap();
    let ids = Series::new("i".into(), [1i64, 2, 3]);
    let one =
        DataFrame::new_infer_height(vec![ids.into(), date.into(), stamps.into(), times.into()]).unwrap();
    // Two chunks in every column (the second batch appended), and the kinds kept apart.
    let mut df = one.clone();
    df.vstack_mut(&one).unwrap();
    let ready = Ready::new(df).unwrap();
    assert!(ready.texts[0].is_empty());
    let text = |column: usize, chunk: usize, row: usize| {
        ready.texts[column][chunk].get(row).map(|v| std::str::from_utf8(v).unwrap().to_string())
    };
    for chunk in 0..2 {
        assert_eq!(text(1, chunk, 0).as_deref(), Some("2024-05-02"));
        assert_eq!(text(1, chunk, 1), None);
        assert_eq!(text(1, chunk, 2).as_deref(), Some("1969-12-31"));
        assert_eq!(text(2, chunk, 0), None);
        assert_eq!(text(2, chunk, 1).as_deref(), Some("2024-05-02 20:13:48.000123"));
        assert_eq!(text(2, chunk, 2).as_deref(), Some("1970-01-01 00:00:00.000000"));
        assert_eq!(text(3, chunk, 0).as_deref(), Some("01:00:00.000000"));
        assert_eq!(text(3, chunk, 1).as_deref(), Some("00:00:00.000000"));
        assert_eq!(text(3, chunk, 2), None);
    }
}

#[test]
fn iso_text_is_what_chrono_writes() {
    // Dates from year -700 to 9999 and past it, every 997th day, and the edges.
    let mut days: Vec<i32> = (-975_000..2_933_000).step_by(997).collect();
    days.extend([-719_528, -719_529, -1, 0, 1, 59, 60, 2_932_896, 2_932_897]);
    let want = polars_text(Series::new("v".into(), days.clone()).cast(&DataType::Date).unwrap(), "%Y-%m-%d");
    let mut iso = Iso::default();
    for (d, w) in days.iter().zip(&want) {
        iso.date(*d);
        assert_eq!(text(&iso), w, "day {d}");
    }
    // Datetimes before and after 1970 with sub-second parts, in each unit, zoned or not.
    let mut values: Vec<i64> = (-40_000..40_000i64).map(|i| i * 7_919_317_777_113 + i * i * 13).collect();
    values.extend([0, -1, 1, 999_999, -999_999, 86_399_999_999]);
    for unit in [TimeUnit::Nanoseconds, TimeUnit::Microseconds, TimeUnit::Milliseconds] {
        let scaled: Vec<i64> = values
            .iter()
            .map(|v| match unit {
                TimeUnit::Nanoseconds => *v,
                TimeUnit::Microseconds => v / 1_000,
                TimeUnit::Milliseconds => v / 1_000_000,
            })
            .collect();
        for zoned in [false, true] {
            let zone = zoned.then_some(TimeZone::UTC);
            let s = Series::new("v".into(), scaled.clone()).cast(&DataType::Datetime(unit, zone)).unwrap();
            let want =
                polars_text(s, if zoned { "%Y-%m-%d %H:%M:%S%.6f+00:00" } else { "%Y-%m-%d %H:%M:%S%.6f" });
            for (v, w) in scaled.iter().zip(&want) {
                iso.datetime(*v, unit, zoned);
                assert_eq!(text(&iso), w, "{v} {unit:?}");
            }
        }
    }
    let nanos: Vec<i64> =
        (0..86_400i64).map(|s| s * 1_000_000_000 + (s * 7_777_777) % 1_000_000_000).collect();
    let want =
        polars_text(Series::new("v".into(), nanos.clone()).cast(&DataType::Time).unwrap(), "%H:%M:%S%.6f");
    for (v, w) in nanos.iter().zip(&want) {
        iso.time(*v);
        assert_eq!(text(&iso), w, "time {v}");
    }
}
