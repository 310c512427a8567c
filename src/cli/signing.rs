//! `drbook approve --sign KEY`, `--print-message` and `--signature FILE`: turns an approval into
//! a signed one (the crypto itself is in `crate::journal::sign`).
//!
//! The approval message binds the run, the step, the role, the runbook's content hash (from the
//! journal's `run_started`), the time and the approver's principal. `--sign` signs it with an
//! unencrypted OpenSSH private key; `--print-message` prints it so that it can be signed
//! elsewhere (`ssh-keygen -Y sign -n drbook -f KEY message`), and `--signature message.sig`
//! submits that signature with the message next to it.

use super::outcome::CliError;
use crate::journal::gate::{judge, Gate};
use crate::journal::sign::{self, Claim, Signature, Signers};
use crate::journal::RunState;
use crate::model::time as clock;
use std::path::PathBuf;

/// How `approve` proves its approver.
#[derive(Clone, Debug, Default)]
pub enum Signing {
    /// A typed name (`--as`).
    #[default]
    Typed,
    /// `--sign KEY`: signed here with this private key.
    Key(PathBuf),
    /// `--print-message`: say what to sign and stop.
    PrintMessage,
    /// `--signature FILE [--message FILE]`: a signature made elsewhere.
    External { signature: PathBuf, message: Option<PathBuf> },
}

/// What `approve` does once the signing is prepared.
pub enum Prepared {
    /// Submit the approval, with this signature (if any), as this person.
    Submit { by: String, role: Option<String>, signed: Option<Signature> },
    /// Print this message and record nothing.
    Print(String),
}

fn gate_of<'a>(state: &'a RunState, step: &str) -> Result<&'a Gate, CliError> {
    state.step(step).and_then(|r| r.gate.as_ref()).ok_or_else(|| {
        CliError::Refused(format!(
            "step `{step}` is not waiting for an approval, so there is nothing to sign"
        ))
    })
}

fn signers(gate: &Gate) -> Result<Signers, CliError> {
    let text = gate.signers.as_deref().ok_or_else(|| {
        CliError::Refused(
            "the runbook names no `signers` file: signed approvals cannot be checked".into(),
        )
    })?;
    Signers::parse(text).map_err(|(l, why)| {
        CliError::Refused(format!("the runbook's signers file is bad: line {l}: {why}"))
    })
}

/// The claim `principal` would sign for `step` of the run as it stands.
fn claim(
    state: &RunState,
    step: &str,
    role: Option<&str>,
    principal: &str,
) -> Result<Claim, CliError> {
    let gate = gate_of(state, step)?;
    let approvals = state.step(step).map_or(&[][..], |r| &r.approvals[..]);
    let role = judge(gate, approvals, principal, role).map_err(CliError::Refused)?;
    Ok(Claim {
        run: state.run_id.clone(),
        step: step.to_string(),
        role,
        runbook: state.content_hash.clone(),
        at: clock::now(),
        principal: principal.to_string(),
    })
}

fn read(path: &PathBuf, what: &str) -> Result<String, CliError> {
    std::fs::read_to_string(path)
        .map_err(|e| CliError::invalid(format!("cannot read the {what} `{}`: {e}", path.display())))
}

/// Prepares an approval by `user` (the typed name) for `role` under `how`.
pub fn prepare(
    how: &Signing,
    state: &RunState,
    step: &str,
    user: &str,
    role: Option<String>,
) -> Result<Prepared, CliError> {
    match how {
        Signing::Typed => Ok(Prepared::Submit { by: user.to_string(), role, signed: None }),
        Signing::PrintMessage => {
            Ok(Prepared::Print(claim(state, step, role.as_deref(), user)?.message()))
        }
        Signing::Key(path) => {
            let key = sign::read_key(path).map_err(CliError::invalid)?;
            let signers = signers(gate_of(state, step)?)?;
            let names = signers.principals_of(key.public_key());
            let principal = match names.as_slice() {
                [] => {
                    let fp = key.public_key().fingerprint(ssh_key::HashAlg::Sha256);
                    return Err(CliError::Refused(format!(
                        "key {fp} is not in the runbook's signers file"
                    )));
                }
                [one] => one.to_string(),
                many => match many.iter().find(|n| **n == user) {
                    Some(n) => n.to_string(),
                    None => {
                        return Err(CliError::invalid(format!(
                            "the key signs for {}: say which with --as",
                            many.join(", ")
                        )))
                    }
                },
            };
            let c = claim(state, step, role.as_deref(), &principal)?;
            let message = c.message();
            let signature = sign::sign(&key, &message).map_err(CliError::Failed)?;
            let signed = Some(Signature { message, signature });
            Ok(Prepared::Submit { by: principal, role: Some(c.role), signed })
        }
        Signing::External { signature, message } => {
            let message = match message {
                Some(m) => m.clone(),
                None => match signature.to_str().and_then(|s| s.strip_suffix(".sig")) {
                    Some(m) => PathBuf::from(m),
                    None => {
                        return Err(CliError::invalid(
                            "--signature FILE.sig reads the message from FILE; otherwise give --message FILE",
                        ))
                    }
                },
            };
            let text = read(&message, "approval message")?;
            let c = Claim::parse(&text).map_err(CliError::Refused)?;
            let sig = read(signature, "signature")?;
            let signed = Some(Signature { message: text, signature: sig });
            Ok(Prepared::Submit { by: c.principal, role: Some(c.role), signed })
        }
    }
}
