//! The Zabbix template shipped in nagios/zabbix/, read as YAML for the tests.

use std::collections::HashMap;
use std::path::Path;

use serde_yaml_ng::Value;

/// Every mapping in the template with a given key, anywhere in the tree.
pub fn collect<'a>(v: &'a Value, key: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Mapping(m) => {
            for (k, child) in m {
                if k.as_str() == Some(key) {
                    out.push(child);
                }
                collect(child, key, out);
            }
        }
        Value::Sequence(s) => s.iter().for_each(|c| collect(c, key, out)),
        _ => {}
    }
}

pub fn items_of(v: &Value, list: &str) -> Vec<Value> {
    let mut lists = Vec::new();
    collect(v, list, &mut lists);
    lists
        .into_iter()
        .filter_map(|l| l.as_sequence())
        .flatten()
        .cloned()
        .collect()
}

pub fn template() -> Value {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("nagios/zabbix/template_galera_quorate.yaml"),
    )
    .expect("template");
    serde_yaml_ng::from_str(&text).expect("template is YAML")
}

/// (JSONPath field, master key) of every dependent item; used by the live test to check the
/// fields against quorate's real output.
pub fn dependent_fields() -> HashMap<String, Vec<String>> {
    let t = template();
    let tpl = &t["zabbix_export"]["templates"][0];
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for item in items_of(tpl, "items")
        .iter()
        .chain(items_of(tpl, "item_prototypes").iter())
    {
        if item["type"].as_str() != Some("DEPENDENT") {
            continue;
        }
        let path = item["preprocessing"][0]["parameters"][0]
            .as_str()
            .expect("JSONPath");
        let field = path.strip_prefix("$.").expect("simple $.field path");
        out.entry(
            item["master_item"]["key"]
                .as_str()
                .expect("master")
                .to_string(),
        )
        .or_default()
        .push(field.to_string());
    }
    out
}
