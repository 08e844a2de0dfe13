//! The steps built as one plan on the recipe's engine: a lazy Polars plan, or DataFusion
//! frames over each other's views streamed once to Parquet; an `sql` step written for
//! the other engine crosses through a Parquet file. And the row counts after each step.

use super::*;

/// What the steps built, on either engine.
pub(super) struct Built {
    /// The result as a Polars plan (on DataFusion: a scan of the result streamed to
    /// the scratch folder).
    pub(super) result: LazyFrame,
    /// Per enabled step: a plan to count its rows.
    pub(super) counts: Vec<Option<Counter>>,
    /// On DataFusion, the result as a dataset (for the SQL checks).
    pub(super) dataset: Option<Dataset>,
}

pub(super) enum Counter {
    Polars(LazyFrame),
    DataFusion(DataFrame),
}

/// Names of the tables `query` reads (lowercased, CTEs excluded).
pub(super) fn tables_in(query: &str) -> Vec<String> {
    crate::sql::parse(query).map(|s| crate::sql::tables_read(&s)).unwrap_or_default()
}

/// The steps as one lazy Polars plan.
pub(super) async fn build_polars(loaded: &Loaded, ws: &Workspace, scratch: &mut Scratch) -> Result<Built> {
    let mut tables: Tables = HashMap::new();
    for ds in ws.datasets() {
        let lf = crate::engine::polars::scan(ds).map_err(|e| polars_failed(&ds.spec, e))?;
        tables.insert(ds.name.clone(), lf);
    }
    let mut previous = tables[loaded.main_source()].clone();
    let mut counts = Vec::new();
    for planned in &loaded.steps {
        if !planned.enabled {
            counts.push(None);
            continue;
        }
        let input = match &planned.input {
            Input::Previous => previous.clone(),
            Input::Table(t) => tables[t].clone(),
        };
        let at = format!("{}: step {} ({})", planned.at, counts.len() + 1, planned.step.kind());
        let out = match &planned.step {
            Step::Sql { query, engine: Some(EngineKind::DataFusion) } => {
                // Written for DataFusion: its input (and any named step it reads) crosses
                // as Parquet; the sources are DataFusion's own tables.
                let ctx = ws.datafusion_context().await?;
                let mut crossing = vec![(transform::INPUT.to_string(), input)];
                for t in tables_in(query) {
                    if !ws.names().contains(&t) && t != transform::INPUT {
                        if let Some(lf) = tables.get(&t) {
                            crossing.push((t, lf.clone()));
                        }
                    }
                }
                for (name, lf) in crossing {
                    let path = scratch.file(&name);
                    let p = path.clone();
                    blocking(move || crate::sink::sink_to(lf, &p, Format::Parquet)).await?;
                    let _ = ctx.deregister_table(name.as_str());
                    register_parquet(&ctx, &name, &path, &at).await?;
                }
                let q = crate::engine::datafusion::rewrite(&ctx, query).await;
                let df = ctx.sql(&q).await.map_err(|e| datafusion_failed(&at, e))?;
                let path = scratch.file("sql");
                df_to_parquet(df, &path, &at).await?;
                scan_parquet(&path)?
            }
            step => {
                let (step, tables) = (step.clone(), tables.clone());
                let a = at.clone();
                blocking(move || step.lower(input, &tables).map_err(|e| polars_failed(&a, e))).await?
            }
        };
        // Planning now finds unknown columns before any data is read.
        let mut probe = out.clone();
        let a = at.clone();
        blocking(move || probe.collect_schema().map(|_| ()).map_err(|e| polars_failed(&a, e))).await?;
        if let Some(name) = &planned.name {
            tables.insert(name.clone(), out.clone());
        }
        counts.push(Some(Counter::Polars(out.clone())));
        previous = out;
    }
    Ok(Built { result: previous, counts, dataset: None })
}

/// The steps as DataFusion frames, the result streamed once to a Parquet file.
pub(super) async fn build_datafusion(
    loaded: &Loaded,
    ws: &Workspace,
    scratch: &mut Scratch,
) -> Result<Built> {
    let ctx: SessionContext = ws.datafusion_context().await?;
    let mut frames: HashMap<String, DataFrame> = HashMap::new();
    for ds in ws.datasets() {
        let df = ctx.table(ds.name.as_str()).await.map_err(|e| datafusion_failed(&ds.spec, e))?;
        frames.insert(ds.name.clone(), df);
    }
    let mut previous = frames[loaded.main_source()].clone();
    let mut order: Vec<SortKey> = Vec::new();
    let mut counts = Vec::new();
    for planned in &loaded.steps {
        if !planned.enabled {
            counts.push(None);
            continue;
        }
        let (input, input_order) = match &planned.input {
            Input::Previous => (previous.clone(), order.clone()),
            Input::Table(t) => (frames[t].clone(), Vec::new()),
        };
        let at = format!("{}: step {} ({})", planned.at, counts.len() + 1, planned.step.kind());
        let out = match &planned.step {
            Step::Sql { query, engine: Some(EngineKind::Polars) } => {
                // Written for Polars: the input and named steps it reads cross as Parquet.
                let mut crossing = vec![(transform::INPUT.to_string(), input)];
                for t in tables_in(query) {
                    if !ws.names().contains(&t) && t != transform::INPUT {
                        if let Some(df) = frames.get(&t) {
                            crossing.push((t, df.clone()));
                        }
                    }
                }
                let mut tables: Tables = HashMap::new();
                for ds in ws.datasets() {
                    tables.insert(
                        ds.name.clone(),
                        crate::engine::polars::scan(ds).map_err(|e| polars_failed(&at, e))?,
                    );
                }
                for (name, df) in crossing {
                    let path = scratch.file(&name);
                    df_to_parquet(df, &path, &at).await?;
                    tables.insert(name, scan_parquet(&path)?);
                }
                let path = scratch.file("sql");
                let (q, p, a) = (query.clone(), path.clone(), at.clone());
                blocking(move || {
                    let lf = crate::engine::polars::sql(tables, &q).map_err(|e| polars_failed(&a, e))?;
                    Ok::<_, Error>(crate::sink::sink_to(lf, &p, Format::Parquet)?)
                })
                .await?;
                let name = format!("__assay_step{}", counts.len() + 1);
                register_parquet(&ctx, &name, &path, &at).await?;
                ctx.table(name.as_str()).await.map_err(|e| datafusion_failed(&at, e))?
            }
            step => {
                let _ = ctx.deregister_table(transform::INPUT);
                ctx.register_table(transform::INPUT, input.clone().into_view())
                    .map_err(|e| datafusion_failed(&at, e))?;
                let columns = df_columns(&input);
                let known: HashMap<String, Vec<String>> = frames
                    .iter()
                    .map(|(n, df)| {
                        (n.clone(), df.schema().fields().iter().map(|f| f.name().clone()).collect())
                    })
                    .collect();
                let columns_of = |t: &str| known.get(t).cloned();
                let sql = step
                    .to_sql(&SqlInput {
                        table: transform::INPUT,
                        columns: &columns,
                        order: &input_order,
                        columns_of: &columns_of,
                    })
                    .map_err(|e| relabel(e.into(), &at))?;
                let sql = crate::engine::datafusion::rewrite(&ctx, &sql).await;
                ctx.sql(&sql).await.map_err(|e| datafusion_failed(&at, e))?
            }
        };
        let after: Vec<String> = out.schema().fields().iter().map(|f| f.name().clone()).collect();
        order = planned.step.order_after(&input_order, &after);
        if let Some(name) = &planned.name {
            // A table for later sql and join steps.
            ctx.register_table(name.as_str(), out.clone().into_view())
                .map_err(|e| datafusion_failed(&at, e))?;
            frames.insert(name.clone(), out.clone());
        }
        counts.push(Some(Counter::DataFusion(out.clone())));

        previous = out;
    }
    let last = if order.is_empty() {
        previous
    } else {
        // SQL keeps a subquery's order only when asked: the last sort is said again.
        let exprs: Vec<_> = order
            .iter()
            .map(|k| {
                ::datafusion::prelude::col(format!("\"{}\"", k.column.replace('"', "\"\"")))
                    .sort(!k.descending, false)
            })
            .collect();
        previous.sort(exprs).map_err(|e| datafusion_failed(&loaded.origin, e))?
    };
    let path = scratch.file("result");
    df_to_parquet(last, &path, &format!("{}: running the steps", loaded.origin)).await?;
    let result = scan_parquet(&path)?;
    let shown = path.display().to_string();
    let dataset = Dataset {
        name: "__assay_result".into(),
        spec: shown.clone(),
        files: vec![shown],
        format: Format::Parquet,
        location: crate::source::Location::Local,
    };
    Ok(Built { result, counts, dataset: Some(dataset) })
}

pub(super) async fn count(counter: &Counter, at: &str) -> Result<u64> {
    match counter {
        Counter::Polars(lf) => {
            let (lf, a) = (lf.clone(), at.to_string());
            blocking(move || {
                let df =
                    crate::engine::polars::collect(lf.select([len()])).map_err(|e| polars_failed(&a, e))?;
                Ok::<_, Error>(
                    df.column("len")
                        .ok()
                        .and_then(|c| c.get(0).ok())
                        .and_then(|v| v.extract::<u64>())
                        .unwrap_or(0),
                )
            })
            .await
        }
        Counter::DataFusion(df) => {
            df.clone().count().await.map(|n| n as u64).map_err(|e| datafusion_failed(at, e))
        }
    }
}

/// The SQL type of an arrow column type (to cast a `fill_null` value to).
pub(super) fn arrow_sql_type(dt: &ArrowType) -> String {
    match dt {
        ArrowType::Boolean => "BOOLEAN".into(),
        ArrowType::Int8 => "TINYINT".into(),
        ArrowType::Int16 => "SMALLINT".into(),
        ArrowType::Int32 => "INT".into(),
        ArrowType::Int64 => "BIGINT".into(),
        ArrowType::UInt8 => "TINYINT UNSIGNED".into(),
        ArrowType::UInt16 => "SMALLINT UNSIGNED".into(),
        ArrowType::UInt32 => "INT UNSIGNED".into(),
        ArrowType::UInt64 => "BIGINT UNSIGNED".into(),
        ArrowType::Float16 | ArrowType::Float32 => "REAL".into(),
        ArrowType::Float64 => "DOUBLE".into(),
        ArrowType::Date32 | ArrowType::Date64 => "DATE".into(),
        ArrowType::Timestamp(_, _) => "TIMESTAMP".into(),
        ArrowType::Decimal128(p, s) | ArrowType::Decimal256(p, s) => format!("DECIMAL({p}, {s})"),
        _ => "VARCHAR".into(),
    }
}

pub(super) fn df_columns(df: &DataFrame) -> Vec<SqlColumn> {
    df.schema()
        .fields()
        .iter()
        .map(|f| SqlColumn { name: f.name().clone(), sql_type: arrow_sql_type(f.data_type()) })
        .collect()
}

/// Streams a DataFusion frame into the Parquet file `path`; returns its rows.
pub(super) async fn df_to_parquet(df: DataFrame, path: &Path, at: &str) -> Result<u64> {
    crate::engine::datafusion::write_parquet(df, path).await.map_err(|e| datafusion_failed(at, e))
}

/// Registers the Parquet file `path` as table `name` of `ctx` (a crossing between engines).
pub(super) async fn register_parquet(ctx: &SessionContext, name: &str, path: &Path, at: &str) -> Result<()> {
    ctx.register_parquet(name, path.to_string_lossy().as_ref(), ParquetReadOptions::default())
        .await
        .map_err(|e| datafusion_failed(at, e))
}

pub(super) fn scan_parquet(path: &Path) -> Result<LazyFrame> {
    let shown = path.display().to_string();
    LazyFrame::scan_parquet(PlRefPath::new(shown.as_str()), Default::default())
        .map_err(|e| Error::runtime(format!("{shown}: {e}")))
}
