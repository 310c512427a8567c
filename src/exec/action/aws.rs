//! AWS Systems Manager through aws-sdk-ssm: Run Command, Automation and Parameter Store.
//!
//! Input: rendered requests ([`CommandSpec`], [`AutomationSpec`]) and the run's stop watch.
//! Output: the combined output (for `capture`) or a failure message naming what failed.
//!
//! Configuration is the SDK's default chain (environment, profile, SSO, IMDS; `AWS_REGION`;
//! `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_SSM`), with `--aws-profile` and `--aws-region` on
//! top. [`Aws::connect`] asks for credentials at once, so a runner without any fails before
//! the first step rather than halfway.
//!
//! Polling starts at `DRBOOK_SSM_POLL_MS` (default 1 s) and backs off ×1.5 up to 10 s. A
//! command or execution whose id is given (`reattach`) is polled, never started again: the
//! executor journals each id as soon as it is known, so `resume` after a crash re-attaches.
//! On the step's timeout or Ctrl-C the command is cancelled (CancelCommand) or the execution
//! stopped (StopAutomationExecution).

use super::remote::{
    judge_command, tail, AutomationSpec, AwsOptions, CommandSpec, Ended, Invocation,
};
use aws_sdk_ssm::error::ProvideErrorMetadata;
use aws_sdk_ssm::types::{
    AutomationExecutionStatus, CommandInvocationStatus, CommandStatus, ParameterType, Target,
};
use aws_sdk_ssm::Client;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A connected SSM client.
#[derive(Clone, Debug)]
pub struct Aws {
    client: Client,
}

/// `code: message` of an SDK error, with the cause chain when there is no service message.
fn why<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: &aws_sdk_ssm::error::SdkError<E>,
) -> String {
    match (e.code(), e.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        _ => aws_sdk_ssm::error::DisplayErrorContext(e).to_string(),
    }
}

/// What the wait between two polls ended with.
enum Pause {
    Again,
    TimedOut,
    Stopped,
}

/// The polling rhythm of one remote operation: `DRBOOK_SSM_POLL_MS` (default 1 s) growing
/// ×1.5 up to 10 s, within the step's timeout.
struct Pace {
    began: Instant,
    timeout: Option<Duration>,
    wait: Duration,
}

impl Pace {
    fn new(timeout: Option<Duration>) -> Pace {
        let ms =
            std::env::var("DRBOOK_SSM_POLL_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
        Pace { began: Instant::now(), timeout, wait: Duration::from_millis(ms) }
    }

    /// Sleeps until the next poll, the timeout, or a signal.
    async fn pause(&mut self, stop: &mut watch::Receiver<bool>) -> Pause {
        let left = self.timeout.map(|t| t.saturating_sub(self.began.elapsed()));
        if left == Some(Duration::ZERO) {
            return Pause::TimedOut;
        }
        let nap = left.map_or(self.wait, |l| l.min(self.wait));
        let stopped = tokio::select! {
            () = tokio::time::sleep(nap) => false,
            r = stop.wait_for(|s| *s) => r.is_ok(),
        };
        self.wait = self.wait.mul_f64(1.5).min(Duration::from_secs(10));
        if stopped {
            Pause::Stopped
        } else {
            Pause::Again
        }
    }

    fn timed_out(&self, then: &str) -> String {
        let ms = self.timeout.map_or(0, |t| t.as_millis() as u64);
        format!("timed out after {}; {then}", crate::model::fmt_duration(ms))
    }
}

impl Aws {
    /// Loads the configuration and checks that a region and credentials are there.
    pub async fn connect(opts: &AwsOptions) -> Result<Aws, String> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(p) = &opts.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = &opts.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        let conf = loader.load().await;
        let Some(region) = conf.region() else {
            return Err(
                "no AWS region: set AWS_REGION, a region in the profile, or --aws-region".into()
            );
        };
        let name = region.as_ref();
        let label = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if name.is_empty() || !name.chars().all(label) {
            return Err(format!("`{name}` is not an AWS region name (like us-west-2)"));
        }
        let Some(creds) = conf.credentials_provider() else {
            return Err("no AWS credentials provider is configured".into());
        };
        use aws_sdk_ssm::config::ProvideCredentials;
        if let Err(e) = creds.provide_credentials().await {
            return Err(format!(
                "no AWS credentials: {e} (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or --aws-profile, or log in with `aws sso login`)"
            ));
        }
        Ok(Aws { client: Client::new(&conf) })
    }

    /// GetParameter with decryption.
    pub async fn get_parameter(&self, name: &str) -> Result<String, String> {
        let out = self
            .client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| format!("cannot read SSM parameter `{name}`: {}", why(&e)))?;
        out.parameter()
            .and_then(|p| p.value())
            .map(str::to_string)
            .ok_or_else(|| format!("SSM parameter `{name}` has no value"))
    }

    /// PutParameter, overwriting; `secure` makes it a SecureString.
    pub async fn put_parameter(
        &self,
        name: &str,
        value: &str,
        secure: bool,
    ) -> Result<i64, String> {
        let kind = if secure { ParameterType::SecureString } else { ParameterType::String };
        let out = self
            .client
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(kind)
            .overwrite(true)
            .send()
            .await
            .map_err(|e| format!("cannot write SSM parameter `{name}`: {}", why(&e)))?;
        Ok(out.version())
    }

    /// Sends the command (unless `reattach` names one already sent), reports its id through
    /// `started`, and polls it until every invocation ended.
    pub async fn command(
        &self,
        spec: &CommandSpec,
        reattach: Option<String>,
        started: impl FnOnce(&str) -> Result<(), String>,
        say: impl Fn(String),
        timeout: Option<Duration>,
        mut stop: watch::Receiver<bool>,
    ) -> Ended {
        let mut pace = Pace::new(timeout);
        let id = match reattach {
            Some(id) => {
                say(format!("re-attaching to SSM command {id}"));
                id
            }
            None => match self.send_command(spec).await {
                Ok(id) => {
                    say(format!("SSM command {id} sent ({})", spec.document));
                    if let Err(e) = started(&id) {
                        return Ended::Failed(e);
                    }
                    id
                }
                Err(e) => return Ended::Failed(e),
            },
        };
        let mut done: BTreeMap<String, Invocation> = BTreeMap::new();
        loop {
            match self.poll_command(&id, spec, &mut done, &say).await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => return Ended::Failed(e),
            }
            match pace.pause(&mut stop).await {
                Pause::Again => {}
                Pause::TimedOut => return Ended::Failed(pace.timed_out(&self.cancel(&id).await)),
                Pause::Stopped => {
                    say(self.cancel(&id).await);
                    return Ended::Stopped;
                }
            }
        }
        judge_command(spec, &done)
    }

    async fn send_command(&self, spec: &CommandSpec) -> Result<String, String> {
        let mut req = self.client.send_command().document_name(&spec.document);
        if !spec.instances.is_empty() {
            req = req.set_instance_ids(Some(spec.instances.clone()));
        }
        for (k, v) in &spec.tags {
            let target = Target::builder().key(format!("tag:{k}")).values(v).build();
            req = req.targets(target);
        }
        for (k, v) in &spec.parameters {
            req = req.parameters(k, v.clone());
        }
        if let Some(m) = &spec.max_concurrency {
            req = req.max_concurrency(m);
        }
        if let Some(m) = &spec.max_errors {
            req = req.max_errors(m);
        }
        if let Some(c) = &spec.comment {
            req = req.comment(c);
        }
        let out = req.send().await.map_err(|e| format!("SendCommand failed: {}", why(&e)))?;
        out.command()
            .and_then(|c| c.command_id())
            .map(str::to_string)
            .ok_or_else(|| "SendCommand returned no command id".to_string())
    }

    /// One round of polling; `Ok(true)` once the command and every invocation ended.
    async fn poll_command(
        &self,
        id: &str,
        spec: &CommandSpec,
        done: &mut BTreeMap<String, Invocation>,
        say: &impl Fn(String),
    ) -> Result<bool, String> {
        let listed = self
            .client
            .list_commands()
            .command_id(id)
            .send()
            .await
            .map_err(|e| format!("ListCommands {id}: {}", why(&e)))?;
        let status = listed.commands().first().and_then(|c| c.status()).cloned();
        let overall_ended = matches!(
            status,
            Some(
                CommandStatus::Success
                    | CommandStatus::Failed
                    | CommandStatus::TimedOut
                    | CommandStatus::Cancelled
            )
        );
        // Instances behind tag targets are known only from the invocations.
        let instances: Vec<String> = if spec.instances.is_empty() {
            let inv = self
                .client
                .list_command_invocations()
                .command_id(id)
                .send()
                .await
                .map_err(|e| format!("ListCommandInvocations {id}: {}", why(&e)))?;
            inv.command_invocations()
                .iter()
                .filter_map(|i| i.instance_id().map(str::to_string))
                .collect()
        } else {
            spec.instances.clone()
        };
        for inst in &instances {
            if done.contains_key(inst) {
                continue;
            }
            let got =
                self.client.get_command_invocation().command_id(id).instance_id(inst).send().await;
            let out = match got {
                Ok(o) => o,
                // Not created yet: the command is still being delivered.
                Err(e) if e.code() == Some("InvocationDoesNotExist") => continue,
                Err(e) => return Err(format!("GetCommandInvocation {id} {inst}: {}", why(&e))),
            };
            let st = out.status().cloned().unwrap_or(CommandInvocationStatus::Pending);
            if matches!(
                st,
                CommandInvocationStatus::Pending
                    | CommandInvocationStatus::InProgress
                    | CommandInvocationStatus::Delayed
                    | CommandInvocationStatus::Cancelling
            ) {
                continue;
            }
            let inv = Invocation {
                status: st.as_str().to_string(),
                ok: st == CommandInvocationStatus::Success,
                code: out.response_code(),
                stdout: out.standard_output_content().unwrap_or_default().to_string(),
                stderr: out.standard_error_content().unwrap_or_default().to_string(),
            };
            say(format!("{inst} {} (exit {})", inv.status, inv.code));
            for line in tail(&inv.stdout, 20) {
                say(format!("{inst} │ {line}"));
            }
            for line in tail(&inv.stderr, 10) {
                say(format!("{inst} ! {line}"));
            }
            done.insert(inst.clone(), inv);
        }
        let all = !instances.is_empty() && instances.iter().all(|i| done.contains_key(i));
        // Tag targets: more instances may still be listed (rate control) until the command
        // as a whole has ended.
        let complete = !spec.instances.is_empty() || overall_ended;
        Ok((all && complete) || (overall_ended && instances.is_empty()))
    }

    async fn cancel(&self, id: &str) -> String {
        match self.client.cancel_command().command_id(id).send().await {
            Ok(_) => format!("SSM command {id} cancelled"),
            Err(e) => format!("cancelling SSM command {id} failed: {}", why(&e)),
        }
    }

    /// Starts the automation (unless `reattach` names an execution) and polls it to the end.
    pub async fn automation(
        &self,
        spec: &AutomationSpec,
        reattach: Option<String>,
        started: impl FnOnce(&str) -> Result<(), String>,
        say: impl Fn(String),
        timeout: Option<Duration>,
        mut stop: watch::Receiver<bool>,
    ) -> Ended {
        let mut pace = Pace::new(timeout);
        let id = match reattach {
            Some(id) => {
                say(format!("re-attaching to SSM automation execution {id}"));
                id
            }
            None => {
                let mut req =
                    self.client.start_automation_execution().document_name(&spec.document);
                for (k, v) in &spec.parameters {
                    req = req.parameters(k, v.clone());
                }
                match req.send().await {
                    Ok(o) => match o.automation_execution_id() {
                        Some(id) => {
                            say(format!(
                                "SSM automation execution {id} started ({})",
                                spec.document
                            ));
                            if let Err(e) = started(id) {
                                return Ended::Failed(e);
                            }
                            id.to_string()
                        }
                        None => {
                            return Ended::Failed(
                                "StartAutomationExecution returned no execution id".into(),
                            )
                        }
                    },
                    Err(e) => {
                        return Ended::Failed(format!(
                            "StartAutomationExecution failed: {}",
                            why(&e)
                        ))
                    }
                }
            }
        };
        let mut last = String::new();
        loop {
            let got =
                self.client.get_automation_execution().automation_execution_id(&id).send().await;
            let out = match got {
                Ok(o) => o,
                Err(e) => {
                    return Ended::Failed(format!("GetAutomationExecution {id}: {}", why(&e)))
                }
            };
            let Some(ex) = out.automation_execution() else {
                return Ended::Failed(format!("GetAutomationExecution {id} returned nothing"));
            };
            let status = ex.automation_execution_status().cloned();
            let word = status.as_ref().map_or("Pending", |s| s.as_str()).to_string();
            if word != last {
                say(format!("automation {id}: {word}"));
                last = word.clone();
            }
            use AutomationExecutionStatus as S;
            match status {
                Some(S::Success | S::CompletedWithSuccess) => {
                    let outputs: BTreeMap<&String, &Vec<String>> =
                        ex.outputs().map(|o| o.iter().collect()).unwrap_or_default();
                    return Ended::Ok(serde_json::to_string(&outputs).unwrap_or_default());
                }
                Some(
                    S::Failed
                    | S::Timedout
                    | S::Cancelled
                    | S::Rejected
                    | S::CompletedWithFailure
                    | S::Exited
                    | S::ChangeCalendarOverrideRejected,
                ) => {
                    let failed: Vec<String> = ex
                        .step_executions()
                        .iter()
                        .filter(|s| {
                            matches!(s.step_status(), Some(S::Failed | S::Timedout | S::Cancelled))
                        })
                        .map(|s| {
                            let name = s.step_name().unwrap_or("?");
                            match s.failure_message() {
                                Some(m) => format!("{name} ({m})"),
                                None => name.to_string(),
                            }
                        })
                        .collect();
                    let steps = if failed.is_empty() {
                        ex.failure_message().map_or(String::new(), |m| format!(": {m}"))
                    } else {
                        format!("; failed step(s): {}", failed.join(", "))
                    };
                    return Ended::Failed(format!("automation {id} ended {word}{steps}"));
                }
                _ => {}
            }
            match pace.pause(&mut stop).await {
                Pause::Again => {}
                Pause::TimedOut => {
                    return Ended::Failed(pace.timed_out(&self.stop_automation(&id).await))
                }
                Pause::Stopped => {
                    say(self.stop_automation(&id).await);
                    return Ended::Stopped;
                }
            }
        }
    }

    async fn stop_automation(&self, id: &str) -> String {
        match self.client.stop_automation_execution().automation_execution_id(id).send().await {
            Ok(_) => format!("SSM automation execution {id} stopped"),
            Err(e) => format!("stopping SSM automation execution {id} failed: {}", why(&e)),
        }
    }
}
