//! The `mariadb -N -B` (batch) output format: rows of tab-separated values, one per line,
//! with tab, newline, backslash and NUL inside values escaped as `\t`, `\n`, `\\` and `\0`.
//! Used by the sandbox (which runs the client) and by the fixtures captured with it.

/// Splits batch output into rows of unescaped values. Empty lines are skipped.
pub fn parse_batch_output(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .filter(|line| !line.is_empty())
        .map(|line| line.split('\t').map(unescape_batch_field).collect())
        .collect()
}

/// The `(name, value)` pairs of two-column batch output (`SHOW STATUS`, `SHOW VARIABLES`);
/// rows with another number of columns are skipped.
pub fn parse_name_value_rows(out: &str) -> Vec<(String, String)> {
    parse_batch_output(out)
        .into_iter()
        .filter_map(|row| match <[String; 2]>::try_from(row) {
            Ok([name, value]) => Some((name, value)),
            Err(_) => None,
        })
        .collect()
}

/// Undoes the client's batch escaping of one field. Any other backslash sequence is kept as
/// is (the client does not produce them).
pub fn unescape_batch_field(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            Some('0') => out.push('\0'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_batch_sequences() {
        assert_eq!(unescape_batch_field(r"a\tb"), "a\tb");
        assert_eq!(unescape_batch_field(r"line1\nline2"), "line1\nline2");
        assert_eq!(unescape_batch_field(r"back\\slash"), "back\\slash");
        assert_eq!(unescape_batch_field(r"nul\0"), "nul\0");
        assert_eq!(unescape_batch_field(r"\\n"), "\\n");
        assert_eq!(unescape_batch_field(r"odd\x"), "odd\\x");
        assert_eq!(unescape_batch_field("trailing\\"), "trailing\\");
        assert_eq!(unescape_batch_field("plain"), "plain");
    }

    #[test]
    fn rows_and_pairs() {
        let out = "a\t1\n\nb\tx\\ty\nthree\tcolumns\there\n";
        assert_eq!(parse_batch_output(out).len(), 3);
        assert_eq!(
            parse_name_value_rows(out),
            vec![("a".into(), "1".into()), ("b".into(), "x\ty".into())]
        );
    }
}
