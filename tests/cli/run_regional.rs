//! `runbooks/regional-failover.drbook` itself, end to end, on this machine: its health checks
//! and Slack messages go to the local HTTP server, its SSM commands and its `ssm()` secret to
//! the local SSM server, and `psql`, `kubectl` and `terraform` are stand-ins on `PATH` that
//! log what they were asked. A two-person approval comes from two other processes while the
//! runner waits; the DNS step fails; the run rolls back the scale-up and the promotion, newest
//! first, and exits 4.

use crate::httpd::{Reply, Server};
use crate::runkit::{drb, drb_spawn, journal, lines, status_json};
use crate::ssmd::SsmServer;
use crate::Test;
use serde_json::Value;
use std::time::Duration;

const PROXY_VARS: [&str; 6] =
    ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];

/// A stand-in command: logs its arguments to `ops.log`; `terraform apply` towards the DR
/// region fails while `dns-broken` exists.
fn stub(log: &str, name: &str, extra: &str) -> String {
    format!("#!/bin/sh\necho \"{name} $*\" >> '{log}'\n{extra}\nexit 0\n")
}

fn index_of(records: &[Value], event: &str, step: &str) -> usize {
    records
        .iter()
        .position(|r| r["event"] == event && r["step"] == step)
        .unwrap_or_else(|| panic!("no `{event}` for `{step}`"))
}

#[test]
fn regional_failover_with_two_approvals_and_a_dns_failure_rolls_back_newest_first() {
    let web = Server::start();
    web.route("/primary", Reply::new(503, "upstream down"));
    web.route("/public", Reply::new(200, "ok"));
    web.route("/hook", Reply::new(200, "ok"));
    let ssm = SsmServer::with_parameters(&[("/prod/dr/db-password", "SecureString", "s3cr3t-pw")]);
    let t = PROXY_VARS.iter().fold(Test::new(), |t, k| t.without_env(k));
    let t = t.copy("runbooks/regional-failover.drbook", "regional-failover.drbook");
    let broken = t.path("dns-broken").display().to_string();
    let log = t.path("ops.log").display().to_string();
    let env = t.path("psql-env").display().to_string();
    let t = t
        .file("infra/dns/main.tf", "# the DNS records\n")
        .file("dns-broken", "")
        .file(
            "bin/psql",
            &stub(&log, "psql", &format!("echo \"PGPASSWORD=$PGPASSWORD\" > '{env}'; echo 4.2")),
        )
        .file("bin/kubectl", &stub(&log, "kubectl", ""))
        .file(
            "bin/terraform",
            &stub(
                &log,
                "terraform",
                &format!(
                    "case \"$*\" in *active_region=us-west-2*) test -e '{broken}' && exit 1;; esac"
                ),
            ),
        );
    for f in ["psql", "kubectl", "terraform"] {
        use std::os::unix::fs::PermissionsExt;
        let p = t.path(&format!("bin/{f}"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let path = format!("{}:{}", t.path("bin").display(), std::env::var("PATH").unwrap_or_default());
    let t = ssm
        .env(t)
        .env("PATH", &path)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("SLACK_WEBHOOK", &web.url("/hook"));
    let primary = format!("primary_health={}", web.url("/primary"));
    let public = format!("public_health={}", web.url("/public"));
    let args = [
        "--as",
        "alice",
        "run",
        "regional-failover.drbook",
        "--run-id",
        "rf",
        "--wait",
        "--param",
        "change_ticket=INC-1234",
        "--param",
        &primary,
        "--param",
        &public,
        "--report",
        "report.json",
    ];

    let mut runner = drb_spawn(&t, &args);
    crate::run_approval::wait_until_waiting(
        &t,
        "rf",
        "promote_db",
        &mut runner,
        Duration::from_secs(30),
    );
    drb(&t, &["approve", "rf", "promote_db", "--as", "bob"]).expect_status(0);
    drb(&t, &["approve", "rf", "promote_db", "--as", "carol", "--comment", "lag 4s"])
        .expect_status(0);
    let out = runner.wait();
    out.expect_status(4).expect_stderr("move_dns");

    let ops = lines(&t.path("ops.log"));
    let promote =
        ops.iter().position(|l| l.contains("cnpg promote production-db-dr")).expect("promoted");
    let demote =
        ops.iter().position(|l| l.contains("cnpg demote production-db-dr")).expect("demoted");
    let dns = ops
        .iter()
        .position(|l| l.contains("apply") && l.contains("active_region=us-west-2"))
        .expect("dns tried");
    let workers_back =
        ops.iter().position(|l| l.ends_with("--replicas=1")).expect("workers scaled back");
    assert!(promote < dns && dns < workers_back && workers_back < demote, "{ops:#?}");
    assert!(
        !ops.iter().any(|l| l.contains("active_region=us-east-1")),
        "the failed DNS step is not undone: {ops:#?}"
    );

    let sent = ssm.calls("SendCommand");
    assert_eq!(sent.len(), 2, "scale_up and its rollback");
    assert_eq!(sent[1]["Parameters"]["commands"][0], "systemctl stop api");
    let records = journal(&t, "rf");
    let promote_undo = index_of(&records, "undo_started", "promote_db");
    for later in ["scale_up", "scale_workers"] {
        assert!(
            index_of(&records, "undo_succeeded", later) < promote_undo,
            "{later} is undone first"
        );
    }
    assert_eq!(status_json(&t, "rf")["status"], "rolled_back");

    let report: Value = serde_json::from_str(&t.read("report.json")).expect("JSON report");
    let approvals: Vec<(&str, &str)> = report["approvals"]
        .as_array()
        .expect("approvals")
        .iter()
        .map(|a| (a["role"].as_str().unwrap_or(""), a["by"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(approvals, [("oncall_lead", "bob"), ("eng_manager", "carol")]);
    assert_eq!(report["achieved_rpo_seconds"], 4.2, "replica_lag measured the RPO");
    assert_eq!(t.read("psql-env"), "PGPASSWORD=s3cr3t-pw\n", "psql got it from its environment");
    let hooks = web.requests_to("/hook");
    assert_eq!(hooks.len(), 1, "announced once; never announced done");
    assert!(
        !ops.iter().any(|l| l.contains("s3cr3t-pw")),
        "the password is in a command line: {ops:#?}"
    );
    for f in crate::runkit::files_under(&t.path("state")) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap_or_default()).to_string();
        assert!(!text.contains("s3cr3t-pw"), "the db_password secret leaked into {}", f.display());
    }
    assert!(!out.stdout.contains("s3cr3t-pw") && !out.stderr.contains("s3cr3t-pw"));
}
