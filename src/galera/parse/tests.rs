//! Unit tests on fixtures captured from a real MariaDB 10.11 / Galera 26.4 cluster
//! (`tests/fixtures/wsrep/README.md` says how each was made) plus hand-written variants.

use super::*;

macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!("../../../tests/fixtures/wsrep/", $path))
    };
}

macro_rules! fixture_bytes {
    ($path:literal) => {
        include_bytes!(concat!("../../../tests/fixtures/wsrep/", $path))
    };
}

/// Reads `mariadb -N -B` output: one `name<TAB>value` row per line.
fn tsv_rows(text: &str) -> Vec<(String, String)> {
    parse_name_value_rows(text)
}

fn status(text: &str) -> WsrepStatus {
    WsrepStatus::from_rows(tsv_rows(text))
}

fn variables(text: &str) -> WsrepVariables {
    WsrepVariables::from_rows(tsv_rows(text))
}

const CLUSTER_1: &str = "08caff5b-e611-11f1-b6a3-f2788dfdebd7";
const CLUSTER_2: &str = "86180498-e611-11f1-a500-7e32caef9f19";

// ---------------------------------------------------------------------------------------
// test helper

#[test]
fn batch_unescape_handles_every_escape() {
    assert_eq!(unescape_batch_field(r"a\tb\nc\\d\0e"), "a\tb\nc\\d\0e");
    assert_eq!(unescape_batch_field(r"trailing\"), "trailing\\");
    assert_eq!(unescape_batch_field(r"\x"), "\\x");
    assert_eq!(
        tsv_rows("wsrep_incoming_addresses\t\nx\ty\n"),
        vec![
            ("wsrep_incoming_addresses".to_string(), String::new()),
            ("x".to_string(), "y".to_string())
        ]
    );
}

// ---------------------------------------------------------------------------------------
// status fixtures

#[test]
fn flow_control_counter_and_queues() {
    let s = status(fixture!("status/flow-control-active.tsv"));
    assert_eq!(s.flow_control_paused_ns(), Some(903_176_944));
    let s = status(fixture!("status/joining.tsv"));
    assert_eq!(s.local_recv_queue(), Some(1096));
    assert_eq!(s.local_send_queue(), Some(0));
    assert_eq!(WsrepStatus::default().flow_control_paused_ns(), None);
}

#[test]
fn synced_node() {
    let s = status(fixture!("status/synced.tsv"));
    assert_eq!(s.len(), 74);
    assert_eq!(s.cluster_status(), Some(ClusterStatus::Primary));
    assert_eq!(s.local_state(), Some(LocalState::Synced));
    assert_eq!(s.local_state_comment(), Some("Synced"));
    assert_eq!(s.ready(), Some(true));
    assert_eq!(s.connected(), Some(true));
    assert_eq!(s.cluster_size(), Some(3));
    assert_eq!(s.cluster_state_uuid().as_deref(), Some(CLUSTER_1));
    assert_eq!(s.local_state_uuid().as_deref(), Some(CLUSTER_1));
    assert_eq!(
        s.gcomm_uuid().as_deref(),
        Some("08ca87bf-e611-11f1-815a-37df1adacffc")
    );
    assert_eq!(s.last_committed(), Some(26));
    assert_eq!(s.cluster_conf_id(), Some(3));
    assert_eq!(s.flow_control_active(), Some(false));
    assert_eq!(s.flow_control_requested(), Some(false));
    assert_eq!(s.incoming_addresses(), vec!["AUTO", "AUTO", "AUTO"]);
    assert_eq!(
        s.evs_repl_latency(),
        Some(EvsReplLatency {
            min: 0.000259641,
            avg: 0.0671366,
            max: 1.0006,
            stdev: 0.249478,
            sample_size: 15,
        })
    );
    assert_eq!(s.provider_version(), Some("4.23(rXXXX)"));
    // Case-insensitive lookup, raw values kept.
    assert_eq!(s.get("WSREP_CLUSTER_STATUS"), Some("Primary"));
    assert_eq!(s.get("wsrep_cert_deps_distance"), Some("10.1304"));
    assert_eq!(s.get("wsrep_evs_delayed"), Some(""));
    assert_eq!(
        s.get("wsrep_provider_capabilities"),
        Some(":MULTI_MASTER:CERTIFICATION:PARALLEL_APPLYING:TRX_REPLAY:ISOLATION:PAUSE:CAUSAL_READS:INCREMENTAL_WRITESET:UNORDERED:PREORDERED:STREAMING:NBO:")
    );
    // iter() is in name order and yields everything.
    let names: Vec<&str> = s.iter().map(|(n, _)| n).collect();
    assert_eq!(names.len(), 74);
    assert_eq!(names.first(), Some(&"wsrep_applier_thread_count"));
    assert_eq!(names.last(), Some(&"wsrep_thread_count"));
    assert!(names.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn synced_node_with_one_explicit_incoming_address() {
    let s = status(fixture!("status/synced-mixed-incoming.tsv"));
    assert_eq!(s.local_state(), Some(LocalState::Synced));
    assert_eq!(
        s.incoming_addresses(),
        vec!["AUTO", "AUTO", "127.0.0.1:24013"]
    );
    assert_eq!(s.last_committed(), Some(33));
}

#[test]
fn desynced_by_wsrep_desync() {
    let s = status(fixture!("status/donor-desync.tsv"));
    assert_eq!(s.cluster_status(), Some(ClusterStatus::Primary));
    assert_eq!(s.local_state(), Some(LocalState::DonorDesynced));
    assert_eq!(s.local_state_comment(), Some("Donor/Desynced"));
    assert_eq!(s.ready(), Some(true));
    assert_eq!(s.get("wsrep_desync_count"), Some("1"));
    assert_eq!(s.last_committed(), Some(27));
}

#[test]
fn donor_during_rsync_sst() {
    let s = status(fixture!("status/donor-sst.tsv"));
    assert_eq!(s.local_state(), Some(LocalState::DonorDesynced));
    assert_eq!(s.local_state_comment(), Some("Donor/Desynced"));
    assert_eq!(s.cluster_size(), Some(3));
    assert_eq!(s.ready(), Some(true));
    assert_eq!(s.cluster_conf_id(), Some(5));
}

#[test]
fn joiner_receiving_sst() {
    let s = status(fixture!("status/joining-receiving-sst.tsv"));
    assert_eq!(s.cluster_status(), Some(ClusterStatus::Primary));
    assert_eq!(s.local_state(), Some(LocalState::Joining));
    assert_eq!(
        s.local_state_comment(),
        Some("Joining: receiving State Transfer")
    );
    assert_eq!(s.ready(), Some(false));
    assert_eq!(s.connected(), Some(true));
    assert_eq!(s.cluster_size(), Some(3));
    assert_eq!(s.last_committed(), Some(33));
}

#[test]
fn joiner_after_ist() {
    let s = status(fixture!("status/joining.tsv"));
    assert_eq!(s.local_state(), Some(LocalState::Joining));
    assert_eq!(s.local_state_comment(), Some("Joining"));
    assert_eq!(s.ready(), Some(false));
    assert_eq!(s.get("wsrep_local_recv_queue"), Some("1096"));
    assert_eq!(s.last_committed(), Some(10477));
}

#[test]
fn joined_catching_up() {
    let s = status(fixture!("status/joined.tsv"));
    assert_eq!(s.local_state(), Some(LocalState::Joined));
    assert_eq!(s.local_state_comment(), Some("Joined"));
    assert_eq!(s.ready(), Some(true));
    assert_eq!(s.last_committed(), Some(11859));
}

#[test]
fn non_primary_survivor() {
    let s = status(fixture!("status/non-primary.tsv"));
    assert_eq!(s.cluster_status(), Some(ClusterStatus::NonPrimary));
    assert_eq!(s.local_state(), Some(LocalState::Initialized));
    assert_eq!(s.local_state_comment(), Some("Initialized"));
    assert_eq!(s.ready(), Some(false));
    assert_eq!(s.connected(), Some(true));
    assert_eq!(s.cluster_size(), Some(1));
    // Printed as 18446744073709551615 when there is no Primary view.
    assert_eq!(s.get("wsrep_cluster_conf_id"), Some("18446744073709551615"));
    assert_eq!(s.cluster_conf_id(), Some(-1));
    assert_eq!(s.last_committed(), Some(63356));
    assert_eq!(s.incoming_addresses(), vec!["AUTO"]);
    assert_eq!(
        s.evs_repl_latency(),
        Some(EvsReplLatency {
            min: 4.116e-06,
            avg: 4.116e-06,
            max: 4.116e-06,
            stdev: 0.0,
            sample_size: 1,
        })
    );
}

#[test]
fn disconnected_node() {
    let s = status(fixture!("status/disconnected.tsv"));
    assert_eq!(s.len(), 66);
    assert_eq!(s.cluster_status(), Some(ClusterStatus::Disconnected));
    assert_eq!(s.local_state(), Some(LocalState::Initialized));
    assert_eq!(s.ready(), Some(false));
    assert_eq!(s.connected(), Some(false));
    assert_eq!(s.cluster_size(), Some(0));
    assert_eq!(s.cluster_conf_id(), Some(-1));
    assert_eq!(s.cluster_state_uuid().as_deref(), Some(CLUSTER_2));
    // Empty string, not a list with one empty entry.
    assert_eq!(s.get("wsrep_incoming_addresses"), Some(""));
    assert_eq!(s.incoming_addresses(), Vec::<String>::new());
    // The EVS rows are not there at all when disconnected.
    assert_eq!(s.get("wsrep_evs_repl_latency"), None);
    assert_eq!(s.evs_repl_latency(), None);
    assert_eq!(s.gcomm_uuid(), None);
}

#[test]
fn flow_control_flags_are_galera4_true_false() {
    let requesting = status(fixture!("status/flow-control-requested.tsv"));
    assert_eq!(requesting.get("wsrep_flow_control_active"), Some("true"));
    assert_eq!(requesting.flow_control_active(), Some(true));
    assert_eq!(requesting.flow_control_requested(), Some(true));
    assert_eq!(requesting.local_state(), Some(LocalState::Synced));
    // Scientific notation in a real latency figure.
    assert_eq!(
        requesting.evs_repl_latency(),
        Some(EvsReplLatency {
            min: 9.7105e-05,
            avg: 0.000768275,
            max: 0.00795407,
            stdev: 0.000573435,
            sample_size: 2672,
        })
    );

    let paused = status(fixture!("status/flow-control-active.tsv"));
    assert_eq!(paused.flow_control_active(), Some(true));
    assert_eq!(paused.flow_control_requested(), Some(false));
    assert_eq!(paused.get("wsrep_flow_control_recv"), Some("1208"));
    // mysqld_exporter cannot read these flags; our mapping keeps them out too.
    assert_eq!(
        status_value_as_f64(paused.get("wsrep_flow_control_active").unwrap_or("")),
        None
    );
    assert_eq!(
        status_value_as_f64(paused.get("wsrep_flow_control_paused").unwrap_or("")),
        Some(0.00618214)
    );
}

#[test]
fn every_status_fixture_maps_to_a_known_state() {
    let cases: [(&str, LocalState, ClusterStatus); 11] = [
        (
            fixture!("status/synced.tsv"),
            LocalState::Synced,
            ClusterStatus::Primary,
        ),
        (
            fixture!("status/synced-mixed-incoming.tsv"),
            LocalState::Synced,
            ClusterStatus::Primary,
        ),
        (
            fixture!("status/donor-desync.tsv"),
            LocalState::DonorDesynced,
            ClusterStatus::Primary,
        ),
        (
            fixture!("status/donor-sst.tsv"),
            LocalState::DonorDesynced,
            ClusterStatus::Primary,
        ),
        (
            fixture!("status/joining-receiving-sst.tsv"),
            LocalState::Joining,
            ClusterStatus::Primary,
        ),
        (
            fixture!("status/joining.tsv"),
            LocalState::Joining,
            ClusterStatus::Primary,
        ),
        (
            fixture!("status/joined.tsv"),
            LocalState::Joined,
            ClusterStatus::Primary,
        ),
        (
            fixture!("status/non-primary.tsv"),
            LocalState::Initialized,
            ClusterStatus::NonPrimary,
        ),
        (
            fixture!("status/disconnected.tsv"),
            LocalState::Initialized,
            ClusterStatus::Disconnected,
        ),
        (
            fixture!("status/flow-control-requested.tsv"),
            LocalState::Synced,
            ClusterStatus::Primary,
        ),
        (
            fixture!("status/flow-control-active.tsv"),
            LocalState::Synced,
            ClusterStatus::Primary,
        ),
    ];
    for (text, state, cluster) in cases {
        let s = status(text);
        assert_eq!(s.local_state(), Some(state));
        assert_eq!(s.cluster_status(), Some(cluster));
        assert_eq!(s.provider_version(), Some("4.23(rXXXX)"));
        // The state number and the comment agree (Joining has several comments).
        let comment = s.local_state_comment().unwrap_or("");
        assert!(comment.starts_with(state.label()), "{comment} vs {state:?}");
    }
}

#[test]
fn status_from_rows_folds_names_and_keeps_last_duplicate() {
    let s = WsrepStatus::from_rows([
        ("WSREP_Local_State", "2"),
        ("wsrep_local_state", "4"),
        ("Wsrep_Cluster_Status", "PRIMARY"),
    ]);
    assert_eq!(s.len(), 2);
    assert_eq!(s.local_state(), Some(LocalState::Synced));
    assert_eq!(s.get("wsrep_cluster_status"), Some("PRIMARY"));
    assert_eq!(s.cluster_status(), Some(ClusterStatus::Primary));
    assert_eq!(
        s.iter().collect::<Vec<_>>(),
        vec![
            ("wsrep_cluster_status", "PRIMARY"),
            ("wsrep_local_state", "4")
        ]
    );
    // Owned strings work as rows too.
    let owned = WsrepStatus::from_rows(vec![(String::from("a"), String::from("b"))]);
    assert_eq!(owned.get("A"), Some("b"));
}

#[test]
fn status_accessors_on_missing_or_bad_values() {
    let empty = WsrepStatus::from_rows(Vec::<(String, String)>::new());
    assert!(empty.is_empty());
    assert_eq!(empty.cluster_status(), None);
    assert_eq!(empty.local_state(), None);
    assert_eq!(empty.ready(), None);
    assert_eq!(empty.cluster_size(), None);
    assert_eq!(empty.last_committed(), None);
    assert_eq!(empty.incoming_addresses(), Vec::<String>::new());
    assert_eq!(empty.evs_repl_latency(), None);

    let bad = WsrepStatus::from_rows([
        ("wsrep_local_state", "7"),
        ("wsrep_cluster_status", "Weird"),
        ("wsrep_ready", "maybe"),
        ("wsrep_cluster_size", "-1"),
        ("wsrep_last_committed", "x"),
        ("wsrep_cluster_state_uuid", "not-a-uuid"),
        ("wsrep_incoming_addresses", " 10.0.0.1:3306 ,,AUTO"),
    ]);
    assert_eq!(bad.local_state(), None);
    assert_eq!(
        bad.cluster_status(),
        Some(ClusterStatus::Other("Weird".to_string()))
    );
    assert_eq!(bad.ready(), None);
    assert_eq!(bad.cluster_size(), None);
    assert_eq!(bad.last_committed(), None);
    assert_eq!(bad.cluster_state_uuid(), None);
    assert_eq!(bad.incoming_addresses(), vec!["10.0.0.1:3306", "", "AUTO"]);

    let minus_one = WsrepStatus::from_rows([("wsrep_last_committed", "-1")]);
    assert_eq!(minus_one.last_committed(), Some(-1));
}

#[test]
fn cluster_status_and_local_state_round_trip() {
    assert_eq!(
        ClusterStatus::parse("non-Primary"),
        ClusterStatus::NonPrimary
    );
    assert_eq!(
        ClusterStatus::parse("Disconnected").as_str(),
        "Disconnected"
    );
    assert_eq!(ClusterStatus::NonPrimary.as_str(), "non-Primary");
    assert_eq!(ClusterStatus::Other("x".into()).as_str(), "x");
    for n in 0..=4 {
        let state = LocalState::from_number(n).expect("0..=4 are states");
        assert_eq!(state.number(), n);
    }
    assert_eq!(LocalState::from_number(2), Some(LocalState::DonorDesynced));
    assert_eq!(LocalState::DonorDesynced.label(), "Donor/Desynced");
    assert_eq!(LocalState::from_number(-1), None);
    assert_eq!(LocalState::from_number(5), None);
}

// ---------------------------------------------------------------------------------------
// value mapping

#[test]
fn exporter_value_mapping_table() {
    let table: &[(&str, Option<f64>)] = &[
        ("ON", Some(1.0)),
        ("on", Some(1.0)),
        ("OFF", Some(0.0)),
        ("yes", Some(1.0)),
        ("YES", Some(1.0)),
        ("No", Some(0.0)),
        ("Primary", Some(1.0)),
        ("non-Primary", Some(0.0)),
        ("NON-PRIMARY", Some(0.0)),
        ("Disconnected", Some(0.0)),
        ("0", Some(0.0)),
        ("3", Some(3.0)),
        ("-1", Some(-1.0)),
        ("10.1304", Some(10.1304)),
        ("1e-05", Some(1e-05)),
        ("1.42823e-05", Some(1.42823e-05)),
        ("18446744073709551615", Some(18446744073709551615.0)),
        ("true", None),
        ("false", None),
        ("Synced", None),
        ("Donor/Desynced", None),
        ("AUTO,AUTO,AUTO", None),
        ("0.000259641/0.0671366/1.0006/0.249478/15", None),
        ("4.23(rXXXX)", None),
        ("", None),
        (" 1", None),
        ("NaN", None),
        ("inf", None),
        ("1e999", None),
        ("garbage", None),
    ];
    for (input, expected) in table {
        assert_eq!(status_value_as_f64(input), *expected, "input {input:?}");
    }
}

#[test]
fn bool_flag_table() {
    let table: &[(&str, Option<bool>)] = &[
        ("true", Some(true)),
        ("false", Some(false)),
        ("TRUE", Some(true)),
        ("ON", Some(true)),
        ("off", Some(false)),
        ("Yes", Some(true)),
        ("NO", Some(false)),
        ("1", None),
        ("0", None),
        ("", None),
        ("Primary", None),
        ("truthy", None),
    ];
    for (input, expected) in table {
        assert_eq!(bool_flag(input), *expected, "input {input:?}");
    }
}

#[test]
fn every_numeric_looking_status_value_maps() {
    // On the synced fixture, every value is either mapped or clearly textual: spot-check
    // the classes mysqld_exporter exports.
    let s = status(fixture!("status/synced.tsv"));
    let mapped: Vec<(&str, f64)> = s
        .iter()
        .filter_map(|(n, v)| status_value_as_f64(v).map(|f| (n, f)))
        .collect();
    assert!(mapped.contains(&("wsrep_cluster_status", 1.0)));
    assert!(mapped.contains(&("wsrep_ready", 1.0)));
    assert!(mapped.contains(&("wsrep_local_state", 4.0)));
    assert!(mapped.contains(&("wsrep_local_recv_queue_avg", 0.125)));
    let unmapped: Vec<&str> = s
        .iter()
        .filter(|(_, v)| status_value_as_f64(v).is_none())
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        unmapped,
        vec![
            "wsrep_checkpoint_position",
            "wsrep_cluster_capabilities",
            "wsrep_cluster_state_uuid",
            "wsrep_evs_delayed",
            "wsrep_evs_evict_list",
            "wsrep_evs_repl_latency",
            "wsrep_evs_state",
            "wsrep_flow_control_active",
            "wsrep_flow_control_requested",
            "wsrep_gcomm_uuid",
            "wsrep_incoming_addresses",
            "wsrep_local_state_comment",
            "wsrep_local_state_uuid",
            "wsrep_provider_capabilities",
            "wsrep_provider_name",
            "wsrep_provider_vendor",
            "wsrep_provider_version",
            "wsrep_se_checkpoint",
        ]
    );
}

// ---------------------------------------------------------------------------------------
// EVS latency

#[test]
fn evs_latency_good() {
    assert_eq!(
        EvsReplLatency::parse("0.000167374/0.000283963/0.000497925/8.72456e-05/12"),
        Some(EvsReplLatency {
            min: 0.000167374,
            avg: 0.000283963,
            max: 0.000497925,
            stdev: 8.72456e-05,
            sample_size: 12,
        })
    );
    assert_eq!(
        EvsReplLatency::parse("0/0/0/0/0"),
        Some(EvsReplLatency {
            min: 0.0,
            avg: 0.0,
            max: 0.0,
            stdev: 0.0,
            sample_size: 0,
        })
    );
    // From the stall experiment described in the README (max in seconds after 2.5 s).
    let stalled = EvsReplLatency::parse("0.000259641/0.218883/2.49507/0.635415/16");
    assert_eq!(stalled.map(|l| l.max), Some(2.49507));
}

#[test]
fn evs_latency_malformed() {
    for bad in [
        "",
        "0.1/0.2/0.3/0.4",
        "0.1/0.2/0.3/0.4/5/6",
        "0.1/0.2/0.3/0.4/-5",
        "0.1/0.2/0.3/0.4/5.5",
        "a/0.2/0.3/0.4/5",
        "0.1/0.2/0.3/NaN/5",
        "-0.1/0.2/0.3/0.4/5",
        "0.1/inf/0.3/0.4/5",
        "0.1//0.3/0.4/5",
        "0.1/0.2/0.3/0.4/",
        "0.1 0.2 0.3 0.4 5",
    ] {
        assert_eq!(EvsReplLatency::parse(bad), None, "input {bad:?}");
    }
}

// ---------------------------------------------------------------------------------------
// variables, provider options, gcache size

#[test]
fn variables_of_a_synced_node() {
    let v = variables(fixture!("variables/synced.tsv"));
    assert_eq!(v.desync(), Some(false));
    assert_eq!(v.read_only(), Some(false));
    assert_eq!(v.cluster_name(), Some("capture"));
    assert_eq!(v.node_name(), Some("node1"));
    assert_eq!(
        v.cluster_address(),
        Some("gcomm://127.0.0.1:24021,127.0.0.1:24022,127.0.0.1:24023")
    );
    assert_eq!(v.reject_queries(), Some("NONE"));
    assert_eq!(v.sst_donor_rejects_queries(), Some(false));
    assert_eq!(v.get("wsrep_sst_method"), Some("rsync"));
    assert_eq!(v.gcache_size_bytes(), Some(32 * 1024 * 1024));

    let opts = v.provider_options();
    assert_eq!(opts.len(), 72);
    assert_eq!(opts.get("gcache.size").map(String::as_str), Some("32M"));
    assert_eq!(
        opts.get("gmcast.listen_addr").map(String::as_str),
        Some("tcp://127.0.0.1:24021")
    );
    assert_eq!(
        opts.get("base_dir").map(String::as_str),
        Some("/tmp/capture-parse/n1/data/")
    );
    assert_eq!(opts.get("pc.recovery").map(String::as_str), Some("true"));
    assert_eq!(
        opts.get("evs.suspect_timeout").map(String::as_str),
        Some("PT5S")
    );
    // Empty values are kept.
    assert_eq!(opts.get("gcomm.thread_prio").map(String::as_str), Some(""));
    assert_eq!(opts.get("gmcast.mcast_addr").map(String::as_str), Some(""));
    // The trailing "; " does not produce a bogus entry.
    assert_eq!(
        opts.keys().last().map(String::as_str),
        Some("socket.send_buf_size")
    );
}

#[test]
fn variables_with_desync_on() {
    let v = variables(fixture!("variables/desync-on.tsv"));
    assert_eq!(v.desync(), Some(true));
    assert_eq!(v.node_name(), Some("node2"));
    assert_eq!(v.read_only(), Some(false));
    assert_eq!(v.gcache_size_bytes(), Some(33_554_432));
}

#[test]
fn variables_of_a_non_primary_node() {
    let v = variables(fixture!("variables/non-primary.tsv"));
    assert_eq!(v.desync(), Some(false));
    assert_eq!(v.node_name(), Some("node1"));
    assert_eq!(v.cluster_name(), Some("capture"));
    assert_eq!(v.gcache_size_bytes(), Some(33_554_432));
}

#[test]
fn variables_missing_rows() {
    let v = WsrepVariables::from_rows([("READ_ONLY", "ON")]);
    assert_eq!(v.read_only(), Some(true));
    assert_eq!(v.desync(), None);
    assert_eq!(v.cluster_name(), None);
    assert!(v.provider_options().is_empty());
    assert_eq!(v.gcache_size_bytes(), None);

    let garbage = WsrepVariables::from_rows([(
        "wsrep_provider_options",
        "gcache.size = 1.5G; gcache.page_size = 128M",
    )]);
    assert_eq!(garbage.gcache_size_bytes(), None);
}

#[test]
fn provider_options_parsing() {
    let opts = parse_provider_options("a = 1; b = ; c=x=y;; novalue; = orphan; a = 2; ");
    let got: Vec<(&str, &str)> = opts.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(got, vec![("a", "2"), ("b", ""), ("c", "x=y")]);
    assert!(parse_provider_options("").is_empty());
    assert!(parse_provider_options(";;;").is_empty());
}

#[test]
fn galera_size_table() {
    let table: &[(&str, Option<u64>)] = &[
        // Accepted by Galera 26.4 (verified on the real server, see README).
        ("32M", Some(33_554_432)),
        ("32m", Some(33_554_432)),
        ("16777216", Some(16_777_216)),
        ("0x1000000", Some(16_777_216)),
        ("0X1000000", Some(16_777_216)),
        ("0x10m", Some(16_777_216)),
        ("020M", Some(16_777_216)),
        ("2k", Some(2048)),
        (" 16M", Some(16_777_216)),
        ("0", Some(0)),
        // Not verified on the server (too large to allocate here), same arithmetic.
        ("1G", Some(1 << 30)),
        ("1g", Some(1 << 30)),
        ("2T", Some(2 << 40)),
        ("128", Some(128)),
        ("+4K", Some(4096)),
        ("8388607T", Some(8_388_607 << 40)),
        // Rejected by Galera 26.4 (verified) or ours by definition.
        ("1.5M", None),
        ("1.5G", None),
        ("16MB", None),
        ("16 M", None),
        ("08M", None),
        ("-1M", None),
        ("", None),
        ("M", None),
        ("0x", None),
        ("0xM", None),
        ("garbage", None),
        // Overflow: above i64::MAX bytes, or above u64 entirely.
        ("8388608T", None),
        ("9223372036854775807", Some(9_223_372_036_854_775_807)),
        ("9223372036854775808", None),
        ("99999999999999999999", None),
    ];
    for (input, expected) in table {
        assert_eq!(parse_galera_size(input), *expected, "input {input:?}");
    }
}

// ---------------------------------------------------------------------------------------
// grastate.dat

fn grastate(text: &str) -> GraState {
    match parse_grastate(text) {
        Ok(g) => g,
        Err(e) => panic!("fixture should parse: {e}"),
    }
}

#[test]
fn grastate_running_node() {
    let g = grastate(fixture!("grastate/running.dat"));
    assert_eq!(
        g,
        GraState {
            version: Some("2.1".to_string()),
            uuid: CLUSTER_1.to_string(),
            seqno: -1,
            safe_to_bootstrap: false,
            safe_to_bootstrap_present: true,
        }
    );
    assert!(!g.seqno_known());
    assert!(!g.is_zero_uuid());
}

#[test]
fn grastate_clean_shutdown_in_order() {
    let last = grastate(fixture!("grastate/clean-last-stopped.dat"));
    assert_eq!(last.uuid, CLUSTER_2);
    assert_eq!(last.seqno, 35);
    assert!(last.seqno_known());
    assert!(last.safe_to_bootstrap);

    let second = grastate(fixture!("grastate/clean-second-stopped.dat"));
    assert_eq!(second.uuid, CLUSTER_2);
    assert_eq!(second.seqno, 34);
    assert!(!second.safe_to_bootstrap);

    // Real in-place rewrite with two padding spaces after the last newline.
    let text = fixture!("grastate/clean-first-stopped-padded.dat");
    assert!(text.ends_with("\n  "));
    let first = grastate(text);
    assert_eq!(first.uuid, CLUSTER_2);
    assert_eq!(first.seqno, 33);
    assert!(!first.safe_to_bootstrap);
    assert!(first.safe_to_bootstrap_present);
}

#[test]
fn grastate_after_crash() {
    for text in [
        fixture!("grastate/crashed.dat"),
        fixture!("grastate/crashed-padded.dat"),
    ] {
        let g = grastate(text);
        assert_eq!(g.uuid, CLUSTER_1);
        assert_eq!(g.seqno, -1);
        assert!(!g.seqno_known());
        assert!(!g.safe_to_bootstrap);
    }
}

#[test]
fn grastate_zero_uuid_with_safe_to_bootstrap() {
    // Real: written at clean shutdown by a cluster that pc.recovery re-formed from an
    // all-crash start without a recovered start position.
    let real = grastate(fixture!("grastate/zero-uuid-safe-after-pc-recovery.dat"));
    assert!(real.is_zero_uuid());
    assert_eq!(real.uuid, ZERO_UUID);
    assert_eq!(real.seqno, -1);
    assert!(real.safe_to_bootstrap);
    let hand = grastate(fixture!("grastate/hand-zero-uuid.dat"));
    assert_eq!(hand, real);
}

#[test]
fn grastate_without_safe_to_bootstrap_is_safe() {
    let g = grastate(fixture!("grastate/hand-no-safe-to-bootstrap.dat"));
    assert_eq!(g.seqno, 35);
    assert!(g.safe_to_bootstrap);
    assert!(!g.safe_to_bootstrap_present);
}

#[test]
fn grastate_trailing_spaces_and_padding() {
    let g = grastate(fixture!("grastate/hand-trailing-spaces.dat"));
    assert_eq!(g.version.as_deref(), Some("2.1"));
    assert_eq!(g.uuid, CLUSTER_2);
    assert_eq!(g.seqno, 35);
    assert!(g.safe_to_bootstrap);
    // CRLF line ends are padding too.
    let crlf = "version: 2.1\r\nuuid: 86180498-E611-11F1-A500-7E32CAEF9F19\r\nseqno: 7\r\n";
    let g = grastate(crlf);
    assert_eq!(g.uuid, CLUSTER_2, "uuid is lowercased");
    assert_eq!(g.seqno, 7);
    assert!(g.safe_to_bootstrap);
}

#[test]
fn grastate_unsigned_minus_one() {
    let g = grastate(fixture!("grastate/hand-seqno-unsigned-minus-one.dat"));
    assert_eq!(g.seqno, -1);
    assert!(!g.seqno_known());
}

#[test]
fn grastate_errors_name_the_field_and_value() {
    assert_eq!(
        parse_grastate(fixture!("grastate/hand-garbage-seqno.dat")),
        Err(GraStateError::Invalid {
            field: "seqno",
            value: "12abc".to_string(),
            reason: "not an integer",
        })
    );
    assert_eq!(
        parse_grastate(fixture!("grastate/hand-seqno-out-of-range.dat")),
        Err(GraStateError::Invalid {
            field: "seqno",
            value: "9223372036854775808".to_string(),
            reason: "out of the signed 64-bit range",
        })
    );
    assert_eq!(
        parse_grastate(fixture!("grastate/hand-missing-uuid.dat")),
        Err(GraStateError::Missing { field: "uuid" })
    );
    assert_eq!(
        parse_grastate(fixture!("grastate/hand-missing-seqno.dat")),
        Err(GraStateError::Missing { field: "seqno" })
    );
    assert_eq!(
        parse_grastate(fixture!("grastate/hand-bad-uuid.dat")),
        Err(GraStateError::Invalid {
            field: "uuid",
            value: "86180498-e611-11f1-a500-7e32caef9f1z".to_string(),
            reason: "not a UUID (expected 8-4-4-4-12 hex digits)",
        })
    );
    assert_eq!(
        parse_grastate(fixture!("grastate/hand-bad-safe-to-bootstrap.dat")),
        Err(GraStateError::Invalid {
            field: "safe_to_bootstrap",
            value: "yes".to_string(),
            reason: "expected 0 or 1",
        })
    );
    let message = parse_grastate(fixture!("grastate/hand-garbage-seqno.dat"))
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        message.as_deref(),
        Some("grastate.dat has an invalid `seqno:` value \"12abc\": not an integer")
    );
    assert_eq!(
        GraStateError::Missing { field: "uuid" }.to_string(),
        "grastate.dat has no `uuid:` line"
    );
}

#[test]
fn grastate_duplicate_keys_last_wins() {
    let g = grastate(fixture!("grastate/hand-duplicate-keys.dat"));
    assert_eq!(g.seqno, 42);
    assert!(g.safe_to_bootstrap);
}

/// Regression (issue #11): Galera's reader takes the first whitespace-separated token as the
/// key, so `seqno:100` is not a seqno line to Galera; reading it would trust a position Galera
/// itself never sees.
#[test]
fn grastate_key_without_space_after_colon_is_ignored_as_galera_does() {
    let u = "uuid: 86180498-e611-11f1-a500-7e32caef9f19\n";
    assert_eq!(
        parse_grastate(&format!("{u}seqno:100\n")),
        Err(GraStateError::Missing { field: "seqno" })
    );
    // The later, well-formed line is the one read; the glued one is skipped.
    assert_eq!(
        parse_grastate(&format!("{u}seqno:100\nseqno: 7\n")).map(|g| g.seqno),
        Ok(7)
    );
    // Tabs and several spaces after the colon are whitespace to Galera too.
    assert_eq!(
        parse_grastate("uuid:\t86180498-e611-11f1-a500-7e32caef9f19\nseqno:    9\n")
            .map(|g| g.seqno),
        Ok(9)
    );
    // A glued safe_to_bootstrap is not read: the default of an old file (1) applies, but
    // the file is then marked as having no such line.
    let g = parse_grastate(&format!("{u}seqno: 3\nsafe_to_bootstrap:0\n")).expect("valid");
    assert!(g.safe_to_bootstrap && !g.safe_to_bootstrap_present);
}

#[test]
fn grastate_odd_inputs_never_panic() {
    let uuid_line = "uuid: 86180498-e611-11f1-a500-7e32caef9f19\n";
    let cases: &[(&str, Result<i64, GraStateError>)] = &[
        ("", Err(GraStateError::Missing { field: "uuid" })),
        ("\0\0\0\0", Err(GraStateError::Missing { field: "uuid" })),
        (
            "uuid:\nseqno: 1\n",
            Err(GraStateError::Invalid {
                field: "uuid",
                value: String::new(),
                reason: "empty",
            }),
        ),
        (
            "seqno: 5 6\nuuid: 86180498-e611-11f1-a500-7e32caef9f19\n",
            Err(GraStateError::Invalid {
                field: "seqno",
                value: "5 6".to_string(),
                reason: "more than one value on the line",
            }),
        ),
        (
            "seqno: 1\0\nuuid: 86180498-e611-11f1-a500-7e32caef9f19\n",
            Err(GraStateError::Invalid {
                field: "seqno",
                value: "1\0".to_string(),
                reason: "not an integer",
            }),
        ),
        // A key Galera would not read is not read here either.
        (
            "UUID: 86180498-e611-11f1-a500-7e32caef9f19\nseqno: 1\n",
            Err(GraStateError::Missing { field: "uuid" }),
        ),
        (
            "# uuid: 86180498-e611-11f1-a500-7e32caef9f19\nseqno: 1\n",
            Err(GraStateError::Missing { field: "uuid" }),
        ),
        (
            "seqno: -9223372036854775808\nuuid: 86180498-e611-11f1-a500-7e32caef9f19\n",
            Ok(i64::MIN),
        ),
        (
            "seqno: +12\nuuid: 86180498-e611-11f1-a500-7e32caef9f19\n",
            Ok(12),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(
            parse_grastate(text).map(|g| g.seqno),
            *expected,
            "input {text:?}"
        );
    }
    // A huge garbage value is shortened in the error.
    let long = format!("{uuid_line}seqno: {}\n", "9".repeat(500));
    match parse_grastate(&long) {
        Err(GraStateError::Invalid { field, value, .. }) => {
            assert_eq!(field, "seqno");
            assert_eq!(value.len(), 67);
            assert!(value.ends_with("..."));
        }
        other => panic!("unexpected {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// gvwstate.dat

#[test]
fn gvwstate_running_node() {
    let g = match parse_gvwstate(fixture!("gvwstate/running.dat")) {
        Ok(g) => g,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        g,
        GvwState {
            my_uuid: "08ca87bf-e611-11f1-815a-37df1adacffc".to_string(),
            view_id: Some(ViewId {
                kind: 3,
                uuid: "08ca87bf-e611-11f1-815a-37df1adacffc".to_string(),
                seq: 9,
            }),
            bootstrap: false,
            members: vec![
                ("08ca87bf-e611-11f1-815a-37df1adacffc".to_string(), 0),
                ("10dcd053-e611-11f1-8889-fbdaa9602843".to_string(), 0),
                ("467a208a-e611-11f1-966b-52e5cd892b46".to_string(), 0),
            ],
        }
    );
    assert!(g.view_id.as_ref().is_some_and(ViewId::is_primary));
}

#[test]
fn gvwstate_other_node_same_view() {
    let mine = parse_gvwstate(fixture!("gvwstate/running.dat"));
    let other = parse_gvwstate(fixture!("gvwstate/running-other-node.dat"));
    match (mine, other) {
        (Ok(mine), Ok(other)) => {
            assert_eq!(other.my_uuid, "10dcd053-e611-11f1-8889-fbdaa9602843");
            assert_ne!(other.my_uuid, mine.my_uuid);
            assert_eq!(other.view_id, mine.view_id);
            assert_eq!(other.members, mine.members);
            assert!(other.members.iter().any(|(u, _)| *u == other.my_uuid));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn gvwstate_empty_is_an_error() {
    assert_eq!(
        parse_gvwstate(fixture!("gvwstate/hand-empty.dat")),
        Err(GvwStateError::Empty)
    );
    assert_eq!(parse_gvwstate(" \n\n\t"), Err(GvwStateError::Empty));
}

#[test]
fn gvwstate_garbage_and_truncation() {
    assert_eq!(
        parse_gvwstate(fixture!("gvwstate/hand-garbage.dat")),
        Err(GvwStateError::Missing { field: "my_uuid" })
    );
    assert_eq!(
        parse_gvwstate(fixture!("gvwstate/hand-truncated.dat")),
        Err(GvwStateError::Unterminated)
    );
    let cases: &[(&str, &str, &str)] = &[
        ("my_uuid: nope\n", "my_uuid", "not a UUID"),
        ("my_uuid:\n", "my_uuid", "expected exactly one UUID"),
        (
            "my_uuid: 08ca87bf-e611-11f1-815a-37df1adacffc\n#vwbeg\nview_id: 3 08ca87bf-e611-11f1-815a-37df1adacffc\n#vwend\n",
            "view_id",
            "expected <type> <uuid> <seq>",
        ),
        (
            "my_uuid: 08ca87bf-e611-11f1-815a-37df1adacffc\n#vwbeg\nview_id: 300 08ca87bf-e611-11f1-815a-37df1adacffc 1\n#vwend\n",
            "view_id",
            "view type is not a small integer",
        ),
        (
            "my_uuid: 08ca87bf-e611-11f1-815a-37df1adacffc\n#vwbeg\nview_id: 3 08ca87bf-e611-11f1-815a-37df1adacffc -1\n#vwend\n",
            "view_id",
            "view seq is not a 32-bit unsigned integer",
        ),
        (
            "my_uuid: 08ca87bf-e611-11f1-815a-37df1adacffc\n#vwbeg\nbootstrap: 2\n#vwend\n",
            "bootstrap",
            "expected 0 or 1",
        ),
        (
            "my_uuid: 08ca87bf-e611-11f1-815a-37df1adacffc\n#vwbeg\nmember: 08ca87bf-e611-11f1-815a-37df1adacffc\n#vwend\n",
            "member",
            "expected <uuid> <segment>",
        ),
        (
            "my_uuid: 08ca87bf-e611-11f1-815a-37df1adacffc\n#vwbeg\nmember: 08ca87bf-e611-11f1-815a-37df1adacffc x\n#vwend\n",
            "member",
            "segment is not an unsigned integer",
        ),
    ];
    for (text, want_field, want_reason) in cases {
        match parse_gvwstate(text) {
            Err(GvwStateError::Invalid { field, reason, .. }) => {
                assert_eq!(
                    (field, reason),
                    (*want_field, *want_reason),
                    "input {text:?}"
                );
            }
            other => panic!("input {text:?}: unexpected {other:?}"),
        }
    }
}

#[test]
fn gvwstate_lenient_where_galera_is() {
    // Member lines outside the view block are ignored, uppercase UUIDs are folded,
    // a file with no view block has no view.
    let text = "member: 10dcd053-e611-11f1-8889-fbdaa9602843 0\nmy_uuid: 08CA87BF-E611-11F1-815A-37DF1ADACFFC\n";
    assert_eq!(
        parse_gvwstate(text),
        Ok(GvwState {
            my_uuid: "08ca87bf-e611-11f1-815a-37df1adacffc".to_string(),
            view_id: None,
            bootstrap: false,
            members: Vec::new(),
        })
    );
    let bootstrapped = "my_uuid: 08ca87bf-e611-11f1-815a-37df1adacffc\r\n#vwbeg\r\nview_id: 3 08ca87bf-e611-11f1-815a-37df1adacffc 4294967295\r\nbootstrap: 1\r\nmember: 08ca87bf-e611-11f1-815a-37df1adacffc 2\r\n#vwend\r\n";
    match parse_gvwstate(bootstrapped) {
        Ok(g) => {
            assert!(g.bootstrap);
            assert_eq!(g.view_id.map(|v| v.seq), Some(4_294_967_295));
            assert_eq!(
                g.members,
                vec![("08ca87bf-e611-11f1-815a-37df1adacffc".to_string(), 2)]
            );
        }
        Err(e) => panic!("{e}"),
    }
}

// ---------------------------------------------------------------------------------------
// --wsrep-recover logs

#[test]
fn recover_after_crash() {
    assert_eq!(
        parse_recover_log(fixture_bytes!("recover/crash.log")),
        RecoveredPosition::Position {
            uuid: CLUSTER_1.to_string(),
            seqno: 63356,
            gtid: None,
        }
    );
}

#[test]
fn recover_after_crash_with_gtid() {
    assert_eq!(
        parse_recover_log(fixture_bytes!("recover/crash-gtid.log")),
        RecoveredPosition::Position {
            uuid: CLUSTER_1.to_string(),
            seqno: 63356,
            gtid: Some("0-1-63347".to_string()),
        }
    );
}

#[test]
fn recover_fresh_datadir() {
    assert_eq!(
        parse_recover_log(fixture_bytes!("recover/fresh-datadir.log")),
        RecoveredPosition::Position {
            uuid: ZERO_UUID.to_string(),
            seqno: -1,
            gtid: None,
        }
    );
}

#[test]
fn recover_disabled() {
    assert_eq!(
        parse_recover_log(fixture_bytes!("recover/disabled.log")),
        RecoveredPosition::Disabled
    );
}

#[test]
fn recover_given_at_startup() {
    assert_eq!(
        parse_recover_log(fixture_bytes!("recover/hand-given-at-startup.log")),
        RecoveredPosition::GivenAtStartup {
            uuid: ZERO_UUID.to_string(),
            seqno: -2,
        }
    );
}

#[test]
fn recover_prepared_transactions() {
    assert_eq!(
        parse_recover_log(fixture_bytes!("recover/hand-prepared-transactions.log")),
        RecoveredPosition::PreparedTransactions(2)
    );
}

#[test]
fn recover_mysql8_style() {
    assert_eq!(
        parse_recover_log(fixture_bytes!("recover/hand-mysql8-style.log")),
        RecoveredPosition::Position {
            uuid: CLUSTER_2.to_string(),
            seqno: 35,
            gtid: None,
        }
    );
}

#[test]
fn recover_not_found() {
    assert_eq!(
        parse_recover_log(fixture_bytes!("recover/no-outcome-startup-failed.log")),
        RecoveredPosition::NotFound
    );
    assert_eq!(parse_recover_log(b""), RecoveredPosition::NotFound);
}

#[test]
fn recover_last_run_wins() {
    // fresh-datadir.log followed by crash.log, as an appended --log-error file would be.
    assert_eq!(
        parse_recover_log(fixture_bytes!("recover/hand-two-runs.log")),
        RecoveredPosition::Position {
            uuid: CLUSTER_1.to_string(),
            seqno: 63356,
            gtid: None,
        }
    );
    let log = b"x [ERROR] Found 1 prepared transactions! ...\n\
                y [Note] WSREP: disabled, skipping position recovery\n";
    assert_eq!(parse_recover_log(log), RecoveredPosition::Disabled);
}

#[test]
fn recover_invalid_utf8_and_near_misses() {
    let mut log: Vec<u8> = b"garbage \xff\xfe\n".to_vec();
    log.extend_from_slice(
        b"2026-11-22  1:09:50 0 [Note] WSREP: Recovered position: \
          08CAFF5B-E611-11F1-B6A3-F2788DFDEBD7:17\xff\n",
    );
    // Lossy decoding turns the trailing byte into U+FFFD, which ends up inside the token.
    assert_eq!(parse_recover_log(&log), RecoveredPosition::NotFound);

    let mut log: Vec<u8> = b"\xc3\x28 bad utf8 first\n".to_vec();
    log.extend_from_slice(
        b"2026-11-22  1:09:50 0 [Note] WSREP: Recovered position: \
          08CAFF5B-E611-11F1-B6A3-F2788DFDEBD7:17\r\n",
    );
    assert_eq!(
        parse_recover_log(&log),
        RecoveredPosition::Position {
            uuid: CLUSTER_1.to_string(),
            seqno: 17,
            gtid: None,
        }
    );

    let near_misses: &[&[u8]] = &[
        // Normal-start message, not a recovery result.
        b"[Note] WSREP: Recovered position from storage: 08caff5b-e611-11f1-b6a3-f2788dfdebd7:5\n",
        // mysqld_safe's own notice has no colon.
        b"WSREP: Recovered position 08caff5b-e611-11f1-b6a3-f2788dfdebd7:5\n",
        // No WSREP marker.
        b"[Note] Recovered position: 08caff5b-e611-11f1-b6a3-f2788dfdebd7:5\n",
        // Malformed positions.
        b"[Note] WSREP: Recovered position: \n",
        b"[Note] WSREP: Recovered position: 08caff5b-e611-11f1-b6a3-f2788dfdebd7\n",
        b"[Note] WSREP: Recovered position: 08caff5b-e611-11f1-b6a3-f2788dfdebd7:x\n",
        b"[Note] WSREP: Recovered position: 08caff5b-e611-11f1-b6a3-f2788dfdebd7:5,0-1\n",
        b"[Note] WSREP: Recovered position: nope:5\n",
        b"[ERROR] Found many prepared transactions!\n",
        b"[Note] WSREP: Found saved state: 08caff5b-e611-11f1-b6a3-f2788dfdebd7:-1\n",
        b"[Note] WSREP: Position garbage given at startup, skipping position recovery\n",
    ];
    for log in near_misses {
        assert_eq!(
            parse_recover_log(log),
            RecoveredPosition::NotFound,
            "input {:?}",
            String::from_utf8_lossy(log)
        );
    }
}

// ---------------------------------------------------------------------------------------
// shared helpers

#[test]
fn uuid_validation() {
    assert_eq!(
        parse_uuid("08CAFF5B-E611-11F1-B6A3-F2788DFDEBD7").as_deref(),
        Some(CLUSTER_1)
    );
    assert_eq!(parse_uuid(ZERO_UUID).as_deref(), Some(ZERO_UUID));
    for bad in [
        "",
        "08caff5b-e611-11f1-b6a3-f2788dfdebd",
        "08caff5b-e611-11f1-b6a3-f2788dfdebd77",
        "08caff5be611-11f1-b6a3-f2788dfdebd7-",
        "08caff5b_e611_11f1_b6a3_f2788dfdebd7",
        "g8caff5b-e611-11f1-b6a3-f2788dfdebd7",
        "08caff5b-e611-11f1-b6a3-f2788dfdébd",
    ] {
        assert_eq!(parse_uuid(bad), None, "input {bad:?}");
    }
}

// ---------------------------------------------------------------------------------------
// robustness

/// Deterministic pseudo-random inputs built from the tokens these formats use, fed to every
/// parser: none may panic, and whatever parses must satisfy the documented invariants.
#[test]
fn generated_inputs_never_panic() {
    // Line heads and value tokens; lines are assembled as head + 0..3 tokens + line end, so
    // well-formed files come out often enough to exercise the success paths too.
    const HEADS: &[&str] = &[
        "uuid:",
        "seqno:",
        "safe_to_bootstrap:",
        "version:",
        "my_uuid:",
        "#vwbeg",
        "#vwend",
        "view_id:",
        "member:",
        "bootstrap:",
        "x [Note] WSREP: Recovered position:",
        "x [Note] [MY-000000] [WSREP] Recovered position:",
        "x [ERROR] Found",
        "x [Note] WSREP: Position",
        "x [Note] WSREP: disabled, skipping position recovery",
        "gcache.size =",
        "#",
        "",
        "\0",
        "é",
    ];
    const TOKENS: &[&str] = &[
        CLUSTER_1,
        ZERO_UUID,
        "08CAFF5B-E611-11F1-B6A3-F2788DFDEBD7",
        ":",
        ",",
        "/",
        "=",
        ";",
        "-1",
        "0",
        "1",
        "3",
        "7",
        "18446744073709551615",
        "9223372036854775808",
        "0x10",
        "32M",
        "1.5G",
        "e-05",
        "\u{FFFD}",
        "prepared transactions!",
        "given at startup, skipping position recovery",
        "0-1-5",
        "AUTO",
        "nan",
        "-",
        "2.1",
        "08caff5b-e611-11f1-b6a3-f2788dfdebd7:7",
        "08caff5b-e611-11f1-b6a3-f2788dfdebd7:-1,0-1-5",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        // xorshift64*: any fixed sequence will do, it only has to be reproducible.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut pick = |list: &[&'static str]| list[(next() % list.len() as u64) as usize];
    let mut parsed_grastate = 0;
    let mut parsed_gvwstate = 0;
    let mut recovered = 0;
    for i in 0..5000 {
        let mut text = String::new();
        // A valid grastate.dat start now and then, so the success path is reached although
        // random lines rarely form one (the generated lines after it may still break it).
        if i % 10 == 0 {
            text.push_str(&format!("uuid: {CLUSTER_1}\nseqno: 3\n"));
        }
        let lines =
            pick(&["1", "2", "3", "4", "5", "6"]).len() + pick(&["", "x", "xx", "xxx"]).len();
        for _ in 0..lines {
            text.push_str(pick(HEADS));
            for _ in 0..pick(&["", "x", "x", "xx", "xxx"]).len() {
                text.push_str(pick(&[" ", "", "  "]));
                text.push_str(pick(TOKENS));
            }
            text.push_str(pick(&["\n", "\n", "\r\n", "  \n", "\t\n"]));
        }

        if let Ok(g) = parse_grastate(&text) {
            parsed_grastate += 1;
            assert_eq!(parse_uuid(&g.uuid).as_deref(), Some(g.uuid.as_str()));
            assert!(g.safe_to_bootstrap_present || g.safe_to_bootstrap);
        }
        if let Ok(g) = parse_gvwstate(&text) {
            parsed_gvwstate += 1;
            assert_eq!(g.my_uuid.len(), 36);
            assert!(g.members.iter().all(|(u, _)| u.len() == 36));
        }
        match parse_recover_log(text.as_bytes()) {
            RecoveredPosition::Position { uuid, .. }
            | RecoveredPosition::GivenAtStartup { uuid, .. } => {
                recovered += 1;
                assert_eq!(uuid.len(), 36);
            }
            _ => {}
        }
        if let Some(l) = EvsReplLatency::parse(&text) {
            assert!(l.min >= 0.0 && l.avg >= 0.0 && l.max >= 0.0 && l.stdev >= 0.0);
        }
        if let Some(size) = parse_galera_size(&text) {
            assert!(size <= i64::MAX as u64);
        }
        if let Some(v) = status_value_as_f64(&text) {
            assert!(v.is_finite());
        }
        let _ = bool_flag(&text);
        let opts = parse_provider_options(&text);
        assert!(opts.keys().all(|k| !k.is_empty() && k.trim() == k));
        let s = WsrepStatus::from_rows([("wsrep_incoming_addresses", text.as_str())]);
        let _ = s.incoming_addresses();
    }
    // The generator does reach the success paths, not only the error ones.
    assert!(parsed_grastate > 0, "no generated grastate parsed");
    assert!(parsed_gvwstate > 0, "no generated gvwstate parsed");
    assert!(recovered > 0, "no generated recovery log parsed");
}
