//! The unique-key check without a hash table of every key.
//!
//! Counting the rows whose key occurs more than once needs, in Polars, either the whole
//! key column in memory (`is_duplicated`) or a group-by holding one entry per distinct key
//! (1.25 GB for a two-column key over 10M rows, BENCHMARKS.md). Here every row's key is
//! hashed twice with two seeds, as Polars streams the rows through the checks'
//! aggregation (an expression of the row number and the key that records them), giving
//! 24 bytes a row: two 64-bit hashes and the row number, kept in 256
//! buckets by the first hash's top byte (in fixed-size chunks, so nothing is copied or
//! over-allocated as they grow). Sorting a bucket brings its equal keys together; runs of
//! more than one are duplicated rows, and the smallest row numbers among them are the
//! first failing rows (the samples).
//!
//! Two keys are taken as equal when both 64-bit hashes agree. For different keys to be
//! counted as duplicates both hashes must collide: with n rows the chance is about
//! n² / 2¹²⁹ (10⁻²⁵ for 10M rows), far below that of a memory error.
//!
//! `distinct_count` and `duplicate_rows` use the same hashes in a set of the distinct keys
//! (`distinct`), also filled as the rows stream through the aggregation.

use std::sync::{Arc, Mutex};

use polars::prelude::*;
use polars_core::hashing::columns_to_hashes;
use polars_utils::aliases::{PlSeedableRandomStateQuality, SeedableFromU64SeedExt};
use rayon::prelude::*;

/// One row: its key's two hashes and its number (0-based, in the order read).
type Entry = [u64; 3];

const BUCKETS: usize = 256;
const CHUNK: usize = 4096;

/// The hashed keys of a unique check, filled by its sink while the plan runs.
#[derive(Default)]
pub struct KeyHashes {
    inner: Mutex<Buckets>,
}

#[derive(Default)]
struct Buckets {
    /// Per bucket, chunks of at most `CHUNK` entries.
    buckets: Vec<Vec<Vec<Entry>>>,
}

impl Buckets {
    fn push(&mut self, entry: Entry) {
        if self.buckets.is_empty() {
            self.buckets = vec![Vec::new(); BUCKETS];
        }
        let bucket = &mut self.buckets[(entry[0] >> 56) as usize];
        match bucket.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(entry),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(entry);
                bucket.push(chunk);
            }
        }
    }
}

/// What a unique check found: the rows whose key occurs more than once, and the first
/// `n` of them (row numbers, 0-based, ascending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicates {
    pub failing: u64,
    pub first: Vec<u64>,
}

/// Each row's key (all of `keys`' columns) as two 64-bit hashes of different seeds.
fn hash_pairs(keys: &DataFrame) -> PolarsResult<impl Iterator<Item = KeyHash>> {
    let seed = PlSeedableRandomStateQuality::seed_from_u64;
    let (mut a, mut b) = (Vec::with_capacity(keys.height()), Vec::with_capacity(keys.height()));
    columns_to_hashes(keys, Some(seed(0x5eed_0001_a55a_7001)), &mut a)?;
    columns_to_hashes(keys, Some(seed(0x5eed_0002_c0de_f00d)), &mut b)?;
    Ok(a.into_iter().zip(b))
}

/// An expression over rows numbered `row` that records every row's hashed key
/// `columns` into the returned hashes; it sums to the number of rows recorded. Elementwise,
/// so it runs in the same streaming pass as the other checks' aggregates, in any order.
pub fn expr(row: &str, columns: &[String]) -> (Expr, Arc<KeyHashes>) {
    let hashes = Arc::new(KeyHashes::default());
    let sink = hashes.clone();
    let record = move |c: &mut [Column]| -> PolarsResult<Column> {
        let rows = c[0].cast(&DataType::UInt64)?;
        let rows = rows.u64()?;
        let pairs = hash_pairs(&DataFrame::new(c[0].len(), c[1..].to_vec())?)?;
        let mut buckets = sink.inner.lock().map_err(|_| polars_err!(ComputeError: "unique: poisoned"))?;
        for ((a, b), row) in pairs.zip(rows.iter()) {
            buckets.push([a, b, row.unwrap_or(0)]);
        }
        Ok(Column::new_scalar(c[0].name().clone(), Scalar::from(1u64), c[0].len()))
    };
    let keys: Vec<Expr> = columns.iter().map(|c| col(c.as_str())).collect();
    (named_map(col(row), &keys, DataType::UInt64, "hash_unique_key", record).sum(), hashes)
}

/// `f` over the columns of `first` and `rest`, giving a column of `dtype` named after
/// `first`, as one expression called `name` in explained plans: how the checks run code of
/// their own as the rows stream through Polars' plan.
pub fn named_map<F>(first: Expr, rest: &[Expr], dtype: DataType, name: &'static str, f: F) -> Expr
where
    F: Fn(&mut [Column]) -> PolarsResult<Column> + Send + Sync + 'static,
{
    let mut expr =
        first.map_many(f, rest, move |_, fields| Ok(Field::new(fields[0].name().clone(), dtype.clone())));
    if let Expr::AnonymousFunction { fmt_str, .. } = &mut expr {
        **fmt_str = name.into();
    }
    expr
}

/// A duplicated key, as its two hashes.
pub type KeyHash = (u64, u64);

/// A hasher for keys that are already hashes: mixes the words written, no more.
#[derive(Default, Clone, Copy)]
pub struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        bytes.iter().for_each(|b| self.write_u64(u64::from(*b)));
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = self.0.rotate_left(23) ^ v;
    }
}

/// A set of hashed keys.
pub type HashedKeys = std::collections::HashSet<KeyHash, std::hash::BuildHasherDefault<Prehashed>>;

/// The distinct keys seen by a `distinct` expression, as their two hashes: a distinct
/// count in memory proportional to the distinct keys (16 bytes each, with the table's
/// slack), inside the shared aggregation. Polars' own `n_unique` is planned as a group-by
/// on a branch of its own, whose input the streaming engine buffers while the other
/// branch catches up (~400 MB on 10M rows read from Parquet, BENCHMARKS.md).
#[derive(Default)]
pub struct DistinctKeys {
    inner: Mutex<HashedKeys>,
}

impl DistinctKeys {
    /// How many distinct keys were seen.
    pub fn count(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).len() as u64
    }
}

/// An expression that records the distinct keys `columns` of the rows streaming past
/// (a row with a null in the key is left out when `skip_nulls`); it sums to the number of
/// rows seen, as `expr`'s does.
pub fn distinct(columns: &[String], skip_nulls: bool) -> (Expr, Arc<DistinctKeys>) {
    let keys = Arc::new(DistinctKeys::default());
    let sink = keys.clone();
    let record = move |c: &mut [Column]| -> PolarsResult<Column> {
        let rows = c[0].len();
        let frame = DataFrame::new(rows, c.to_vec())?;
        let pairs = hash_pairs(&frame)?;
        // Deduplicated here first, so the shared set is locked once per distinct key of
        // the batch rather than once per row.
        let mut batch = HashedKeys::default();
        if skip_nulls && c.iter().any(|c| c.has_nulls()) {
            let mut valid = c[0].is_not_null();
            for other in &c[1..] {
                valid = &valid & &other.is_not_null();
            }
            batch.extend(pairs.zip(valid.iter()).filter(|(_, v)| *v == Some(true)).map(|(k, _)| k));
        } else {
            batch.extend(pairs);
        }
        let mut seen = sink.inner.lock().map_err(|_| polars_err!(ComputeError: "distinct: poisoned"))?;
        seen.extend(batch);
        Ok(Column::new_scalar(c[0].name().clone(), Scalar::from(1u64), rows))
    };
    let rest: Vec<Expr> = columns[1..].iter().map(|c| col(c.as_str())).collect();
    (named_map(col(columns[0].as_str()), &rest, DataType::UInt64, "hash_distinct_key", record).sum(), keys)
}

/// Per row, whether its key `columns` hashes to one of `keys` (as `expr` hashes them):
/// a unique check's per-row failure in bounded memory, for the quarantine.
pub fn among(columns: &[String], keys: Arc<HashedKeys>) -> Expr {
    let test = move |c: &mut [Column]| -> PolarsResult<Column> {
        let pairs = hash_pairs(&DataFrame::new(c[0].len(), c.to_vec())?)?;
        let hit: BooleanChunked =
            pairs.map(|k| Some(keys.contains(&k))).collect::<BooleanChunked>().with_name(c[0].name().clone());
        Ok(hit.into_column())
    };
    let rest: Vec<Expr> = columns[1..].iter().map(|c| col(c.as_str())).collect();
    named_map(col(columns[0].as_str()), &rest, DataType::Boolean, "key_is_duplicated", test)
}

/// The hashes of the keys of `columns` that occur more than once in `lf` (one pass).
pub fn duplicated_keys(lf: LazyFrame, columns: &[String]) -> PolarsResult<HashedKeys> {
    Ok(recorded(lf, columns)?.sorted_runs(true, |_| ()).into_iter().collect())
}

/// Every row's hashed key of `columns` in `lf`, recorded by a pass of its own.
fn recorded(lf: LazyFrame, columns: &[String]) -> PolarsResult<Arc<KeyHashes>> {
    const ROW: &str = "__assay_unique_row";
    let (expr, hashes) = expr(ROW, columns);
    crate::engine::polars::collect(lf.with_row_index(ROW, None).select([expr]))?;
    Ok(hashes)
}

impl KeyHashes {
    /// Sorts each bucket and calls `run` with every run of two or more equal keys;
    /// returns those keys when `keep`.
    fn sorted_runs(&self, keep: bool, run: impl Fn(&[Entry]) + Sync) -> Vec<KeyHash> {
        let buckets = std::mem::take(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()).buckets);
        buckets
            .into_par_iter()
            .flat_map_iter(|chunks| {
                let mut all: Vec<Entry> = Vec::with_capacity(chunks.iter().map(Vec::len).sum());
                for chunk in chunks {
                    all.extend(chunk);
                }
                all.sort_unstable_by_key(|e| (e[0], e[1]));
                let mut keys = Vec::new();
                for r in all.chunk_by(|a, b| a[0] == b[0] && a[1] == b[1]) {
                    if r.len() > 1 {
                        run(r);
                        if keep {
                            keys.push((r[0][0], r[0][1]));
                        }
                    }
                }
                keys
            })
            .collect()
    }

    /// The duplicated rows among everything streamed, with the first `n` of them.
    pub fn duplicates(&self, n: usize) -> Duplicates {
        self.duplicates_and_keys(n, false).0
    }

    /// `duplicates`, and the duplicated keys themselves when `keep` (for a quarantine
    /// that follows the check, which then needs no pass of its own to find them).
    pub fn duplicates_and_keys(&self, n: usize, keep: bool) -> (Duplicates, Vec<KeyHash>) {
        let failing = std::sync::atomic::AtomicU64::new(0);
        let first = Mutex::new(Smallest::new(n));
        let keys = self.sorted_runs(keep, |run| {
            failing.fetch_add(run.len() as u64, std::sync::atomic::Ordering::Relaxed);
            if n > 0 {
                let mut first = first.lock().unwrap_or_else(|e| e.into_inner());
                run.iter().for_each(|e| first.offer(e[2]));
            }
        });
        let first = first.into_inner().unwrap_or_else(|e| e.into_inner());
        (Duplicates { failing: failing.into_inner(), first: first.into_sorted() }, keys)
    }
}

/// The `n` smallest numbers offered (a max-heap of size n).
struct Smallest {
    n: usize,
    heap: std::collections::BinaryHeap<u64>,
}

impl Smallest {
    fn new(n: usize) -> Self {
        Smallest { n, heap: std::collections::BinaryHeap::with_capacity(n + 1) }
    }

    fn offer(&mut self, v: u64) {
        if self.heap.len() < self.n {
            self.heap.push(v);
        } else if self.heap.peek().is_some_and(|&top| v < top) {
            self.heap.pop();
            self.heap.push(v);
        }
    }

    fn into_sorted(self) -> Vec<u64> {
        self.heap.into_sorted_vec()
    }
}

/// Runs the unique check over `lf` alone (when another engine measured the count and
/// only the samples are wanted, or in tests).
pub fn duplicates(lf: LazyFrame, columns: &[String], n: usize) -> PolarsResult<Duplicates> {
    Ok(recorded(lf, columns)?.duplicates(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_row_of_a_repeated_key_nulls_as_a_value_and_finds_the_first_rows() {
        let df = df! {
            "a" => [Some(1), Some(2), Some(1), None, Some(3), None, Some(2), Some(4)],
            "b" => ["x", "y", "x", "z", "x", "z", "q", "x"],
        }
        .unwrap();
        let columns = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // a alone: 1 (rows 0, 2), 2 (1, 6), null (3, 5).
        let d = duplicates(df.clone().lazy(), &columns(&["a"]), 3).unwrap();
        assert_eq!(d, Duplicates { failing: 6, first: vec![0, 1, 2] });
        // (a, b): (1, x) twice, (null, z) twice; (2, y) and (2, q) differ.
        let d = duplicates(df.clone().lazy(), &columns(&["a", "b"]), 10).unwrap();
        assert_eq!(d, Duplicates { failing: 4, first: vec![0, 2, 3, 5] });
        let d = duplicates(df.clone().lazy(), &columns(&["b"]), 0).unwrap();
        // x four times, z twice; y and q once.
        assert_eq!(d.failing, 6);
        assert!(d.first.is_empty());
        let empty = df.clear().lazy();
        assert_eq!(duplicates(empty, &columns(&["a"]), 5).unwrap(), Duplicates { failing: 0, first: vec![] });
    }

    #[test]
    fn agrees_with_polars_is_duplicated_across_many_batches() {
        let n = 300_000u64;
        let a: Vec<u64> = (0..n).map(|i| (i * 7919) % 250_003).collect();
        // a repeats from row 250,003 on; b repeats with it on every other of those rows.
        let b: Vec<String> =
            (0..n).map(|i| format!("k{}", (i % 250_003) % 3 + (i / 250_003) * (i % 2))).collect();
        let df = df! { "a" => a, "b" => b }.unwrap();
        let want = df
            .clone()
            .lazy()
            .select([as_struct(vec![col("a"), col("b")]).is_duplicated().alias("d")])
            .collect()
            .unwrap();
        let mask = want.column("d").unwrap().bool().unwrap().clone();
        let failing = mask.sum().unwrap_or(0) as u64;
        let first: Vec<u64> = mask
            .iter()
            .enumerate()
            .filter(|(_, d)| *d == Some(true))
            .map(|(i, _)| i as u64)
            .take(5)
            .collect();
        let columns = vec!["a".to_string(), "b".to_string()];
        let got = duplicates(df.clone().lazy(), &columns, 5).unwrap();
        assert!(failing > 0);
        assert_eq!(got, Duplicates { failing, first });
        // The quarantine's per-row test marks exactly the rows is_duplicated marks.
        let keys = Arc::new(duplicated_keys(df.clone().lazy(), &columns).unwrap());
        let marked =
            crate::engine::polars::collect(df.lazy().select([among(&columns, keys).alias("d")])).unwrap();
        let marked: Vec<Option<bool>> = marked.column("d").unwrap().bool().unwrap().iter().collect();
        assert_eq!(marked, mask.iter().collect::<Vec<_>>());
    }

    #[test]
    fn distinct_keys_agree_with_polars_n_unique_nulls_left_out_or_counted() {
        let n = 300_000u64;
        // 1,000 values and a null every 7th row; b splits each value of a in two.
        let a: Vec<Option<u64>> = (0..n).map(|i| (i % 7 != 0).then_some((i * 7919) % 1_000)).collect();
        let b: Vec<String> = (0..n).map(|i| format!("k{}", i % 2)).collect();
        let df = df! { "a" => a, "b" => b }.unwrap();
        let polars = |e: Expr| {
            let out =
                crate::engine::polars::collect(df.clone().lazy().select([e.cast(DataType::UInt64)])).unwrap();
            out.columns()[0].u64().unwrap().get(0).unwrap()
        };
        let ours = |columns: &[&str], skip_nulls: bool| {
            let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
            let (expr, keys) = distinct(&columns, skip_nulls);
            let seen = crate::engine::polars::collect(df.clone().lazy().select([expr])).unwrap();
            assert_eq!(seen.columns()[0].u64().unwrap().get(0), Some(n));
            keys.count()
        };
        let want = polars(col("a").drop_nulls().n_unique());
        assert!(want > 900);
        assert_eq!(ours(&["a"], true), want);
        assert_eq!(ours(&["a"], false), want + 1);
        assert_eq!(ours(&["a", "b"], false), polars(as_struct(vec![col("a"), col("b")]).n_unique()));
        let empty = df.clear().lazy();
        let (expr, keys) = distinct(&["a".to_string()], true);
        crate::engine::polars::collect(empty.select([expr])).unwrap();
        assert_eq!(keys.count(), 0);
    }
}
