//! Parser tests on XML captured from a real glusterd 10.3 (tests/fixtures/gluster/README.md
//! says how each file was made), plus malformed and truncated input.

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/gluster/", $name))
    };
}

const B1: &str = "10.254.0.1:/tmp/qgcap/a/b1";
const B2: &str = "10.254.0.1:/tmp/qgcap/a/b2";
const B3: &str = "10.254.0.2:/tmp/qgcap/b/b3";

fn summary(xml: &str) -> Vec<HealSummaryBrick> {
    parse_heal_summary(xml.as_bytes()).expect("heal summary parses")
}

fn counts(bricks: &[HealSummaryBrick], name: &str) -> Option<HealCounts> {
    bricks
        .iter()
        .find(|b| b.name == name)
        .unwrap_or_else(|| panic!("brick {name} missing"))
        .counts
}

/// `xml` with its `<volume>` elements listed `times` times over.
fn volumes_repeated(xml: &str, times: usize) -> String {
    let start = xml.find("<volume>").expect("a volume");
    let end = xml.rfind("</volume>").expect("a volume") + "</volume>".len();
    format!(
        "{}{}{}",
        &xml[..start],
        xml[start..end].repeat(times),
        &xml[end..]
    )
}

/// A CLI that lists each volume three times: each is counted once (its bricks too).
#[test]
fn volumes_listed_several_times_count_once() {
    let tripled = volumes_repeated(fixture!("volume-info-healthy.xml"), 3);
    let vols = parse_volume_info(tripled.as_bytes()).expect("parses");
    assert_eq!(vols.len(), 2);
    assert_eq!(vols[0].name, "gv");
    assert_eq!(vols[0].bricks.len(), 3);
    let status = fixture!("volume-status-all-detail-healthy.xml");
    let doubled = volumes_repeated(status, 2);
    let once = parse_volume_status(status.as_bytes()).expect("parses");
    let twice = parse_volume_status(doubled.as_bytes()).expect("parses");
    assert_eq!(once, twice);
}

#[test]
fn volume_info_healthy_two_volumes() {
    let vols = parse_volume_info(fixture!("volume-info-healthy.xml").as_bytes()).expect("parses");
    assert_eq!(vols.len(), 2);
    let gv = &vols[0];
    assert_eq!(gv.name, "gv");
    assert_eq!(gv.state, VolumeState::Started);
    assert_eq!(gv.type_name, "Replicate");
    assert_eq!(
        (gv.brick_count, gv.replica_count, gv.arbiter_count),
        (3, 3, 0)
    );
    assert_eq!(
        gv.bricks
            .iter()
            .map(|b| b.name.as_str())
            .collect::<Vec<_>>(),
        [B1, B2, B3]
    );
    assert!(gv
        .bricks
        .iter()
        .all(|b| !b.is_arbiter && !b.host_uuid.is_empty()));
    assert!(gv.heals());
    assert_eq!(gv.option("nfs.disable"), Some("on"));
    let dr = &vols[1];
    assert_eq!(dr.name, "gvdr");
    assert_eq!(dr.type_name, "Distributed-Replicate");
    assert_eq!((dr.brick_count, dr.replica_count), (6, 3));
    assert_eq!(dr.bricks.len(), 6);
}

#[test]
fn volume_info_stopped_and_missing() {
    let vols = parse_volume_info(fixture!("volume-info-stopped.xml").as_bytes()).expect("parses");
    assert_eq!(vols.len(), 1);
    assert_eq!(vols[0].state, VolumeState::Stopped);
    let err = parse_volume_info(fixture!("volume-info-no-such-volume.xml").as_bytes())
        .expect_err("no such volume");
    assert!(
        matches!(&err, ParseError::Cli { op_ret: -1, op_errno: 30806, message } if message == "Volume does not exist"),
        "{err:?}"
    );
    assert!(!err.is_busy());
}

#[test]
fn volume_status_separates_bricks_from_daemons() {
    let st =
        parse_volume_status(fixture!("volume-status-gv-healthy.xml").as_bytes()).expect("parses");
    assert_eq!(st.len(), 1);
    assert_eq!(st[0].name, "gv");
    assert_eq!(st[0].bricks.len(), 3);
    assert!(st[0]
        .bricks
        .iter()
        .all(|b| b.online && b.port.is_some() && b.pid.is_some()));
    assert_eq!(st[0].daemons.len(), 2);
    assert!(st[0]
        .daemons
        .iter()
        .all(|d| d.name == "Self-heal Daemon" && d.online));

    let detail = parse_volume_status(fixture!("volume-status-gv-detail-healthy.xml").as_bytes())
        .expect("parses");
    let b1 = &detail[0].bricks[0];
    assert_eq!(b1.name, B1);
    assert!(b1.size_total.is_some_and(|t| t > 0));
    assert!(b1
        .size_free
        .is_some_and(|f| f <= b1.size_total.unwrap_or(0)));
    assert!(b1.inodes_total.is_some() && b1.inodes_free.is_some());

    let all = parse_volume_status(fixture!("volume-status-all-detail-healthy.xml").as_bytes())
        .expect("parses");
    assert_eq!(
        all.iter()
            .map(|v| (v.name.as_str(), v.bricks.len()))
            .collect::<Vec<_>>(),
        [("gv", 3), ("gvdr", 6)]
    );
}

#[test]
fn volume_status_killed_brick_is_offline_without_port_or_pid() {
    let st = parse_volume_status(fixture!("volume-status-gv-detail-brick-killed.xml").as_bytes())
        .expect("parses");
    let b2 = st[0]
        .bricks
        .iter()
        .find(|b| b.name == B2)
        .expect("b2 listed");
    assert!(!b2.online);
    assert_eq!((b2.port, b2.pid), (None, None));
    assert_eq!(st[0].bricks.iter().filter(|b| b.online).count(), 2);
}

#[test]
fn volume_status_peer_down_omits_its_brick() {
    let st = parse_volume_status(fixture!("volume-status-gv-detail-peer-down.xml").as_bytes())
        .expect("parses");
    let names: Vec<&str> = st[0].bricks.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, [B1, B2]);
}

#[test]
fn volume_status_errors_busy_and_not_started() {
    let busy =
        parse_volume_status(fixture!("volume-status-busy.xml").as_bytes()).expect_err("busy");
    assert!(busy.is_busy(), "{busy:?}");
    let stopped = parse_volume_status(fixture!("volume-status-stopped.xml").as_bytes())
        .expect_err("not started");
    assert!(!stopped.is_busy());
    assert!(
        stopped.to_string().contains("Volume gv is not started"),
        "{stopped}"
    );
}

#[test]
fn peer_status_connected_and_disconnected() {
    let peers =
        parse_peer_status(fixture!("peer-status-connected.xml").as_bytes()).expect("parses");
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].hostname, "10.254.0.2");
    assert!(peers[0].connected);
    assert_eq!(peers[0].state, "Peer in Cluster");
    let peers =
        parse_peer_status(fixture!("peer-status-disconnected.xml").as_bytes()).expect("parses");
    assert!(!peers[0].connected);
    // pool list has the same shape under <peerStatus>, including localhost.
    let pool = parse_peer_status(fixture!("pool-list.xml").as_bytes()).expect("parses");
    assert_eq!(pool.len(), 2);
}

#[test]
fn heal_summary_healthy_is_all_zero_and_known() {
    let b = summary(fixture!("heal-summary-healthy.xml"));
    assert_eq!(b.len(), 3);
    for brick in &b {
        assert!(brick.connected());
        assert_eq!(brick.counts, Some(HealCounts::default()));
    }
}

#[test]
fn heal_summary_killed_brick_is_unknown_not_zero() {
    let b = summary(fixture!("heal-summary-brick-killed.xml"));
    assert_eq!(
        b.len(),
        3,
        "the dead brick must not make the others disappear"
    );
    let pending = counts(&b, B1).expect("b1 known").pending;
    assert!(pending >= 5, "5 files written while b2 was down: {pending}");
    assert_eq!(counts(&b, B3).map(|c| c.pending), Some(pending));
    let dead = b.iter().find(|x| x.name == B2).expect("b2 listed");
    assert!(!dead.connected());
    assert_eq!(dead.counts, None);
    assert!(dead.status.contains("Transport endpoint is not connected"));
}

#[test]
fn heal_summary_frozen_and_peer_down_bricks_are_unknown() {
    let frozen = summary(fixture!("heal-summary-brick-frozen.xml"));
    assert_eq!(counts(&frozen, B2), None);
    assert!(counts(&frozen, B1).is_some());
    let down = summary(fixture!("heal-summary-peer-down.xml"));
    assert_eq!(counts(&down, B3), None);
    assert_eq!(counts(&down, B1).map(|c| c.pending), Some(1));
}

#[test]
fn heal_summary_split_brain_and_healed() {
    let sb = summary(fixture!("heal-summary-split-brain.xml"));
    for name in [B1, B2, B3] {
        assert_eq!(counts(&sb, name).map(|c| c.split_brain), Some(1), "{name}");
    }
    let healed = summary(fixture!("heal-summary-healed.xml"));
    assert!(healed.iter().all(|b| b
        .counts
        .is_some_and(|c| c.pending == 0 && c.split_brain == 0)));
}

#[test]
fn heal_summary_errors() {
    let err = parse_heal_summary(fixture!("heal-summary-stopped.xml").as_bytes())
        .expect_err("stopped volume");
    assert!(
        err.to_string().contains("Not able to fetch volfile"),
        "{err}"
    );
    let err = parse_heal_summary(fixture!("heal-summary-no-such-volume.xml").as_bytes())
        .expect_err("no such volume");
    assert!(err.to_string().contains("does not exist"), "{err}");
    let err = parse_heal_summary(fixture!("no-glusterd.stdout").as_bytes()).expect_err("not xml");
    match err {
        ParseError::NotXml { snippet } => assert!(snippet.starts_with("Connection failed")),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn heal_list_files_bounded_and_counted() {
    let bricks =
        parse_heal_list(fixture!("heal-info-brick-killed.xml").as_bytes(), 2).expect("parses");
    assert_eq!(bricks.len(), 3);
    let b1 = &bricks[0];
    assert!(b1.connected());
    assert!(b1.files_listed >= 5);
    assert_eq!(b1.entries, Some(b1.files_listed));
    assert_eq!(b1.files.len(), 2);
    let dead = bricks.iter().find(|b| b.name == B2).expect("b2");
    assert_eq!(dead.entries, None, "`-` is unknown");
    assert!(!dead.connected());

    let sb = parse_heal_list(fixture!("heal-split-brain-split-brain.xml").as_bytes(), 10)
        .expect("parses");
    for b in &sb {
        assert_eq!(b.files, ["/sb"], "{}", b.name);
        assert_eq!(b.entries, Some(1));
    }
    let none =
        parse_heal_list(fixture!("heal-split-brain-healthy.xml").as_bytes(), 10).expect("parses");
    assert!(none
        .iter()
        .all(|b| b.files.is_empty() && b.entries == Some(0)));
}

#[test]
fn heal_list_names_unresolved_entries_by_gfid() {
    let xml = r#"<cliOutput><healInfo><bricks><brick hostUuid="u"><name>h:/b</name>
<file gfid="0a1b"></file><file gfid="x">/a&amp;b</file><status>Connected</status>
<numberOfEntries>2</numberOfEntries></brick></bricks></healInfo><opRet>0</opRet></cliOutput>"#;
    let b = parse_heal_list(xml.as_bytes(), 10).expect("parses");
    assert_eq!(b[0].files, ["<gfid:0a1b>", "/a&b"]);
}

/// Every prefix of every fixture is either parsed or an error: never a panic, and a cut-off
/// document is never accepted as a complete answer with fewer bricks.
#[test]
fn truncated_fixtures_never_panic_nor_pass_as_complete() {
    let all: &[&str] = &[
        fixture!("heal-summary-brick-killed.xml"),
        fixture!("heal-info-split-brain.xml"),
        fixture!("volume-info-healthy.xml"),
        fixture!("volume-status-gv-detail-healthy.xml"),
        fixture!("peer-status-connected.xml"),
    ];
    for doc in all {
        let full_len = doc.trim_end().len();
        for cut in 0..full_len {
            let Some(prefix) = doc.get(..cut) else {
                continue;
            };
            let bytes = prefix.as_bytes();
            assert!(
                parse_heal_summary(bytes).is_err(),
                "accepted a cut at {cut}"
            );
            assert!(
                parse_heal_list(bytes, 5).is_err(),
                "accepted a cut at {cut}"
            );
            assert!(parse_volume_info(bytes).is_err(), "accepted a cut at {cut}");
            assert!(
                parse_volume_status(bytes).is_err(),
                "accepted a cut at {cut}"
            );
            assert!(parse_peer_status(bytes).is_err(), "accepted a cut at {cut}");
        }
    }
}

#[test]
fn odd_documents_are_errors() {
    let cases: &[(&str, &str)] = &[
        ("", "empty"),
        ("   \n", "blank"),
        ("<cliOutput><opRet>0</opRet></cliOutpu>", "mismatched end"),
        ("<other><opRet>0</opRet></other>", "wrong root"),
        ("<cliOutput><opRet>zero</opRet></cliOutput>", "bad opRet"),
        ("<cliOutput></cliOutput>", "no opRet"),
        (
            "<cliOutput><opRet>0</opRet></cliOutput><cliOutput/>",
            "two roots",
        ),
        (
            "<cliOutput><opRet>0</opRet><x>&bogus;</x></cliOutput>",
            "unknown entity",
        ),
        ("\u{0}\u{1}garbage<<<", "binary"),
    ];
    for (doc, what) in cases {
        assert!(parse_heal_summary(doc.as_bytes()).is_err(), "{what}");
        assert!(parse_volume_info(doc.as_bytes()).is_err(), "{what}");
    }
    // Structural nonsense inside a valid envelope.
    let bad_count = "<cliOutput><opRet>0</opRet><volInfo><volumes><volume><name>v</name><status>1</status><brickCount>lots</brickCount></volume></volumes></volInfo></cliOutput>";
    let err = parse_volume_info(bad_count.as_bytes()).expect_err("bad count");
    assert!(err.to_string().contains("brickCount"), "{err}");
    let no_status = "<cliOutput><opRet>0</opRet><volInfo><volumes><volume><name>v</name><brickCount>1</brickCount></volume></volumes></volInfo></cliOutput>";
    assert!(matches!(
        parse_volume_info(no_status.as_bytes()),
        Err(ParseError::Missing { element: "status" })
    ));
    // Counts that are not numbers make the brick unknown, not zero.
    let odd = "<cliOutput><healInfo><bricks><brick><name>h:/b</name><status>Connected</status><totalNumberOfEntries>-</totalNumberOfEntries><numberOfEntriesInHealPending>0</numberOfEntriesInHealPending><numberOfEntriesInSplitBrain>0</numberOfEntriesInSplitBrain><numberOfEntriesPossiblyHealing>0</numberOfEntriesPossiblyHealing></brick></bricks></healInfo><opRet>0</opRet></cliOutput>";
    assert_eq!(summary(odd)[0].counts, None);
    // Deep nesting and unknown elements are ignored, not fatal.
    let deep = format!(
        "<cliOutput><opRet>0</opRet>{}{}</cliOutput>",
        "<x>".repeat(500),
        "</x>".repeat(500)
    );
    assert_eq!(parse_peer_status(deep.as_bytes()), Ok(Vec::new()));
}
