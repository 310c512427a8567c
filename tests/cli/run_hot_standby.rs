//! `runbooks/hot-standby.drbook` itself, end to end, on this machine: its health checks and
//! Slack messages go to the local HTTP server (the outage probe through real `curl`), and
//! `aws` and `kubectl` are stand-ins on `PATH` that keep the weighted DNS records and the
//! survivor's autoscaler minimum in files and log what they were asked. A failover moves the
//! weights 50/50 -> 0/100 and `drbook rollback` fails back to 50/50; a Route 53 change that
//! never confirms rolls the failover back by itself; a component drill runs only the read-only
//! checks and changes nothing.

use crate::httpd::{Reply, Server};
use crate::runkit::{drb, lines, status_json};
use crate::Test;

const PROXY_VARS: [&str; 6] =
    ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];

/// `aws route53` against the file `weights` (one `REGION<TAB>WEIGHT` line per record):
/// `list-resource-record-sets` prints it, `change-resource-record-sets` applies the batch's
/// weights, `wait` fails once if `route53-slow` exists (a change Route 53 did not confirm in
/// time).
fn aws(dir: &str) -> String {
    format!(
        r#"#!/bin/sh
echo "aws $*" >> '{dir}/ops.log'
case "$2" in
  list-resource-record-sets) cat '{dir}/weights' ;;
  change-resource-record-sets)
    while [ "$1" != --change-batch ]; do shift; done
    echo "$2" | grep -o '"SetIdentifier":"[^"]*","Weight":[0-9]*' \
      | sed 's/"SetIdentifier":"\([^"]*\)","Weight":\([0-9]*\)/\1	\2/' > '{dir}/weights.new'
    test "$(wc -l < '{dir}/weights.new')" -eq 2 || exit 1
    mv '{dir}/weights.new' '{dir}/weights'
    echo /change/C0HOTSTANDBY ;;
  wait) if [ -e '{dir}/route53-slow' ]; then rm '{dir}/route53-slow'; exit 1; fi ;;
  *) exit 1 ;;
esac
"#
    )
}

/// `kubectl`: the autoscaler's minimum lives in `min-replicas`, its maximum is 10, and every
/// rollout has finished.
fn kubectl(dir: &str) -> String {
    format!(
        r#"#!/bin/sh
echo "kubectl $*" >> '{dir}/ops.log'
case "$*" in
  *"get hpa api-server -o jsonpath={{.spec.maxReplicas}}") echo 10 ;;
  *"get hpa api-server -o jsonpath={{.spec.minReplicas}}") cat '{dir}/min-replicas' ;;
  *"patch hpa api-server -p "*)
    echo "$*" | sed 's/.*"minReplicas":\([0-9]*\).*/\1/' > '{dir}/min-replicas' ;;
  *"rollout status deployment/api-server"*) echo 'deployment "api-server" successfully rolled out' ;;
  *) exit 1 ;;
esac
"#
    )
}

/// The runbook in a test directory with its stand-ins, the local server's routes and the
/// params that point the runbook at them.
fn setup(web: &Server) -> (Test, Vec<String>) {
    web.route("/use1", Reply::new(503, "upstream down"));
    web.route("/usw2", Reply::new(200, "ok"));
    web.route("/public", Reply::new(200, "ok"));
    web.route("/hook", Reply::new(200, "ok"));
    let t = PROXY_VARS.iter().fold(Test::new(), |t, k| t.without_env(k));
    let t = t.copy("runbooks/hot-standby.drbook", "hot-standby.drbook");
    let dir = t.path("").display().to_string();
    let dir = dir.trim_end_matches('/');
    let t = t
        .file("weights", "us-east-1\t50\nus-west-2\t50\n")
        .file("min-replicas", "3\n")
        .file("bin/aws", &aws(dir))
        .file("bin/kubectl", &kubectl(dir));
    for f in ["aws", "kubectl"] {
        use std::os::unix::fs::PermissionsExt;
        let p = t.path(&format!("bin/{f}"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let path = format!("{}:{}", t.path("bin").display(), std::env::var("PATH").unwrap_or_default());
    let t = t
        .env("PATH", &path)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("SLACK_WEBHOOK", &web.url("/hook"));
    let params = vec![
        "change_ticket=INC-77".to_string(),
        format!("failed_health={}", web.url("/use1")),
        format!("survivor_health={}", web.url("/usw2")),
        format!("public_health={}", web.url("/public")),
    ];
    (t, params)
}

fn run_args<'a>(params: &'a [String], id: &'a str) -> Vec<&'a str> {
    let mut args = vec!["run", "hot-standby.drbook", "--run-id", id, "--non-interactive"];
    for p in params {
        args.extend(["--param", p.as_str()]);
    }
    args
}

fn position(ops: &[String], what: &str) -> usize {
    ops.iter().position(|l| l.contains(what)).unwrap_or_else(|| panic!("no `{what}`: {ops:#?}"))
}

#[test]
fn hot_standby_moves_the_weights_to_the_survivor_and_fails_back_on_rollback() {
    let web = Server::start();
    let (t, params) = setup(&web);

    drb(&t, &run_args(&params, "hs")).expect_status(0);
    assert_eq!(t.read("weights"), "us-east-1\t0\nus-west-2\t100\n");
    assert_eq!(t.read("min-replicas"), "6\n", "the survivor grew to full size");
    assert_eq!(status_json(&t, "hs")["status"], "succeeded");
    assert!(!web.requests_to("/use1").is_empty(), "the outage was probed");
    let hooks: Vec<String> = web.requests_to("/hook").iter().map(|r| r.body_text()).collect();
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    assert!(hooks[0].contains("from us-east-1 to us-west-2 (ticket INC-77)"), "{hooks:?}");
    assert!(hooks[1].contains("All traffic now served from us-west-2"), "{hooks:?}");
    let ops = lines(&t.path("ops.log"));
    let grow = position(&ops, "\"minReplicas\":6");
    let shift = position(&ops, "change-resource-record-sets");
    assert!(grow < shift, "traffic moves only once the survivor is big enough: {ops:#?}");

    // Failback once us-east-1 is healthy again: DNS first, then the survivor shrinks.
    drb(&t, &["rollback", "hs", "--yes"]).expect_status(4);
    assert_eq!(t.read("weights"), "us-east-1\t50\nus-west-2\t50\n");
    assert_eq!(t.read("min-replicas"), "3\n");
    assert_eq!(status_json(&t, "hs")["status"], "rolled_back");
    let ops = lines(&t.path("ops.log"));
    let failback = ops.iter().rposition(|l| l.contains("change-resource-record-sets"));
    let shrink = position(&ops, "\"minReplicas\":3");
    assert!(failback.is_some_and(|f| f > shift && f < shrink), "{ops:#?}");
}

#[test]
fn hot_standby_rolls_back_a_dns_change_that_never_confirms() {
    let web = Server::start();
    let (t, params) = setup(&web);
    let t = t.file("route53-slow", "");

    drb(&t, &run_args(&params, "slow")).expect_status(4).expect_stderr("shift_traffic");
    // The change went through before `wait` failed; its probe saw 0/100, so it was undone.
    assert_eq!(t.read("weights"), "us-east-1\t50\nus-west-2\t50\n");
    assert_eq!(t.read("min-replicas"), "3\n");
    assert_eq!(status_json(&t, "slow")["status"], "rolled_back");
    let ops = lines(&t.path("ops.log"));
    assert_eq!(ops.iter().filter(|l| l.contains("change-resource-record-sets")).count(), 2);
    assert!(position(&ops, "\"minReplicas\":6") < position(&ops, "\"minReplicas\":3"));
    let hooks = web.requests_to("/hook");
    assert_eq!(hooks.len(), 1, "announced the move, never that it was done");
    assert!(web.requests_to("/public").is_empty(), "the public name was never checked");
}

#[test]
fn a_component_drill_of_hot_standby_runs_only_its_read_only_checks() {
    let web = Server::start();
    let (t, params) = setup(&web);
    let mut args = vec!["drill", "hot-standby.drbook", "--type", "component", "--run-id", "c1"];
    args.extend(["--non-interactive", "--report", "drill.json"]);
    for p in &params {
        args.extend(["--param", p.as_str()]);
    }
    drb(&t, &args).expect_status(0);
    assert_eq!(t.read("weights"), "us-east-1\t50\nus-west-2\t50\n", "DNS untouched");
    assert_eq!(t.read("min-replicas"), "3\n", "the survivor untouched");
    assert!(web.requests_to("/hook").is_empty(), "nobody was told anything");
    assert!(web.requests_to("/use1").is_empty(), "the outage probe is not a drill check");
    assert!(!web.requests_to("/usw2").is_empty() && !web.requests_to("/public").is_empty());
    let ops = lines(&t.path("ops.log"));
    assert!(
        !ops.iter().any(|l| l.contains("change-resource-record-sets") || l.contains(" patch ")),
        "{ops:#?}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&t.read("drill.json")).expect("JSON report");
    let drill = &report["drill"];
    assert_eq!(drill["drill_type"], "component", "{drill}");
    assert_eq!(drill["success"], true, "{drill}");
    let mut tested: Vec<&str> = drill["steps_tested"]
        .as_array()
        .expect("steps_tested")
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    tested.sort_unstable();
    assert_eq!(
        tested,
        ["dns_weights", "survivor_capacity", "survivor_health", "survivor_ready", "verify_public"]
    );
}
