//! `ssmd`: an in-suite AWS Systems Manager endpoint for the `ssm` action tests.
//!
//! Speaks the awsJson1.1 protocol (`POST /`, `X-Amz-Target: AmazonSSM.<Operation>`, JSON in
//! and out, errors as HTTP 400 with `{"__type", "message"}`) over HTTP/1.1 with keep-alive, on
//! `127.0.0.1:<free port>`, one thread per connection, std only. It lives in the test process,
//! so a test can SIGKILL a runner and `resume` against the same server and the same commands.
//!
//! Behaviour is chosen by the names a runbook uses, so tests need no setup calls:
//!
//! | instance id | its invocation |
//! |---|---|
//! | `i-ok*` (and any other id) | Pending, InProgress, then Success, stdout `hello from <id>\n` |
//! | `i-fail*` | Pending, InProgress, then Failed: ResponseCode 1, stderr `boom on <id>: ...` |
//! | `i-timeout*` | Pending, InProgress, then TimedOut (`Execution Timed Out`) |
//! | `i-slow*` | Pending, then InProgress until CancelCommand: Cancelled |
//! | `i-wait*` | Pending, then InProgress until [`SsmServer::release`]: Success, `hello from <id>\n` |
//! | `i-bad*` | SendCommand fails: `InvalidInstanceId` |
//!
//! Every read of an invocation (ListCommands, ListCommandInvocations, GetCommandInvocation)
//! counts as one poll of it: the first read shows Pending, the second InProgress, and from the
//! third on it has its scripted end ([`POLLS`] = 2 polls before it). Tag targets resolve with
//! [`tag_instances`] (`tag:role` = `web`: i-ok1, i-ok2) and are learnable only through
//! ListCommandInvocations (the Command lists no InstanceIds, like AWS).
//!
//! | automation document | its execution |
//! |---|---|
//! | `Ok-*` | Pending, InProgress, then Success (steps stopService, restartService) |
//! | `Fail-*` | Pending, InProgress, then Failed: step `restartService` Failed, "service did not start" |
//! | `Slow-*` | InProgress until StopAutomationExecution: Cancelled |
//! | `Wait-*` | InProgress until [`SsmServer::release`]: Success |
//! | anything else | StartAutomationExecution fails: `InvalidDocument` |
//!
//! Parameters live in memory, seeded by [`SsmServer::with_parameters`]. Every request is
//! recorded in order ([`SsmServer::calls`]), with its `Authorization` header (which names the
//! access key and the region the request was signed for).

use crate::Test;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Reads of an invocation or execution that show it unfinished before its scripted end.
pub const POLLS: u32 = 2;

/// One request the server received.
#[derive(Clone, Debug)]
pub struct Call {
    /// The operation, e.g. `SendCommand`.
    pub op: String,
    /// The JSON body (`{}` when empty).
    pub body: Value,
    /// The `Authorization` header (SigV4: `Credential=KEY/DATE/REGION/ssm/aws4_request`).
    pub authorization: String,
}

/// A running server; stops on drop.
pub struct SsmServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    stop: AtomicBool,
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    commands: Vec<Cmd>,
    automations: Vec<Auto>,
    params: BTreeMap<String, Param>,
    released: bool,
    ids: u64,
    seed: u64,
}

struct Param {
    kind: String,
    value: String,
    version: u64,
    modified: f64,
}

struct Cmd {
    id: String,
    request: Value,
    instance_ids: Vec<String>,
    invocations: Vec<Inv>,
    requested: f64,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Script {
    Ok,
    Fail,
    Timeout,
    Slow,
    Wait,
}

struct Inv {
    instance: String,
    script: Script,
    reads: u32,
    cancelled: bool,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum AutoScript {
    Ok,
    Fail,
    Slow,
    Wait,
}

struct Auto {
    id: String,
    document: String,
    parameters: Value,
    script: AutoScript,
    reads: u32,
    stopped: bool,
    started: f64,
}

type Reply = Result<Value, (&'static str, String)>;

/// Instances behind a tag, as AWS would resolve `Targets: [{Key: "tag:K", Values: [V]}]`.
pub fn tag_instances(key: &str, value: &str) -> Vec<&'static str> {
    match (key, value) {
        ("role", "web") | ("dr-tier", "warm-standby") => vec!["i-ok1", "i-ok2"],
        ("role", "mixed") => vec!["i-ok1", "i-fail1"],
        ("role", "slow") => vec!["i-slow1"],
        ("role", "wait") => vec!["i-wait1"],
        _ => Vec::new(),
    }
}

fn script_of(instance: &str) -> Script {
    if instance.starts_with("i-fail") {
        Script::Fail
    } else if instance.starts_with("i-timeout") {
        Script::Timeout
    } else if instance.starts_with("i-slow") {
        Script::Slow
    } else if instance.starts_with("i-wait") {
        Script::Wait
    } else {
        Script::Ok
    }
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// `2026-11-23T10:00:00.000Z` for epoch seconds (GetCommandInvocation's dates are strings).
fn iso(secs: f64) -> String {
    let whole = secs.floor() as i64;
    let ms = ((secs - secs.floor()) * 1000.0) as i64;
    let (days, rem) = (whole.div_euclid(86_400), whole.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn str_of<'a>(body: &'a Value, key: &str) -> &'a str {
    body[key].as_str().unwrap_or("")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// How many failed invocations `max_errors` allows out of `targets` (AWS: a count or a
/// percentage; absent means 0).
fn allowed_errors(max_errors: &str, targets: usize) -> usize {
    match max_errors.strip_suffix('%') {
        Some(pct) => pct.trim().parse::<usize>().map(|p| p * targets / 100).unwrap_or(0),
        None => max_errors.trim().parse().unwrap_or(0),
    }
}

impl Inv {
    /// `(Status, StatusDetails)` now, without counting a read.
    fn status(&self, released: bool) -> (&'static str, &'static str) {
        let end = match self.script {
            Script::Ok => ("Success", "Success"),
            Script::Fail => ("Failed", "Failed"),
            Script::Timeout => ("TimedOut", "Execution Timed Out"),
            Script::Slow => ("InProgress", "In Progress"),
            Script::Wait if released => ("Success", "Success"),
            Script::Wait => ("InProgress", "In Progress"),
        };
        if self.cancelled {
            return ("Cancelled", "Cancelled");
        }
        match self.reads {
            r if r < POLLS => ("Pending", "Pending"),
            r if r == POLLS => ("InProgress", "In Progress"),
            _ => end,
        }
    }

    fn terminal(&self, released: bool) -> bool {
        matches!(self.status(released).0, "Success" | "Failed" | "TimedOut" | "Cancelled")
    }

    /// `(ResponseCode, StandardOutputContent, StandardErrorContent)` now.
    fn output(&self, released: bool) -> (i64, String, String) {
        let id = &self.instance;
        match self.status(released).0 {
            "Success" => (0, format!("hello from {id}\n"), String::new()),
            "Failed" => (
                1,
                format!("starting on {id}\n"),
                format!("boom on {id}: service exited with status 1\n"),
            ),
            "InProgress" if self.script == Script::Slow => {
                (-1, format!("still working on {id}\n"), String::new())
            }
            "Cancelled" => (-1, format!("still working on {id}\n"), String::new()),
            _ => (-1, String::new(), String::new()),
        }
    }
}

impl Cmd {
    /// The `Command` structure (SendCommand, ListCommands).
    fn to_json(&self, released: bool) -> Value {
        let r = &self.request;
        let n = self.invocations.len();
        let done = self.invocations.iter().filter(|i| i.terminal(released)).count();
        let status_of = |i: &Inv| i.status(released).0;
        let errors = self
            .invocations
            .iter()
            .filter(|i| matches!(status_of(i), "Failed" | "TimedOut"))
            .count();
        let max_errors = r["MaxErrors"].as_str().unwrap_or("0");
        let status = if done < n {
            if self.invocations.iter().all(|i| status_of(i) == "Pending") {
                "Pending"
            } else {
                "InProgress"
            }
        } else if self.invocations.iter().any(|i| status_of(i) == "Cancelled") {
            "Cancelled"
        } else if errors > allowed_errors(max_errors, n) {
            "Failed"
        } else {
            "Success"
        };
        let targets = if r["Targets"].is_array() { r["Targets"].clone() } else { json!([]) };
        json!({
            "CommandId": self.id,
            "DocumentName": r["DocumentName"],
            "DocumentVersion": r["DocumentVersion"].as_str().unwrap_or("$DEFAULT"),
            "Comment": r["Comment"].as_str().unwrap_or(""),
            "ExpiresAfter": self.requested + 3600.0,
            "Parameters": if r["Parameters"].is_object() { r["Parameters"].clone() } else { json!({}) },
            "InstanceIds": self.instance_ids,
            "Targets": targets,
            "RequestedDateTime": self.requested,
            "Status": status,
            "StatusDetails": status,
            "OutputS3Region": "us-east-1",
            "OutputS3BucketName": "",
            "OutputS3KeyPrefix": "",
            "MaxConcurrency": r["MaxConcurrency"].as_str().unwrap_or("50"),
            "MaxErrors": max_errors,
            "TargetCount": n,
            "CompletedCount": done,
            "ErrorCount": errors,
            "DeliveryTimedOutCount": 0,
            "ServiceRole": "",
            "CloudWatchOutputConfig": { "CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": false },
            "TimeoutSeconds": r["TimeoutSeconds"].as_i64().unwrap_or(3600),
        })
    }
}

impl Auto {
    fn status(&self, released: bool) -> &'static str {
        let end = match self.script {
            AutoScript::Ok => "Success",
            AutoScript::Fail => "Failed",
            AutoScript::Slow => "InProgress",
            AutoScript::Wait if released => "Success",
            AutoScript::Wait => "InProgress",
        };
        if self.stopped {
            return "Cancelled";
        }
        match self.reads {
            r if r < POLLS => "Pending",
            r if r == POLLS => "InProgress",
            _ => end,
        }
    }

    fn terminal(&self, released: bool) -> bool {
        matches!(self.status(released), "Success" | "Failed" | "TimedOut" | "Cancelled")
    }

    fn to_json(&self, released: bool) -> Value {
        let status = self.status(released);
        let step = |name: &str, status: &str, failure: Option<&str>| {
            let mut s = json!({
                "StepName": name,
                "Action": "aws:runCommand",
                "ExecutionStartTime": self.started,
                "StepStatus": status,
                "StepExecutionId": format!("{}-{name}", self.id),
                "Inputs": {},
                "Outputs": {},
            });
            if let Some(f) = failure {
                s["FailureMessage"] = json!(f);
                s["ResponseCode"] = json!("1");
            }
            s
        };
        let steps = match status {
            "Pending" => vec![],
            "InProgress" | "Cancelled" => {
                vec![step("stopService", "Success", None), step("restartService", status, None)]
            }
            "Success" => {
                vec![step("stopService", "Success", None), step("restartService", "Success", None)]
            }
            _ => vec![
                step("stopService", "Success", None),
                step("restartService", "Failed", Some("service did not start")),
            ],
        };
        let mut e = json!({
            "AutomationExecutionId": self.id,
            "DocumentName": self.document,
            "DocumentVersion": "1",
            "ExecutionStartTime": self.started,
            "AutomationExecutionStatus": status,
            "StepExecutions": steps,
            "StepExecutionsTruncated": false,
            "Parameters": self.parameters,
            "Outputs": if status == "Success" { json!({"restartService.Status": ["active"]}) } else { json!({}) },
            "Mode": "Auto",
            "ExecutedBy": "arn:aws:iam::123456789012:user/test",
        });
        if self.terminal(released) {
            e["ExecutionEndTime"] = json!(self.started + 1.0);
        }
        if status == "Failed" {
            // Deliberately generic: the failed step is named only in StepExecutions.
            e["FailureMessage"] = json!("The automation execution failed.");
        }
        e
    }
}

impl State {
    fn new_id(&mut self) -> String {
        self.ids += 1;
        let (a, b) = (self.seed, self.ids);
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a & 0xffff_ffff,
            (a >> 32) & 0xffff,
            b >> 12 & 0xfff,
            b & 0xfff,
            (a.rotate_left(17) ^ b) & 0xffff_ffff_ffff
        )
    }

    fn command(&mut self, body: &Value) -> Result<&mut Cmd, (&'static str, String)> {
        let id = str_of(body, "CommandId");
        if id.is_empty() {
            return Err(("ValidationException", "CommandId is required".into()));
        }
        self.commands
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or(("InvalidCommandId", format!("Invalid command id {id}.")))
    }

    fn automation(&mut self, body: &Value) -> Result<&mut Auto, (&'static str, String)> {
        let id = str_of(body, "AutomationExecutionId").to_string();
        self.automations.iter_mut().find(|a| a.id == id).ok_or((
            "AutomationExecutionNotFoundException",
            format!("Automation execution {id} not found."),
        ))
    }

    fn handle(&mut self, op: &str, body: &Value) -> Reply {
        let released = self.released;
        match op {
            "SendCommand" => self.send_command(body),
            "ListCommands" => {
                let only = str_of(body, "CommandId").to_string();
                if !only.is_empty() && !self.commands.iter().any(|c| c.id == only) {
                    return Err(("InvalidCommandId", format!("Invalid command id {only}.")));
                }
                let mut out = Vec::new();
                for c in self.commands.iter_mut().rev() {
                    if only.is_empty() || c.id == only {
                        c.invocations.iter_mut().for_each(|i| i.reads += 1);
                        out.push(c.to_json(released));
                    }
                }
                Ok(json!({ "Commands": out }))
            }
            "ListCommandInvocations" => {
                let details = body["Details"].as_bool().unwrap_or(false);
                let instance = str_of(body, "InstanceId").to_string();
                let c = self.command(body)?;
                let (id, doc) = (c.id.clone(), c.request["DocumentName"].clone());
                let comment = c.request["Comment"].as_str().unwrap_or("").to_string();
                let requested = c.requested;
                let mut out = Vec::new();
                for i in c.invocations.iter_mut() {
                    if !instance.is_empty() && i.instance != instance {
                        continue;
                    }
                    i.reads += 1;
                    let (status, details_text) = i.status(released);
                    let mut inv = json!({
                        "CommandId": id,
                        "InstanceId": i.instance,
                        "InstanceName": "",
                        "Comment": comment,
                        "DocumentName": doc,
                        "DocumentVersion": "$DEFAULT",
                        "RequestedDateTime": requested,
                        "Status": status,
                        "StatusDetails": details_text,
                        "TraceOutput": "",
                        "StandardOutputUrl": "",
                        "StandardErrorUrl": "",
                        "CommandPlugins": [],
                        "ServiceRole": "",
                        "CloudWatchOutputConfig": { "CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": false },
                    });
                    if details {
                        let (code, out, err) = i.output(released);
                        let combined = if err.is_empty() {
                            out
                        } else {
                            format!("{out}\n----------ERROR-------\n{err}")
                        };
                        inv["CommandPlugins"] = json!([{
                            "Name": "aws:runShellScript",
                            "Status": status,
                            "StatusDetails": details_text,
                            "ResponseCode": code,
                            "Output": combined,
                            "StandardOutputUrl": "",
                            "StandardErrorUrl": "",
                            "OutputS3Region": "us-east-1",
                            "OutputS3BucketName": "",
                            "OutputS3KeyPrefix": "",
                        }]);
                    }
                    out.push(inv);
                }
                Ok(json!({ "CommandInvocations": out }))
            }
            "GetCommandInvocation" => {
                let instance = str_of(body, "InstanceId").to_string();
                let c = self.command(body)?;
                let (id, doc) = (c.id.clone(), c.request["DocumentName"].clone());
                let comment = c.request["Comment"].as_str().unwrap_or("").to_string();
                let requested = c.requested;
                let Some(i) = c.invocations.iter_mut().find(|i| i.instance == instance) else {
                    return Err((
                        "InvocationDoesNotExist",
                        format!("No invocation of command {id} on instance {instance}."),
                    ));
                };
                i.reads += 1;
                let (status, details) = i.status(released);
                let (code, out, err) = i.output(released);
                let started = if status == "Pending" { String::new() } else { iso(requested) };
                let ended = if i.terminal(released) { iso(requested + 0.5) } else { String::new() };
                Ok(json!({
                    "CommandId": id,
                    "InstanceId": instance,
                    "Comment": comment,
                    "DocumentName": doc,
                    "DocumentVersion": "$DEFAULT",
                    "PluginName": "aws:runShellScript",
                    "ResponseCode": code,
                    "ExecutionStartDateTime": started,
                    "ExecutionElapsedTime": "PT0.5S",
                    "ExecutionEndDateTime": ended,
                    "Status": status,
                    "StatusDetails": details,
                    "StandardOutputContent": out,
                    "StandardOutputUrl": "",
                    "StandardErrorContent": err,
                    "StandardErrorUrl": "",
                    "CloudWatchOutputConfig": { "CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": false },
                }))
            }
            "CancelCommand" => {
                let only = strings(&body["InstanceIds"]);
                let c = self.command(body)?;
                for i in c.invocations.iter_mut() {
                    if (only.is_empty() || only.contains(&i.instance)) && !i.terminal(released) {
                        i.cancelled = true;
                    }
                }
                Ok(json!({}))
            }
            "StartAutomationExecution" => {
                let doc = str_of(body, "DocumentName").to_string();
                let script = if doc.starts_with("Ok-") {
                    AutoScript::Ok
                } else if doc.starts_with("Fail-") {
                    AutoScript::Fail
                } else if doc.starts_with("Slow-") {
                    AutoScript::Slow
                } else if doc.starts_with("Wait-") {
                    AutoScript::Wait
                } else {
                    return Err(("InvalidDocument", format!("Document {doc} does not exist.")));
                };
                let id = self.new_id();
                let parameters = if body["Parameters"].is_object() {
                    body["Parameters"].clone()
                } else {
                    json!({})
                };
                self.automations.push(Auto {
                    id: id.clone(),
                    document: doc,
                    parameters,
                    script,
                    reads: 0,
                    stopped: false,
                    started: now(),
                });
                Ok(json!({ "AutomationExecutionId": id }))
            }
            "GetAutomationExecution" => {
                let a = self.automation(body)?;
                a.reads += 1;
                Ok(json!({ "AutomationExecution": a.to_json(released) }))
            }
            "StopAutomationExecution" => {
                let a = self.automation(body)?;
                if !a.terminal(released) {
                    a.stopped = true;
                }
                Ok(json!({}))
            }
            "PutParameter" => self.put_parameter(body),
            "GetParameter" => {
                let name = str_of(body, "Name");
                let decrypt = body["WithDecryption"].as_bool().unwrap_or(false);
                match self.params.get(name) {
                    Some(p) => Ok(json!({ "Parameter": param_json(name, p, decrypt) })),
                    None => Err(("ParameterNotFound", format!("Parameter {name} not found."))),
                }
            }
            "GetParameters" => {
                let decrypt = body["WithDecryption"].as_bool().unwrap_or(false);
                let (mut found, mut invalid) = (Vec::new(), Vec::new());
                for name in strings(&body["Names"]) {
                    match self.params.get(&name) {
                        Some(p) => found.push(param_json(&name, p, decrypt)),
                        None => invalid.push(name),
                    }
                }
                Ok(json!({ "Parameters": found, "InvalidParameters": invalid }))
            }
            _ => Err(("UnknownOperationException", format!("ssmd does not implement {op}"))),
        }
    }

    fn send_command(&mut self, body: &Value) -> Reply {
        if str_of(body, "DocumentName").is_empty() {
            return Err(("ValidationException", "DocumentName is required".into()));
        }
        let instance_ids = strings(&body["InstanceIds"]);
        let targets = body["Targets"].as_array().cloned().unwrap_or_default();
        if instance_ids.is_empty() == targets.is_empty() {
            return Err((
                "ValidationException",
                "exactly one of InstanceIds and Targets must be given".into(),
            ));
        }
        let instances: Vec<String> = if targets.is_empty() {
            if let Some(bad) = instance_ids.iter().find(|i| i.starts_with("i-bad")) {
                return Err((
                    "InvalidInstanceId",
                    format!("Instances [[{bad}]] not in a valid state for account 123456789012"),
                ));
            }
            instance_ids.clone()
        } else {
            // Targets are ANDed, like AWS.
            let mut set: Option<Vec<String>> = None;
            for t in &targets {
                let key = str_of(t, "Key");
                let values = strings(&t["Values"]);
                let found: Vec<String> = if key == "InstanceIds" {
                    values
                } else if let Some(tag) = key.strip_prefix("tag:") {
                    values.iter().flat_map(|v| tag_instances(tag, v)).map(str::to_string).collect()
                } else {
                    return Err(("ValidationException", format!("unsupported target key {key}")));
                };
                set = Some(match set {
                    None => found,
                    Some(prev) => prev.into_iter().filter(|i| found.contains(i)).collect(),
                });
            }
            set.unwrap_or_default()
        };
        let id = self.new_id();
        let cmd = Cmd {
            id,
            request: body.clone(),
            instance_ids,
            invocations: instances
                .iter()
                .map(|i| Inv {
                    instance: i.clone(),
                    script: script_of(i),
                    reads: 0,
                    cancelled: false,
                })
                .collect(),
            requested: now(),
        };
        let reply = json!({ "Command": cmd.to_json(self.released) });
        self.commands.push(cmd);
        Ok(reply)
    }

    fn put_parameter(&mut self, body: &Value) -> Reply {
        let name = str_of(body, "Name");
        let value = body["Value"].as_str();
        let overwrite = body["Overwrite"].as_bool().unwrap_or(false);
        let kind = body["Type"].as_str();
        let (Some(value), false) = (value, name.is_empty()) else {
            return Err(("ValidationException", "Name and Value are required".into()));
        };
        if let Some(k) = kind {
            if !matches!(k, "String" | "StringList" | "SecureString") {
                return Err(("ValidationException", format!("invalid parameter Type {k}")));
            }
        }
        let version = match self.params.get(name) {
            Some(_) if !overwrite => {
                return Err((
                    "ParameterAlreadyExists",
                    "The parameter already exists. To overwrite this value, set the overwrite \
                     option in the request to true."
                        .into(),
                ))
            }
            Some(p) => p.version + 1,
            None if kind.is_none() => {
                return Err(("ValidationException", "Type is required for a new parameter".into()))
            }
            None => 1,
        };
        let kind = kind
            .map(str::to_string)
            .unwrap_or_else(|| self.params.get(name).map(|p| p.kind.clone()).unwrap_or_default());
        self.params.insert(
            name.to_string(),
            Param { kind, value: value.to_string(), version, modified: now() },
        );
        Ok(json!({ "Version": version, "Tier": "Standard" }))
    }
}

fn param_json(name: &str, p: &Param, decrypt: bool) -> Value {
    let value = if p.kind == "SecureString" && !decrypt {
        "AQICAHh-ciphertext-not-decrypted".to_string()
    } else {
        p.value.clone()
    };
    json!({
        "Name": name,
        "Type": p.kind,
        "Value": value,
        "Version": p.version,
        "LastModifiedDate": p.modified,
        "ARN": format!("arn:aws:ssm:us-east-1:123456789012:parameter/{}", name.trim_start_matches('/')),
        "DataType": "text",
    })
}

impl SsmServer {
    /// A server with an empty parameter store.
    pub fn start() -> SsmServer {
        SsmServer::with_parameters(&[])
    }

    /// A server whose store holds `(name, type, value)` (type `String` or `SecureString`).
    pub fn with_parameters(params: &[(&str, &str, &str)]) -> SsmServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind ssmd to a free port");
        let addr = listener.local_addr().expect("ssmd's address");
        let mut state = State {
            seed: u64::from(addr.port()).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ u64::from(std::process::id()),
            ..State::default()
        };
        for (name, kind, value) in params {
            state.params.insert(
                (*name).to_string(),
                Param {
                    kind: (*kind).to_string(),
                    value: (*value).to_string(),
                    version: 1,
                    modified: now(),
                },
            );
        }
        let shared = Arc::new(Shared { state: Mutex::new(state), stop: AtomicBool::new(false) });
        let s = Arc::clone(&shared);
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let s = Arc::clone(&s);
                std::thread::spawn(move || serve(conn, &s));
            }
        });
        SsmServer { addr, shared, accept: Some(accept) }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every request so far, in order.
    pub fn all_calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// The bodies of the requests of operation `op`, in order.
    pub fn calls(&self, op: &str) -> Vec<Value> {
        self.state().calls.iter().filter(|c| c.op == op).map(|c| c.body.clone()).collect()
    }

    /// The operations received so far, in order.
    pub fn ops(&self) -> Vec<String> {
        self.state().calls.iter().map(|c| c.op.clone()).collect()
    }

    /// The ids of the commands sent so far, in order.
    pub fn command_ids(&self) -> Vec<String> {
        self.state().commands.iter().map(|c| c.id.clone()).collect()
    }

    /// The ids of the automation executions started so far, in order.
    pub fn automation_ids(&self) -> Vec<String> {
        self.state().automations.iter().map(|a| a.id.clone()).collect()
    }

    /// A stored parameter: `(type, value)`.
    pub fn parameter(&self, name: &str) -> Option<(String, String)> {
        self.state().params.get(name).map(|p| (p.kind.clone(), p.value.clone()))
    }

    /// Lets every `i-wait*` invocation and `Wait-*` execution finish (with Success).
    pub fn release(&self) {
        self.state().released = true;
    }

    /// Polls until a request of `op` has arrived; panics after `limit`.
    #[track_caller]
    pub fn wait_for(&self, op: &str, limit: Duration) {
        let start = Instant::now();
        while self.calls(op).is_empty() {
            assert!(start.elapsed() < limit, "no {op} within {limit:?}; got {:?}", self.ops());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `t` with the environment of a drbook that talks to this server.
    pub fn env(&self, t: Test) -> Test {
        aws_env(t, &self.url())
    }
}

impl Drop for SsmServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// Environment variables that could point drbook at real AWS or other credentials.
const AWS_LEAKS: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
];

/// `t` without any AWS configuration from the machine: no profile, no config or credentials
/// file (they point at files that do not exist in the test's directory), no instance
/// metadata; fast polling. Credentials and region are left for the caller.
pub fn aws_isolated(t: Test) -> Test {
    let config = t.path("no-aws-config").display().to_string();
    let credentials = t.path("no-aws-credentials").display().to_string();
    let mut t = t;
    for k in AWS_LEAKS {
        t = t.without_env(k);
    }
    t.without_env("AWS_ACCESS_KEY_ID")
        .without_env("AWS_SECRET_ACCESS_KEY")
        .without_env("AWS_REGION")
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("DRBOOK_SSM_POLL_MS", "50")
}

/// `t` with test credentials, region us-east-1 and the SSM endpoint `endpoint`.
pub fn aws_env(t: Test, endpoint: &str) -> Test {
    aws_isolated(t)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL_SSM", endpoint)
}

/// One parsed HTTP request.
struct Request {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

/// A client connection with what was read from it but not yet consumed.
struct Conn<'a> {
    stream: TcpStream,
    buf: Vec<u8>,
    stop: &'a AtomicBool,
}

impl Conn<'_> {
    /// Reads more bytes; false at end of stream, on an error or once the server stops.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return true;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    if self.stop.load(Ordering::SeqCst) {
                        return false;
                    }
                }
                Err(_) => return false,
            }
        }
    }

    /// The bytes up to (not including) the next `delim`, consumed with it.
    fn until(&mut self, delim: &[u8]) -> Option<Vec<u8>> {
        loop {
            if let Some(i) = self.buf.windows(delim.len()).position(|w| w == delim) {
                let out = self.buf[..i].to_vec();
                self.buf.drain(..i + delim.len());
                return Some(out);
            }
            if !self.fill() {
                return None;
            }
        }
    }

    fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill() {
                return None;
            }
        }
        Some(self.buf.drain(..n).collect())
    }

    fn request(&mut self) -> Option<Request> {
        let head = self.until(b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&head).into_owned();
        let mut lines = head.split("\r\n");
        let _request_line = lines.next()?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let mut req = Request { headers, body: Vec::new() };
        if req.header("expect").eq_ignore_ascii_case("100-continue") {
            let _ = self.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        if req.header("transfer-encoding").eq_ignore_ascii_case("chunked") {
            loop {
                let size = String::from_utf8_lossy(&self.until(b"\r\n")?).into_owned();
                let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
                if size == 0 {
                    while !self.until(b"\r\n")?.is_empty() {} // trailers
                    break;
                }
                let chunk = self.take(size)?;
                req.body.extend_from_slice(&chunk);
                self.take(2)?;
            }
        } else {
            let n = req.header("content-length").parse().unwrap_or(0);
            req.body = self.take(n)?;
        }
        Some(req)
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let _ = stream.set_nodelay(true);
    let mut conn = Conn { stream, buf: Vec::new(), stop: &shared.stop };
    while let Some(req) = conn.request() {
        let (status, body) = respond(shared, &req);
        let body = body.to_string();
        let reason = if status == 200 { "OK" } else { "Bad Request" };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-amz-json-1.1\r\n\
             Content-Length: {}\r\nx-amzn-RequestId: ssmd-request\r\n\r\n",
            body.len()
        );
        let mut out = head.into_bytes();
        out.extend_from_slice(body.as_bytes());
        if conn.stream.write_all(&out).is_err() || conn.stream.flush().is_err() {
            return;
        }
        if req.header("connection").eq_ignore_ascii_case("close") {
            return;
        }
    }
}

fn respond(shared: &Shared, req: &Request) -> (u16, Value) {
    let target = req.header("x-amz-target");
    let op = target.strip_prefix("AmazonSSM.").unwrap_or(target).to_string();
    let body: Value = if req.body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(e) => {
                let msg = format!("the body is not JSON: {e}");
                return (400, json!({ "__type": "SerializationException", "message": msg }));
            }
        }
    };
    let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    state.calls.push(Call {
        op: op.clone(),
        body: body.clone(),
        authorization: req.header("authorization").to_string(),
    });
    match state.handle(&op, &body) {
        Ok(v) => (200, v),
        Err((kind, message)) => (400, json!({ "__type": kind, "message": message })),
    }
}

// The server's own tests, with a raw HTTP/1.1 client: no drbook involved.

/// A keep-alive client connection.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(server: &SsmServer) -> Client {
        let stream = TcpStream::connect(server.addr).expect("connect to ssmd");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("set a read timeout");
        Client { stream, buf: Vec::new() }
    }

    fn send_raw(&mut self, bytes: &[u8]) -> (u16, Value) {
        self.stream.write_all(bytes).expect("send a request");
        self.response()
    }

    fn call(&mut self, op: &str, body: Value) -> (u16, Value) {
        let body = body.to_string();
        let head = format!(
            "POST / HTTP/1.1\r\nHost: ssmd\r\nX-Amz-Target: AmazonSSM.{op}\r\n\
             Content-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        self.send_raw(format!("{head}{body}").as_bytes())
    }

    /// `call` expecting 200.
    #[track_caller]
    fn ok(&mut self, op: &str, body: Value) -> Value {
        let (status, v) = self.call(op, body);
        assert_eq!(status, 200, "{op}: {v}");
        v
    }

    /// `call` expecting a 400 of `kind`.
    #[track_caller]
    fn err(&mut self, op: &str, body: Value, kind: &str) {
        let (status, v) = self.call(op, body);
        assert_eq!((status, v["__type"].as_str()), (400, Some(kind)), "{op}: {v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{op}: a message: {v}");
    }

    fn response(&mut self) -> (u16, Value) {
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                let status: u16 =
                    head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status code");
                if status == 100 {
                    self.buf.drain(..end + 4);
                    continue;
                }
                assert!(head.contains("Content-Type: application/x-amz-json-1.1"), "{head}");
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .and_then(|n| n.trim().parse().ok())
                    .expect("a Content-Length");
                if self.buf.len() >= end + 4 + len {
                    let body: Vec<u8> = self.buf.drain(..end + 4 + len).skip(end + 4).collect();
                    return (status, serde_json::from_slice(&body).expect("a JSON reply"));
                }
            }
            let n = self.stream.read(&mut chunk).expect("read a response");
            assert!(n > 0, "ssmd closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn send(c: &mut Client, body: Value) -> String {
    let v = c.ok("SendCommand", body);
    assert_eq!(v["Command"]["Status"], "Pending", "{v}");
    let id = v["Command"]["CommandId"].as_str().expect("a CommandId").to_string();
    assert_eq!(id.len(), 36, "a UUID-shaped id: {id}");
    id
}

fn invocation(c: &mut Client, id: &str, instance: &str) -> Value {
    c.ok("GetCommandInvocation", json!({ "CommandId": id, "InstanceId": instance }))
}

#[test]
fn ssmd_runs_ok_and_failed_invocations_on_one_keep_alive_connection() {
    let server = SsmServer::start();
    let mut c = Client::connect(&server);
    let id = send(
        &mut c,
        json!({
            "DocumentName": "AWS-RunShellScript",
            "InstanceIds": ["i-ok1", "i-fail1"],
            "Parameters": { "commands": ["echo hi"] },
            "MaxErrors": "0",
        }),
    );
    let seen: Vec<Value> =
        (0..3).map(|_| invocation(&mut c, &id, "i-ok1")["Status"].clone()).collect();
    assert_eq!(seen, [json!("Pending"), json!("InProgress"), json!("Success")]);
    let ok = invocation(&mut c, &id, "i-ok1");
    assert_eq!(ok["StandardOutputContent"], "hello from i-ok1\n");
    assert_eq!(
        (ok["ResponseCode"].as_i64(), ok["StatusDetails"].as_str()),
        (Some(0), Some("Success"))
    );
    assert!(ok["ExecutionStartDateTime"]
        .as_str()
        .is_some_and(|d| d.ends_with('Z') && d.len() == 24));

    // Still running until its own polls are done: the command is InProgress.
    assert_eq!(invocation(&mut c, &id, "i-fail1")["Status"], "Pending");
    let cmds = c.ok("ListCommands", json!({ "CommandId": id }));
    let cmd = &cmds["Commands"][0];
    assert_eq!(
        (cmd["Status"].as_str(), cmd["CompletedCount"].as_u64()),
        (Some("InProgress"), Some(1))
    );
    assert!(cmd["RequestedDateTime"].is_f64(), "timestamps are epoch seconds: {cmd}");
    let failed = invocation(&mut c, &id, "i-fail1");
    assert_eq!(failed["Status"], "Failed");
    assert_eq!(failed["ResponseCode"], 1);
    assert!(failed["StandardErrorContent"].as_str().is_some_and(|e| e.contains("boom on i-fail1")));
    let cmds = c.ok("ListCommands", json!({ "CommandId": id }));
    let cmd = &cmds["Commands"][0];
    assert_eq!(cmd["Status"], "Failed", "one error with MaxErrors 0: {cmd}");
    assert_eq!((cmd["TargetCount"].as_u64(), cmd["ErrorCount"].as_u64()), (Some(2), Some(1)));
    assert_eq!(cmd["InstanceIds"], json!(["i-ok1", "i-fail1"]));

    c.err(
        "GetCommandInvocation",
        json!({ "CommandId": id, "InstanceId": "i-x" }),
        "InvocationDoesNotExist",
    );
    c.err("ListCommands", json!({ "CommandId": "0000" }), "InvalidCommandId");
    let ops = server.ops();
    assert_eq!(ops.len(), 11, "every request is recorded: {ops:?}");
    assert_eq!(server.calls("SendCommand")[0]["InstanceIds"], json!(["i-ok1", "i-fail1"]));
}

#[test]
fn ssmd_allows_max_errors_and_times_out_invocations() {
    let server = SsmServer::start();
    let mut c = Client::connect(&server);
    let id = send(
        &mut c,
        json!({ "DocumentName": "AWS-RunShellScript", "InstanceIds": ["i-ok1", "i-timeout1"], "MaxErrors": "1" }),
    );
    for _ in 0..3 {
        c.ok("ListCommands", json!({ "CommandId": id }));
    }
    let t = invocation(&mut c, &id, "i-timeout1");
    assert_eq!(
        (t["Status"].as_str(), t["StatusDetails"].as_str()),
        (Some("TimedOut"), Some("Execution Timed Out"))
    );
    let cmd = c.ok("ListCommands", json!({ "CommandId": id }))["Commands"][0].clone();
    assert_eq!((cmd["Status"].as_str(), cmd["ErrorCount"].as_u64()), (Some("Success"), Some(1)));
}

#[test]
fn ssmd_resolves_tag_targets_only_through_list_command_invocations() {
    let server = SsmServer::start();
    let mut c = Client::connect(&server);
    let id = send(
        &mut c,
        json!({ "DocumentName": "AWS-RunShellScript", "Targets": [{ "Key": "tag:role", "Values": ["web"] }] }),
    );
    let cmd = c.ok("ListCommands", json!({ "CommandId": id }))["Commands"][0].clone();
    assert_eq!(cmd["InstanceIds"], json!([]));
    assert_eq!(cmd["Targets"], json!([{ "Key": "tag:role", "Values": ["web"] }]));
    let invs = c.ok("ListCommandInvocations", json!({ "CommandId": id, "Details": true }));
    let ids: Vec<&str> = invs["CommandInvocations"]
        .as_array()
        .expect("CommandInvocations")
        .iter()
        .filter_map(|i| i["InstanceId"].as_str())
        .collect();
    assert_eq!(ids, ["i-ok1", "i-ok2"]);
    let v = c.ok("ListCommandInvocations", json!({ "CommandId": id, "Details": true }));
    let plugin = &v["CommandInvocations"][0]["CommandPlugins"][0];
    assert_eq!(
        (plugin["Status"].as_str(), plugin["Output"].as_str()),
        (Some("Success"), Some("hello from i-ok1\n"))
    );
    c.err(
        "SendCommand",
        json!({ "DocumentName": "D", "InstanceIds": ["i-bad1"] }),
        "InvalidInstanceId",
    );
    c.err("SendCommand", json!({ "DocumentName": "D" }), "ValidationException");
    c.err("ListCommandInvocations", json!({ "CommandId": "nope" }), "InvalidCommandId");
}

#[test]
fn ssmd_keeps_slow_invocations_running_until_cancelled_and_waiting_ones_until_released() {
    let server = SsmServer::start();
    let mut c = Client::connect(&server);
    let slow =
        send(&mut c, json!({ "DocumentName": "AWS-RunShellScript", "InstanceIds": ["i-slow1"] }));
    let wait =
        send(&mut c, json!({ "DocumentName": "AWS-RunShellScript", "InstanceIds": ["i-wait1"] }));
    for _ in 0..10 {
        invocation(&mut c, &slow, "i-slow1");
        invocation(&mut c, &wait, "i-wait1");
    }
    assert_eq!(invocation(&mut c, &slow, "i-slow1")["Status"], "InProgress");
    assert_eq!(invocation(&mut c, &wait, "i-wait1")["Status"], "InProgress");
    c.ok("CancelCommand", json!({ "CommandId": slow }));
    assert_eq!(invocation(&mut c, &slow, "i-slow1")["Status"], "Cancelled");
    let cmd = c.ok("ListCommands", json!({ "CommandId": slow }))["Commands"][0].clone();
    assert_eq!(cmd["Status"], "Cancelled");
    server.release();
    let done = invocation(&mut c, &wait, "i-wait1");
    assert_eq!(
        (done["Status"].as_str(), done["StandardOutputContent"].as_str()),
        (Some("Success"), Some("hello from i-wait1\n"))
    );
    assert_eq!(server.calls("CancelCommand")[0]["CommandId"], json!(slow));
    assert_eq!(server.command_ids(), [slow, wait]);
    c.err("CancelCommand", json!({ "CommandId": "nope" }), "InvalidCommandId");
}

#[test]
fn ssmd_runs_automations_that_succeed_fail_and_stop() {
    let server = SsmServer::start();
    let mut c = Client::connect(&server);
    let start = |c: &mut Client, doc: &str| {
        let v = c.ok(
            "StartAutomationExecution",
            json!({ "DocumentName": doc, "Parameters": { "Service": ["api"] } }),
        );
        v["AutomationExecutionId"].as_str().expect("an execution id").to_string()
    };
    let get = |c: &mut Client, id: &str| {
        c.ok("GetAutomationExecution", json!({ "AutomationExecutionId": id }))
            ["AutomationExecution"]
            .clone()
    };
    let ok = start(&mut c, "Ok-restart");
    let fail = start(&mut c, "Fail-restart");
    let slow = start(&mut c, "Slow-restart");
    let seen: Vec<Value> =
        (0..3).map(|_| get(&mut c, &ok)["AutomationExecutionStatus"].clone()).collect();
    assert_eq!(seen, [json!("Pending"), json!("InProgress"), json!("Success")]);
    assert_eq!(get(&mut c, &ok)["Parameters"], json!({ "Service": ["api"] }));
    let f = (0..3).map(|_| get(&mut c, &fail)).last().expect("three reads");
    assert_eq!(f["AutomationExecutionStatus"], "Failed");
    let failed: Vec<&Value> = f["StepExecutions"]
        .as_array()
        .expect("StepExecutions")
        .iter()
        .filter(|s| s["StepStatus"] == "Failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0]["StepName"].as_str(), failed[0]["FailureMessage"].as_str()),
        (Some("restartService"), Some("service did not start"))
    );
    assert!(!f["FailureMessage"].as_str().unwrap_or("").contains("restartService"));
    for _ in 0..5 {
        assert_eq!(
            get(&mut c, &slow)["AutomationExecutionStatus"].as_str().map(|s| s != "Success"),
            Some(true)
        );
    }
    c.ok("StopAutomationExecution", json!({ "AutomationExecutionId": slow, "Type": "Cancel" }));
    assert_eq!(get(&mut c, &slow)["AutomationExecutionStatus"], "Cancelled");
    c.err(
        "GetAutomationExecution",
        json!({ "AutomationExecutionId": "nope" }),
        "AutomationExecutionNotFoundException",
    );
    c.err("StartAutomationExecution", json!({ "DocumentName": "AWS-Nope" }), "InvalidDocument");
    assert_eq!(server.automation_ids(), [ok, fail, slow]);
}

#[test]
fn ssmd_stores_parameters() {
    let server = SsmServer::with_parameters(&[("/prod/db", "SecureString", "s3cret")]);
    let mut c = Client::connect(&server);
    let p = c.ok("GetParameter", json!({ "Name": "/prod/db", "WithDecryption": true }))
        ["Parameter"]
        .clone();
    assert_eq!(
        (p["Value"].as_str(), p["Type"].as_str(), p["Version"].as_u64()),
        (Some("s3cret"), Some("SecureString"), Some(1))
    );
    let hidden = c.ok("GetParameter", json!({ "Name": "/prod/db" }))["Parameter"]["Value"].clone();
    assert_ne!(hidden, "s3cret", "a SecureString needs WithDecryption");
    c.err("GetParameter", json!({ "Name": "/nope", "WithDecryption": true }), "ParameterNotFound");
    let put = json!({ "Name": "/dr/region", "Value": "eu-west-1", "Type": "String" });
    assert_eq!(c.ok("PutParameter", put.clone())["Version"], 1);
    c.err("PutParameter", put, "ParameterAlreadyExists");
    let again =
        json!({ "Name": "/dr/region", "Value": "us-east-1", "Type": "String", "Overwrite": true });
    assert_eq!(c.ok("PutParameter", again)["Version"], 2);
    assert_eq!(server.parameter("/dr/region"), Some(("String".into(), "us-east-1".into())));
    c.err("PutParameter", json!({ "Name": "/x", "Value": "v" }), "ValidationException");
    let many = c.ok("GetParameters", json!({ "Names": ["/dr/region", "/nope"] }));
    assert_eq!(many["InvalidParameters"], json!(["/nope"]));
}

#[test]
fn ssmd_speaks_enough_http() {
    let server = SsmServer::start();
    let mut c = Client::connect(&server);
    // Chunked body, `Expect: 100-continue`, then another request on the same connection.
    let body = r#"{"Name":"/c","Value":"v","Type":"String"}"#;
    let (a, b) = body.split_at(10);
    let raw = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AmazonSSM.PutParameter\r\n\
         Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    assert_eq!(c.send_raw(raw.as_bytes()).0, 200);
    assert_eq!(server.parameter("/c"), Some(("String".into(), "v".into())));
    c.err("NoSuchOperation", json!({}), "UnknownOperationException");
    let (status, v) = c.send_raw(
        b"POST / HTTP/1.1\r\nX-Amz-Target: AmazonSSM.GetParameter\r\nContent-Length: 3\r\n\r\n{x}",
    );
    assert_eq!((status, v["__type"].as_str()), (400, Some("SerializationException")));
    assert_eq!(iso(0.0), "1970-01-01T00:00:00.000Z");
    assert_eq!(iso(1_795_478_996.5), "2026-11-24T00:09:56.500Z");
    assert_eq!(iso(951_782_400.0), "2000-02-29T00:00:00.000Z");
}
