//! The Zabbix template shipped in nagios/zabbix/, read as YAML for the tests.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

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

/// Runs the real `zabbix_agentd -t KEY` with our UserParameter file (quorate's path replaced
/// by the test binary, then each `(from, to)` of `replace`) from a config written in `dir`;
/// returns the item's value. Panics with the agent's output when the item is not supported.
pub fn agent_item(
    dir: &Path,
    replace: &[(&str, &str)],
    env: &[(&str, &OsStr)],
    key: &str,
) -> String {
    let mut up = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("nagios/zabbix/userparameter_quorate.conf"),
    )
    .expect("userparameter file")
    .replace("/usr/local/bin/quorate", env!("CARGO_BIN_EXE_quorate"));
    for (from, to) in replace {
        up = up.replace(from, to);
    }
    std::fs::create_dir_all(dir).expect("zabbix dir");
    let up_path = dir.join("userparameter_quorate.conf");
    std::fs::write(&up_path, up).expect("write userparameters");
    let conf = dir.join("zabbix_agentd.conf");
    std::fs::write(
        &conf,
        format!("LogType=console\nInclude={}\n", up_path.display()),
    )
    .expect("write agent config");
    let out = Command::new("zabbix_agentd")
        .arg("-c")
        .arg(&conf)
        .arg("-t")
        .arg(key)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run zabbix_agentd ({e}): install the Debian package zabbix-agent (scripts/install-deps)")
        });
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "zabbix_agentd -t {key}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // `key   [t|value]`; a failure is `[m|ZBX_NOTSUPPORTED] [reason]`.
    let start = text
        .find("[t|")
        .unwrap_or_else(|| panic!("zabbix_agentd -t {key}: {text}"));
    let value = &text[start + 3..];
    value
        .trim_end()
        .strip_suffix(']')
        .unwrap_or_else(|| panic!("zabbix_agentd -t {key}: {text}"))
        .to_string()
}
