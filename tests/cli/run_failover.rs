//! Approvals and rollback together, in the shape of `runbooks/regional-failover.drbook`: a
//! two-person gate on the promotion, approved from two other shells while the runner waits,
//! then a failure injected at the DNS step rolls back the scale-up and the promotion, newest
//! first. Every action is a `run` that appends to a log, so the order is read from effects.

use crate::run_approval::wait_until_waiting;
use crate::runkit::{drb, drb_spawn, lines, status_json};
use crate::Test;

/// The failover's graph; `move_dns` fails when the file `dns-broken` exists.
const FAILOVER: &str = r#"runbook "regional-failover-drill" {
  owner      "platform-team"
  rto        1h
  on_failure rollback

  roles {
    oncall_lead = ["alice", "bob"]
    eng_manager = ["carol", "dave"]
  }

  step confirm_outage { duration 1s; on_failure abort; run "echo confirm_outage >> did.log"; idempotent }
  step replica_lag    { needs confirm_outage; duration 1s; on_failure abort; run "echo replica_lag >> did.log"; idempotent }
  step announce       { needs confirm_outage; duration 1s; run "echo announce >> did.log"; idempotent }
  step promote_db {
    needs    replica_lag
    duration 1s
    approval { by oncall_lead, eng_manager; timeout 5m }
    run      "echo promote_db >> did.log"
    rollback run "echo promote_db >> undo.log"
  }
  step scale_up {
    needs    promote_db
    duration 1s
    run      "echo scale_up >> did.log"
    rollback run "echo scale_up >> undo.log"
  }
  step scale_workers {
    needs    promote_db
    duration 1s
    run      "echo scale_workers >> did.log"
    rollback run "echo scale_workers >> undo.log"
  }
  step workers_ready { needs scale_workers; duration 1s; run "echo workers_ready >> did.log"; idempotent }
  step move_dns {
    needs    scale_up, workers_ready, announce
    duration 1s
    run      "echo move_dns >> did.log; test ! -e dns-broken"
    verify   run "test ! -e dns-broken"
    rollback run "echo move_dns >> undo.log"
  }
  step verify { needs move_dns; duration 1s; run "echo verify >> did.log"; idempotent }
}
"#;

#[test]
fn two_person_approval_from_other_shells_then_a_dns_failure_rolls_back_newest_first() {
    let t = Test::new().file("failover.drbook", FAILOVER).file("dns-broken", "");
    let mut runner = drb_spawn(
        &t,
        &[
            "--as",
            "alice",
            "run",
            "failover.drbook",
            "--run-id",
            "fo",
            "--wait",
            "--report",
            "r.json",
        ],
    );
    wait_until_waiting(&t, "fo", "promote_db", &mut runner, std::time::Duration::from_secs(20));
    assert!(!lines(&t.path("did.log")).contains(&"promote_db".to_string()), "gated");
    drb(&t, &["approve", "fo", "promote_db", "--as", "bob"]).expect_status(0);
    drb(&t, &["approve", "fo", "promote_db", "--as", "carol", "--comment", "lag 3s"])
        .expect_status(0);
    let out = runner.wait();
    out.expect_status(4).expect_stderr("move_dns");

    let did = lines(&t.path("did.log"));
    assert!(did.contains(&"promote_db".to_string()) && did.contains(&"move_dns".to_string()));
    assert!(!did.contains(&"verify".to_string()), "nothing runs after the failure");
    let undo = lines(&t.path("undo.log"));
    assert_eq!(undo.len(), 3, "scale_up, scale_workers and promote_db are undone: {undo:?}");
    assert_eq!(undo.last().map(String::as_str), Some("promote_db"), "promotion undone last");
    assert!(!undo.contains(&"move_dns".to_string()), "the failed step is not undone");

    let st = status_json(&t, "fo");
    assert_eq!(st["status"], "rolled_back");
    let report: serde_json::Value =
        serde_json::from_str(&t.read("r.json")).expect("the report is JSON");
    let approvals = report["approvals"].as_array().expect("approvals");
    let who: Vec<(&str, &str)> = approvals
        .iter()
        .map(|a| (a["role"].as_str().unwrap_or(""), a["by"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(who, [("oncall_lead", "bob"), ("eng_manager", "carol")]);
    let rollbacks: Vec<(&str, &str)> = report["rollbacks"]
        .as_array()
        .expect("rollbacks")
        .iter()
        .map(|r| (r["step"].as_str().unwrap_or(""), r["status"].as_str().unwrap_or("")))
        .collect();
    for (step, status) in
        [("promote_db", "undone"), ("scale_up", "undone"), ("announce", "not_undone")]
    {
        assert!(rollbacks.contains(&(step, status)), "{step} {status} in {rollbacks:?}");
    }
}
