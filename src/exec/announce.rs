//! The drill notification (issue 12): when a drill ends, a Slack-compatible `{"text": ...}`
//! summary is POSTed to the URL given (`drill --notify URL`, `resume --notify URL`) or else the
//! runbook's `notify_drills` (a URL, or a secret holding one), rendered with the run's params
//! and secrets. The URL is never shown: every message this gives back is masked with the run's
//! secrets and with the URL itself, and it is never journaled.

use super::action::{http, Client};
use super::secrets::Secrets;
use super::values::Values;
use crate::model::{ParamValue, Runbook};
use std::collections::HashMap;
use std::time::Duration;

/// The whole POST gives up after this.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What the notification is posted with.
pub struct Announce<'a> {
    pub rb: &'a Runbook,
    pub values: &'a HashMap<String, ParamValue>,
    pub secrets: &'a Secrets,
    pub run_id: &'a str,
    /// `--notify URL`; `None`: the runbook's `notify_drills`.
    pub given: Option<&'a str>,
}

impl Announce<'_> {
    /// Whether there is anywhere to post to.
    pub fn wanted(&self) -> bool {
        self.given.is_some() || self.rb.notify_drills.is_some()
    }

    /// Posts `text`. `Ok(false)`: nowhere to post to. An error says why, masked.
    pub async fn post(&self, text: &str) -> Result<bool, String> {
        let url = match (self.given, &self.rb.notify_drills) {
            (Some(u), _) => u.to_string(),
            (None, Some(t)) => {
                let none = |_: usize, _: &str| Err("no step value is known here".to_string());
                let vals = Values {
                    params: self.values,
                    secrets: self.secrets,
                    capture: &none,
                    run_id: self.run_id,
                    runbook: &self.rb.name,
                    own: None,
                    steps: &self.rb.steps,
                    ended: None,
                };
                vals.render(t, false).map_err(|e| self.secrets.scrub(&e))?
            }
            (None, None) => return Ok(false),
        };
        let url_itself = Secrets::from_pairs(vec![("notify_url".into(), url.clone())]);
        let mask = |e: &str| url_itself.scrub(&self.secrets.scrub(e));
        let text = self.secrets.scrub(text);
        let client = Client::default();
        http::post_text(&client, self.secrets, &url, &text, TIMEOUT).await.map_err(|e| mask(&e))?;
        Ok(true)
    }
}
