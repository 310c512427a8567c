//! `runbooks/fleet-restart.drbook` end to end against the local servers: a health check and
//! two Slack messages on the HTTP server ([`crate::httpd`]), an SSM command on tagged hosts on
//! the SSM server ([`crate::ssmd`]). The shipped file is planned, dry-run and run unchanged;
//! only its params and the environment point it at 127.0.0.1.

use crate::httpd::{Reply, Server};
use crate::runkit::{drb, status_json};
use crate::ssmd::SsmServer;
use crate::Test;

const PROXY_VARS: [&str; 6] =
    ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];

#[test]
fn fleet_restart_is_planned_dry_run_and_run_against_local_servers() {
    let web = Server::start();
    web.route("/health", Reply::new(200, r#"{"status":"ok"}"#));
    web.route("/hook", Reply::new(200, "ok"));
    let ssm = SsmServer::start();
    let t = PROXY_VARS.iter().fold(Test::new(), |t, k| t.without_env(k));
    let t = ssm
        .env(t)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("SLACK_WEBHOOK", &web.url("/hook"))
        .copy("runbooks/fleet-restart.drbook", "fleet-restart.drbook");
    let health = format!("health_url={}", web.url("/health"));
    let params = ["--param", &health, "--param", "tag_key=role", "--param", "fleet=web"];
    let with = |cmd: &[&str]| -> Vec<String> {
        cmd.iter().chain(params.iter()).map(|s| s.to_string()).collect()
    };

    let plan = t.cmd(
        &with(&["plan", "fleet-restart.drbook"]).iter().map(String::as_str).collect::<Vec<_>>(),
    );
    plan.expect_status(0);
    assert!(
        plan.stdout.contains("ssm command AWS-RunShellScript on tag role=web"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("max_concurrency=25% max_errors=1"), "{}", plan.stdout);

    let dry = drb(
        &t,
        &with(&["run", "fleet-restart.drbook", "--dry-run"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    dry.expect_status(0);
    assert!(dry.stdout.contains("would send: ssm command"), "{}", dry.stdout);
    assert!(ssm.ops().is_empty() && web.requests().is_empty(), "a dry run sends nothing");

    let run = drb(
        &t,
        &with(&["run", "fleet-restart.drbook", "--run-id", "f1"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    run.expect_status(0);
    assert!(
        run.stdout.contains("i-ok1 Success") && run.stdout.contains("i-ok2 Success"),
        "{}",
        run.stdout
    );

    let sent = ssm.calls("SendCommand");
    assert_eq!(sent.len(), 1, "one command for the whole fleet");
    assert_eq!(sent[0]["Targets"][0]["Key"], "tag:role");
    assert_eq!(sent[0]["Targets"][0]["Values"][0], "web");
    assert_eq!(sent[0]["MaxConcurrency"], "25%");
    assert_eq!(sent[0]["MaxErrors"], "1");
    let hooks: Vec<String> = web.requests_to("/hook").iter().map(|r| r.body_text()).collect();
    assert_eq!(hooks.len(), 2, "told before and after: {hooks:?}");
    assert!(hooks[0].contains("Restarting the API on web hosts (run f1)"), "{hooks:?}");
    assert!(hooks[1].contains("API restarted on web"), "{hooks:?}");
    assert_eq!(web.requests_to("/health").len(), 1);
    assert_eq!(status_json(&t, "f1")["status"], "succeeded");
}
