//! Name/value rows as returned by `SHOW GLOBAL STATUS` and `SHOW GLOBAL VARIABLES`.

use std::collections::BTreeMap;

/// Rows keyed by lowercased name, raw values kept as the server sent them.
///
/// MySQL-family servers treat variable names case-insensitively (`SHOW STATUS` prints
/// `wsrep_local_state`, older releases and some proxies print other casings), so names are
/// folded once here and every lookup folds its argument the same way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Rows {
    map: BTreeMap<String, String>,
}

impl Rows {
    /// Builds the map; a name given twice keeps its last value (a later row is newer data).
    /// Owned strings (what the server's rows are) are kept, not copied: this runs every scrape.
    pub(crate) fn from_rows<I, K, V>(rows: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let map = rows
            .into_iter()
            .map(|(k, v)| {
                let mut name: String = k.into();
                name.make_ascii_lowercase();
                (name, v.into())
            })
            .collect();
        Rows { map }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        // Avoid allocating for the common already-lowercase lookup.
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.map.get(&name.to_ascii_lowercase()).map(String::as_str)
        } else {
            self.map.get(name).map(String::as_str)
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// The accessors shared by the row-backed readings ([`super::WsrepStatus`],
/// [`super::WsrepVariables`]): construction from `(name, value)` rows, raw lookup, iteration.
macro_rules! row_backed {
    ($ty:ident) => {
        impl $ty {
            /// Builds the reading from `(name, value)` rows. Names are matched
            /// case-insensitively and stored lowercased; a name given twice keeps its last value.
            pub fn from_rows<I, K, V>(rows: I) -> $ty
            where
                I: IntoIterator<Item = (K, V)>,
                K: Into<String>,
                V: Into<String>,
            {
                $ty {
                    rows: $crate::galera::parse::rows::Rows::from_rows(rows),
                }
            }

            /// The raw value of a row, looked up case-insensitively.
            pub fn get(&self, name: &str) -> Option<&str> {
                self.rows.get(name)
            }

            /// All `(lowercased name, raw value)` pairs, in name order.
            pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
                self.rows.iter()
            }

            /// Number of rows.
            pub fn len(&self) -> usize {
                self.rows.len()
            }

            /// True when no rows were given (for instance wsrep is not loaded at all).
            pub fn is_empty(&self) -> bool {
                self.rows.len() == 0
            }
        }
    };
}
pub(crate) use row_backed;
