//! What the SQL editor needs from the library, without a terminal: the classes of a
//! query's tokens for highlighting (sqlparser's tokenizer, the one both engines parse
//! with), completions at the cursor (keywords, functions, tables, columns of the tables
//! in the query or after `alias.`), the bracket matching the one under the cursor, and
//! whether a statement writes.

use datafusion::sql::sqlparser::ast::Statement;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

/// How a piece of a query is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Keyword,
    Function,
    Identifier,
    String,
    Number,
    Comment,
    Operator,
    Plain,
}

/// A classified piece of one line: `start..end` in characters of that line (0-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub line: usize,
    pub start: usize,
    pub end: usize,
    pub class: Class,
}

/// The pieces of `text` to colour, line by line. Text the tokenizer cannot read (an
/// unterminated string while typing) is left plain from there on.
pub fn highlight(text: &str) -> Vec<Piece> {
    let lines: Vec<&str> = text.split('\n').collect();
    let tokens = tokens_lenient(text);
    let mut out = Vec::new();
    for (i, (token, start, end)) in tokens.iter().enumerate() {
        let class = match token {
            Token::Word(w) if w.quote_style.is_some() => Class::Identifier,
            Token::Word(w) => {
                let next_is_paren = tokens[i + 1..]
                    .iter()
                    .find(|(t, _, _)| !matches!(t, Token::Whitespace(_)))
                    .is_some_and(|(t, _, _)| *t == Token::LParen);
                if next_is_paren && !is_clause_keyword(w.keyword) {
                    Class::Function
                } else if w.keyword != Keyword::NoKeyword {
                    Class::Keyword
                } else {
                    Class::Identifier
                }
            }
            Token::Number(..) => Class::Number,
            Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::NationalStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::DollarQuotedString(_) => Class::String,
            Token::Whitespace(Whitespace::SingleLineComment { .. })
            | Token::Whitespace(Whitespace::MultiLineComment(_)) => Class::Comment,
            Token::Whitespace(_) => continue,
            Token::LParen | Token::RParen | Token::Comma | Token::SemiColon | Token::Period => Class::Plain,
            _ => Class::Operator,
        };
        // A token may span lines (a comment or string): one piece per line.
        let (mut line, mut col) = *start;
        while (line, col) < *end {
            let len = lines.get(line).map(|l| l.chars().count()).unwrap_or(0);
            let stop = if line == end.0 { end.1 } else { len };
            if stop > col {
                out.push(Piece { line, start: col, end: stop, class });
            }
            if line == end.0 {
                break;
            }
            line += 1;
            col = 0;
        }
    }
    out
}

/// Keywords that read like functions before a parenthesis but start a clause.
fn is_clause_keyword(k: Keyword) -> bool {
    matches!(
        k,
        Keyword::IN
            | Keyword::AS
            | Keyword::FROM
            | Keyword::JOIN
            | Keyword::ON
            | Keyword::USING
            | Keyword::OVER
            | Keyword::EXISTS
            | Keyword::VALUES
            | Keyword::AND
            | Keyword::OR
            | Keyword::NOT
            | Keyword::WHERE
            | Keyword::SELECT
            | Keyword::WITH
            | Keyword::INTO
    )
}

/// A token with its (line, column) start and end, 0-based, in characters.
type Located = (Token, (usize, usize), (usize, usize));

/// Tokens with their (line, column) start and end, 0-based, in characters. On a
/// tokenizer error, the text from the failing line on is one plain token.
fn tokens_lenient(text: &str) -> Vec<Located> {
    let dialect = GenericDialect {};
    match Tokenizer::new(&dialect, text).tokenize_with_location() {
        Ok(tokens) => tokens
            .into_iter()
            .filter(|t| t.token != Token::EOF)
            .map(|t| {
                let at = |l: &datafusion::sql::sqlparser::tokenizer::Location| {
                    ((l.line.max(1) - 1) as usize, (l.column.max(1) - 1) as usize)
                };
                (t.token, at(&t.span.start), at(&t.span.end))
            })
            .collect(),
        Err(e) => {
            // Highlight what comes before the broken line; leave the rest plain.
            let bad = (e.location.line.max(1) - 1) as usize;
            let before: Vec<&str> = text.split('\n').take(bad).collect();
            if bad == 0 || before.is_empty() {
                return Vec::new();
            }
            tokens_lenient(&before.join("\n"))
        }
    }
}

/// What a completion inserts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Column,
    Table,
    Function,
    Keyword,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub text: String,
    pub kind: Kind,
}

/// Keywords offered for completion (both engines' common SQL).
pub const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP BY",
    "ORDER BY",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "JOIN",
    "LEFT JOIN",
    "RIGHT JOIN",
    "INNER JOIN",
    "FULL JOIN",
    "CROSS JOIN",
    "ON",
    "USING",
    "AS",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS NULL",
    "IS NOT NULL",
    "LIKE",
    "ILIKE",
    "BETWEEN",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "DISTINCT",
    "UNION",
    "UNION ALL",
    "EXCEPT",
    "INTERSECT",
    "WITH",
    "OVER",
    "PARTITION BY",
    "ASC",
    "DESC",
    "NULLS FIRST",
    "NULLS LAST",
    "TRUE",
    "FALSE",
    "NULL",
    "DATE",
    "TIMESTAMP",
    "INTERVAL",
    "EXPLAIN",
    "CREATE VIEW",
];

/// Functions offered for completion (the ones both engines know by these names).
pub const FUNCTIONS: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "stddev",
    "median",
    "abs",
    "round",
    "floor",
    "ceil",
    "sqrt",
    "ln",
    "coalesce",
    "nullif",
    "cast",
    "lower",
    "upper",
    "length",
    "trim",
    "ltrim",
    "rtrim",
    "substr",
    "concat",
    "replace",
    "starts_with",
    "ends_with",
    "regexp_like",
    "date_trunc",
    "date_part",
    "extract",
    "now",
    "row_number",
    "rank",
    "dense_rank",
    "lag",
    "lead",
    "first_value",
    "last_value",
];

/// Completions for the word that ends at byte `cursor` of `text` (the whole text is read
/// for the tables it names and their aliases), and the byte offset
/// where that word starts (the completion replaces `start..cursor`). `tables` are the
/// open datasets with their columns.
pub fn complete(text: &str, cursor: usize, tables: &[(String, Vec<String>)]) -> (usize, Vec<Completion>) {
    let cursor = cursor.min(text.len());
    let before = &text[..cursor];
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
        .last()
        .map(|(i, _)| i)
        .unwrap_or(cursor);
    let word = &before[start..];
    let lower = word.to_lowercase();
    let matches = |s: &str| s.to_lowercase().starts_with(&lower) && !s.eq_ignore_ascii_case(word);
    let mut out: Vec<Completion> = Vec::new();
    let push = |text: &str, kind: Kind, out: &mut Vec<Completion>| {
        if matches(text) && !out.iter().any(|c| c.text == text) {
            out.push(Completion { text: text.to_string(), kind });
        }
    };
    let columns_of = |name: &str| tables.iter().find(|(t, _)| t.eq_ignore_ascii_case(name)).map(|(_, c)| c);
    let named = names_in(text);
    // `x.` before the word: columns of table x or of the table aliased x.
    if before[..start].ends_with('.') {
        let qualifier: String = before[..start - 1]
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let table = named
            .iter()
            .find(|(_, alias)| alias.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(&qualifier)))
            .map(|(t, _)| t.clone())
            .unwrap_or(qualifier);
        // A qualifier the query does not name yet (its FROM is still to be typed):
        // columns of every table.
        let scope: Vec<&Vec<String>> = match columns_of(&table) {
            Some(columns) => vec![columns],
            None => tables.iter().map(|(_, c)| c).collect(),
        };
        for c in scope.into_iter().flatten() {
            push(c, Kind::Column, &mut out);
        }
        return (start, out);
    }
    // After FROM / JOIN: tables.
    if previous_keyword(&before[..start]).is_some_and(|k| matches!(k, Keyword::FROM | Keyword::JOIN)) {
        for (t, _) in tables {
            push(t, Kind::Table, &mut out);
        }
        return (start, out);
    }
    if word.is_empty() {
        return (start, out);
    }
    // Anywhere else: columns of the tables the query names (of every table when it names
    // none yet), then tables, functions and keywords.
    let in_query: Vec<&(String, Vec<String>)> =
        tables.iter().filter(|(t, _)| named.iter().any(|(n, _)| n.eq_ignore_ascii_case(t))).collect();
    let scope = if in_query.is_empty() { tables.iter().collect() } else { in_query };
    for (_, columns) in scope {
        for c in columns {
            push(c, Kind::Column, &mut out);
        }
    }
    for (t, _) in tables {
        push(t, Kind::Table, &mut out);
    }
    for f in FUNCTIONS {
        push(f, Kind::Function, &mut out);
    }
    for k in KEYWORDS {
        push(k, Kind::Keyword, &mut out);
    }
    (start, out)
}

/// The tables a query names after FROM or JOIN, with their aliases.
fn names_in(text: &str) -> Vec<(String, Option<String>)> {
    let words: Vec<Token> = tokens_lenient(text)
        .into_iter()
        .map(|(t, _, _)| t)
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let mut out = Vec::new();
    for (i, t) in words.iter().enumerate() {
        let Token::Word(w) = t else { continue };
        if !matches!(w.keyword, Keyword::FROM | Keyword::JOIN) {
            continue;
        }
        let Some(Token::Word(table)) = words.get(i + 1) else { continue };
        if table.keyword != Keyword::NoKeyword && table.quote_style.is_none() {
            continue;
        }
        let mut j = i + 2;
        if matches!(words.get(j), Some(Token::Word(a)) if a.keyword == Keyword::AS) {
            j += 1;
        }
        let alias = match words.get(j) {
            Some(Token::Word(a)) if a.keyword == Keyword::NoKeyword || a.quote_style.is_some() => {
                Some(a.value.clone())
            }
            _ => None,
        };
        out.push((table.value.clone(), alias));
    }
    out
}

/// The last keyword before the end of `text`, when only whitespace follows it.
fn previous_keyword(text: &str) -> Option<Keyword> {
    let tokens = tokens_lenient(text);
    let last = tokens.iter().rev().find(|(t, _, _)| !matches!(t, Token::Whitespace(_)))?;
    match &last.0 {
        Token::Word(w) if w.keyword != Keyword::NoKeyword && w.quote_style.is_none() => Some(w.keyword),
        _ => None,
    }
}

/// The byte offset of the bracket matching the one at byte `at` of `text` (brackets in
/// strings and comments do not count), if there is one.
pub fn matching_bracket(text: &str, at: usize) -> Option<usize> {
    let open = text.get(at..)?.chars().next()?;
    let (forward, pair) = match open {
        '(' => (true, ')'),
        ')' => (false, '('),
        '[' => (true, ']'),
        ']' => (false, '['),
        _ => return None,
    };
    // Offsets of brackets outside strings and comments, from the tokenizer.
    let mut brackets = Vec::new();
    let line_starts: Vec<usize> =
        std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
    for (token, (line, col), _) in tokens_lenient(text) {
        let c = match token {
            Token::LParen => '(',
            Token::RParen => ')',
            Token::LBracket => '[',
            Token::RBracket => ']',
            _ => continue,
        };
        let start = line_starts.get(line).copied()?;
        let byte = text[start..].char_indices().nth(col).map(|(b, _)| start + b)?;
        brackets.push((byte, c));
    }
    let here = brackets.iter().position(|(b, _)| *b == at)?;
    let mut depth = 0i32;
    let range: Box<dyn Iterator<Item = &(usize, char)>> =
        if forward { Box::new(brackets[here..].iter()) } else { Box::new(brackets[..=here].iter().rev()) };
    for (b, c) in range {
        if *c == open {
            depth += 1;
        } else if *c == pair {
            depth -= 1;
            if depth == 0 {
                return Some(*b);
            }
        }
    }
    None
}

/// What a statement does, for the workbench's read-only default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// SELECT, WITH, VALUES, EXPLAIN, SHOW, DESCRIBE.
    Reads,
    /// `CREATE VIEW name AS query`: names a result, writes nothing.
    NamesView { name: String, query: String },
    /// Anything else (INSERT, UPDATE, DELETE, COPY, CREATE TABLE [AS], DROP, ALTER, ...),
    /// with the statement's kind in words.
    Writes(String),
}

/// Classifies one parsed statement.
pub fn effect(statement: &Statement) -> Effect {
    if super::is_read_only(statement) {
        return Effect::Reads;
    }
    if let Statement::CreateView(view) = statement {
        if !view.materialized {
            return Effect::NamesView { name: view.name.to_string(), query: view.query.to_string() };
        }
    }
    let text = statement.to_string();
    let mut words = text.split_whitespace().map(str::to_uppercase);
    let first = words.next().unwrap_or_default();
    const OBJECTS: &[&str] =
        &["TABLE", "INTO", "FROM", "VIEW", "INDEX", "SCHEMA", "DATABASE", "EXTERNAL", "MATERIALIZED", "OR"];
    Effect::Writes(match words.next() {
        Some(second) if OBJECTS.contains(&second.as_str()) => format!("{first} {second}"),
        _ => first,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(text: &str) -> Vec<(String, Class)> {
        let lines: Vec<&str> = text.split('\n').collect();
        highlight(text)
            .into_iter()
            .map(|p| (lines[p.line].chars().skip(p.start).take(p.end - p.start).collect(), p.class))
            .collect()
    }

    #[test]
    fn highlights_keywords_functions_names_literals_and_comments() {
        let got = classes("SELECT count(*), \"Order\" -- n\nFROM t WHERE a >= 'x' AND b IN (1, 2.5)");
        let want = [
            ("SELECT", Class::Keyword),
            ("count", Class::Function),
            ("(", Class::Plain),
            ("*", Class::Operator),
            (")", Class::Plain),
            (",", Class::Plain),
            ("\"Order\"", Class::Identifier),
            ("-- n", Class::Comment),
            ("FROM", Class::Keyword),
            ("t", Class::Identifier),
            ("WHERE", Class::Keyword),
            ("a", Class::Identifier),
            (">=", Class::Operator),
            ("'x'", Class::String),
            ("AND", Class::Keyword),
            ("b", Class::Identifier),
            ("IN", Class::Keyword),
            ("(", Class::Plain),
            ("1", Class::Number),
            (",", Class::Plain),
            ("2.5", Class::Number),
            (")", Class::Plain),
        ];
        let want: Vec<(String, Class)> = want.iter().map(|(s, c)| (s.to_string(), *c)).collect();
        assert_eq!(got, want);
        // A multi-line comment is one piece per line.
        let got = classes("SELECT /* a\nb */ 1");
        assert_eq!(got[1], ("/* a".to_string(), Class::Comment));
        assert_eq!(got[2], ("b */".to_string(), Class::Comment));
        // An unterminated string while typing: the lines before stay highlighted.
        let got = classes("SELECT a\nFROM t WHERE s = 'abc");
        assert_eq!(got, vec![("SELECT".to_string(), Class::Keyword), ("a".to_string(), Class::Identifier)]);
    }

    fn tables() -> Vec<(String, Vec<String>)> {
        vec![
            ("orders".into(), vec!["order_id".into(), "customer_id".into(), "amount".into()]),
            ("customers".into(), vec!["customer_id".into(), "name".into(), "country".into()]),
        ]
    }

    fn texts(c: &[Completion]) -> Vec<&str> {
        c.iter().map(|c| c.text.as_str()).collect()
    }

    #[test]
    fn completes_keywords_functions_tables_and_columns() {
        let (start, got) = complete("SEL", 3, &tables());
        assert_eq!(start, 0);
        assert_eq!(texts(&got), ["SELECT"]);
        let (_, got) = complete("SELECT co", 9, &tables());
        // No table named yet: columns of every table, then functions and keywords.
        assert_eq!(texts(&got), ["country", "count", "coalesce", "concat"]);
        assert_eq!(got[0].kind, Kind::Column);
        assert_eq!(got[1].kind, Kind::Function);
        let (start, got) = complete("SELECT * FROM or", 16, &tables());
        assert_eq!((start, texts(&got)), (14, vec!["orders"]));
        assert_eq!(got[0].kind, Kind::Table);
        // After FROM with nothing typed: every table.
        let (_, got) = complete("SELECT * FROM ", 14, &tables());
        assert_eq!(texts(&got), ["orders", "customers"]);
        // Columns of the tables in the query only.
        let q = "SELECT cu FROM orders";
        let (_, got) = complete(q, 9, &tables());
        assert_eq!(texts(&got), ["customer_id", "customers"]);
    }

    #[test]
    fn completes_columns_after_a_table_or_its_alias() {
        let q = "SELECT c. FROM orders o JOIN customers AS c USING (customer_id)";
        let (start, got) = complete(q, 9, &tables());
        assert_eq!(start, 9);
        assert_eq!(texts(&got), ["customer_id", "name", "country"]);
        let (_, got) = complete("SELECT o.am FROM orders o", 11, &tables());
        assert_eq!(texts(&got), ["amount"]);
        let (_, got) = complete("SELECT orders.", 14, &tables());
        assert_eq!(texts(&got), ["order_id", "customer_id", "amount"]);
        // A qualifier not named yet (no FROM typed): columns of every table.
        assert_eq!(texts(&complete("SELECT x.na", 11, &tables()).1), ["name"]);
    }

    #[test]
    fn matches_brackets_outside_strings() {
        let q = "SELECT f(a, g(b), ')') FROM t";
        assert_eq!(matching_bracket(q, 8), Some(21));
        assert_eq!(matching_bracket(q, 21), Some(8));
        assert_eq!(matching_bracket(q, 13), Some(15));
        assert_eq!(matching_bracket(q, 19), None); // inside a string
        assert_eq!(matching_bracket("SELECT (1", 7), None);
        let q = "SELECT (\n  1 + (2)\n)";
        assert_eq!(matching_bracket(q, 7), Some(q.len() - 1));
    }

    #[test]
    fn classifies_statements_that_write() {
        let e = |q: &str| effect(&super::super::parse(q).unwrap());
        assert_eq!(e("SELECT 1"), Effect::Reads);
        assert_eq!(e("WITH a AS (SELECT 1) SELECT * FROM a"), Effect::Reads);
        assert_eq!(e("EXPLAIN SELECT 1"), Effect::Reads);
        assert_eq!(
            e("CREATE VIEW big AS SELECT * FROM orders WHERE amount > 100"),
            Effect::NamesView { name: "big".into(), query: "SELECT * FROM orders WHERE amount > 100".into() }
        );
        assert_eq!(e("INSERT INTO t VALUES (1)"), Effect::Writes("INSERT INTO".into()));
        assert_eq!(e("CREATE TABLE t AS SELECT 1"), Effect::Writes("CREATE TABLE".into()));
        assert_eq!(e("COPY t TO 'out.csv'"), Effect::Writes("COPY".into()));
        assert_eq!(e("DROP TABLE t"), Effect::Writes("DROP TABLE".into()));
        assert_eq!(e("DELETE FROM t"), Effect::Writes("DELETE FROM".into()));
    }
}
