//! The deployment files of `drbook watch` under `contrib/` (README, "Automatic failover"): the
//! systemd template unit and the Kubernetes manifest parse, keep the promises the README makes
//! of them (one watcher at a time, state on a volume, non-root, hardened, no liveness probe),
//! and call `drbook watch` only with flags it has. `systemd-analyze verify` checks the unit
//! when it is installed.

use crate::crate_root;
use serde::Deserialize;
use serde_norway::Value;

const UNIT: &str = "contrib/systemd/drbook-watch@.service";
const MANIFEST: &str = "contrib/kubernetes/drbook-watch.yaml";

fn read(path: &str) -> String {
    std::fs::read_to_string(crate_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `KEY=VALUE` settings of the unit, in order (comments and section lines left out).
fn settings(unit: &str) -> Vec<(String, String)> {
    unit.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or_else(|| panic!("not KEY=VALUE: {l:?}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// The value of `key` in the unit; panics unless it is set exactly once.
#[track_caller]
fn setting(all: &[(String, String)], key: &str) -> String {
    let found: Vec<&String> = all.iter().filter(|(k, _)| k == key).map(|(_, v)| v).collect();
    assert_eq!(found.len(), 1, "{UNIT}: `{key}=` should be set once: {found:?}");
    found[0].clone()
}

#[test]
fn the_systemd_unit_runs_one_hardened_watcher_per_runbook() {
    let all = settings(&read(UNIT));
    assert_eq!(
        setting(&all, "ExecStart"),
        "/usr/local/bin/drbook watch /etc/drbook/runbooks/%i.drbook --state-dir /var/lib/drbook --log-format json"
    );
    for (key, want) in [
        ("Restart", "on-failure"),
        ("KillSignal", "SIGTERM"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ReadWritePaths", "/var/lib/drbook"),
        ("PrivateTmp", "yes"),
        ("User", "drbook"),
    ] {
        assert_eq!(setting(&all, key), want, "{UNIT}: {key}");
    }
    // Probes and steps run shell commands: nothing may forbid executing programs.
    for key in ["NoExecPaths", "ExecPaths", "SystemCallFilter", "MemoryDenyWriteExecute"] {
        assert!(all.iter().all(|(k, _)| k != key), "{UNIT}: {key} would break shell probes");
    }
}

#[test]
fn systemd_analyze_verifies_the_unit_when_installed() {
    let Ok(found) = std::process::Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("systemd-analyze is not installed; the unit is not verified");
        return;
    };
    assert!(found.status.success());
    // An instance of the template, with the binary this test built where drbook is installed.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let unit = read(UNIT).replace("/usr/local/bin/drbook", env!("CARGO_BIN_EXE_drbook"));
    let path = dir.path().join("drbook-watch@orders.service");
    std::fs::write(&path, unit).expect("write the unit");
    let out = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("run systemd-analyze");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.trim().is_empty(), "systemd-analyze verify:\n{text}");
}

/// The documents of the manifest.
fn manifest() -> Vec<Value> {
    let text = read(MANIFEST);
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{MANIFEST}: {e}")))
        .collect()
}

fn kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"].as_str() == Some(kind)).collect()
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

#[test]
fn the_kubernetes_manifest_runs_one_non_root_watcher_with_its_state_on_a_volume() {
    let docs = manifest();
    let deployments = kind(&docs, "Deployment");
    assert_eq!(deployments.len(), 1, "{MANIFEST}: one Deployment");
    let d = deployments[0];
    assert_eq!(d["spec"]["replicas"].as_u64(), Some(1), "one replica");
    assert_eq!(str_of(&d["spec"]["strategy"]["type"]), "Recreate", "never two pods at once");
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
    let containers = pod["containers"].as_sequence().expect("containers");
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        assert!(c[probe].is_null(), "{probe} would restart a watcher that waits for a person");
    }
    assert!(
        !c["resources"]["limits"]["memory"].is_null() && !c["resources"]["limits"]["cpu"].is_null()
    );
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"].as_bool(), Some(false));
    let args: Vec<&str> = c["args"].as_sequence().expect("args").iter().map(str_of).collect();
    assert_eq!(args.first(), Some(&"watch"), "{args:?}");
    assert!(args.windows(2).any(|w| w == ["--log-format", "json"]), "{args:?}");
    let state = args.windows(2).find(|w| w[0] == "--state-dir").map(|w| w[1]).expect("--state-dir");
    let runbook = args[1];

    // The state dir is on the claimed volume, the runbook comes from a ConfigMap, secrets from
    // a Secret as environment variables.
    let volumes = pod["volumes"].as_sequence().expect("volumes");
    let mounts = c["volumeMounts"].as_sequence().expect("volumeMounts");
    let mount_of = |path: &str| {
        mounts
            .iter()
            .filter(|m| path.starts_with(str_of(&m["mountPath"])))
            .max_by_key(|m| str_of(&m["mountPath"]).len())
            .and_then(|m| volumes.iter().find(|v| v["name"] == m["name"]))
            .unwrap_or_else(|| panic!("nothing is mounted at {path}"))
    };
    let claim = str_of(&mount_of(state)["persistentVolumeClaim"]["claimName"]);
    let claims = kind(&docs, "PersistentVolumeClaim");
    assert!(claims.iter().any(|p| str_of(&p["metadata"]["name"]) == claim), "no claim {claim:?}");
    assert!(!mount_of(runbook)["configMap"].is_null(), "the runbook comes from a ConfigMap");
    let secret =
        c["envFrom"].as_sequence().and_then(|e| e.iter().find(|x| !x["secretRef"].is_null()));
    assert!(secret.is_some(), "secrets come from a Secret as environment variables");
}

/// Every `--flag` the two files pass to `drbook watch` is one `drbook watch --help` lists.
#[test]
fn the_deployment_files_use_only_flags_drbook_watch_has() {
    let help = crate::Test::new().args(&["watch", "--help"]).run();
    help.expect_status(0);
    let unit = setting(&settings(&read(UNIT)), "ExecStart");
    let docs = manifest();
    let d = kind(&docs, "Deployment")[0];
    let args = &d["spec"]["template"]["spec"]["containers"][0]["args"];
    let k8s: Vec<&str> = args.as_sequence().expect("args").iter().map(str_of).collect();
    let flags: Vec<&str> =
        unit.split_whitespace().chain(k8s).filter(|w| w.starts_with("--")).collect();
    assert!(flags.len() >= 4, "{flags:?}");
    for flag in flags {
        assert!(help.stdout.contains(flag), "`drbook watch --help` has no {flag}\n{}", help.stdout);
    }
}
