//! Text for people shared by every floor: numbers in a few characters.

/// A number in at most a few characters, for tables and panels.
pub fn short_number(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 1e6 || v.abs() < 1e-3 {
        format!("{v:.3e}")
    } else {
        format!("{v:.3}")
    }
}
