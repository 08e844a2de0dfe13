//! How far a long job has got, shared between the thread doing it and whoever shows it
//! (the workbench's status bar): units done out of a total, both atomics, no locks.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Progress {
    done: AtomicU64,
    total: AtomicU64,
}

impl Progress {
    pub fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
    }

    pub fn add(&self, units: u64) {
        self.done.fetch_add(units, Ordering::Relaxed);
    }

    /// Done over total, when a total is known.
    pub fn fraction(&self) -> Option<f64> {
        let total = self.total.load(Ordering::Relaxed);
        (total > 0).then(|| (self.done.load(Ordering::Relaxed) as f64 / total as f64).min(1.0))
    }
}

/// Two handles are equal when they track the same job.
impl PartialEq for Progress {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraction_needs_a_total() {
        let p = Progress::default();
        p.add(5);
        assert_eq!(p.fraction(), None);
        p.set_total(20);
        assert_eq!(p.fraction(), Some(0.25));
        p.add(100);
        assert_eq!(p.fraction(), Some(1.0));
    }
}
