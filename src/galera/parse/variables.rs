//! `SHOW GLOBAL VARIABLES` and the `wsrep_provider_options` string.

use std::collections::BTreeMap;

use super::rows::Rows;
use super::value::{bool_flag, parse_galera_size};

/// Server variables relevant to Galera (typically `wsrep%` plus `read_only`), names
/// lowercased, values raw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WsrepVariables {
    rows: Rows,
}

super::rows::row_backed!(WsrepVariables);

impl WsrepVariables {
    /// `wsrep_desync`: the node was desynced on purpose. The well-known "not Synced" alert is
    /// silenced by this, since a deliberately desynced node is expected to lag.
    pub fn desync(&self) -> Option<bool> {
        self.get("wsrep_desync").and_then(bool_flag)
    }

    /// `read_only` (`ON`/`OFF` on MariaDB 10.11; other spellings give `None`).
    pub fn read_only(&self) -> Option<bool> {
        self.get("read_only").and_then(bool_flag)
    }

    /// `wsrep_cluster_name`.
    pub fn cluster_name(&self) -> Option<&str> {
        self.get("wsrep_cluster_name")
    }

    /// `wsrep_node_name`.
    pub fn node_name(&self) -> Option<&str> {
        self.get("wsrep_node_name")
    }

    /// `wsrep_cluster_address`, e.g. `gcomm://127.0.0.1:24021,127.0.0.1:24022`.
    pub fn cluster_address(&self) -> Option<&str> {
        self.get("wsrep_cluster_address")
    }

    /// `wsrep_reject_queries` (`NONE`, `ALL`, `ALL_KILL`), raw.
    pub fn reject_queries(&self) -> Option<&str> {
        self.get("wsrep_reject_queries")
    }

    /// `wsrep_sst_donor_rejects_queries`.
    pub fn sst_donor_rejects_queries(&self) -> Option<bool> {
        self.get("wsrep_sst_donor_rejects_queries")
            .and_then(bool_flag)
    }

    /// `wsrep_provider_options` split into a map (empty if the variable is absent).
    pub fn provider_options(&self) -> BTreeMap<String, String> {
        self.get("wsrep_provider_options")
            .map(parse_provider_options)
            .unwrap_or_default()
    }

    /// `gcache.size` from the provider options, in bytes (see [`parse_galera_size`] for the
    /// accepted spellings); `None` if absent or not a size Galera would accept.
    pub fn gcache_size_bytes(&self) -> Option<u64> {
        parse_galera_size(self.provider_options().get("gcache.size")?)
    }
}

/// Splits Galera's option string `key = value; key2 = value2; ` into a map.
///
/// Galera prints every option as `key = value; ` (note the trailing separator) without any
/// escaping, so the split is on `;`, then on the first `=` of each part. Keys and values are
/// trimmed; values may be empty (`gcomm.thread_prio = ` in the captured fixture). Parts
/// without `=` or with an empty key are skipped, and a key given twice keeps its last value.
pub fn parse_provider_options(s: &str) -> BTreeMap<String, String> {
    s.split(';')
        .filter_map(|part| {
            let (key, value) = part.split_once('=')?;
            let key = key.trim();
            (!key.is_empty()).then(|| (key.to_string(), value.trim().to_string()))
        })
        .collect()
}
