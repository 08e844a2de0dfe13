//! Column statistics and histograms, computed lazily by Polars in two aggregating scans
//! (never collecting the data itself).
//!
//! The first scan takes every column's counts, extremes, moments and exact distinct
//! count. The second takes what needs the first's answers: histogram bins (which need
//! the extremes), and top values only where a column repeats enough for them to mean
//! something. Exact quantiles need a sort per column, so they are exact up to
//! `EXACT_ROWS` rows; past that they are read off a fine histogram of `FINE_BINS` bins
//! (error under a thousandth of the range), and the profile says so. On a 10M-row file
//! this keeps the profile at seconds, not half a minute (BENCHMARKS.md).
//!
//! Distinct counts stay exact: Polars 0.55's HyperLogLog (`approx_n_unique`) was 5-11%
//! low on our generated columns, too far off to print as a column's cardinality.

use polars::prelude::*;

/// How many most frequent values are kept per column.
pub const TOP_VALUES: usize = 5;
/// Histogram bins shown for numeric columns.
pub const BINS: usize = 20;
/// Fine bins counted for numeric columns; the shown bins and big-data quantiles come
/// from them.
pub const FINE_BINS: usize = 2000;
/// Up to this many rows, distinct counts and quantiles are exact.
pub const EXACT_ROWS: u64 = 1_000_000;
/// Past `EXACT_ROWS`, top values are counted only for columns with at most this many
/// distinct values (a column of mostly unique values has no top values worth a scan).
pub const TOP_MAX_DISTINCT: u64 = 200_000;

/// What a column holds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ColumnProfile {
    pub name: String,
    #[serde(rename = "type")]
    pub dtype: String,
    pub rows: u64,
    pub nulls: u64,
    pub null_fraction: f64,
    /// Exact count of distinct non-null values.
    pub distinct: u64,
    pub min: Option<String>,
    pub max: Option<String>,
    pub mean: Option<f64>,
    pub std: Option<f64>,
    /// 25th, 50th and 75th percentiles (numeric columns).
    pub quantiles: Option<[f64; 3]>,
    /// The most frequent values (nulls included) with their counts, most frequent first;
    /// empty for a mostly-unique column of a big table.
    pub top: Vec<(String, u64)>,
    /// Equal-width bins between min and max: (lower bound, count).
    pub histogram: Vec<(f64, u64)>,
    /// The table has more than `EXACT_ROWS` rows: the quantiles are interpolated from
    /// `FINE_BINS` bins.
    pub approximate: bool,
}

fn is_numeric(dt: &DataType) -> bool {
    dt.is_primitive_numeric()
}

fn key(i: usize, stat: &str) -> PlSmallStr {
    format!("{i}__{stat}").into()
}

fn scalar_f64(df: &DataFrame, name: &str) -> Option<f64> {
    df.column(name).ok()?.get(0).ok()?.extract::<f64>()
}

fn scalar_text(df: &DataFrame, name: &str) -> Option<String> {
    text(&df.column(name).ok()?.get(0).ok()?)
}

/// A value as a person reads it (strings without quotes), or `None` for null.
pub fn text(v: &AnyValue) -> Option<String> {
    match v {
        AnyValue::Null => None,
        AnyValue::String(s) => Some(s.to_string()),
        AnyValue::StringOwned(s) => Some(s.to_string()),
        other => Some(other.to_string()),
    }
}

/// Profiles every column of `lf` (which is not collected whole: both scans aggregate).
pub fn profile(lf: LazyFrame) -> PolarsResult<Vec<ColumnProfile>> {
    let mut lf = lf;
    let schema = lf.collect_schema()?;
    let columns: Vec<(PlSmallStr, DataType)> = schema.iter().map(|(n, d)| (n.clone(), d.clone())).collect();
    let orderable = |dt: &DataType| !matches!(dt, DataType::List(_) | DataType::Struct(_) | DataType::Binary);
    let mut exprs = vec![len().alias("__rows")];
    for (i, (name, dtype)) in columns.iter().enumerate() {
        let c = || col(name.clone());
        exprs.push(c().null_count().alias(key(i, "nulls")));
        exprs.push(c().drop_nulls().n_unique().alias(key(i, "distinct")));
        if orderable(dtype) {
            exprs.push(c().min().cast(DataType::String).alias(key(i, "min")));
            exprs.push(c().max().cast(DataType::String).alias(key(i, "max")));
        }
        if is_numeric(dtype) {
            let f = || c().cast(DataType::Float64);
            exprs.push(f().mean().alias(key(i, "mean")));
            exprs.push(f().std(1).alias(key(i, "std")));
            exprs.push(f().min().alias(key(i, "fmin")));
            exprs.push(f().max().alias(key(i, "fmax")));
        }
    }
    let stats = crate::engine::polars::collect(lf.clone().select(exprs))?;
    let rows = scalar_f64(&stats, "__rows").unwrap_or(0.0) as u64;
    let exact = rows <= EXACT_ROWS;

    // The second scan: whatever needs the first one's answers.
    let mut second = Vec::new();
    let range = |i: usize| match (scalar_f64(&stats, &key(i, "fmin")), scalar_f64(&stats, &key(i, "fmax"))) {
        (Some(lo), Some(hi)) if hi > lo => Some((lo, hi)),
        _ => None,
    };
    for (i, (name, dtype)) in columns.iter().enumerate() {
        let c = || col(name.clone());
        let distinct = scalar_f64(&stats, &key(i, "distinct")).unwrap_or(0.0) as u64;
        if exact && is_numeric(dtype) {
            for (q, label) in [(0.25, "q25"), (0.5, "q50"), (0.75, "q75")] {
                let f = c().cast(DataType::Float64);
                second.push(f.quantile(lit(q), QuantileMethod::Linear).alias(key(i, label)));
            }
        }
        if orderable(dtype) && (exact || distinct <= TOP_MAX_DISTINCT) {
            second.push(
                c().value_counts(true, false, "count", false)
                    .head(Some(TOP_VALUES))
                    .implode(true)
                    .alias(key(i, "top")),
            );
        }
        if let (true, Some((lo, hi))) = (is_numeric(dtype), range(i)) {
            let width = (hi - lo) / FINE_BINS as f64;
            let bin = ((c().cast(DataType::Float64) - lit(lo)) / lit(width))
                .floor()
                .clip(lit(0.0), lit((FINE_BINS - 1) as f64))
                .cast(DataType::Int64);
            second.push(bin.value_counts(false, false, "count", false).implode(true).alias(key(i, "hist")));
        }
    }
    let more = if second.is_empty() {
        DataFrame::empty()
    } else {
        crate::engine::polars::collect(lf.select(second))?
    };

    let mut out = Vec::with_capacity(columns.len());
    for (i, (name, dtype)) in columns.iter().enumerate() {
        let nulls = scalar_f64(&stats, &key(i, "nulls")).unwrap_or(0.0) as u64;
        let numeric = is_numeric(dtype);
        let fine = match range(i) {
            Some((lo, hi)) if numeric => {
                let mut bins = vec![0u64; FINE_BINS];
                for (bin, n) in counts(&more, &key(i, "hist")) {
                    if let Some(b) = bin.and_then(|b| b.parse::<usize>().ok()) {
                        bins[b.min(FINE_BINS - 1)] += n;
                    }
                }
                Some((lo, hi, bins))
            }
            _ => None,
        };
        let quantiles = if !numeric {
            None
        } else if exact {
            match (
                scalar_f64(&more, &key(i, "q25")),
                scalar_f64(&more, &key(i, "q50")),
                scalar_f64(&more, &key(i, "q75")),
            ) {
                (Some(a), Some(b), Some(c)) => Some([a, b, c]),
                _ => None,
            }
        } else {
            match &fine {
                Some((lo, hi, bins)) => Some([0.25, 0.5, 0.75].map(|q| fine_quantile(*lo, *hi, bins, q))),
                // One distinct value: every quantile is it.
                None => scalar_f64(&stats, &key(i, "fmin")).map(|v| [v; 3]),
            }
        };
        let histogram = match &fine {
            Some((lo, hi, bins)) if bins.iter().any(|&n| n > 0) => {
                let per = FINE_BINS / BINS;
                let width = (hi - lo) / BINS as f64;
                bins.chunks(per).enumerate().map(|(b, c)| (lo + b as f64 * width, c.iter().sum())).collect()
            }
            _ => Vec::new(),
        };
        out.push(ColumnProfile {
            name: name.to_string(),
            dtype: dtype.to_string(),
            rows,
            nulls,
            null_fraction: if rows == 0 { 0.0 } else { nulls as f64 / rows as f64 },
            distinct: scalar_f64(&stats, &key(i, "distinct")).unwrap_or(0.0) as u64,
            min: scalar_text(&stats, &key(i, "min")),
            max: scalar_text(&stats, &key(i, "max")),
            mean: numeric.then(|| scalar_f64(&stats, &key(i, "mean"))).flatten(),
            std: numeric.then(|| scalar_f64(&stats, &key(i, "std"))).flatten(),
            quantiles,
            top: counts(&more, &key(i, "top"))
                .into_iter()
                .map(|(v, n)| (v.unwrap_or_else(|| "∅".to_string()), n))
                .collect(),
            histogram,
            approximate: !exact,
        });
    }
    Ok(out)
}

/// The `q` quantile of the values counted in `bins` (equal widths over `lo..hi`),
/// interpolated linearly inside the bin where it falls.
fn fine_quantile(lo: f64, hi: f64, bins: &[u64], q: f64) -> f64 {
    let total: u64 = bins.iter().sum();
    if total == 0 {
        return f64::NAN;
    }
    let width = (hi - lo) / bins.len() as f64;
    let target = q * (total - 1) as f64;
    let mut seen = 0u64;
    for (b, &n) in bins.iter().enumerate() {
        if n > 0 && (seen + n) as f64 > target {
            let within = (target - seen as f64 + 0.5) / n as f64;
            return (lo + (b as f64 + within.clamp(0.0, 1.0)) * width).min(hi);
        }
        seen += n;
    }
    hi
}

/// The (value, count) pairs of an imploded `value_counts` result.
pub fn counts(df: &DataFrame, name: &str) -> Vec<(Option<String>, u64)> {
    let Ok(column) = df.column(name) else { return Vec::new() };
    let Ok(AnyValue::List(inner)) = column.get(0) else { return Vec::new() };
    let Ok(fields) = inner.struct_().map(|s| s.fields_as_series()) else { return Vec::new() };
    let (Some(values), Some(n)) = (fields.first(), fields.get(1)) else { return Vec::new() };
    (0..inner.len())
        .map(|r| {
            let value = values.get(r).ok().and_then(|v| text(&v));
            let count = n.get(r).ok().and_then(|v| v.extract::<u64>()).unwrap_or(0);
            (value, count)
        })
        .collect()
}

/// A histogram as one line of block characters, one per bin, scaled to the fullest bin.
pub fn sparkline(histogram: &[(f64, u64)]) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = histogram.iter().map(|(_, n)| *n).max().unwrap_or(0);
    if max == 0 {
        return String::new();
    }
    histogram.iter().map(|(_, n)| if *n == 0 { ' ' } else { BLOCKS[((*n * 7) / max) as usize] }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_of_known_data() {
        let df = df!(
            "x" => [Some(1i64), Some(2), Some(2), None, Some(10)],
            "s" => [Some("a"), Some("b"), Some("b"), Some("b"), None],
        )
        .unwrap();
        let p = profile(df.lazy()).unwrap();
        let x = &p[0];
        assert_eq!((x.rows, x.nulls, x.distinct), (5, 1, 3));
        assert_eq!(x.min.as_deref(), Some("1"));
        assert_eq!(x.max.as_deref(), Some("10"));
        assert_eq!(x.mean, Some(3.75));
        assert_eq!(x.quantiles.unwrap()[1], 2.0);
        assert_eq!(x.top[0], ("2".to_string(), 2));
        assert_eq!(x.histogram.len(), BINS);
        assert_eq!(x.histogram.iter().map(|b| b.1).sum::<u64>(), 4);
        // Bins of width (10 - 1) / 20 = 0.45: 1 in the first, both 2s in the third, 10 in the last.
        assert_eq!((x.histogram[0].1, x.histogram[2].1, x.histogram[BINS - 1].1), (1, 2, 1));
        assert_eq!(x.histogram[2].0, 1.9);
        let s = &p[1];
        assert_eq!((s.nulls, s.distinct), (1, 2));
        assert_eq!(s.top[0], ("b".to_string(), 3));
        assert!(s.histogram.is_empty() && s.mean.is_none());
        assert!(!x.approximate);
        assert_eq!(sparkline(&[(0.0, 1), (1.0, 0), (2.0, 8)]), "▁ █");
    }

    #[test]
    fn big_tables_estimate_quantiles_closely() {
        let n = EXACT_ROWS as i64 + 1000;
        // 0..n shuffled a little by a multiplier, and a column with 7 values.
        let x: Vec<i64> = (0..n).map(|i| (i * 7919) % n).collect();
        let g: Vec<i64> = (0..n).map(|i| i % 7).collect();
        let df = df!("x" => x, "g" => g).unwrap();
        let p = profile(df.lazy()).unwrap();
        let x = &p[0];
        assert!(x.approximate);
        assert_eq!(x.distinct, n as u64);
        let q = x.quantiles.unwrap();
        for (got, want) in q.iter().zip([0.25, 0.5, 0.75]) {
            let want = want * (n - 1) as f64;
            assert!((got - want).abs() <= n as f64 / FINE_BINS as f64, "{got} vs {want}");
        }
        assert!(x.top.is_empty(), "a unique column of a big table has no top values");
        assert_eq!(x.histogram.iter().map(|b| b.1).sum::<u64>(), n as u64);
        let g = &p[1];
        assert_eq!(g.top.len(), TOP_VALUES);
        assert_eq!(g.top[0].1, (n as u64).div_ceil(7));
        assert_eq!(g.distinct, 7);
    }
}
