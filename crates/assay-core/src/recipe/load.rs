//! Reading a recipe: `${VAR}` substitution, `--set` overrides, TOML or YAML, and the
//! validation that lowers its steps and names the line and column of what is wrong.

use super::*;

/// `${NAME}` replaced by `lookup(NAME)`; `$${` is a literal `${`. An unset variable is
/// an error at its position.
pub(super) fn substitute(
    text: &str,
    origin: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        if rest[..i].ends_with('$') {
            out.push_str(&rest[..i - 1]);
            out.push_str("${");
            rest = &rest[i + 2..];
            continue;
        }
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let offset = text.len() - rest.len() + i;
        let Some(end) = after.find('}') else {
            let (line, col) = line_col(text, offset);
            return Err(Error::invalid(format!("{origin}:{line}:{col}: `${{` without a closing `}}`")));
        };
        let name = &after[..end];
        match lookup(name) {
            Some(v) => out.push_str(&v),
            None => {
                let (line, col) = line_col(text, offset);
                return Err(Error::invalid(format!(
                    "{origin}:{line}:{col}: ${{{name}}} is not set (set it in the environment or with --set {name}=VALUE)"
                )));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The recipe with `--set` overrides applied to the parsed tree.
pub(super) fn apply_sets(text: &str, yaml: bool, sets: &[(String, String)]) -> Result<Recipe> {
    let mut tree: serde_json::Value = if yaml {
        serde_norway::from_str(text).map_err(|e| Error::invalid(format!("recipe: {e}")))?
    } else {
        toml::from_str(text).map_err(|e| Error::invalid(format!("recipe: {}", e.message())))?
    };
    for (key, raw) in sets {
        let value: serde_json::Value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|t| t.get("v").cloned())
            .and_then(|v| serde_json::to_value(v).ok())
            .unwrap_or_else(|| serde_json::Value::String(raw.clone()));
        let mut node = &mut tree;
        let parts: Vec<&str> = key.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            node = match node {
                serde_json::Value::Object(map) => {
                    if last {
                        map.insert(part.to_string(), value.clone());
                        break;
                    }
                    map.entry(part.to_string())
                        .or_insert_with(|| serde_json::Value::Object(Default::default()))
                }
                serde_json::Value::Array(items) => {
                    let index: usize = part.parse().map_err(|_| {
                        Error::invalid(format!("--set {key}: `{part}` is not a position in a list (0, 1, …)"))
                    })?;
                    let len = items.len();
                    let slot = items.get_mut(index).ok_or_else(|| {
                        Error::invalid(format!("--set {key}: there is no item {index} (the list has {len})"))
                    })?;
                    if last {
                        *slot = value.clone();
                        break;
                    }
                    slot
                }
                _ => {
                    return Err(Error::invalid(format!(
                        "--set {key}: `{part}` is inside a value, not a table"
                    )))
                }
            };
        }
    }
    serde_json::from_value(tree).map_err(|e| {
        let keys: Vec<&str> = sets.iter().map(|(k, _)| k.as_str()).collect();
        Error::invalid(format!("--set {}: {e}", keys.join(", ")))
    })
}

/// Where things are in the recipe text, for errors found after parsing.
pub(super) struct Locator<'a> {
    text: &'a str,
    origin: &'a str,
}

impl Locator<'_> {
    pub(super) fn at(&self, offset: Option<usize>) -> String {
        let (line, col) = offset.map(|o| line_col(self.text, o)).unwrap_or((1, 1));
        format!("{}:{line}:{col}", self.origin)
    }

    /// The start of the `n`th (0-based) entry of the list `key` (`[[key]]` in TOML, a
    /// `- ` item in YAML).
    pub(super) fn item(&self, key: &str, n: usize) -> Option<usize> {
        let header = format!("[[{key}]]");
        let toml: Vec<usize> = self.text.match_indices(&header).map(|(i, _)| i).collect();
        if !toml.is_empty() {
            return toml.get(n).copied();
        }
        let start = self.text.find(&format!("{key}:"))?;
        let mut lines = self.text[start..].split_inclusive('\n');
        let mut offset = start + lines.next().map(|l| l.len()).unwrap_or(0);
        let mut items = Vec::new();
        let mut indent: Option<usize> = None;
        for line in lines {
            let trimmed = line.trim_start();
            let depth = line.len() - trimmed.len();
            if !trimmed.trim().is_empty() && !trimmed.starts_with('#') {
                if trimmed.starts_with("- ") && indent.is_none_or(|d| d == depth) {
                    indent = Some(depth);
                    items.push(offset + depth);
                } else if indent.map_or(depth == 0, |d| depth <= d) {
                    break;
                }
            }
            offset += line.len();
        }
        items.get(n).copied()
    }

    /// The value `value` of `key` inside the `n`th entry of list `list` (falls back to
    /// the entry).
    pub(super) fn value_in(&self, list: &str, n: usize, key: &str, value: &str) -> String {
        let start = self.item(list, n);
        let end = self.item(list, n + 1).unwrap_or(self.text.len());
        let found = start.and_then(|s| {
            let region = &self.text[s..end.max(s)];
            let pattern = format!(r#"(?m)\b{}\s*[=:]\s*["']?{}"#, regex::escape(key), regex::escape(value));
            let re = regex::Regex::new(&pattern).ok()?;
            re.find(region).map(|m| s + m.end() - value.len())
        });
        self.at(found.or(start))
    }
}

/// Checks what serde cannot: one kind per step, names, inputs, sources, outputs, SQL
/// that parses, check arguments. Returns the steps lowered.
pub(super) fn validate(recipe: &Recipe, text: &str, origin: &str) -> Result<Vec<Planned>> {
    let loc = Locator { text, origin };
    if recipe.sources.is_empty() {
        return Err(Error::invalid(format!("{origin}: no [sources]: a recipe needs at least one input")));
    }
    for (name, source) in &recipe.sources {
        if name == transform::INPUT {
            return Err(Error::invalid(format!(
                "{}: a source cannot be named `input` (in an sql step, `input` is the previous step)",
                loc.value_in("sources", 0, "path", &source.path)
            )));
        }
    }
    let mut planned = Vec::new();
    let mut named: Vec<String> = Vec::new();
    let mut later: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, entry) in recipe.steps.iter().enumerate() {
        if let Some(n) = &entry.name {
            later.insert(n.clone(), i);
        }
    }
    for (i, entry) in recipe.steps.iter().enumerate() {
        let at = loc.at(loc.item("steps", i));
        let step = entry.lower().map_err(|m| Error::invalid(format!("{at}: step {}: {m}", i + 1)))?;
        if let Some(n) = &entry.name {
            if recipe.sources.contains_key(n) || named.contains(n) || n == transform::INPUT {
                return Err(Error::invalid(format!(
                    "{}: step {}: the name `{n}` is already taken (by a source or an earlier step)",
                    loc.value_in("steps", i, "name", n),
                    i + 1
                )));
            }
        }
        let known = |t: &str| recipe.sources.contains_key(t) || named.iter().any(|n| n == t);
        let reach = |t: &str, key: &str, value: &str| -> Result<()> {
            if known(t) {
                return Ok(());
            }
            let at = loc.value_in("steps", i, key, value);
            Err(match later.get(t) {
                Some(&j) if j == i => Error::invalid(format!(
                    "{at}: step {}: `{key} = \"{t}\"` is the step itself (a cycle)",
                    i + 1
                )),
                Some(&j) => {
                    // Follow the later step's inputs: back to this one is a cycle.
                    let mut chain = vec![t.to_string()];
                    let mut k = j;
                    let mut cycle = false;
                    while let Some(next) = recipe.steps[k].input.clone() {
                        if Some(&next) == entry.name.as_ref() {
                            cycle = true;
                            chain.push(next);
                            break;
                        }
                        match later.get(&next) {
                            Some(&m) if m > i && !chain.contains(&next) => {
                                chain.push(next);
                                k = m;
                            }
                            _ => break,
                        }
                    }
                    if cycle {
                        Error::invalid(format!(
                            "{at}: step {}: inputs form a cycle: {} -> {}",
                            i + 1,
                            entry.name.clone().unwrap_or_default(),
                            chain.join(" -> ")
                        ))
                    } else {
                        Error::invalid(format!(
                            "{at}: step {}: `{t}` is step {}, which comes later (steps read earlier steps)",
                            i + 1,
                            j + 1
                        ))
                    }
                }
                None => {
                    let mut tables: Vec<String> = recipe.sources.keys().cloned().collect();
                    tables.extend(named.iter().cloned());
                    Error::invalid(format!(
                        "{at}: step {}: no source or named step `{t}` (known: {})",
                        i + 1,
                        tables.join(", ")
                    ))
                }
            })
        };
        if let Some(t) = &entry.input {
            reach(t, "input", t)?;
        }
        if let Step::Join(j) = &step {
            reach(&j.table, "source", &j.table)?;
        }
        if let Step::Sql { query, .. } = &step {
            let statement = crate::sql::parse(query).map_err(|e| {
                Error::invalid(format!("{}: step {}: {}", loc.value_in("steps", i, "sql", ""), i + 1, e))
            })?;
            if !crate::sql::is_read_only(&statement) {
                return Err(Error::invalid(format!(
                    "{at}: step {}: an sql step must be a query (it writes)",
                    i + 1
                )));
            }
            let mut tables: Vec<String> = recipe.sources.keys().cloned().collect();
            tables.extend(named.iter().cloned());
            tables.push(transform::INPUT.to_string());
            crate::sql::check_tables(query, &statement, &tables)
                .map_err(|e| Error::invalid(format!("{at}: step {}: {}", i + 1, e)))?;
        }
        if let Step::Filter { sql } = &step {
            transform::check_expression(sql).map_err(|e| {
                Error::invalid(format!("{}: step {}: {}", loc.value_in("steps", i, "filter", ""), i + 1, e))
            })?;
        }
        if let Step::Derive { columns } = &step {
            for (name, sql) in columns {
                transform::check_expression(sql).map_err(|e| {
                    Error::invalid(format!(
                        "{}: step {}, `{name}`: {}",
                        loc.value_in("steps", i, name, ""),
                        i + 1,
                        e
                    ))
                })?;
            }
        }
        if let Some(n) = &entry.name {
            named.push(n.clone());
        }
        planned.push(Planned {
            step,
            name: entry.name.clone(),
            input: entry.input.clone().map(Input::Table).unwrap_or(Input::Previous),
            enabled: entry.enabled.unwrap_or(true),
            at,
        });
    }
    let rules = crate::quality::Rules {
        key: recipe.key.clone(),
        samples: recipe.samples,
        checks: recipe.checks.clone(),
    };
    rules.validate(origin)?;
    rules.unique_ids(origin)?;
    for (name, output) in &recipe.outputs {
        let at = loc.at(text.find(&format!("[outputs.{name}]")).or_else(|| text.find(&format!("{name}:"))));
        let targets = [&output.path, &output.sqlite, &output.postgres].iter().filter(|t| t.is_some()).count();
        if targets != 1 {
            return Err(Error::invalid(format!(
                "{at}: output `{name}`: give exactly one of `path`, `sqlite` or `postgres`"
            )));
        }
        if let Some(path) = &output.path {
            let format =
                crate::sink::format_of(path, output.format.as_deref(), !output.partition_by.is_empty())
                    .map_err(|e| Error::invalid(format!("{at}: output `{name}`: {}", e)))?;
            if !output.partition_by.is_empty() && crate::source::Place::of(path).is_s3() {
                return Err(Error::invalid(format!(
                    "{at}: output `{name}`: partitioned output goes to a local folder"
                )));
            }
            output
                .write_options()
                .check(format)
                .map_err(|e| Error::invalid(format!("{at}: output `{name}`: {}", e)))?;
            if output.table.is_some() || output.mode.is_some() || !output.key.is_empty() {
                return Err(Error::invalid(format!(
                    "{at}: output `{name}`: `table`, `mode` and `key` are for database outputs"
                )));
            }
        } else if output.csv.is_some() || output.parquet.is_some() || !output.partition_by.is_empty() {
            return Err(Error::invalid(format!(
                "{at}: output `{name}`: `csv`, `parquet` and `partition_by` are for file outputs"
            )));
        } else if output.table.is_none() {
            return Err(Error::invalid(format!("{at}: output `{name}`: a database output needs `table`")));
        }
        if output.mode == Some(LoadMode::Upsert) && output.key.is_empty() {
            return Err(Error::invalid(format!("{at}: output `{name}`: mode = \"upsert\" needs `key`")));
        }
    }
    Ok(planned)
}
