//! Column statistics and histograms, computed lazily by Polars in two scans: one
//! aggregation for every column's counts, extremes, moments, quantiles and top values,
//! and one for the histograms of numeric columns (whose bins need the extremes).

use polars::prelude::*;

/// How many most frequent values are kept per column.
pub const TOP_VALUES: usize = 5;
/// Histogram bins for numeric columns.
pub const BINS: usize = 20;

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
    /// The most frequent values (nulls included) with their counts, most frequent first.
    pub top: Vec<(String, u64)>,
    /// Equal-width bins between min and max: (lower bound, count).
    pub histogram: Vec<(f64, u64)>,
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
    let v = df.column(name).ok()?.get(0).ok()?;
    if v.is_null() {
        return None;
    }
    Some(match v {
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        other => other.to_string(),
    })
}

/// Profiles every column of `lf` (which is not collected whole: both scans aggregate).
pub fn profile(lf: LazyFrame) -> PolarsResult<Vec<ColumnProfile>> {
    let mut lf = lf;
    let schema = lf.collect_schema()?;
    let columns: Vec<(PlSmallStr, DataType)> = schema.iter().map(|(n, d)| (n.clone(), d.clone())).collect();
    let mut exprs = vec![len().alias("__rows")];
    for (i, (name, dtype)) in columns.iter().enumerate() {
        let c = || col(name.clone());
        exprs.push(c().null_count().alias(key(i, "nulls")));
        exprs.push(c().drop_nulls().n_unique().alias(key(i, "distinct")));
        let orderable = !matches!(dtype, DataType::List(_) | DataType::Struct(_) | DataType::Binary);
        if orderable {
            exprs.push(c().min().cast(DataType::String).alias(key(i, "min")));
            exprs.push(c().max().cast(DataType::String).alias(key(i, "max")));
        }
        if is_numeric(dtype) {
            let f = || c().cast(DataType::Float64);
            exprs.push(f().mean().alias(key(i, "mean")));
            exprs.push(f().std(1).alias(key(i, "std")));
            exprs.push(f().min().alias(key(i, "fmin")));
            exprs.push(f().max().alias(key(i, "fmax")));
            for (q, label) in [(0.25, "q25"), (0.5, "q50"), (0.75, "q75")] {
                exprs.push(f().quantile(lit(q), QuantileMethod::Linear).alias(key(i, label)));
            }
        }
        if orderable {
            exprs.push(
                c().cast(DataType::String)
                    .value_counts(true, false, "count", false)
                    .head(Some(TOP_VALUES))
                    .implode(true)
                    .alias(key(i, "top")),
            );
        }
    }
    let stats = crate::engine::polars::collect(lf.clone().select(exprs))?;
    let rows = scalar_f64(&stats, "__rows").unwrap_or(0.0) as u64;
    let mut out = Vec::with_capacity(columns.len());
    let mut hist_exprs = Vec::new();
    for (i, (name, dtype)) in columns.iter().enumerate() {
        let nulls = scalar_f64(&stats, &key(i, "nulls")).unwrap_or(0.0) as u64;
        let numeric = is_numeric(dtype);
        let quantiles = if numeric {
            match (
                scalar_f64(&stats, &key(i, "q25")),
                scalar_f64(&stats, &key(i, "q50")),
                scalar_f64(&stats, &key(i, "q75")),
            ) {
                (Some(a), Some(b), Some(c)) => Some([a, b, c]),
                _ => None,
            }
        } else {
            None
        };
        if numeric {
            if let (Some(lo), Some(hi)) =
                (scalar_f64(&stats, &key(i, "fmin")), scalar_f64(&stats, &key(i, "fmax")))
            {
                if hi > lo {
                    let width = (hi - lo) / BINS as f64;
                    let bin = ((col(name.clone()).cast(DataType::Float64) - lit(lo)) / lit(width))
                        .floor()
                        .clip(lit(0.0), lit((BINS - 1) as f64))
                        .cast(DataType::Int64);
                    hist_exprs.push(
                        bin.value_counts(false, false, "count", false).implode(true).alias(key(i, "hist")),
                    );
                }
            }
        }
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
            top: counts(&stats, &key(i, "top"))
                .into_iter()
                .map(|(v, n)| (v.unwrap_or_else(|| "∅".to_string()), n))
                .collect(),
            histogram: Vec::new(),
        });
    }
    if !hist_exprs.is_empty() {
        let hist = crate::engine::polars::collect(lf.select(hist_exprs))?;
        for (i, p) in out.iter_mut().enumerate() {
            let (Some(lo), Some(hi)) =
                (scalar_f64(&stats, &key(i, "fmin")), scalar_f64(&stats, &key(i, "fmax")))
            else {
                continue;
            };
            let pairs = counts(&hist, &key(i, "hist"));
            if pairs.is_empty() {
                continue;
            }
            let width = (hi - lo) / BINS as f64;
            let mut bins = vec![0u64; BINS];
            for (bin, n) in pairs {
                if let Some(b) = bin.and_then(|b| b.parse::<usize>().ok()) {
                    bins[b.min(BINS - 1)] += n;
                }
            }
            p.histogram = bins.into_iter().enumerate().map(|(b, n)| (lo + b as f64 * width, n)).collect();
        }
    }
    Ok(out)
}

/// The (value, count) pairs of an imploded `value_counts` result.
fn counts(df: &DataFrame, name: &str) -> Vec<(Option<String>, u64)> {
    let Ok(column) = df.column(name) else { return Vec::new() };
    let Ok(AnyValue::List(inner)) = column.get(0) else { return Vec::new() };
    let Ok(fields) = inner.struct_().map(|s| s.fields_as_series()) else { return Vec::new() };
    let (Some(values), Some(n)) = (fields.first(), fields.get(1)) else { return Vec::new() };
    (0..inner.len())
        .map(|r| {
            let value = values.get(r).ok().filter(|v| !v.is_null()).map(|v| match v {
                AnyValue::String(s) => s.to_string(),
                other => other.to_string(),
            });
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
        assert_eq!(sparkline(&[(0.0, 1), (1.0, 0), (2.0, 8)]), "▁ █");
    }
}
