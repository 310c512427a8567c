//! The hash chain and its anchor, on journals written by the store and the writer: what is
//! written reads back whole, every kind of tampering is named, the anchor never leads the
//! journal and ends `closed` at its head.

use super::*;
use crate::journal::chain::{ChainInfo, Head};
use std::fs;

fn run_of(n: usize) -> (tempfile::TempDir, Store, Vec<String>) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&tmp.path().join("state")).expect("opens");
    let steps: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
    let names: Vec<&str> = steps.iter().map(String::as_str).collect();
    let mut run = store.create_run(RUN, &started(&names)).expect("created");
    for s in &names {
        run.append(&start(s, 1)).expect("appended");
        run.append(&ok(s, 1)).expect("appended");
    }
    drop(run);
    let lines = fs::read_to_string(store.run_dir(RUN).join("journal"))
        .expect("journal")
        .lines()
        .map(|l| format!("{l}\n"))
        .collect();
    (tmp, store, lines)
}

fn rewrite(store: &Store, lines: &[String]) {
    fs::write(store.run_dir(RUN).join("journal"), lines.concat()).expect("write");
}

#[track_caller]
fn refused(store: &Store, needle: &str) {
    for err in [store.read_run(RUN).expect_err("read"), store.resume_run(RUN).expect_err("resume")]
    {
        assert!(err.to_string().contains(needle), "{needle:?} not in: {err}");
    }
}

fn anchor(store: &Store) -> String {
    fs::read_to_string(store.run_dir(RUN).join("head")).expect("anchor")
}

#[test]
fn a_written_journal_is_chained_anchored_and_closed() {
    let (_tmp, store, lines) = run_of(3);
    assert!(lines.iter().enumerate().all(|(i, l)| l[65..].starts_with(&format!("{} {{", i + 1))));
    let (_, info) = store.read_run(RUN).expect("reads");
    let head = info.chain.head().expect("chained");
    assert_eq!(head.records, 7);
    assert_eq!(head.display(), format!("sha256:{}", &lines[6][..64]));
    assert_eq!(info.chain, ChainInfo::Anchored { head });
    assert!(anchor(&store).trim_end().ends_with("closed"), "{}", anchor(&store));
}

#[test]
fn every_kind_of_tampering_is_named() {
    let (_tmp, store, lines) = run_of(3);
    let mut edited = lines.clone();
    edited[2] = edited[2].replace("\"attempt\":1", "\"attempt\":2");
    rewrite(&store, &edited);
    refused(&store, "record 3 (byte");
    refused(&store, "was edited");

    let mut deleted = lines.clone();
    deleted.remove(3);
    rewrite(&store, &deleted);
    refused(&store, "record 4 is missing (deleted)");

    let mut moved = lines.clone();
    moved.swap(3, 5);
    rewrite(&store, &moved);
    refused(&store, "reordered");

    let mut inserted = lines.clone();
    inserted.insert(3, lines[3].replace("s1", "s2"));
    rewrite(&store, &inserted);
    refused(&store, "inserted");

    rewrite(&store, &lines[..5]);
    refused(&store, "records 6 to 7 are missing at the end (the journal was cut)");

    rewrite(&store, &lines);
    assert!(store.read_run(RUN).is_ok(), "the original reads again");
}

#[test]
fn the_anchor_never_leads_and_the_writer_closes_it_at_its_head() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let store = Store::open(tmp.path()).expect("opens");
    let mut run = store.create_run(RUN, &started(&["a", "b"])).expect("created");
    run.append(&start("a", 1)).expect("appended");
    run.append_lazy(&process("a", 1)).expect("appended lazily");
    // The lazy record is not anchored yet: the anchor lags, open.
    let (_, info) = store.read_run(RUN).expect("reads");
    assert!(matches!(info.chain, ChainInfo::Ahead { anchored: Head { records: 2, .. }, .. }));
    let journal = Journal::on_disk(run);
    for e in [ok("a", 1), start("b", 1), ok("b", 1)] {
        journal.append(&e).expect("queued").wait_blocking().expect("durable");
        let (_, info) = store.read_run(RUN).expect("reads");
        assert!(matches!(info.chain, ChainInfo::Anchored { .. }), "{:?}", info.chain);
    }
    let head = journal.head().expect("chained");
    journal.close().expect("closed");
    let (_, info) = store.read_run(RUN).expect("reads");
    assert_eq!(info.chain, ChainInfo::Anchored { head });
    assert!(anchor(&store).trim_end().ends_with("closed"));
    // Resuming re-opens it at the same head and goes on chaining.
    let mut run = store.resume_run(RUN).expect("resumes");
    assert!(anchor(&store).trim_end().ends_with("open"));
    run.append(&paused()).expect("appended");
    assert_eq!(run.head().expect("chained").records, head.records + 1);
}
