//! Queries over the open datasets: which engine runs one (`auto` picks by the query's
//! shape, or falls back when Polars cannot plan it), running it to a table or a
//! Parquet file, both engines' plans, and statements that write (DataFusion only).

use super::*;

impl Workspace {
    /// The engine `query` runs on for `choice`. `Auto` takes Polars unless the query has
    /// a shape DataFusion runs faster (`auto_datafusion_reason`), and the other engine
    /// when the first cannot plan the query (its reason is kept in `why`).
    pub async fn pick(&self, query: &str, choice: EngineChoice) -> Result<Pick> {
        let asked = |engine: EngineKind| Pick { engine, why: "asked for".to_string() };
        match choice {
            EngineChoice::Polars => return Ok(asked(EngineKind::Polars)),
            EngineChoice::DataFusion => return Ok(asked(EngineKind::DataFusion)),
            EngineChoice::Auto => {}
        }
        self.check_query(query)?;
        let statement = sql::parse(query)?;
        let datasets = self.datasets.clone();
        let shape = statement.clone();
        let correlated = blocking(move || polars::correlated_subqueries(&datasets, &shape))
            .await?
            .map_err(|e| self.polars_error(e, Scope::Query(query)))?;
        let (first, reason) = match auto_datafusion_reason(&statement, correlated) {
            Some(reason) => (EngineKind::DataFusion, reason),
            None => (EngineKind::Polars, "the default".to_string()),
        };
        let second = match first {
            EngineKind::Polars => EngineKind::DataFusion,
            EngineKind::DataFusion => EngineKind::Polars,
        };
        match self.plans_on(query, first).await {
            Ok(()) => Ok(Pick { engine: first, why: format!("auto: {reason}") }),
            Err(e) => match self.plans_on(query, second).await {
                Ok(()) => {
                    Ok(Pick { engine: second, why: format!("auto: {} cannot plan it: {e}", first.title()) })
                }
                // Neither can: the first engine's reason is the one to read.
                Err(_) => Err(e),
            },
        }
    }

    /// Whether `engine` plans `query` (nothing is read but schemas).
    pub(super) async fn plans_on(&self, query: &str, engine: EngineKind) -> Result<()> {
        match engine {
            EngineKind::Polars => {
                let datasets = self.datasets.clone();
                let q = query.to_string();
                blocking(move || {
                    polars::sql_over(&datasets, &q).and_then(|mut lf| lf.collect_schema().map(|_| ()))
                })
                .await?
                .map_err(|e| self.polars_error(e, Scope::Query(query)))
            }
            EngineKind::DataFusion => self.datafusion_frame(query).await.map(|_| ()),
        }
    }

    /// Runs `query` on the engine `choice` picks; returns the result and the pick.
    pub async fn sql_on(&self, query: &str, choice: EngineChoice) -> Result<(Table, Pick)> {
        let pick = self.pick(query, choice).await?;
        let table = self.sql(query, pick.engine).await?;
        Ok((table, pick))
    }

    /// Polars refused `query` (`err`): when DataFusion plans it, the message says so.
    pub(super) async fn polars_refusal(&self, query: &str, err: Error) -> Error {
        match &err {
            Error::RefusedByPolars(m) if self.plans_on(query, EngineKind::DataFusion).await.is_ok() => {
                Error::refused_by_polars(format!("{m}; `--engine datafusion` (or auto) runs this query"))
            }
            _ => err,
        }
    }

    /// Runs `query` on `engine` over every dataset in the workspace.
    pub async fn sql(&self, query: &str, engine: EngineKind) -> Result<Table> {
        self.check_query(query)?;
        match engine {
            EngineKind::Polars => {
                let datasets = self.datasets.clone();
                let q = query.to_string();
                match self.run_polars(Scope::Query(query), move || polars::sql_over(&datasets, &q)).await {
                    Err(e) => Err(self.polars_refusal(query, e).await),
                    ok => ok,
                }
            }
            EngineKind::DataFusion => {
                let (_, df) = self.datafusion_frame(query).await?;
                let schema = df.schema().inner().clone();
                let batches = df
                    .collect()
                    .await
                    .map_err(|e| self.datafusion_error(e, Some(query), Scope::Query(query)))?;
                Ok(Table { schema, batches })
            }
        }
    }

    /// Runs `query` on `engine` and streams its result into the Parquet file `path`
    /// (a result of any size is never held whole: the workbench opens the file as a
    /// dataset and pages it like any other). Returns the number of rows written.
    pub async fn sql_to_parquet(
        &self,
        query: &str,
        engine: EngineKind,
        path: &std::path::Path,
    ) -> Result<u64> {
        self.check_query(query)?;
        match engine {
            EngineKind::Polars => {
                let datasets = self.datasets.clone();
                let q = query.to_string();
                let lf = match blocking(move || polars::sql_over(&datasets, &q)).await? {
                    Ok(lf) => lf,
                    Err(e) => {
                        return Err(self
                            .polars_refusal(query, self.polars_error(e, Scope::Query(query)))
                            .await)
                    }
                };
                let path = path.to_path_buf();
                blocking(move || crate::sink::sink_to(lf, &path, Format::Parquet))
                    .await?
                    .map_err(|e| self.engine_failure(e.into(), Scope::Query(query)))
            }
            EngineKind::DataFusion => {
                let (_, df) = self.datafusion_frame(query).await?;
                datafusion::write_parquet(df, path)
                    .await
                    .map_err(|e| self.datafusion_error(e, Some(query), Scope::Query(query)))
            }
        }
    }

    /// The plans `engine` makes for `query`; with `analyze`, runs it and reports
    /// per-operator rows and time.
    pub async fn explain(&self, query: &str, engine: EngineKind, analyze: bool) -> Result<Plans> {
        self.check_query(query)?;
        match engine {
            EngineKind::Polars => {
                let datasets = self.datasets.clone();
                let q = query.to_string();
                let plans = blocking(move || -> ::polars::prelude::PolarsResult<Plans> {
                    let lf = polars::sql_over(&datasets, &q)?;
                    let mut plans = Plans {
                        engine: "polars",
                        logical: lf.describe_plan()?,
                        optimized: lf.describe_optimized_plan()?,
                        ..Plans::default()
                    };
                    if analyze {
                        let start = Instant::now();
                        let (_, profile) = lf.profile()?;
                        plans.elapsed = Some(start.elapsed());
                        plans.analyzed = Some(polars_profile_text(&profile));
                    }
                    Ok(plans)
                })
                .await?;
                match plans {
                    Ok(p) => Ok(p),
                    Err(e) => {
                        Err(self.polars_refusal(query, self.polars_error(e, Scope::Query(query))).await)
                    }
                }
            }
            EngineKind::DataFusion => {
                let (ctx, df) = self.datafusion_frame(query).await?;
                let df_err = |e| self.datafusion_error(e, Some(query), Scope::Query(query));
                let logical = df.logical_plan().clone();
                let state = ctx.state();
                let optimized = state.optimize(&logical).map_err(df_err)?;
                let physical = state.create_physical_plan(&logical).await.map_err(df_err)?;
                let mut plans = Plans {
                    engine: "datafusion",
                    logical: logical.display_indent().to_string(),
                    optimized: optimized.display_indent().to_string(),
                    physical: Some(displayable(physical.as_ref()).indent(true).to_string()),
                    ..Plans::default()
                };
                if analyze {
                    let start = Instant::now();
                    ::datafusion::physical_plan::collect(physical.clone(), ctx.task_ctx())
                        .await
                        .map_err(df_err)?;
                    plans.elapsed = Some(start.elapsed());
                    plans.analyzed = Some(
                        DisplayableExecutionPlan::with_metrics(physical.as_ref()).indent(true).to_string(),
                    );
                }
                Ok(plans)
            }
        }
    }

    /// Syntax and table names, checked before any data is read.
    /// Runs a statement that writes (COPY … TO a file, INSERT INTO a dataset's files,
    /// CREATE TABLE …) on DataFusion, over every dataset: what the user confirmed in the
    /// workbench, or asked for with `assay sql --allow-writes`. Returns what it did, in
    /// words ("1234 rows written").
    pub async fn sql_write(&self, query: &str) -> Result<String> {
        let statement = sql::parse(query)?;
        sql::check_tables(query, &statement, &self.names())?;
        let ctx = self.datafusion_context().await?;
        let df =
            ctx.sql(query).await.map_err(|e| self.datafusion_error(e, Some(query), Scope::Query(query)))?;
        let batches =
            df.collect().await.map_err(|e| self.datafusion_error(e, Some(query), Scope::Query(query)))?;
        let count = batches.first().filter(|b| b.num_rows() == 1 && b.num_columns() == 1).and_then(|b| {
            b.column(0).as_any().downcast_ref::<::arrow::array::UInt64Array>().map(|a| a.value(0))
        });
        Ok(match count {
            Some(n) => format!("{n} rows written"),
            None => "done".to_string(),
        })
    }

    pub(super) fn check_query(&self, query: &str) -> Result<()> {
        let statement = sql::parse(query)?;
        if !sql::is_read_only(&statement) {
            return Err(Error::input(
                "SQL: only queries that read (SELECT, WITH, VALUES, SHOW, EXPLAIN) are run; \
                 to write data use `assay export`, or give --allow-writes (runs it on DataFusion)",
            ));
        }
        Ok(sql::check_tables(query, &statement, &self.names())?)
    }

    /// `query` planned on DataFusion over the open datasets (rewritten as it needs), with
    /// the context it was planned in; a refusal is said as the query's.
    async fn datafusion_frame(
        &self,
        query: &str,
    ) -> Result<(::datafusion::prelude::SessionContext, ::datafusion::prelude::DataFrame)> {
        let ctx = self.datafusion_context().await?;
        let q = datafusion::rewrite(&ctx, query).await;
        let df = ctx.sql(&q).await.map_err(|e| self.datafusion_error(e, Some(query), Scope::Query(query)))?;
        Ok((ctx, df))
    }

    /// A DataFusion session with every dataset registered. Text formats get the schema
    /// Polars inferred, so both engines see the same column types.
    pub async fn datafusion_context(&self) -> Result<::datafusion::prelude::SessionContext> {
        let ctx = datafusion::new_context();
        for ds in &self.datasets {
            let schema = match ds.format {
                Format::Csv(_) | Format::NdJson => {
                    let owned = ds.clone();
                    let schema = blocking(move || polars::scan(&owned)?.collect_schema())
                        .await?
                        .map_err(|e| self.polars_error(e, Scope::View(ds, &[])))?;
                    Some(bridge::schema_to_arrow(&schema)?)
                }
                _ => None,
            };
            datafusion::register(&ctx, ds, schema).await?;
        }
        Ok(ctx)
    }

    pub(super) async fn run_polars(
        &self,
        scope: Scope<'_>,
        build: impl FnOnce() -> ::polars::prelude::PolarsResult<LazyFrame> + Send + 'static,
    ) -> Result<Table> {
        let df =
            blocking(move || polars::collect(build()?)).await?.map_err(|e| self.polars_error(e, scope))?;
        Ok(Table::from_polars(df)?)
    }
}

/// Why `auto` runs `statement` on DataFusion rather than Polars, measured on TPC-H
/// (docs/sql.md, "Choosing an engine"): one table aggregated into many values, correlated
/// subqueries (`correlated`: Polars runs them only as the joins assay rewrites them
/// into; DataFusion decorrelates them itself), `NOT IN (SELECT …)`, or many tables
/// joined in one SELECT. `None`: Polars.
pub(super) fn auto_datafusion_reason(
    statement: &::datafusion::sql::sqlparser::ast::Statement,
    correlated: usize,
) -> Option<String> {
    use ::datafusion::sql::sqlparser::ast::{Expr, Select, Visit, Visitor};
    let n = aggregates_of_one_table(statement);
    if n >= AUTO_DATAFUSION_AGGREGATES {
        return Some(format!("one table aggregated into {n} values"));
    }
    if correlated > 0 {
        return Some(format!("{correlated} correlated subquer{}", if correlated == 1 { "y" } else { "ies" }));
    }
    #[derive(Default)]
    struct Shape {
        not_in: bool,
        tables: usize,
    }
    impl Visitor for Shape {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> std::ops::ControlFlow<()> {
            if matches!(e, Expr::InSubquery { negated: true, .. }) {
                self.not_in = true;
            }
            std::ops::ControlFlow::Continue(())
        }
        fn pre_visit_select(&mut self, s: &Select) -> std::ops::ControlFlow<()> {
            let n = s.from.iter().map(|t| 1 + t.joins.len()).sum::<usize>();
            self.tables = self.tables.max(n);
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut shape = Shape::default();
    let _ = statement.visit(&mut shape);
    if shape.not_in {
        return Some("NOT IN (SELECT …)".to_string());
    }
    (shape.tables >= AUTO_DATAFUSION_TABLES).then(|| format!("{} tables joined", shape.tables))
}

/// The number of aggregate calls in the projection of a statement that is one grouped
/// SELECT over one table (no join, no subquery in FROM); 0 for anything else.
pub(super) fn aggregates_of_one_table(statement: &::datafusion::sql::sqlparser::ast::Statement) -> usize {
    use ::datafusion::sql::sqlparser::ast::{Expr, GroupByExpr, SelectItem, SetExpr, Statement, TableFactor};
    let Statement::Query(q) = statement else { return 0 };
    let SetExpr::Select(s) = q.body.as_ref() else { return 0 };
    let one_table = matches!(s.from.as_slice(), [t] if t.joins.is_empty() && matches!(t.relation, TableFactor::Table { .. }));
    let grouped = matches!(&s.group_by, GroupByExpr::Expressions(e, _) if !e.is_empty());
    if !one_table || !grouped {
        return 0;
    }
    const AGGREGATES: &[&str] =
        &["sum", "avg", "mean", "count", "min", "max", "stddev", "variance", "median"];
    s.projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
            _ => None,
        })
        .filter(|e| {
            let mut found = false;
            let _ = ::datafusion::sql::sqlparser::ast::visit_expressions(*e, |x: &Expr| {
                if let Expr::Function(f) = x {
                    let name = f.name.to_string().to_lowercase();
                    if AGGREGATES.contains(&name.as_str()) {
                        found = true;
                    }
                }
                std::ops::ControlFlow::<()>::Continue(())
            });
            found
        })
        .count()
}
