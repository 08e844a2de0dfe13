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

/// The resolved keymap: user bindings first, so they shadow defaults on the same key.
#[derive(Debug, Clone)]
pub struct Keymap {
    entries: Vec<(Vec<Chord>, Action, String, Vec<String>)>,
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
                entries.push((chords, action, desc, b.on.clone()));
            }
        }
        Ok(Keymap { entries })
    }

    pub fn action(&self, event: &KeyEvent) -> Option<Action> {
        self.entries.iter().find(|(chords, ..)| chords.iter().any(|c| c.matches(event))).map(|(_, a, ..)| *a)
    }

    /// (keys, action, description) for help and the palette, one line per action,
    /// merging the keys of every binding of that action that is not shadowed.
    pub fn help(&self) -> Vec<(String, Action, String)> {
        let mut out: Vec<(String, Action, String)> = Vec::new();
        for (i, (chords, action, desc, names)) in self.entries.iter().enumerate() {
            let live: Vec<&str> = chords
                .iter()
                .zip(names)
                .filter(|(c, _)| !self.entries[..i].iter().any(|(earlier, ..)| earlier.contains(c)))
                .map(|(_, n)| n.as_str())
                .collect();
            if live.is_empty() {
                continue;
            }
            match out.iter_mut().find(|(_, a, _)| a == action) {
                Some(line) => {
                    line.0.push_str(", ");
                    line.0.push_str(&live.join(", "));
                }
                None => out.push((live.join(", "), *action, desc.clone())),
            }
        }
        out
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
        let help = km.help();
        for (action, _) in Action::ALL {
            assert!(help.iter().any(|(_, a, _)| a == action), "{action:?} has no key");
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
    fn bad_bindings_say_what_is_wrong() {
        let bad = Config::parse("[[keys]]\non = [\"x\"]\nrun = \"explode\"\n", "cfg").unwrap();
        let e = Keymap::new(&bad.keys).unwrap_err().to_string();
        assert!(e.contains("unknown action `explode`"), "{e}");
        let e = Config::parse("[[keys]]\nonn = [\"x\"]\n", "cfg.toml").unwrap_err().to_string();
        assert!(e.contains("cfg.toml") && e.contains("onn"), "{e}");
    }
}
