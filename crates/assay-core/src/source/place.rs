//! Where a DATA or a destination is, parsed once from what the user typed: the one place
//! that knows the URL schemes (`s3://`, `sqlite://`, `postgres://`) and `-` (standard
//! input), so no other code tests a string's prefix.

/// What a location names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place<'a> {
    /// A local path: a file, a folder or a glob.
    Local(&'a str),
    /// An S3 object, prefix or glob: `s3://bucket/key`.
    S3(&'a str),
    /// A SQLite table or query: `sqlite://PATH?table=T`.
    Sqlite(&'a str),
    /// A Postgres table or query: `postgres://USER@HOST/DB?table=T` (or `postgresql://`).
    Postgres(&'a str),
    /// Standard input: `-`.
    Stdin,
}

impl<'a> Place<'a> {
    /// Reads `text`; anything without a known scheme is a local path.
    pub fn of(text: &'a str) -> Place<'a> {
        if text == "-" {
            Place::Stdin
        } else if text.starts_with("s3://") {
            Place::S3(text)
        } else if text.starts_with("sqlite://") {
            Place::Sqlite(text)
        } else if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Place::Postgres(text)
        } else {
            Place::Local(text)
        }
    }

    /// Whether this is an object store location (S3).
    pub fn is_s3(&self) -> bool {
        matches!(self, Place::S3(_))
    }

    /// Whether this is a database table (or query).
    pub fn is_table(&self) -> bool {
        matches!(self, Place::Sqlite(_) | Place::Postgres(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_are_read_once_here() {
        assert_eq!(Place::of("s3://b/k.csv"), Place::S3("s3://b/k.csv"));
        assert_eq!(Place::of("sqlite://x.db?table=t"), Place::Sqlite("sqlite://x.db?table=t"));
        assert!(Place::of("postgresql://h/db?table=t").is_table());
        assert!(Place::of("postgres://h/db?table=t").is_table());
        assert_eq!(Place::of("data/s3://x"), Place::Local("data/s3://x"));
        assert!(!Place::of("./s3.csv").is_s3());
        assert_eq!(Place::of("-"), Place::Stdin);
        assert_eq!(Place::of("./-"), Place::Local("./-"));
    }
}
