//! Keys as data: the embedded default keymap (`assets/keymap.toml`) under the user's
//! overrides. Components never match raw keys; they receive `Action`s, and the help
//! screen and the palette are generated from the same table.

use std::str::FromStr;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;

use assay_core::config::Binding;
use assay_core::{Error, Result};

pub const DEFAULT_KEYMAP: &str = include_str!("../../../assets/keymap.toml");

/// Everything the workbench can do from a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Down,
    Up,
    Right,
    Left,
    PageDown,
    PageUp,
    Top,
    Bottom,
    FirstColumn,
    LastColumn,
    ShowCell,
    NextTab,
    PrevTab,
    CloseTab,
    Palette,
    Help,
    Cancel,
    Quit,
    SortAsc,
    SortDesc,
    SortAddAsc,
    SortAddDesc,
    KeepEqual,
    KeepNotEqual,
    UndoStep,
    ClearSteps,
    Profile,
    Search,
    SearchNext,
    SearchPrev,
    Filter,
    HideColumn,
    ShowColumns,
    MoveColumnLeft,
    MoveColumnRight,
    WidenColumn,
    NarrowColumn,
    Open,
    Checks,
    AddCheck,
    Sql,
    Recipe,
    RenameColumn,
    CastColumn,
    DeriveColumn,
    Export,
    Copy,
    // Text fields (the palette, search, prompts, the open dialog, the filter builder's
    // inputs, the export dialog's lines).
    Confirm,
    ClearInput,
    // The checks panel and the add-check chooser.
    RunChecks,
    SuggestChecks,
    SaveRules,
    Delete,
    Accept,
    AcceptAll,
    CheckNotNull,
    CheckUnique,
    CheckInSet,
    CheckRange,
    // The recipe panel.
    ToggleStep,
    MoveStepUp,
    MoveStepDown,
    Edit,
    SaveRecipe,
    OpenRecipe,
    CountRows,
    // The filter builder's list.
    AddCondition,
    AddGroup,
    ToggleAnyAll,
    EditSql,
    // The export dialog.
    CycleChoice,
    CycleBack,
    // The SQL editor.
    RunQuery,
    OpenAsTab,
    ExplainQuery,
    NextEngine,
    OpenQuery,
    SaveQuery,
    RecallPrev,
    RecallNext,
    LineStart,
    Complete,
    // The explain view.
    ToggleFold,
    SwitchPane,
    Analyze,
    SavePlans,
    Fold1,
    Fold2,
    Fold3,
    Fold4,
}

impl Action {
    pub const ALL: &'static [(Action, &'static str)] = &[
        (Action::Down, "down"),
        (Action::Up, "up"),
        (Action::Right, "right"),
        (Action::Left, "left"),
        (Action::PageDown, "page_down"),
        (Action::PageUp, "page_up"),
        (Action::Top, "top"),
        (Action::Bottom, "bottom"),
        (Action::FirstColumn, "first_column"),
        (Action::LastColumn, "last_column"),
        (Action::ShowCell, "show_cell"),
        (Action::NextTab, "next_tab"),
        (Action::PrevTab, "prev_tab"),
        (Action::CloseTab, "close_tab"),
        (Action::Palette, "palette"),
        (Action::Help, "help"),
        (Action::Cancel, "cancel"),
        (Action::Quit, "quit"),
        (Action::SortAsc, "sort_asc"),
        (Action::SortDesc, "sort_desc"),
        (Action::SortAddAsc, "sort_add_asc"),
        (Action::SortAddDesc, "sort_add_desc"),
        (Action::Checks, "checks"),
        (Action::AddCheck, "add_check"),
        (Action::KeepEqual, "keep_equal"),
        (Action::KeepNotEqual, "keep_not_equal"),
        (Action::UndoStep, "undo_step"),
        (Action::ClearSteps, "clear_steps"),
        (Action::Profile, "profile"),
        (Action::Search, "search"),
        (Action::SearchNext, "search_next"),
        (Action::SearchPrev, "search_prev"),
        (Action::Filter, "filter"),
        (Action::HideColumn, "hide_column"),
        (Action::ShowColumns, "show_columns"),
        (Action::MoveColumnLeft, "move_column_left"),
        (Action::MoveColumnRight, "move_column_right"),
        (Action::WidenColumn, "widen_column"),
        (Action::NarrowColumn, "narrow_column"),
        (Action::Open, "open"),
        (Action::Sql, "sql"),
        (Action::Recipe, "recipe"),
        (Action::RenameColumn, "rename_column"),
        (Action::CastColumn, "cast_column"),
        (Action::DeriveColumn, "derive_column"),
        (Action::Export, "export"),
        (Action::Copy, "copy"),
        (Action::Confirm, "confirm"),
        (Action::ClearInput, "clear_input"),
        (Action::RunChecks, "run_checks"),
        (Action::SuggestChecks, "suggest_checks"),
        (Action::SaveRules, "save_rules"),
        (Action::Delete, "delete"),
        (Action::Accept, "accept"),
        (Action::AcceptAll, "accept_all"),
        (Action::CheckNotNull, "check_not_null"),
        (Action::CheckUnique, "check_unique"),
        (Action::CheckInSet, "check_in_set"),
        (Action::CheckRange, "check_range"),
        (Action::ToggleStep, "toggle_step"),
        (Action::MoveStepUp, "move_step_up"),
        (Action::MoveStepDown, "move_step_down"),
        (Action::Edit, "edit"),
        (Action::SaveRecipe, "save_recipe"),
        (Action::OpenRecipe, "open_recipe"),
        (Action::CountRows, "count_rows"),
        (Action::AddCondition, "add_condition"),
        (Action::AddGroup, "add_group"),
        (Action::ToggleAnyAll, "toggle_any_all"),
        (Action::EditSql, "edit_sql"),
        (Action::CycleChoice, "cycle_choice"),
        (Action::CycleBack, "cycle_back"),
        (Action::RunQuery, "run_query"),
        (Action::OpenAsTab, "open_as_tab"),
        (Action::ExplainQuery, "explain_query"),
        (Action::NextEngine, "next_engine"),
        (Action::OpenQuery, "open_query"),
        (Action::SaveQuery, "save_query"),
        (Action::RecallPrev, "recall_prev"),
        (Action::RecallNext, "recall_next"),
        (Action::LineStart, "line_start"),
        (Action::Complete, "complete"),
        (Action::ToggleFold, "toggle_fold"),
        (Action::SwitchPane, "switch_pane"),
        (Action::Analyze, "analyze"),
        (Action::SavePlans, "save_plans"),
        (Action::Fold1, "fold_1"),
        (Action::Fold2, "fold_2"),
        (Action::Fold3, "fold_3"),
        (Action::Fold4, "fold_4"),
    ];

    pub fn name(self) -> &'static str {
        Action::ALL.iter().find(|(a, _)| *a == self).map(|(_, n)| *n).unwrap_or("?")
    }
}

impl FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Action::ALL
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(a, _)| *a)
            .ok_or_else(|| format!("unknown action `{s}`"))
    }
}

/// Where a binding applies: the grid, or one of the panels and dialogs. A key is looked
/// up in the scope of what has the focus, then (in panels and dialogs) in `Input`, whose
/// bindings are the keys of every text field; a printable key bound in neither is text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Grid,
    Input,
    Checks,
    AddCheck,
    Recipe,
    Filter,
    Export,
    Sql,
    Explain,
}

impl Scope {
    pub const ALL: &'static [(Scope, &'static str, &'static str)] = &[
        (Scope::Grid, "grid", "The grid"),
        (Scope::Input, "input", "Text fields (palette, search, prompts, dialogs)"),
        (Scope::Checks, "checks", "The checks panel"),
        (Scope::AddCheck, "add_check", "Adding a check on a column (after `a`)"),
        (Scope::Recipe, "recipe", "The recipe panel"),
        (Scope::Filter, "filter", "The filter builder's list"),
        (Scope::Export, "export", "The export dialog (choices and the overwrite question)"),
        (Scope::Sql, "sql", "The SQL editor"),
        (Scope::Explain, "explain", "The explain view"),
    ];

    pub fn name(self) -> &'static str {
        Scope::ALL.iter().find(|(s, ..)| *s == self).map(|(_, n, _)| *n).unwrap_or("?")
    }

    pub fn title(self) -> &'static str {
        Scope::ALL.iter().find(|(s, ..)| *s == self).map(|(.., t)| *t).unwrap_or("?")
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Scope::ALL.iter().find(|(_, n, _)| *n == s).map(|(m, ..)| *m).ok_or_else(|| {
            let names: Vec<&str> = Scope::ALL.iter().map(|(_, n, _)| *n).collect();
            format!("unknown mode `{s}` (expected one of {})", names.join(", "))
        })
    }
}

/// A key with its modifiers, as written in the keymap (`j`, `G`, `ctrl-c`, `pagedown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chord {
    pub code: KeyCode,
    pub ctrl: bool,
}

impl Chord {
    pub fn parse(text: &str) -> std::result::Result<Chord, String> {
        let (ctrl, key) = match text.strip_prefix("ctrl-") {
            Some(rest) if !rest.is_empty() => (true, rest),
            _ => (false, text),
        };
        let code = match key.to_ascii_lowercase().as_str() {
            "down" => KeyCode::Down,
            "up" => KeyCode::Up,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pagedown" => KeyCode::PageDown,
            "pageup" => KeyCode::PageUp,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "backspace" => KeyCode::Backspace,
            f if f.len() > 1
                && f.starts_with('f')
                && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) =>
            {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            "space" => KeyCode::Char(' '),
            _ if key.chars().count() == 1 => KeyCode::Char(key.chars().next().unwrap_or(' ')),
            _ => return Err(format!("unknown key `{text}`")),
        };
        Ok(Chord { code, ctrl })
    }

    pub fn matches(&self, event: &KeyEvent) -> bool {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        ctrl == self.ctrl && self.code == event.code
    }
}

#[derive(Debug, Default, Deserialize)]
struct KeyFile {
    #[serde(default)]
    keys: Vec<Binding>,
}

/// One binding, resolved: where it applies, its keys, its action, its description and
/// the keys as written.
#[derive(Debug, Clone)]
struct Entry {
    scope: Scope,
    chords: Vec<Chord>,
    action: Action,
    desc: String,
    names: Vec<String>,
}

/// The resolved keymap: user bindings first, so they shadow defaults on the same key in
/// the same scope.
#[derive(Debug, Clone)]
pub struct Keymap {
    entries: Vec<Entry>,
}

impl Keymap {
    /// The defaults under `user` bindings (from the `[[keys]]` of the config file).
    pub fn new(user: &[Binding]) -> Result<Keymap> {
        let defaults: KeyFile =
            toml::from_str(DEFAULT_KEYMAP).map_err(|e| Error::runtime(format!("built-in keymap: {e}")))?;
        let mut entries = Vec::new();
        for (origin, bindings) in [("config", user), ("built-in keymap", &defaults.keys[..])] {
            for b in bindings {
                let action =
                    b.run.parse::<Action>().map_err(|e| Error::input(format!("{origin}: [[keys]] {e}")))?;
                let chords =
                    b.on.iter()
                        .map(|k| Chord::parse(k))
                        .collect::<std::result::Result<Vec<_>, _>>()
                        .map_err(|e| Error::input(format!("{origin}: [[keys]] run = \"{}\": {e}", b.run)))?;
                let desc = if b.desc.is_empty() { b.run.clone() } else { b.desc.clone() };
                let scope = match &b.mode {
                    Some(m) => m
                        .parse::<Scope>()
                        .map_err(|e| Error::input(format!("{origin}: [[keys]] run = \"{}\": {e}", b.run)))?,
                    None => Scope::Grid,
                };
                entries.push(Entry { scope, chords, action, desc, names: b.on.clone() });
            }
        }
        Ok(Keymap { entries })
    }

    /// The grid's action for `event`.
    pub fn action(&self, event: &KeyEvent) -> Option<Action> {
        self.action_in(Scope::Grid, event)
    }

    /// The action `event` runs in `scope`.
    pub fn action_in(&self, scope: Scope, event: &KeyEvent) -> Option<Action> {
        self.entries
            .iter()
            .find(|e| e.scope == scope && e.chords.iter().any(|c| c.matches(event)))
            .map(|e| e.action)
    }

    /// The grid's (keys, action, description) for help and the palette.
    pub fn help(&self) -> Vec<(String, Action, String)> {
        self.help_in(Scope::Grid)
    }

    /// (keys, action, description) of `scope`, one line per action, merging the keys of
    /// every binding of that action that is not shadowed.
    pub fn help_in(&self, scope: Scope) -> Vec<(String, Action, String)> {
        let mut out: Vec<(String, Action, String)> = Vec::new();
        for (i, entry) in self.entries.iter().enumerate() {
            if entry.scope != scope {
                continue;
            }
            let live: Vec<&str> = entry
                .chords
                .iter()
                .zip(&entry.names)
                .filter(|(c, _)| !self.entries[..i].iter().any(|e| e.scope == scope && e.chords.contains(c)))
                .map(|(_, n)| n.as_str())
                .collect();
            if live.is_empty() {
                continue;
            }
            match out.iter_mut().find(|(_, a, _)| *a == entry.action) {
                Some(line) => {
                    line.0.push_str(", ");
                    line.0.push_str(&live.join(", "));
                }
                None => out.push((live.join(", "), entry.action, entry.desc.clone())),
            }
        }
        out
    }

    /// The first key of `action` in `scope`, as the workbench's hints show keys (`Enter`,
    /// `Esc`, `j`, `ctrl-r`): the hints at the foot of panels follow the user's bindings.
    pub fn key(&self, scope: Scope, action: Action) -> String {
        let keys = self.keys_of(scope, action);
        let first = keys.split('/').next().unwrap_or(&keys);
        match first {
            "enter" => "Enter".into(),
            "esc" => "Esc".into(),
            "tab" => "Tab".into(),
            "backspace" => "⌫".into(),
            other => other.to_string(),
        }
    }

    /// The keys of `action` in `scope`, as written (`r`, `ctrl-r`), joined with `/`: for
    /// the key hints at the foot of panels, which follow the user's bindings.
    pub fn keys_of(&self, scope: Scope, action: Action) -> String {
        self.help_in(scope)
            .into_iter()
            .find(|(_, a, _)| *a == action)
            .map(|(k, ..)| k.replace(", ", "/"))
            .unwrap_or_else(|| "(unbound)".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_core::config::Config;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn defaults_cover_every_action_with_vim_and_arrow_keys() {
        let km = Keymap::new(&[]).unwrap();
        for (action, _) in Action::ALL {
            let bound =
                Scope::ALL.iter().any(|(scope, ..)| km.help_in(*scope).iter().any(|(_, a, _)| a == action));
            assert!(bound, "{action:?} has no key in any mode");
        }
        // Every mode has keys.
        for (scope, name, _) in Scope::ALL {
            assert!(!km.help_in(*scope).is_empty(), "mode `{name}` has no keys");
        }
        assert_eq!(km.action(&key(KeyCode::Char('j'))), Some(Action::Down));
        assert_eq!(km.action(&key(KeyCode::Down)), Some(Action::Down));
        assert_eq!(km.action(&key(KeyCode::Char('G'))), Some(Action::Bottom));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(km.action(&ctrl_c), Some(Action::Cancel));
    }

    #[test]
    fn user_bindings_shadow_defaults() {
        let user = Config::parse("[[keys]]\non = [\"j\"]\nrun = \"bottom\"\n", "test").unwrap();
        let km = Keymap::new(&user.keys).unwrap();
        assert_eq!(km.action(&key(KeyCode::Char('j'))), Some(Action::Bottom));
        assert_eq!(km.action(&key(KeyCode::Down)), Some(Action::Down));
        let down = km.help().into_iter().find(|(_, a, _)| *a == Action::Down).unwrap();
        assert_eq!(down.0, "down");
    }

    #[test]
    fn bindings_apply_in_their_mode_only() {
        let user =
            Config::parse("[[keys]]\nmode = \"checks\"\non = [\"j\"]\nrun = \"run_checks\"\n", "t").unwrap();
        let km = Keymap::new(&user.keys).unwrap();
        assert_eq!(km.action_in(Scope::Checks, &key(KeyCode::Char('j'))), Some(Action::RunChecks));
        assert_eq!(km.action_in(Scope::Recipe, &key(KeyCode::Char('j'))), Some(Action::Down));
        assert_eq!(km.action(&key(KeyCode::Char('j'))), Some(Action::Down));
        assert_eq!(km.keys_of(Scope::Checks, Action::RunChecks), "j/r");
        let bad =
            Config::parse("[[keys]]\nmode = \"nowhere\"\non = [\"x\"]\nrun = \"down\"\n", "cfg").unwrap();
        let e = Keymap::new(&bad.keys).unwrap_err().to_string();
        assert!(e.contains("unknown mode `nowhere`"), "{e}");
    }

    #[test]
    fn bad_bindings_say_what_is_wrong() {
        let bad = Config::parse("[[keys]]\non = [\"x\"]\nrun = \"explode\"\n", "cfg").unwrap();
        let e = Keymap::new(&bad.keys).unwrap_err().to_string();
        assert!(e.contains("unknown action `explode`"), "{e}");
        let e = Config::parse("[[keys]]\nonn = [\"x\"]\n", "cfg.toml").unwrap_err().to_string();
        assert!(e.contains("cfg.toml") && e.contains("onn"), "{e}");
    }
}
