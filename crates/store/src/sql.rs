//! SQL fragments for LanceDB filters: string literals and `IN` lists, quoted here only.

/// A SQL string literal.
pub(crate) fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub(crate) fn in_list(column: &str, values: &[String]) -> String {
    let list: Vec<String> = values.iter().map(|v| sql_string(v)).collect();
    format!("{column} IN ({})", list.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_doubled_so_a_path_cannot_end_the_literal() {
        assert_eq!(sql_string("/docs/o'brien.txt"), "'/docs/o''brien.txt'");
        assert_eq!(in_list("path", &["/a".into(), "/b'".into()]), "path IN ('/a', '/b''')");
    }
}
