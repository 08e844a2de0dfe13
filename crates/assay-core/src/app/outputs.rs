//! Writing outputs: the one path of `assay export`, `assay check --valid --quarantine`,
//! the workbench's export and `assay run` (docs/export.md, docs/recipes.md).
//!
//! `stage` writes every output where no reader sees it: local files as unnamed (or
//! hidden) files beside their destinations, partitioned trees as hidden folders, S3
//! objects as scratch files, database tables inside an open transaction per database.
//! The single files are written together, in one pass over the data (`sink::sink_all`).
//! Only `publish` puts them in place, all together: uploads first (the likeliest to
//! fail), then the database commits, then the renames. Dropped before that, every
//! staged output is removed and every transaction rolled back: a failed or killed
//! export leaves what was there.

use std::path::Path;
use std::sync::Arc;

use polars::prelude::LazyFrame;

use crate::app::{Error, Result};
use crate::db::{ExportPlan, Load, LoadMode, Sessions};
use crate::engine::blocking;
use crate::sink::{Staged, StagedTree, Watch};

/// One output: its name (in progress lines and messages), where it goes, its rows.
pub struct Output {
    pub name: String,
    pub plan: ExportPlan,
    pub rows: LazyFrame,
}

/// How outputs are staged.
#[derive(Debug, Clone, Default)]
pub struct Staging {
    /// A table that exists may be replaced (`--overwrite`; recipes always may). Files
    /// are checked before any work: `ExportPlan::exists`, `sink::check_overwrite`.
    pub replace_tables: bool,
    /// The S3 endpoint uploads go to (else the environment's).
    pub s3_endpoint: Option<String>,
    /// Follows the rows and bytes written, and can stop the writing.
    pub watch: Option<Arc<Watch>>,
}

/// What one staged output holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub rows: u64,
    /// The file's size (single files only).
    pub bytes: Option<u64>,
}

/// An output written but not yet in place.
enum Pending {
    File(Staged),
    Tree(StagedTree),
    /// A scratch file to upload to the URL.
    Upload(crate::sink::s3::Scratch, String),
}

impl Pending {
    /// Where the writer writes.
    fn temp(&self) -> &Path {
        match self {
            Pending::File(s) => s.temp(),
            Pending::Tree(t) => t.temp(),
            Pending::Upload(s, _) => s.path(),
        }
    }
}

/// Outputs written where no reader sees them, each whole; `publish` puts them in place.
pub struct StagedOutputs {
    pending: Vec<Pending>,
    loads: Option<Sessions>,
    s3_endpoint: Option<String>,
    /// Per output, in the order given.
    pub written: Vec<Written>,
}

/// Errors name the outputs, not where they are staged (`/proc/self/fd/N`, a hidden
/// folder, a scratch file).
fn naming(staged: &[(String, String)]) -> impl Fn(Error) -> Error + '_ {
    move |e| e.map_message(|m| staged.iter().fold(m.to_string(), |m, (temp, dest)| m.replace(temp, dest)))
}

/// Writes every output (see the module's doc); `progress` hears what is being written.
pub async fn stage(
    outputs: Vec<Output>,
    how: &Staging,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<StagedOutputs> {
    let mut written: Vec<Option<Written>> = vec![None; outputs.len()];
    let mut pending = Vec::new();
    let single =
        |o: &Output| matches!(&o.plan, ExportPlan::File { write, .. } if write.partition_by.is_empty());

    // The single files (local or to upload), together in one pass.
    let mut jobs = Vec::new();
    let mut together = Vec::new();
    let mut staged = Vec::new();
    let mut group = Vec::new();
    for (i, o) in outputs.iter().enumerate() {
        let ExportPlan::File { path, format, write } = &o.plan else { continue };
        if !single(o) {
            continue;
        }
        let p = if crate::source::Place::of(path).is_s3() {
            Pending::Upload(crate::sink::s3::Scratch::new(path)?, path.clone())
        } else {
            Pending::File(Staged::new(path)?)
        };
        jobs.push((o.rows.clone(), p.temp().to_path_buf(), *format, write.clone()));
        together.push(format!("{} ({path})", o.name));
        staged.push((p.temp().display().to_string(), path.clone()));
        group.push(i);
        pending.push(p);
    }
    if !jobs.is_empty() {
        progress(&format!("writing {}", together.join(", ")));
        let watch = how.watch.clone();
        let rows = blocking(move || {
            if let Some(w) = &watch {
                w.set_file(&jobs[0].1);
            }
            let jobs = jobs
                .into_iter()
                .map(|(lf, temp, format, write)| {
                    Ok((Watch::wrap_if(watch.as_ref(), lf)?, temp, format, write))
                })
                .collect::<Result<Vec<_>>>()?;
            Ok::<_, Error>(crate::sink::sink_all(jobs)?)
        })
        .await?
        .map_err(naming(&staged))?;
        for ((i, p), rows) in group.iter().zip(&pending).zip(rows) {
            let bytes = std::fs::metadata(p.temp()).ok().filter(|m| m.is_file()).map(|m| m.len());
            written[*i] = Some(Written { rows, bytes });
        }
    }

    // Then each partitioned tree and each table, in order; one transaction per database.
    let mut loads = Some(Sessions::default());
    for (i, o) in outputs.into_iter().enumerate() {
        if written[i].is_some() {
            continue;
        }
        let (lf, watch) = (o.rows, how.watch.clone());
        match o.plan {
            ExportPlan::File { path, format, write } => {
                progress(&format!("writing {} ({path})", o.name));
                let tree = StagedTree::new(&path)?;
                let temp = tree.temp().to_path_buf();
                let staged = [(temp.display().to_string(), path)];
                let rows = blocking(move || {
                    let lf = Watch::wrap_if(watch.as_ref(), lf)?;
                    Ok::<_, Error>(crate::sink::sink_partitioned(
                        lf,
                        &temp,
                        format,
                        &write,
                        &write.partition_by,
                    )?)
                })
                .await?
                .map_err(naming(&staged))?;
                written[i] = Some(Written { rows, bytes: None });
                pending.push(Pending::Tree(tree));
            }
            ExportPlan::Table(target) => {
                progress(&format!("loading {} ({})", o.name, target.url()));
                let mut sessions = loads.take().unwrap_or_default();
                let replace = how.replace_tables;
                let (sessions, rows) = blocking(move || {
                    let rows = load(&mut sessions, lf, &target, replace, watch.as_ref());
                    (sessions, rows)
                })
                .await?;
                loads = Some(sessions);
                written[i] = Some(Written { rows: rows?, bytes: None });
            }
        }
    }
    Ok(StagedOutputs {
        pending,
        loads,
        s3_endpoint: how.s3_endpoint.clone(),
        written: written.into_iter().map(|w| w.expect("every output is written")).collect(),
    })
}

/// Streams `lf` into the table inside its database's transaction; a table that exists
/// is replaced only when `replace` (append and upsert add to it).
fn load(
    sessions: &mut Sessions,
    lf: LazyFrame,
    target: &Load,
    replace: bool,
    watch: Option<&Arc<Watch>>,
) -> Result<u64> {
    if !replace && target.mode() == LoadMode::Replace && sessions.table_exists(target)? {
        return Err(crate::db::Error::refused(format!(
            "{}: the table exists (give --overwrite to replace it, or mode=append / mode=upsert)",
            target.url()
        ))
        .into());
    }
    let lf = Watch::wrap_if(watch, lf)?;
    Ok(sessions.load(lf, target)?)
}

impl StagedOutputs {
    /// Puts every output in place: uploads, then database commits, then renames.
    pub async fn publish(self, progress: &mut (dyn FnMut(&str) + Send)) -> Result<()> {
        let uploads: Vec<&Pending> =
            self.pending.iter().filter(|p| matches!(p, Pending::Upload(..))).collect();
        if !uploads.is_empty() {
            let config = crate::source::s3::S3Config::resolve(self.s3_endpoint.as_deref())?;
            for upload in uploads {
                if let Pending::Upload(scratch, url) = upload {
                    progress(&format!("uploading {url}"));
                    crate::sink::s3::upload(&config, url, scratch.path()).await?;
                }
            }
        }
        if let Some(sessions) = self.loads {
            blocking(move || sessions.commit()).await??;
        }
        for pending in self.pending {
            match pending {
                Pending::File(stage) => stage.commit()?,
                Pending::Tree(tree) => tree.commit()?,
                Pending::Upload(..) => {}
            }
        }
        Ok(())
    }
}
