//! Deterministic generators of realistic, deliberately dirty data: the bundled samples
//! and big files for benchmarks. The same seed and row count always give the same bytes
//! (a fixed SplitMix64 stream, no dependence on library versions).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use polars::prelude::*;

use crate::error::{io_error, Error, Result};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Orders,
    Customers,
    Events,
    Trips,
}

impl Kind {
    pub fn default_rows(self) -> usize {
        match self {
            Kind::Orders => 50_000,
            Kind::Customers => 5_000,
            Kind::Events => 20_000,
            Kind::Trips => 20_000,
        }
    }
}

/// Customer ids run from 1 to this in every dataset, so joins line up.
pub const CUSTOMERS: u64 = 5_000;

/// SplitMix64: tiny, fast and fixed forever (also the randomised tests' source).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        (((self.next() >> 11) as u128 * n as u128) >> 53) as u64
    }
    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const FIRST: &[&str] = &[
    "ana", "ben", "chloe", "dmitri", "emma", "farah", "goran", "hana", "ivan", "julia", "kofi", "lena",
    "mateo", "nina", "omar", "priya", "quinn", "rosa", "sven", "tariq", "uma", "victor", "wei", "ximena",
    "yusuf", "zoe", "zoë", "józef",
];
const LAST: &[&str] = &[
    "smith", "garcia", "müller", "rossi", "dubois", "tanaka", "kowalski", "silva", "novak", "jensen",
    "okafor", "haddad", "ivanova", "nguyen", "oconnor", "petrov", "schmidt", "santos",
];
const STATUS: &[&str] =
    &["pending", "shipped", "delivered", "delivered", "delivered", "cancelled", "returned"];
const DIRTY_STATUS: &[&str] = &[" shipped", "Delivered ", "CANCELLED", "delivered\t"];
const COUNTRIES: &[&str] = &["US", "US", "US", "DE", "FR", "GB", "NL", "ES", "IT", "CA", "JP", "BR", "PL"];
const BAD_DATES: &[&str] = &["2024-02-30", "not a date", "31/12/2024", "2024-13-01", "tbd"];
const BAD_EMAILS: &[&str] =
    &["@example.com", "no-at-sign.example.com", "x@", "two@@example.com", "name @example.com"];

fn days_in_month(m: u64) -> u64 {
    match m {
        2 => 29, // 2024 is a leap year
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn date_2024(rng: &mut Rng) -> (u64, u64) {
    let m = 1 + rng.below(12);
    (m, 1 + rng.below(days_in_month(m)))
}

fn email(rng: &mut Rng, customer: u64) -> String {
    let first = FIRST[(customer % FIRST.len() as u64) as usize];
    let last = LAST[(customer / 7 % LAST.len() as u64) as usize];
    let _ = rng;
    format!("{first}.{last}{customer}@example.com")
}

/// Writes the generated dataset to `out` (CSV for orders, Parquet for customers, NDJSON
/// for events) through a temporary file renamed into place, so a failure leaves nothing.
pub fn generate(kind: Kind, rows: usize, seed: u64, out: &Path) -> Result<()> {
    let tmp = out.with_file_name(format!(
        ".{}.tmp-{}",
        out.file_name().and_then(|n| n.to_str()).unwrap_or("assay-gen"),
        std::process::id()
    ));
    let result = match kind {
        Kind::Orders => write_orders(rows, seed, &tmp),
        Kind::Customers => write_customers(rows, seed, &tmp),
        Kind::Events => write_events(rows, seed, &tmp),
        Kind::Trips => write_trips(rows, seed, &tmp),
    };
    match result {
        Ok(()) => std::fs::rename(&tmp, out).map_err(|e| io_error(out.display(), &e)),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn create(path: &Path) -> Result<BufWriter<File>> {
    File::create(path).map(|f| BufWriter::with_capacity(1 << 20, f)).map_err(|e| io_error(path.display(), &e))
}

/// Orders: duplicate ids, null customers, unparseable dates, stray whitespace in status,
/// malformed emails, negative and missing amounts.
fn write_orders(rows: usize, seed: u64, path: &Path) -> Result<()> {
    let mut rng = Rng::new(seed);
    let mut w = create(path)?;
    let io = |e: std::io::Error| io_error(path.display(), &e);
    writeln!(w, "order_id,customer_id,order_date,created_at,status,email,country,quantity,price,amount")
        .map_err(io)?;
    let mut next_id: u64 = 100_000;
    for _ in 0..rows {
        let order_id = if next_id > 100_000 && rng.chance(0.003) {
            next_id - 1 - rng.below((next_id - 100_000).min(50))
        } else {
            next_id += 1;
            next_id - 1
        };
        let customer = 1 + rng.below(CUSTOMERS);
        let customer_field = if rng.chance(0.01) { String::new() } else { customer.to_string() };
        let (m, d) = date_2024(&mut rng);
        let (h, mi, s) = (rng.below(24), rng.below(60), rng.below(60));
        let order_date =
            if rng.chance(0.005) { rng.pick(BAD_DATES).to_string() } else { format!("2024-{m:02}-{d:02}") };
        let status = if rng.chance(0.01) { rng.pick(DIRTY_STATUS) } else { rng.pick(STATUS) };
        let email_field =
            if rng.chance(0.01) { rng.pick(BAD_EMAILS).to_string() } else { email(&mut rng, customer) };
        let country = if rng.chance(0.005) { "us" } else { rng.pick(COUNTRIES) };
        let quantity = 1 + rng.below(10);
        let cents = 100 + rng.below(49_900);
        let mut amount_cents = cents as i64 * quantity as i64;
        if rng.chance(0.005) {
            amount_cents = -amount_cents;
        }
        let amount = if rng.chance(0.005) {
            String::new()
        } else {
            format!(
                "{}{}.{:02}",
                if amount_cents < 0 { "-" } else { "" },
                amount_cents.abs() / 100,
                amount_cents.abs() % 100
            )
        };
        // Quote the status when it holds a tab, like a careful CSV writer would.
        let status_field = if status.contains('\t') { format!("\"{status}\"") } else { status.to_string() };
        writeln!(
            w,
            "{order_id},{customer_field},{order_date},2024-{m:02}-{d:02} {h:02}:{mi:02}:{s:02},{status_field},{email_field},{country},{quantity},{}.{:02},{amount}",
            cents / 100,
            cents % 100
        )
        .map_err(io)?;
    }
    w.flush().map_err(io)
}

/// Customers: a clean-ish dimension table with a few null lifetime values.
fn write_customers(rows: usize, seed: u64, path: &Path) -> Result<()> {
    let mut rng = Rng::new(seed.wrapping_add(1));
    let n = rows;
    let mut ids = Vec::with_capacity(n);
    let mut names = Vec::with_capacity(n);
    let mut emails = Vec::with_capacity(n);
    let mut segments = Vec::with_capacity(n);
    let mut countries = Vec::with_capacity(n);
    let mut signup = Vec::with_capacity(n);
    let mut ltv = Vec::with_capacity(n);
    for i in 0..n as u64 {
        let id = i + 1;
        ids.push(id as i64);
        let first = FIRST[(id % FIRST.len() as u64) as usize];
        let last = LAST[(id / 7 % LAST.len() as u64) as usize];
        names.push(format!("{} {}", capitalize(first), capitalize(last)));
        emails.push(email(&mut rng, id));
        segments.push(rng.pick(&["consumer", "consumer", "corporate", "small_business"]).to_string());
        countries.push(rng.pick(COUNTRIES).to_string());
        // Days since 1970-01-01: signups from 2019 to 2024.
        signup.push(17_897 + rng.below(2_190) as i32);
        ltv.push(if rng.chance(0.02) { None } else { Some((rng.below(500_000) as f64) / 100.0) });
    }
    let mut df = DataFrame::new_infer_height(vec![
        Column::new("customer_id".into(), ids),
        Column::new("name".into(), names),
        Column::new("email".into(), emails),
        Column::new("segment".into(), segments),
        Column::new("country".into(), countries),
        Column::new("signup_date".into(), signup)
            .cast(&DataType::Date)
            .map_err(|e| Error::runtime(e.to_string()))?,
        Column::new("lifetime_value".into(), ltv),
    ])
    .map_err(|e| Error::runtime(e.to_string()))?;
    let file = File::create(path).map_err(|e| io_error(path.display(), &e))?;
    ParquetWriter::new(file)
        .finish(&mut df)
        .map_err(|e| Error::runtime(format!("{}: {e}", path.display())))?;
    Ok(())
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Events: NDJSON with a nested object, null customers and values, odd event types.
fn write_events(rows: usize, seed: u64, path: &Path) -> Result<()> {
    let mut rng = Rng::new(seed.wrapping_add(2));
    let mut w = create(path)?;
    let io = |e: std::io::Error| io_error(path.display(), &e);
    for i in 0..rows as u64 {
        let (m, d) = date_2024(&mut rng);
        let ts =
            format!("2024-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rng.below(24), rng.below(60), rng.below(60));
        let customer =
            if rng.chance(0.03) { "null".to_string() } else { (1 + rng.below(CUSTOMERS)).to_string() };
        let kind = if rng.chance(0.002) {
            "PageView"
        } else {
            rng.pick(&["page_view", "page_view", "page_view", "add_to_cart", "purchase", "refund"])
        };
        let value = match kind {
            "purchase" | "refund" if !rng.chance(0.05) => {
                format!("{}.{:02}", rng.below(2_000), rng.below(100))
            }
            _ => "null".to_string(),
        };
        let device = rng.pick(&["mobile", "desktop", "tablet"]);
        let page = rng.below(500);
        writeln!(
            w,
            r#"{{"event_id":{},"ts":"{ts}","customer_id":{customer},"event_type":"{kind}","value":{value},"device":"{device}","props":{{"page":"/products/{page}","campaign":{}}}}}"#,
            i + 1,
            if rng.chance(0.3) { "\"spring_sale\"" } else { "null" }
        )
        .map_err(io)?;
    }
    w.flush().map_err(io)
}

/// Taxi trips (CSV, NYC TLC yellow-cab style) over 2024: pickup and dropoff times,
/// passengers, distance, fares and tips; with missing passenger counts, zero-distance
/// trips, negative fares (refunds) and dropoffs before their pickup.
fn write_trips(rows: usize, seed: u64, path: &Path) -> Result<()> {
    let mut rng = Rng::new(seed.wrapping_add(3));
    let mut w = create(path)?;
    let io = |e: std::io::Error| io_error(path.display(), &e);
    writeln!(
        w,
        "trip_id,vendor_id,pickup_at,dropoff_at,passenger_count,trip_distance,payment_type,fare_amount,tip_amount,total_amount"
    )
    .map_err(io)?;
    for i in 0..rows as u64 {
        let (m, d) = date_2024(&mut rng);
        let (h, min, s) = (rng.below(24), rng.below(60), rng.below(60));
        let start = ((d - 1) * 24 + h) * 3600 + min * 60 + s; // seconds into the month
        let distance = if rng.chance(0.01) { 0.0 } else { 0.3 + rng.below(2_000) as f64 / 100.0 };
        let mut minutes = 3 + (distance * 3.0) as u64 + rng.below(20);
        if rng.chance(0.003) {
            minutes = 0; // fixed below: dropoff before pickup
        }
        let end = if minutes == 0 {
            start.saturating_sub(60 + rng.below(600))
        } else {
            start + minutes * 60 + rng.below(60)
        };
        let stamp = |t: u64| {
            let (day, rest) = (t / 86_400, t % 86_400);
            format!("2024-{m:02}-{:02} {:02}:{:02}:{:02}", day + 1, rest / 3600, rest / 60 % 60, rest % 60)
        };
        // A trip past midnight at the end of a month ends in that month's last day
        // (kept simple: the stamp clamps to the month).
        let end = end.min(days_in_month(m) * 86_400 - 1);
        let passengers = if rng.chance(0.02) { String::new() } else { (1 + rng.below(4)).to_string() };
        let mut fare = 3.0 + distance * 2.5 + minutes as f64 * 0.5;
        if rng.chance(0.005) {
            fare = -fare;
        }
        let card = rng.chance(0.7);
        let tip = if card && fare > 0.0 {
            (fare * (rng.below(30) as f64 / 100.0) * 100.0).round() / 100.0
        } else {
            0.0
        };
        writeln!(
            w,
            "{},{},{},{},{passengers},{distance:.2},{},{fare:.2},{tip:.2},{:.2}",
            i + 1,
            1 + rng.below(2),
            stamp(start),
            stamp(end),
            if card { "card" } else { rng.pick(&["cash", "cash", "no_charge", "dispute"]) },
            fare + tip
        )
        .map_err(io)?;
    }
    w.flush().map_err(io)
}

/// Writes the bundled sample set into `dir`: orders.csv, customers.parquet, events.ndjson,
/// trips.csv.
pub fn generate_samples(dir: &Path, seed: u64) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir.display(), &e))?;
    for (kind, file) in [
        (Kind::Orders, "orders.csv"),
        (Kind::Customers, "customers.parquet"),
        (Kind::Events, "events.ndjson"),
        (Kind::Trips, "trips.csv"),
    ] {
        generate(kind, kind.default_rows(), seed, &dir.join(file))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        let b = dir.path().join("b.csv");
        generate(Kind::Orders, 2_000, 7, &a).unwrap();
        generate(Kind::Orders, 2_000, 7, &b).unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        let text = std::fs::read_to_string(&a).unwrap();
        assert_eq!(text.lines().count(), 2_001);
    }

    #[test]
    fn rng_below_stays_in_range() {
        let mut r = Rng::new(1);
        assert!((0..10_000).all(|_| r.below(7) < 7));
    }
}
