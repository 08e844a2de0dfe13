//! `assay run --dry-run`: the plan of a run without running it — each step as SQL, how
//! the checks scan, where the outputs go.

use super::*;

/// What `--dry-run` prints: the steps (each as SQL), how the checks scan, the outputs.
#[derive(Debug, Clone, Serialize)]
pub struct DryRun {
    pub recipe: RecipeInfo,
    pub engine: EngineKind,
    pub sources: Vec<InputInfo>,
    pub steps: Vec<PlannedStep>,
    pub checks: String,
    pub outputs: Vec<PlannedOutput>,
    pub manifest: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedStep {
    pub step: usize,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub input: String,
    pub enabled: bool,
    pub sql: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedOutput {
    pub name: String,
    pub destination: String,
    pub rows: Rows,
}

/// The plan of a run, from the sources' schemas only (no rows read, nothing written).
pub async fn dry_run(loaded: &Loaded, options: &RunOptions) -> Result<DryRun> {
    let engine = options.engine.or(loaded.recipe.engine).unwrap_or(EngineKind::Polars);
    let ws = open_sources(loaded, &options.open).await?;
    let mut tables: Tables = HashMap::new();
    for ds in ws.datasets() {
        tables.insert(
            ds.name.clone(),
            crate::engine::polars::scan(ds).map_err(|e| polars_failed(&ds.spec, e))?,
        );
    }
    let main = loaded.main_source().to_string();
    let (loaded_steps, origin) = (loaded.steps.clone(), loaded.origin.clone());
    let rules = loaded.rules();
    let sources = {
        let main_ds = ws.datasets().iter().find(|d| d.name == main).cloned();
        main_ds.map(|d| ws.sources(&d)).transpose()?.unwrap_or_default()
    };
    let (steps, checks) = blocking(move || {
        let mut previous = tables[&main].clone();
        let mut previous_name = main.clone();
        let mut order: Vec<SortKey> = Vec::new();
        let mut out = Vec::new();
        for (i, planned) in loaded_steps.iter().enumerate() {
            let (input, input_name, input_order) = match &planned.input {
                Input::Previous => (previous.clone(), previous_name.clone(), order.clone()),
                Input::Table(t) => (tables[t].clone(), t.clone(), Vec::new()),
            };
            let at = format!("{}: step {} ({})", planned.at, i + 1, planned.step.kind());
            let sql = transform::step_sql(
                &planned.step,
                &transform::ident(&input_name),
                input.clone(),
                &input_order,
                &tables,
            )
            .map_err(|e| relabel(e.into(), &at))?;
            out.push(PlannedStep {
                step: i + 1,
                kind: planned.step.kind().into(),
                name: planned.name.clone(),
                input: input_name.clone(),
                enabled: planned.enabled,
                sql,
            });
            if !planned.enabled {
                continue;
            }
            let mut lf = planned.step.lower(input, &tables).map_err(|e| polars_failed(&at, e))?;
            let after: Vec<String> = lf
                .collect_schema()
                .map_err(|e| polars_failed(&at, e))?
                .iter_names()
                .map(|n| n.to_string())
                .collect();
            order = planned.step.order_after(&input_order, &after);
            let name = planned.name.clone().unwrap_or_else(|| format!("step{}", i + 1));
            if planned.name.is_some() {
                tables.insert(name.clone(), lf.clone());
            }
            previous = lf;
            previous_name = name;
        }
        let checks = if rules.checks.is_empty() {
            "no checks".to_string()
        } else {
            crate::quality::explain(previous, &rules, &sources).map_err(|e| relabel(e.into(), &origin))?
        };
        Ok::<_, Error>((out, checks))
    })
    .await?;
    let outputs = loaded
        .recipe
        .outputs
        .iter()
        .map(|(name, o)| PlannedOutput {
            name: name.clone(),
            destination: o.destination(),
            rows: o.rows(name),
        })
        .collect();
    Ok(DryRun {
        recipe: RecipeInfo { path: loaded.origin.clone(), name: loaded.name(), sha256: loaded.hash.clone() },
        engine,
        sources: inputs_of(&ws, loaded),
        steps,
        checks,
        outputs,
        manifest: options
            .manifest
            .clone()
            .or(loaded.recipe.manifest.clone())
            .unwrap_or_else(|| "beside the first output".into()),
    })
}
