//! Signed approvals (header `approvals signed`): every piece of cryptography drbook does, in
//! one place, on top of the `ssh-key` crate.
//!
//! - [`Signers`]: an OpenSSH allowed_signers file (`man ssh-keygen`, ALLOWED SIGNERS): each
//!   line names principals (the approvers' names) and one public key.
//! - [`Claim`]: what an approver signs: run id, step, role, the runbook's content hash (from
//!   `run_started`), a timestamp and the approver's principal, as a canonical text message.
//! - [`sign`] makes an `sshsig` signature (namespace [`NAMESPACE`], the format of
//!   `ssh-keygen -Y sign -n drbook`); [`Signers::verify`] checks one and says whose it is.

use super::gate::{Gate, SignedBy};
use crate::model::time;
use serde::{Deserialize, Serialize};
pub use ssh_key::PrivateKey;
use ssh_key::{HashAlg, LineEnding, PublicKey, SshSig};
use std::path::Path;

/// The signature namespace: a signature made for `git` or `file` never counts here.
pub const NAMESPACE: &str = "drbook";

/// The first line of every approval message.
const HEADER: &str = "drbook approval v1";

/// One line of an allowed_signers file.
#[derive(Clone, Debug)]
pub struct Entry {
    pub principals: Vec<String>,
    pub key: PublicKey,
}

/// An allowed_signers file, parsed.
#[derive(Clone, Debug)]
pub struct Signers {
    pub entries: Vec<Entry>,
}

/// What an approver signs. Its [`Claim::message`] is the signed text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub run: String,
    pub step: String,
    pub role: String,
    /// The runbook's content hash (hex SHA-256), as `run_started` records it.
    pub runbook: String,
    pub at: String,
    pub principal: String,
}

impl Claim {
    /// The canonical message: one `key: value` line each, in this order.
    pub fn message(&self) -> String {
        format!(
            "{HEADER}\nrun: {}\nstep: {}\nrole: {}\nrunbook: sha256:{}\nat: {}\nprincipal: {}\n",
            self.run, self.step, self.role, self.runbook, self.at, self.principal
        )
    }

    /// Reads a message made by [`Claim::message`]; anything else is refused.
    pub fn parse(text: &str) -> Result<Claim, String> {
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(format!("not a drbook approval message (it must start `{HEADER}`)"));
        }
        let mut field = |name: &str| -> Result<String, String> {
            lines
                .next()
                .and_then(|l| l.strip_prefix(name)?.strip_prefix(": "))
                .map(str::to_string)
                .ok_or_else(|| format!("the approval message lacks its `{name}:` line"))
        };
        let (run, step, role) = (field("run")?, field("step")?, field("role")?);
        let runbook = field("runbook")?;
        let runbook = runbook
            .strip_prefix("sha256:")
            .ok_or("the approval message's `runbook:` is not `sha256:HEX`")?
            .to_string();
        let (at, principal) = (field("at")?, field("principal")?);
        let claim = Claim { run, step, role, runbook, at, principal };
        if claim.message() != text {
            return Err("the approval message is not in canonical form".into());
        }
        Ok(claim)
    }
}

/// Splits the first field off `line`: a word, or a `"quoted"` one.
fn first_field(line: &str) -> (String, &str) {
    let line = line.trim_start();
    if let Some(rest) = line.strip_prefix('"') {
        if let Some(end) = rest.find('"') {
            return (rest[..end].to_string(), &rest[end + 1..]);
        }
    }
    let end = line.find(char::is_whitespace).unwrap_or(line.len());
    (line[..end].to_string(), &line[end..])
}

/// Splits off an options field (`namespaces="a,b",cert-authority`), quotes kept whole.
fn options_field(line: &str) -> (&str, &str) {
    let line = line.trim_start();
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return (&line[..i], &line[i..]),
            _ => {}
        }
    }
    (line, "")
}

/// Splits an options field at the commas outside quotes.
fn split_options(opts: &str) -> Vec<&str> {
    let (mut out, mut quoted, mut from) = (Vec::new(), false, 0);
    for (i, c) in opts.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&opts[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    out.push(&opts[from..]);
    out
}

impl Signers {
    /// Parses an allowed_signers file. `Err((line, why))`, 1-based line.
    pub fn parse(text: &str) -> Result<Signers, (usize, String)> {
        let mut entries = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |why: String| (n + 1, why);
            let (principals, rest) = first_field(line);
            let principals: Vec<String> = principals
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect();
            if principals.is_empty() {
                return Err(bad("no principal before the key".into()));
            }
            let mut rest = rest.trim_start();
            if !rest.starts_with("ssh-") && !rest.starts_with("ecdsa-") && !rest.starts_with("sk-")
            {
                let (opts, after) = options_field(rest);
                for opt in split_options(opts) {
                    let lower = opt.to_ascii_lowercase();
                    if let Some(ns) = lower.strip_prefix("namespaces=") {
                        let ns = ns.trim_matches('"');
                        if !ns.split(',').any(|n| n.trim() == NAMESPACE) {
                            // The key may not sign for drbook: the line does not apply.
                            rest = "";
                            break;
                        }
                    } else {
                        return Err(bad(format!("option `{opt}` is not supported by drbook")));
                    }
                }
                if rest.is_empty() {
                    continue;
                }
                rest = after.trim_start();
            }
            let key = PublicKey::from_openssh(rest)
                .map_err(|e| bad(format!("not an OpenSSH public key ({e})")))?;
            if key.algorithm() != ssh_key::Algorithm::Ed25519 {
                return Err(bad(format!(
                    "{} keys are not supported by drbook; use an ed25519 key (ssh-keygen -t ed25519)",
                    key.algorithm()
                )));
            }
            entries.push(Entry { principals, key });
        }
        Ok(Signers { entries })
    }

    /// The principals the file gives `key`.
    pub fn principals_of(&self, key: &PublicKey) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|e| e.key.key_data() == key.key_data())
            .flat_map(|e| e.principals.iter().map(String::as_str))
            .collect()
    }

    /// Checks `signature` (PEM) over `message` and that the file lets its key sign as the
    /// message's principal. `Ok`: the key's fingerprint (`SHA256:…`).
    pub fn verify(&self, claim: &Claim, signature: &str) -> Result<String, String> {
        let (fp, names) =
            self.verify_message(&claim.message(), signature, "the runbook's signers file")?;
        if !names.contains(&claim.principal) {
            return Err(format!(
                "key {fp} signs for {} in the runbook's signers file, not for {}",
                names.join(", "),
                claim.principal
            ));
        }
        Ok(fp)
    }

    /// Checks `signature` (PEM) over `message`, in the `drbook` namespace, by a key of the
    /// file (named `file` in errors). `Ok`: the key's fingerprint (`SHA256:…`) and the
    /// principals the file gives it.
    pub fn verify_message(
        &self,
        message: &str,
        signature: &str,
        file: &str,
    ) -> Result<(String, Vec<String>), String> {
        let sig = SshSig::from_pem(signature.trim())
            .map_err(|e| format!("the signature is not an SSH signature ({e})"))?;
        let key = PublicKey::new(sig.public_key().clone(), "");
        let fp = key.fingerprint(HashAlg::Sha256).to_string();
        if sig.namespace() != NAMESPACE {
            return Err(format!(
                "the signature is for namespace `{}`, not `{NAMESPACE}`",
                sig.namespace()
            ));
        }
        let names: Vec<String> = self.principals_of(&key).into_iter().map(String::from).collect();
        if names.is_empty() {
            return Err(format!("key {fp} is not in {file}"));
        }
        key.verify(NAMESPACE, message.as_bytes(), &sig)
            .map_err(|_| format!("the signature by key {fp} does not match the message"))?;
        Ok((fp, names))
    }
}

/// What a runner signs when it stops (`run --sign KEY`): the run and its journal's head, one
/// `key: value` line each. `ssh-keygen -Y verify -n drbook` checks it against `head.sig`.
pub fn head_message(run: &str, records: u64, head: &str) -> String {
    format!("drbook journal head v1\nrun: {run}\nrecords: {records}\nhead: {head}\n")
}

/// The fingerprint (`SHA256:…`) of a private key's public half.
pub fn fingerprint(key: &PrivateKey) -> String {
    key.public_key().fingerprint(HashAlg::Sha256).to_string()
}

/// Reads an unencrypted OpenSSH private key file.
pub fn read_key(path: &Path) -> Result<PrivateKey, String> {
    let key = PrivateKey::read_openssh_file(path)
        .map_err(|e| format!("cannot read the key `{}`: {e}", path.display()))?;
    if key.is_encrypted() {
        return Err(format!(
            "the key `{}` has a passphrase; sign with `ssh-keygen -Y sign -n {NAMESPACE}` and pass --signature",
            path.display()
        ));
    }
    Ok(key)
}

/// Signs `message` with `key`: an armored `sshsig` signature, as `ssh-keygen -Y sign` writes.
pub fn sign(key: &PrivateKey, message: &str) -> Result<String, String> {
    let sig = key
        .sign(NAMESPACE, HashAlg::Sha512, message.as_bytes())
        .map_err(|e| format!("cannot sign: {e}"))?;
    sig.to_pem(LineEnding::LF).map_err(|e| format!("cannot encode the signature: {e}"))
}

/// A signed approval as a request carries it: the message (a [`Claim`]) and its signature.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    pub message: String,
    pub signature: String,
}

/// What the run and the gate say a signed approval must match.
pub struct Expect<'a> {
    pub run: &'a str,
    pub step: &'a str,
    /// The runbook's content hash from `run_started`.
    pub runbook: &'a str,
    pub gate: &'a Gate,
}

/// Checks a signed approval against the run, the step, the runbook's version, the gate (asked
/// before it was signed) and the gate's signers. `Ok`: the claim and the proof to journal.
pub fn verify(want: &Expect<'_>, sig: &Signature) -> Result<(Claim, SignedBy), String> {
    let text = want
        .gate
        .signers
        .as_deref()
        .ok_or("the runbook names no `signers` file, so no signature can be checked")?;
    let signers = Signers::parse(text)
        .map_err(|(line, why)| format!("the runbook's signers file is bad: line {line}: {why}"))?;
    let claim = Claim::parse(&sig.message)?;
    if claim.run != want.run {
        return Err(format!("the signature is for run `{}`, not `{}`", claim.run, want.run));
    }
    if claim.step != want.step {
        return Err(format!("the signature is for step `{}`, not `{}`", claim.step, want.step));
    }
    if claim.runbook != want.runbook {
        return Err(format!(
            "the signature is for another version of the runbook (sha256:{}, this run's is sha256:{})",
            short(&claim.runbook),
            short(want.runbook)
        ));
    }
    let asked = time::parse(&want.gate.requested_at);
    if time::parse(&claim.at).zip(asked).is_none_or(|(at, asked)| at < asked) {
        return Err(format!(
            "the signature was made at {}, before this gate asked for approval ({}): an old signature does not count",
            claim.at, want.gate.requested_at
        ));
    }
    let key = signers.verify(&claim, &sig.signature)?;
    let proof = SignedBy { key, message: sig.message.clone(), signature: sig.signature.clone() };
    Ok((claim, proof))
}

/// Replay's check of a journaled approval at a gate that needs signatures: the signature is
/// there, verifies, and is by `by` for `role`.
pub fn recheck(
    want: &Expect<'_>,
    role: &str,
    by: &str,
    signed: Option<&SignedBy>,
) -> Result<(), String> {
    let Some(s) = signed else {
        return Err("the gate needs signed approvals and this one carries no signature".into());
    };
    let sig = Signature { message: s.message.clone(), signature: s.signature.clone() };
    let (claim, _) = verify(want, &sig)?;
    if claim.role != role || claim.principal != by {
        return Err(format!(
            "the signature approves {} as {}, not {by} as {role}",
            claim.principal, claim.role
        ));
    }
    Ok(())
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim() -> Claim {
        Claim {
            run: "r1".into(),
            step: "cutover".into(),
            role: "lead".into(),
            runbook: "ab".repeat(32),
            at: "2026-01-01T00:00:00.000Z".into(),
            principal: "alice".into(),
        }
    }

    #[test]
    fn a_message_reads_back_and_nothing_else_does() {
        let c = claim();
        assert_eq!(Claim::parse(&c.message()), Ok(c.clone()));
        let tampered = c.message().replace("run: r1\n", "run: r1\nrun: r2\n");
        assert!(Claim::parse(&tampered).is_err());
        assert!(Claim::parse("hello").is_err());
    }

    #[test]
    fn keys_other_than_ed25519_are_refused_with_a_reason() {
        let ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBBrw9L0CBXwBgVwLvsKQNZU7QoG/ebAtsOn3LJu9Fq2PHJ4gWnLEkf+RlcKfjVxD1tx+g7Bbfie4fqgBdp0xjzY=";
        let (line, why) = Signers::parse(&format!("alice {ecdsa}\n")).expect_err("ecdsa");
        assert_eq!(line, 1);
        assert!(why.contains("use an ed25519 key"), "{why}");
    }

    #[test]
    fn signers_lines_are_read_with_their_options() {
        let k = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
        let text = format!(
            "# team\nalice,bob {k} a comment\ncarol namespaces=\"git\" {k}\ndave namespaces=\"drbook,git\" {k}\n"
        );
        let s = Signers::parse(&text).expect("parses");
        assert_eq!(s.entries.len(), 2);
        assert_eq!(s.entries[0].principals, ["alice", "bob"]);
        assert_eq!(s.entries[1].principals, ["dave"]);
        let bad = Signers::parse("alice ssh-ed25519 nope\n").expect_err("bad key");
        assert_eq!(bad.0, 1);
        let opt = Signers::parse(&format!("\nalice cert-authority {k}\n")).expect_err("option");
        assert_eq!(opt.0, 2);
    }
}
