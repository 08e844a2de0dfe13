//! The floors of assay-core, checked: each room (a top-level module) may name only the
//! rooms on its floor or below (`crate::room`), so the library keeps one direction.
//! Above the core, the crate graph holds the rest: assay-tui and the `assay` binary can
//! name the core, never the other way.

/// The rooms from the ground up; a room may name those of its own floor or lower.
const FLOORS: &[&[&str]] = &[
    // Ground: errors, progress, settings, the data generator, text for people.
    &["error", "progress", "config", "generate", "text"],
    // Locations, formats, CSV dialects and row indexes, credentials.
    &["source"],
    // SQL text: parse, locate, identifiers, rewrites for Polars, completion.
    &["sql"],
    // Polars, DataFusion, the Arrow bridge, plans.
    &["engine"],
    // File writers (local, partitioned, S3 uploads), staging and atomic publish.
    &["sink"],
    // Two-way database connectors (SQLite, Postgres) and the export plan.
    &["db"],
    // The step model, lowered to Polars plans and to SQL.
    &["transform"],
    &["profile"],
    &["quality"],
    // The recipe model and its loading.
    &["recipe"],
    // The application layer: the workspace, and the recipe runner.
    &["app"],
    // Tables, CSV and JSON for people and programs.
    &["output"],
];

/// Upward names that are known and on their way out: (room, the room above it, why).
/// A test fails when one of these no longer occurs, so the list only shrinks.
const KNOWN: &[(&str, &str, &str)] = &[];

fn floor(room: &str) -> Option<usize> {
    FLOORS.iter().position(|rooms| rooms.contains(&room))
}

/// Every `crate::room` that names a room on a higher floor, as (file, line, from, to),
/// outside `#[cfg(test)] mod tests` (tests may build their data with anything).
fn upward() -> Vec<(String, usize, String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![root.clone()];
    let mut found = Vec::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let relative = path.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
        let room = relative.split('/').next().unwrap().trim_end_matches(".rs").to_string();
        let Some(own) = floor(&room) else { continue };
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        for (number, line) in text.lines().enumerate() {
            for (at, _) in line.match_indices("crate::") {
                let named: String =
                    line[at + 7..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                if floor(&named).is_some_and(|f| f > own) {
                    found.push((relative.clone(), number + 1, room.clone(), named));
                }
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_room_names_only_its_floor_and_below() {
    let found = upward();
    let new: Vec<_> =
        found.iter().filter(|(_, _, from, to)| !KNOWN.iter().any(|k| k.0 == from && k.1 == to)).collect();
    assert!(new.is_empty(), "a lower floor names a higher one (move the code, or the name, down): {new:#?}");
    for (from, to, why) in KNOWN {
        assert!(
            found.iter().any(|f| &f.2 == from && &f.3 == to),
            "{from} no longer names {to} ({why}): remove it from floors::KNOWN"
        );
    }
}

#[test]
fn every_room_is_on_a_floor() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(root).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().trim_end_matches(".rs").to_string();
        if ["lib", "fuzz", "floors"].contains(&name.as_str()) {
            continue;
        }
        assert!(floor(&name).is_some(), "the room `{name}` is on no floor of floors::FLOORS");
    }
}
