//! The shipped Zabbix template imported into a real Zabbix 6.0 (Debian bookworm's
//! zabbix-server-mysql schema and zabbix-frontend-php API), not only checked for structure.
//!
//! A 1-node sandbox holds the Zabbix database (the package's schema, images and data SQL); a
//! copy of the PHP frontend in the test's temporary directory, served by `php -S` on
//! 127.0.0.1, answers the JSON-RPC API. Deliberately broken copies of the template are refused
//! with an error naming the defect (and leave nothing behind); the template itself imports,
//! and what Zabbix stored — items with their master items, discovery rules with their item and
//! trigger prototypes, triggers with their expanded expressions, macros and value maps — is
//! exactly what the YAML file declares.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use quorate::sandbox::{self, SandboxGuard, UpOptions};
use serde_json::{json, Value as Json};
use serde_yaml_ng::Value as Yaml;

const TEMPLATE_NAME: &str = "Galera by quorate";
/// The variant without the agent (HTTP agent items on `/metrics`).
const HTTP_TEMPLATE_NAME: &str = "Galera by quorate HTTP";
/// Where Debian's zabbix-server-mysql ships the MySQL/MariaDB database scripts (`dpkg -L`).
const SQL_DIR: &str = "/usr/share/zabbix-server-mysql";
/// Debian's zabbix-frontend-php.
const FRONTEND_DIR: &str = "/usr/share/zabbix";

/// A child process (the PHP server, a pipeline stage) killed by its pid and reaped when the
/// guard drops, so a failing assertion leaves nothing running.
struct ChildGuard {
    name: &'static str,
    child: Child,
}

impl ChildGuard {
    fn spawn(name: &'static str, cmd: &mut Command) -> ChildGuard {
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot run {name} ({e}): scripts/install-deps installs it")
        });
        ChildGuard { name, child }
    }

    /// Waits for a normal exit, bounded; panics (the guard then kills it) on a timeout.
    fn wait(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                start.elapsed() < timeout,
                "{} still running after {timeout:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // Child::kill sends SIGKILL to this child's pid only.
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A random password for the `zabbix` database user (hex of 16 bytes from the kernel).
fn random_password() -> String {
    let mut bytes = [0u8; 16];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("reading /dev/urandom");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Streams one of the package's gzipped SQL files into the `mariadb` client as root over the
/// node's socket: `zcat FILE | mariadb zabbix`, the pipe between the two children, no shell.
fn import_sql(socket: &Path, file: &str) -> Duration {
    let start = Instant::now();
    let path = Path::new(SQL_DIR).join(file);
    assert!(
        path.exists(),
        "{} missing: install zabbix-server-mysql (scripts/install-deps)",
        path.display()
    );
    let mut zcat = ChildGuard::spawn(
        "zcat",
        Command::new("zcat")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped()),
    );
    let sql = zcat.child.stdout.take().expect("zcat stdout");
    let client = Command::new("mariadb")
        .arg("--no-defaults")
        .arg("--protocol=SOCKET")
        .arg(format!("--socket={}", socket.display()))
        .arg("--user=root")
        .arg("--batch")
        .arg("zabbix")
        .stdin(Stdio::from(sql))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running mariadb (Debian package mariadb-client)");
    let mut client = ChildGuard {
        name: "mariadb",
        child: client,
    };
    let status = client.wait(Duration::from_secs(120));
    let mut err = String::new();
    if let Some(mut e) = client.child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    assert!(status.success(), "importing {file}: {status}: {err}");
    assert!(zcat.wait(Duration::from_secs(10)).success(), "zcat {file}");
    start.elapsed()
}

/// The frontend copied into `dir` with its configuration written there (mode 0600: it holds
/// the database password). Debian patches the configuration path to the absolute
/// `/etc/zabbix/zabbix.conf.php`; the copy is pointed at its own `conf/` instead, so nothing
/// outside the temporary directory is read or written.
fn install_frontend(dir: &Path, db_port: u16, password: &str) -> PathBuf {
    let root = dir.join("frontend");
    let out = Command::new("cp")
        .arg("-a")
        .arg(FRONTEND_DIR)
        .arg(&root)
        .output()
        .expect("cp");
    assert!(
        out.status.success(),
        "copying {FRONTEND_DIR} (install zabbix-frontend-php): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conf = root.join("conf/zabbix.conf.php");
    let class = root.join("include/classes/core/CConfigFile.php");
    let code = fs::read_to_string(&class).expect("CConfigFile.php");
    let debian_path = "const CONFIG_FILE_PATH = '/etc/zabbix/zabbix.conf.php';";
    assert_eq!(
        code.matches(debian_path).count(),
        1,
        "{} no longer names the Debian configuration path",
        class.display()
    );
    fs::write(
        &class,
        code.replace(
            debian_path,
            &format!("const CONFIG_FILE_PATH = '{}';", conf.display()),
        ),
    )
    .expect("rewrite CConfigFile.php");

    let text = format!(
        "<?php\n\
         $DB['TYPE'] = 'MYSQL';\n\
         $DB['SERVER'] = '127.0.0.1';\n\
         $DB['PORT'] = '{db_port}';\n\
         $DB['DATABASE'] = 'zabbix';\n\
         $DB['USER'] = 'zabbix';\n\
         $DB['PASSWORD'] = '{password}';\n\
         $DB['SCHEMA'] = '';\n\
         $DB['ENCRYPTION'] = false;\n\
         $DB['KEY_FILE'] = '';\n\
         $DB['CERT_FILE'] = '';\n\
         $DB['CA_FILE'] = '';\n\
         $DB['VERIFY_HOST'] = false;\n\
         $DB['CIPHER_LIST'] = '';\n\
         $DB['VAULT_URL'] = '';\n\
         $DB['VAULT_DB_PATH'] = '';\n\
         $DB['VAULT_TOKEN'] = '';\n\
         $DB['DOUBLE_IEEE754'] = true;\n\
         $ZBX_SERVER_NAME = 'quorate test';\n\
         $IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;\n"
    );
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&conf)
        .expect("create zabbix.conf.php");
    f.write_all(text.as_bytes()).expect("write zabbix.conf.php");
    root
}

/// `zabbix_server -f` (Debian's zabbix-server-mysql) on the test's database, as the leader of
/// its own process group: on drop, SIGTERM to it (it stops its children), up to 20 s, then
/// SIGKILL to the whole group.
struct ZabbixServer {
    child: Child,
    log: PathBuf,
}

impl ZabbixServer {
    fn start(dir: &Path, db_port: u16, password: &str) -> ZabbixServer {
        use std::os::unix::process::CommandExt;
        let conf = dir.join("zabbix_server.conf");
        let log = dir.join("zabbix_server.log");
        // The fewest processes that poll, preprocess and store; its own socket directory and
        // port; the database password only in this 0600 file.
        let text = format!(
            "LogFile={log}\nLogFileSize=0\nPidFile={dir}/zabbix_server.pid\nSocketDir={dir}\n\
             DBHost=127.0.0.1\nDBPort={db_port}\nDBName=zabbix\nDBUser=zabbix\nDBPassword={password}\n\
             ListenIP=127.0.0.1\nListenPort={port}\nAllowRoot=1\nAllowUnsupportedDBVersions=1\n\
             StartPollers=2\nStartPollersUnreachable=1\nStartTrappers=1\nStartPingers=0\n\
             StartDiscoverers=0\nStartHTTPPollers=0\nStartDBSyncers=1\nStartHistoryPollers=1\n\
             StartPreprocessors=1\nStartLLDProcessors=1\nStartAlerters=1\nStartEscalators=1\n\
             StartTimers=1\nCacheUpdateFrequency=5\nTimeout=10\n",
            log = log.display(),
            dir = dir.display(),
            port = zabbix_port(),
        );
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&conf)
            .expect("create zabbix_server.conf");
        f.write_all(text.as_bytes())
            .expect("write zabbix_server.conf");
        let out = fs::File::create(dir.join("zabbix_server.out")).expect("output file");
        let child = Command::new("zabbix_server")
            .arg("-f")
            .arg("-c")
            .arg(&conf)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("fd"))
            .stderr(out)
            .spawn()
            .expect("zabbix_server (Debian package zabbix-server-mysql)");
        ZabbixServer { child, log }
    }

    /// Its output (configuration errors) and the end of its log.
    fn log(&self) -> String {
        let out = self.log.with_extension("out");
        let text = fs::read_to_string(out).unwrap_or_default()
            + &fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

/// A free loopback port in the range `ListenPort` accepts (1024-32767; the kernel's ephemeral
/// ports start above it).
fn zabbix_port() -> u16 {
    let start = 20000 + u16::try_from(std::process::id() % 10000).unwrap_or(0);
    (start..32767)
        .chain(20000..start)
        .find(|&p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
        .expect("a free port in 20000-32766")
}

impl Drop for ZabbixServer {
    fn drop(&mut self) {
        let Ok(pid) = i32::try_from(self.child.id()) else {
            return;
        };
        // SAFETY: kill(2) on our own unreaped child.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // SAFETY: the group this test created (its leader is reaped only below, or has just
        // been: its children keep the group id until they are gone).
        unsafe {
            libc::killpg(pid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// A dependent item of the HTTP template gets its value: a host linked to it, whose
/// `{$QUORATE.PORT}` points at `quorate serve` of the sandbox's node, polled by a real
/// `zabbix_server` — `quorate.metrics` fetched over HTTP, `mysql_up` cut out of it by the
/// Prometheus pattern step.
fn zabbix_server_reads_a_dependent_item(
    api: &Api,
    sb: &SandboxGuard,
    template_id: &str,
    dir: &Path,
    db_port: u16,
    password: &str,
) {
    let started = Instant::now();
    let serve = common::ServeProcess::start(&sb.config_path(), &["--node", "node1"]);
    let group = api.ok(
        "hostgroup.get",
        json!({"filter": {"name": "Templates/Databases"}, "output": ["groupid"]}),
    );
    let host = api.ok(
        "host.create",
        json!({
            "host": "quorate-http-test",
            "interfaces": [{"type": 1, "main": 1, "useip": 1, "ip": "127.0.0.1", "dns": "",
                            "port": "10050"}],
            "groups": [{"groupid": field(&group[0], "groupid")}],
            "templates": [{"templateid": template_id}],
            "macros": [{"macro": "{$QUORATE.PORT}", "value": serve.addr.port().to_string()}],
        }),
    );
    let hostid = host["hostids"][0].as_str().expect("host id").to_string();
    let server = ZabbixServer::start(dir, db_port, password);
    let item = |key: &str| {
        api.ok(
            "item.get",
            json!({"hostids": [hostid], "filter": {"key_": key},
                   "output": ["lastvalue", "lastclock", "state", "error"]}),
        )[0]
        .clone()
    };
    // The master item is polled within its 1 min interval of the server's start.
    let deadline = Instant::now() + Duration::from_secs(150);
    let (up, state) = loop {
        let (up, state) = (item("quorate.mysql.up"), item("quorate.wsrep.local_state"));
        if [&up, &state]
            .iter()
            .all(|i| i["lastclock"].as_str().is_some_and(|c| c != "0"))
        {
            break (up, state);
        }
        assert!(
            Instant::now() < deadline,
            "no value for quorate.mysql.up and local_state within 150 s; master {}\nzabbix_server log:\n{}\nquorate serve log:\n{}",
            item("quorate.metrics"),
            server.log(),
            serve.log()
        );
        std::thread::sleep(Duration::from_secs(2));
    };
    assert_eq!(up["lastvalue"], json!("1"), "{up}");
    assert_eq!(state["lastvalue"], json!("4"), "Synced: {state}");
    eprintln!(
        "zabbix_server: quorate.mysql.up = 1 from quorate serve's /metrics in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    drop(server);
    drop(serve);
}

/// The JSON-RPC API of the frontend served by `php -S`.
struct Api {
    addr: SocketAddr,
    auth: Option<String>,
    /// The PHP server's log, quoted when a call fails.
    log: PathBuf,
}

impl Api {
    /// One call; `Err` carries the API's error object.
    fn call(&self, method: &str, params: Json) -> Result<Json, Json> {
        let mut request = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 1});
        if let Some(auth) = &self.auth {
            request["auth"] = json!(auth);
        }
        let body = post(self.addr, "/api_jsonrpc.php", &request.to_string()).unwrap_or_else(|e| {
            let log = fs::read_to_string(&self.log).unwrap_or_default();
            panic!("POST {method}: {e}\nphp -S log:\n{log}")
        });
        let mut answer: Json = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{method}: answer is not JSON ({e}): {body}"));
        match answer.get_mut("result") {
            Some(result) => Ok(result.take()),
            None => Err(answer["error"].take()),
        }
    }

    fn ok(&self, method: &str, params: Json) -> Json {
        self.call(method, params)
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }
}

/// A minimal HTTP/1.0 POST (the answer ends when the server closes); returns the body.
fn post(addr: SocketAddr, path: &str, body: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    // One write: PHP's built-in server has refused ("Malformed HTTP request") a request that
    // `write!` had sent in many small pieces.
    let request = format!(
        "POST {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json-rpc\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no header end in {raw:?}")))?;
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        return Err(std::io::Error::other(format!("{head}\n{body}")));
    }
    Ok(body.to_string())
}

/// The import rules: create what is missing, update what exists (a re-import of the same
/// template must also work).
fn import_rules() -> Json {
    let both = json!({"createMissing": true, "updateExisting": true});
    json!({
        "groups": {"createMissing": true},
        "templates": both,
        "items": both,
        "discoveryRules": both,
        "triggers": both,
        "graphs": both,
        "valueMaps": both,
        "httptests": both,
        "templateLinkage": {"createMissing": true},
        "templateDashboards": both,
    })
}

fn import(api: &Api, source: &str) -> Result<Json, Json> {
    api.call(
        "configuration.import",
        json!({"format": "yaml", "source": source, "rules": import_rules()}),
    )
}

fn text(v: &Yaml) -> String {
    match v {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Null => String::new(),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn field(v: &Json, name: &str) -> String {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {v}"))
        .to_string()
}

/// An item or item prototype as "uuid key type=dependent|agent master=KEY" from the YAML.
fn yaml_item(item: &Yaml) -> String {
    let dependent = item["type"].as_str() == Some("DEPENDENT");
    format!(
        "{} {} dependent={dependent} master={}",
        text(&item["uuid"]),
        text(&item["key"]),
        text(&item["master_item"]["key"])
    )
}

/// The same description of an item Zabbix stored (type 18 = dependent); `keys` maps item ids
/// (items and prototypes) to keys for the master item.
fn api_item(item: &Json, keys: &BTreeMap<String, String>) -> String {
    let master = field(item, "master_itemid");
    let master = if master == "0" {
        String::new()
    } else {
        keys.get(&master)
            .unwrap_or_else(|| panic!("master item {master} of {item} not in the template"))
            .clone()
    };
    format!(
        "{} {} dependent={} master={master}",
        field(item, "uuid"),
        field(item, "key_"),
        field(item, "type") == "18"
    )
}

fn priority(name: &str) -> &'static str {
    match name {
        "" | "NOT_CLASSIFIED" => "0",
        "INFO" => "1",
        "WARNING" => "2",
        "AVERAGE" => "3",
        "HIGH" => "4",
        "DISASTER" => "5",
        other => panic!("unknown trigger priority {other}"),
    }
}

/// A trigger or trigger prototype as "uuid priority name: expression" from the YAML, the
/// template's user macros (`{$NAME}`, and `{$NAME:"CONTEXT"}` falling back to it) in its
/// expression replaced by their values, as `expandExpression` reads them back.
fn yaml_trigger(t: &Yaml, macros: &[(String, String)]) -> String {
    let mut expression = text(&t["expression"]);
    for (name, value) in macros {
        expression = expression.replace(name.as_str(), value);
        // With a context (`{$NAME:"{#TYPE}"}`) the template's value is the fallback.
        let with_context = format!("{}:\"", name.trim_end_matches('}'));
        while let Some(i) = expression.find(&with_context) {
            let rest = &expression[i + with_context.len()..];
            let Some(end) = rest.find("\"}") else { break };
            let close = i + with_context.len() + end + 2;
            expression.replace_range(i..close, value);
        }
    }
    format!(
        "{} {} {}: {}",
        text(&t["uuid"]),
        priority(&text(&t["priority"])),
        text(&t["name"]),
        expression
    )
}

/// The same for a trigger read with `expandExpression` (keys instead of function ids).
fn api_trigger(t: &Json) -> String {
    format!(
        "{} {} {}: {}",
        field(t, "uuid"),
        field(t, "priority"),
        field(t, "description"),
        field(t, "expression")
    )
}

/// Triggers (or trigger prototypes) as [`api_trigger`] describes them, sorted; `filter` says
/// whose.
fn read_triggers(api: &Api, method: &str, mut filter: Json) -> Vec<String> {
    filter["expandExpression"] = json!(true);
    filter["output"] = json!(["uuid", "description", "expression", "priority"]);
    let found = api.ok(method, filter);
    sorted(
        found
            .as_array()
            .unwrap_or_else(|| panic!("{method}: {found}"))
            .iter()
            .map(api_trigger),
    )
}

/// Sorted, duplicates kept: equal lists mean the same things the same number of times.
fn sorted(descriptions: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = descriptions.collect();
    v.sort();
    v
}

fn seq(v: &Yaml) -> Vec<Yaml> {
    v.as_sequence().cloned().unwrap_or_default()
}

/// What [`assert_stored_as_declared`] found: the template's id and how many of each.
struct Stored {
    id: String,
    items: usize,
    triggers: usize,
    rules: usize,
    prototypes: usize,
}

impl std::fmt::Display for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} items, {} triggers, {} discovery rules, {} item prototypes",
            self.items, self.triggers, self.rules, self.prototypes
        )
    }
}

/// Reads back the imported template `tpl` (its YAML) and asserts that what Zabbix stored —
/// items with their master items, triggers, discovery rules with their item and trigger
/// prototypes, macros, value maps — is exactly what the YAML declares.
fn assert_stored_as_declared(api: &Api, tpl: &Yaml) -> Stored {
    let name = text(&tpl["template"]);
    let macro_values: Vec<(String, String)> = seq(&tpl["macros"])
        .iter()
        .map(|m| (text(&m["macro"]), text(&m["value"])))
        .collect();
    let got = api.ok(
        "template.get",
        json!({
            "filter": {"host": name},
            "output": ["templateid", "host", "name", "uuid"],
            "selectGroups": ["name"],
            "selectItems": ["itemid", "uuid", "key_", "type", "master_itemid"],
            "selectDiscoveries": ["itemid", "uuid", "key_"],
            "selectTriggers": ["triggerid"],
            "selectMacros": ["macro", "value"],
            "selectValueMaps": ["name", "mappings"],
        }),
    );
    let got = got.as_array().expect("templates");
    assert_eq!(got.len(), 1, "{got:?}");
    let got = &got[0];
    let id = field(got, "templateid");
    assert_eq!(field(got, "uuid"), text(&tpl["uuid"]));
    assert_eq!(field(got, "name"), text(&tpl["name"]));
    let groups: BTreeSet<String> = got["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| field(g, "name"))
        .collect();
    let yaml_groups: BTreeSet<String> = seq(&tpl["groups"])
        .iter()
        .map(|g| text(&g["name"]))
        .collect();
    assert_eq!(groups, yaml_groups);

    // Every item id (items and prototypes) → key, for the master items.
    let prototypes = api.ok(
        "itemprototype.get",
        json!({"templateids": [id], "output": ["itemid", "uuid", "key_", "type", "master_itemid"],
               "selectDiscoveryRule": ["key_"]}),
    );
    let prototypes = prototypes.as_array().expect("item prototypes");
    let items = got["items"].as_array().expect("items");
    let keys: BTreeMap<String, String> = items
        .iter()
        .chain(prototypes)
        .map(|i| (field(i, "itemid"), field(i, "key_")))
        .collect();

    let yaml_items = sorted(seq(&tpl["items"]).iter().map(yaml_item));
    let api_items = sorted(items.iter().map(|i| api_item(i, &keys)));
    assert_eq!(api_items, yaml_items, "items");

    // Triggers of plain items (the YAML nests them under their item).
    let yaml_triggers = sorted(
        seq(&tpl["items"])
            .iter()
            .flat_map(|i| seq(&i["triggers"]))
            .map(|t| yaml_trigger(&t, &macro_values)),
    );
    let api_triggers = read_triggers(api, "trigger.get", json!({"templateids": [id]}));
    assert_eq!(api_triggers, yaml_triggers, "triggers");
    assert_eq!(
        got["triggers"].as_array().map(Vec::len),
        Some(yaml_triggers.len())
    );

    // Discovery rules, each with its item and trigger prototypes.
    let yaml_rules = seq(&tpl["discovery_rules"]);
    let api_rules = got["discoveries"].as_array().expect("discoveries");
    assert_eq!(
        sorted(
            api_rules
                .iter()
                .map(|r| format!("{} {}", field(r, "uuid"), field(r, "key_")))
        ),
        sorted(
            yaml_rules
                .iter()
                .map(|r| format!("{} {}", text(&r["uuid"]), text(&r["key"])))
        ),
        "discovery rules"
    );
    let mut prototype_count = 0;
    for rule in &yaml_rules {
        let key = text(&rule["key"]);
        let api_rule = api_rules
            .iter()
            .find(|r| field(r, "key_") == key)
            .expect("rule imported");
        let yaml_protos = seq(&rule["item_prototypes"]);
        prototype_count += yaml_protos.len();
        let api_protos = sorted(
            prototypes
                .iter()
                .filter(|p| p["discoveryRule"]["key_"].as_str() == Some(key.as_str()))
                .map(|p| api_item(p, &keys)),
        );
        assert_eq!(
            api_protos,
            sorted(yaml_protos.iter().map(yaml_item)),
            "item prototypes of {key}"
        );

        // Trigger prototypes: under the rule and under its item prototypes.
        let yaml_tp = sorted(
            seq(&rule["trigger_prototypes"])
                .iter()
                .chain(
                    yaml_protos
                        .iter()
                        .flat_map(|p| seq(&p["trigger_prototypes"]))
                        .collect::<Vec<_>>()
                        .iter(),
                )
                .map(|t| yaml_trigger(t, &macro_values)),
        );
        let api_tp = read_triggers(
            api,
            "triggerprototype.get",
            json!({"discoveryids": [field(api_rule, "itemid")]}),
        );
        assert_eq!(api_tp, yaml_tp, "trigger prototypes of {key}");
    }
    assert_eq!(prototypes.len(), prototype_count, "item prototypes");

    // Macros and value maps.
    let macros = |pairs: Vec<(String, String)>| pairs.into_iter().collect::<BTreeSet<_>>();
    assert_eq!(
        macros(
            got["macros"]
                .as_array()
                .expect("macros")
                .iter()
                .map(|m| (field(m, "macro"), field(m, "value")))
                .collect()
        ),
        macros(
            seq(&tpl["macros"])
                .iter()
                .map(|m| (text(&m["macro"]), text(&m["value"])))
                .collect()
        ),
        "macros"
    );
    let mapping = |name: String, pairs: Vec<(String, String)>| {
        (name, pairs.into_iter().collect::<BTreeMap<_, _>>())
    };
    let api_maps: BTreeMap<String, BTreeMap<String, String>> = got["valuemaps"]
        .as_array()
        .expect("value maps")
        .iter()
        .map(|m| {
            mapping(
                field(m, "name"),
                m["mappings"]
                    .as_array()
                    .expect("mappings")
                    .iter()
                    .map(|p| (field(p, "value"), field(p, "newvalue")))
                    .collect(),
            )
        })
        .collect();
    let yaml_maps: BTreeMap<String, BTreeMap<String, String>> = seq(&tpl["valuemaps"])
        .iter()
        .map(|m| {
            mapping(
                text(&m["name"]),
                seq(&m["mappings"])
                    .iter()
                    .map(|p| (text(&p["value"]), text(&p["newvalue"])))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(api_maps, yaml_maps, "value maps");

    Stored {
        id,
        items: api_items.len(),
        triggers: api_triggers.len(),
        rules: api_rules.len(),
        prototypes: prototypes.len(),
    }
}

#[test]
fn template_imports_into_real_zabbix_6_0() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("tempdir");
    let sb = SandboxGuard::new(
        sandbox::up(&UpOptions {
            dir: tmp.path().join("sb"),
            nodes: 1,
        })
        .expect("sandbox up"),
    );
    let socket = sb.socket("node1").expect("socket");
    let db_port = sb.mysql_port("node1").expect("port");

    // The database and its user as the package's README.Debian describes; the password only
    // travels on the client's stdin and into the 0600 frontend configuration.
    let password = random_password();
    sb.sql(
        "node1",
        &format!(
            "CREATE DATABASE zabbix CHARACTER SET utf8mb4 COLLATE utf8mb4_bin; \
             CREATE USER 'zabbix'@'127.0.0.1' IDENTIFIED BY '{password}'; \
             CREATE USER 'zabbix'@'localhost' IDENTIFIED BY '{password}'; \
             GRANT ALL ON zabbix.* TO 'zabbix'@'127.0.0.1'; \
             GRANT ALL ON zabbix.* TO 'zabbix'@'localhost';"
        ),
    )
    .expect("create the zabbix database and user");
    // data.sql is ~130,000 single-row INSERTs in one transaction (~16 s on 2 cores), bound by
    // the server's per-statement CPU: a 256 MB redo log and buffer pool, foreign_key_checks=0
    // or wsrep_on=OFF for the session gained nothing reliable, so the files go in unchanged.
    for file in ["schema.sql.gz", "images.sql.gz", "data.sql.gz"] {
        let took = import_sql(&socket, file);
        eprintln!("imported {file} in {:.1} s", took.as_secs_f64());
    }

    let root = install_frontend(tmp.path(), db_port, &password);
    let port = common::free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    let log = fs::File::create(tmp.path().join("php.log")).expect("php log");
    let php = ChildGuard::spawn(
        "php (Debian package php8.2-cli)",
        Command::new("php")
            .arg("-S")
            .arg(addr.to_string())
            .arg("-t")
            .arg(&root)
            .current_dir(&root)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log),
    );
    let wait_start = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            wait_start.elapsed() < Duration::from_secs(15),
            "php -S not listening on {addr}: {}",
            fs::read_to_string(tmp.path().join("php.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut api = Api {
        addr,
        auth: None,
        log: tmp.path().join("php.log"),
    };
    let version = api.ok("apiinfo.version", json!({}));
    let version = version.as_str().expect("version string").to_string();
    assert!(
        version.starts_with("6.0."),
        "the template's export format is 6.0, the API is {version}"
    );
    let token = api.ok(
        "user.login",
        json!({"username": "Admin", "password": "zabbix"}),
    );
    api.auth = Some(token.as_str().expect("session id").to_string());

    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("nagios/zabbix/template_galera_quorate.yaml");
    let source = fs::read_to_string(&path).expect("template");
    let yaml: Yaml = serde_yaml_ng::from_str(&source).expect("template is YAML");
    let tpl = &yaml["zabbix_export"]["templates"][0];
    assert_eq!(text(&tpl["template"]), TEMPLATE_NAME);

    // The import can fail: broken copies are refused, naming the defect, and leave nothing.
    let master = "          master_item:\n            key: 'quorate.cluster'\n";
    assert!(
        source.contains(master),
        "a dependent item of quorate.cluster"
    );
    let no_master = source.replacen(
        master,
        "          master_item:\n            key: 'quorate.no.such.master'\n",
        1,
    );
    let err = import(&api, &no_master).expect_err("a dependent item without its master");
    assert!(
        err["data"]
            .as_str()
            .is_some_and(|d| d.contains("master_itemid") && d.contains("quorate.no.such.master")),
        "{err}"
    );
    let name_line = format!("      template: '{TEMPLATE_NAME}'\n");
    assert!(source.contains(&name_line));
    let unknown_field = source.replacen(
        &name_line,
        &format!("{name_line}      no_such_field: 1\n"),
        1,
    );
    let err = import(&api, &unknown_field).expect_err("an unknown field");
    assert!(
        err["data"]
            .as_str()
            .is_some_and(|d| d.contains("unexpected tag \"no_such_field\"")),
        "{err}"
    );
    let found = api.ok(
        "template.get",
        json!({"filter": {"host": TEMPLATE_NAME}, "output": ["templateid"]}),
    );
    assert_eq!(found, json!([]), "a refused import left a template behind");

    let import_start = Instant::now();
    let result = import(&api, &source).unwrap_or_else(|e| panic!("import refused: {e}"));
    assert_eq!(result, json!(true));
    eprintln!(
        "configuration.import took {:.1} s",
        import_start.elapsed().as_secs_f64()
    );
    // Importing the same file again updates it in place.
    assert_eq!(import(&api, &source), Ok(json!(true)));

    let stored = assert_stored_as_declared(&api, tpl);
    eprintln!("Zabbix {version}, {TEMPLATE_NAME}: {stored}");

    // The variant without the agent: HTTP agent items on quorate serve's /metrics with
    // Prometheus preprocessing. Imported beside the first (no uuid, key or value map clash).
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("nagios/zabbix/template_galera_quorate_http.yaml");
    let source = fs::read_to_string(&path).expect("HTTP template");
    let yaml: Yaml = serde_yaml_ng::from_str(&source).expect("HTTP template is YAML");
    let http = &yaml["zabbix_export"]["templates"][0];
    assert_eq!(text(&http["template"]), HTTP_TEMPLATE_NAME);
    // Its Prometheus steps can fail too: a pattern Zabbix cannot parse is refused.
    let pattern = "                - 'mysql_up'\n";
    assert!(source.contains(pattern), "the mysql_up pattern");
    let bad = source.replacen(pattern, "                - 'mysql_up{'\n", 1);
    let err = import(&api, &bad).expect_err("an invalid Prometheus pattern");
    assert!(
        err["data"]
            .as_str()
            .is_some_and(|d| d.contains("invalid Prometheus pattern")),
        "{err}"
    );
    assert_eq!(import(&api, &source), Ok(json!(true)), "the HTTP template");
    assert_eq!(
        import(&api, &source),
        Ok(json!(true)),
        "the HTTP template again"
    );
    let stored = assert_stored_as_declared(&api, http);
    // What makes it agentless: one HTTP agent master item on /metrics (type 19), every
    // other item and every discovery rule dependent on it with one Prometheus step.
    let master = api.ok(
        "item.get",
        json!({"templateids": [stored.id], "filter": {"key_": "quorate.metrics"},
               "output": ["type", "url"]}),
    );
    assert_eq!(master[0]["type"], json!("19"), "{master}");
    assert_eq!(
        master[0]["url"],
        json!("{$QUORATE.SCHEME}://{HOST.CONN}:{$QUORATE.PORT}/metrics")
    );
    for (method, step, what) in [
        ("item.get", "22", "items"),
        ("itemprototype.get", "22", "item prototypes"),
        ("discoveryrule.get", "23", "discovery rules"),
    ] {
        let found = api.ok(
            method,
            json!({"templateids": [stored.id], "output": ["key_", "type"],
                   "selectPreprocessing": ["type", "params"]}),
        );
        let found = found.as_array().expect(what);
        assert!(!found.is_empty(), "no {what}");
        for i in found
            .iter()
            .filter(|i| i["key_"] != json!("quorate.metrics"))
        {
            assert_eq!(i["type"], json!("18"), "{what}: not dependent: {i}");
            let steps = i["preprocessing"].as_array().expect("preprocessing");
            assert!(
                steps.iter().any(|p| p["type"] == json!(step)),
                "{what}: no Prometheus step {step}: {i}"
            );
        }
    }
    eprintln!(
        "Zabbix {version}, {HTTP_TEMPLATE_NAME}: {stored}; {:.1} s in all",
        started.elapsed().as_secs_f64()
    );

    zabbix_server_reads_a_dependent_item(&api, &sb, &stored.id, tmp.path(), db_port, &password);
    drop(php);
    sb.down().expect("sandbox down");
}
