//! Who a person is, as a name: the one rule for telling two approvers apart.
//!
//! A two-person rule is only as strong as the comparison of the two names. People read names,
//! so names are compared as people read them: [`person_key`] trims, applies NFKC (fullwidth
//! `ａｌｉｃｅ` and decomposed `José` become `alice` and `José`), folds case, and takes the
//! Unicode TR39 confusable skeleton (Cyrillic `а` reads as Latin `a`). Two names with the
//! same key are one person ([`same_person`]).
//!
//! A name that hides characters cannot be read at all, so [`check_name`] refuses names with
//! control, zero-width, bidi or other invisible (default-ignorable) characters wherever a name
//! enters: the prompt, `--as`, `drbook approve|deny` and the inbox (through the gate's judge).

use unicode_normalization::UnicodeNormalization;

/// Why `name` cannot name a person, or `Ok` when it can.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("an approval needs a person's name".into());
    }
    if let Some(c) = name.chars().find(|c| hidden(*c)) {
        return Err(format!(
            "the name {:?} contains an invisible character (U+{:04X}); control, zero-width and \
             bidi characters are not allowed in names",
            name.escape_debug().to_string(),
            c as u32
        ));
    }
    Ok(())
}

/// The form two names are compared in: trimmed, NFKC, case-folded, TR39 skeleton.
pub fn person_key(name: &str) -> String {
    let folded: String = name.trim().nfkc().collect::<String>().to_lowercase();
    let visible: String = folded.chars().filter(|c| !hidden(*c)).collect();
    let skeleton: String = unicode_security::skeleton(&visible).collect();
    // The skeleton may map to capitals or compatibility forms (`l` and `I` share one):
    // fold once more so the key is stable.
    skeleton.nfkc().collect::<String>().to_lowercase()
}

/// The login name of OS account `uid` (`approvals os`: who sent an inbox request).
pub fn login(uid: u32) -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)).ok().flatten().map(|u| u.name)
}

/// Whether two names are the same person.
pub fn same_person(a: &str, b: &str) -> bool {
    person_key(a) == person_key(b)
}

/// Control characters, and the invisible formatting ones: zero-width, bidi controls and the
/// rest of Unicode's default-ignorable code points.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c as u32,
            0x00AD | 0x034F | 0x061C | 0x115F..=0x1160 | 0x17B4..=0x17B5 | 0x180B..=0x180F
            | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
            | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFFB | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_are_one_person() {
        let table = [
            ("alice", "alice"),
            ("Alice", "alice"),
            (" alice ", "alice"),
            ("\u{0430}lice", "alice"), // Cyrillic а
            ("\u{FF41}\u{FF4C}\u{FF49}\u{FF43}\u{FF45}", "alice"), // fullwidth
            ("Jose\u{0301}", "Jos\u{00E9}"), // NFD vs NFC
            ("ALICE", "\u{0430}lice"),
            ("a\u{200B}lice", "alice"), // refused by check_name, still one key
        ];
        for (a, b) in table {
            assert!(same_person(a, b), "{a:?} and {b:?} must be one person");
        }
    }

    #[test]
    fn different_people_stay_different() {
        for (a, b) in [("alice", "bob"), ("alice", "alicia"), ("José", "Jose"), ("ana", "anna")] {
            assert!(!same_person(a, b), "{a:?} and {b:?} are two people");
        }
    }

    #[test]
    fn hidden_characters_are_refused() {
        for bad in [
            "ali\u{200B}ce",
            "alice\u{200D}",
            "\u{202E}ecila",
            "ali\u{2066}ce",
            "al\nice",
            "al\u{7}ice",
            "\u{FEFF}alice",
            "",
            "   ",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?} must be refused");
        }
        for good in ["alice", "José", "Jos\u{0065}\u{0301}", "o'brien", "李雷", "Anne-Marie Smith"]
        {
            assert!(check_name(good).is_ok(), "{good:?} is a name");
        }
    }
}
